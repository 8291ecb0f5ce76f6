#!/usr/bin/env bash
# arca-registry speaks the OCI distribution API to a client nobody on the
# team wrote: skopeo pushes a signed sealed package into it (token as the
# Basic password) and pulls it back byte-identical; an unsigned package, an
# anonymous upload and a token for another namespace are refused with OCI
# error codes; the server stays up; gc keeps what manifests reference;
# admin commands work while it runs; no log line carries the token.
#   arca_registry_skopeo_test.sh ARCA ARCA_REGISTRY MAKE_MODEL
set -euo pipefail
ARCA=$1; REG=$2; MAKE_MODEL=$3
for tool in skopeo curl python3; do
  command -v "$tool" >/dev/null || { echo "FAIL: $tool is not installed (scripts/setup.sh --test installs it)"; exit 1; }
done
W=$(mktemp -d /tmp/arca-registry-test.XXXXXX)
REG_PID=""
cleanup() { [[ -n $REG_PID ]] && kill "$REG_PID" 2>/dev/null; wait 2>/dev/null; rm -rf "$W"; }
trap cleanup EXIT
fail() { echo "FAIL: $*"; [[ -f $W/reg.log ]] && tail -5 "$W/reg.log"; exit 1; }
export HOME=$W/home; mkdir -p "$HOME"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')

"$MAKE_MODEL" "$W/model" --mib 6 --seed 9 >/dev/null
"$ARCA" key new -o "$W/a.key" >/dev/null && "$ARCA" key pub "$W/a.key" >"$W/a.pub"
"$ARCA" root init acme --key "$W/a.pub" --threshold 1 --sign "$W/a.key" -o "$W/acme.root.json" >/dev/null
"$ARCA" lineage-key new -o "$W/lk" >/dev/null
"$ARCA" seal "$W/model" -o "$W/pkg" --name acme/med-llm --version 1.0 --lineage-key "$W/lk" --sign "$W/a.key" --pack-size 2M >/dev/null
"$ARCA" seal "$W/model" -o "$W/unsigned" --name acme/med-llm --version 1.1 --lineage-key "$W/lk" --pack-size 2M >/dev/null

"$REG" namespace add acme --root "$W/acme.root.json" --data "$W/var" 2>/dev/null || fail "namespace add"
"$REG" serve --data "$W/var" --listen "127.0.0.1:$PORT" >"$W/reg.log" 2>&1 &
REG_PID=$!
for _ in $(seq 100); do (echo >/dev/tcp/127.0.0.1/$PORT) 2>/dev/null && break; sleep 0.1; done
(echo >/dev/tcp/127.0.0.1/$PORT) 2>/dev/null || fail "arca-registry did not start"
# Admin commands while it serves (SQLite WAL).
TOKEN=$("$REG" token create --namespace acme --scope push,pull --data "$W/var" 2>/dev/null | tail -1)
OTHER=$("$REG" token create --namespace beta --scope push,pull --data "$W/var" 2>/dev/null | tail -1)
[[ $TOKEN == arca_* ]] || fail "token create printed no token"

SK=(skopeo --registries-conf /dev/null)
"${SK[@]}" copy --dest-tls-verify=false --dest-creds "token:$TOKEN" "oci:$W/pkg:1.0" \
  "docker://127.0.0.1:$PORT/acme/med-llm:1.0" >"$W/push.log" 2>&1 || { cat "$W/push.log"; fail "skopeo push into arca-registry"; }
"${SK[@]}" copy --src-tls-verify=false --src-creds "token:$TOKEN" "docker://127.0.0.1:$PORT/acme/med-llm:1.0" \
  "oci:$W/back:1.0" >"$W/pull.log" 2>&1 || { cat "$W/pull.log"; fail "skopeo pull from arca-registry"; }
