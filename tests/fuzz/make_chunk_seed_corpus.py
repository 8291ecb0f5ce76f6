#!/usr/bin/env python3
"""Writes the seed corpus of the chunk_decode fuzz target.

    python3 tests/fuzz/make_chunk_seed_corpus.py [--out tests/fuzz/corpus/chunk_decode]

Each seed is one byte encoding | u16le plaintext size | encoded chunk
(specs/format.md §6). bg4: four u32le plane lengths (0: plane raw) | planes |
tail; bg2: u32le high-frame length | high frame | low bytes | tail. Frames
come from the zstd command-line tool (RFC 8878, content size in the header).
Valid seeds decode; invalid ones carry one defect each.
"""

import argparse
import os
import random
import struct
import subprocess
import tempfile


def zstd_frame(data):
    with tempfile.NamedTemporaryFile() as f:
        f.write(data)
        f.flush()
        return subprocess.run(["zstd", "-q", "-1", "-c", "--no-check", f.name], check=True, capture_output=True).stdout


def f32_plain(count, seed):
    r = random.Random(seed)
    return b"".join(struct.pack("<f", r.gauss(0.0, 0.02)) for _ in range(count))


def bg4(plain, raw_planes=()):
    m = len(plain) // 4
    head, body = b"", b""
    for k in range(4):
        plane = plain[k:4 * m:4]
        if k in raw_planes:
            head += struct.pack("<I", 0)
            body += plane
        else:
            f = zstd_frame(plane)
            head += struct.pack("<I", len(f))
            body += f
    return head + body + plain[4 * m:]


def bg2(plain):
    m = len(plain) // 2
    f = zstd_frame(plain[1:2 * m:2])
    return struct.pack("<I", len(f)) + f + plain[0:2 * m:2] + plain[2 * m:]


def seed(encoding, n, encoded):
    return bytes([encoding]) + struct.pack("<H", n) + encoded


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "corpus", "chunk_decode"))
    out = ap.parse_args().out
    os.makedirs(out, exist_ok=True)
    p = f32_plain(300, 1)
    p3 = p + b"\x01\x02\x03"
    good = bg4(p, raw_planes=(0, 1))
    seeds = {
        "seed_valid_raw": seed(0, 16, bytes(range(16))),
        "seed_valid_zstd": seed(1, 600, zstd_frame(b"hidden_size " * 50)),
        "seed_valid_bg2": seed(2, 601, bg2(p[:601])),
        "seed_valid_bg4": seed(4, len(p), good),
        "seed_valid_bg4_all_frames_tail3": seed(4, len(p3), bg4(p3)),
        "seed_valid_bg4_all_raw": seed(4, len(p), bg4(p, raw_planes=(0, 1, 2, 3))),
        "seed_bad_bg4_header_only": seed(4, len(p), good[:16]),
        "seed_bad_bg4_short_header": seed(4, len(p), good[:15]),
        "seed_bad_bg4_trailing_byte": seed(4, len(p), good + b"\x00"),
        "seed_bad_bg4_truncated": seed(4, len(p), good[:-1]),
        "seed_bad_bg4_length_past_end": seed(4, len(p), good[:8] + struct.pack("<I", 0xFFFFFFF0) + good[12:]),
        "seed_bad_bg4_wrong_size": seed(4, len(p) + 4, good),
        "seed_bad_bg4_under_one_element": seed(4, 3, bytes(19)),
        "seed_bad_delta_without_base": seed(3, 8, bytes(40)),
    }
    for name, data in seeds.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
