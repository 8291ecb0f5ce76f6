#!/usr/bin/env bash
# Arca's main job end to end, on the embedded defaults: make a sample model, create release keys and a 2-of-3 namespace
# root, seal and sign the model, inspect it without keys, attach a signed
# release policy, verify everything against the root; start arca-registry
# (SQLite + a blob directory, nothing to set up), push, and pull it as an
# enterprise that trusts the root out of band; open the pulled copy with the
# lineage key and prove it bit-identical; show a foreign signature refused by
# the verifier and by the registry, and a wrong key refused; then the lab's
# key broker releases the keys to an attested runtime (the simulated SNP TEE:
# there is no TEE hardware here) that serves the model to an engine, a client
# verifies the endpoint before querying it, and the release shows in the
# registry's transparency log, whose checkpoints an independent witness
# cosigns. Installs what is missing and builds first.
#
#   ./scripts/demo.sh [--mib N] [--keep]
set -euo pipefail
cd "$(dirname "$0")/.."
MIB=64; KEEP=0
while (($#)); do
  case $1 in
    --mib) MIB=$2; shift 2 ;;
    --keep) KEEP=1; shift ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) echo "demo: unknown option $1" >&2; exit 2 ;;
  esac
done

scripts/setup.sh
BUILD=${ARCA_BUILD_DIR:-build}
cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DARCA_TESTS=OFF -DARCA_BENCH=OFF >/dev/null
cmake --build "$BUILD" --target arca arca-registry arca-keybroker arca-runtime arca-make-model >/dev/null
ARCA=$(realpath "$BUILD/client/arca"); REGISTRY=$(realpath "$BUILD/registry-server/arca-registry")
KEYBROKER=$(realpath "$BUILD/registry-server/arca-keybroker"); RUNTIME=$(realpath "$BUILD/runtime/arca-runtime")

W=$(mktemp -d /tmp/arca-demo.XXXXXX)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; [[ $KEEP == 1 ]] || rm -rf "$W"; }
trap cleanup EXIT
# The lab's and the enterprise's CLI state (credentials, trusted roots, the
# local store) live in their own homes under the demo folder.
export HOME=$W/lab-home; mkdir -p "$HOME"
step() { printf '\n\033[1m== %s\033[0m\n$ %s\n' "$1" "${*:2}"; "${@:2}"; }

