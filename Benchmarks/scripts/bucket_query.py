#!/usr/bin/env python3
"""Query latency over a block in the bucket (the store role) beside the same block kept local.

A real block is made from the remote-write bodies (as upload_throughput.py makes it). Then, each
in a fresh data directory:
  local     the block in the data directory, `--no-shipper`;
  fs        the block only in a FILESYSTEM bucket (queries read it through the page cache);
  s3        the block only in moto's S3 server on loopback.
For each, run_peers' range queries over the block's hour at a 60 s step: the first run (cold:
empty page cache) and the median of --runs more (warm), plus bytes fetched from the bucket.

    python3 ../shared/bench/rwload.py --series 100000 --samples 240 --save-bodies /tmp/rw-100k-1h.bin
    python3 Benchmarks/scripts/bucket_query.py --bodies /tmp/rw-10k-1h.bin \\
        --strata "$(swift build -c release --show-bin-path)/strata"
"""
import argparse, json, os, shutil, signal, statistics, subprocess, sys, tempfile, time, urllib.parse, urllib.request

import boto3

sys.path.insert(0, os.path.dirname(__file__))
from compaction_peers import free_port, metric, wait_ready  # noqa: E402
from upload_throughput import make_block  # noqa: E402

# run_peers.py's queries.
QUERIES = [
    ("sum_rate", "sum(rate(node_network_receive_bytes_total[5m]))"),
    ("sum_by_instance_rate", 'sum by (instance) (rate(node_cpu_seconds_total{mode!="idle"}[5m]))'),
    ("plain_selector", "node_disk_read_bytes_total"),
    ("topk_rate", "topk(5, rate(node_network_transmit_bytes_total[5m]))"),
    ("sum_rate_cpu_all", "sum(rate(node_cpu_seconds_total[5m]))"),
]


def timed_query(port, expr, start, end):
    q = urllib.parse.urlencode({"query": expr, "start": start, "end": end, "step": 60})
    t = time.perf_counter()
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/query_range?{q}", timeout=120) as r:
        body = json.load(r)
    assert body["status"] == "success", body
    return (time.perf_counter() - t) * 1000, len(body["data"]["result"])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bodies", required=True)
    ap.add_argument("--strata", required=True)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--workdir", default=tempfile.gettempdir())
    ap.add_argument("--json")
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="bucket-query-", dir=a.workdir)
    moto = None
    results = {}
    try:
        block = make_block(a.strata, a.bodies, work)
        meta = json.load(open(os.path.join(block, "meta.json")))
        start, end = meta["minTime"] / 1000, (meta["maxTime"] - 1) / 1000
        mport = free_port()
        moto = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(mport)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        wait_ready(f"http://127.0.0.1:{mport}/moto-api/", moto)
        boto3.client("s3", endpoint_url=f"http://127.0.0.1:{mport}", region_name="us-east-1",
                     aws_access_key_id="t", aws_secret_access_key="t").create_bucket(Bucket="thanos")
        configs = {
            "fs": f"type: FILESYSTEM\nconfig:\n  directory: {os.path.join(work, 'fs-bucket')}\n",
            "s3": (f"type: S3\nconfig:\n  bucket: thanos\n  endpoint: 127.0.0.1:{mport}\n  insecure: true\n"
                   "  bucket_lookup_type: path\n  access_key: t\n  secret_key: t\n"),
        }
        for name, cfg in configs.items():
            subprocess.run([a.strata, "bucket", "upload", "--path", block, "--objstore.config", cfg], check=True, capture_output=True)
            state = os.path.join(os.path.dirname(block), "thanos.shipper.json")
            if os.path.exists(state):
                os.remove(state)

        for mode in ["local", "fs", "s3"]:
            data = os.path.join(work, f"data-{mode}")
            os.makedirs(data)
            extra = ["--no-shipper"]
            if mode == "local":
                shutil.copytree(block, os.path.join(data, os.path.basename(block)))
            else:
                extra = ["--objstore.config", configs[mode]]
            port = free_port()
            log = open(os.path.join(work, f"{mode}.log"), "w")
            proc = subprocess.Popen([a.strata, "serve", "--http-address", f"127.0.0.1:{port}", "--tsdb.path", data,
                                     "--log.level", "warning"] + extra, stdout=log, stderr=log, start_new_session=True)
            try:
                wait_ready(f"http://127.0.0.1:{port}/-/ready", proc)
                if mode != "local":
                    deadline = time.time() + 60
                    while metric(port, "strata_bucket_store_blocks_visible") < 1 and time.time() < deadline:
                        time.sleep(0.2)
                rows = {}
                for qname, expr in QUERIES:
                    cold, n = timed_query(port, expr, start, end)
                    warm = statistics.median(timed_query(port, expr, start, end)[0] for _ in range(a.runs))
                    rows[qname] = {"cold_ms": cold, "warm_ms": warm, "series": n}
                rows["fetched_mib"] = metric(port, "strata_bucket_cache_fetched_bytes_total") / (1 << 20)
                results[mode] = rows
                print(mode, json.dumps(rows), flush=True)
            finally:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(60)
                log.close()

        size = sum(os.path.getsize(os.path.join(r, f)) for r, _, fs in os.walk(block) for f in fs) / (1 << 20)
        print(f"\nblock: {meta['stats']['numSeries']} series, {meta['stats']['numSamples']} samples, {size:.1f} MiB;"
              f" query_range over its hour, step 60 s; ms, cold (empty cache) / warm (median of {a.runs})\n")
        print("| query | local | bucket (filesystem) | bucket (moto S3) |\n|---|---|---|---|")
        for qname, _ in QUERIES:
            cells = [f"{results[m][qname]['cold_ms']:.1f} / {results[m][qname]['warm_ms']:.1f}" for m in ["local", "fs", "s3"]]
            print(f"| {qname} | " + " | ".join(cells) + " |")
        print(f"| MiB fetched from the bucket | - | {results['fs']['fetched_mib']:.1f} | {results['s3']['fetched_mib']:.1f} |")
        if a.json:
            json.dump(results, open(a.json, "w"), indent=1)
    finally:
        if moto:
            os.killpg(moto.pid, signal.SIGKILL)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
