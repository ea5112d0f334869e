#!/usr/bin/env bash
# Installs what a fresh Debian 12 machine with Swift lacks to build and test Strata.
# Idempotent and quick when everything is already there (one dpkg query, no network).
set -euo pipefail

# What building and running Strata needs: the C libraries it links (snappy, sqlite3, zlib) and
# pkg-config to find them. `--build-only` (used by `make run`) stops there: running Strata does
# not need the test tools below, and must not install a system Prometheus service as a side effect.
PACKAGES=(libsnappy-dev libsqlite3-dev zlib1g-dev pkg-config)
BUILD_ONLY=false
if [ "${1:-}" = "--build-only" ]; then BUILD_ONLY=true; fi
# `--bench` adds the peers ../shared/bench/run_peers.py runs beside Strata: VictoriaMetrics 1.79
# (Prometheus is installed for the tests anyway). The tests never need it.
if [ "${1:-}" = "--bench" ]; then PACKAGES+=(victoria-metrics); fi
# The tests' clients and oracles: the real Prometheus 2.42 + promtool, Alertmanager (alerts are
# sent to a real one), curl, and openssl and Apache's htpasswd (certificates and bcrypt hashes
# for the TLS and basic-auth tests), systemd for `systemd-analyze verify` of dist/strata.service,
# and Chromium with its WebDriver (the web UI's tests run in a real headless browser).
if ! $BUILD_ONLY; then
    PACKAGES+=(prometheus prometheus-alertmanager curl procps python3 python3-pip apache2-utils openssl systemd chromium chromium-driver)
fi

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
    # The Debian packages enable system Prometheus and Alertmanager services; tests start their own.
    if command -v systemctl >/dev/null 2>&1; then
        $SUDO systemctl disable --now prometheus prometheus-alertmanager >/dev/null 2>&1 || true
    fi
fi

if ! command -v swift >/dev/null 2>&1; then
    echo "bootstrap: swift is not on PATH (Swift 6.1 or newer is required)" >&2
    exit 1
fi
if $BUILD_ONLY; then exit 0; fi

# Test servers and oracles from PyPI: moto's S3 server and boto3 (the S3 bucket tests),
# gcp-storage-emulator (the GCS bucket tests) and Microsoft's azure-storage-blob (its Shared Key
# signatures are the Azure tests' oracle), bcrypt (a second source of hashes for basic auth) and
# logfmt (an independent parser for --log.format=logfmt lines), numpy and python-snappy
# (../shared/bench/rwload.py, the load generator's reference, and the throttled receiver), and
# selenium (drives Chromium in the web UI's tests). The tests start the servers on loopback.
if ! python3 -c "import moto.server, boto3, gcp_storage_emulator, azure.storage.blob, bcrypt, logfmt, numpy, snappy, selenium" >/dev/null 2>&1; then
    echo "bootstrap: installing moto[server], boto3, gcp-storage-emulator, azure-storage-blob, bcrypt, logfmt, numpy, python-snappy and selenium with pip" >&2
    PIP_PACKAGES=("moto[server]" boto3 gcp-storage-emulator azure-storage-blob bcrypt logfmt numpy python-snappy selenium)
    python3 -m pip install -q "${PIP_PACKAGES[@]}" 2>/dev/null \
        || python3 -m pip install -q --break-system-packages "${PIP_PACKAGES[@]}"
fi
