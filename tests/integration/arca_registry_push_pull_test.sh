#!/usr/bin/env bash
# arca push / arca pull against arca-registry itself: a push killed in the
# middle of a blob resumes in the same upload session and sends only what the
# registry does not hold; a second push sends nothing; an enterprise pull
# verifies and installs, and the pulled copy verifies --deep against the root.
#   arca_registry_push_pull_test.sh ARCA ARCA_REGISTRY MAKE_MODEL
set -euo pipefail
ARCA=$1; REG=$2; MAKE_MODEL=$3
W=$(mktemp -d /tmp/arca-pushpull-test.XXXXXX)
REG_PID=""
cleanup() { [[ -n $REG_PID ]] && kill "$REG_PID" 2>/dev/null; wait 2>/dev/null; rm -rf "$W"; }
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }
export HOME=$W/lab; mkdir -p "$HOME"
"$MAKE_MODEL" "$W/model" --mib 48 --seed 21 >/dev/null
"$ARCA" key new -o "$W/a.key" >/dev/null && "$ARCA" key pub "$W/a.key" >"$W/a.pub"
"$ARCA" root init acme --key "$W/a.pub" --threshold 1 --sign "$W/a.key" -o "$W/root.json" >/dev/null
"$ARCA" lineage-key new -o "$W/lk" >/dev/null
"$ARCA" seal "$W/model" -o "$W/pkg" --name acme/m --version 1 --lineage-key "$W/lk" --sign "$W/a.key" --pack-size 64M >/dev/null
big=$(ls -S "$W/pkg/blobs/sha256" | head -1); big_size=$(stat -c %s "$W/pkg/blobs/sha256/$big")
((big_size > 20000000)) || fail "expected one large pack, the largest blob is $big_size bytes"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$REG" namespace add acme --root "$W/root.json" --data "$W/var" 2>/dev/null
"$REG" serve --data "$W/var" --listen "127.0.0.1:$PORT" 2>"$W/reg.log" &
REG_PID=$!
for _ in $(seq 100); do (echo >/dev/tcp/127.0.0.1/$PORT) 2>/dev/null && break; sleep 0.1; done
TOKEN=$("$REG" token create --namespace acme --scope push,pull --data "$W/var" 2>/dev/null | tail -1)
"$ARCA" login "127.0.0.1:$PORT" --token "$TOKEN" >/dev/null

# Killed mid-blob: at 8 MB/s with 4 MiB chunks, 2 s is inside the big pack.
timeout -s KILL 2 "$ARCA" push "$W/pkg" "127.0.0.1:$PORT/acme/m:1" --limit-rate 8M --chunk-size 4M --threads 1 \
  >/dev/null 2>&1 && fail "the rate-limited push finished before it could be killed"
session=$(grep -oE "PATCH /v2/acme/m/blobs/uploads/[0-9a-f]{32} 202" "$W/reg.log" | tail -1 | grep -oE "[0-9a-f]{32}") \
  || fail "no chunk was acknowledged before the kill"
"$ARCA" push "$W/pkg" "127.0.0.1:$PORT/acme/m:1" --json >"$W/push.json" || fail "the resumed push failed"
sent=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["bytes_uploaded"])' "$W/push.json")
total=$(du -sb "$W/pkg/blobs" | cut -f1)
((sent < total)) || fail "the resumed push sent $sent bytes, the whole package is $total"
grep -qE "PATCH /v2/acme/m/blobs/uploads/$session 202" <(sed -n '/^GET \/v2\/acme\/m\/blobs\/uploads/,$p' "$W/reg.log") \
  || fail "the resumed push did not continue upload session $session"
"$ARCA" push "$W/pkg" "127.0.0.1:$PORT/acme/m:1" --json >"$W/push2.json"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if d["blobs_uploaded"]==0 and d["bytes_uploaded"]==0 else 1)' "$W/push2.json" \
  || fail "a second push uploaded again: $(cat "$W/push2.json")"

export HOME=$W/enterprise; mkdir -p "$HOME"
"$ARCA" login "127.0.0.1:$PORT" --token "$TOKEN" >/dev/null
"$ARCA" trust add acme "$W/root.json" >/dev/null
"$ARCA" pull "127.0.0.1:$PORT/acme/m:1" --store "$W/store" --json >"$W/pull.json" || fail "arca pull from arca-registry"
"$ARCA" verify "$W/store:acme/m:1" --root "$W/root.json" --deep >/dev/null || fail "the pulled copy does not verify --deep"
"$ARCA" open "$W/store:acme/m:1" --lineage-key "$W/lk" -o "$W/out" >/dev/null && diff -r "$W/model" "$W/out" >/dev/null \
  || fail "the pulled copy does not open to the exact model"
echo "ok: push killed mid-blob resumed session $session sending $sent of $total bytes; re-push sent nothing; pull verified --deep and opened bit-exact"
