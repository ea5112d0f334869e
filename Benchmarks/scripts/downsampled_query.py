#!/usr/bin/env python3
"""A 30-day `sum(rate(x[1h]))` at a 1h step, read from raw blocks and from the compactor's 5m
and 1h blocks of the same data (issue 13's long-range benchmark).

30 days of --series counters at a 60 s interval are written as OpenMetrics, imported with
`strata tsdb import openmetrics --block-duration 336h` (14-day raw blocks), uploaded to a
FILESYSTEM bucket and compacted once (`strata bucket compact --once`: 14d raw → 5m → 1h). Then
`strata serve` over the bucket answers the same range query with max_source_resolution 0s
(raw), 5m and 1h: the first run (cold: empty page cache) and the median of --runs more (warm),
with the bytes fetched from the bucket and the answers' largest relative difference to raw.

    python3 Benchmarks/scripts/downsampled_query.py --strata "$(swift build -c release --show-bin-path)/strata"
"""
import argparse, json, os, shutil, signal, statistics, subprocess, sys, tempfile, time, urllib.parse, urllib.request

sys.path.insert(0, os.path.dirname(__file__))
from compaction_peers import free_port, metric, wait_ready  # noqa: E402

DAY = 86400
# A multiple of 14 days since the epoch: the import's windows line up with the data.
BASE = 1_700_006_400 - 1_700_006_400 % (14 * DAY)


def query(port, expr, start, end, step, res):
    q = urllib.parse.urlencode({"query": expr, "start": start, "end": end, "step": step, "max_source_resolution": res})
    t = time.perf_counter()
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/query_range?{q}", timeout=600) as r:
        body = json.load(r)
    assert body["status"] == "success", body
    values = [float(v) for s in body["data"]["result"] for _, v in s["values"]]
    return (time.perf_counter() - t) * 1000, values


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--strata", required=True)
    ap.add_argument("--series", type=int, default=200)
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--workdir", default=tempfile.gettempdir())
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="downsampled-query-", dir=a.workdir)
    try:
        om = os.path.join(work, "in.om")
        minutes = a.days * 24 * 60
        with open(om, "w") as f:
            f.write("# TYPE x counter\n")
            for s in range(a.series):
                rate = 1 + s % 7
                lines = [f'x_total{{instance="i{s}"}} {rate * m} {BASE + m * 60}\n' for m in range(minutes)]
                f.write("".join(lines))
            f.write("# EOF\n")
        t = time.time()
        subprocess.run([a.strata, "tsdb", "import", "openmetrics", "--block-duration", "336h", om, os.path.join(work, "import")],
                       check=True, capture_output=True)
        print(f"imported {a.series * minutes} samples in {time.time() - t:.1f} s", flush=True)
        os.remove(om)
        cfg = f"type: FILESYSTEM\nconfig:\n  directory: {os.path.join(work, 'bucket')}\n"
        subprocess.run([a.strata, "bucket", "upload", "--path", os.path.join(work, "import"), "--label", 'tenant_id="bench"',
                        "--objstore.config", cfg], check=True, capture_output=True)
        t = time.time()
        out = subprocess.run([a.strata, "bucket", "compact", "--once", "--consistency-delay", "0s", "--work-dir",
                              os.path.join(work, "compact"), "--objstore.config", cfg], check=True, capture_output=True, text=True)
        print(f"compactor iteration {time.time() - t:.1f} s:", out.stdout.strip().splitlines()[-1], flush=True)
        ls = subprocess.run([a.strata, "bucket", "ls", "-o", "wide", "--objstore.config", cfg], check=True, capture_output=True, text=True)
        print(ls.stdout, flush=True)

        data = os.path.join(work, "data")
        port = free_port()
        log = open(os.path.join(work, "serve.log"), "w")
        proc = subprocess.Popen([a.strata, "serve", "--http-address", f"127.0.0.1:{port}", "--tsdb.path", data, "--log.level", "warning",
                                 "--objstore.config", cfg], stdout=log, stderr=log, start_new_session=True)
        try:
            wait_ready(f"http://127.0.0.1:{port}/-/ready", proc)
            deadline = time.time() + 60
            while metric(port, "strata_bucket_store_blocks_visible") < 3 and time.time() < deadline:
                time.sleep(0.2)
            start, end = BASE + DAY, BASE + a.days * DAY - 60
            # rate(x[1h]) never reads data coarser than 30m (Thanos' rule for functions that
            # need two samples), so its "1h" row reads 5m blocks; rate(x[3h]) can read 1h ones.
            cases = [("sum(rate(x_total[1h]))", "0s"), ("sum(rate(x_total[1h]))", "5m"), ("sum(rate(x_total[1h]))", "1h"),
                     ("sum(rate(x_total[3h]))", "0s"), ("sum(rate(x_total[3h]))", "1h")]
            rows, raw = [], {}
            for expr, res in cases:
                before = metric(port, "strata_bucket_cache_fetched_bytes_total")
                cold, values = query(port, expr, start, end, 3600, res)
                fetched = (metric(port, "strata_bucket_cache_fetched_bytes_total") - before) / (1 << 20)
                warm = statistics.median(query(port, expr, start, end, 3600, res)[0] for _ in range(a.runs))
                raw.setdefault(expr, values)
                diff = max((abs(v - r) / abs(r) for v, r in zip(values, raw[expr]) if r), default=0.0)
                rows.append((expr, res, {"cold_ms": cold, "warm_ms": warm, "fetched_mib": fetched, "points": len(values), "max_rel_diff": diff}))
                print(expr, res, json.dumps(rows[-1][2]), flush=True)
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(60)
            log.close()
        print(f"\n{a.series} series x {a.days} days at 60 s; query_range over {a.days - 1} days, step 1h; ms cold / warm (median of {a.runs})\n")
        print("| query | max_source_resolution | cold ms | warm ms | fetched MiB (cold) | largest difference to raw |\n|---|---|---|---|---|---|")
        for expr, res, r in rows:
            print(f"| `{expr}` | {res} | {r['cold_ms']:.0f} | {r['warm_ms']:.0f} | {r['fetched_mib']:.1f} | {r['max_rel_diff'] * 100:.2f}% |")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
