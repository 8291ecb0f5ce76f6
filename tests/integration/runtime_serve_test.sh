#!/usr/bin/env bash
# The whole key-release flow on the simulated SNP TEE, with real binaries:
# seal, sign, policy allowing the runtime's measurement, push, pull, broker
# register + serve --allow-sim, arca-runtime serve with an engine that
# hashes the file it is given, arca connect through the attested endpoint.
# Then the refusals: a debuggable guest, a measurement the policy does not
# list, a broker without --allow-sim, a policy test dry run; and no
# plaintext on disk, the model mapped only as memfd/anonymous memory.
#   runtime_serve_test.sh ARCA ARCA_REGISTRY ARCA_KEYBROKER ARCA_RUNTIME MAKE_MODEL
set -euo pipefail
ARCA=$1; REG=$2; KB=$3; RT=$4; MAKE_MODEL=$5
SCAN=$(cd "$(dirname "$0")" && pwd)/plaintext_scan.py
HERE=$(cd "$(dirname "$0")" && pwd)
W=$(mktemp -d /tmp/arca-serve-test.XXXXXX)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$W"; }
trap cleanup EXIT
[[ -n ${KEEP:-} ]] && trap - EXIT
fail() { echo "FAIL: $*"; for f in "$W"/*.log; do echo "== $f"; tail -5 "$f"; done; exit 1; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq $((${2:-20} * 10))); do (echo >/dev/tcp/127.0.0.1/$1) 2>/dev/null && return 0; sleep 0.1; done; return 1; }
export HOME=$W/lab TMPDIR=$W/tmp; mkdir -p "$HOME" "$TMPDIR"; touch "$W/start"

# The lab: a model, keys, a signed package, a policy allowing this runtime.
"$MAKE_MODEL" "$W/model" --mib 3 --seed 31 >/dev/null
"$ARCA" key new -o "$W/a.key" >/dev/null && "$ARCA" key pub "$W/a.key" >"$W/a.pub"
"$ARCA" root init acme --key "$W/a.pub" --threshold 1 --sign "$W/a.key" -o "$W/root.json" >/dev/null
"$ARCA" lineage-key new -o "$W/lk" >/dev/null
"$ARCA" seal "$W/model" -o "$W/pkg" --name acme/med --version 1.0 --lineage-key "$W/lk" --sign "$W/a.key" >/dev/null
M=$("$RT" measurement --tee sim-snp)
[[ $M =~ ^[0-9a-f]{96}$ ]] || fail "measurement: '$M'"
"$ARCA" policy new "$W/pkg" -o "$W/policy.json" >/dev/null
"$ARCA" policy allow "$W/policy.json" --platform sev-snp --measurement "$M" >/dev/null
"$ARCA" policy sign "$W/policy.json" --key "$W/a.key" >/dev/null
"$ARCA" policy attach "$W/pkg" "$W/policy.json" >/dev/null

# The registry, and the enterprise's pull into its store.
RP=$(free_port)
"$REG" namespace add acme --root "$W/root.json" --data "$W/var" 2>/dev/null
"$REG" serve --data "$W/var" --listen "127.0.0.1:$RP" 2>"$W/reg.log" & PIDS+=($!)
wait_port "$RP" || fail "registry did not start"
TOKEN=$("$REG" token create --namespace acme --scope push,pull --data "$W/var" 2>/dev/null | tail -1)
"$ARCA" login "127.0.0.1:$RP" --token "$TOKEN" >/dev/null
"$ARCA" push "$W/pkg" "127.0.0.1:$RP/acme/med:1.0" >/dev/null 2>&1 || fail "push"
export HOME=$W/ent; mkdir -p "$HOME"
"$ARCA" login "127.0.0.1:$RP" --token "$TOKEN" >/dev/null && "$ARCA" trust add acme "$W/root.json" >/dev/null
"$ARCA" pull "127.0.0.1:$RP/acme/med:1.0" --store "$W/store" >/dev/null 2>&1 || fail "pull"

# The broker.
"$KB" register "$W/pkg" --lineage-key "$W/lk" --root "$W/root.json" --data "$W/kb" >/dev/null || fail "register"
KP=$(free_port)
"$REG" token create --namespace acme --scope push --label keybroker --data "$W/var" 2>/dev/null | tail -1 >"$W/kb-token"
"$KB" serve --data "$W/kb" --listen "127.0.0.1:$KP" --allow-sim --registry "http://127.0.0.1:$RP" \
  --registry-token-file "$W/kb-token" 2>"$W/kb.log" & PIDS+=($!)
wait_port "$KP" || fail "broker did not start"

# Policy dry run on evidence the runtime makes.
"$RT" evidence --tee sim-snp -o "$W/ev.json" >/dev/null
"$ARCA" policy test "$W/policy.json" "$W/ev.json" --allow-sim >"$W/ptest.out" || fail "policy test refused allowed evidence: $(cat "$W/ptest.out")"
"$RT" evidence --tee sim-snp --debug -o "$W/ev-debug.json" >/dev/null
set +e; "$ARCA" policy test "$W/policy.json" "$W/ev-debug.json" --allow-sim --json >"$W/ptest.json"; rc=$?; set -e
[[ $rc == 6 ]] || fail "policy test of a debug guest exited $rc, expected 6"
python3 - "$W/ptest.json" <<'PY' || fail "policy test JSON does not show exactly the debug clause failing"
import json, sys
d = json.load(open(sys.argv[1]))
failed = [c["clause"] for c in d["clauses"] if not c["passed"]]
assert d["allowed"] is False and failed == ["debug"], failed
PY
set +e; "$ARCA" policy test "$W/policy.json" "$W/ev.json" >/dev/null 2>&1; rc=$?; set -e
[[ $rc != 0 ]] || fail "policy test accepted simulated evidence without --allow-sim"

# Serve: the engine gets the exact plaintext through /proc/self/fd.
SP=$(free_port)
"$RT" serve "127.0.0.1:$RP/acme/med:1.0" --store "$W/store" --broker "http://127.0.0.1:1,http://127.0.0.1:$KP" --tee sim-snp \
  --model-file model.safetensors --engine "python3 $HERE/hash_engine.py {model} {port}" --listen "127.0.0.1:$SP" 2>"$W/rt.log" & RT_PID=$!; PIDS+=($RT_PID)
wait_port "$SP" 60 || fail "arca-runtime serve did not come up"
grep -q "unreachable" "$W/rt.log" || fail "the runtime did not say the first broker was unreachable"
want=$(sha256sum "$W/model/model.safetensors" | cut -c1-64)
got=$("$ARCA" connect "https://127.0.0.1:$SP" --policy "$W/policy.json" --allow-sim /sha256 2>"$W/connect.log") || fail "arca connect"
[[ $got == "$want" ]] || fail "engine saw '$got', the model is $want"
# The runtime's and the engine's mappings of the model: memfd or anonymous only.
ENGINE_PID=$(pgrep -P "$RT_PID" -f hash_engine.py | head -1)
[[ -n $ENGINE_PID ]] || fail "no engine process under the runtime"
grep -qE '/memfd:' "/proc/$RT_PID/maps" || fail "the runtime does not map the model from a memfd"
ls -l "/proc/$ENGINE_PID/fd" | grep -q 'memfd:' || fail "the engine was not handed the model as a memfd"
python3 "$SCAN" maps "$W/model/model.safetensors" "$RT_PID" "$ENGINE_PID" >"$W/maps.txt" \
  || fail "plaintext mapped or held open from a file: $(cat "$W/maps.txt")"
# The evidence route is rate-limited per address (burst 5, 2/s): 20 requests,
# 10 at a time, get 429s with Retry-After, and evidence again after a wait.
export SP W
codes=$(seq 20 | xargs -P 10 -I{} sh -c 'curl -sk -D "$W/ev.{}.h" -o /dev/null -w "%{http_code}\n" \
  "https://127.0.0.1:$SP/.well-known/arca/evidence?nonce=$(openssl rand -hex 32)"')
[[ $(grep -c '^200$' <<<"$codes") -ge 1 && $(grep -c '^429$' <<<"$codes") -ge 1 ]] \
  || fail "the evidence route was not rate-limited: $(tr '\n' ' ' <<<"$codes")"
for h in "$W"/ev.*.h; do
  if head -1 "$h" | grep -q ' 429'; then grep -qi '^retry-after: [1-9]' "$h" || fail "a 429 from the evidence route has no Retry-After"; fi
done
sleep 3
# Without --allow-sim in connect, the same endpoint is refused before any request.
if "$ARCA" connect "https://127.0.0.1:$SP" --policy "$W/policy.json" /sha256 >/dev/null 2>&1; then
  fail "arca connect trusted simulated evidence without --allow-sim"
fi
kill "$RT_PID"; wait "$RT_PID" 2>/dev/null || true
# The release is in the registry's transparency log, for the right version and measurement.
"$ARCA" audit "127.0.0.1:$RP/acme/med" --json >"$W/audit.json" 2>"$W/audit.log" || fail "arca audit"
python3 - "$W/audit.json" "$M" <<'PY' || fail "the key release is not in the registry's log: $(head -c 600 "$W/audit.json")"
import json, sys
d = json.load(open(sys.argv[1]))
rel = d["keyReleases"]
assert len(rel) == 1 and sys.argv[2] in json.dumps(rel[0]), rel
PY
# The scanner finds a planted 70-byte piece of the model at an odd offset (so a pass means something).
python3 -c 'import sys; d=open(sys.argv[1],"rb").read(); open(sys.argv[2],"wb").write(b"xyz"+d[2000001:2000071])' \
  "$W/model/model.safetensors" "$W/tmp/planted"
python3 "$SCAN" files "$W/model/model.safetensors" "$W/tmp" >/dev/null && fail "plaintext_scan.py missed a planted piece of plaintext"
rm "$W/tmp/planted"
# Tensor bytes only: every model of this shape has the same safetensors header.
DATA_FROM=$(python3 -c 'import struct,sys; print(8 + struct.unpack("<Q", open(sys.argv[1],"rb").read(8))[0])' "$W/model/model.safetensors")
python3 "$SCAN" files "$W/model/model.safetensors" --from "$DATA_FROM" --exclude "$W/model" --since "$W/start" \
  "$W/store" "$W/kb" "$W/tmp" "$W/ent" "$W/var" "$W/pkg" /tmp /dev/shm >"$W/leak.log" || fail "plaintext found on disk: $(cat "$W/leak.log")"

# A broker whose registry log cannot record the release releases nothing.
KP3=$(free_port)
"$KB" serve --data "$W/kb" --listen "127.0.0.1:$KP3" --allow-sim --registry "http://127.0.0.1:1" \
  --registry-token-file "$W/kb-token" 2>"$W/kb3.log" & PIDS+=($!)
wait_port "$KP3" || fail "third broker"
set +e
timeout 60 "$RT" serve "acme/med:1.0" --store "$W/store" --broker "http://127.0.0.1:$KP3" --tee sim-snp \
  --engine "python3 $HERE/hash_engine.py {model} {port}" --listen "127.0.0.1:$(free_port)" 2>"$W/rt-nolog.log"; rc=$?
set -e
[[ $rc == 10 ]] || fail "an unlogged release: runtime exited $rc, expected 10 (unavailable)"
grep -q "transparency log did not record" "$W/rt-nolog.log" || fail "the unlogged refusal does not say why"

# A debuggable guest: no keys, the broker says why.
SP2=$(free_port)
set +e
timeout 30 "$RT" serve "acme/med:1.0" --store "$W/store" --broker "http://127.0.0.1:$KP" --tee sim-snp --debug \
  --engine "python3 $HERE/hash_engine.py {model} {port}" --listen "127.0.0.1:$SP2" 2>"$W/rt-debug.log"; rc=$?
set -e
[[ $rc == 6 ]] || fail "a debug guest: runtime exited $rc, expected 6 (permission denied)"
grep -q "policy clause debug" "$W/rt-debug.log" || fail "the debug refusal does not name the clause"

# The lab revokes the measurement: no keys, named clause, nothing listens.
"$ARCA" policy revoke "$W/policy.json" --measurement "$M" >/dev/null && "$ARCA" policy sign "$W/policy.json" --key "$W/a.key" >/dev/null
"$ARCA" policy attach "$W/pkg" "$W/policy.json" >/dev/null
"$KB" register "$W/pkg" --lineage-key "$W/lk" --root "$W/root.json" --data "$W/kb" >/dev/null || fail "re-register"
set +e
timeout 30 "$RT" serve "acme/med:1.0" --store "$W/store" --broker "http://127.0.0.1:$KP" --tee sim-snp \
  --engine "python3 $HERE/hash_engine.py {model} {port}" --listen "127.0.0.1:$SP2" 2>"$W/rt-revoked.log"; rc=$?
set -e
[[ $rc == 6 ]] || fail "a revoked measurement: runtime exited $rc, expected 6"
grep -qE "policy clause (measurement|revoked)" "$W/rt-revoked.log" || fail "the revocation refusal does not name the clause"
(echo >/dev/tcp/127.0.0.1/$SP2) 2>/dev/null && fail "something listens after a refusal"
released=$("$KB" releases --data "$W/kb" --json | python3 -c 'import json,sys; d=json.load(sys.stdin); print(sum(r["released"] for r in d), len(d))')
[[ $released == "1 7" ]] || fail "release log: expected 1 release of 7 requests (4 unlogged attempts), got '$released'"

# A broker without --allow-sim refuses simulated evidence.
KP2=$(free_port)
"$KB" serve --data "$W/kb" --listen "127.0.0.1:$KP2" 2>"$W/kb2.log" & PIDS+=($!)
wait_port "$KP2" || fail "second broker"
set +e
timeout 30 "$RT" serve "acme/med:1.0" --store "$W/store" --broker "http://127.0.0.1:$KP2" --tee sim-snp \
  --engine "python3 $HERE/hash_engine.py {model} {port}" --listen "127.0.0.1:$SP2" 2>"$W/rt-nosim.log"; rc=$?
set -e
[[ $rc == 6 ]] || fail "a broker without --allow-sim: runtime exited $rc"
grep -q "policy clause evidence" "$W/rt-nosim.log" || fail "the no-sim refusal does not name the evidence clause"
echo "ok: sim-snp serve gave the engine the exact plaintext through an attested endpoint; debug, revoked and simulated-without-allow refused with their clauses; no plaintext on disk"
