#!/usr/bin/env bash
# Arca's main job end to end, on the embedded defaults, as far as it exists
# today: make a sample model, create a lineage key, seal the model, inspect
# the package without keys, open it with the key and prove the result is
# bit-identical. Installs what is missing and builds first.
#
#   ./scripts/demo.sh [--mib N] [--keep]
set -euo pipefail
cd "$(dirname "$0")/.."
MIB=64; KEEP=0
while (($#)); do
  case $1 in
    --mib) MIB=$2; shift 2 ;;
    --keep) KEEP=1; shift ;;
    -h|--help) sed -n '2,8p' "$0"; exit 0 ;;
    *) echo "demo: unknown option $1" >&2; exit 2 ;;
  esac
done

scripts/setup.sh
BUILD=${ARCA_BUILD_DIR:-build}
cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DARCA_TESTS=OFF -DARCA_BENCH=OFF >/dev/null
cmake --build "$BUILD" --target arca arca-make-model >/dev/null
ARCA=$BUILD/client/arca

W=$(mktemp -d /tmp/arca-demo.XXXXXX)
[[ $KEEP == 1 ]] || trap 'rm -rf "$W"' EXIT
step() { printf '\n\033[1m== %s\033[0m\n$ %s\n' "$1" "${*:2}"; "${@:2}"; }

step "1. a sample model (bf16 weights like a real checkpoint)" "$BUILD/bench/arca-make-model" "$W/model" --mib "$MIB" --seed 7
step "2. the lab creates a lineage key" "$ARCA" lineage-key new -o "$W/acme-med.key"
step "3. seal: chunk, compress, encrypt, pack into an OCI layout" "$ARCA" seal "$W/model" -o "$W/pkg" --name acme/med-llm --version 1.2 --lineage-key "$W/acme-med.key"
step "4. inspect without any key" "$ARCA" inspect "$W/pkg"
step "5. open with the lineage key (every chunk and file digest verified)" "$ARCA" open "$W/pkg" --lineage-key "$W/acme-med.key" -o "$W/out"
step "6. bit-identical?" diff -r "$W/model" "$W/out"
echo "yes: the opened model is bit-identical to the original"
printf '\n\033[1m== 7. a wrong key is refused, and nothing is written\033[0m\n'
"$ARCA" lineage-key new -o "$W/other.key" >/dev/null
echo "\$ $ARCA open $W/pkg --lineage-key $W/other.key -o $W/out2"
if "$ARCA" open "$W/pkg" --lineage-key "$W/other.key" -o "$W/out2"; then
  echo "demo: a wrong key was accepted" >&2; exit 1
else
  echo "refused (exit $?); $W/out2 was $([[ -e $W/out2 ]] && echo "CREATED" || echo "not created")"
fi
[[ $KEEP == 1 ]] && echo "kept the demo files in $W"
echo; echo "demo complete"
