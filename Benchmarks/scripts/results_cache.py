#!/usr/bin/env python3
"""What the range query results cache saves a dashboard (issue 18): a 7-day panel asked once,
asked again, and refreshed step by step, with the cache on and off (`--query-range.results-cache-size 0`).

--series counters at a 60 s interval for the last --days days (up to a minute ago) are
imported with `strata tsdb import openmetrics` (2-day blocks) and uploaded to a FILESYSTEM
bucket that `strata serve` reads. Each panel query runs over the whole range at --step:
"first" is the first request (the cache is empty), "again" the median of --runs identical
requests, "refresh" the median of --runs requests each moved one step later, as Grafana moves
a panel set to refresh.

    python3 Benchmarks/scripts/results_cache.py --strata "$(swift build -c release --show-bin-path)/strata"
"""
import argparse, json, os, shutil, signal, statistics, subprocess, sys, tempfile, time, urllib.parse, urllib.request

sys.path.insert(0, os.path.dirname(__file__))
from compaction_peers import free_port, metric, wait_ready  # noqa: E402

QUERIES = ["sum by (job) (rate(x_total[5m]))", "histogram_quantile(0.9, sum by (le) (rate(h_bucket[10m])))"]


def query(port, expr, start, end, step):
    q = urllib.parse.urlencode({"query": expr, "start": start, "end": end, "step": step})
    t = time.perf_counter()
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/query_range?{q}", timeout=600) as r:
        body = r.read()
    assert json.loads(body)["status"] == "success", body[:300]
    return (time.perf_counter() - t) * 1000, body


def serve(strata, work, cfg, size):
    port = free_port()
    log = open(os.path.join(work, f"serve-{size}.log"), "w")
    proc = subprocess.Popen([strata, "serve", "--http-address", f"127.0.0.1:{port}", "--tsdb.path", os.path.join(work, f"data-{size}"),
                             "--log.level", "warning", "--objstore.config", cfg, "--query-range.results-cache-size", size],
                            stdout=log, stderr=log, start_new_session=True)
    wait_ready(f"http://127.0.0.1:{port}/-/ready", proc)
    deadline = time.time() + 60
    while metric(port, "strata_bucket_store_blocks_visible") < 1 and time.time() < deadline:
        time.sleep(0.2)
    return proc, port, log


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--strata", required=True)
    ap.add_argument("--series", type=int, default=200)
    ap.add_argument("--days", type=int, default=7)
    ap.add_argument("--step", type=int, default=300)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--workdir", default=tempfile.gettempdir())
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="results-cache-", dir=a.workdir)
    try:
        now = int(time.time()) // 60 * 60
        first = now - a.days * 86400
        om = os.path.join(work, "in.om")
        with open(om, "w") as f:
            f.write("# TYPE x counter\n")
            for s in range(a.series):
                f.write("".join(f'x_total{{instance="i{s}",job="j{s % 10}"}} {(1 + s % 7) * m} {first + m * 60}\n'
                                for m in range((now - 60 - first) // 60)))
            f.write("# TYPE h histogram\n")
            for s in range(a.series // 10):
                for k, le in enumerate(["0.1", "1", "10", "+Inf"]):
                    f.write("".join(f'h_bucket{{instance="i{s}",le="{le}"}} {(k + 1) * m + s} {first + m * 60}\n'
                                    for m in range((now - 60 - first) // 60)))
            f.write("# EOF\n")
        t = time.time()
        subprocess.run([a.strata, "tsdb", "import", "openmetrics", "--block-duration", "48h", om, os.path.join(work, "import")],
                       check=True, capture_output=True)
        print(f"imported in {time.time() - t:.1f} s", flush=True)
        os.remove(om)
        cfg = f"type: FILESYSTEM\nconfig:\n  directory: {os.path.join(work, 'bucket')}\n"
        subprocess.run([a.strata, "bucket", "upload", "--path", os.path.join(work, "import"), "--label", 'tenant_id="bench"',
                        "--objstore.config", cfg], check=True, capture_output=True)

        rows = []
        for size in ["0", "100MB"]:
            proc, port, log = serve(a.strata, work, cfg, size)
            try:
                end = (int(time.time()) // a.step) * a.step
                start = end - a.days * 86400 + a.step
                for expr in QUERIES:
                    once, body = query(port, expr, start, end, a.step)
                    again = statistics.median(query(port, expr, start, end, a.step)[0] for _ in range(a.runs))
                    same = query(port, expr, start, end, a.step)[1] == body
                    refresh = statistics.median(query(port, expr, start + i * a.step, end + i * a.step, a.step)[0]
                                                for i in range(1, a.runs + 1))
                    rows.append((expr, size, once, again, refresh, same))
                    print(expr, size, json.dumps({"first_ms": once, "again_ms": again, "refresh_ms": refresh, "same_bytes": same}), flush=True)
                hits = metric(port, 'strata_query_range_results_cache_requests_total{result="hit"}')
                print(f"cache {size}: {hits:.0f} hits", flush=True)
            finally:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(60)
                log.close()
        print(f"\n{a.series} counters and {a.series // 10} histograms (4 buckets) x {a.days} days at 60 s; "
              f"query_range over {a.days} days at a {a.step} s step; ms\n")
        print("| query | cache | first | again (median of {0}) | refreshed one step later (median of {0}) |\n|---|---|---|---|---|".format(a.runs))
        for expr, size, once, again, refresh, _ in rows:
            print(f"| `{expr}` | {'off' if size == '0' else size} | {once:.0f} | {again:.0f} | {refresh:.0f} |")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
