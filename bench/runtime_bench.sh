#!/usr/bin/env bash
# Runtime benchmarks (issue 7, "Performance"), in one run, beside baselines
# measured on the same bytes:
#   1. key release round trip on loopback with simulated SEV-SNP evidence:
#      p50/p99/max over N exchanges against a real `arca-keybroker serve
#      --allow-sim` on 127.0.0.1 (bench/key_release_bench.cc), split into
#      challenge, evidence collection, the broker's release call and the HPKE
#      open, beside GET /healthz (one loopback HTTP request); then the same
#      against a second broker whose database is on tmpfs;
#   2. secure cold load of the same sealed model from the local store into
#      sealed memfds: key release + decrypt + verify
#      (`runtime_load_bench PKG --broker URL`, best of --runs), beside `cat`
#      and `openssl dgst -sha256` of the same pack bytes, alternating; and one
#      `arca-runtime serve` of the same package, reading its "decrypted and
#      verified ... MB/s" line and the wall time from its start to that line.
#
#   bench/runtime_bench.sh [--mib 1024] [--n 200] [--runs 3] [--dir DIR] [--kb-dir DIR] [--build DIR]
#
# --mib 4096 is the issue's 4 GiB model (1 GiB by default: a run stays near
# three minutes on the shared 2-core VM). --dir defaults to /dev/shm (tmpfs),
# as format_bench.sh: the store's bytes are in memory, as they are in the page
# cache of a host that just pulled them; a load from a cold disk adds the
# disk's read time. --kb-dir is where the broker's database lives, default
# /tmp (this VM's disk): the broker records every release with
# synchronous=FULL before answering, so its fsyncs are part of the round trip.
set -euo pipefail
cd "$(dirname "$0")/.."
MIB=1024; N=200; RUNS=3; DIR=/dev/shm; KBDIR=/tmp; BUILD=build
while (($#)); do
  case $1 in
    --mib) MIB=$2; shift 2 ;; --n) N=$2; shift 2 ;; --runs) RUNS=$2; shift 2 ;;
    --dir) DIR=$2; shift 2 ;; --kb-dir) KBDIR=$2; shift 2 ;; --build) BUILD=$2; shift 2 ;;
    *) sed -n '2,25p' "$0"; exit 2 ;;
  esac
done
cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DARCA_BENCH=ON >/dev/null
cmake --build "$BUILD" -j2 --target arca arca-keybroker arca-runtime arca-make-model runtime_load_bench key_release_bench >/dev/null
ARCA=$(realpath "$BUILD/client/arca"); KB=$(realpath "$BUILD/registry-server/arca-keybroker")
RT=$(realpath "$BUILD/runtime/arca-runtime"); KRB=$(realpath "$BUILD/bench/key_release_bench")
LOAD=$(realpath "$BUILD/bench/runtime_load_bench")
W=$(mktemp -d "$DIR/arca-rtbench.XXXXXX"); KBD=$(mktemp -d "$KBDIR/arca-rtbench-kb.XXXXXX")
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null; rm -rf "$W" "$KBD"; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 200); do (echo >/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0; sleep 0.05; done; return 1; }
load_avg() { cut -d' ' -f1-3 /proc/loadavg; }
export HOME=$W/home; mkdir -p "$HOME"

echo "== preparing: a ${MIB} MiB sealed, signed package with a policy allowing the simulated runtime" >&2
"$ARCA" key new -o "$W/a.key" >/dev/null && "$ARCA" key pub "$W/a.key" >"$W/a.pub"
"$ARCA" root init acme --key "$W/a.pub" --threshold 1 --sign "$W/a.key" -o "$W/root.json" >/dev/null
"$ARCA" lineage-key new -o "$W/lk" >/dev/null
"$BUILD/bench/arca-make-model" "$W/model" --mib "$MIB" --seed 7 >/dev/null
PLAIN=$(du -sb "$W/model" | cut -f1)
"$ARCA" seal "$W/model" -o "$W/pkg" --name acme/m --version 1 --lineage-key "$W/lk" --sign "$W/a.key" >/dev/null
rm -rf "$W/model"  # memory: the loads below hold the plaintext in memfds
# The simulated TEE reports SHA-384 of the running executable: allow the
# runtime's and the two benchmark programs' (each collects its own evidence).
"$ARCA" policy new "$W/pkg" -o "$W/policy.json" >/dev/null
for m in "$("$RT" measurement --tee sim-snp)" "$(sha384sum "$KRB" | cut -c1-96)" "$(sha384sum "$LOAD" | cut -c1-96)"; do
  "$ARCA" policy allow "$W/policy.json" --platform sev-snp --measurement "$m" >/dev/null
