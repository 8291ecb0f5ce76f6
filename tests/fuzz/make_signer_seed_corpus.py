#!/usr/bin/env python3
"""Writes the seed corpora of the signer's fuzz targets (dsse_envelope,
statement, namespace_root, policy).

    python3 tests/fuzz/make_signer_seed_corpus.py --arca BUILD/client/arca \
        --make-model BUILD/bench/arca-make-model [--out tests/fuzz/corpus]

The valid seeds are documents the CLI writes: a 2-of-3 namespace root and
its rotation, a package sealed with `--sign` (release and SLSA provenance
envelopes from a real git repository), signed again, countersigned, and a
policy taken through new/allow/revoke/sign/attach. The release key is the
fixed Ed25519 fuzz key (PKCS#8 of FUZZ_KEY_SEED, the same seed as
tests/fuzz/signer_fuzz_util.h), so the seeds' signatures verify inside the
targets; the second key is a fresh ECDSA P-256 key. From the valid seeds
the script derives invalid variants, one defect each, named after the check
they should hit. Running it again rewrites the seeds (fresh ECDSA keys and
times change their bytes); inputs libFuzzer found (named by SHA-1) are left
alone.
"""

import argparse
import base64
import copy
import json
import os
import subprocess
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FUZZ_KEY_SEED = bytes([0xA7] * 32)
# RFC 8410 §7: PKCS#8 OneAsymmetricKey for Ed25519 is this prefix + the 32-byte seed.
ED25519_PKCS8_PREFIX = bytes.fromhex("302e020100300506032b657004220420")


def canonical(obj):
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def write_fuzz_key(path):
    der = ED25519_PKCS8_PREFIX + FUZZ_KEY_SEED
    pem = "-----BEGIN PRIVATE KEY-----\n" + base64.b64encode(der).decode() + "\n-----END PRIVATE KEY-----\n"
    with open(path, "w") as f:
        f.write(pem)
    os.chmod(path, 0o600)


def run(*args, **kw):
    subprocess.run([str(a) for a in args], check=True, stdout=subprocess.DEVNULL, **kw)


def envelopes_of(pkg):
    """Every DSSE envelope stored as a blob of the package (attachments)."""
    out = []
    blobs = os.path.join(pkg, "blobs", "sha256")
    for name in sorted(os.listdir(blobs)):
        with open(os.path.join(blobs, name), "rb") as f:
            data = f.read(2 << 20)
        if not data.startswith(b"{") or b'"payloadType"' not in data:
            continue
        try:
            env = json.loads(data)
        except ValueError:
            continue
        if isinstance(env, dict) and "payloadType" in env:
            out.append(data)
    return out


KINDS = {
    "https://arca.dev/attestation/release/v1": "release",
    "https://slsa.dev/provenance/v1": "provenance",
    "https://arca.dev/attestation/policy/v1": "policy",
    "https://arca.dev/attestation/countersign/v1": "countersign",
}


def predicate_kind(envelope_bytes):
    st = json.loads(base64.b64decode(json.loads(envelope_bytes)["payload"]))
    return KINDS[st["predicateType"]]


