#!/usr/bin/env python3
"""Compaction beside Prometheus: the same remote-write load into Strata and Prometheus 2.42,
then each writes its whole head as one block through the TSDB snapshot API
(POST /api/v1/admin/tsdb/snapshot, the same code path as head compaction). Reports, per server:
block bytes per sample (index + chunk segments), snapshot wall time, and peak extra RSS while it
runs (sampled every 5 ms from /proc).

    python3 ../shared/bench/rwload.py --series 100000 --samples 480 --save-bodies /tmp/rw-100k-2h.bin
    python3 Benchmarks/scripts/compaction_peers.py --bodies /tmp/rw-100k-2h.bin \
        --strata "$(swift build -c release --show-bin-path)/strata"

Quote ratios from one run: the machine is shared.
"""
import argparse, json, os, shutil, signal, socket, subprocess, sys, tempfile, threading, time, urllib.request

RWLOAD = os.path.join(os.path.dirname(__file__), "../../../shared/bench/rwload.py")


def metric(port, name):
    """The value of an unlabelled metric on a server's /metrics (0 when absent)."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
        for line in r.read().decode().splitlines():
            if line.startswith(name + " "):
                return float(line.split()[1])
    return 0.0


def free_port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close(); return p


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def wait_ready(url, proc, timeout=120):
    end = time.time() + timeout
    while time.time() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except Exception:
            pass
        time.sleep(0.2)
    raise RuntimeError("server not ready")


def run_peer(name, cmd, port, datadir, bodies, concurrency):
    log = open(os.path.join(os.path.dirname(datadir), f"{name}.log"), "w")
    proc = subprocess.Popen(cmd, stdout=log, stderr=log, start_new_session=True)
    try:
        wait_ready(f"http://127.0.0.1:{port}/-/ready", proc)
        out = subprocess.run([sys.executable, RWLOAD, "--load-bodies", bodies, "-c", str(concurrency),
                              "--url", f"http://127.0.0.1:{port}/api/v1/write", "--json", datadir + ".rw.json"],
                             capture_output=True, text=True)
        if out.returncode != 0:
            raise RuntimeError(out.stderr[-2000:])
        rw = json.load(open(datadir + ".rw.json"))
        time.sleep(2)
        base = rss_kib(proc.pid)
        peak = [base]
        stop = threading.Event()

        def sample():
            while not stop.is_set():
                try:
                    peak[0] = max(peak[0], rss_kib(proc.pid))
                except Exception:
                    pass
                time.sleep(0.005)

        t = threading.Thread(target=sample); t.start()
        start = time.time()
        req = urllib.request.Request(f"http://127.0.0.1:{port}/api/v1/admin/tsdb/snapshot", method="POST")
        with urllib.request.urlopen(req, timeout=1800) as r:
            snap = json.load(r)["data"]["name"]
        seconds = time.time() - start
        stop.set(); t.join()
        snapdir = os.path.join(datadir, "snapshots", snap)
        blocks = [d for d in os.listdir(snapdir) if len(d) == 26]
        samples = index = chunks = series = 0
        for b in blocks:
            meta = json.load(open(os.path.join(snapdir, b, "meta.json")))
            samples += meta["stats"].get("numSamples", 0)
            series += meta["stats"].get("numSeries", 0)
            index += os.path.getsize(os.path.join(snapdir, b, "index"))
            cdir = os.path.join(snapdir, b, "chunks")
            chunks += sum(os.path.getsize(os.path.join(cdir, f)) for f in os.listdir(cdir))
        return {
            "server": name, "samples_accepted": rw.get("send", {}).get("samples_2xx"), "block_samples": samples,
            "block_series": series, "index_bytes": index, "chunk_bytes": chunks,
            "bytes_per_sample": (index + chunks) / samples if samples else None,
            "snapshot_seconds": seconds, "rss_before_mib": base / 1024, "peak_extra_rss_mib": (peak[0] - base) / 1024,
        }
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        log.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bodies", required=True, help="request bodies saved by rwload.py --save-bodies")
    ap.add_argument("--strata", required=True, help="path to the strata binary")
    ap.add_argument("--prometheus", default="prometheus")
    ap.add_argument("-c", "--concurrency", type=int, default=4)
    ap.add_argument("--workdir", default=tempfile.gettempdir())
    ap.add_argument("--json")
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="compaction-peers-", dir=a.workdir)
    results = []
    try:
        for name in ["prometheus", "strata"]:
            port = free_port()
            datadir = os.path.join(work, name)
            os.makedirs(datadir)
            if name == "prometheus":
                cfg = os.path.join(work, "prometheus.yml")
                open(cfg, "w").write("global:\n  scrape_interval: 1m\n")
                cmd = [a.prometheus, f"--config.file={cfg}", f"--storage.tsdb.path={datadir}",
                       f"--web.listen-address=127.0.0.1:{port}", "--web.enable-remote-write-receiver",
                       "--web.enable-admin-api", "--log.level=warn"]
            else:
                cmd = [a.strata, "serve", "--http-address", f"127.0.0.1:{port}", "--tsdb.path", datadir,
                       "--web.enable-admin-api", "--log.level", "warning"]
            r = run_peer(name, cmd, port, datadir, a.bodies, a.concurrency)
            results.append(r)
            print(json.dumps(r), flush=True)
            shutil.rmtree(datadir, ignore_errors=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    p, s = results
    print("\n| | Prometheus 2.42 | Strata | Strata / Prometheus |\n|---|---|---|---|")
    for key, label in [("block_samples", "samples in the block"), ("bytes_per_sample", "block bytes per sample"),
                       ("index_bytes", "index bytes"), ("chunk_bytes", "chunk bytes"),
                       ("snapshot_seconds", "head → block seconds"), ("peak_extra_rss_mib", "peak extra RSS MiB")]:
        pv, sv = p[key], s[key]
        ratio = f"{sv / pv:.2f}" if pv else "-"
        fmt = (lambda v: f"{v:.3f}") if isinstance(pv, float) else (lambda v: f"{v:,}")
        print(f"| {label} | {fmt(pv)} | {fmt(sv)} | {ratio} |")
    if a.json:
        json.dump(results, open(a.json, "w"), indent=1)


if __name__ == "__main__":
    main()
