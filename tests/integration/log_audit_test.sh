#!/usr/bin/env bash
# The transparency log end to end (specs/log.md, specs/registry.md §8,
# specs/registry-client.md §8-§9) against a real arca-registry on loopback:
# pull pins the log and keeps a checkpoint; a tag moved back to an older
# version is refused (exit 11) unless --allow-downgrade; a registry restored
# from an older copy of its data directory (rollback) and one that serves a
# different history under the same key (fork) are refused, and a refusal
# leaves the client's state untouched; a registry with another log key is
# refused; the audit bundle verifies offline and a changed byte at any of
# ~150 positions spread over it is refused; the wrong log key or root is
# refused; a countersignature is listed with its signer, note and time
# (JSON and text); CycloneDX 1.6 and SPDX 3.0.1 exports validate against
# the official schemas.
#   log_audit_test.sh ARCA ARCA_REGISTRY MAKE_MODEL VALIDATE_BOM SCHEMA_DIR
set -euo pipefail
ARCA=$1; REG=$2; MAKE_MODEL=$3; VALIDATE=$4; SCHEMAS=$5
W=$(mktemp -d /tmp/arca-log-audit-test.XXXXXX)
REG_PID=""
cleanup() { [[ -n $REG_PID ]] && kill "$REG_PID" 2>/dev/null; wait 2>/dev/null; rm -rf "$W"; }
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
start() {  # start DATA_DIR
  "$REG" serve --data "$1" --listen "127.0.0.1:$PORT" --quiet 2>>"$W/reg.log" &
  REG_PID=$!
  for _ in $(seq 100); do (echo >/dev/tcp/127.0.0.1/$PORT) 2>/dev/null && return 0; sleep 0.1; done
  fail "arca-registry did not start"
}
stop() { kill "$REG_PID"; wait "$REG_PID" 2>/dev/null || true; REG_PID=""; }
R=127.0.0.1:$PORT/acme/m

export HOME=$W/lab; mkdir -p "$HOME"
"$MAKE_MODEL" "$W/model" --mib 2 --seed 5 >/dev/null
"$ARCA" key new -o "$W/a.key" >/dev/null && "$ARCA" key pub "$W/a.key" >"$W/a.pub"
"$ARCA" root init acme --key "$W/a.pub" --threshold 1 --sign "$W/a.key" -o "$W/root.json" >/dev/null
"$ARCA" lineage-key new -o "$W/lk" >/dev/null
DS=$(printf 'pubmed abstracts' | sha256sum | cut -d' ' -f1)
"$ARCA" seal "$W/model" -o "$W/pkg1" --name acme/m --version 1.0 --lineage-key "$W/lk" --sign "$W/a.key" \
  --dataset "pubmed=https://data.example/pubmed.tar@sha256:$DS" >/dev/null
"$MAKE_MODEL" "$W/model2" --mib 2 --seed 6 >/dev/null
"$ARCA" seal "$W/model2" -o "$W/pkg2" --name acme/m --version 1.1 --lineage-key "$W/lk" --sign "$W/a.key" --parent "$W/pkg1" \
  --dataset "pubmed=https://data.example/pubmed.tar@sha256:$DS" >/dev/null
