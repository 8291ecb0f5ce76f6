#!/usr/bin/env bash
# Updates by what changed, end to end against arca-registry:
#  - v2 (5% of tensors rewritten) sealed WITHOUT --parent: its packs are all
#    new, but the store assembles them from v1's records plus HTTP Range
#    reads, so the pull fetches a small fraction and installs packs whose
#    digests match;
#  - v3 (every weight nudged) sealed with --parent v1: delta chunks; pulled
#    over v1 it transfers under half the plaintext;
#  - both open bit-exact from the store and verify --deep; a push of v3 after
#    v1 uploads only the new packs; arca diff reports the changed tensors.
#   delta_pull_test.sh ARCA ARCA_REGISTRY MAKE_MODEL
set -euo pipefail
ARCA=$1; REG=$2; MM=$3
W=$(mktemp -d /tmp/arca-delta-pull-test.XXXXXX)
REG_PID=""
cleanup() { [[ -n $REG_PID ]] && kill "$REG_PID" 2>/dev/null; wait 2>/dev/null; rm -rf "$W"; }
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }
jget() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"; }
export HOME=$W/home; mkdir -p "$HOME"
"$MM" "$W/m1" --mib 32 --seed 5 >/dev/null
"$MM" "$W/m2" --mib 32 --seed 5 --partial 0.05 >/dev/null
"$MM" "$W/m3" --mib 32 --seed 5 --dense 0.0005 >/dev/null
"$ARCA" key new -o "$W/a.key" >/dev/null && "$ARCA" key pub "$W/a.key" >"$W/a.pub"
"$ARCA" root init acme --key "$W/a.pub" --threshold 1 --sign "$W/a.key" -o "$W/root.json" >/dev/null
"$ARCA" lineage-key new -o "$W/lk" >/dev/null
"$ARCA" seal "$W/m1" -o "$W/p1" --name acme/m --version 1 --lineage-key "$W/lk" --sign "$W/a.key" >/dev/null
"$ARCA" seal "$W/m2" -o "$W/p2" --name acme/m --version 2 --lineage-key "$W/lk" --sign "$W/a.key" >/dev/null
"$ARCA" seal "$W/m3" -o "$W/p3" --name acme/m --version 3 --lineage-key "$W/lk" --sign "$W/a.key" --parent "$W/p1" --json >"$W/seal3.json"
python3 -c 'import json,sys; sys.exit(0 if json.load(open(sys.argv[1]))["chunks"]["delta"] > 0 else 1)' "$W/seal3.json" \
  || fail "the dense fine-tune was sealed without delta chunks: $(cat "$W/seal3.json")"

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$REG" namespace add acme --root "$W/root.json" --data "$W/var" 2>/dev/null
"$REG" serve --data "$W/var" --listen "127.0.0.1:$PORT" 2>"$W/reg.log" &
REG_PID=$!
for _ in $(seq 100); do (echo >/dev/tcp/127.0.0.1/$PORT) 2>/dev/null && break; sleep 0.1; done
TOKEN=$("$REG" token create --namespace acme --scope push,pull --data "$W/var" 2>/dev/null | tail -1)
"$ARCA" login "127.0.0.1:$PORT" --token "$TOKEN" >/dev/null
"$ARCA" trust add acme "$W/root.json" >/dev/null
"$ARCA" push "$W/p1" "127.0.0.1:$PORT/acme/m:1" >/dev/null
"$ARCA" push "$W/p2" "127.0.0.1:$PORT/acme/m:2" >/dev/null
"$ARCA" push "$W/p3" "127.0.0.1:$PORT/acme/m:3" --json >"$W/push3.json"
new3=$(python3 - "$W/p3" <<'PY'
import json, sys, os
d = sys.argv[1]; idx = json.load(open(os.path.join(d, "index.json")))
om = json.load(open(os.path.join(d, "blobs/sha256", idx["manifests"][0]["digest"][7:])))
am = json.load(open(os.path.join(d, "blobs/sha256", om["layers"][0]["digest"][7:])))
print(sum(p["size"] for p in am["packs"] if not p.get("fromParent")))
PY
)
up3=$(jget "$W/push3.json" bytes_uploaded)
# New packs plus the small blobs (Arca manifest, signature, config); none of v1's packs.
((up3 >= new3 && up3 < new3 + (1 << 20))) || fail "push of v3 after v1 uploaded $up3 bytes, its new packs are $new3"

