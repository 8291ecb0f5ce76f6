#!/usr/bin/env bash
# Registry and pull benchmarks (issue 4), on loopback, in one run, beside
# baselines measured on the same bytes:
#   1. manifest GET requests/s with wrk against arca-registry and Debian's
#      docker-registry serving the same manifest;
#   2. download of the package's blobs: curl -o /dev/null from arca-registry,
#      the durable-download limit (nginx + curl -o FILE + sync onto the same
#      disk) and `arca pull` (verification + durable install), with the pull's
#      share of the limit (target >= 80%);
#   3. N concurrent `arca pull`s of a smaller package (errors, aggregate MB/s);
#   4. peak RSS of arca-registry and of one arca pull.
#
#   bench/registry_bench.sh [--mib 1024] [--small-mib 256] [--clients 64] [--dir DIR] [--build DIR]
#
# --dir is where data lands (default /tmp, a disk: durable writes are part of
# what is measured). Installs wrk and nginx through scripts/setup.sh --bench.
set -euo pipefail
cd "$(dirname "$0")/.."
MIB=1024; SMALL=256; CLIENTS=64; DIR=/tmp; BUILD=build
while (($#)); do
  case $1 in
    --mib) MIB=$2; shift 2 ;; --small-mib) SMALL=$2; shift 2 ;; --clients) CLIENTS=$2; shift 2 ;;
    --dir) DIR=$2; shift 2 ;; --build) BUILD=$2; shift 2 ;; *) sed -n '2,16p' "$0"; exit 2 ;;
  esac
done
scripts/setup.sh --bench
cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$BUILD" --target arca arca-registry arca-make-model >/dev/null
ARCA=$(realpath "$BUILD/client/arca"); REG=$(realpath "$BUILD/registry-server/arca-registry")
W=$(mktemp -d "$DIR/arca-regbench.XXXXXX")
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null; rm -rf "$W"; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 200); do (echo >/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0; sleep 0.05; done; return 1; }
now() { date +%s.%N; }
mbps() { python3 -c "print(f'{$1/($2)/1e6:.0f}')"; }
export HOME=$W/home; mkdir -p "$HOME"

echo "== preparing: ${MIB} MiB and ${SMALL} MiB sealed, signed packages" >&2
"$ARCA" key new -o "$W/a.key" >/dev/null && "$ARCA" key pub "$W/a.key" >"$W/a.pub"
"$ARCA" root init acme --key "$W/a.pub" --threshold 1 --sign "$W/a.key" -o "$W/root.json" >/dev/null
"$ARCA" lineage-key new -o "$W/lk" >/dev/null
for size in "$MIB" "$SMALL"; do
  "$BUILD/bench/arca-make-model" "$W/model$size" --mib "$size" --seed "$size" >/dev/null
  "$ARCA" seal "$W/model$size" -o "$W/pkg$size" --name acme/m$size --version 1 --lineage-key "$W/lk" --sign "$W/a.key" >/dev/null
  rm -rf "$W/model$size"
done
PKG_BYTES=$(du -sb "$W/pkg$MIB/blobs" | cut -f1)

PORT=$(free_port)
"$REG" namespace add acme --root "$W/root.json" --data "$W/var" 2>/dev/null
"$REG" serve --data "$W/var" --listen "127.0.0.1:$PORT" --quiet --threads 96 2>"$W/reg.log" &
REG_PID=$!; PIDS+=("$REG_PID")
wait_port "$PORT" || { cat "$W/reg.log"; exit 1; }
TOKEN=$("$REG" token create --namespace acme --scope push,pull --data "$W/var" 2>/dev/null | tail -1)
"$ARCA" login "127.0.0.1:$PORT" --token "$TOKEN" >/dev/null
"$ARCA" trust add acme "$W/root.json" >/dev/null
for size in "$MIB" "$SMALL"; do
  "$ARCA" push "$W/pkg$size" "127.0.0.1:$PORT/acme/m$size:1" >/dev/null
done