"$ARCA" policy new "$W/pkg2" -o "$W/pol.json" >/dev/null
"$ARCA" policy allow "$W/pol.json" --platform sev-snp --measurement "$(printf 'a%.0s' $(seq 96))" >/dev/null
"$ARCA" policy sign "$W/pol.json" --key "$W/a.key" >/dev/null
"$ARCA" policy attach "$W/pkg2" "$W/pol.json" >/dev/null
# An auditor countersigns 1.1 before it is published; the audit names them.
"$ARCA" key new -o "$W/d.key" >/dev/null
"$ARCA" countersign "$W/pkg2" --key "$W/d.key" --note "reviewed by compliance; see ticket #7" --json >"$W/cs.json"
CS_KEY=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["countersignedBy"])' "$W/cs.json")
[[ $CS_KEY =~ ^[0-9a-f]{64}$ ]] || fail "countersign --json did not name the key: $(cat "$W/cs.json")"
"$REG" namespace add acme --root "$W/root.json" --data "$W/var" >/dev/null 2>&1
"$REG" log key --data "$W/var" >"$W/log.key"
grep -qE '^[^ +]+\+[0-9a-f]{8}\+[A-Za-z0-9+/]+=*$' "$W/log.key" || fail "log key is not a C2SP verifier key: $(cat "$W/log.key")"
[[ $(stat -c %a "$W/var/log.key") == 600 ]] || fail "the log's signing key is not mode 0600"
start "$W/var"
TOKEN=$("$REG" token create --namespace acme --scope push,pull --data "$W/var" 2>/dev/null | tail -1)
"$ARCA" login "127.0.0.1:$PORT" --token "$TOKEN" >/dev/null
"$ARCA" push "$W/pkg1" "$R:1.0" --json >"$W/push1.json"
python3 -c 'import json,sys; l=json.load(open(sys.argv[1]))["log"]; assert l["publish_index"]==1 and l["size"]==3, l' "$W/push1.json" \
  || fail "push did not report its publish entry: $(cat "$W/push1.json")"
"$ARCA" push "$W/pkg1" "$R:latest" >/dev/null

