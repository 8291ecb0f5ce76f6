#!/usr/bin/env python3
"""Writes the model of the Arca format v1 test vector (deterministic).

A safetensors file with BF16 weights (N(0, 0.02)), an F32 tensor and small
bias tensors, so the vector covers tensor-boundary regions, bg2, zstd and raw
chunks; plus a config, a nested file and an empty file.
    make_model.py OUTDIR
"""
import json, os, random, struct, sys

def bf16(x):
    b = struct.unpack("<I", struct.pack("<f", x))[0]
    b += 0x7FFF + ((b >> 16) & 1)
    return struct.pack("<H", (b >> 16) & 0xFFFF)

out = sys.argv[1]
rng = random.Random(20261124)
tensors = [
    ("embed.weight", "BF16", [256, 512]),
    ("layers.0.attn.weight", "BF16", [256, 256]),
    ("layers.0.attn.bias", "BF16", [256]),
    ("layers.0.norm.weight", "F32", [256]),
    ("layers.1.mlp.weight", "BF16", [512, 256]),
    ("layers.1.mlp.bias", "BF16", [512]),
]
header, blobs, off = {}, [], 0
for name, dtype, shape in tensors:
    n = 1
    for d in shape: n *= d
    if dtype == "BF16":
        data = b"".join(bf16(rng.gauss(0, 0.02)) for _ in range(n))
    else:
        data = b"".join(struct.pack("<f", 1.0 + rng.gauss(0, 0.01)) for _ in range(n))
    header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [off, off + len(data)]}
    blobs.append(data); off += len(data)
header["__metadata__"] = {"format": "pt"}
h = json.dumps(header, separators=(",", ":")).encode()
h += b" " * ((8 - len(h) % 8) % 8)
os.makedirs(os.path.join(out, "docs"), exist_ok=True)
with open(os.path.join(out, "model.safetensors"), "wb") as f:
    f.write(struct.pack("<Q", len(h))); f.write(h)
    for b in blobs: f.write(b)
with open(os.path.join(out, "config.json"), "w") as f:
    json.dump({"model_type": "arca-vector", "hidden": 256}, f)
with open(os.path.join(out, "docs", "README.txt"), "w") as f:
    f.write("Synthetic model for the Arca format v1 test vector.\n" * 40)
open(os.path.join(out, "docs", "empty.txt"), "w").close()
