#!/usr/bin/python3
"""Validates an AI bill of materials against its official JSON schema.

  validate_bom.py cyclonedx|spdx DOCUMENT SCHEMA_DIR

SCHEMA_DIR is shared/vectors/standards/schemas (CycloneDX 1.6: bom-1.6,
spdx and jsf-0.82 schemas from github.com/CycloneDX/specification; SPDX
3.0.1: spdx-json-schema.json from spdx.org/schema/3.0.1). Uses Debian's
python3-jsonschema; the CycloneDX schema's relative $refs resolve to the
vendored files, never the network.
"""
import json
import os
import sys

import jsonschema


def main():
    kind, doc_path, schema_dir = sys.argv[1:4]
    doc = json.load(open(doc_path))
    if kind == "cyclonedx":
        d = os.path.join(schema_dir, "cyclonedx-1.6")
        schema = json.load(open(os.path.join(d, "bom-1.6.schema.json")))
        store = {}
        for name in ("spdx.schema.json", "jsf-0.82.schema.json", "bom-1.6.schema.json"):
            s = json.load(open(os.path.join(d, name)))
            store[name] = s
            store["http://cyclonedx.org/schema/" + name] = s
            if "$id" in s:
                store[s["$id"]] = s
        resolver = jsonschema.RefResolver(base_uri=schema.get("$id", ""), referrer=schema, store=store)
        validator = jsonschema.Draft7Validator(schema, resolver=resolver, format_checker=jsonschema.FormatChecker())
    elif kind == "spdx":
        schema = json.load(open(os.path.join(schema_dir, "spdx-3.0.1", "spdx-json-schema.json")))
        validator = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())
    else:
        sys.exit("kind must be cyclonedx or spdx")
    errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path))
    for e in errors[:20]:
        print("INVALID at /%s: %s" % ("/".join(str(p) for p in e.absolute_path), e.message[:300]))
    if errors:
        sys.exit(1)
    print("%s document valid against its schema" % kind)


if __name__ == "__main__":
    main()
