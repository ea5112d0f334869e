#!/usr/bin/env python3
"""Where a server's memory goes through run_peers' steps: RSS and peak RSS (VmHWM) of one fresh
`strata serve` after it ingested a body file, after run_peers' count check and after each of its
range queries, so a change to the head or the query path shows at the step it affects.

Bodies come from rwload.py (`--save-bodies`), the same bytes run_peers sends:

    python3 ../shared/bench/rwload.py --series 1000000 --samples 60 --save-bodies /tmp/rw-1m.bin
    python3 Benchmarks/scripts/memory_stages.py --bin "$(swift build -c release --show-bin-path)/strata" \
      --bodies /tmp/rw-1m.bin

`--wrap "heaptrack -o /tmp/ht"` runs the server under a tool (heaptrack_print then names the
allocation sites live at the peak).
"""
import argparse
import http.client
import json
import os
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
SHARED_BENCH = os.path.normpath(os.path.join(HERE, "..", "..", "..", "shared", "bench"))

def memory_mib(pid):
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(("VmRSS:", "VmHWM:", "RssAnon:", "RssFile:")):
                out[line.split(":")[0]] = int(line.split()[1]) // 1024
    return out


def server_pid(proc, port, wrapped):
    """The server's own pid: under a wrapper, the child whose command line names our port."""
    if not wrapped:
        return proc.pid
    found = subprocess.run(["pgrep", "-f", f"[s]erve --http-address 127.0.0.1:{port}"], capture_output=True, text=True)
    pids = [int(p) for p in found.stdout.split() if int(p) != proc.pid]
    return pids[-1] if pids else proc.pid


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", required=True, help="the strata binary")
    ap.add_argument("--bodies", required=True, help="a body file rwload.py saved")
    ap.add_argument("--wrap", default="", help="a command to run the server under (heaptrack, ...)")
    ap.add_argument("--step", type=int, default=60, help="query_range step, seconds (run_peers' default)")
    args = ap.parse_args()

    sys.path.insert(0, SHARED_BENCH)
    import rwload
    from run_peers import QUERIES   # its range queries, in its order

    data = tempfile.mkdtemp(prefix="memory-stages-")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log = open(os.path.join(data, "server.log"), "w")
    cmd = shlex.split(args.wrap) + [args.bin, "serve", "--http-address", f"127.0.0.1:{port}",
                                    "--tsdb.path", os.path.join(data, "data"), "--query-range.results-cache-size", "0"]
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)

    def get(path):
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
        c.request("GET", path)
        r = c.getresponse()
        return r.status, r.read()

    def report(stage, extra=""):
        m = memory_mib(server_pid(proc, port, bool(args.wrap)))
        print(f"{stage:22} RSS {m['VmRSS']:6} MiB (anon {m['RssAnon']}, file {m['RssFile']})  peak {m['VmHWM']:6} MiB  {extra}",
              flush=True)

    try:
        deadline = time.time() + 120
        while True:
            try:
                if get("/-/ready")[0] == 200:
                    break
            except OSError:
                pass
            if time.time() > deadline or proc.poll() is not None:
                sys.exit(f"server did not become ready; see {data}/server.log")
            time.sleep(0.2)
        report("started")

        sent = os.path.join(data, "rwload.json")
        subprocess.run([sys.executable, os.path.join(SHARED_BENCH, "rwload.py"), "--load-bodies", args.bodies,
                        "--url", f"http://127.0.0.1:{port}/api/v1/write", "--json", sent],
                       check=True, stdout=subprocess.DEVNULL)
        build = json.load(open(sent))["build"]
        start, end = build["start_ms"] / 1000, build["end_ms"] / 1000
        report("ingested", f"({build['total_samples']} samples)")

        # run_peers' count check: one instant query per metric name over the whole range.
        window = int(end - start) + 60
        for name in sorted(set(d["name"] for d in rwload.host_template())):
            q = urllib.parse.urlencode({"query": f"sum(count_over_time({name}[{window}s]))", "time": f"{end:.3f}"})
            get("/api/v1/query?" + q)
        report("count check")

        for name, expr in QUERIES:
            q = urllib.parse.urlencode({"query": expr, "start": f"{start:.3f}", "end": f"{end:.3f}", "step": str(args.step)})
            t0 = time.perf_counter()
            status, body = get("/api/v1/query_range?" + q)
            report(name, f"HTTP {status}, {time.perf_counter() - t0:.2f} s, {len(body)} bytes")
    finally:
        os.kill(server_pid(proc, port, bool(args.wrap)), 15)
        proc.wait()
        log.close()
        shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    main()
