#!/usr/bin/env python3
"""Block upload throughput: `strata bucket upload` beside boto3 (what `aws s3 cp` runs) on the
same block files, in the same run, to moto's S3 server on loopback; and to a FILESYSTEM bucket
on another file system (a copy, not Strata's hard link) beside Python's shutil.copy.

A real block is made first: the remote-write bodies are sent to `strata serve`, and the head is
written as one block through the snapshot API. Each upload goes to a fresh bucket; the median of
--repeat runs is reported in MiB/s. Strata's time includes its check of the block before upload
(index and every chunk read).

    python3 ../shared/bench/rwload.py --series 100000 --samples 240 --save-bodies /tmp/rw-100k-1h.bin
    python3 Benchmarks/scripts/upload_throughput.py --bodies /tmp/rw-100k-1h.bin \\
        --strata "$(swift build -c release --show-bin-path)/strata"

Quote ratios from one run: the machine is shared.
"""
import argparse, json, os, shutil, signal, statistics, subprocess, sys, tempfile, time, urllib.request

import boto3
from boto3.s3.transfer import TransferConfig

sys.path.insert(0, os.path.dirname(__file__))
from compaction_peers import RWLOAD, free_port, wait_ready  # noqa: E402


def make_block(strata, bodies, work):
    """A block made by Strata from the bodies (the head, written out by the snapshot API)."""
    port, data = free_port(), os.path.join(work, "source")
    log = open(os.path.join(work, "source.log"), "w")
    proc = subprocess.Popen([strata, "serve", "--http-address", f"127.0.0.1:{port}", "--tsdb.path", data, "--no-shipper",
                             "--web.enable-admin-api", "--log.level", "warning"], stdout=log, stderr=log, start_new_session=True)
    try:
        wait_ready(f"http://127.0.0.1:{port}/-/ready", proc)
        subprocess.run([sys.executable, RWLOAD, "--load-bodies", bodies, "--url", f"http://127.0.0.1:{port}/api/v1/write"],
                       check=True, capture_output=True)
        req = urllib.request.Request(f"http://127.0.0.1:{port}/api/v1/admin/tsdb/snapshot", method="POST")
        with urllib.request.urlopen(req, timeout=1800) as r:
            snap = os.path.join(data, "snapshots", json.load(r)["data"]["name"])
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(60)
    ulid = max(d for d in os.listdir(snap) if len(d) == 26)
    return os.path.join(snap, ulid)


def forget_uploads(block):
    """`strata bucket upload` records what it shipped beside the block, as Thanos' shipper does;
    the next run must upload again."""
    state = os.path.join(os.path.dirname(block), "thanos.shipper.json")
    if os.path.exists(state):
        os.remove(state)


def block_files(block):
    out = []
    for root, _, files in os.walk(block):
        for f in files:
            out.append(os.path.relpath(os.path.join(root, f), block))
    return sorted(out)


def timed(fn):
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bodies", required=True, help="request bodies saved by rwload.py --save-bodies")
    ap.add_argument("--strata", required=True, help="path to the strata binary")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--workdir", default=tempfile.gettempdir())
    ap.add_argument("--copy-target", default="/dev/shm", help="a directory on another file system, for the FILESYSTEM runs")
    ap.add_argument("--json")
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="upload-bench-", dir=a.workdir)
    moto = None
    try:
        block = make_block(a.strata, a.bodies, work)
        ulid = os.path.basename(block)
        files = block_files(block)
        size = sum(os.path.getsize(os.path.join(block, f)) for f in files)
        mib = size / (1 << 20)
        print(f"block {ulid}: {len(files)} files, {mib:.1f} MiB", flush=True)

        mport = free_port()
        moto = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(mport)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        wait_ready(f"http://127.0.0.1:{mport}/moto-api/", moto)
        s3 = boto3.client("s3", endpoint_url=f"http://127.0.0.1:{mport}", region_name="us-east-1",
                          aws_access_key_id="testing", aws_secret_access_key="testing")
        # boto3's defaults, as `aws s3 cp` uses them: 8 MiB multipart threshold and parts, 10 threads.
        transfer = TransferConfig()

        results = {"block_mib": mib, "files": len(files), "s3": {"strata": [], "boto3": []}, "fs": {"strata": [], "copy": []}}
        for i in range(a.repeat):
            for who in ["strata", "boto3"]:
                bucket = f"b-{who}-{i}"
                s3.create_bucket(Bucket=bucket)
                if who == "boto3":
                    secs = timed(lambda: [s3.upload_file(os.path.join(block, f), bucket, f"{ulid}/{f}", Config=transfer) for f in files])
                else:
                    cfg = (f"type: S3\nconfig:\n  bucket: {bucket}\n  endpoint: 127.0.0.1:{mport}\n  insecure: true\n"
                           "  bucket_lookup_type: path\n  access_key: testing\n  secret_key: testing\n")
                    secs = timed(lambda: subprocess.run([a.strata, "bucket", "upload", "--path", block, "--objstore.config", cfg],
                                                        check=True, capture_output=True))
                forget_uploads(block)
                results["s3"][who].append(mib / secs)
                print(f"s3 {who} run {i}: {mib / secs:.1f} MiB/s", flush=True)
            for who in ["strata", "copy"]:
                target = tempfile.mkdtemp(prefix=f"upload-bench-{who}-", dir=a.copy_target)
                try:
                    if who == "copy":
                        def copy():
                            for f in files:
                                os.makedirs(os.path.dirname(os.path.join(target, ulid, f)), exist_ok=True)
                                shutil.copy(os.path.join(block, f), os.path.join(target, ulid, f))
                        secs = timed(copy)
                    else:
                        cfg = f"type: FILESYSTEM\nconfig:\n  directory: {target}\n"
                        secs = timed(lambda: subprocess.run([a.strata, "bucket", "upload", "--path", block, "--objstore.config", cfg],
                                                            check=True, capture_output=True))
                    results["fs"][who].append(mib / secs)
                    print(f"filesystem {who} run {i}: {mib / secs:.1f} MiB/s", flush=True)
                finally:
                    shutil.rmtree(target, ignore_errors=True)
                    forget_uploads(block)

        med = lambda xs: statistics.median(xs)
        print(f"\nblock: {len(files)} files, {mib:.1f} MiB; median of {a.repeat} runs, MiB/s\n")
        print("| bucket | Strata | reference | Strata / reference |\n|---|---|---|---|")
        print(f"| moto S3 (loopback) | {med(results['s3']['strata']):.1f} | boto3 {med(results['s3']['boto3']):.1f} | "
              f"{med(results['s3']['strata']) / med(results['s3']['boto3']):.2f} |")
        print(f"| FILESYSTEM on {a.copy_target} | {med(results['fs']['strata']):.1f} | shutil.copy {med(results['fs']['copy']):.1f} | "
              f"{med(results['fs']['strata']) / med(results['fs']['copy']):.2f} |")
        if a.json:
            json.dump(results, open(a.json, "w"), indent=1)
    finally:
        if moto:
            os.killpg(moto.pid, signal.SIGKILL)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
