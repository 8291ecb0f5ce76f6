#!/usr/bin/env bash
# Installs what Arca needs from Debian 12 packages, only if something is
# missing. Usage: scripts/setup.sh [--test] [--bench]
#   --test adds the test tools, --bench the baselines bench/ measures against.
set -euo pipefail

BUILD_PKGS=(
  build-essential cmake ninja-build pkg-config python3
  libssl-dev libzstd-dev nlohmann-json3-dev libcli11-dev
  libcurl4-openssl-dev libgit2-dev libsqlite3-dev libarchive-dev libcpp-httplib-dev
  libp11-kit-dev
)
TEST_PKGS=(
  libgtest-dev libgmock-dev libbenchmark-dev
  clang libclang-rt-14-dev          # sanitizer and libFuzzer builds
  skopeo docker-registry zstd       # real OCI tools for interop tests
  softhsm2                          # a real PKCS#11 token for signer tests
  swtpm swtpm-tools tpm2-tools      # a real TPM 2.0 for the runtime's --tee tpm tests
  nodejs npm                        # @sigstore/verify, onnxruntime-node + the Silero VAD model (tests/interop, npm ci below)
  python3-securesystemslib          # an independent DSSE verifier (tests/interop)
  python3-jsonschema                # CycloneDX / SPDX schema validation of arca audit --export (tests/interop)
)

BENCH_PKGS=(
  wrk nginx-light                   # bench/registry_bench.sh: request rates, the durable-download limit
  xdelta3 rsync                     # bench/delta_bench.sh: update-size baselines (zstd is a build dependency)
)

pkgs=("${BUILD_PKGS[@]}")
test_tools=0
for arg in "$@"; do
  case $arg in
    --test) pkgs+=("${TEST_PKGS[@]}"); test_tools=1 ;;
    --bench) pkgs+=("${TEST_PKGS[@]}" "${BENCH_PKGS[@]}"); test_tools=1 ;;
    *) echo "setup: unknown option $arg (use --test or --bench)" >&2; exit 2 ;;
  esac
done

# A package counts as present when installed or provided by an installed one
# (a NodeSource nodejs provides, and conflicts with, Debian's npm).
provided=" $(dpkg-query -W -f='${db:Status-Abbrev} ${Provides}\n' 2>/dev/null | awk '$1 == "ii" { $1 = ""; print }' |
  tr ',' ' ' | sed -E 's/\([^)]*\)//g' | tr -s ' \n' ' ') "
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || [[ $provided == *" $p "* ]] ||
    missing+=("$p")
done
if ((${#missing[@]} > 0)); then
  echo "setup: installing ${missing[*]}" >&2
  SUDO=""
  if [[ $(id -u) != 0 ]]; then
    command -v sudo >/dev/null || { echo "setup: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
    SUDO=sudo
  fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# npm test tools: tests/interop/package-lock.json, installed only when
# node_modules is missing or was installed from another lock file.
if ((test_tools)); then
  interop="$(cd "$(dirname "$0")/.." && pwd)/tests/interop"
  stamp="$interop/node_modules/.arca-lock-sha256"
  want=$(sha256sum "$interop/package-lock.json" | cut -d' ' -f1)
  if [[ ! -f $stamp || $(cat "$stamp") != "$want" ]]; then
    echo "setup: npm ci in tests/interop" >&2
    (cd "$interop" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null) || exit 1
    echo "$want" >"$stamp"
  fi
fi
