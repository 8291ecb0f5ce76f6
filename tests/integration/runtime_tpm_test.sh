#!/usr/bin/env bash
# The whole key-release flow on a TPM (swtpm on loopback), with real
# binaries: the runtime's one persistent attestation key exported with
# arca-runtime tpm-ak and enrolled by the broker (--tpm-ak) and by the client
# (arca connect --tpm-ak); seal, a policy allowing the runtime's PCR 23
# value, push, pull, register, arca-runtime serve --tee tpm, the exact
# plaintext through the engine. Then the refusals: a broker that trusts
# another AK, a client that trusts no AK or another one, a measurement the
# policy does not list. Skipped (exit 77) only when swtpm is not installed.
#   runtime_tpm_test.sh ARCA ARCA_REGISTRY ARCA_KEYBROKER ARCA_RUNTIME MAKE_MODEL
set -euo pipefail
ARCA=$1; REG=$2; KB=$3; RT=$4; MAKE_MODEL=$5
HERE=$(cd "$(dirname "$0")" && pwd)
if ! command -v swtpm >/dev/null; then
  echo "SKIP: swtpm is not installed (scripts/setup.sh --test installs swtpm and tpm2-tools)"
  exit 77
fi
W=$(mktemp -d /tmp/arca-tpm-test.XXXXXX)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$W"; }
trap cleanup EXIT
[[ -n ${KEEP:-} ]] && trap - EXIT
fail() { echo "FAIL: $*"; for f in "$W"/*.log; do echo "== $f"; tail -5 "$f"; done; exit 1; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq $((${2:-20} * 10))); do (echo >/dev/tcp/127.0.0.1/$1) 2>/dev/null && return 0; sleep 0.1; done; return 1; }
bindable() { python3 -c 'import socket,sys; s=socket.socket(); s.bind(("127.0.0.1",int(sys.argv[1])))' "$1" 2>/dev/null; }
export HOME=$W/lab TMPDIR=$W/tmp; mkdir -p "$HOME" "$TMPDIR"

# swtpm on a free port pair (server P, control P+1) below the ephemeral
# range, as runtime/tpm_test.cc does; retried when the pair is taken.
mkdir -p "$W/tpmstate"
TP=
for _ in 1 2 3 4 5; do
  p=$((20000 + RANDOM % 12000))
  bindable "$p" && bindable $((p + 1)) || continue
  swtpm socket --tpm2 --tpmstate "dir=$W/tpmstate" --server "type=tcp,port=$p,bindaddr=127.0.0.1" \
    --ctrl "type=tcp,port=$((p + 1)),bindaddr=127.0.0.1" --flags not-need-init,startup-clear 2>"$W/swtpm.log" & spid=$!
  if wait_port "$p" 5; then TP=$p; PIDS+=($spid); break; fi
  kill "$spid" 2>/dev/null || true
done
[[ -n $TP ]] || fail "swtpm did not start"
TCTI="swtpm:host=127.0.0.1,port=$TP"

# The enterprise exports its runtime's attestation key; the lab enrolls it.
"$RT" tpm-ak -o "$W/ak.pem" --tpm-tcti "$TCTI" >"$W/tpm-ak.out" || fail "tpm-ak: $(cat "$W/tpm-ak.out")"
grep -q "created now" "$W/tpm-ak.out" || fail "the first tpm-ak did not create the key: $(cat "$W/tpm-ak.out")"
"$RT" tpm-ak -o "$W/ak2.pem" --tpm-tcti "$TCTI" >"$W/tpm-ak2.out" || fail "second tpm-ak"
grep -q "existing" "$W/tpm-ak2.out" || fail "the second tpm-ak did not reuse the key"
cmp -s "$W/ak.pem" "$W/ak2.pem" || fail "tpm-ak exported two different keys"
openssl pkey -pubin -in "$W/ak.pem" -noout 2>/dev/null || fail "ak.pem is not a PEM public key"
# Another AK nobody enrolled: a fresh P-256 key.
openssl ecparam -name prime256v1 -genkey -noout -out "$W/other.key" 2>/dev/null
openssl pkey -in "$W/other.key" -pubout -out "$W/other-ak.pem"

# The lab: a model, keys, a signed package, a policy allowing this runtime's PCR 23.
"$MAKE_MODEL" "$W/model" --mib 6 --seed 37 >/dev/null
"$ARCA" key new -o "$W/a.key" >/dev/null && "$ARCA" key pub "$W/a.key" >"$W/a.pub"
"$ARCA" root init acme --key "$W/a.pub" --threshold 1 --sign "$W/a.key" -o "$W/root.json" >/dev/null
"$ARCA" lineage-key new -o "$W/lk" >/dev/null
"$ARCA" seal "$W/model" -o "$W/pkg" --name acme/med --version 1.0 --lineage-key "$W/lk" --sign "$W/a.key" >/dev/null
M=$("$RT" measurement --tee tpm)
[[ $M =~ ^[0-9a-f]{64}$ ]] || fail "tpm measurement: '$M'"
"$ARCA" policy new "$W/pkg" -o "$W/policy.json" >/dev/null
"$ARCA" policy allow "$W/policy.json" --platform tpm --measurement "$M" >/dev/null
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

# The broker trusts the enrolled AK, and no simulated evidence.
"$KB" register "$W/pkg" --lineage-key "$W/lk" --root "$W/root.json" --data "$W/kb" >/dev/null || fail "register"
KP=$(free_port)
"$KB" serve --data "$W/kb" --listen "127.0.0.1:$KP" --tpm-ak "$W/ak.pem" 2>"$W/kb.log" & PIDS+=($!)
wait_port "$KP" || fail "broker did not start"

# A policy dry run on TPM evidence, with and without the AK.
"$RT" evidence --tee tpm --tpm-tcti "$TCTI" -o "$W/ev.json" >/dev/null || fail "tpm evidence"
"$ARCA" policy test "$W/policy.json" "$W/ev.json" --tpm-ak "$W/ak.pem" >"$W/ptest.out" 2>&1 \
  || fail "policy test refused the runtime's TPM evidence: $(cat "$W/ptest.out")"
if "$ARCA" policy test "$W/policy.json" "$W/ev.json" >/dev/null 2>&1; then
  fail "policy test accepted a TPM quote without a trusted AK"
fi

# Serve on the TPM: the engine gets the exact plaintext.
SP=$(free_port)
"$RT" serve "127.0.0.1:$RP/acme/med:1.0" --store "$W/store" --broker "http://127.0.0.1:$KP" --tee tpm --tpm-tcti "$TCTI" \
  --model-file model.safetensors --engine "python3 $HERE/hash_engine.py {model} {port}" --listen "127.0.0.1:$SP" \
  2>"$W/rt.log" & RT_PID=$!; PIDS+=($RT_PID)
wait_port "$SP" 60 || fail "arca-runtime serve --tee tpm did not come up"
want=$(sha256sum "$W/model/model.safetensors" | cut -c1-64)
got=$("$ARCA" connect "https://127.0.0.1:$SP" --policy "$W/policy.json" --tpm-ak "$W/ak.pem" /sha256 2>"$W/connect.log") \
  || fail "arca connect --tpm-ak"
[[ $got == "$want" ]] || fail "engine saw '$got', the model is $want"
# A client that trusts no AK, or another one, sends nothing.
set +e
"$ARCA" connect "https://127.0.0.1:$SP" --policy "$W/policy.json" /sha256 >"$W/c-noak.out" 2>"$W/c-noak.log"; rc1=$?
"$ARCA" connect "https://127.0.0.1:$SP" --policy "$W/policy.json" --tpm-ak "$W/other-ak.pem" /sha256 \
  >"$W/c-other.out" 2>"$W/c-other.log"; rc2=$?
set -e
[[ $rc1 == 6 && ! -s $W/c-noak.out ]] || fail "arca connect without --tpm-ak: exit $rc1, output '$(cat "$W/c-noak.out")'"
[[ $rc2 == 6 && ! -s $W/c-other.out ]] || fail "arca connect with another AK: exit $rc2, output '$(cat "$W/c-other.out")'"
grep -q "evidence" "$W/c-other.log" || fail "the client's refusal does not name the evidence clause: $(cat "$W/c-other.log")"
kill "$RT_PID"; wait "$RT_PID" 2>/dev/null || true

# A broker that trusts another AK: no keys, the evidence clause named, nothing listens.
KP2=$(free_port)
"$KB" serve --data "$W/kb" --listen "127.0.0.1:$KP2" --tpm-ak "$W/other-ak.pem" 2>"$W/kb2.log" & PIDS+=($!)
wait_port "$KP2" || fail "second broker"
SP2=$(free_port)
set +e
timeout 60 "$RT" serve "acme/med:1.0" --store "$W/store" --broker "http://127.0.0.1:$KP2" --tee tpm --tpm-tcti "$TCTI" \
  --engine "python3 $HERE/hash_engine.py {model} {port}" --listen "127.0.0.1:$SP2" 2>"$W/rt-otherak.log"; rc=$?
set -e
[[ $rc == 6 ]] || fail "a broker trusting another AK: runtime exited $rc, expected 6"
grep -q "policy clause evidence" "$W/rt-otherak.log" || fail "the other-AK refusal does not name the evidence clause"
(echo >/dev/tcp/127.0.0.1/$SP2) 2>/dev/null && fail "something listens after a refusal"

# A runtime presenting a measurement the policy does not list: refused by the right broker.
set +e
timeout 60 "$RT" serve "acme/med:1.0" --store "$W/store" --broker "http://127.0.0.1:$KP" --tee tpm --tpm-tcti "$TCTI" \
  --measurement "$(printf 'ab%.0s' $(seq 48))" \
  --engine "python3 $HERE/hash_engine.py {model} {port}" --listen "127.0.0.1:$SP2" 2>"$W/rt-meas.log"; rc=$?
set -e
[[ $rc == 6 ]] || fail "an unlisted measurement: runtime exited $rc, expected 6"
grep -q "policy clause measurement" "$W/rt-meas.log" || fail "the measurement refusal does not name the clause"

released=$("$KB" releases --data "$W/kb" --json | python3 -c 'import json,sys; d=json.load(sys.stdin); print(sum(r["released"] for r in d), len(d), sorted(set(r["platform"] for r in d)))')
[[ $released == "1 3 ['tpm']" ]] || fail "release log: expected 1 release of 3 tpm requests, got '$released'"
echo "ok: --tee tpm on swtpm: the enrolled persistent AK gets the keys and the engine the exact plaintext; another AK (broker or client), no AK, an unlisted measurement refused"
