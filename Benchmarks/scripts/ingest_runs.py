"""Shared by the ingest comparisons (tls_ingest.py, tenants_ingest.py): one fresh `strata serve`
per run, waited on until ready, and runs of each configuration interleaved with medians taken."""
import os, statistics, time


def cpu_seconds(pid):
    """User + system CPU of a process so far (from /proc)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peak_rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def wait_ready(probe, proc, log_path, timeout=60):
    """Calls `probe()` (True once the server answers /-/ready with 200) until it succeeds."""
    end = time.time() + timeout
    while True:
        try:
            if probe():
                return
        except OSError:
            pass
        if time.time() > end or proc.poll() is not None:
            raise RuntimeError(f"strata not ready: {open(log_path).read()}")
        time.sleep(0.1)


def interleaved_medians(configs, repeat, run, describe):
    """Runs `run(config)` for each of `configs` (name -> config) in turn, `repeat` times over,
    printing `describe(result)` after each; returns name -> per-field medians."""
    results = {name: [] for name in configs}
    for _ in range(repeat):
        for name, config in configs.items():
            results[name].append(run(config))
            print(name, describe(results[name][-1]), flush=True)
    return {k: [statistics.median(r[i] for r in v) for i in range(len(v[0]))] for k, v in results.items()}
