#!/usr/bin/env python3
"""Writes the seed corpus of the tlog_witness fuzz target.

    python3 tests/fuzz/make_witness_seed_corpus.py [--out tests/fuzz/corpus]

Bodies of C2SP tlog-witness add-checkpoint requests (https://c2sp.org/tlog-witness)
signed by the fuzz target's log key, whose Ed25519 seed is SHA-256("fuzz-log"):
the target's witness already holds the 2-entry tree of leaves "a", "b". One
seed per answer: 200 (grow to 3 with its RFC 9162 consistency proof, and the
same tree again), 409 (stale old size, another root at the same size), 422 (a
wrong proof), 403 (another key), 404 (the C2SP example's origin), 400; and
one witness answer (signature lines). Output
is deterministic; libFuzzer's finds (named by SHA-1) are left alone.
"""

import argparse
import base64
import hashlib
import os

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives import serialization

ORIGIN = "example.com/fuzz-log"


def leaf(d):
    return hashlib.sha256(b"\x00" + d).digest()


def node(l, r):
    return hashlib.sha256(b"\x01" + l + r).digest()


def key(seed_text):
    return Ed25519PrivateKey.from_private_bytes(hashlib.sha256(seed_text).digest())


def signed(size, root, k, name=ORIGIN):
    text = f"{ORIGIN}\n{size}\n{base64.b64encode(root).decode()}\ntime 1767225600\n"
    pub = k.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    key_id = hashlib.sha256(name.encode() + b"\n\x01" + pub).digest()[:4]
    sig = base64.b64encode(key_id + k.sign(text.encode())).decode()
    return f"{text}\n\u2014 {name} {sig}\n"


def body(old, proof, cp):
    return f"old {old}\n" + "".join(base64.b64encode(h).decode() + "\n" for h in proof) + "\n" + cp


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "corpus"))
    out = os.path.join(ap.parse_args().out, "tlog_witness")
    os.makedirs(out, exist_ok=True)
    log = key(b"fuzz-log")
    a, b, c = leaf(b"a"), leaf(b"b"), leaf(b"c")
    two = node(a, b)
    three = node(two, c)
    seeds = {
        "grow-2-to-3": body(2, [c], signed(3, three, log)),
        "same-tree": body(2, [], signed(2, two, log)),
        "stale-old-size": body(0, [], signed(3, three, log)),
        "fork-same-size": body(2, [], signed(2, node(b, a), log)),
        "wrong-proof": body(2, [a], signed(3, three, log)),
        "other-key": body(2, [c], signed(3, three, key(b"not the log"))),
        "old-above-size": body(4, [], signed(3, three, log)),
        "proof-from-zero": body(0, [c], signed(3, three, log)),
        # A witness's 200 answer (the log side parses it with ParseCosignatureLines).
        "cosignature-answer": "\u2014 w.example/w " + "A" * 103 + "=\n",
        "c2sp-example": body(20852014, [two], "example.com/behind-the-sofa\n20852163\n"
                             "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\n"
                             "\u2014 example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n"),
    }
    for name, text in seeds.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(text.encode())


if __name__ == "__main__":
    main()
