#!/usr/bin/env python3
"""Writes the seed corpora of the tensor header fuzz targets.

    python3 tests/fuzz/make_seed_corpus.py [--out tests/fuzz/corpus]

Each seed is a small safetensors or GGUF file written byte by byte from the
formats' specifications (safetensors README "Format"; ggml docs/gguf.md):
valid files that reach every branch of the parsers, and invalid ones with one
defect each. Output is deterministic, so re-running the script over the
committed corpus changes nothing; inputs that libFuzzer found (named after
their SHA-1) sit beside the seeds and are left alone.
"""

import argparse
import json
import os
import struct

# ---------------------------------------------------------------------------
# safetensors


def st(header, data_len=0, raw=None):
    """u64 LE length | header | data_len bytes of data."""
    if raw is None:
        raw = json.dumps(header, separators=(",", ":")).encode()
    return struct.pack("<Q", len(raw)) + raw + bytes(i % 251 for i in range(data_len))


def t(dtype, shape, begin, end):
    return {"dtype": dtype, "shape": shape, "data_offsets": [begin, end]}


def safetensors_seeds():
    s = {}
    s["valid_two_tensors"] = st(
        {"__metadata__": {"format": "pt"}, "a": t("F32", [2, 3], 4, 28), "b": t("BF16", [2], 0, 4)}, 28)
    s["valid_empty"] = st(None, raw=b"{}      ")
    s["valid_scalar_and_zero"] = st({"s": t("I64", [], 0, 8), "z": t("F16", [0, 5], 8, 8)}, 8)
    s["valid_all_dtypes"] = st(
        {
            "bool": t("BOOL", [1], 0, 1), "u8": t("U8", [1], 1, 2), "i8": t("I8", [1], 2, 3),
            "e5m2": t("F8_E5M2", [1], 3, 4), "e4m3": t("F8_E4M3", [1], 4, 5), "e8m0": t("F8_E8M0", [1], 5, 6),
            "i16": t("I16", [1], 6, 8), "u16": t("U16", [1], 8, 10), "f16": t("F16", [1], 10, 12),
            "bf16": t("BF16", [1], 12, 14), "i32": t("I32", [1], 14, 18), "u32": t("U32", [1], 18, 22),
            "f32": t("F32", [1], 22, 26), "i64": t("I64", [1], 26, 34), "u64": t("U64", [1], 34, 42),
            "f64": t("F64", [1], 42, 50), "c64": t("C64", [1], 50, 58), "f4": t("F4", [2], 58, 59),
            "f6a": t("F6_E2M3", [4], 59, 62), "f6b": t("F6_E3M2", [4], 62, 65),
        }, 65)
    s["valid_gap_and_trailing"] = st({"g": t("U8", [2], 4, 6)}, 10)
    s["valid_4d"] = st({"conv": t("F16", [2, 1, 3, 3], 0, 36)}, 36)
    many = {}
    for i in range(1500):  # a header over 64 KiB
        many["model.layers.%d.weight" % i] = t("F16", [2, 2], 8 * i, 8 * i + 8)
    s["valid_many_tensors"] = st(many, 8 * 1500)
    s["bad_truncated_length"] = b"\x10\x00\x00"
    s["bad_length_over_limit"] = struct.pack("<Q", 200 << 20) + b"{}"
    s["bad_length_past_eof"] = struct.pack("<Q", 64) + b"{}"
    s["bad_json"] = st(None, raw=b'{"a":{"dtype":"U8",')
    s["bad_root_array"] = st(None, raw=b"[]")
    s["bad_duplicate_key"] = st(None, raw=b'{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},'
                                          b'"a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}', data_len=2)
    s["bad_unknown_dtype"] = st({"w": t("F128", [1], 0, 16)}, 16)
    s["bad_unknown_field"] = st({"w": dict(t("U8", [1], 0, 1), extra=1)}, 1)
    s["bad_size_mismatch"] = st({"w": t("F32", [2, 2], 0, 12)}, 16)
    s["bad_overlap"] = st({"a": t("U8", [4], 0, 4), "b": t("U8", [4], 2, 6)}, 6)
    s["bad_past_eof"] = st({"w": t("F32", [4], 0, 16)}, 15)
    s["bad_shape_overflow"] = st({"w": t("U8", [1 << 32, 1 << 32, 2], 0, 0)})
    s["bad_bytes_overflow"] = st({"w": t("F64", [1 << 62], 0, 0)})
    s["bad_offsets_wrap"] = st({"w": t("U8", [1], (1 << 64) - 2, (1 << 64) - 1)}, 1)
    s["bad_negative_shape"] = st(None, raw=b'{"w":{"dtype":"U8","shape":[-1],"data_offsets":[0,0]}}')
    s["bad_float_offset"] = st(None, raw=b'{"w":{"dtype":"U8","shape":[1],"data_offsets":[0,1.0]}}', data_len=1)
    s["bad_metadata_value"] = st({"__metadata__": {"n": 1}})
    s["bad_deep_json"] = st(None, raw=b'{"__metadata__":' + b"[" * 64 + b"]" * 64 + b"}")
    s["bad_utf8"] = st(None, raw=b'{"\xff":{}}')
    s["bad_f4_half_byte"] = st({"w": t("F4", [3], 0, 2)}, 2)
    return s


