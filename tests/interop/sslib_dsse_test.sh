#!/usr/bin/env bash
# Debian's python3-securesystemslib verifies the DSSE envelopes Arca stores
# in a package (release: one per key; policy: one envelope, both keys), for
# an Ed25519 and an ECDSA P-256 key, with PAE built by sslib_dsse_verify.py
# from the DSSE spec; a flipped payload or signature bit is rejected. It also
# verifies a namespace root's signatures over the RFC 8785 form of "signed"
# the script builds (not securesystemslib's OLPC encode_canonical, which
# differs: specs/signing.md §9). Runs
# /usr/bin/python3 (not a python3 earlier on PATH). Fails, never skips, when
# the module is missing (scripts/setup.sh --test installs it).
#   sslib_dsse_test.sh ARCA MAKE_MODEL
set -euo pipefail
ARCA=$1; MAKE_MODEL=$2
HERE=$(cd "$(dirname "$0")" && pwd)
PY=/usr/bin/python3
fail() { echo "FAIL: $*"; exit 1; }
$PY -c "import securesystemslib.signer" 2>/dev/null ||
  fail "python3-securesystemslib is not installed for $PY (scripts/setup.sh --test installs it)"
W=$(mktemp -d /tmp/arca-sslib.XXXXXX)
trap 'rm -rf "$W"' EXIT

"$MAKE_MODEL" "$W/model" --mib 1 >/dev/null
"$ARCA" key new --type ed25519 -o "$W/ed.key" >/dev/null && "$ARCA" key pub "$W/ed.key" >"$W/ed.pub"
"$ARCA" key new --type ecdsa-p256 -o "$W/ec.key" >/dev/null && "$ARCA" key pub "$W/ec.key" >"$W/ec.pub"
"$ARCA" lineage-key new -o "$W/lk" >/dev/null
"$ARCA" seal "$W/model" -o "$W/pkg" --name acme/interop --version 1.0 --lineage-key "$W/lk" \
  --sign "$W/ed.key" --sign "$W/ec.key" >/dev/null
"$ARCA" policy new "$W/pkg" -o "$W/policy.json" >/dev/null
"$ARCA" policy allow "$W/policy.json" --platform sev-snp --measurement "$(printf 'cd%.0s' {1..48})" >/dev/null
"$ARCA" policy sign "$W/policy.json" --key "$W/ed.key" >/dev/null
"$ARCA" policy sign "$W/policy.json" --key "$W/ec.key" >/dev/null
"$ARCA" policy attach "$W/pkg" "$W/policy.json" >/dev/null

envelopes=$(grep -l '"payloadType"' "$W"/pkg/blobs/sha256/* || true)
[[ $(wc -w <<<"$envelopes") == 3 ]] || fail "expected 2 release and 1 policy envelope in the package, found: $envelopes"
for k in ed ec; do
  verified=0
  for e in $envelopes; do
    if $PY "$HERE/sslib_dsse_verify.py" "$e" "$W/$k.pub" >"$W/out" 2>&1; then
      verified=$((verified + 1))
    else
      grep -q "^REJECTED: no signature with keyid" "$W/out" || fail "securesystemslib rejected $k's signature on ${e##*/}: $(cat "$W/out")"
    fi
  done
  ((verified == 2)) || fail "securesystemslib verified $verified envelopes signed by $k, expected 2 (release, policy)"
done

# flip FIELD SRC DST: one bit of the payload or of every signature.
flip() {
  $PY - "$@" <<'PY'
import base64, json, sys
field, src, dst = sys.argv[1:]
e = json.load(open(src))
if field == "payload":
    raw = bytearray(base64.b64decode(e["payload"])); raw[len(raw) // 2] ^= 0x01
    e["payload"] = base64.b64encode(bytes(raw)).decode()
else:
    for s in e["signatures"]:
        raw = bytearray(base64.b64decode(s["sig"])); raw[len(raw) // 2] ^= 0x01
        s["sig"] = base64.b64encode(bytes(raw)).decode()
json.dump(e, open(dst, "w"))
PY
}
for field in payload sig; do
  flip $field "$W/policy.json" "$W/bad.json"
  for k in ed ec; do
    if $PY "$HERE/sslib_dsse_verify.py" "$W/bad.json" "$W/$k.pub" >"$W/out" 2>&1; then
      fail "securesystemslib accepted a policy envelope with a flipped $field bit ($k)"
    fi
    grep -q "^REJECTED [A-Za-z]*Error" "$W/out" || fail "a flipped $field bit ($k) was not a signature rejection: $(cat "$W/out")"
  done
done
# The unflipped policy file verifies, so the rejections above are the flips'.
$PY "$HERE/sslib_dsse_verify.py" "$W/policy.json" "$W/ec.pub" >/dev/null || fail "the policy file itself does not verify"

# A 2-of-2 root: its signatures verify over RFC 8785 bytes built independently.
"$ARCA" root init acme --key "$W/ed.pub" --key "$W/ec.pub" --threshold 2 --sign "$W/ed.key" --sign "$W/ec.key" \
  --expires 2031-01-01 -o "$W/root.json" >/dev/null
for k in ed ec; do
  $PY "$HERE/sslib_dsse_verify.py" --root "$W/root.json" "$W/$k.pub" >"$W/out" 2>&1 ||
    fail "securesystemslib rejected $k's root signature: $(cat "$W/out")"
done
$PY - "$W/root.json" "$W/bad-root.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1])); r["signed"]["threshold"] = 1; json.dump(r, open(sys.argv[2], "w"))
PY
if $PY "$HERE/sslib_dsse_verify.py" --root "$W/bad-root.json" "$W/ed.pub" >/dev/null 2>&1; then
  fail "securesystemslib accepted a root whose threshold was lowered after signing"
fi
echo "ok: securesystemslib verified Ed25519 and ECDSA P-256 release, policy and root signatures and rejected flipped payload and signature bits and a changed root"