def make_documents(arca, make_model, tmp):
    w = lambda name: os.path.join(tmp, name)
    docs = {}
    write_fuzz_key(w("a.key"))
    run(arca, "key", "new", "--type", "ecdsa-p256", "-o", w("b.key"))
    run(arca, "key", "new", "--type", "ed25519", "-o", w("c.key"))
    run(arca, "key", "new", "--type", "ed25519", "-o", w("d.key"))
    for k in "abcd":
        with open(w(k + ".pub"), "w") as f:
            subprocess.run([arca, "key", "pub", w(k + ".key")], check=True, stdout=f)
    run(arca, "root", "init", "acme", "--key", w("a.pub"), "--key", w("b.pub"), "--key", w("c.pub"),
        "--threshold", "2", "--sign", w("a.key"), "--sign", w("b.key"), "-o", w("root1.json"))
    run(arca, "root", "rotate", w("root1.json"), "--remove-key", w("c.pub"), "--key", w("d.pub"),
        "--expires", "2030-01-01", "--sign", w("a.key"), "--sign", w("b.key"), "--sign", w("d.key"),
        "-o", w("root2.json"))
    for name in ("root1.json", "root2.json"):
        with open(w(name), "rb") as f:
            docs[name] = f.read()

    run(make_model, w("model"), "--mib", "1")
    run("git", "init", "-q", w("src"))
    run("git", "-C", w("src"), "-c", "user.email=t@e.x", "-c", "user.name=T", "commit", "-q", "--allow-empty", "-m", "one")
    run("git", "-C", w("src"), "remote", "add", "origin", "https://git.example/acme/train.git")
    with open(w("hp.json"), "w") as f:
        f.write('{"lr": 1}\n')
    run(arca, "lineage-key", "new", "-o", w("lk"))
    run(arca, "seal", w("model"), "-o", w("pkg"), "--name", "acme/med-llm", "--version", "1.0", "--lineage-key", w("lk"),
        "--sign", w("a.key"), "--git-repo", w("src"), "--hyperparameters", w("hp.json"),
        "--dataset", "pubmed=https://e.org/p@sha256:" + "a" * 64, "--step", "fine-tune")
    run(arca, "sign", w("pkg"), "--key", w("b.key"))
    run(arca, "countersign", w("pkg"), "--key", w("d.key"), "--note", "reviewed: weights match the training run")

    m = "ab" * 48
    run(arca, "policy", "new", w("pkg"), "-o", w("policy.json"), "--expires", "2030-01-01")
    with open(w("policy.json"), "rb") as f:
        docs["policy_new.json"] = f.read()
    run(arca, "policy", "allow", w("policy.json"), "--platform", "sev-snp", "--measurement", m,
        "--min-tcb", "snp=8,bootloader=3")
    run(arca, "policy", "allow", w("policy.json"), "--platform", "tpm", "--measurement", "cd" * 32)
    run(arca, "policy", "revoke", w("policy.json"), "--measurement", "ef" * 48)
    run(arca, "policy", "sign", w("policy.json"), "--key", w("a.key"))
    run(arca, "policy", "sign", w("policy.json"), "--key", w("b.key"))
    run(arca, "policy", "attach", w("pkg"), w("policy.json"))
    with open(w("policy.json"), "rb") as f:
        docs["policy_signed.json"] = f.read()
    run(arca, "policy", "new", w("pkg"), "-o", w("policy-never.json"), "--expires", "never", "--allow-debug",
        "--require-gpu-cc")
    with open(w("policy-never.json"), "rb") as f:
        docs["policy_never.json"] = f.read()
    docs["envelopes"] = envelopes_of(w("pkg"))
    return docs


def b64(data, urlsafe=False, pad=True):
    s = (base64.urlsafe_b64encode if urlsafe else base64.b64encode)(data).decode()
    return s if pad else s.rstrip("=")