done
"$ARCA" policy sign "$W/policy.json" --key "$W/a.key" >/dev/null
"$ARCA" policy attach "$W/pkg" "$W/policy.json" >/dev/null
"$KB" register "$W/pkg" --lineage-key "$W/lk" --root "$W/root.json" --data "$KBD" >/dev/null
KP=$(free_port)
"$KB" serve --data "$KBD" --listen "127.0.0.1:$KP" --allow-sim 2>"$W/kb.log" & KB1=$!; PIDS+=($KB1)
wait_port "$KP" || { cat "$W/kb.log"; exit 1; }
# A second broker with its database in memory (tmpfs): the difference is
# what the release log's fsyncs cost.
"$KB" register "$W/pkg" --lineage-key "$W/lk" --root "$W/root.json" --data "$W/kb-mem" >/dev/null
KP2=$(free_port)
"$KB" serve --data "$W/kb-mem" --listen "127.0.0.1:$KP2" --allow-sim 2>"$W/kb-mem.log" & KB2=$!; PIDS+=($KB2)
wait_port "$KP2" || { cat "$W/kb-mem.log"; exit 1; }
PACKS=$(python3 - "$W/pkg" <<'PY'
import json, os, sys
# The pack blobs: every layer of the image manifest bigger than 64 KiB
# (the manifest, config and attachments are small).
root = sys.argv[1]
blobs = os.path.join(root, "blobs", "sha256")
print(" ".join(os.path.join(blobs, f) for f in sorted(os.listdir(blobs)) if os.path.getsize(os.path.join(blobs, f)) > 65536))
PY
)
STORED=$(du -cb $PACKS | tail -1 | cut -f1)
REF=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["manifests"][0]["annotations"]["org.opencontainers.image.ref.name"])' "$W/pkg/index.json")

echo "== 1. key release: $N exchanges (load average $(load_avg))" >&2
# broker_cpu PID: its user+sys CPU seconds so far (/proc/PID/stat fields 14, 15).
broker_cpu() { awk -v hz="$(getconf CLK_TCK)" '{print ($14 + $15) / hz}' "/proc/$1/stat"; }
# Each iteration of key_release_bench makes two exchanges (and one /healthz).
per_exchange_ms() { python3 -c "print(f'{($2 - $1) * 1e3 / (2 * $N):.2f}')"; }
LA1=$(load_avg); C0=$(broker_cpu "$KB1")
"$KRB" "http://127.0.0.1:$KP" "$W/pkg" "$N" >"$W/krb.out"
KBCPU1=$(per_exchange_ms "$C0" "$(broker_cpu "$KB1")")
LA1B=$(load_avg); C0=$(broker_cpu "$KB2")
"$KRB" "http://127.0.0.1:$KP2" "$W/pkg" "$N" >"$W/krb-mem.out"
KBCPU2=$(per_exchange_ms "$C0" "$(broker_cpu "$KB2")")

echo "== 2. cold load, best of $RUNS, alternating with cat and openssl (load average $(load_avg))" >&2
LA2=$(load_avg)
cat $PACKS >/dev/null  # the store's bytes are in memory (tmpfs or page cache) for every row
declare -A BEST CPU
keep() {  # keep NAME WALL CPU: the best wall time and its CPU seconds
  if [[ -z ${BEST[$1]:-} ]] || python3 -c "import sys; sys.exit(0 if $2 < ${BEST[$1]} else 1)"; then BEST[$1]=$2; CPU[$1]=$3; fi
}
for r in $(seq "$RUNS"); do
  /usr/bin/time -f "%e %U %S" -o "$W/t" bash -c "cat $PACKS > /dev/null"
  read -r w u s <"$W/t"; keep cat "$w" "$(python3 -c "print($u+$s)")"
  /usr/bin/time -f "%e %U %S" -o "$W/t" openssl dgst -sha256 $PACKS >/dev/null
  read -r w u s <"$W/t"; keep sha "$w" "$(python3 -c "print($u+$s)")"
  "$LOAD" "$W/pkg" --broker "http://127.0.0.1:$KP" >"$W/load.out" 2>"$W/load.err" || { cat "$W/load.err"; exit 1; }
  # "<bytes> bytes <wall> s <MB/s> MB/s <cpu> cpu-s (seal and remap <s> s) locked=<y/n> key-release <s> s (<n> keys)"
  w=$(awk '{print $3}' "$W/load.out"); c=$(awk '{print $7}' "$W/load.out")
  keep load "$w" "$c"
  if [[ ${BEST[load]} == "$w" ]]; then
    KR=$(sed -E 's/.*key-release ([0-9.]+) s.*/\1/' "$W/load.out"); KEYS=$(sed -E 's/.*\(([0-9]+) keys\).*/\1/' "$W/load.out")
    LOCKED=$(grep -o 'locked=[a-z]*' "$W/load.out" | cut -d= -f2)
  fi
