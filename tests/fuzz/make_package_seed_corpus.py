#!/usr/bin/env python3
"""Writes the seed corpora of the manifest and oci_manifest fuzz targets.

    python3 tests/fuzz/make_package_seed_corpus.py --arca BUILD/client/arca \
        [--out tests/fuzz/corpus]

The valid seeds are real packages: the committed format vector
(tests/vectors/format/package) and a second version sealed here with
`arca seal --parent` over a slightly edited copy of the vector's model (so a
manifest with `parent` and `fromParent` packs is in the corpus). From the
vector's manifests the script derives invalid variants, one defect each,
named after the check they should hit. Running it again rewrites the seeds
(the sealed child depends on the zstd build, so its bytes may differ across
machines); inputs libFuzzer found (named by SHA-1) are left alone.
"""

import argparse
import copy
import json
import os
import shutil
import subprocess
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
VECTOR = os.path.join(ROOT, "tests", "vectors", "format")


def canonical(obj):
    # RFC 8785 for Arca's documents (ASCII keys, integers, strings): sorted
    # keys, no whitespace, UTF-8.
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def blob(pkg, digest):
    with open(os.path.join(pkg, "blobs", "sha256", digest[len("sha256:"):]), "rb") as f:
        return f.read()


def manifests_of(pkg):
    """Returns (OCI manifest bytes, Arca manifest bytes) of a one-version layout."""
    with open(os.path.join(pkg, "index.json"), "rb") as f:
        index = json.load(f)
    oci = blob(pkg, index["manifests"][0]["digest"])
    arca = blob(pkg, json.loads(oci)["layers"][0]["digest"])
    return oci, arca


def seal_child(arca_bin, tmp):
    model = os.path.join(tmp, "model")
    shutil.copytree(os.path.join(VECTOR, "model"), model)
    with open(os.path.join(model, "config.json"), "a") as f:
        f.write("\n")
    out = os.path.join(tmp, "child")
    subprocess.run(
        [arca_bin, "seal", model, "-o", out, "--name", "acme/vector", "--version", "1.1",
         "--lineage-key", os.path.join(VECTOR, "lineage.key"), "--parent", os.path.join(VECTOR, "package"),
         "--pack-size", "256K"],
        check=True, stdout=subprocess.DEVNULL)
    return out


