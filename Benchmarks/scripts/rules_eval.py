#!/usr/bin/env python3
"""Recording-rule evaluation beside Prometheus 2.42, in one run: 1,000 recording rules (10 groups
of 100) over node-exporter-like series, on the same remote-written samples.

Each server starts with an empty rule file and the lifecycle API, takes the samples
(../shared/bench/rwload.py, byte-identical bodies), and its RSS is read; then the real rule file
replaces the empty one (POST /-/reload) and, once every group has evaluated --evaluations times,
the evaluation time is read from `prometheus_rule_group_last_duration_seconds` (summed over the
groups: the CPU one round of all rules takes; median of the rounds) and RSS again. The RSS growth
is what the rules cost in memory: the rule manager, the recorded series in the head and the
queries' working memory.

    python3 ../shared/bench/rwload.py --series 100000 --samples 60 --end-margin 30 --save-bodies /tmp/rw-rules.bin
    python3 Benchmarks/scripts/rules_eval.py --bodies /tmp/rw-rules.bin \\
        --strata "$(swift build -c release --show-bin-path)/strata"

Quote ratios from one run: the machine is shared.
"""
import argparse, http.client, os, shutil, statistics, subprocess, sys, tempfile, time

sys.path.insert(0, os.path.dirname(__file__))
from compaction_peers import RWLOAD, free_port  # noqa: E402
from ingest_runs import peak_rss_mib  # noqa: E402

TEMPLATES = [
    'sum by (instance) (rate(node_cpu_seconds_total{{mode="{mode}"}}[5m])) * {i}',
    'sum by (job) (rate(node_network_receive_bytes_total[5m])) + {i}',
    'avg by (instance) (node_load1) * {i}',
    'max by (instance, device) (rate(node_disk_read_bytes_total[5m])) + {i}',
    'node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes * {i}',
    'count by (job) (node_filesystem_avail_bytes < {i}e9)',
    'sum(rate(node_context_switches_total[5m])) * {i}',
    'topk(3, rate(node_intr_total[5m])) + {i}',
    'sum by (instance) (node_filesystem_size_bytes - node_filesystem_avail_bytes) + {i}',
    'quantile by (job) (0.5, node_procs_running) + {i}',
]
MODES = ["user", "system", "idle", "iowait", "irq", "softirq", "steal", "nice"]


def rule_file(groups, per_group):
    out = ["groups:"]
    for g in range(groups):
        out += [f"  - name: bench-{g}", "    rules:"]
        for r in range(per_group):
            i = g * per_group + r
            expr = TEMPLATES[i % len(TEMPLATES)].format(i=i + 1, mode=MODES[i % len(MODES)])
            out += [f"      - record: bench:rule_{i}", f"        expr: '{expr}'"]
    return "\n".join(out) + "\n"


def request(port, method, path, body=None):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    c.request(method, path, body)
    r = c.getresponse()
    return r.status, r.read().decode()


def rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def group_durations(port):
    """(iterations, summed last duration) over the bench groups, from /metrics."""
    _, text = request(port, "GET", "/metrics")
    total, iterations = 0.0, []
    for line in text.splitlines():
        if 'rule_group="' in line and "bench-" in line:
            if line.startswith("prometheus_rule_group_last_duration_seconds{"):
                total += float(line.rsplit(" ", 1)[1])
            elif line.startswith("prometheus_rule_group_iterations_total{"):
                iterations.append(float(line.rsplit(" ", 1)[1]))
    return (min(iterations) if iterations else 0), total


def run(name, cmd, port, work, rules_text, bodies, evaluations):
    rules = os.path.join(work, f"{name}-rules.yml")
    open(rules, "w").write("groups: []\n")
    cmd = [c.format(port=port, data=os.path.join(work, name + "-data"), rules=rules) for c in cmd]
    log = open(os.path.join(work, name + ".log"), "w")
    proc = subprocess.Popen(cmd, stdout=log, stderr=log, start_new_session=True)
    try:
        for _ in range(600):
            try:
                if request(port, "GET", "/-/ready")[0] == 200:
                    break
            except OSError:
                pass
            time.sleep(0.1)
        subprocess.run([sys.executable, RWLOAD, "--load-bodies", bodies, "--url", f"http://127.0.0.1:{port}/api/v1/write"],
                       check=True, stdout=subprocess.DEVNULL)
        time.sleep(5)
        before = rss_mib(proc.pid)
        open(rules, "w").write(rules_text)
        status, body = request(port, "POST", "/-/reload")
        assert status == 200, body
        start_iterations = group_durations(port)[0]
        rounds, seen = [], start_iterations
        deadline = time.time() + 60 * evaluations + 120
        while len(rounds) < evaluations and time.time() < deadline:
            time.sleep(1)
            iterations, total = group_durations(port)
            if iterations > seen:
                seen = iterations
                rounds.append(total)
        after = rss_mib(proc.pid)
        return {"eval_s": statistics.median(rounds) if rounds else float("nan"), "rounds": len(rounds),
                "rss_before": before, "rss_after": after, "peak_rss": peak_rss_mib(proc.pid)}
    finally:
        proc.terminate()
        proc.wait(timeout=120)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bodies", required=True)
    ap.add_argument("--strata", required=True)
    ap.add_argument("--prometheus", default=shutil.which("prometheus") or "/usr/bin/prometheus")
    ap.add_argument("--groups", type=int, default=10)
    ap.add_argument("--rules-per-group", type=int, default=100)
    ap.add_argument("--interval", default="30s")
    ap.add_argument("--evaluations", type=int, default=4)
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="rules-eval-")
    text = rule_file(a.groups, a.rules_per_group)
    prom_config = os.path.join(work, "prometheus.yml")
    results = {}
    try:
        open(prom_config, "w").write(f"global:\n  evaluation_interval: {a.interval}\nrule_files: ['{work}/prometheus-rules.yml']\n")
        results["prometheus"] = run("prometheus", [a.prometheus, f"--config.file={prom_config}", "--storage.tsdb.path={data}",
                                                   "--web.listen-address=127.0.0.1:{port}", "--web.enable-remote-write-receiver",
                                                   "--web.enable-lifecycle", "--log.level=warn"],
                                    free_port(), work, text, a.bodies, a.evaluations)
        results["strata"] = run("strata", [a.strata, "serve", "--http-address", "127.0.0.1:{port}", "--tsdb.path", "{data}",
                                           "--no-shipper", "--rule-file", "{rules}", "--rules.evaluation-interval", a.interval,
                                           "--web.enable-lifecycle", "--log.level", "warning"],
                                free_port(), work, text, a.bodies, a.evaluations)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"{a.groups * a.rules_per_group} recording rules, {a.evaluations} rounds each")
    print("| server | one round of all rules, s (median) | RSS before rules MiB | RSS after MiB | growth MiB |")
    print("|---|---|---|---|---|")
    for name, r in results.items():
        print(f"| {name} | {r['eval_s']:.3f} ({r['rounds']} rounds) | {r['rss_before']:.0f} | {r['rss_after']:.0f} | {r['rss_after'] - r['rss_before']:.0f} |")
    p, s = results["prometheus"]["eval_s"], results["strata"]["eval_s"]
    print(f"Strata / Prometheus evaluation time: {s / p:.2f}")


if __name__ == "__main__":
    main()
