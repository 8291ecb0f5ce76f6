#!/usr/bin/env bash
# Update cost: bytes `arca pull` transfers for v2 with v1 installed, as a
# fraction of v2's plaintext, beside baselines on the same files in the same
# run: zstd --patch-from -3 --long=31, xdelta3 -e -B, rsync --no-whole-file
# literal bytes, and a plain full download (zstd -3 of v2, and arca's own full
# pull of v2 into an empty store: "fresh"). Three fine-tunes of a synthetic bf16 model (N(0, 0.02)):
#   a) partial: 5% of the tensor bytes rewritten
#   b) dense:   every weight += N(0, 0.0005), rounded to bf16
#   c) grow:    10% new tensors appended, 5% removed
# Also: time to seal v2 (--parent v1), and time to open v2 (v1's chunks +
# deltas, the decode path the runtime uses) beside opening v1.
#
#   bench/delta_bench.sh [--mib 256] [--dir /dev/shm] [--build build]
set -euo pipefail
cd "$(dirname "$0")/.."
MIB=256; DIR=/dev/shm; BUILD=build
while (($#)); do
  case $1 in
    --mib) MIB=$2; shift 2 ;; --dir) DIR=$2; shift 2 ;; --build) BUILD=$2; shift 2 ;;
    *) sed -n '2,13p' "$0"; exit 2 ;;
  esac
done
for t in zstd xdelta3 rsync; do command -v $t >/dev/null || { echo "missing $t (scripts/setup.sh --bench)"; exit 1; }; done
cmake --build "$BUILD" --target arca arca-registry arca-make-model >/dev/null
ARCA=$BUILD/client/arca; REG=$BUILD/registry-server/arca-registry; MM=$BUILD/bench/arca-make-model
[[ -x $REG ]] || REG=$(find "$BUILD" -name arca-registry -type f -perm -u+x | head -1)
W=$(mktemp -d "$DIR/arca-delta-bench.XXXXXX")
REG_PID=""
cleanup() { [[ -n $REG_PID ]] && kill "$REG_PID" 2>/dev/null; wait 2>/dev/null; rm -rf "$W"; }
trap cleanup EXIT
export HOME=$W/home; mkdir -p "$HOME"

"$MM" "$W/v1" --mib "$MIB" --seed 1 >/dev/null
"$MM" "$W/a" --mib "$MIB" --seed 1 --partial 0.05 --variant-seed 2 >/dev/null
"$MM" "$W/b" --mib "$MIB" --seed 1 --dense 0.0005 --variant-seed 3 >/dev/null
"$MM" "$W/c" --mib "$MIB" --seed 1 --grow 0.10 --shrink 0.05 --variant-seed 4 >/dev/null
"$ARCA" key new -o "$W/a.key" >/dev/null && "$ARCA" key pub "$W/a.key" >"$W/a.pub"
"$ARCA" root init acme --key "$W/a.pub" --threshold 1 --sign "$W/a.key" -o "$W/root.json" >/dev/null
"$ARCA" lineage-key new -o "$W/lk" >/dev/null

secs() { /usr/bin/time -f "%e" -o "$W/t" "$@" >/dev/null 2>"$W/err" || { cat "$W/err"; exit 1; }; cat "$W/t"; }
declare -A SEAL OPEN
SEAL[v1]=$(secs "$ARCA" seal "$W/v1" -o "$W/p-v1" --name acme/m --version 1 --lineage-key "$W/lk" --sign "$W/a.key")
for s in a b c; do
  SEAL[$s]=$(secs "$ARCA" seal "$W/$s" -o "$W/p-$s" --name acme/m --version "2$s" --lineage-key "$W/lk" --sign "$W/a.key" --parent "$W/p-v1")
done
for s in v1 a b c; do
  OPEN[$s]=$(secs "$ARCA" open "$W/p-$s" --lineage-key "$W/lk" -o "$W/o-$s")
  src=$W/$s
  cmp -s "$src/model.safetensors" "$W/o-$s/model.safetensors" || { echo "open of $s is not bit-exact"; exit 1; }
  rm -rf "$W/o-$s"