# ---------------------------------------------------------------------------
# GGUF

U8, I8, U16, I16, U32, I32, F32, BOOL, STRING, ARRAY, U64, I64, F64 = range(13)


class G:
    def __init__(self):
        self.b = bytearray()

    def raw(self, x):
        self.b += x
        return self

    def u8(self, v):
        return self.raw(struct.pack("<B", v))

    def u16(self, v):
        return self.raw(struct.pack("<H", v))

    def u32(self, v):
        return self.raw(struct.pack("<I", v))

    def u64(self, v):
        return self.raw(struct.pack("<Q", v))

    def str(self, s):
        s = s.encode() if isinstance(s, str) else s
        return self.u64(len(s)).raw(s)

    def header(self, version, tensors, kvs):
        return self.raw(b"GGUF").u32(version).u64(tensors).u64(kvs)

    def key(self, k, typ):
        return self.str(k).u32(typ)

    def tensor(self, name, dims, typ, offset):
        self.str(name).u32(len(dims))
        for d in dims:
            self.u64(d)
        return self.u32(typ).u64(offset)

    def pad(self, a=32):
        while len(self.b) % a:
            self.b.append(0)
        return self

    def zeros(self, n):
        return self.raw(bytes(n))

    def bytes(self):
        return bytes(self.b)


def small_gguf(version=3):
    g = G().header(version, 2, 1).key("general.architecture", STRING).str("llama")
    g.tensor("tok_embd.weight", [4, 2], 0, 0).tensor("output.weight", [32], 8, 32)
    return g.pad().zeros(32 + 34).bytes()


