#!/usr/bin/env bash
# The signer as a user drives it: keys (plain and passphrase-encrypted), a
# 2-of-3 namespace root, sealing with a signature, signing later, verify with
# its exit codes and --json, rotation under the TUF rule (and a rotation
# signed only by new keys refused), policies (new/allow/show/sign/attach,
# revoke to a newer version, rollback refused), countersigning, provenance
# from a real git repository, and export-bundle.
#   signer_cli_test.sh ARCA MAKE_MODEL
set -euo pipefail
ARCA=$1; MAKE_MODEL=$2
W=$(mktemp -d /tmp/arca-signer-cli.XXXXXX)
trap 'rm -rf "$W"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
# expect_exit CODE CMD...: run CMD, demand exit code CODE
expect_exit() { local want=$1; shift; set +e; "$@" >"$W/out" 2>"$W/err"; local got=$?; set -e
  [[ $got == "$want" ]] || fail "$* exited $got, expected $want: $(tail -3 "$W/err")"; }
json() { python3 -c "import json,sys; d=json.load(open('$1')); print(eval(sys.argv[1]))" "$2"; }

"$MAKE_MODEL" "$W/model" --mib 2 >/dev/null
for k in a b c; do "$ARCA" key new --type ed25519 -o "$W/$k.key" >/dev/null; "$ARCA" key pub "$W/$k.key" >"$W/$k.pub"; done
"$ARCA" key new --type ecdsa-p256 -o "$W/d.key" >/dev/null && "$ARCA" key pub "$W/d.key" >"$W/d.pub"
[[ $(stat -c %a "$W/a.key") == 600 ]] || fail "key file is not mode 0600"
expect_exit 4 "$ARCA" key new -o "$W/a.key"
grep -q "BEGIN PUBLIC KEY" "$W/a.pub" || fail "key pub did not print a PEM public key"
openssl pkey -pubin -in "$W/d.pub" -noout || fail "openssl cannot read our public key"

# An encrypted key: usable with the passphrase, refused with a wrong one.
printf 'correct horse\n' >"$W/pass"; printf 'wrong\n' >"$W/badpass"
ARCA_KEY_PASSPHRASE_FILE=$W/pass "$ARCA" key new --encrypt -o "$W/e.key" >/dev/null
grep -q "ENCRYPTED PRIVATE KEY" "$W/e.key" || fail "--encrypt wrote a plain key"
ARCA_KEY_PASSPHRASE_FILE=$W/pass "$ARCA" key pub "$W/e.key" >"$W/e.pub" || fail "encrypted key did not open"
ARCA_KEY_PASSPHRASE_FILE=$W/badpass expect_exit 5 "$ARCA" key pub "$W/e.key"
expect_exit 2 "$ARCA" key pub "$W/e.key" </dev/null

"$ARCA" root init acme --key "$W/a.pub" --key "$W/b.pub" --key "$W/c.pub" --threshold 2 --sign "$W/a.key" --sign "$W/b.key" -o "$W/root1.json" >/dev/null
"$ARCA" root verify "$W/root1.json" >/dev/null || fail "fresh root does not verify"
expect_exit 2 "$ARCA" root init acme --key "$W/a.pub" --threshold 2 --sign "$W/a.key" -o "$W/bad.json"
"$ARCA" lineage-key new -o "$W/lk" >/dev/null

# Provenance from a real repository.
git init -q "$W/src" && git -C "$W/src" -c user.email=t@e.x -c user.name=T commit -q --allow-empty -m one
git -C "$W/src" remote add origin https://git.example/acme/train.git
echo '{"lr": 1}' >"$W/hp.json"
"$ARCA" seal "$W/model" -o "$W/pkg" --name acme/med-llm --version 1.0 --lineage-key "$W/lk" --sign "$W/a.key" \
  --git-repo "$W/src" --hyperparameters "$W/hp.json" --dataset "pubmed=https://e.org/p@sha256:$(printf 'a%.0s' {1..64})" --step fine-tune >/dev/null
expect_exit 5 "$ARCA" verify "$W/pkg" --root "$W/root1.json"
grep -q "release.threshold" "$W/out" || fail "the failed verify did not name release.threshold"
"$ARCA" sign "$W/pkg" --key "$W/b.key" >/dev/null
"$ARCA" verify "$W/pkg" --root "$W/root1.json" --json >"$W/v.json" || fail "2-of-3 did not verify"
[[ $(json "$W/v.json" 'd["verified"]') == True ]] || fail "--json does not say verified"
commit=$(git -C "$W/src" rev-parse HEAD)
grep -q "$commit" "$W/v.json" || fail "provenance lacks the git commit"
"$ARCA" verify "$W/pkg" --root "$W/root1.json" --deep >/dev/null || fail "--deep failed"

