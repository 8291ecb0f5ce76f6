#!/usr/bin/env bash
# A sealed package is a plain OCI artifact: skopeo (which knows nothing of
# Arca) copies it into Debian's docker-registry (CNCF distribution) and back,
# every blob arrives byte-identical, and the round-tripped layout opens to the
# exact model. Starts the registry on 127.0.0.1 and a free port; stops it.
#   oci_skopeo_test.sh ARCA MAKE_MODEL
set -euo pipefail
ARCA=$1; MAKE_MODEL=$2
for tool in skopeo docker-registry python3; do
  command -v "$tool" >/dev/null || { echo "FAIL: $tool is not installed (scripts/setup.sh --test installs it)"; exit 1; }
done
W=$(mktemp -d /tmp/arca-oci-test.XXXXXX)
REG_PID=""
cleanup() { [[ -n $REG_PID ]] && kill "$REG_PID" 2>/dev/null; wait 2>/dev/null; rm -rf "$W"; }
trap cleanup EXIT
export HOME=$W/home; mkdir -p "$HOME"  # skopeo keeps a blob-info cache under $HOME
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat >"$W/registry.yml" <<YML
version: 0.1
log: { level: error }
storage:
  filesystem: { rootdirectory: $W/storage }
http:
  addr: 127.0.0.1:$PORT
YML
docker-registry serve "$W/registry.yml" >"$W/registry.log" 2>&1 &
REG_PID=$!
for _ in $(seq 100); do (echo >/dev/tcp/127.0.0.1/$PORT) 2>/dev/null && break; sleep 0.1; done
(echo >/dev/tcp/127.0.0.1/$PORT) 2>/dev/null || { echo "FAIL: docker-registry did not start"; cat "$W/registry.log"; exit 1; }

"$MAKE_MODEL" "$W/model" --mib 8 --seed 5 >/dev/null
"$ARCA" lineage-key new -o "$W/k" >/dev/null
"$ARCA" seal "$W/model" -o "$W/pkg" --name acme/med-llm --version 1.0 --lineage-key "$W/k" --pack-size 2M >/dev/null
npacks=$("$ARCA" inspect "$W/pkg" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["packs"]["count"])')
((npacks >= 2)) || { echo "FAIL: expected several packs to exercise multi-layer copies, got $npacks"; exit 1; }

SK=(skopeo --registries-conf /dev/null)
"${SK[@]}" copy --dest-tls-verify=false "oci:$W/pkg:1.0" "docker://127.0.0.1:$PORT/acme/med-llm:1.0" >"$W/push.log" 2>&1 \
  || { echo "FAIL: skopeo copy into docker-registry"; cat "$W/push.log"; exit 1; }
"${SK[@]}" copy --src-tls-verify=false "docker://127.0.0.1:$PORT/acme/med-llm:1.0" "oci:$W/back:1.0" >"$W/pull.log" 2>&1 \
  || { echo "FAIL: skopeo copy back from docker-registry"; cat "$W/pull.log"; exit 1; }

n=0
for f in "$W"/pkg/blobs/sha256/*; do
  cmp -s "$f" "$W/back/blobs/sha256/${f##*/}" || { echo "FAIL: blob ${f##*/} did not round-trip byte-identical"; exit 1; }
  n=$((n + 1))
done
"$ARCA" open "$W/back:1.0" --lineage-key "$W/k" -o "$W/out" >/dev/null || { echo "FAIL: arca open of the round-tripped layout"; exit 1; }
diff -r "$W/model" "$W/out" >/dev/null || { echo "FAIL: round-tripped package did not open to the exact model"; exit 1; }
echo "ok: $n blobs ($npacks packs) round-tripped through docker-registry with skopeo; opened bit-exact"