plain=$(stat -c %s "$W/m1/model.safetensors")
"$ARCA" pull "127.0.0.1:$PORT/acme/m:1" --store "$W/store" >/dev/null || fail "pull v1"
cp -a "$W/store" "$W/store-v1"
"$ARCA" pull "127.0.0.1:$PORT/acme/m:2" --store "$W/store" --json >"$W/pull2.json" || fail "pull v2 over v1"
d2=$(jget "$W/pull2.json" bytes_downloaded); a2=$(jget "$W/pull2.json" packs_assembled); t2=$(jget "$W/pull2.json" bytes_total)
((a2 >= 1)) || fail "no pack of v2 was assembled from v1's records: $(cat "$W/pull2.json")"
((d2 * 5 < t2)) || fail "pull of v2 over v1 downloaded $d2 of $t2 bytes"
"$ARCA" verify "$W/store:acme/m:2" --root "$W/root.json" --deep >/dev/null || fail "v2 in the store does not verify --deep"
"$ARCA" open "$W/store:acme/m:2" --lineage-key "$W/lk" -o "$W/o2" >/dev/null && cmp -s "$W/o2/model.safetensors" "$W/m2/model.safetensors" \
  || fail "v2 assembled in the store does not open to the model"

# A damaged store (v1's pack altered in place, same size): the reused records
# make the assembled pack hash wrong, so it is fetched whole; still correct.
cp -a "$W/store-v1" "$W/store-bad"
big=$(ls -S "$W/store-bad/blobs/sha256" | head -1)
python3 - "$W/store-bad/blobs/sha256/$big" <<'PY'
import sys
with open(sys.argv[1], "r+b") as f:
    data = bytearray(f.read())
    for off in range(4096, len(data), 1 << 20): data[off] ^= 0x55
    f.seek(0); f.write(data)
PY
"$ARCA" pull "127.0.0.1:$PORT/acme/m:2" --store "$W/store-bad" --json >"$W/pull-bad.json" || fail "pull v2 over a damaged v1"
((  $(jget "$W/pull-bad.json" packs_assembled) == 0 )) || fail "a pack was assembled from damaged records: $(cat "$W/pull-bad.json")"
(( $(jget "$W/pull-bad.json" bytes_downloaded) > d2 )) || fail "the fallback did not download the pack whole"
"$ARCA" open "$W/store-bad:acme/m:2" --lineage-key "$W/lk" -o "$W/obad" >/dev/null && cmp -s "$W/obad/model.safetensors" "$W/m2/model.safetensors" \
  || fail "v2 pulled over a damaged store does not open to the model"

"$ARCA" pull "127.0.0.1:$PORT/acme/m:3" --store "$W/store-v1" --json >"$W/pull3.json" || fail "pull v3 over v1"
d3=$(jget "$W/pull3.json" bytes_downloaded)
((d3 * 100 < plain * 45)) || fail "pull of the dense fine-tune over v1 downloaded $d3 bytes of a $plain-byte model"
"$ARCA" open "$W/store-v1:acme/m:3" --lineage-key "$W/lk" -o "$W/o3" >/dev/null && cmp -s "$W/o3/model.safetensors" "$W/m3/model.safetensors" \
  || fail "v3 (deltas) does not open to the model from the store"

"$ARCA" diff "$W/store:acme/m:1" "$W/store:acme/m:2" --json >"$W/diff.json" || fail "arca diff"
python3 - "$W/diff.json" "$d2" <<'PY' || fail "arca diff: $(head -c 600 "$W/diff.json")"
import json, sys
d = json.load(open(sys.argv[1])); pulled = int(sys.argv[2])
w = [f for f in d["files"] if f["path"] == "model.safetensors"][0]
changed = [t for t in w["tensors"] if t["change"] == "changed"]
assert w["change"] == "changed" and changed and w["tensorsUnchanged"] > 0, "tensor classification"
# The pull fetches the records the diff counts, plus the manifest, signature and the packs' non-record bytes (none).
assert d["updateRecordBytes"] <= pulled <= d["updateRecordBytes"] + (1 << 20), "diff's record cost vs the pull"
PY
echo "ok: v2 (no --parent) pulled $d2 of $t2 bytes by assembling packs; dense v3 pulled $d3 bytes for a $plain-byte model; push of v3 sent only its $new3 new bytes"