def gguf_seeds():
    s = {}
    s["valid_small_v3"] = small_gguf(3)
    s["valid_small_v2"] = small_gguf(2)

    g = G().header(3, 3, 17)
    g.key("a.u8", U8).u8(1).key("a.i8", I8).u8(0xFF).key("a.u16", U16).u16(7).key("a.i16", I16).u16(0xFFFE)
    g.key("a.u32", U32).u32(9).key("a.i32", I32).u32(0xFFFFFFF0).key("a.f32", F32).u32(0x3F800000)
    g.key("a.bool", BOOL).u8(1).key("a.string", STRING).str("hello").key("a.u64", U64).u64(1 << 40)
    g.key("a.i64", I64).u64((1 << 64) - 1).key("a.f64", F64).u64(0x3FF0000000000000)
    g.key("a.u32s", ARRAY).u32(U32).u64(3).u32(1).u32(2).u32(3)
    g.key("a.bools", ARRAY).u32(BOOL).u64(3).u8(0).u8(1).u8(0)
    g.key("tokenizer.ggml.tokens", ARRAY).u32(STRING).u64(3).str("<s>").str("").str("hi")
    g.key("a.nested", ARRAY).u32(ARRAY).u64(2).u32(I16).u64(2).u16(1).u16(2).u32(STRING).u64(1).str("x")
    g.key("general.alignment", U32).u32(64)
    g.tensor("blk.0.ffn.weight", [256, 2], 12, 0)   # Q4_K, 288 bytes
    g.tensor("blk.0.norm.weight", [8], 30, 320)     # BF16
    g.tensor("blk.0.scalar", [], 28, 384)           # F64 scalar
    s["valid_all_value_types"] = g.pad(64).zeros(392).bytes()

    g = G().header(3, 0, 1).key("general.architecture", STRING).str("vocab")
    s["valid_no_tensors"] = g.bytes()

    # One tensor of each ggml type, one block row each.
    sizes = [(0, 1, 4), (1, 1, 2), (2, 32, 18), (3, 32, 20), (6, 32, 22), (7, 32, 24), (8, 32, 34),
             (9, 32, 40), (10, 256, 84), (11, 256, 110), (12, 256, 144), (13, 256, 176), (14, 256, 210),
             (15, 256, 292), (16, 256, 66), (17, 256, 74), (18, 256, 98), (19, 256, 50), (20, 32, 18),
             (21, 256, 110), (22, 256, 82), (23, 256, 136), (24, 1, 1), (25, 1, 2), (26, 1, 4), (27, 1, 8),
             (28, 1, 8), (29, 256, 56), (30, 1, 2), (34, 256, 54), (35, 256, 66), (39, 32, 17),
             (40, 64, 36), (41, 128, 18)]
    g = G().header(3, len(sizes), 0)
    offset = 0
    for typ, block, nbytes in sizes:
        g.tensor("t%d" % typ, [block], typ, offset)
        offset += (nbytes + 31) // 32 * 32
    s["valid_every_ggml_type"] = g.pad().zeros(offset).bytes()

    # A header larger than the parser's 64 KiB read-ahead window, so that
    # fields straddle window boundaries.
    g = G().header(3, 1, 2).key("general.architecture", STRING).str("llama")
    g.key("tokenizer.ggml.tokens", ARRAY).u32(STRING).u64(12000)
    for i in range(12000):
        g.str("tok%d" % i)
    g.tensor("token_embd.weight", [8, 4], 1, 0)
    s["valid_large_vocab"] = g.pad().zeros(64).bytes()

    s["bad_magic"] = b"ggUF" + small_gguf()[4:]
    s["bad_version_1"] = small_gguf(1)
    s["bad_version_big_endian"] = small_gguf(0x03000000)
    s["bad_truncated_header"] = small_gguf()[:30]
    s["bad_huge_tensor_count"] = G().header(3, (1 << 64) - 1, 0).bytes()
    s["bad_huge_kv_count"] = G().header(3, 0, 1 << 62).bytes()
    s["bad_string_past_eof"] = G().header(3, 0, 1).key("general.name", STRING).u64(1000).raw(b"abc").bytes()
    s["bad_key_too_long"] = G().header(3, 0, 1).u64(70000).bytes()
    s["bad_duplicate_key"] = (G().header(3, 0, 2).key("general.name", STRING).str("a")
                              .key("general.name", STRING).str("b").bytes())
    s["bad_value_type"] = G().header(3, 0, 1).key("a.b", 13).u64(0).bytes()
    s["bad_bool"] = G().header(3, 0, 1).key("a.b", BOOL).u8(2).bytes()
    s["bad_huge_array"] = G().header(3, 0, 1).key("a.b", ARRAY).u32(U8).u64(1 << 62).zeros(16).bytes()
    s["bad_array_overflow"] = G().header(3, 0, 1).key("a.b", ARRAY).u32(U64).u64(1 << 61).zeros(16).bytes()
    s["bad_huge_string_array"] = (G().header(3, 0, 1).key("t.tokens", ARRAY).u32(STRING)
                                  .u64((1 << 63) - 1).str("a").bytes())
    g = G().header(3, 0, 1).key("a.deep", ARRAY)
    for _ in range(40):
        g.u32(ARRAY).u64(1)
    s["bad_deep_nested_arrays"] = g.u32(U8).u64(0).bytes()
    s["bad_alignment_not_pow2"] = G().header(3, 0, 1).key("general.alignment", U32).u32(48).bytes()
    s["bad_alignment_type"] = G().header(3, 0, 1).key("general.alignment", U64).u64(32).bytes()
    s["bad_ggml_type"] = G().header(3, 1, 0).tensor("t", [32], 4, 0).pad().zeros(64).bytes()
    s["bad_block_multiple"] = G().header(3, 1, 0).tensor("t", [33, 32], 2, 0).pad().zeros(1024).bytes()
    s["bad_misaligned_offset"] = G().header(3, 1, 0).tensor("t", [1], 0, 4).pad().zeros(64).bytes()
    s["bad_duplicate_tensor"] = (G().header(3, 2, 0).tensor("t", [1], 0, 0).tensor("t", [1], 0, 32)
                                 .pad().zeros(64).bytes())
    s["bad_too_many_dims"] = G().header(3, 1, 0).tensor("t", [1] * 9, 0, 0).pad().zeros(32).bytes()
    s["bad_negative_dim"] = G().header(3, 1, 0).tensor("t", [(1 << 64) - 1], 0, 0).pad().bytes()
    s["bad_element_overflow"] = G().header(3, 1, 0).tensor("t", [1 << 32, 1 << 32], 0, 0).pad().bytes()
    s["bad_tensor_past_eof"] = G().header(3, 1, 0).tensor("w", [8], 0, 0).pad().zeros(31).bytes()
    s["bad_offset_wrap"] = G().header(3, 1, 0).tensor("w", [8], 0, (1 << 64) - 32).pad().zeros(32).bytes()
    s["bad_overlap"] = (G().header(3, 2, 0).tensor("a", [16], 0, 0).tensor("b", [16], 0, 32)
                        .pad().zeros(128).bytes())
    g = G().header(3, 1, 0).tensor("w", [0], 0, 0)
    if len(g.b) % 32 == 0:
        g.zeros(1)
    s["bad_data_section_past_eof"] = g.bytes()
    return s


def write(out_dir, seeds):
    os.makedirs(out_dir, exist_ok=True)
    for name, data in sorted(seeds.items()):
        with open(os.path.join(out_dir, "seed_" + name), "wb") as f:
            f.write(data)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=os.path.join(here, "corpus"))
    args = ap.parse_args()
    write(os.path.join(args.out, "safetensors_header"), safetensors_seeds())
    write(os.path.join(args.out, "gguf_header"), gguf_seeds())


if __name__ == "__main__":
    main()
