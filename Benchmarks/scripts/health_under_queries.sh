#!/bin/bash
# How long /-/healthy takes while N CPU-bound queries run (each stops at its 8 s timeout).
# Shows whether queries run apart from the threads that serve requests (remote write included).
#   usage: Benchmarks/scripts/health_under_queries.sh path/to/strata N
set -euo pipefail
B=$1; N=$2; PORT=$((19300 + RANDOM % 500)); DATA=$(mktemp -d)
"$B" serve --http-address 127.0.0.1:$PORT --tsdb.path "$DATA" >"$DATA.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null; wait $SERVER 2>/dev/null; rm -rf "$DATA" "$DATA.log"' EXIT
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/-/ready" >/dev/null && break; sleep 0.1; done
# A subquery inside a subquery: 600k steps each, runs until its timeout on an empty database.
Q='query=max_over_time((max_over_time(vector(1)[10m:1ms]))[10m:1ms])'
PIDS=""
for _ in $(seq "$N"); do
    curl -s "http://127.0.0.1:$PORT/api/v1/query" --data-urlencode "$Q" --data-urlencode time=1000 \
        --data-urlencode timeout=8s >/dev/null &
    PIDS="$PIDS $!"
done
sleep 1
python3 - "$PORT" "$N" <<'PY'
import sys, time, urllib.request
port, n = sys.argv[1], sys.argv[2]
lat, end = [], time.time() + 5
while time.time() < end:
    t = time.time()
    urllib.request.urlopen(f"http://127.0.0.1:{port}/-/healthy", timeout=60).read()
    lat.append((time.time() - t) * 1000)
    time.sleep(0.05)
lat.sort()
print(f"{n} queries running: {len(lat)} health probes in 5 s, p50 {lat[len(lat) // 2]:.1f} ms, max {lat[-1]:.1f} ms")
PY
for p in $PIDS; do wait "$p"; done
