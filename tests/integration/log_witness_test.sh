#!/usr/bin/env bash
# Witnesses end to end (specs/log.md §4, §4.1, §7 step 5; specs/registry.md §8)
# with real processes on loopback: one arca-registry and two witnesses
# (arca-registry witness serve). Checked: pushes and pulls carry both
# cosignatures (also in the saved tlog-proof); a client that requires 2
# refuses a checkpoint one witness did not cosign (exit 11, "witnesses:")
# and accepts it with --min-witnesses 1; the witness is asked again once it
# is back; a registry that forks its history (an older copy of its data
# directory that then takes other pushes) gets no cosignature, the witness
# keeps the forked checkpoint as evidence, and a client seeing that registry
# for the first time — nothing stored to compare with — refuses it because
# the witness did not cosign; a state file asking for more witnesses than
# it trusts is refused; the audit shows the cosignatures and its offline
# check needs each witness's key.
#   log_witness_test.sh ARCA ARCA_REGISTRY MAKE_MODEL
set -euo pipefail
ARCA=$1; REG=$2; MAKE_MODEL=$3
W=$(mktemp -d /tmp/arca-log-witness-test.XXXXXX)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null; rm -rf "$W"; }
trap cleanup EXIT
fail() { echo "FAIL: $*"; for f in "$W"/*.err; do echo "== $f"; tail -5 "$f"; done; exit 1; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 100); do (echo >/dev/tcp/127.0.0.1/$1) 2>/dev/null && return 0; sleep 0.1; done; fail "nothing listens on $1"; }
PORT=$(free_port); W1_PORT=$(free_port); W2_PORT=$(free_port)
start_witness() {  # NAME PORT -> sets LAST_PID
  "$REG" witness serve --data "$W/$1" --log-key "$W/log.vkey" --listen "127.0.0.1:$2" 2>>"$W/$1.err" &
  LAST_PID=$!; PIDS+=("$LAST_PID"); wait_port "$2"
}
start_registry() {  # DATA
  "$REG" serve --data "$1" --listen "127.0.0.1:$PORT" --quiet --witness-retry 1 \
    --witness "http://127.0.0.1:$W1_PORT" "$W/w1.vkey" --witness "http://127.0.0.1:$W2_PORT" "$W/w2.vkey" 2>>"$W/reg.err" &
  REG_PID=$!; PIDS+=("$REG_PID"); wait_port "$PORT"
}
stop() { kill "$1"; wait "$1" 2>/dev/null || true; }
R=127.0.0.1:$PORT/acme/m
json_get() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1]))
for k in sys.argv[2].split("."): d=d[k]
print(json.dumps(d))' "$1" "$2"; }

export HOME=$W/lab; mkdir -p "$HOME"
"$MAKE_MODEL" "$W/model" --mib 1 --seed 11 >/dev/null
"$MAKE_MODEL" "$W/model2" --mib 1 --seed 12 >/dev/null
"$ARCA" key new -o "$W/a.key" >/dev/null && "$ARCA" key pub "$W/a.key" >"$W/a.pub"
"$ARCA" root init acme --key "$W/a.pub" --threshold 1 --sign "$W/a.key" -o "$W/root.json" >/dev/null
"$ARCA" lineage-key new -o "$W/lk" >/dev/null
"$ARCA" seal "$W/model" -o "$W/pkg1" --name acme/m --version 1.0 --lineage-key "$W/lk" --sign "$W/a.key" >/dev/null
"$ARCA" seal "$W/model2" -o "$W/pkg2" --name acme/m --version 2.0 --lineage-key "$W/lk" --sign "$W/a.key" >/dev/null
"$REG" namespace add acme --root "$W/root.json" --data "$W/var" >/dev/null 2>&1
"$REG" log key --data "$W/var" >"$W/log.vkey"
"$REG" witness key --data "$W/w1" --name w1.example/witness >"$W/w1.vkey"
"$REG" witness key --data "$W/w2" --name w2.example/witness >"$W/w2.vkey"
grep -qE '^w1\.example/witness\+[0-9a-f]{8}\+[A-Za-z0-9+/]+=*$' "$W/w1.vkey" || fail "witness key is not a C2SP verifier key: $(cat "$W/w1.vkey")"
[[ $(stat -c %a "$W/w1/witness.key") == 600 ]] || fail "the witness's signing key is not mode 0600"
"$REG" witness key --data "$W/w1" | cmp -s - "$W/w1.vkey" || fail "witness key changed on a second call"
start_witness w1 "$W1_PORT"; W1_PID=$LAST_PID
start_witness w2 "$W2_PORT"; W2_PID=$LAST_PID
start_registry "$W/var"
TOKEN=$("$REG" token create --namespace acme --scope push,pull --data "$W/var" 2>/dev/null | tail -1)
"$ARCA" login "127.0.0.1:$PORT" --token "$TOKEN" >/dev/null
"$ARCA" push "$W/pkg1" "$R:1.0" --json >"$W/push1.json" || fail "push"
# The lab trusts no witness, so its client verified and reports none.
[[ $(json_get "$W/push1.json" log.witnesses) == '[]' ]] || fail "push reported unverified cosigners: $(json_get "$W/push1.json" log)"
curl -sf "http://127.0.0.1:$PORT/arca/v1/log/checkpoint" >"$W/cp1"
grep -q "^— w1.example/witness " "$W/cp1" && grep -q "^— w2.example/witness " "$W/cp1" \
  || fail "the served checkpoint lacks a cosignature: $(cat "$W/cp1")"

# An enterprise that requires both witnesses.
export HOME=$W/ent; mkdir -p "$HOME"
"$ARCA" login "127.0.0.1:$PORT" --token "$TOKEN" >/dev/null
"$ARCA" trust add acme "$W/root.json" >/dev/null
"$ARCA" trust witness "127.0.0.1:$PORT" "$W/w1.vkey" --min 3 >"$W/tw.log" 2>&1 && fail "--min above the trusted witnesses was accepted"
"$ARCA" trust witness "127.0.0.1:$PORT" "$W/w1.vkey" >/dev/null
"$ARCA" trust witness "127.0.0.1:$PORT" "$W/w2.vkey" --min 2 --json >"$W/tw.json"
[[ $(json_get "$W/tw.json" min_witnesses) == 2 ]] || fail "trust witness --min 2 not recorded: $(cat "$W/tw.json")"
"$ARCA" pull "$R:1.0" --store "$W/store" --json >"$W/p1.json" || fail "pull with 2 cosignatures"
[[ $(json_get "$W/p1.json" log.witnesses) == '["w1.example/witness", "w2.example/witness"]' ]] \
  || fail "pull does not report the cosigners: $(json_get "$W/p1.json" log)"
grep -q "^— w2.example/witness " "$W/store/log/"*.tlog-proof || fail "the saved tlog-proof lacks the cosignatures"

# Witness 2 goes away; the lab publishes 2.0 anyway (cosignatures never block a push).
stop "$W2_PID"
export HOME=$W/lab
"$ARCA" push "$W/pkg2" "$R:2.0" >/dev/null || fail "push while a witness is down"
curl -sf "http://127.0.0.1:$PORT/arca/v1/log/witnesses" >"$W/ws.json"
python3 - "$W/ws.json" <<'PY' || fail "the registry does not report the failing witness: $(cat "$W/ws.json")"
import json,sys; ws={w["name"]: w for w in json.load(open(sys.argv[1]))["witnesses"]}
assert ws["w1.example/witness"]["error"] is None and ws["w1.example/witness"]["cosignedSize"] == 5, ws
assert ws["w2.example/witness"]["error"], ws
PY
export HOME=$W/ent
set +e; "$ARCA" pull "$R:2.0" --store "$W/store" >"$W/p2.log" 2>&1; rc=$?; set -e
[[ $rc == 11 ]] && grep -q "witnesses:.*1 trusted cosignatures, policy requires 2" "$W/p2.log" \
  || fail "a checkpoint with 1 of 2 cosignatures was not refused (rc $rc): $(cat "$W/p2.log")"
"$ARCA" pull "$R:2.0" --store "$W/store" --min-witnesses 1 >/dev/null 2>&1 || fail "--min-witnesses 1 did not accept it"
# Back again: the registry asks it again (retry 1 s) with a proof from the size it holds.
start_witness w2 "$W2_PORT"; W2_PID=$LAST_PID
sleep 1.2
"$ARCA" pull "$R:2.0" --store "$W/store" --json >"$W/p3.json" || fail "pull after the witness came back: $(cat "$W/reg.err" | tail -3)"
[[ $(json_get "$W/p3.json" log.witnesses) == '["w1.example/witness", "w2.example/witness"]' ]] || fail "not cosigned again"

# The audit carries the trusted witnesses' cosignatures; offline, the
# auditor must name each witness's key (nothing in a bundle goes unchecked).
"$ARCA" audit "$R" >"$W/audit.txt" || fail "audit with witnesses"
grep -q "cosigned by witness w1.example/witness" "$W/audit.txt" && grep -q "cosigned by witness w2.example/witness" "$W/audit.txt" \
  || fail "audit does not show the cosignatures: $(head -5 "$W/audit.txt")"
"$ARCA" audit "$R" --bundle "$W/b.arca-audit" >/dev/null || fail "audit --bundle"
"$ARCA" audit --verify "$W/b.arca-audit" --root "$W/root.json" --log-key "$W/log.vkey" --witness-key "$W/w1.vkey" \
  --witness-key "$W/w2.vkey" --min-witnesses 2 --json >"$W/offline.json" || fail "offline verify with both witness keys"
[[ $(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["log"]["cosignatures"]))' "$W/offline.json") == 2 ]] \
  || fail "offline report lacks the cosignatures"
set +e; "$ARCA" audit --verify "$W/b.arca-audit" --root "$W/root.json" --log-key "$W/log.vkey" >"$W/nokeys.log" 2>&1; rc=$?; set -e
[[ $rc == 5 ]] && grep -q -- "--witness-key" "$W/nokeys.log" || fail "a bundle with unnamed witnesses verified (rc $rc): $(cat "$W/nokeys.log")"

# A fork: the registry's data directory is replaced by an older copy (same
# log key), which then takes a different push. Its history no longer extends
# what the witnesses cosigned: they refuse, and keep it as evidence.
stop "$REG_PID"
mv "$W/var" "$W/var-new"
"$REG" namespace add acme --root "$W/root.json" --data "$W/var" >/dev/null 2>&1
cp "$W/var-new/log.key" "$W/var/log.key"
start_registry "$W/var"
TOKEN2=$("$REG" token create --namespace acme --scope push,pull --data "$W/var" 2>/dev/null | tail -1)
export HOME=$W/forker; mkdir -p "$HOME"  # whoever pushes to the restored copy (the lab's own client would refuse it)
"$ARCA" login "127.0.0.1:$PORT" --token "$TOKEN2" >/dev/null
"$ARCA" push "$W/pkg2" "$R:1.0" >/dev/null 2>&1 || fail "push to the restored copy"
"$ARCA" push "$W/pkg1" "$R:other" >/dev/null 2>&1 || fail "push to the restored copy"
"$ARCA" push "$W/pkg2" "$R:x" >/dev/null 2>&1 || fail "push to the restored copy"
curl -sf "http://127.0.0.1:$PORT/arca/v1/log/checkpoint" >"$W/cp-fork"
grep -q "^— w1.example/witness " "$W/cp-fork" && fail "a witness cosigned the forked history: $(cat "$W/cp-fork")"
grep -q "rolled back or forked\|refused the checkpoint" "$W/reg.err" || fail "the registry did not report the witnesses' refusal"
"$REG" witness status --data "$W/w1" --json >"$W/wstatus.json"
python3 - "$W/wstatus.json" <<'PY' || fail "the witness kept no evidence of the fork: $(cat "$W/wstatus.json")"
import json,sys; d=json.load(open(sys.argv[1]))
assert d["logs"][0]["size"] >= 5, d["logs"]
assert d["refused"] and any(w in r["why"] for r in d["refused"] for w in ("rollback", "split-view")), d["refused"]
PY
# A client meeting this registry for the first time has nothing to compare
# with; only the witness requirement stops it.
export HOME=$W/fresh; mkdir -p "$HOME"
"$ARCA" login "127.0.0.1:$PORT" --token "$TOKEN2" >/dev/null
"$ARCA" trust add acme "$W/root.json" >/dev/null
"$ARCA" trust log "127.0.0.1:$PORT" "$W/log.vkey" >/dev/null
"$ARCA" trust witness "127.0.0.1:$PORT" "$W/w1.vkey" --min 1 >/dev/null
set +e; "$ARCA" pull "$R:1.0" --store "$W/store-fresh" >"$W/pf.log" 2>&1; rc=$?; set -e
[[ $rc == 11 ]] && grep -q "witnesses:" "$W/pf.log" || fail "a fresh client accepted an uncosigned fork (rc $rc): $(cat "$W/pf.log")"
[[ ! -e $W/store-fresh/index.json ]] || ! grep -q "acme/m" "$W/store-fresh/index.json" || fail "a refused pull installed something"

# A damaged state: more required than trusted.
STATE=$(ls "$HOME"/.config/arca/logs/*.json)
python3 - "$STATE" <<'PY'
import json,sys; d=json.load(open(sys.argv[1])); d["minWitnesses"]=2; json.dump(d, open(sys.argv[1],"w"))
PY
set +e; "$ARCA" pull "$R:1.0" --store "$W/store-fresh" >"$W/bad.log" 2>&1; rc=$?; set -e
[[ $rc == 2 ]] && grep -q "minWitnesses 2 exceeds" "$W/bad.log" || fail "a state requiring more witnesses than it trusts was used (rc $rc): $(cat "$W/bad.log")"
echo "PASS: witnesses cosign, quorum enforced, fork refused by witnesses and kept as evidence"