n=0
for f in "$W"/pkg/blobs/sha256/*; do
  cmp -s "$f" "$W/back/blobs/sha256/${f##*/}" || fail "blob ${f##*/} did not round-trip byte-identical"
  n=$((n + 1))
done
"$ARCA" verify "$W/back:1.0" --root "$W/acme.root.json" >/dev/null || fail "the pulled-back package does not verify"

# An unsigned package is refused, by skopeo's push too.
if "${SK[@]}" copy --dest-tls-verify=false --dest-creds "token:$TOKEN" "oci:$W/unsigned:1.1" \
  "docker://127.0.0.1:$PORT/acme/med-llm:1.1" >"$W/push2.log" 2>&1; then fail "an unsigned package was accepted"; fi
grep -q "MANIFEST_INVALID\|manifest invalid" "$W/push2.log" || { cat "$W/push2.log"; fail "the refusal did not carry MANIFEST_INVALID"; }
code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$PORT/v2/acme/med-llm/manifests/1.1")
[[ $code == 404 ]] || fail "the refused tag resolves (HTTP $code)"

# Refusals with OCI error bodies; the server stays up.
body=$(curl -s -X POST "http://127.0.0.1:$PORT/v2/acme/med-llm/blobs/uploads/")
[[ $body == *UNAUTHORIZED* ]] || fail "anonymous upload start: $body"
body=$(curl -s -X POST -u "x:$OTHER" "http://127.0.0.1:$PORT/v2/acme/med-llm/blobs/uploads/")
[[ $body == *DENIED* ]] || fail "token for another namespace: $body"
body=$(curl -s -u "x:$TOKEN" "http://127.0.0.1:$PORT/v2/acme/..%2F..%2Fetc/manifests/1")
[[ $body == *NAME_INVALID* || $body == *NAME_UNKNOWN* ]] || fail "path traversal: $body"
printf 'GARBAGE\r\n\r\n' | timeout 5 python3 -c "
import socket,sys; s=socket.create_connection(('127.0.0.1',$PORT)); s.sendall(sys.stdin.buffer.read()); s.recv(100)" || true
code=$(curl -s -o /dev/null -w '%{http_code}' -u "x:$TOKEN" "http://127.0.0.1:$PORT/v2/")
[[ $code == 200 ]] || fail "server not answering after malformed requests (HTTP $code)"
curl -s "http://127.0.0.1:$PORT/metrics" | grep -q 'arca_registry_pushes_refused_total 1' || fail "/metrics did not count the refused push"

# gc while serving keeps every blob the manifest references.
"$REG" gc --data "$W/var" --grace 0s --json >"$W/gc.json" || fail "gc"
for f in "$W"/pkg/blobs/sha256/*; do
  d=sha256:${f##*/}
  code=$(curl -s -o /dev/null -w '%{http_code}' -I -u "x:$TOKEN" "http://127.0.0.1:$PORT/v2/acme/med-llm/blobs/$d")
  # The manifest itself is fetched as a manifest, not a blob.
  [[ $code == 200 ]] || [[ $(curl -s -o /dev/null -w '%{http_code}' -u "x:$TOKEN" "http://127.0.0.1:$PORT/v2/acme/med-llm/manifests/$d") == 200 ]] \
    || fail "gc removed referenced blob $d"
done
grep -q "$TOKEN" "$W/reg.log" && fail "the registry log contains a token"
grep -q "GET /v2/acme/med-llm/manifests/1.0 200" "$W/reg.log" || fail "no per-request log line"
# TLS: the same data served over HTTPS with a certificate the client pins.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=localhost \
  -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" -keyout "$W/tls.key" -out "$W/tls.crt" 2>/dev/null || fail "openssl req"
TLS_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$REG" serve --data "$W/var" --listen "127.0.0.1:$TLS_PORT" --tls-cert "$W/tls.crt" --tls-key "$W/tls.key" >"$W/tls.log" 2>&1 &
TLS_PID=$!
for _ in $(seq 100); do (echo >/dev/tcp/127.0.0.1/$TLS_PORT) 2>/dev/null && break; sleep 0.1; done
got=$(curl -s --cacert "$W/tls.crt" -u "x:$TOKEN" "https://127.0.0.1:$TLS_PORT/v2/acme/med-llm/manifests/1.0" | sha256sum | cut -c1-64)
want=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["manifests"][0]["digest"][7:])' "$W/pkg/index.json")
[[ $got == "$want" ]] || fail "manifest over HTTPS did not match ($got vs $want)"
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$TLS_PORT/v2/" || true)
[[ $code != 200 ]] || fail "the TLS listener answered plain HTTP"
kill "$TLS_PID"; wait "$TLS_PID" 2>/dev/null || true
"$REG" serve --data "$W/var" --listen "127.0.0.1:$TLS_PORT" --tls-cert "$W/nope.crt" --tls-key "$W/tls.key" >"$W/tls2.log" 2>&1 \
  && fail "serve started with a missing certificate"
grep -q "cannot load the TLS certificate" "$W/tls2.log" || fail "missing certificate error: $(cat "$W/tls2.log")"
echo "ok: $n blobs round-tripped through arca-registry with skopeo; unsigned push, anonymous, wrong-namespace and traversal refused; gc safe; TLS served"
