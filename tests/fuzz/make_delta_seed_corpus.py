#!/usr/bin/env python3
"""Writes the seed corpus of the delta_decode fuzz target.

    python3 tests/fuzz/make_delta_seed_corpus.py [--out tests/fuzz/corpus/delta_decode]

Each seed is u16le element count | base (2 bytes per element) | encoded delta
(specs/format.md §6.1: base id (32) | u32le high-frame length | zstd frame of
high bytes | zstd frame of low bytes, of the zig-zagged 16-bit differences).
Frames come from the zstd command-line tool (RFC 8878 frames with their
content size). Valid seeds reach the reconstruction; invalid ones carry one
defect each. Inputs libFuzzer found (named after their SHA-1) are left alone.
"""

import argparse
import os
import struct
import subprocess
import tempfile


def zstd_frame(data):
    with tempfile.NamedTemporaryFile() as f:
        f.write(data)
        f.flush()
        return subprocess.run(["zstd", "-q", "-1", "-c", "--no-check", f.name], check=True, capture_output=True).stdout


def delta(base, child, base_id):
    hi, lo = bytearray(), bytearray()
    for i in range(0, len(child), 2):
        c = child[i] | child[i + 1] << 8
        b = base[i] | base[i + 1] << 8
        d = (c - b) & 0xFFFF
        sd = d - 0x10000 if d & 0x8000 else d
        z = ((sd << 1) ^ (sd >> 15)) & 0xFFFF
        hi.append(z >> 8)
        lo.append(z & 0xFF)
    fh, fl = zstd_frame(bytes(hi)), zstd_frame(bytes(lo))
    return base_id + struct.pack("<I", len(fh)) + fh + fl


def seed(base, enc, other_id=False):
    m = len(base) // 2
    return struct.pack("<H", m | (0x8000 if other_id else 0)) + base + enc


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "corpus", "delta_decode"))
    out = ap.parse_args().out
    os.makedirs(out, exist_ok=True)
    base = bytes((i * 37 + 11) % 256 for i in range(512))
    child = bytes((b + (1 if i % 2 == 0 and i % 6 == 0 else 0)) % 256 for i, b in enumerate(base))
    bid = bytes([0x11] * 32)
    good = delta(base, child, bid)
    s = {
        "valid_small_nudge": seed(base, good),
        "valid_identical": seed(base, delta(base, base, bid)),
        "valid_wraparound": seed(b"\x00\x00\xff\xff\x00\x80", delta(b"\x00\x00\xff\xff\x00\x80", b"\x00\x80\x00\x00\xff\x7f", bid)),
        "bad_other_base_id": seed(base, good, other_id=True),
        "bad_truncated": seed(base, good[:-3]),
        "bad_trailing_byte": seed(base, good + b"\x00"),
        "bad_high_length_past_end": seed(base, good[:32] + struct.pack("<I", 1 << 20) + good[36:]),
        "bad_header_only": seed(base, good[:36]),
        "bad_base_of_another_size": seed(base[:-2], good),
        "bad_empty": struct.pack("<H", 0),
    }
    for name, data in s.items():
        with open(os.path.join(out, "seed_" + name), "wb") as f:
            f.write(data)


main()