def dsse_seeds(envelopes):
    seeds = {}
    by_kind = {}
    for data in envelopes:
        kind = predicate_kind(data)
        by_kind.setdefault(kind, 0)
        seeds["valid_%s_%d" % (kind, by_kind[kind])] = data
        by_kind[kind] += 1
    env = json.loads(envelopes[0])
    raw = base64.b64decode(env["payload"])
    sig = base64.b64decode(env["signatures"][0]["sig"])

    def edit(name, fn):
        d = copy.deepcopy(env)
        fn(d)
        seeds[name] = canonical(d)

    edit("valid_urlsafe_unpadded", lambda d: d.update(payload=b64(raw, True, False)))
    edit("valid_no_keyid", lambda d: d["signatures"][0].pop("keyid"))
    edit("valid_two_signatures", lambda d: d["signatures"].append({"sig": b64(b"\x01" * 64)}))
    edit("valid_other_payload_type", lambda d: d.update(payloadType="text/plain"))
    edit("bad_flipped_payload", lambda d: d.update(payload=b64(raw[:-2] + bytes([raw[-2] ^ 1]) + raw[-1:])))
    edit("bad_flipped_sig", lambda d: d["signatures"][0].update(sig=b64(bytes([sig[0] ^ 0x80]) + sig[1:])))
    edit("bad_other_keyid", lambda d: d["signatures"][0].update(keyid="0" * 64))
    edit("bad_base64", lambda d: d.update(payload="!!not base64!!"))
    edit("bad_mixed_alphabets", lambda d: d.update(payload="ab+_"))
    edit("bad_empty_sig", lambda d: d["signatures"][0].update(sig=""))
    edit("bad_unknown_field", lambda d: d.update(extra=1))
    edit("bad_signature_unknown_field", lambda d: d["signatures"][0].update(cert="x"))
    edit("bad_signature_not_object", lambda d: d["signatures"].append("x"))
    edit("bad_empty_payload_type", lambda d: d.update(payloadType=""))
    edit("bad_payload_type_long", lambda d: d.update(payloadType="x" * 257))
    edit("bad_keyid_long", lambda d: d["signatures"][0].update(keyid="0" * 257))
    edit("bad_too_many_signatures", lambda d: d.update(signatures=d["signatures"] * 33))
    edit("bad_signatures_not_array", lambda d: d.update(signatures={}))
    edit("bad_payload_missing", lambda d: d.pop("payload"))
    edit("bad_too_deep", lambda d: d["signatures"][0].update(keyid=[[[[1]]]]))
    seeds["bad_duplicate_key"] = b'{"payloadType":"text/plain",' + envelopes[0][1:]
    seeds["bad_truncated"] = envelopes[0][: len(envelopes[0]) // 2]
    seeds["bad_not_object"] = b"[" + envelopes[0] + b"]"
    return seeds


def statement_variants(st_bytes):
    st = json.loads(st_bytes)
    seeds = {}

    def edit(name, fn):
        d = copy.deepcopy(st)
        fn(d)
        seeds[name] = canonical(d)

    edit("bad_type", lambda d: d.update(_type="https://in-toto.io/Statement/v0.1"))
    edit("bad_subject_empty", lambda d: d.update(subject=[]))
    edit("bad_subject_missing", lambda d: d.pop("subject"))
    edit("bad_digest_upper", lambda d: d["subject"][0]["digest"].update(sha256=d["subject"][0]["digest"]["sha256"].upper()))
    edit("bad_digest_short", lambda d: d["subject"][0]["digest"].update(sha256="ab"))
    edit("bad_digest_empty", lambda d: d["subject"][0].update(digest={}))
    edit("bad_digest_not_string", lambda d: d["subject"][0]["digest"].update(sha256=1))
    edit("bad_gitcommit", lambda d: d["subject"][0]["digest"].update(gitCommit="a" * 41))
    edit("bad_other_alg_odd", lambda d: d["subject"][0]["digest"].update(blake2b="abc"))
    edit("bad_unknown_field", lambda d: d.update(extra=1))
    edit("bad_subject_unknown_field", lambda d: d["subject"][0].update(extra=1))
    edit("bad_predicate_not_object", lambda d: d.update(predicate=[1]))
    edit("bad_predicate_type_empty", lambda d: d.update(predicateType=""))
    edit("bad_float", lambda d: d["predicate"].update(x=0.5))
    edit("bad_too_many_subjects", lambda d: d.update(subject=d["subject"] * 65))
    edit("valid_two_subjects", lambda d: d["subject"].append({"digest": {"sha512": "0" * 128}}))
    edit("valid_other_digest", lambda d: d["subject"][0]["digest"].update(sha256="0" * 64))
    edit("valid_no_predicate", lambda d: d.pop("predicate"))
    edit("valid_foreign_subject_fields", lambda d: d["subject"][0].update(uri="https://x", annotations={"a": "b"}))
    deep = 0
    for _ in range(20):
        deep = [deep]
    edit("bad_too_deep", lambda d: d["predicate"].update(x=deep))
    seeds["bad_duplicate_key"] = b'{"_type":"x",' + st_bytes[1:]
    seeds["bad_truncated"] = st_bytes[: len(st_bytes) // 2]
    return seeds


def policy_variants(st_bytes):
    st = json.loads(st_bytes)
    seeds = {}

    def edit(name, fn):
        d = copy.deepcopy(st)
        fn(d)
        seeds[name] = canonical(d)

    p = ["predicate"]
    edit("bad_version_zero", lambda d: d["predicate"].update(version=0))
    edit("bad_version_float", lambda d: d["predicate"].update(version=2.0))
    edit("bad_version_huge", lambda d: d["predicate"].update(version=2**53 + 1))
    edit("bad_expires", lambda d: d["predicate"].update(expires="2030-13-01T00:00:00Z"))
    edit("valid_expired", lambda d: d["predicate"].update(expires="2020-01-01T00:00:00Z"))
    edit("bad_platform", lambda d: d["predicate"]["allow"].append({"platform": "sgx", "measurement": "ab" * 48}))
    edit("bad_measurement_short", lambda d: d["predicate"]["allow"].append({"platform": "tdx", "measurement": "ab"}))
    edit("bad_min_tcb_negative", lambda d: d["predicate"]["allow"].append(
        {"platform": "tpm", "measurement": "ab" * 32, "minTcb": {"snp": -1}}))
    edit("bad_min_tcb_huge", lambda d: d["predicate"]["allow"].append(
        {"platform": "tpm", "measurement": "ab" * 32, "minTcb": {"snp": 2**33}}))
    edit("bad_revoked_not_hex", lambda d: d["predicate"]["revoked"].append("zz" * 32))
    edit("bad_revoked_not_string", lambda d: d["predicate"]["revoked"].append(1))
    edit("bad_allow_debug_string", lambda d: d["predicate"].update(allowDebug="yes"))
    edit("bad_unknown_field", lambda d: d["predicate"].update(extra=1))
    edit("bad_package_missing", lambda d: d["predicate"].pop("package"))
    edit("bad_package_unknown_field", lambda d: d["predicate"]["package"].update(digest="x"))
    edit("bad_predicate_type", lambda d: d.update(predicateType="https://arca.dev/attestation/release/v1"))
    edit("bad_two_subjects", lambda d: d["subject"].append(d["subject"][0]))
    edit("bad_allow_too_many", lambda d: d["predicate"].update(
        allow=[{"platform": "tpm", "measurement": "ab" * 32}] * 1025))
    edit("valid_other_package_name", lambda d: d["predicate"]["package"].update(name="acme/other"))
    seeds["bad_truncated"] = st_bytes[: len(st_bytes) // 2]
    return seeds


def root_variants(root_bytes):
    r = json.loads(root_bytes)
    seeds = {}

    def edit(name, fn):
        d = copy.deepcopy(r)
        fn(d)
        seeds[name] = canonical(d)

    s = r["signed"]
    k0 = sorted(s["keys"])[0]
    edit("bad_type", lambda d: d["signed"].update(_type="root"))
    edit("bad_spec_version", lambda d: d["signed"].update(spec_version="2"))
    edit("bad_namespace", lambda d: d["signed"].update(namespace="Acme"))
    edit("bad_version_zero", lambda d: d["signed"].update(version=0))
    edit("bad_threshold_zero", lambda d: d["signed"].update(threshold=0))
    edit("bad_threshold_above_keys", lambda d: d["signed"].update(threshold=len(s["keys"]) + 1))
    edit("bad_keyid_not_sha256", lambda d: d["signed"]["keys"].update({"0" * 64: d["signed"]["keys"][k0]}))
    edit("bad_keytype_mismatch", lambda d: d["signed"]["keys"][k0].update(keytype="rsa"))
    edit("bad_pem", lambda d: d["signed"]["keys"][k0]["keyval"].update(public="-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"))
    edit("bad_expires", lambda d: d["signed"].update(expires="yesterday"))
    edit("bad_unknown_field", lambda d: d["signed"].update(consistent_snapshot=True))
    edit("bad_duplicate_signature", lambda d: d["signatures"].append(d["signatures"][0]))
    edit("bad_signature_keyid_upper", lambda d: d["signatures"][0].update(keyid=d["signatures"][0]["keyid"].upper()))
    edit("bad_signature_base64", lambda d: d["signatures"][0].update(sig="%%%"))
    edit("bad_signature_empty", lambda d: d["signatures"][0].update(sig=""))
    edit("bad_keys_empty", lambda d: d["signed"].update(keys={}))
    edit("valid_below_threshold", lambda d: d.update(signatures=d["signatures"][:1]))
    edit("valid_flipped_namespace", lambda d: d["signed"].update(namespace="acmf"))
    edit("valid_expired", lambda d: d["signed"].update(expires="2020-01-01T00:00:00Z"))
    edit("valid_unsigned", lambda d: d.update(signatures=[]))
    sig0 = base64.b64decode(r["signatures"][0]["sig"])
    edit("valid_flipped_sig", lambda d: d["signatures"][0].update(sig=b64(sig0[:-1] + bytes([sig0[-1] ^ 1]))))
    seeds["bad_duplicate_key"] = b'{"signed":{},' + root_bytes[1:]
    seeds["bad_truncated"] = root_bytes[: len(root_bytes) // 2]
    return seeds


def write(out_dir, seeds):
    os.makedirs(out_dir, exist_ok=True)
    for name in os.listdir(out_dir):
        if name.startswith("seed_"):
            os.remove(os.path.join(out_dir, name))
    for name, data in sorted(seeds.items()):
        with open(os.path.join(out_dir, "seed_" + name), "wb") as f:
            f.write(data)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--arca", required=True)
    ap.add_argument("--make-model", required=True)
    ap.add_argument("--out", default=os.path.join(ROOT, "tests", "fuzz", "corpus"))
    args = ap.parse_args()

    with tempfile.TemporaryDirectory(prefix="arca-signer-seeds-") as tmp:
        docs = make_documents(os.path.abspath(args.arca), os.path.abspath(args.make_model), tmp)

    envelopes = docs["envelopes"] + [docs["policy_new.json"], docs["policy_signed.json"], docs["policy_never.json"]]
    dsse = dsse_seeds(envelopes)

    statements, seen = {}, set()
    for name, data in sorted(dsse.items()):
        if name.rstrip("0123456789").rstrip("_")[len("valid_"):] not in KINDS.values():
            continue
        payload = base64.b64decode(json.loads(data)["payload"])
        if payload not in seen:
            seen.add(payload)
            statements[name] = payload
    release = statements["valid_release_0"]
    statements.update(statement_variants(release))

    policies = {}
    for name, data in (("new", docs["policy_new.json"]), ("signed", docs["policy_signed.json"]),
                       ("never", docs["policy_never.json"])):
        policies["valid_" + name] = base64.b64decode(json.loads(data)["payload"])
    policies.update(policy_variants(policies["valid_signed"]))

    roots = {"valid_root1": docs["root1.json"], "valid_root2_rotated": docs["root2.json"]}
    roots.update(root_variants(docs["root2.json"]))

    write(os.path.join(args.out, "dsse_envelope"), dsse)
    write(os.path.join(args.out, "statement"), statements)
    write(os.path.join(args.out, "policy"), policies)
    write(os.path.join(args.out, "namespace_root"), roots)
    print("wrote %d dsse_envelope, %d statement, %d policy, %d namespace_root seeds" %
          (len(dsse), len(statements), len(policies), len(roots)))


if __name__ == "__main__":
    main()