step "1. a sample model (bf16 weights like a real checkpoint)" "$BUILD/bench/arca-make-model" "$W/model" --mib "$MIB" --seed 7
step "2. the lab creates a lineage key" "$ARCA" lineage-key new -o "$W/acme-med.key"
for k in alice bob carol; do "$ARCA" key new -o "$W/$k.key" >/dev/null; "$ARCA" key pub "$W/$k.key" >"$W/$k.pub"; done
step "3. release keys and a 2-of-3 namespace root" "$ARCA" root init acme --key "$W/alice.pub" --key "$W/bob.pub" --key "$W/carol.pub" --threshold 2 --sign "$W/alice.key" --sign "$W/bob.key" -o "$W/acme.root.json"
step "4. seal and sign: chunk, compress, encrypt, pack; release + provenance statements" "$ARCA" seal "$W/model" -o "$W/pkg" --name acme/med-llm --version 1.2 --lineage-key "$W/acme-med.key" --sign "$W/alice.key" --step train --dataset "pubmed=https://example.org/pubmed@sha256:$(sha256sum "$W/model/config.json" | cut -c1-64)"
step "5. a second release key signs (2 of 3 now)" "$ARCA" sign "$W/pkg" --key "$W/bob.key"
step "6. inspect without any key" "$ARCA" inspect "$W/pkg"
step "7. a release policy: which TEE measurement may receive the keys (here: this arca-runtime build)" "$ARCA" policy new "$W/pkg" -o "$W/policy.json"
MEASUREMENT=$("$RUNTIME" measurement --tee sim-snp)
"$ARCA" policy allow "$W/policy.json" --platform sev-snp --measurement "$MEASUREMENT" --min-tcb snp=8
"$ARCA" policy sign "$W/policy.json" --key "$W/alice.key" >/dev/null && "$ARCA" policy sign "$W/policy.json" --key "$W/bob.key" >/dev/null
"$ARCA" policy attach "$W/pkg" "$W/policy.json"
step "8. verify everything against the root (re-hashing every pack)" "$ARCA" verify "$W/pkg" --root "$W/acme.root.json" --deep
printf '\n\033[1m== 9. the registry operator starts arca-registry and registers acme'"'"'s root; an independent witness cosigns its log\033[0m\n'
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
WIT_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
echo "\$ arca-registry namespace add acme --root acme.root.json --data $W/var"
"$REGISTRY" namespace add acme --root "$W/acme.root.json" --data "$W/var"
"$REGISTRY" log key --data "$W/var" >"$W/log.vkey"
echo "\$ arca-registry witness key --data $W/witness --name witness.example/demo > witness.vkey"
"$REGISTRY" witness key --data "$W/witness" --name witness.example/demo | tee "$W/witness.vkey"
echo "\$ arca-registry witness serve --data $W/witness --log-key log.vkey --listen 127.0.0.1:$WIT_PORT &"
"$REGISTRY" witness serve --data "$W/witness" --log-key "$W/log.vkey" --listen "127.0.0.1:$WIT_PORT" 2>"$W/witness.log" &
PIDS+=($!)
for _ in $(seq 100); do (echo >/dev/tcp/127.0.0.1/$WIT_PORT) 2>/dev/null && break; sleep 0.1; done
echo "\$ arca-registry serve --data $W/var --listen 127.0.0.1:$PORT --witness http://127.0.0.1:$WIT_PORT witness.vkey &"
"$REGISTRY" serve --data "$W/var" --listen "127.0.0.1:$PORT" --witness "http://127.0.0.1:$WIT_PORT" "$W/witness.vkey" 2>"$W/registry.log" &
PIDS+=($!)
for _ in $(seq 100); do (echo >/dev/tcp/127.0.0.1/$PORT) 2>/dev/null && break; sleep 0.1; done
TOKEN=$("$REGISTRY" token create --namespace acme --scope push,pull --label demo --data "$W/var" 2>/dev/null | tail -1)
echo "token created (shown once; the registry keeps only its hash)"
printf '\n\033[1m== 10. the lab logs in and pushes (only blobs the registry lacks)\033[0m\n'
echo "\$ arca login 127.0.0.1:$PORT --token arca_…"
"$ARCA" login "127.0.0.1:$PORT" --token "$TOKEN"
echo "\$ arca push $W/pkg 127.0.0.1:$PORT/acme/med-llm:1.2"
"$ARCA" push "$W/pkg" "127.0.0.1:$PORT/acme/med-llm:1.2"
printf '\n\033[1m== 11. a package carrying a signature by a key outside the root is refused\033[0m\n'
cp -a "$W/pkg" "$W/pkg-evil"
"$ARCA" key new -o "$W/mallory.key" >/dev/null
"$ARCA" sign "$W/pkg-evil" --key "$W/mallory.key" >/dev/null
echo "\$ $ARCA verify $W/pkg-evil --root $W/acme.root.json"
# verify must exit non-zero and name the unknown signer.
if "$ARCA" verify "$W/pkg-evil" --root "$W/acme.root.json" >"$W/evil.log" 2>&1; then
  echo "demo: a foreign signature was accepted" >&2; exit 1
fi
grep -E 'NOT verified|FAIL' "$W/evil.log"
grep -q 'unknown signer' "$W/evil.log" || { echo "demo: the refusal did not name the unknown signer" >&2; exit 1; }
echo "\$ $ARCA push $W/pkg-evil 127.0.0.1:$PORT/acme/med-llm:evil"
if "$ARCA" push "$W/pkg-evil" "127.0.0.1:$PORT/acme/med-llm:evil" >"$W/evil-push.log" 2>&1; then
  echo "demo: the registry accepted a package with a foreign signature" >&2; exit 1
