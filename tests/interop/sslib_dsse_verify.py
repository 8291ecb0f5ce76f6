#!/usr/bin/python3
"""Verifies Arca's DSSE envelopes with securesystemslib (Debian
python3-securesystemslib 0.26, written by the Secure Systems Lab), which has
no DSSE module: this script builds PAE itself from the DSSE spec
(github.com/secure-systems-lab/dsse protocol.md):

    PAE(type, body) = "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body

    sslib_dsse_verify.py ENVELOPE.json PUBKEY.pem
    sslib_dsse_verify.py --root ROOT.json PUBKEY.pem

Every signature whose keyid is PUBKEY's id (hex SHA-256 of its SPKI DER,
specs/signing.md §2) is checked with SSlibKey.verify_signature: over the
PAE of an envelope, or with --root over the RFC 8785 canonical JSON of the
root's "signed" object, built here (specs/signing.md §5). Not with
securesystemslib's encode_canonical: that is OLPC canonical JSON, which
writes the PEM keys' newlines raw where RFC 8785 writes "\\n". Prints VERIFIED N,
or REJECTED and the reason; exit 0 only when at least one such signature
exists and all verify. Run with /usr/bin/python3 (Debian's module).
"""

import base64
import hashlib
import json
import sys

from cryptography.hazmat.primitives import serialization
from securesystemslib.signer import Signature, SSlibKey


def b64decode(s):
    s = s.replace("-", "+").replace("_", "/")  # DSSE allows either alphabet
    return base64.b64decode(s + "=" * (-len(s) % 4), validate=True)


def pae(payload_type, body):
    t = payload_type.encode()
    return b"DSSEv1 %d %s %d %s" % (len(t), t, len(body), body)


def sslib_key(pem):
    pub = serialization.load_pem_public_key(pem)
    der = pub.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    keyid = hashlib.sha256(der).hexdigest()
    name = type(pub).__name__
    if "Ed25519" in name:
        raw = pub.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return SSlibKey(keyid, "ed25519", "ed25519", {"public": raw.hex()})
    if "EllipticCurve" in name and pub.curve.name == "secp256r1":
        return SSlibKey(keyid, "ecdsa", "ecdsa-sha2-nistp256", {"public": pem.decode()})
    raise SystemExit("unsupported key type " + name)


def main():
    args = sys.argv[1:]
    root = args[0] == "--root"
    if root:
        args = args[1:]
    doc = json.load(open(args[0]))
    key = sslib_key(open(args[1], "rb").read())
    if root:
        # RFC 8785 for Arca's documents (ASCII keys, strings, integers).
        data = json.dumps(doc["signed"], sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    else:
        data = pae(doc["payloadType"], b64decode(doc["payload"]))
    n = 0
    for s in doc["signatures"]:
        if s.get("keyid") != key.keyid:
            continue
        try:
            key.verify_signature(Signature(key.keyid, b64decode(s["sig"]).hex()), data)
        except Exception as e:  # securesystemslib raises UnverifiedSignatureError / VerificationError
            print("REJECTED %s: %s" % (type(e).__name__, e))
            return 1
        n += 1
    if n == 0:
        print("REJECTED: no signature with keyid " + key.keyid)
        return 1
    print("VERIFIED %d" % n)
    return 0


if __name__ == "__main__":
    sys.exit(main())
