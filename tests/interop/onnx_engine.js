#!/usr/bin/env node
// onnx_engine.js MODEL_PATH PORT: a tiny real inference engine for the
// runtime tests. It loads an ONNX model with onnxruntime-node from MODEL_PATH
// (under arca-runtime, a /proc/self/fd/N path to a sealed memfd), listens on
// 127.0.0.1:PORT and answers:
//   GET /        {"inputs":[...],"outputs":[...]} (the session's names)
//   POST /infer  a JSON body, the outputs as JSON
// For the Silero VAD model (inputs input/sr/h/c, outputs output/hn/cn) the
// body is either {"audio":[floats], "sr":16000, "frame":512} or a
// deterministic synthetic signal {"seed":N, "frames":K, "frame":512,
// "sr":16000}: a tone whose frequency and amplitude follow the seed, plus
// noise from a 32-bit LCG. Frames run in order carrying the h/c state; the
// answer lists each frame's speech probability and the final h/c state as
// exact float32 values (JavaScript's shortest round-trip text), on one
// thread, so the same model and body give byte-identical answers.
'use strict';
const http = require('http');
const ort = require('onnxruntime-node');

const [modelPath, portText] = process.argv.slice(2);
const port = Number(portText);
if (!modelPath || !Number.isInteger(port) || port <= 0 || port > 65535) {
  process.stderr.write('usage: onnx_engine.js MODEL_PATH PORT\n');
  process.exit(2);
}

const kMaxBody = 4 << 20;
const kMaxSamples = 1 << 20;

function synth(seed, count) {
  let x = seed >>> 0;
  const rand = () => { x = (Math.imul(x, 1664525) + 1013904223) >>> 0; return x / 4294967296; };
  const freq = 120 + (seed % 700);
  const amp = 0.05 + (seed % 9) / 10;
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    out[i] = amp * Math.sin((2 * Math.PI * freq * i) / 16000) + 0.1 * (rand() * 2 - 1);
  }
  return out;
}

function parseRequest(body) {
  let req;
  try { req = JSON.parse(body); } catch (e) { throw new Error(`body is not JSON: ${e.message}`); }
  if (req === null || typeof req !== 'object') throw new Error('body is not a JSON object');
  const sr = req.sr === undefined ? 16000 : req.sr;
  if (sr !== 8000 && sr !== 16000) throw new Error(`sr ${sr} is not 8000 or 16000`);
  const frame = req.frame === undefined ? 512 : req.frame;
  if (!Number.isInteger(frame) || frame < 64 || frame > 4096) throw new Error(`frame ${frame} is not an integer in [64, 4096]`);
  let audio;
  if (req.audio !== undefined) {
    if (!Array.isArray(req.audio) || req.audio.length === 0 || req.audio.length > kMaxSamples ||
        !req.audio.every((v) => typeof v === 'number' && Number.isFinite(v))) {
      throw new Error(`audio is not a non-empty array of at most ${kMaxSamples} finite numbers`);
    }
    if (req.audio.length % frame !== 0) throw new Error(`audio length ${req.audio.length} is not a multiple of frame ${frame}`);
    audio = Float32Array.from(req.audio);
  } else {
    const { seed, frames } = req;
    if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) throw new Error('seed is not an integer in [0, 2^32)');
    if (!Number.isInteger(frames) || frames < 1 || frames * frame > kMaxSamples) throw new Error(`frames is not an integer in [1, ${Math.floor(kMaxSamples / frame)}]`);
    audio = synth(seed, frames * frame);
  }
  return { audio, sr, frame };
}

async function infer(session, { audio, sr, frame }) {
  let h = new ort.Tensor('float32', new Float32Array(2 * 64), [2, 1, 64]);
  let c = new ort.Tensor('float32', new Float32Array(2 * 64), [2, 1, 64]);
  const srT = new ort.Tensor('int64', BigInt64Array.from([BigInt(sr)]), []);
  const probs = [];
  for (let off = 0; off < audio.length; off += frame) {
    const input = new ort.Tensor('float32', audio.slice(off, off + frame), [1, frame]);
    const out = await session.run({ input, sr: srT, h, c });
    probs.push(out.output.data[0]);
    h = out.hn; c = out.cn;
  }
  return { frames: probs.length, probs, hn: Array.from(h.data), cn: Array.from(c.data) };
}

function send(res, code, obj) {
  const text = JSON.stringify(obj) + '\n';
  res.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

(async () => {
  let session;
  try {
    session = await ort.InferenceSession.create(modelPath, {
      intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential',
      graphOptimizationLevel: 'all', enableCpuMemArena: true, logSeverityLevel: 3,
    });
  } catch (e) {
    process.stderr.write(`onnx_engine: cannot load model ${modelPath}: ${e.message}\n`);
    process.exit(1);
  }
  const want = ['input', 'sr', 'h', 'c'];
  if (want.some((n) => !session.inputNames.includes(n))) {
    process.stderr.write(`onnx_engine: model inputs ${session.inputNames.join(',')} are not Silero VAD's ${want.join(',')}\n`);
    process.exit(1);
  }
  let busy = Promise.resolve();
  const server = http.createServer((req, res) => {
    const chunks = [];
    let size = 0;
    req.on('data', (d) => {
      size += d.length;
      if (size > kMaxBody) { send(res, 413, { error: `body larger than ${kMaxBody} bytes` }); req.destroy(); return; }
      chunks.push(d);
    });
    req.on('end', () => {
      if (res.writableEnded) return;
      if (req.method === 'GET' && req.url === '/') {
        send(res, 200, { inputs: session.inputNames, outputs: session.outputNames });
        return;
      }
      if (req.method !== 'POST' || req.url !== '/infer') { send(res, 404, { error: `no route ${req.method} ${req.url}` }); return; }
      let parsed;
      try { parsed = parseRequest(Buffer.concat(chunks).toString('utf8')); } catch (e) { send(res, 400, { error: e.message }); return; }
      // One inference at a time: the session is shared and answers must not depend on interleaving.
      busy = busy.then(() => infer(session, parsed))
        .then((out) => send(res, 200, out), (e) => send(res, 500, { error: `inference failed: ${e.message}` }));
    });
  });
  server.listen(port, '127.0.0.1');
})();