fi
tail -1 "$W/evil-push.log" | cut -c1-240
export HOME=$W/enterprise-home; mkdir -p "$HOME"
"$ARCA" login "127.0.0.1:$PORT" --token "$TOKEN" >/dev/null
step "12. an enterprise trusts acme's root, the registry's log key and the witness, obtained out of band" "$ARCA" trust add acme "$W/acme.root.json"
"$ARCA" trust log "127.0.0.1:$PORT" "$W/log.vkey"
"$ARCA" trust witness "127.0.0.1:$PORT" "$W/witness.vkey" --min 1
step "13. and pulls: the log checkpoint cosigned, signatures verified before any weights move, every blob hashed" "$ARCA" pull "127.0.0.1:$PORT/acme/med-llm:1.2" --store "$W/store"
step "14. the local store" "$ARCA" ls --store "$W/store"
step "15. open the pulled copy with the lineage key (every chunk and file digest verified)" "$ARCA" open "$W/store:acme/med-llm:1.2" --lineage-key "$W/acme-med.key" -o "$W/out"
step "16. bit-identical?" diff -r "$W/model" "$W/out"
echo "yes: the model that went through the registry opens bit-identical to the original"
printf '\n\033[1m== 17. a wrong lineage key is refused, and nothing is written\033[0m\n'
"$ARCA" lineage-key new -o "$W/other.key" >/dev/null
echo "\$ $ARCA open $W/pkg --lineage-key $W/other.key -o $W/out2"
if "$ARCA" open "$W/pkg" --lineage-key "$W/other.key" -o "$W/out2"; then
  echo "demo: a wrong key was accepted" >&2; exit 1
else
  echo "refused (exit $?); $W/out2 was $([[ -e $W/out2 ]] && echo "CREATED" || echo "not created")"
fi

export HOME=$W/lab-home
step "18. the lab registers the version with its key broker, and starts it" "$KEYBROKER" register "$W/pkg" --lineage-key "$W/acme-med.key" --root "$W/acme.root.json" --data "$W/kb"
KB_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$REGISTRY" token create --namespace acme --scope push --label keybroker --data "$W/var" 2>/dev/null | tail -1 >"$W/kb-token"
echo "\$ arca-keybroker serve --data $W/kb --listen 127.0.0.1:$KB_PORT --allow-sim --registry http://127.0.0.1:$PORT --registry-token-file … &"
"$KEYBROKER" serve --data "$W/kb" --listen "127.0.0.1:$KB_PORT" --allow-sim --registry "http://127.0.0.1:$PORT" \
  --registry-token-file "$W/kb-token" 2>"$W/keybroker.log" &
PIDS+=($!)
for _ in $(seq 100); do (echo >/dev/tcp/127.0.0.1/$KB_PORT) 2>/dev/null && break; sleep 0.1; done
export HOME=$W/enterprise-home
printf '\n\033[1m== 19. the enterprise serves it from its store: attest, get the keys, decrypt into sealed memory, start the engine\033[0m\n'
RT_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
echo "\$ arca-runtime serve 127.0.0.1:$PORT/acme/med-llm:1.2 --store $W/store --broker http://127.0.0.1:$KB_PORT --tee sim-snp --engine 'python3 hash_engine.py {model} {port}' --model-file model.safetensors --listen 127.0.0.1:$RT_PORT &"
"$RUNTIME" serve "127.0.0.1:$PORT/acme/med-llm:1.2" --store "$W/store" --broker "http://127.0.0.1:$KB_PORT" --tee sim-snp \
  --engine "python3 $PWD/tests/integration/hash_engine.py {model} {port}" --model-file model.safetensors \
  --listen "127.0.0.1:$RT_PORT" 2>"$W/runtime.log" &
PIDS+=($!)
for _ in $(seq 300); do (echo >/dev/tcp/127.0.0.1/$RT_PORT) 2>/dev/null && break; sleep 0.1; done
grep -E 'released|decrypted|engine pid|serving' "$W/runtime.log" | sed 's/^/  /'
printf '\n\033[1m== 20. a client verifies the endpoint against the lab'"'"'s policy, then asks (the engine answers with the SHA-256 of the weights it was given)\033[0m\n'
echo "\$ arca connect https://127.0.0.1:$RT_PORT --policy policy.json --allow-sim /"
GOT=$("$ARCA" connect "https://127.0.0.1:$RT_PORT" --policy "$W/policy.json" --allow-sim /)
echo "$GOT"
[[ $GOT == "$(sha256sum "$W/model/model.safetensors" | cut -c1-64)" ]] || { echo "demo: the engine did not get the exact weights" >&2; exit 1; }
echo "equal to sha256sum of the original weights: the engine got them exactly, from memory, never from disk"
step "21. the key release is in the registry's transparency log" "$ARCA" audit "127.0.0.1:$PORT/acme/med-llm"
[[ $KEEP == 1 ]] && echo "kept the demo files in $W"
echo; echo "demo complete"
