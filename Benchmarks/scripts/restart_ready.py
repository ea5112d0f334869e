#!/usr/bin/env python3
"""Time a server's restart on a kept data directory: process start to /-/ready answering 200,
and its peak RSS (VmHWM) by then.

Run after `../shared/bench/run_peers.py --keep-data` (it prints each kept data dir):

    python3 Benchmarks/scripts/restart_ready.py --name prometheus --cmd \
      "prometheus --config.file=DIR/prometheus.yml --storage.tsdb.path=DIR/data --web.listen-address=127.0.0.1:{port}"
    python3 Benchmarks/scripts/restart_ready.py --name strata --runs 3 --cmd \
      "strata serve --http-address 127.0.0.1:{port} --tsdb.path DIR" [--drop GLOB]

`--drop GLOB` deletes matching paths before every start (Strata's head snapshot, to time a full
WAL replay: `--drop 'DIR/*/chunks_snapshot*'` or wherever the snapshot lives). The server is
stopped with SIGTERM after each run; keep in mind that a stop may write a new snapshot.
"""
import argparse
import glob
import json
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

from ingest_runs import peak_rss_mib, wait_ready


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def one_run(cmd, drop, timeout):
    for pattern in drop:
        for p in glob.glob(pattern):
            shutil.rmtree(p, ignore_errors=True) if os.path.isdir(p) else os.remove(p)
    port = free_port()
    argv = shlex.split(cmd.replace("{port}", str(port)))
    with tempfile.NamedTemporaryFile(suffix=".log", delete=False) as log:
        log_path = log.name
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=open(log_path, "wb"), stderr=subprocess.STDOUT)

    def probe():
        with urllib.request.urlopen("http://127.0.0.1:%d/-/ready" % port, timeout=1) as r:
            return r.status == 200

    try:
        wait_ready(probe, proc, log_path, timeout=timeout)
        ready = time.perf_counter() - t0
        hwm = peak_rss_mib(proc.pid)   # VmHWM: the peak so far, so reading it once ready is enough
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=120)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        os.remove(log_path)
    return ready, hwm


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--name", required=True)
    ap.add_argument("--cmd", required=True, help="command line; {port} is replaced by a free port")
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--drop", action="append", default=[], help="glob of paths to delete before each start")
    ap.add_argument("--timeout", type=int, default=600)
    args = ap.parse_args()
    results = []
    for i in range(args.runs):
        ready, hwm = one_run(args.cmd, args.drop, args.timeout)
        results.append({"ready_s": round(ready, 2), "peak_rss_mib": round(hwm)})
        print("%s run %d: ready after %.2f s, peak RSS %s MiB" % (args.name, i + 1, ready, round(hwm)), flush=True)
    json.dump({"name": args.name, "runs": results}, sys.stdout)
    print()


if __name__ == "__main__":
    main()