# 1. manifest GET rate, same manifest bytes from both registries.
DPORT=$(free_port)
cat >"$W/dreg.yml" <<YML
version: 0.1
log: { level: error }
storage: { filesystem: { rootdirectory: $W/dreg } }
http: { addr: 127.0.0.1:$DPORT }
YML
docker-registry serve "$W/dreg.yml" >"$W/dreg.log" 2>&1 &
PIDS+=($!)
wait_port "$DPORT"
skopeo --registries-conf /dev/null copy --dest-tls-verify=false "oci:$W/pkg$SMALL:1" "docker://127.0.0.1:$DPORT/acme/m:1" >/dev/null 2>&1
ACCEPT="Accept: application/vnd.oci.image.manifest.v1+json"
wrk_rate() { wrk -t2 -c32 -d8s "$@" | awk '/Requests\/sec/ {print int($2)}'; }
ARCA_RPS=$(wrk_rate -H "$ACCEPT" -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$PORT/v2/acme/m$SMALL/manifests/1")
DREG_RPS=$(wrk_rate -H "$ACCEPT" "http://127.0.0.1:$DPORT/v2/acme/m/manifests/1")

# 2. downloads of the big package's blobs.
mapfile -t DIGESTS < <(python3 - "$W/pkg$MIB" <<'PY'
import json, sys
d = sys.argv[1]
idx = json.load(open(d + "/index.json"))
m = json.load(open(d + "/blobs/sha256/" + idx["manifests"][0]["digest"][7:]))
for desc in [m["config"]] + m["layers"]:
    print(desc["digest"])
PY
)
args=(); for d in "${DIGESTS[@]}"; do args+=(-o /dev/null "http://127.0.0.1:$PORT/v2/acme/m$MIB/blobs/$d"); done
sync; t0=$(now); curl -s -H "Authorization: Bearer $TOKEN" "${args[@]}"; t1=$(now)
CURL_NULL=$(mbps "$PKG_BYTES" "$t1-$t0")

NPORT=$(free_port)
mkdir -p "$W/nginx/logs"
cat >"$W/nginx/nginx.conf" <<CONF
user root;
worker_processes 2;
pid $W/nginx/nginx.pid;
error_log $W/nginx/logs/error.log;
events { worker_connections 1024; }
http {
  access_log off; sendfile on; tcp_nopush on;
  server { listen 127.0.0.1:$NPORT; root $W/pkg$MIB; }
}
CONF
nginx -c "$W/nginx/nginx.conf" -p "$W/nginx" -g 'daemon off;' &
PIDS+=($!)
wait_port "$NPORT"
mkdir -p "$W/durable"
args=(); for d in "${DIGESTS[@]}"; do args+=(-o "$W/durable/${d#sha256:}" "http://127.0.0.1:$NPORT/blobs/sha256/${d#sha256:}"); done
sync; t0=$(now); curl -s "${args[@]}"; sync; t1=$(now)
LIMIT=$(mbps "$PKG_BYTES" "$t1-$t0")
rm -rf "$W/durable"

sync
/usr/bin/time -f "%e %M" -o "$W/pull.time" "$ARCA" pull "127.0.0.1:$PORT/acme/m$MIB:1" --store "$W/store" --json >"$W/pull.json"
read -r PULL_S PULL_RSS <"$W/pull.time"
PULL=$(mbps "$PKG_BYTES" "$PULL_S")

# 3. concurrent pulls of the small package, each into its own store.
SMALL_BYTES=$(du -sb "$W/pkg$SMALL/blobs" | cut -f1)
sync; t0=$(now); errors=0; pids=()
for i in $(seq "$CLIENTS"); do
  "$ARCA" pull "127.0.0.1:$PORT/acme/m$SMALL:1" --store "$W/cstore$i" >/dev/null 2>"$W/c$i.err" & pids+=($!)
done
for p in "${pids[@]}"; do wait "$p" || errors=$((errors + 1)); done
t1=$(now)
AGG=$(mbps "$((SMALL_BYTES * CLIENTS))" "$t1-$t0")
REG_RSS=$(awk '/VmHWM/ {print $2}' "/proc/$REG_PID/status")
rm -rf "$W"/cstore*

printf '\n%-58s %10s\n' "registry bench ($(date -u +%F), $(nproc) cores, data in $DIR)" ""
printf '%-58s %10s\n' "manifest GET req/s, arca-registry (wrk -t2 -c32)" "$ARCA_RPS"
printf '%-58s %10s\n' "manifest GET req/s, docker-registry (same manifest)" "$DREG_RPS"
printf '%-58s %10s\n' "${MIB} MiB package, curl -o /dev/null from arca-registry MB/s" "$CURL_NULL"
printf '%-58s %10s\n' "durable limit: nginx + curl -o FILE + sync, MB/s" "$LIMIT"
printf '%-58s %10s\n' "arca pull (verify + durable install) MB/s" "$PULL"
printf '%-58s %9s%%\n' "arca pull / durable limit (target >= 80%)" "$(python3 -c "print(round(100*$PULL/$LIMIT))")"
printf '%-58s %10s\n' "$CLIENTS concurrent pulls of ${SMALL} MiB: errors" "$errors"
printf '%-58s %10s\n' "$CLIENTS concurrent pulls: aggregate MB/s" "$AGG"
printf '%-58s %10s\n' "peak RSS arca-registry MiB" "$((REG_RSS / 1024))"
printf '%-58s %10s\n' "peak RSS arca pull (${MIB} MiB package) MiB" "$((PULL_RSS / 1024))"
