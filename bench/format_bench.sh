#!/usr/bin/env bash
# Seal/open throughput, CPU per GiB, peak RSS and stored/plaintext ratio on a
# synthetic bf16 model (N(0, 0.02)), beside baselines on the same bytes in the
# same run: cat, openssl dgst -sha256, zstd -1 -T2, openssl speed aes-256-gcm;
# and the runtime's load path (OpenToSink into sealed, locked memfds).
#
#   bench/format_bench.sh [--mib 2048] [--dir DIR] [--build DIR] [--sweep]
#
# --dir defaults to /dev/shm (tmpfs: measures the pipeline, not this machine's
# disk); pass a disk directory to include durable writes (fsync) in the
# figures. --sweep adds the chunk-size sweep of specs/format.md §5.4.
set -euo pipefail
cd "$(dirname "$0")/.."
MIB=2048; DIR=/dev/shm; BUILD=build; SWEEP=0
while (($#)); do
  case $1 in
    --mib) MIB=$2; shift 2 ;; --dir) DIR=$2; shift 2 ;; --build) BUILD=$2; shift 2 ;;
    --sweep) SWEEP=1; shift ;; *) sed -n '2,10p' "$0"; exit 2 ;;
  esac
done
cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$BUILD" --target arca arca-make-model runtime_load_bench >/dev/null
ARCA=$BUILD/client/arca
W=$(mktemp -d "$DIR/arca-bench.XXXXXX"); trap 'rm -rf "$W"' EXIT
"$BUILD/bench/arca-make-model" "$W/model" --mib "$MIB" --seed 1 >/dev/null
"$ARCA" lineage-key new -o "$W/k" >/dev/null
M=$W/model/model.safetensors
BYTES=$(du -sb "$W/model" | cut -f1)
GIB=$(python3 -c "print($BYTES/2**30)")

# timed NAME CMD...: runs CMD, records wall s, user+sys s, max RSS KiB.
declare -A WALL CPU RSS
timed() {
  local name=$1; shift
  /usr/bin/time -f "%e %U %S %M" -o "$W/t" "$@" >/dev/null 2>"$W/err" || { cat "$W/err"; exit 1; }
  read -r w u s r <"$W/t"
  WALL[$name]=$w; CPU[$name]=$(python3 -c "print($u+$s)"); RSS[$name]=$r
}
cat "$W/model"/* >/dev/null  # warm the page cache
timed cat bash -c "cat '$W'/model/* > /dev/null"
timed sha256 openssl dgst -sha256 "$M"
timed zstd bash -c "zstd -1 -T2 -q -c '$M' > '$W/z.zst'"
ZRATIO=$(python3 -c "import os; print(os.path.getsize('$W/z.zst')/os.path.getsize('$M'))"); rm -f "$W/z.zst"
AES=$(openssl speed -evp aes-256-gcm -bytes 1048576 -seconds 3 2>/dev/null | awk '/^AES-256-GCM/{print $2}' | tr -d k)
timed seal "$ARCA" seal "$W/model" -o "$W/pkg" --name bench/model --version 1 --lineage-key "$W/k"
STORED=$(du -sb "$W/pkg/blobs" | cut -f1)
timed open "$ARCA" open "$W/pkg" --lineage-key "$W/k" -o "$W/out"
cmp -s "$M" "$W/out/model.safetensors" || { echo "open did not reproduce the model"; exit 1; }
rm -rf "$W/out"  # memory: the runtime load below holds the plaintext in memfds
timed load "$BUILD/bench/runtime_load_bench" "$W/pkg" "$W/k"

rate() { python3 -c "print(f'{$BYTES/1e6/max(float(\"$1\"),1e-9):8.0f}')"; }
perg() { python3 -c "print(f'{float(\"$1\")/$GIB:6.2f}')"; }
echo "model: $(python3 -c "print(f'{$BYTES/2**30:.2f}')") GiB bf16 N(0,0.02) in $DIR, $(nproc) cores, $(date -u +%F)"
printf '%-32s %9s %10s %12s %10s\n' "what" "MB/s" "wall s" "CPU s/GiB" "peak RSS"
for n in cat sha256 zstd seal open load; do
  label=$n
  case $n in cat) label="cat > /dev/null";; sha256) label="openssl dgst -sha256 (1 core)";; zstd) label="zstd -1 -T2";;
              seal) label="arca seal";; open) label="arca open";;
              load) label="runtime load (memfd, no disk)";; esac
  printf '%-32s %9s %10s %12s %8s MiB\n' "$label" "$(rate "${WALL[$n]}")" "${WALL[$n]}" "$(perg "${CPU[$n]}")" "$((RSS[$n] / 1024))"
done
printf '%-32s %9.0f\n' "openssl speed aes-256-gcm (1 core)" "$(python3 -c "print($AES*1000/1e6)")"
python3 - "$STORED" "$BYTES" "$ZRATIO" <<'PY'
import sys
s, b, z = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
print(f"stored/plaintext: arca {s/b:.4f} (whole package), zstd -1 alone {z:.4f}")
PY
echo "targets: seal >= 600 MB/s, open >= 1200 MB/s, peak RSS <= 256 MiB, stored/plaintext <= 0.70"

if ((SWEEP)); then
  echo; echo "chunk size sweep (256 MiB model and a fine-tune rewriting ~5% of tensors)"
  "$BUILD/bench/arca-make-model" "$W/s1" --mib 256 --seed 21 >/dev/null
  python3 ../shared/acceptance/lib/mkmodel.py "$W/s2" --from "$W/s1" --change-frac 0.05 --seed 22 >/dev/null
  for avg in 256K 1M 4M; do
    rm -rf "$W/p1" "$W/p2"
    /usr/bin/time -f "%U %S" -o "$W/t" "$ARCA" seal "$W/s1" -o "$W/p1" --name b/s --version 1 --lineage-key "$W/k" --chunk-avg $avg >/dev/null
    "$ARCA" seal "$W/s2" -o "$W/p2" --name b/s --version 2 --lineage-key "$W/k" --parent "$W/p1" --json >"$W/s2.json"
    "$ARCA" inspect "$W/p1" --json >"$W/i1.json"
    python3 - "$avg" "$W" <<'PY'
import json, os, sys, glob
avg, w = sys.argv[1], sys.argv[2]
u, s = map(float, open(f"{w}/t").read().split())
i1 = json.load(open(f"{w}/i1.json")); s2 = json.load(open(f"{w}/s2.json"))
plain = i1["plaintextBytes"]
man = os.path.getsize(f"{w}/p1/blobs/sha256/" + i1["manifestDigest"][7:])
stored = i1["storedBytes"]["newPacks"]
print(f"avg {avg:>5}: seal CPU {(u+s)/(plain/2**30):5.2f} s/GiB, stored/plaintext {stored/plain:.4f}, "
      f"manifest {man/1024:.0f} KiB, fine-tune stores {s2['storedBytes']/plain:.4f} of plaintext")
PY
  done
fi
