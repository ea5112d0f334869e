#!/usr/bin/env bash
# Checks the release binary `make dist` builds: it links no Swift runtime (ldd lists only the C
# libraries of the README's apt-get line and glibc's own), and it starts, serves and stops with
# the Swift toolchain's runtime libraries hidden (an empty tmpfs mounted over them in a private
# mount namespace), as on a machine without Swift.
set -euo pipefail
bin=$(readlink -f "${1:-dist/strata}")
[ -x "$bin" ] || { echo "check-dist: no executable at $bin (run make dist)"; exit 1; }

# The libraries the binary itself names (DT_NEEDED) against the README's apt-get line
# (libsnappy1v5 libsqlite3-0 zlib1g libxml2; libxml2 for FoundationXML, which reads S3's XML) and
# glibc's own; then everything ldd resolves, transitively: nothing missing, no Swift runtime.
allowed='^(libsnappy\.so\.1|libsqlite3\.so\.0|libz\.so\.1|libxml2\.so\.2|libc\.so\.6|libm\.so\.6|libstdc\+\+\.so\.6|libgcc_s\.so\.1|ld-linux-x86-64\.so\.2|libpthread\.so\.0|libdl\.so\.2|librt\.so\.1|libutil\.so\.1)$'
fail=0
echo "check-dist: libraries $bin names (readelf -d)"
while read -r lib; do
    echo "  $lib"
    [[ "$lib" =~ $allowed ]] || { echo "check-dist: not a library of the README's apt-get line or glibc: $lib"; fail=1; }
done < <(readelf -d "$bin" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
echo "check-dist: ldd $bin"
while read -r line; do
    [ -z "$line" ] && continue
    echo "  $line"
    if [[ "$line" == *"not found"* ]]; then echo "check-dist: missing library: $line"; fail=1; fi
    if [[ "$line" =~ libswift|libFoundation|lib_Foundation|libdispatch|libBlocksRuntime|/swift/ ]]; then
        echo "check-dist: a Swift runtime library is linked: $line"; fail=1
    fi
done < <(ldd "$bin")
[ "$fail" = 0 ] || exit 1

# The Swift runtime directories of the toolchain that built it.
swift_bin=$(readlink -f "$(command -v swift)")
runtime_dirs=()
for d in "$(dirname "$(dirname "$swift_bin")")/lib/swift/linux" "$(dirname "$(dirname "$swift_bin")")/lib/swift_static/linux"; do
    [ -d "$d" ] && runtime_dirs+=("$d")
done
[ "${#runtime_dirs[@]}" -gt 0 ] || { echo "check-dist: cannot find the Swift runtime directory next to $swift_bin"; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
hide=""
for d in "${runtime_dirs[@]}"; do hide+="mount -t tmpfs none '$d' && "; done
# A run with the runtime hidden: ready, a write, a query that finds it, then a clean stop.
cat > "$work/run.sh" <<RUN
set -euo pipefail
$hide true
for d in ${runtime_dirs[*]}; do [ -z "\$(ls -A "\$d")" ] || { echo "check-dist: \$d is not hidden"; exit 1; }; done
"$bin" serve --http-address 127.0.0.1:0 --tsdb.path "$work/data" --no-shipper > "$work/log" 2>&1 &
pid=\$!
for _ in \$(seq 1 200); do
    port=\$(grep -o 'listening on 127.0.0.1:[0-9]*' "$work/log" | head -1 | cut -d: -f2 || true)
    [ -n "\$port" ] && curl -sf "http://127.0.0.1:\$port/-/ready" > /dev/null && break
    sleep 0.1
done
[ -n "\${port:-}" ] || { cat "$work/log"; echo "check-dist: the binary did not start"; exit 1; }
curl -sf "http://127.0.0.1:\$port/api/v1/query?query=vector(42)" | grep -q '"42"' || { echo "check-dist: query failed"; exit 1; }
kill -TERM \$pid
wait \$pid || { cat "$work/log"; echo "check-dist: unclean exit"; exit 1; }
grep -q "Strata stopped" "$work/log" || { cat "$work/log"; echo "check-dist: no clean stop"; exit 1; }
RUN
if ! unshare --mount --propagation private bash "$work/run.sh"; then
    echo "check-dist: FAILED with the Swift runtime hidden (${runtime_dirs[*]})"
    exit 1
fi
echo "check-dist: ok: no Swift runtime linked; started, answered and stopped with ${runtime_dirs[*]} hidden"
