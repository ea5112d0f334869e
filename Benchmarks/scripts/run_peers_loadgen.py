#!/usr/bin/env python3
"""../shared/bench/run_peers.py with `strata loadgen` as the load generator instead of rwload.py.

run_peers.py builds request bodies with rwload.py once and replays them against every server
(`rwload.py --load-bodies F --url U --json J --max-seconds S`). Here every replay becomes a
`strata loadgen` run of the same workload, read from the bodies file's header: the same series
(rwload's node_exporter targets, the loadgen's `node` profile), samples per series, scrape
interval and first timestamp, shards and samples per request, as fast as the server answers.
Like rwload.py it encodes every request before the timed phase (`--pre-encode`), prints the
##TIMED_* markers run_peers.py times the server by, and its report is written to J in rwload.py's
JSON shape, so every number run_peers.py derives (server CPU per million samples, RSS, the count
check, query latencies) comes out the same way.

    python3 Benchmarks/scripts/run_peers_loadgen.py --loadgen-bin "$(swift build -c release --show-bin-path)/strata" \\
        --sizes 10000x240,100000x60 --peers prometheus,victoriametrics,custom --custom-name strata \\
        --custom-cmd "$(swift build -c release --show-bin-path)/strata serve --http-address 127.0.0.1:{port} --tsdb.path {datadir}" \\
        --custom-ready-path /-/ready --json /tmp/r-loadgen.json

Every other option is run_peers.py's. The bench folder is ../shared/bench beside the repository,
or $STRATA_BENCH.
"""
import json
import os
import subprocess
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BENCH = os.environ.get("STRATA_BENCH") or next(
    (d for d in (os.path.join(os.path.dirname(REPO), "shared", "bench"), "/work/shared/bench") if os.path.isdir(d)),
    os.path.join(os.path.dirname(REPO), "shared", "bench"))


def read_bodies_meta(path):
    """The JSON header of an rwload.py bodies file (magic, u32 length, JSON)."""
    with open(path, "rb") as f:
        head = f.read(12)
        if head[:8] != b"RWLOAD01":
            raise SystemExit("not an rwload bodies file: %s" % path)
        return json.loads(f.read(int.from_bytes(head[8:12], "little")))


def as_rwload(loadgen, argv):
    """Runs `strata loadgen` for an rwload.py replay command line; writes rwload.py's JSON."""
    opts = dict(zip(argv[::2], argv[1::2]))
    meta = read_bodies_meta(opts["--load-bodies"])
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as t:
        report_path = t.name
    cmd = [loadgen, "loadgen", "--url", opts["--url"], "--profile", "node",
           "--series", str(meta["series"]), "--samples-per-series", str(meta["samples_per_series"]),
           "--scrape-interval", "%dms" % round(meta["interval_s"] * 1000),
           "--start", "%.3f" % (meta["start_ms"] / 1000), "--shards", str(meta["shards"]),
           "--max-samples-per-send", str(meta["samples_per_request"]), "--rate", "max",
           "--duration", "%ss" % opts.get("--max-seconds", "300"), "--progress-interval", "10s",
           "--pre-encode", "--timed-markers", "--json", report_path]
    print("loadgen: " + " ".join(cmd), flush=True)
    rc = subprocess.call(cmd)
    with open(report_path) as f:
        r = json.load(f)
    os.unlink(report_path)
    wall = r["wallSeconds"]
    non2xx = sum(n for s, n in r["responsesByStatus"].items() if not s.startswith("2"))
    send = dict(
        url=r["url"], wall_s=wall, requests_total=meta["requests"], requests_sent=r["requests"] - r["retries"],
        requests_2xx=r["requests"] - non2xx - r["transportErrors"], requests_non2xx=non2xx,
        requests_exceptions=r["transportErrors"], status_counts=r["responsesByStatus"],
        samples_2xx=r["samplesAccepted"], samples_failed=r["samplesSent"] - r["samplesAccepted"],
        samples_per_s=r["acceptedPerSecond"], requests_per_s=r["requests"] / wall if wall else 0.0,
        wire_bytes_sent=r["wireBytes"], latency_ms_p50=r["latencyMs"]["p50"], latency_ms_p90=r["latencyMs"]["p90"],
        latency_ms_p99=r["latencyMs"]["p99"], latency_ms_max=r["latencyMs"]["max"],
        generator_cpu_s=r["generatorCPUSeconds"], generator_cpu_pct=100.0 * r["generatorCPUSeconds"] / wall if wall else 0.0,
        timed_out=r["samplesSent"] < meta["total_samples"], first_errors=r["firstErrors"], generator="strata loadgen")
    with open(opts["--json"], "w") as f:
        json.dump({"build": meta, "send": send}, f, indent=1)
    return rc


def main():
    args = sys.argv[1:]
    if args[:1] == ["--as-rwload"]:
        return as_rwload(args[1], args[2:])
    if "--loadgen-bin" not in args:
        raise SystemExit("usage: run_peers_loadgen.py --loadgen-bin PATH [run_peers.py options]")
    i = args.index("--loadgen-bin")
    loadgen = os.path.abspath(args[i + 1])
    del args[i:i + 2]
    sys.path.insert(0, BENCH)
    import run_peers

    real_popen = run_peers.subprocess.Popen

    def popen(cmd, *a, **kw):
        # Only the replays: rwload.py still builds the bodies whose header says what to send.
        if isinstance(cmd, list) and len(cmd) > 1 and cmd[1].endswith("rwload.py") and "--load-bodies" in cmd:
            cmd = [sys.executable, os.path.abspath(__file__), "--as-rwload", loadgen] + cmd[2:]
        return real_popen(cmd, *a, **kw)

    run_peers.subprocess.Popen = popen
    sys.argv = [os.path.join(BENCH, "run_peers.py")] + args
    return run_peers.main()


if __name__ == "__main__":
    sys.exit(main())
