#!/usr/bin/env bash
# @sigstore/verify (npm, written by the Sigstore project) verifies the bundles
# `arca export-bundle` writes, for an Ed25519 and an ECDSA P-256 key (DER
# signatures), release and policy envelopes; it rejects a bundle whose
# payload or signature has one flipped bit, and one checked with the other
# key. Fails, never skips, when node or the npm modules are missing
# (scripts/setup.sh --test installs them).
#   sigstore_bundle_test.sh ARCA MAKE_MODEL
set -euo pipefail
ARCA=$1; MAKE_MODEL=$2
HERE=$(cd "$(dirname "$0")" && pwd)
fail() { echo "FAIL: $*"; exit 1; }
command -v node >/dev/null || fail "node is not installed (scripts/setup.sh --test installs nodejs)"
(cd "$HERE" && node -e "require('@sigstore/verify'); require('@sigstore/bundle')" 2>/dev/null) ||
  fail "@sigstore/verify is not installed in tests/interop/node_modules (scripts/setup.sh --test runs npm ci)"
W=$(mktemp -d /tmp/arca-sigstore.XXXXXX)
trap 'rm -rf "$W"' EXIT

"$MAKE_MODEL" "$W/model" --mib 1 >/dev/null
"$ARCA" key new --type ed25519 -o "$W/ed.key" >/dev/null && "$ARCA" key pub "$W/ed.key" >"$W/ed.pub"
"$ARCA" key new --type ecdsa-p256 -o "$W/ec.key" >/dev/null && "$ARCA" key pub "$W/ec.key" >"$W/ec.pub"
"$ARCA" lineage-key new -o "$W/lk" >/dev/null
"$ARCA" seal "$W/model" -o "$W/pkg" --name acme/interop --version 1.0 --lineage-key "$W/lk" \
  --sign "$W/ed.key" --sign "$W/ec.key" >/dev/null
"$ARCA" policy new "$W/pkg" -o "$W/policy.json" >/dev/null
"$ARCA" policy allow "$W/policy.json" --platform tpm --measurement "$(printf 'ab%.0s' {1..32})" >/dev/null
"$ARCA" policy sign "$W/policy.json" --key "$W/ed.key" >/dev/null
"$ARCA" policy sign "$W/policy.json" --key "$W/ec.key" >/dev/null
"$ARCA" policy attach "$W/pkg" "$W/policy.json" >/dev/null

verify() { (cd "$HERE" && node sigstore_verify.js "$1" "$2") >"$W/out" 2>&1; }
# flip FIELD BUNDLE OUT: one bit of the envelope's payload or first signature.
flip() {
  python3 - "$@" <<'PY'
import base64, json, sys
field, src, dst = sys.argv[1:]
b = json.load(open(src))
e = b["dsseEnvelope"]
if field == "payload":
    raw = bytearray(base64.b64decode(e["payload"])); raw[len(raw) // 2] ^= 0x01
    e["payload"] = base64.b64encode(bytes(raw)).decode()
else:
    raw = bytearray(base64.b64decode(e["signatures"][0]["sig"])); raw[-1] ^= 0x01
    e["signatures"][0]["sig"] = base64.b64encode(bytes(raw)).decode()
json.dump(b, open(dst, "w"))
PY
}

n=0
for k in ed ec; do
  other=$([[ $k == ed ]] && echo ec || echo ed)
  for role in release policy; do
    B=$W/$k.$role.bundle.json
    "$ARCA" export-bundle "$W/pkg" --key "$W/$k.pub" --role $role -o "$B" >/dev/null
    verify "$B" "$W/$k.pub" || fail "@sigstore/verify rejected our $role bundle ($k): $(cat "$W/out")"
    grep -q '^VERIFIED$' "$W/out" || fail "verifier did not say VERIFIED: $(cat "$W/out")"
    for field in payload sig; do
      flip $field "$B" "$W/bad.json"
      if verify "$W/bad.json" "$W/$k.pub"; then fail "@sigstore/verify accepted a $role bundle ($k) with a flipped $field bit"; fi
      grep -q '^REJECTED' "$W/out" || fail "a flipped $field bit did not give a rejection: $(cat "$W/out")"
    done
    if verify "$B" "$W/$other.pub"; then fail "@sigstore/verify accepted our $role bundle ($k) under the $other key"; fi
    grep -q '^REJECTED' "$W/out" || fail "the wrong key did not give a rejection: $(cat "$W/out")"
    n=$((n + 1))
  done
done
echo "ok: @sigstore/verify verified $n bundles (Ed25519, ECDSA P-256; release, policy) and rejected every flipped bit and wrong key"
