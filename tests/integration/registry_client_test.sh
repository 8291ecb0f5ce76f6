#!/usr/bin/env bash
# arca push / pull / ls / rm / gc against a real OCI registry (Debian's
# docker-registry, CNCF distribution 2.8) on 127.0.0.1 and a free port:
# push uploads only what is missing; pull refuses without a trusted root and
# writes nothing; pull verifies and installs byte-identical blobs into a
# store `arca verify` accepts; a pull killed mid-pack resumes with Range and
# downloads less; a push killed mid-blob resumes; a tampered pack, a
# tampered manifest and a digest reference the bytes do not match are
# refused with the store left valid; a package signed by a stranger is
# refused before any pack is downloaded; rm and gc free space.
#   registry_client_test.sh ARCA MAKE_MODEL
set -euo pipefail
ARCA=$1; MAKE_MODEL=$2
command -v docker-registry >/dev/null || { echo "FAIL: docker-registry is not installed (scripts/setup.sh --test)"; exit 1; }
W=$(mktemp -d /tmp/arca-registry-client.XXXXXX)
REG_PID=""; BG_PID=""
cleanup() {
  [[ -n $BG_PID ]] && kill "$BG_PID" 2>/dev/null
  [[ -n $REG_PID ]] && kill "$REG_PID" 2>/dev/null
  wait 2>/dev/null; rm -rf "$W"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }
expect_exit() { local want=$1; shift; set +e; "$@" >"$W/out" 2>"$W/err"; local got=$?; set -e
  [[ $got == "$want" ]] || fail "$* exited $got, expected $want: $(tail -3 "$W/err")"; }
json() { python3 -c "import json,sys; d=json.load(open('$1')); print(eval(sys.argv[1]))" "$2"; }
count_blobs() { find "$1/blobs/sha256" -maxdepth 1 -type f ! -name '.*' 2>/dev/null | wc -l; }

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat >"$W/registry.yml" <<YML
version: 0.1
log: { level: error }
storage:
  filesystem: { rootdirectory: $W/storage }
  delete: { enabled: true }
http:
  addr: 127.0.0.1:$PORT
YML
docker-registry serve "$W/registry.yml" >"$W/registry.log" 2>&1 &
REG_PID=$!
for _ in $(seq 100); do (echo >/dev/tcp/127.0.0.1/$PORT) 2>/dev/null && break; sleep 0.1; done
(echo >/dev/tcp/127.0.0.1/$PORT) 2>/dev/null || { cat "$W/registry.log"; fail "docker-registry did not start"; }
REG=127.0.0.1:$PORT
BLOBS=$W/storage/docker/registry/v2/blobs/sha256

# The lab: a signed package with several packs.
export HOME=$W/lab; mkdir -p "$HOME"
"$MAKE_MODEL" "$W/model" --mib 24 --seed 9 >/dev/null
"$ARCA" key new -o "$W/a.key" >/dev/null && "$ARCA" key pub "$W/a.key" >"$W/a.pub"
"$ARCA" root init acme --key "$W/a.pub" --threshold 1 --sign "$W/a.key" -o "$W/root.json" >/dev/null
"$ARCA" lineage-key new -o "$W/lk" >/dev/null
"$ARCA" seal "$W/model" -o "$W/pkg" --name acme/med-llm --version 1.0 --lineage-key "$W/lk" --sign "$W/a.key" --pack-size 2M >/dev/null
NBLOBS=$(count_blobs "$W/pkg")  # including the image manifest
NPACKS=$("$ARCA" inspect "$W/pkg" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["packs"]["count"])')
((NPACKS >= 3)) || fail "expected several packs, got $NPACKS"

# login stores the token 0600 and never prints it.
"$ARCA" login "$REG" --token s3cret-token >"$W/login.out"
grep -q s3cret "$W/login.out" && fail "login printed the token"
[[ $(stat -c %a "$HOME/.config/arca/credentials.json") == 600 ]] || fail "credentials.json is not mode 0600"
expect_exit 2 "$ARCA" push "$W/pkg" "$REG/acme/Med:1.0"
expect_exit 2 "$ARCA" push "$W/pkg" "$REG/acme/other:1.0"   # name must match the repository