export HOME=$W/ent; mkdir -p "$HOME"
"$ARCA" login "127.0.0.1:$PORT" --token "$TOKEN" >/dev/null
"$ARCA" trust add acme "$W/root.json" >/dev/null
"$ARCA" pull "$R:latest" --store "$W/store" --json >"$W/p1.json" || fail "first pull"
python3 - "$W/p1.json" <<'PY' || fail "pull --json lacks the log facts"
import json,sys; d=json.load(open(sys.argv[1])); l=d["log"]
assert l["key_pinned_now"] is True and l["size"] == 4 and l["publish_index"] == 1, l
PY
STATE=$(ls "$HOME"/.config/arca/logs/*.json)
[[ $(stat -c %a "$STATE") == 600 ]] || fail "the log state is not mode 0600"
ls "$W/store/log/"*.tlog-proof >/dev/null || fail "no tlog-proof saved beside the package"
head -1 "$(ls "$W/store/log/"*.tlog-proof | head -1)" | grep -qx 'c2sp.org/tlog-proof@v1' || fail "saved proof is not a tlog-proof@v1"

# A key pinned out of band: the right one is used (nothing learned at first
# contact), a wrong one refuses the registry before anything is fetched.
mkdir -p "$W/wrongkey"; "$REG" log key --data "$W/wrongkey" >"$W/wrong.key"
export HOME=$W/pinned; mkdir -p "$HOME"
"$ARCA" login "127.0.0.1:$PORT" --token "$TOKEN" >/dev/null
"$ARCA" trust add acme "$W/root.json" >/dev/null
"$ARCA" trust log "127.0.0.1:$PORT" "$W/wrong.key" >/dev/null
set +e; "$ARCA" pull "$R:1.0" --store "$W/store-p" >"$W/wk.log" 2>&1; rc=$?; set -e
[[ $rc == 11 ]] && grep -q "unknown-key:" "$W/wk.log" || fail "a wrongly pinned log key did not refuse (rc $rc): $(cat "$W/wk.log")"
"$ARCA" trust log "127.0.0.1:$PORT" "$W/log.key" >/dev/null 2>&1 && fail "trust log replaced a pinned key without --replace"
"$ARCA" trust log "127.0.0.1:$PORT" "$W/log.key" --replace >/dev/null
"$ARCA" pull "$R:1.0" --store "$W/store-p" --json >"$W/pp.json" || fail "pull with the pinned key"
python3 -c 'import json,sys; assert json.load(open(sys.argv[1]))["log"]["key_pinned_now"] is False' "$W/pp.json" \
  || fail "a pinned key was learned again"
export HOME=$W/ent

# Publish 1.1 and move latest to it; the client follows.
export HOME=$W/lab
"$ARCA" push "$W/pkg2" "$R:1.1" >/dev/null
"$ARCA" push "$W/pkg2" "$R:latest" >/dev/null
export HOME=$W/ent
"$ARCA" pull "$R:latest" --store "$W/store" >/dev/null 2>&1 || fail "pull of latest = 1.1"

# Rollback of a tag: the lab's token moves latest back to 1.0 (a valid,
# logged, still-signed version). Refused unless --allow-downgrade.
export HOME=$W/lab
"$ARCA" push "$W/pkg1" "$R:latest" >/dev/null
export HOME=$W/ent
set +e; "$ARCA" pull "$R:latest" --store "$W/store" >"$W/dg.log" 2>&1; rc=$?; set -e
[[ $rc == 11 ]] || fail "a tag moved back to 1.0 was not refused with exit 11 (rc $rc): $(cat "$W/dg.log")"
grep -q "downgrade:" "$W/dg.log" || fail "the downgrade refusal does not say so: $(cat "$W/dg.log")"
"$ARCA" pull "$R:latest" --store "$W/store" --allow-downgrade >/dev/null 2>&1 || fail "--allow-downgrade did not accept it"
cp "$STATE" "$W/state-before"

# Rollback of the whole registry: an older copy of the data directory.
stop
mv "$W/var" "$W/var-new"
mkdir -p "$W/var-old"
"$REG" namespace add acme --root "$W/root.json" --data "$W/var-old" >/dev/null 2>&1
cp "$W/var-new/log.key" "$W/var-old/log.key"
start "$W/var-old"
set +e; "$ARCA" pull "$R:1.0" --store "$W/store2" >"$W/rb.log" 2>&1; rc=$?; set -e
[[ $rc == 11 ]] || fail "a registry whose log shrank was not refused with exit 11 (rc $rc): $(cat "$W/rb.log")"
grep -q "rollback:" "$W/rb.log" || fail "the rollback refusal does not name it: $(cat "$W/rb.log")"
[[ ! -e $W/store2/index.json ]] || ! grep -q "acme/m" "$W/store2/index.json" || fail "a refused pull installed something"
cmp -s "$STATE" "$W/state-before" || fail "a refused pull changed the client's log state"
stop

# A fork: same key and origin, a different history (its root entry has
# another time) that is longer than what the client saw.
rm -rf "$W/var-fork"; mkdir -p "$W/var-fork"
"$REG" namespace add acme --root "$W/root.json" --data "$W/var-fork" >/dev/null 2>&1
cp "$W/var-new/log.key" "$W/var-fork/log.key"
start "$W/var-fork"
TOKEN2=$("$REG" token create --namespace acme --scope push,pull --data "$W/var-fork" 2>/dev/null | tail -1)
export HOME=$W/forger; mkdir -p "$HOME"
"$ARCA" login "127.0.0.1:$PORT" --token "$TOKEN2" >/dev/null
for t in a b c d e f g h; do "$ARCA" push "$W/pkg2" "$R:$t" >/dev/null; done
# The lab, pushing there, notices too: its bytes went in, the log is refused.
export HOME=$W/lab
"$ARCA" login "127.0.0.1:$PORT" --token "$TOKEN2" >/dev/null
set +e; "$ARCA" push "$W/pkg1" "$R:z" >"$W/labfork.log" 2>&1; rc=$?; set -e
[[ $rc == 11 ]] && grep -q "split-view:" "$W/labfork.log" || fail "the lab's push did not notice the fork (rc $rc): $(cat "$W/labfork.log")"
export HOME=$W/ent
"$ARCA" login "127.0.0.1:$PORT" --token "$TOKEN2" >/dev/null
set +e; "$ARCA" pull "$R:a" --store "$W/store2" >"$W/fork.log" 2>&1; rc=$?; set -e
[[ $rc == 11 ]] || fail "a forked log was not refused with exit 11 (rc $rc): $(cat "$W/fork.log")"
grep -q "split-view:" "$W/fork.log" || fail "the fork refusal does not name it: $(cat "$W/fork.log")"
stop

# Another log key (a registry that replaced its key): unknown-key.
rm -rf "$W/var-other"; mkdir -p "$W/var-other"
"$REG" namespace add acme --root "$W/root.json" --data "$W/var-other" >/dev/null 2>&1
start "$W/var-other"
set +e; "$ARCA" pull "$R:1.0" --store "$W/store2" >"$W/key.log" 2>&1; rc=$?; set -e
[[ $rc == 11 ]] && grep -q "unknown-key:" "$W/key.log" || fail "a registry with another log key was not refused: $(cat "$W/key.log")"
stop

# Back to the real registry: the client goes on where it was.
mv "$W/var-new" "$W/var"; start "$W/var"
export HOME=$W/ent
"$ARCA" login "127.0.0.1:$PORT" --token "$TOKEN" >/dev/null
"$ARCA" pull "$R:1.1" --store "$W/store" >/dev/null 2>&1 || fail "the honest registry is refused after the attacks"
D1=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["digest"])' "$W/p1.json")
"$ARCA" pull "$R@$D1" --store "$W/store3" >/dev/null 2>&1 || fail "pull by digest with the log checks"

# Audit.
"$ARCA" audit "$R" --json >"$W/audit.json" || fail "arca audit --json"
python3 - "$W/audit.json" "$CS_KEY" <<'PY' || fail "audit report incomplete"
import json,sys; r=json.load(open(sys.argv[1]))
vs={v["version"]: v for v in r["versions"]}
assert set(vs) == {"1.0","1.1"}, vs.keys()
assert vs["1.1"]["parent"] == vs["1.0"]["package"], "provenance chain"
assert vs["1.1"]["policy"]["allow"][0]["platform"] == "sev-snp"
deps = vs["1.0"]["provenance"]["buildDefinition"]["resolvedDependencies"]
assert any(d["name"] == "dataset:pubmed" for d in deps)
assert [t["tag"] for t in r["tags"]].count("latest") == 3, r["tags"]
assert r["roots"][0]["version"] == 1 and r["keyReleases"] == []
assert all(isinstance(v["logIndex"], int) for v in r["versions"])
assert vs["1.0"]["countersignatures"] == [], vs["1.0"]["countersignatures"]
[c] = vs["1.1"]["countersignatures"]
assert c["keyId"] == sys.argv[2] and c["verified"] is True and c["problem"] is None, c
assert c["note"] == "reviewed by compliance; see ticket #7", c
assert c["signedAt"].endswith("Z") and c["publicKey"].startswith("-----BEGIN PUBLIC KEY-----"), c
assert len(c["keyId"]) == len(vs["1.1"]["signers"][0]), "countersigner and signer key IDs differ in form"
PY
"$ARCA" audit "$R" >"$W/audit.txt" || fail "arca audit (text)"
grep -qE "^    countersigned by $CS_KEY at [0-9T:-]+Z: \"reviewed by compliance; see ticket #7\"  \[signature and subject verified\]$" "$W/audit.txt" \
  || fail "the text report does not list the countersignature: $(cat "$W/audit.txt")"
"$ARCA" audit "$R" --bundle "$W/b.arca-audit" >/dev/null || fail "arca audit --bundle"
stop; REG_PID=""
# Offline: no registry, another HOME.
export HOME=$W/auditor; mkdir -p "$HOME"
"$ARCA" audit --verify "$W/b.arca-audit" --root "$W/root.json" --log-key "$W/log.key" --json >"$W/offline.json" \
  || fail "the bundle does not verify offline"
norm='import json,sys; r=json.load(open(sys.argv[1])); r.pop("consistency",None); r["log"].pop("time"); print(json.dumps(r,sort_keys=True))'
cmp -s <(python3 -c "$norm" "$W/audit.json") <(python3 -c "$norm" "$W/offline.json") \
  || fail "the offline report differs from the online one"
"$ARCA" key new -o "$W/b.key" >/dev/null && "$ARCA" key pub "$W/b.key" >"$W/b.pub"
"$ARCA" root init acme --key "$W/b.pub" --threshold 1 --sign "$W/b.key" -o "$W/other-root.json" >/dev/null
"$ARCA" audit --verify "$W/b.arca-audit" --root "$W/other-root.json" --log-key "$W/log.key" >/dev/null 2>&1 \
  && fail "the bundle verified against another root"
"$REG" log key --data "$W/var-other" >"$W/other.key"
"$ARCA" audit --verify "$W/b.arca-audit" --root "$W/root.json" --log-key "$W/other.key" >"$W/k.log" 2>&1 \
  && fail "the bundle verified against another log key"
grep -q "log-key:" "$W/k.log" || fail "wrong log key not named: $(cat "$W/k.log")"
# A changed byte anywhere: ~150 positions over the whole file.
size=$(stat -c %s "$W/b.arca-audit")
step=$(( size / 150 + 1 ))
for ((pos = 0; pos < size; pos += step)); do
  python3 - "$W/b.arca-audit" "$pos" <<'PY'
import sys; p=sys.argv[1]; i=int(sys.argv[2]); b=bytearray(open(p,'rb').read()); b[i]^=0x01; open(p+'.t','wb').write(b)
PY
  if "$ARCA" audit --verify "$W/b.arca-audit.t" --root "$W/root.json" --log-key "$W/log.key" >/dev/null 2>"$W/t.log"; then
    fail "a changed byte at offset $pos of $size was accepted"
  fi
done
# Exports validate against the official schemas.
"$ARCA" audit --verify "$W/b.arca-audit" --root "$W/root.json" --log-key "$W/log.key" --export cyclonedx -o "$W/bom.cdx.json" 2>/dev/null
"$ARCA" audit --verify "$W/b.arca-audit" --root "$W/root.json" --log-key "$W/log.key" --export spdx -o "$W/bom.spdx.json" 2>/dev/null
"$VALIDATE" cyclonedx "$W/bom.cdx.json" "$SCHEMAS" >/dev/null || fail "CycloneDX export: $("$VALIDATE" cyclonedx "$W/bom.cdx.json" "$SCHEMAS")"
"$VALIDATE" spdx "$W/bom.spdx.json" "$SCHEMAS" >/dev/null || fail "SPDX export: $("$VALIDATE" spdx "$W/bom.spdx.json" "$SCHEMAS")"
python3 - "$W/bom.cdx.json" "$W/bom.spdx.json" "$CS_KEY" <<'PY' || fail "exports lack the model, dataset, lineage or countersigner"
import json,sys
c=json.load(open(sys.argv[1])); s=json.load(open(sys.argv[2]))
models=[x for x in c["components"] if x["type"]=="machine-learning-model"]
data=[x for x in c["components"] if x["type"]=="data"]
assert len(models)==2 and len(data)==1 and c["specVersion"]=="1.6"
assert all(m["modelCard"]["modelParameters"]["datasets"]==[{"ref":data[0]["bom-ref"]}] for m in models)
types=[x["type"] for x in s["@graph"]]
assert types.count("ai_AIPackage")==2 and types.count("dataset_DatasetPackage")==1
rels=[x["relationshipType"] for x in s["@graph"] if x["type"]=="Relationship"]
assert "trainedOn" in rels and "ancestorOf" in rels
cs=[p["value"] for m in models for p in m["properties"] if p["name"]=="arca:countersigner"]
assert cs==[sys.argv[3]], cs
PY
echo "log pins, downgrade/rollback/fork/key refusals, offline audit with tamper checks, schema-valid exports: ok"