done

echo "== 3. arca-runtime serve of the same package (load average $(load_avg))" >&2
cat >"$W/engine.py" <<'PY'
import http.server, sys
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[2])), http.server.BaseHTTPRequestHandler).serve_forever()
PY
SP=$(free_port)
T0=$(date +%s.%N)
"$RT" serve "$REF" --store "$W/pkg" --broker "http://127.0.0.1:$KP" --tee sim-snp \
  --engine "python3 $W/engine.py {model} {port}" --listen "127.0.0.1:$SP" 2>"$W/rt.log" & RT_PID=$!; PIDS+=($RT_PID)
SERVE_LINE=""
for _ in $(seq 6000); do
  if SERVE_LINE=$(grep -m1 "decrypted and verified" "$W/rt.log"); then T1=$(date +%s.%N); break; fi
  kill -0 "$RT_PID" 2>/dev/null || { cat "$W/rt.log"; exit 1; }
  sleep 0.01
done
[[ -n $SERVE_LINE ]] || { echo "arca-runtime serve did not load the model"; cat "$W/rt.log"; exit 1; }
kill "$RT_PID"; wait "$RT_PID" 2>/dev/null || true
SERVE_WALL=$(python3 -c "print(f'{$T1 - $T0:.2f}')")
SERVE_RATE=$(sed -E 's/.*\(([0-9]+) MB\/s\).*/\1/' <<<"$SERVE_LINE")

echo
echo "runtime bench: $(python3 -c "print(f'{$PLAIN/2**30:.2f}')") GiB model (bf16 N(0,0.02)), $(python3 -c "print(f'{$STORED/2**30:.2f}')") GiB of packs in $DIR, $(nproc) cores, $(date -u '+%F %H:%M UTC'), commit $(git rev-parse --short HEAD)"
echo
echo "1. key release round trip, sim-snp, loopback, broker database in $KBDIR (load average $LA1)"
cat "$W/krb.out"
echo "broker CPU time per exchange (challenge + release, mean): $KBCPU1 ms"
echo "the same against a broker whose database is on tmpfs (no fsync cost; load average $LA1B):"
tail -n +2 "$W/krb-mem.out"
echo "broker CPU time per exchange (challenge + release, mean): $KBCPU2 ms"
echo "target: round trip p99 < 20 ms"
echo
echo "2. secure cold load, best of $RUNS (load average $LA2)"
GIB=$(python3 -c "print($PLAIN/2**30)")
printf '%-44s %8s %10s %10s %11s\n' "what" "wall s" "model GB/s" "packs GB/s" "CPU s/GiB"
row() { printf '%-44s %8s %10s %10s %11s\n' "$1" "$2" "$3" "$(python3 -c "print(f'{$STORED/1e9/$2:.2f}')")" "$4"; }
row "cat packs > /dev/null" "${BEST[cat]}" "" "$(python3 -c "print(f'{${CPU[cat]}/$GIB:.2f}')")"
row "openssl dgst -sha256 packs (1 core)" "${BEST[sha]}" "" "$(python3 -c "print(f'{${CPU[sha]}/$GIB:.2f}')")"
row "key release + decrypt + verify (memfd)" "${BEST[load]}" "$(python3 -c "print(f'{$PLAIN/1e9/${BEST[load]}:.2f}')")" \
  "$(python3 -c "print(f'{${CPU[load]}/$GIB:.2f}')")"
echo "  of which key release: ${KR} s for ${KEYS} chunk keys; memfds locked: ${LOCKED}"
echo "arca-runtime serve: start to \"decrypted and verified\" ${SERVE_WALL} s ($(python3 -c "print(f'{$PLAIN/1e9/$SERVE_WALL:.2f}')") GB/s of model); its line: ${SERVE_LINE#arca-runtime: }"
echo "target: >= 1.2 GB/s of model on 2 cores"