# Push: every blob once; the second push uploads nothing.
"$ARCA" push "$W/pkg" "$REG/acme/med-llm:1.0" --json >"$W/push1.json" 2>"$W/push1.err" || fail "push: $(tail -2 "$W/push1.err")"
[[ -s $W/push1.err ]] && fail "push wrote to stderr without a terminal: $(head -2 "$W/push1.err")"
[[ $(json "$W/push1.json" 'd["blobs_uploaded"]') == $((NBLOBS - 1)) ]] || fail "first push uploaded $(json "$W/push1.json" 'd["blobs_uploaded"]') blobs, expected $((NBLOBS - 1))"
DIGEST=$(json "$W/push1.json" 'd["digest"]')
"$ARCA" push "$W/pkg" "$REG/acme/med-llm:1.0" --json >"$W/push2.json"
[[ $(json "$W/push2.json" 'd["blobs_uploaded"]') == 0 && $(json "$W/push2.json" 'd["bytes_uploaded"]') == 0 ]] || fail "second push uploaded again: $(cat "$W/push2.json")"
[[ $(json "$W/push2.json" 'd["blobs_skipped"]') == $((NBLOBS - 1)) ]] || fail "second push did not skip every blob"

# The enterprise: no trusted root, no pull, nothing written.
export HOME=$W/ent; mkdir -p "$HOME"
expect_exit 7 "$ARCA" pull "$REG/acme/med-llm:1.0" --store "$W/s1"
grep -q "arca trust add acme" "$W/err" || fail "the refusal does not say how to trust a root"
[[ ! -e $W/s1 ]] || fail "an untrusted pull created the store"
expect_exit 2 "$ARCA" trust add acme "$W/a.pub"   # not a root
"$ARCA" trust add acme "$W/root.json" >/dev/null
"$ARCA" trust ls --json | grep -q '"acme"' || fail "trust ls does not list acme"