# Rotation: drop c, add d; signed by a threshold of old (a,b) and new (a,d).
"$ARCA" root rotate "$W/root1.json" --remove-key "$W/c.pub" --key "$W/d.pub" --sign "$W/a.key" --sign "$W/b.key" --sign "$W/d.key" -o "$W/root2.json" >/dev/null
"$ARCA" root verify "$W/root1.json" "$W/root2.json" --json >"$W/rv.json" || fail "rotation did not verify"
[[ $(json "$W/rv.json" 'd["claims"]["version"]') == 2 ]] || fail "chain did not reach version 2"
"$ARCA" verify "$W/pkg" --root "$W/root1.json" --root-update "$W/root2.json" >/dev/null || fail "package no longer verifies after rotation"
# A version 2 signed only by the new keys is refused.
"$ARCA" root rotate "$W/root1.json" --remove-key "$W/a.pub" --remove-key "$W/b.pub" --remove-key "$W/c.pub" --key "$W/d.pub" --key "$W/e.pub" \
  --sign "$W/d.key" -o "$W/evil2.json" >/dev/null 2>&1 <<<"" || true
ARCA_KEY_PASSPHRASE_FILE=$W/pass "$ARCA" root sign "$W/evil2.json" --key "$W/e.key" >/dev/null
expect_exit 5 "$ARCA" root verify "$W/root1.json" "$W/evil2.json"
grep -q "signed-by-previous" "$W/out" || fail "the refusal did not name the rotation check"

# Policy lifecycle.
M=$(printf 'ab%.0s' {1..48})
"$ARCA" policy new "$W/pkg" -o "$W/policy.json" >/dev/null
"$ARCA" policy allow "$W/policy.json" --platform sev-snp --measurement "$M" --min-tcb snp=8,bootloader=3 >/dev/null
expect_exit 2 "$ARCA" policy allow "$W/policy.json" --platform sev-snp --measurement abcd
expect_exit 2 "$ARCA" policy attach "$W/pkg" "$W/policy.json"   # unsigned
"$ARCA" policy sign "$W/policy.json" --key "$W/a.key" >/dev/null
"$ARCA" policy sign "$W/policy.json" --key "$W/b.key" >/dev/null
"$ARCA" policy show "$W/policy.json" --json >"$W/p.json"
[[ $(json "$W/p.json" 'd["version"]') == 2 && $(json "$W/p.json" 'len(d["signedBy"])') == 2 ]] || fail "policy show: $(cat "$W/p.json")"
"$ARCA" policy attach "$W/pkg" "$W/policy.json" >/dev/null
cp "$W/policy.json" "$W/policy-v2.json"
"$ARCA" verify "$W/pkg" --root "$W/root1.json" --json >"$W/v.json" || fail "verify with policy failed"
[[ $(json "$W/v.json" 'd["claims"]["policy"]["version"]') == 2 ]] || fail "verify did not report policy version 2"
"$ARCA" policy revoke "$W/policy.json" --measurement "$M" >/dev/null
"$ARCA" policy sign "$W/policy.json" --key "$W/a.key" >/dev/null
"$ARCA" policy attach "$W/pkg" "$W/policy.json" >/dev/null
expect_exit 5 "$ARCA" verify "$W/pkg" --root "$W/root1.json"   # one signature: below the policy threshold
grep -q "policy.threshold" "$W/out" || fail "policy threshold failure not named"
"$ARCA" policy sign "$W/policy.json" --key "$W/c.key" >/dev/null
"$ARCA" policy attach "$W/pkg" "$W/policy.json" >/dev/null
"$ARCA" verify "$W/pkg" --root "$W/root1.json" >/dev/null || fail "re-signed policy did not verify"
expect_exit 7 "$ARCA" policy attach "$W/pkg" "$W/policy-v2.json"   # rollback

# Countersignature, and the lab's signatures still verify.
"$ARCA" countersign "$W/pkg" --key "$W/d.key" --note "reviewed by audit" >/dev/null
"$ARCA" verify "$W/pkg" --root "$W/root1.json" --countersigner "$W/d.pub" >/dev/null || fail "countersigned package failed"
expect_exit 5 "$ARCA" verify "$W/pkg" --root "$W/root1.json" --countersigner "$W/c.pub"

# Export: one envelope, our key's hint; none for a key that did not sign.
"$ARCA" export-bundle "$W/pkg" --key "$W/b.pub" -o "$W/b.bundle" >/dev/null
[[ $(json "$W/b.bundle" 'len(d["dsseEnvelope"]["signatures"])') == 1 ]] || fail "bundle must carry one signature"
expect_exit 3 "$ARCA" export-bundle "$W/pkg" --key "$W/c.pub" -o "$W/c.bundle"
"$ARCA" export-bundle "$W/pkg" --key "$W/c.pub" --role policy -o "$W/cp.bundle" >/dev/null || fail "policy export"
echo "signer CLI flow holds"
