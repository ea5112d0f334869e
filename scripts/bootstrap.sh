#!/usr/bin/env bash
# Installs what a fresh Debian 12 machine with Swift lacks to build and test Strata.
# Idempotent and quick when everything is already there (one dpkg query, no network).
set -euo pipefail

# C libraries Strata links (snappy, sqlite3, zlib), pkg-config to find them, and the real
# Prometheus 2.42 + promtool the tests use as clients and oracles.
PACKAGES=(libsnappy-dev libsqlite3-dev zlib1g-dev pkg-config prometheus curl procps python3 python3-pip)

missing=()
for p in "${PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$p")
    fi
done

if ((${#missing[@]})); then
    echo "bootstrap: installing ${missing[*]}" >&2
    SUDO=""
    if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    # The Debian package enables a system Prometheus service; tests start their own.
    if command -v systemctl >/dev/null 2>&1; then $SUDO systemctl disable --now prometheus >/dev/null 2>&1 || true; fi
fi

if ! command -v swift >/dev/null 2>&1; then
    echo "bootstrap: swift is not on PATH (Swift 6.1 or newer is required)" >&2
    exit 1
fi

# moto's S3 server and boto3 (PyPI), for the S3 bucket tests: they start moto on loopback.
if ! python3 -c "import moto.server, boto3" >/dev/null 2>&1; then
    echo "bootstrap: installing moto[server] and boto3 with pip" >&2
    python3 -m pip install -q "moto[server]" boto3 2>/dev/null \
        || python3 -m pip install -q --break-system-packages "moto[server]" boto3
fi