done

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$REG" namespace add acme --root "$W/root.json" --data "$W/var" 2>/dev/null
"$REG" serve --data "$W/var" --listen "127.0.0.1:$PORT" 2>"$W/reg.log" &
REG_PID=$!
for _ in $(seq 100); do (echo >/dev/tcp/127.0.0.1/$PORT) 2>/dev/null && break; sleep 0.1; done
TOKEN=$("$REG" token create --namespace acme --scope push,pull --data "$W/var" 2>/dev/null | tail -1)
"$ARCA" login "127.0.0.1:$PORT" --token "$TOKEN" >/dev/null
"$ARCA" trust add acme "$W/root.json" >/dev/null
"$ARCA" push "$W/p-v1" "127.0.0.1:$PORT/acme/m:1" >/dev/null
for s in a b c; do "$ARCA" push "$W/p-$s" "127.0.0.1:$PORT/acme/m:2$s" >/dev/null; done
"$ARCA" pull "127.0.0.1:$PORT/acme/m:1" --store "$W/store-v1" --json >"$W/pull-v1.json"
jget() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"; }

echo "model: $MIB MiB bf16 N(0, 0.02), $(nproc) cores, $(date -u +%F); fractions of v2's plaintext (model directory bytes)"
printf '%-10s %9s %9s %9s %9s %9s %9s %8s %8s\n' scenario "arca pull" "zstd-pf" "xdelta3" "rsync" "zstd -3" "fresh" "seal s" "open s"
for s in a b c; do
  plain=$(du -sb "$W/$s" | cut -f1)
  rm -rf "$W/store"; cp -a "$W/store-v1" "$W/store"
  "$ARCA" pull "127.0.0.1:$PORT/acme/m:2$s" --store "$W/store" --json >"$W/pull-$s.json"
  pulled=$(jget "$W/pull-$s.json" bytes_downloaded); full=$(jget "$W/pull-$s.json" bytes_total)
  M1=$W/v1/model.safetensors; M2=$W/$s/model.safetensors
  # Baselines diff the weights file (the other files are identical) and add
  # nothing for the small ones: in their favour.
  zpf=$(zstd -q --patch-from="$M1" -3 --long=31 -c "$M2" | wc -c)
  xd=$(xdelta3 -e -B $((1 << 30)) -s "$M1" -c "$M2" | wc -c)
  mkdir -p "$W/rs"; cp "$M1" "$W/rs/model.safetensors"
  rs=$(rsync --no-whole-file --stats "$M2" "$W/rs/model.safetensors" | awk -F': ' '/Literal data/{gsub(/[^0-9]/,"",$2); print $2}')
  z3=$(zstd -q -3 -T2 -c "$M2" | wc -c)
  frac() { python3 -c "print(f'{$1/$plain:9.4f}')"; }
  printf '%-10s %9s %9s %9s %9s %9s %9s %8s %8s\n' "$s" "$(frac "$pulled")" "$(frac "$zpf")" "$(frac "$xd")" "$(frac "$rs")" \
    "$(frac "$z3")" "$(frac "$full")" "${SEAL[$s]}" "${OPEN[$s]}"
done
printf '%-10s %69s %8s %8s\n' "v1" "(full seal and open, for scale)" "${SEAL[v1]}" "${OPEN[v1]}"
new_c=$(python3 - "$W/p-c" <<'PY'
import json, sys, os
# Scenario c target: the compressed size of the new tensors alone (their records in v2's new packs).
d = sys.argv[1]; idx = json.load(open(os.path.join(d, "index.json")))
om = json.load(open(os.path.join(d, "blobs/sha256", idx["manifests"][0]["digest"][7:])))
am = json.load(open(os.path.join(d, "blobs/sha256", om["layers"][0]["digest"][7:])))
print(sum(p["size"] for p in am["packs"] if not p.get("fromParent")))
PY
)
echo "c: new packs of v2 (the new tensors' compressed records) = $new_c bytes; arca pull / that = $(python3 -c "print(f'{$(jget "$W/pull-c.json" bytes_downloaded)/$new_c:.3f}')")"