# Pull: verified, byte-identical, verifiable in place.
"$ARCA" pull "$REG/acme/med-llm:1.0" --store "$W/s1" --json >"$W/pull1.json" 2>"$W/pull1.err" || fail "pull: $(tail -3 "$W/pull1.err")"
[[ $(json "$W/pull1.json" 'd["digest"]') == "$DIGEST" ]] || fail "pull recorded another digest"
[[ $(json "$W/pull1.json" 'd["bytes_downloaded"]') == $(json "$W/pull1.json" 'd["bytes_total"]') ]] || fail "first pull did not download everything once"
for f in "$W"/pkg/blobs/sha256/*; do cmp -s "$f" "$W/s1/blobs/sha256/${f##*/}" || fail "blob ${f##*/} differs in the store"; done
[[ $(count_blobs "$W/s1") == "$NBLOBS" ]] || fail "the store holds $(count_blobs "$W/s1") blobs, expected $NBLOBS"
"$ARCA" verify "$W/s1:acme/med-llm:1.0" --root "$W/root.json" --deep >/dev/null || fail "arca verify --deep on the store failed"
# The store is a layout the other commands read too: open decrypts the exact model from it.
"$ARCA" open "$W/s1:acme/med-llm:1.0" --lineage-key "$W/lk" -o "$W/opened" >/dev/null || fail "arca open from the store failed"
diff -r "$W/model" "$W/opened" >/dev/null || fail "the model opened from the store differs"
"$ARCA" ls --store "$W/s1" --json >"$W/ls.json"
[[ $(json "$W/ls.json" 'd[0]["reference"]') == acme/med-llm:1.0 && $(json "$W/ls.json" 'd[0]["digest"]') == "$DIGEST" ]] || fail "ls: $(cat "$W/ls.json")"
[[ $(json "$W/ls.json" 'd[0]["source"]') == "$REG/acme/med-llm:1.0@$DIGEST" ]] || fail "ls source: $(json "$W/ls.json" 'd[0]["source"]')"
# Pulled again: nothing but the manifest crosses the wire.
"$ARCA" pull "$REG/acme/med-llm:1.0" --store "$W/s1" --json >"$W/pull2.json"
[[ $(json "$W/pull2.json" 'd["blobs_downloaded"]') == 0 && $(json "$W/pull2.json" 'd["blobs_present"]') == $((NBLOBS - 1)) ]] || fail "second pull downloaded blobs: $(cat "$W/pull2.json")"
# By digest too, installed under its own name.
"$ARCA" pull "$REG/acme/med-llm@$DIGEST" --store "$W/s1" >/dev/null
"$ARCA" ls --store "$W/s1" | grep -q "acme/med-llm@$DIGEST" || fail "digest pull not listed"

# Resume: a pull killed mid-pack (a real SIGKILL) leaves a valid store; the rerun downloads less.
"$ARCA" pull "$REG/acme/med-llm:1.0" --store "$W/s2" --threads 1 --limit-rate 1M >/dev/null 2>&1 &
BG_PID=$!
for _ in $(seq 200); do
  p=$(find "$W/s2/.tmp" -name '*.partial' -size +600k 2>/dev/null | head -1 || true)
  [[ -n $p ]] && break; sleep 0.05
done
[[ -n $p ]] || fail "no partial pack appeared during the throttled pull"
kill -9 "$BG_PID"; wait "$BG_PID" 2>/dev/null || true; BG_PID=""
[[ $(json <("$ARCA" ls --store "$W/s2" --json) 'len(d)') == 0 ]] || fail "a killed pull left an index entry"
"$ARCA" pull "$REG/acme/med-llm:1.0" --store "$W/s2" --json >"$W/pull3.json" 2>"$W/pull3.err" || fail "resumed pull: $(tail -2 "$W/pull3.err")"
got=$(json "$W/pull3.json" 'd["bytes_downloaded"]'); total=$(json "$W/pull3.json" 'd["bytes_total"]')
((got < total - 600000)) || fail "the resumed pull downloaded $got of $total bytes: no resume"
for f in "$W"/pkg/blobs/sha256/*; do cmp -s "$f" "$W/s2/blobs/sha256/${f##*/}" || fail "resumed store blob ${f##*/} differs"; done
[[ -z $(find "$W/s2/.tmp" -name '*.partial') ]] || fail "the resumed pull left partial packs"
# The killed run's staging directory is stale: gc removes it and keeps every blob.
"$ARCA" gc --store "$W/s2" --json >"$W/gc0.json"
[[ $(json "$W/gc0.json" 'd["blobs_deleted"]') == 0 && $(json "$W/gc0.json" 'd["temp_files_deleted"]') -ge 1 ]] || fail "gc after resume: $(cat "$W/gc0.json")"
[[ -z $(ls -A "$W/s2/.tmp") ]] || fail "gc left temporaries: $(ls -A "$W/s2/.tmp")"

# A push killed midway (a real SIGKILL): the rerun completes and uploads only what is missing.
# (Within a blob, distribution 2.8 invalidates a session whose last PATCH was cut off, so the
# client falls back to a fresh session for that blob; arca-registry reports the bytes it holds.)
export HOME=$W/lab
"$ARCA" seal "$W/model" -o "$W/pkg2" --name acme/resume-llm --version 1.0 --lineage-key "$W/lk" --sign "$W/a.key" --pack-size 4M >/dev/null
"$ARCA" push "$W/pkg2" "$REG/acme/resume-llm:1.0" --threads 1 --limit-rate 2M --chunk-size 256K >/dev/null 2>&1 &
BG_PID=$!
sleep 3.5
kill -9 "$BG_PID" 2>/dev/null || fail "the throttled push ended before it could be killed"
wait "$BG_PID" 2>/dev/null || true; BG_PID=""
[[ -n $(ls "$HOME/.cache/arca/uploads") ]] || fail "no upload record was kept for the interrupted blob"
"$ARCA" push "$W/pkg2" "$REG/acme/resume-llm:1.0" --json >"$W/push3.json" 2>"$W/push3.err" || fail "resumed push: $(tail -2 "$W/push3.err")"
total2=$(du -cb "$W"/pkg2/blobs/sha256/* | tail -1 | cut -f1)
sent=$(json "$W/push3.json" 'd["bytes_uploaded"]')
((sent < total2 - 4000000)) || fail "the resumed push uploaded $sent of $total2 bytes: blobs finished before the kill were sent again"
(( $(json "$W/push3.json" 'd["blobs_skipped"]') >= 3 )) || fail "the resumed push skipped no finished blob"
[[ -z $(ls "$HOME/.cache/arca/uploads") ]] || fail "upload records were left after a complete push"
HOME=$W/ent "$ARCA" pull "$REG/acme/resume-llm:1.0" --store "$W/s4" >/dev/null || fail "the resumed push does not pull back"
for f in "$W"/pkg2/blobs/sha256/*; do cmp -s "$f" "$W/s4/blobs/sha256/${f##*/}" || fail "resumed push: blob ${f##*/} differs"; done
export HOME=$W/ent

# A pack tampered in the registry's storage: refused, named, deleted; the store stays valid.
PACK=$(python3 -c "import json; m=json.load(open('$W/pkg/blobs/sha256/${DIGEST#sha256:}')); print([l['digest'] for l in m['layers'] if l['mediaType']=='application/vnd.arca.pack.v1'][1])")
PF=$BLOBS/${PACK:7:2}/${PACK#sha256:}/data
cp "$PF" "$W/pack.orig"
python3 -c "import sys; p=sys.argv[1]; b=bytearray(open(p,'rb').read()); b[len(b)//2]^=1; open(p,'wb').write(b)" "$PF"
expect_exit 5 "$ARCA" pull "$REG/acme/med-llm:1.0" --store "$W/s3"
grep -q "$PACK" "$W/err" || fail "the tampered-pack refusal does not name $PACK: $(cat "$W/err")"
[[ ! -e $W/s3/blobs/sha256/${PACK#sha256:} ]] || fail "the tampered pack was installed"
[[ -z $(find "$W/s3/.tmp" -name "${PACK#sha256:}*") ]] || fail "the tampered partial was kept"
[[ $(json <("$ARCA" ls --store "$W/s3" --json) 'len(d)') == 0 ]] || fail "a refused pull left an index entry"
cp "$W/pack.orig" "$PF"

# A manifest tampered in storage: refused by digest reference and by tag.
MF=$BLOBS/${DIGEST:7:2}/${DIGEST#sha256:}/data
cp "$MF" "$W/manifest.orig"; printf ' ' >>"$MF"
expect_exit 5 "$ARCA" pull "$REG/acme/med-llm@$DIGEST" --store "$W/s3"
grep -q "wrong digest" "$W/err" || fail "digest-reference refusal: $(cat "$W/err")"
expect_exit 5 "$ARCA" pull "$REG/acme/med-llm:1.0" --store "$W/s3"
cp "$W/manifest.orig" "$MF"
[[ $(json <("$ARCA" ls --store "$W/s3" --json) 'len(d)') == 0 ]] || fail "a refused pull left an index entry"

# A package signed by a key the acme root does not list: refused before any pack is fetched.
export HOME=$W/lab
"$ARCA" key new -o "$W/evil.key" >/dev/null
"$ARCA" lineage-key new -o "$W/lk2" >/dev/null   # other packs than 1.0's
"$ARCA" seal "$W/model" -o "$W/evil" --name acme/med-llm --version 6.6 --lineage-key "$W/lk2" --sign "$W/evil.key" --pack-size 2M >/dev/null
"$ARCA" push "$W/evil" "$REG/acme/med-llm:6.6" >/dev/null
export HOME=$W/ent
before=$(count_blobs "$W/s3")
expect_exit 5 "$ARCA" pull "$REG/acme/med-llm:6.6" --store "$W/s3"
grep -q "release" "$W/err" || fail "the refusal does not name the failing release check: $(cat "$W/err")"
[[ $(count_blobs "$W/s3") == "$before" ]] || fail "a refused package left blobs in the store"
for f in "$W"/evil/blobs/sha256/*; do
  [[ $(stat -c %s "$f") -gt 100000 ]] || continue
  [[ -z $(find "$W/s3" -name "${f##*/}*") ]] || fail "pack ${f##*/} of the refused package was downloaded"
done

# rm and gc: the entry goes atomically, gc frees the blobs and nothing else.
"$ARCA" rm acme/med-llm:1.0 --store "$W/s1" >/dev/null
expect_exit 3 "$ARCA" rm acme/med-llm:1.0 --store "$W/s1"
"$ARCA" gc --store "$W/s1" --json >"$W/gc1.json"
[[ $(json "$W/gc1.json" 'd["blobs_deleted"]') == 0 ]] || fail "gc deleted blobs the digest entry still uses"
"$ARCA" rm "$REG/acme/med-llm@$DIGEST" --store "$W/s1" >/dev/null
"$ARCA" gc --store "$W/s1" --json >"$W/gc2.json"
[[ $(json "$W/gc2.json" 'd["blobs_deleted"]') == "$NBLOBS" ]] || fail "gc: $(cat "$W/gc2.json")"
(( $(json "$W/gc2.json" 'd["bytes_freed"]') > 1000000 )) || fail "gc freed too little"
[[ $(count_blobs "$W/s1") == 0 ]] || fail "gc left blobs"
"$ARCA" verify "$W/s2:acme/med-llm:1.0" --root "$W/root.json" >/dev/null || fail "the other store was disturbed"
echo "ok: push/pull/resume/tamper/trust/ls/rm/gc against docker-registry ($NBLOBS blobs, $NPACKS packs)"