def arca_variants(text):
    m = json.loads(text)
    seeds = {}

    def edit(name, fn):
        d = copy.deepcopy(m)
        fn(d)
        seeds[name] = canonical(d)

    def setf(path, value):
        def fn(d):
            o = d
            for k in path[:-1]:
                o = o[k]
            o[path[-1]] = value
        return fn

    edit("bad_unknown_field", setf(["extra"], 1))
    edit("bad_media_type", setf(["mediaType"], "application/vnd.oci.image.manifest.v1+json"))
    edit("bad_format_version", setf(["formatVersion"], 2))
    edit("bad_name", setf(["name"], "Acme/Vector"))
    edit("bad_version", setf(["version"], "-1"))
    edit("bad_lineage_id", setf(["lineageId"], "0d2168b5"))
    edit("bad_parent", setf(["parent"], "sha256:xyz"))
    edit("bad_mac_short", setf(["mac"], "00"))
    edit("bad_chunking_not_pow2", setf(["chunking", "avgSize"], 65000))
    edit("bad_chunking_algorithm", setf(["chunking", "algorithm"], "fastcdc"))
    edit("bad_pack_digest", setf(["packs", 0, "digest"], "sha256:../../etc/passwd"))
    edit("bad_duplicate_pack", setf(["packs", 1, "digest"], m["packs"][0]["digest"]))
    edit("bad_from_parent_false", setf(["packs", 0, "fromParent"], False))
    edit("bad_duplicate_chunk_id", setf(["chunks", 1, "id"], m["chunks"][0]["id"]))
    edit("bad_chunk_pack_out_of_range", setf(["chunks", 0, "pack"], len(m["packs"])))
    edit("bad_record_outside_pack", setf(["chunks", 0, "offset"], m["packs"][0]["size"] - 1))
    raw = next(i for i, c in enumerate(m["chunks"]) if c["encoding"] == "raw")
    edit("bad_raw_length", setf(["chunks", raw, "length"], m["chunks"][raw]["length"] - 1))
    edit("bad_record_too_long", setf(["chunks", 1, "length"], m["chunks"][1]["size"] + 29))
    edit("bad_chunk_size_zero", setf(["chunks", 1, "size"], 0))
    edit("bad_encoding", setf(["chunks", 1, "encoding"], "lz4"))
    edit("bad_file_chunk_out_of_range", setf(["files", 0, "chunks", 0], len(m["chunks"])))
    edit("bad_file_chunk_negative", setf(["files", 0, "chunks", 0], -1))
    edit("bad_file_size_sum", setf(["files", 0, "size"], m["files"][0]["size"] + 1))
    edit("bad_duplicate_path", setf(["files", 1, "path"], m["files"][0]["path"]))
    nested = next(f["path"] for f in m["files"] if "/" in f["path"])
    edit("bad_file_dir_conflict", setf(["files", 0, "path"], nested.split("/")[0]))
    for name, path in [("abs", "/abs"), ("dotdot", "../x"), ("inner_dotdot", "a/../b"), ("empty_component", "a//b"),
                       ("dot", "./a"), ("backslash", "a\\b"), ("control", "a\x01b"), ("empty", "")]:
        edit("bad_path_" + name, setf(["files", 0, "path"], path))
    edit("bad_mode", setf(["files", 0, "mode"], 0o1777))
    edit("bad_sha256", setf(["files", 0, "sha256"], "XYZ"))
    edit("bad_size_float", setf(["files", 0, "size"], 44.0))
    edit("bad_size_negative", setf(["files", 0, "size"], -44))

    tensor_file = next(i for i, f in enumerate(m["files"]) if "tensors" in f)
    tensors = ["files", tensor_file, "tensors"]
    edit("bad_tensor_format", setf(tensors + ["format"], "pickle"))
    edit("bad_tensor_overlap", lambda d: d["files"][tensor_file]["tensors"]["list"].append(
        d["files"][tensor_file]["tensors"]["list"][0]))
    edit("bad_tensor_shape_above_2_53", setf(tensors + ["list", 0, "shape"], [0, 2**53 + 1]))
    edit("bad_tensor_shape_overflow", setf(tensors + ["list", 0, "shape"], [2**40, 2**40]))
    edit("bad_tensor_end_past_file", setf(tensors + ["list", 0, "end"], m["files"][tensor_file]["size"] + 1))
    edit("valid_gguf_label", setf(tensors + ["format"], "gguf"))
    edit("valid_no_parent_no_tensors", lambda d: d["files"][tensor_file].pop("tensors"))

    def reorder(d):
        f = next(f for f in d["files"] if len(f["chunks"]) >= 2)
        f["chunks"][0], f["chunks"][1] = f["chunks"][1], f["chunks"][0]
    edit("valid_reordered_chunks", reorder)  # parses; only the MAC refuses it

    deep = 0
    for _ in range(12):
        deep = [deep]
    edit("bad_too_deep", setf(["extra"], deep))

    seeds["bad_duplicate_key"] = b'{"name":"evil/model",' + text[1:]
    seeds["bad_truncated"] = text[: len(text) // 2]
    seeds["bad_not_object"] = b"[" + text + b"]"
    seeds["valid_noncanonical_whitespace"] = json.dumps(m, indent=1).encode()
    return seeds


def oci_variants(text):
    m = json.loads(text)
    seeds = {}

    def edit(name, fn):
        d = copy.deepcopy(m)
        fn(d)
        seeds[name] = canonical(d)

    edit("bad_schema_version", lambda d: d.update(schemaVersion=1))
    edit("bad_media_type", lambda d: d.update(mediaType="application/vnd.docker.distribution.manifest.v2+json"))
    edit("bad_config_missing", lambda d: d.pop("config"))
    edit("bad_layers_not_array", lambda d: d.update(layers={}))
    edit("bad_layer_digest_upper", lambda d: d["layers"][0].update(digest=d["layers"][0]["digest"].upper()))
    edit("bad_layer_digest_traversal", lambda d: d["layers"][0].update(digest="sha256:../../../etc/passwd"))
    edit("bad_layer_digest_sha512", lambda d: d["layers"][0].update(digest="sha512:" + "0" * 128))
    edit("bad_layer_size_negative", lambda d: d["layers"][0].update(size=-1))
    edit("bad_layer_size_huge", lambda d: d["layers"][0].update(size=2**50 + 1))
    edit("bad_layer_not_object", lambda d: d["layers"].append("x"))
    edit("bad_layer_annotation_not_string", lambda d: d["layers"][0].update(annotations={"a": 1}))
    edit("valid_top_annotation_not_string", lambda d: d.update(annotations={"a": 1, "b": "x"}))
    edit("valid_no_artifact_type", lambda d: d.pop("artifactType"))
    edit("valid_unknown_field", lambda d: d.update(subject={"x": 1}))
    edit("valid_no_layers", lambda d: d.update(layers=[]))
    seeds["bad_duplicate_key"] = b'{"schemaVersion":1,' + text[1:]
    seeds["bad_truncated"] = text[: len(text) // 2]
    return seeds


def write(out_dir, seeds):
    os.makedirs(out_dir, exist_ok=True)
    for name, data in sorted(seeds.items()):
        with open(os.path.join(out_dir, "seed_" + name), "wb") as f:
            f.write(data)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--arca", required=True, help="the arca CLI binary (to seal a child version)")
    ap.add_argument("--out", default=os.path.join(ROOT, "tests", "fuzz", "corpus"))
    args = ap.parse_args()

    vector_oci, vector_arca = manifests_of(os.path.join(VECTOR, "package"))
    with tempfile.TemporaryDirectory(prefix="arca-seeds-") as tmp:
        child_oci, child_arca = manifests_of(seal_child(os.path.abspath(args.arca), tmp))

    arca_seeds = {"valid_vector": vector_arca, "valid_child_with_parent": child_arca}
    arca_seeds.update(arca_variants(vector_arca))
    oci_seeds = {"valid_vector": vector_oci, "valid_child_with_parent": child_oci}
    oci_seeds.update(oci_variants(vector_oci))
    write(os.path.join(args.out, "manifest"), arca_seeds)
    write(os.path.join(args.out, "oci_manifest"), oci_seeds)
    print(f"wrote {len(arca_seeds)} manifest and {len(oci_seeds)} oci_manifest seeds")


if __name__ == "__main__":
    main()
