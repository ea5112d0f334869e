#!/usr/bin/env python3
"""Memory held per open bucket block (issue 13: a bucket of 1,000 blocks must open without
reading their indexes in full and cost under 1 MiB of RSS per block).

--blocks 2h blocks of --series series (one sample a minute) are imported with `strata tsdb
import openmetrics`, uploaded to a FILESYSTEM bucket, and served by `strata serve` with an
empty data directory. RSS is read from /proc after start (blocks listed, none opened), after a
query that opens every block (`count(count_over_time(x[...]))` over the whole range), and after
the same query again (warm); the per-block cost is the difference over the number of blocks.

    python3 Benchmarks/scripts/bucket_block_memory.py --strata "$(swift build -c release --show-bin-path)/strata"
"""
import argparse, json, os, shutil, signal, subprocess, sys, tempfile, time, urllib.parse, urllib.request

sys.path.insert(0, os.path.dirname(__file__))
from compaction_peers import free_port, metric, rss_kib, wait_ready  # noqa: E402

BASE = 1_600_000_000 - 1_600_000_000 % 7200


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--strata", required=True)
    ap.add_argument("--blocks", type=int, default=1000)
    ap.add_argument("--series", type=int, default=10)
    ap.add_argument("--workdir", default=tempfile.gettempdir())
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="bucket-block-memory-", dir=a.workdir)
    try:
        om = os.path.join(work, "in.om")
        minutes = a.blocks * 120
        with open(om, "w") as f:
            f.write("# TYPE x gauge\n")
            for s in range(a.series):
                f.write("".join(f'x{{instance="i{s}"}} {m % 97} {BASE + m * 60}\n' for m in range(minutes)))
            f.write("# EOF\n")
        t = time.time()
        subprocess.run([a.strata, "tsdb", "import", "openmetrics", om, os.path.join(work, "import")], check=True, capture_output=True)
        os.remove(om)
        cfg = f"type: FILESYSTEM\nconfig:\n  directory: {os.path.join(work, 'bucket')}\n"
        subprocess.run([a.strata, "bucket", "upload", "--path", os.path.join(work, "import"), "--objstore.config", cfg],
                       check=True, capture_output=True)
        shutil.rmtree(os.path.join(work, "import"))
        n = len([d for d in os.listdir(os.path.join(work, "bucket")) if len(d) == 26])
        print(f"{n} blocks made and uploaded in {time.time() - t:.0f} s", flush=True)

        port = free_port()
        log = open(os.path.join(work, "serve.log"), "w")
        proc = subprocess.Popen([a.strata, "serve", "--http-address", f"127.0.0.1:{port}", "--tsdb.path", os.path.join(work, "data"),
                                 "--log.level", "warning", "--objstore.config", cfg], stdout=log, stderr=log, start_new_session=True)
        try:
            wait_ready(f"http://127.0.0.1:{port}/-/ready", proc)
            deadline = time.time() + 120
            while metric(port, "strata_bucket_store_blocks_visible") < n and time.time() < deadline:
                time.sleep(0.2)
            time.sleep(1)
            listed = rss_kib(proc.pid)
            end = BASE + minutes * 60
            q = urllib.parse.urlencode({"query": f"count(count_over_time(x[{minutes}m]))", "time": end})
            rows = []
            for run in ["cold", "warm"]:
                t = time.perf_counter()
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/query?{q}", timeout=600) as r:
                    body = json.load(r)
                ms = (time.perf_counter() - t) * 1000
                assert body["status"] == "success", body
                rows.append((run, ms, rss_kib(proc.pid), body["data"]["result"][0]["value"][1]))
            opened = metric(port, "strata_bucket_store_blocks_opened_total")
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(60)
            log.close()
        print(f"\n{n} bucket blocks of {a.series} series x 2h; RSS after start (listed, none opened): {listed / 1024:.1f} MiB\n")
        print("| query over all blocks | ms | RSS after, MiB | per block over 'listed', KiB | series counted |\n|---|---|---|---|---|")
        for run, ms, rss, v in rows:
            print(f"| {run} | {ms:.0f} | {rss / 1024:.1f} | {(rss - listed) / n:.1f} | {v} |")
        print(f"\nblocks opened: {opened:.0f}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
