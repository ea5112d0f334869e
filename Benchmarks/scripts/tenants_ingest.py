#!/usr/bin/env python3
"""Remote-write ingest from many tenants at once beside one tenant with the same total load, in
one run: the same pre-built bodies (../shared/bench/rwload.py, built with one shard per tenant)
sent to a fresh `strata serve` each time, runs interleaved (one tenant, N tenants, …), medians
reported. With N tenants, shard i sends every request with `THANOS-TENANT: tenant-<i mod N>`,
so each tenant owns its shard's series (a TSDB each: head, WAL, blocks); with one tenant the
same requests carry no header. Same connections, same bodies: only the tenancy differs.

    python3 ../shared/bench/rwload.py --series 10000 --samples 240 -c 100 --save-bodies /tmp/rw-100.bin
    python3 Benchmarks/scripts/tenants_ingest.py --bodies /tmp/rw-100.bin \\
        --strata "$(swift build -c release --show-bin-path)/strata" --tenants 100 --repeat 3

Reported: samples/s, server CPU seconds per million samples (from /proc), peak RSS (VmHWM),
p99 latency. The sender (Python, one thread per connection) shares the 2 cores; the server CPU
per sample is the cleaner measure. Quote ratios from one run: the machine is shared.
"""
import argparse, http.client, importlib.util, os, shutil, signal, socket, subprocess, sys, tempfile

sys.path.insert(0, os.path.dirname(__file__))
from compaction_peers import RWLOAD, free_port  # noqa: E402
from ingest_runs import cpu_seconds, interleaved_medians, peak_rss_mib, wait_ready  # noqa: E402

spec = importlib.util.spec_from_file_location("rwload", RWLOAD)
rwload = importlib.util.module_from_spec(spec)
spec.loader.exec_module(rwload)


def run_once(strata, bodies, work, tenants):
    port, data = free_port(), tempfile.mkdtemp(dir=work)
    args = [strata, "serve", "--http-address", f"127.0.0.1:{port}", "--tsdb.path", data, "--no-shipper", "--log.level", "warning"]
    log = open(f"{data}.log", "w")
    proc = subprocess.Popen(args, stdout=log, stderr=log, start_new_session=True)

    def connect(self):
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=self.timeout)
        c.connect()
        c.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if tenants > 1:
            send, tenant = c.request, f"tenant-{self.shard % tenants}"
            c.request = lambda method, path, body, headers: send(method, path, body, {**headers, "THANOS-TENANT": tenant})
        return c
    try:
        def probe():
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            c.request("GET", "/-/ready")
            return c.getresponse().status == 200
        wait_ready(probe, proc, f"{data}.log")
        rwload.ShardSender._conn = connect
        cpu0 = cpu_seconds(proc.pid)
        res = rwload.send_all(f"http://127.0.0.1:{port}/api/v1/write", bodies)
        cpu = cpu_seconds(proc.pid) - cpu0
        if res["requests_non2xx"] or res["requests_exceptions"]:
            raise RuntimeError(f"errors: {res['status_counts']} {res['first_errors']}")
        dirs = [d for d in os.listdir(data) if os.path.isdir(os.path.join(data, d, "wal"))]
        if len(dirs) != tenants:
            raise RuntimeError(f"expected {tenants} tenant directories, found {len(dirs)}")
        return res["samples_per_s"], cpu / res["samples_2xx"] * 1e6, peak_rss_mib(proc.pid), res["latency_ms_p99"]
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(60)
        shutil.rmtree(data, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--strata", required=True)
    ap.add_argument("--bodies", required=True, help="a file from rwload.py --save-bodies, one shard per tenant (-c N)")
    ap.add_argument("--tenants", type=int, default=100)
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    _, bodies = rwload.load_bodies(a.bodies)
    if len(bodies) < a.tenants:
        raise SystemExit(f"the bodies have {len(bodies)} shards; build them with -c {a.tenants}")
    work = tempfile.mkdtemp(prefix="strata-tenants-bench-")
    try:
        med = interleaved_medians({"1 tenant": 1, f"{a.tenants} tenants": a.tenants}, a.repeat,
                                  lambda n: run_once(a.strata, bodies, work, n),
                                  lambda r: "samples/s %.0f, server CPU s/1M %.3f, peak RSS %.0f MiB, p99 %.1f ms" % r)
        base = med["1 tenant"]
        print(f"\nmedian of {a.repeat}, {len(bodies)} connections:\n| tenants | samples/s | server CPU s / 1M samples | peak RSS MiB | p99 ms |\n|---|---|---|---|---|")
        for k, m in med.items():
            print(f"| {k} | {m[0]:,.0f} ({m[0] / base[0]:.2f}×) | {m[1]:.3f} ({m[1] / base[1]:.2f}×) | {m[2]:.0f} ({m[2] / base[2]:.2f}×) | {m[3]:.1f} |")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
