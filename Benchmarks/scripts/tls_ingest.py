#!/usr/bin/env python3
"""Remote-write ingest over TLS with basic auth beside plain HTTP, in one run: the same
pre-built bodies (../shared/bench/rwload.py) sent to a fresh `strata serve` each time, runs
interleaved (plain, TLS, plain, TLS, …), medians reported. The TLS server gets a P-256
certificate from a CA made here and a web config with one bcrypt (cost 10) user; the sender
keeps its connections alive, as Prometheus does, and sends the credentials with every request.

    python3 ../shared/bench/rwload.py --series 10000 --samples 240 --save-bodies /tmp/rw-10k.bin
    python3 Benchmarks/scripts/tls_ingest.py --bodies /tmp/rw-10k.bin \\
        --strata "$(swift build -c release --show-bin-path)/strata" --repeat 3

Reported: samples/s, server CPU seconds per million samples (from /proc), p99 latency. The
sender (Python, one thread per connection) pays for TLS too and shares the 2 cores, so the
samples/s ratio is pessimistic; the server CPU per sample is the cleaner measure.
Quote ratios from one run: the machine is shared.
"""
import argparse, base64, http.client, importlib.util, os, shutil, signal, socket, ssl, subprocess, sys, tempfile

import bcrypt

sys.path.insert(0, os.path.dirname(__file__))
from compaction_peers import RWLOAD, free_port  # noqa: E402
from ingest_runs import cpu_seconds, interleaved_medians, wait_ready  # noqa: E402

spec = importlib.util.spec_from_file_location("rwload", RWLOAD)
rwload = importlib.util.module_from_spec(spec)
spec.loader.exec_module(rwload)


def make_pki(work):
    def openssl(*args):
        subprocess.run(["openssl", *args], check=True, capture_output=True)
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    openssl("req", "-x509", *ec, "-keyout", f"{work}/ca.key", "-out", f"{work}/ca.crt", "-days", "2", "-subj", "/CN=bench CA")
    openssl("req", *ec, "-keyout", f"{work}/server.key", "-out", f"{work}/server.csr", "-subj", "/CN=localhost")
    with open(f"{work}/ext.cnf", "w") as f:
        f.write("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    openssl("x509", "-req", "-in", f"{work}/server.csr", "-CA", f"{work}/ca.crt", "-CAkey", f"{work}/ca.key",
            "-CAcreateserial", "-out", f"{work}/server.crt", "-days", "2", "-extfile", f"{work}/ext.cnf")
    pw_hash = bcrypt.hashpw(b"bench-pw", bcrypt.gensalt(10)).decode()
    with open(f"{work}/web.yml", "w") as f:
        f.write(f"tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\nbasic_auth_users:\n  bench: {pw_hash}\n")


def run_once(strata, bodies, work, tls):
    port, data = free_port(), tempfile.mkdtemp(dir=work)
    args = [strata, "serve", "--http-address", f"127.0.0.1:{port}", "--tsdb.path", data, "--no-shipper", "--log.level", "warning"]
    if tls:
        args += ["--web.config.file", f"{work}/web.yml"]
    log = open(f"{data}.log", "w")
    proc = subprocess.Popen(args, stdout=log, stderr=log, start_new_session=True)
    ctx = ssl.create_default_context(cafile=f"{work}/ca.crt") if tls else None
    auth = "Basic " + base64.b64encode(b"bench:bench-pw").decode()

    def connect(host, p, timeout):
        c = http.client.HTTPSConnection(host, p, timeout=timeout, context=ctx) if tls else http.client.HTTPConnection(host, p, timeout=timeout)
        c.connect()
        c.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return c
    try:
        def probe():
            c = connect("localhost", port, 2)
            c.request("GET", "/-/ready", headers={"Authorization": auth} if tls else {})
            return c.getresponse().status == 200
        wait_ready(probe, proc, f"{data}.log")
        # rwload's sender, with TLS connections and credentials on every request when asked.
        rwload.ShardSender._conn = lambda self: connect("localhost", self.port, self.timeout)
        rwload.HEADERS["Authorization"] = auth
        cpu0 = cpu_seconds(proc.pid)
        res = rwload.send_all(f"http://127.0.0.1:{port}/api/v1/write", bodies)
        cpu = cpu_seconds(proc.pid) - cpu0
        if res["requests_non2xx"] or res["requests_exceptions"]:
            raise RuntimeError(f"errors: {res['status_counts']} {res['first_errors']}")
        return res["samples_per_s"], cpu / res["samples_2xx"] * 1e6, res["latency_ms_p99"], res["generator_cpu_s"]
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(60)
        shutil.rmtree(data, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--strata", required=True)
    ap.add_argument("--bodies", required=True, help="a file from rwload.py --save-bodies")
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    _, bodies = rwload.load_bodies(a.bodies)
    work = tempfile.mkdtemp(prefix="strata-tls-bench-")
    try:
        make_pki(work)
        med = interleaved_medians({"plain HTTP": False, "TLS + basic auth": True}, a.repeat,
                                  lambda tls: run_once(a.strata, bodies, work, tls),
                                  lambda r: "samples/s %.0f, server CPU s/1M %.3f, p99 %.1f ms, sender CPU %.1f s" % r)
        base = med["plain HTTP"]
        print(f"\nmedian of {a.repeat}:\n| transport | samples/s | server CPU s / 1M samples | p99 ms | sender CPU s |\n|---|---|---|---|---|")
        for k, m in med.items():
            print(f"| {k} | {m[0]:,.0f} ({m[0] / base[0]:.2f}×) | {m[1]:.3f} ({m[1] / base[1]:.2f}×) | {m[2]:.1f} | {m[3]:.1f} |")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
