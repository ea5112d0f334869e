#!/usr/bin/env bash
# Builds the libFuzzer harnesses (Fuzz/Sources/StrataFuzz) and runs each one from a scratch copy
# of its seed corpus, so new corpus entries never land in the committed Fuzz/Corpus. `make fuzz`
# calls this; docs/fuzzing.md explains it.
#
#   FUZZ_SECONDS=60       time per harness (libFuzzer -max_total_time)
#   FUZZ_RUNS=            executions per harness instead (-runs), e.g. 1000000
#   FUZZ_HARNESSES="…"    which harnesses (default: all)
#   FUZZ_WORK=Fuzz/.work  scratch: <harness>/corpus, <harness>/artifacts (crashes), <harness>/log
#   SWIFT=swift           e.g. SWIFT="flock /tmp/swift-build.lock swift"
#   FUZZ_NO_BUILD=1       run the binary already built
set -uo pipefail
cd "$(dirname "$0")"

SWIFT=${SWIFT:-swift}
FUZZ_SECONDS=${FUZZ_SECONDS:-60}
FUZZ_RUNS=${FUZZ_RUNS:-}
FUZZ_HARNESSES=${FUZZ_HARNESSES:-"remote-write snappy promql wal index chunks objstore-config web-config limits-config rule-file alert-template"}
FUZZ_WORK=${FUZZ_WORK:-.work}
FUZZ_EXTRA=${FUZZ_EXTRA:-}

# The sanitizer reaches every module (Strata's and its dependencies', Swift and C): SwiftPM's
# --sanitize flags instrument C targets and let libFuzzer's main link, and -Xswiftc adds both
# sanitizers to every Swift compile (the driver keeps only the last -sanitize= it is given, so
# --sanitize=fuzzer --sanitize=address alone would leave Swift code without ASan).
BUILD_FLAGS=(-c release --product StrataFuzz --sanitize=fuzzer --sanitize=address -Xswiftc -sanitize=fuzzer,address)

if [ -z "${FUZZ_NO_BUILD:-}" ]; then $SWIFT build "${BUILD_FLAGS[@]}" || exit 1; fi
BIN="$($SWIFT build "${BUILD_FLAGS[@]}" --show-bin-path)/StrataFuzz"

# Longest input libFuzzer makes: a WAL segment must be able to cross a 32 KiB page.
max_len() {
    case "$1" in
        wal) echo 65536 ;;
        index) echo 16384 ;;
        *) echo 4096 ;;
    esac
}

# Keywords libFuzzer splices into text inputs.
dict_flag() {
    case "$1" in
        promql) echo "-dict=Dictionaries/promql.dict" ;;
        objstore-config|web-config|limits-config|rule-file) echo "-dict=Dictionaries/yaml.dict" ;;
        alert-template) echo "-dict=Dictionaries/template.dict" ;;
    esac
}

if [ -n "$FUZZ_RUNS" ]; then LIMIT=(-runs="$FUZZ_RUNS"); else LIMIT=(-max_total_time="$FUZZ_SECONDS"); fi

failed=""
printf '%-16s %12s %8s %8s %8s %s\n' harness executions seconds exec/s rss_mb crashes
for h in $FUZZ_HARNESSES; do
    dir="$FUZZ_WORK/$h"
    rm -rf "$dir"
    mkdir -p "$dir/corpus" "$dir/artifacts"
    cp Corpus/"$h"/* "$dir/corpus/"
    start=$(date +%s)
    # SWIFT_BACKTRACE=enable=no: a trap goes straight to libFuzzer's handler (the Swift runtime's
    # backtracer would symbolicate for a long time first). -timeout: an input that takes 10 s is
    # a finding; -rss_limit_mb (and the malloc limit, which follows it) bounds memory.
    STRATA_FUZZ_HARNESS="$h" SWIFT_BACKTRACE=enable=no "$BIN" "$dir/corpus" \
        "${LIMIT[@]}" -max_len="$(max_len "$h")" -timeout=10 -rss_limit_mb=2048 \
        -artifact_prefix="$dir/artifacts/" -print_final_stats=1 $(dict_flag "$h") $FUZZ_EXTRA > "$dir/log" 2>&1
    rc=$?
    secs=$(( $(date +%s) - start ))
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$dir/log" | tail -1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$dir/log" | tail -1)
    rss=$(sed -n 's/^stat::peak_rss_mb: *//p' "$dir/log" | tail -1)
    crashes=$(find "$dir/artifacts" -type f | wc -l)
    printf '%-16s %12s %8s %8s %8s %s\n' "$h" "${runs:-?}" "$secs" "${rate:-?}" "${rss:-?}" "$crashes"
    if [ "$rc" -ne 0 ] || [ "$crashes" -ne 0 ]; then
        failed="$failed $h"
        grep -m1 -E "^==[0-9]+==ERROR|Fatal error|SUMMARY" "$dir/log" | sed 's/^/    /'
        find "$dir/artifacts" -type f | sed 's/^/    artifact: /'
    fi
done

if [ -n "$failed" ]; then
    echo "findings in:$failed (logs and inputs under Fuzz/$FUZZ_WORK)"
    exit 1
fi
