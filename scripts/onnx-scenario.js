#!/usr/bin/env node
// An inference service on ONNX Runtime Web (`onnxruntime-web`), the WebAssembly runtime many of
// our users serve their models with from JavaScript. The model, a two-layer perceptron
// (256 → 512 → 256, ReLU, 640 KiB of weights), is written below in ONNX's protobuf form, so no
// model file is needed. Each request makes an input tensor, runs the session and reads the
// output; the runtime copies the input into its WebAssembly memory and the output back out into
// a fresh Float32Array.
//   --leak          each request's output tensor is also kept in a history list that nothing
//                   reads: 1 KiB of typed array and an `ort.Tensor` a request, in the JS heap
//   --leak-session  every fifth request opens a new session for the same model and never calls
//                   release(): its weights and kernels stay inside the WebAssembly memory, which
//                   grows, with nothing of it left in the JS heap once the session object is gone
//   --grow-once     (clean) right after the baseline, one batch of 2048 rows is run: the memory
//                   grows once to hold it and keeps its size
//   --threads N     the runtime's thread count (default 1; more uses a shared memory and
//                   worker threads)
//
// usage: node --expose-gc scripts/onnx-scenario.js OUT_DIR trio|series [--leak|--leak-session|--grow-once] [--threads N]
//   trio:   30 warm-up requests, baseline, 60 requests, target, final
//   series: 30 warm-up requests, then step1 … step5 with 30 requests before each
// Needs onnxruntime-web 1.x on NODE_PATH; scripts/frameworks.sh installs it and runs every
// combination through the leak and growth gates.
'use strict';
const v8 = require('v8'), fs = require('fs');
const [out, shape] = process.argv.slice(2);
const flag = (name) => process.argv.includes(name);
const LEAK = flag('--leak'), LEAK_SESSION = flag('--leak-session'), GROW = flag('--grow-once');
const threadsAt = process.argv.indexOf('--threads');
const THREADS = threadsAt > 0 ? Number(process.argv[threadsAt + 1]) : 1;
if (!out || !['trio', 'series'].includes(shape) || typeof global.gc !== 'function'
    || !(THREADS >= 1)) {
  process.stderr.write('usage: node --expose-gc onnx-scenario.js OUT_DIR trio|series '
    + '[--leak|--leak-session|--grow-once] [--threads N]\n');
  process.exit(2);
}
const ort = require('onnxruntime-web');

// --- ONNX's protobuf form, only what this model needs -------------------------------------------
const varint = (n) => {
  const bytes = [];
  for (let v = BigInt(n); ; v >>= 7n) {
    if (v < 0x80n) { bytes.push(Number(v)); return Buffer.from(bytes); }
    bytes.push(Number(v & 0x7fn) | 0x80);
  }
};
const field = (number, wireType) => varint((number << 3) | wireType);
const int = (number, value) => Buffer.concat([field(number, 0), varint(value)]);
const bytes = (number, value) => {
  const body = Buffer.isBuffer(value) ? value : Buffer.from(value, 'utf8');
  return Buffer.concat([field(number, 2), varint(body.length), body]);
};
const message = (number, ...parts) => bytes(number, Buffer.concat(parts));
const FLOAT = 1;

// A tensor's type with a symbolic first dimension (the batch) and fixed others.
const valueInfo = (number, name, dims) => message(number, bytes(1, name),
  message(2, message(1, int(1, FLOAT), message(2, ...dims.map((d) => message(1,
    typeof d === 'string' ? bytes(2, d) : int(1, d)))))));
const initializer = (name, dims, seed) => {
  const data = new Float32Array(dims.reduce((a, b) => a * b, 1));
  let x = seed;
  for (let i = 0; i < data.length; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    data[i] = ((x >>> 8) / 0x1000000 - 0.5) * 0.1;
  }
  return message(5, ...dims.map((d) => int(1, d)), int(2, FLOAT), bytes(8, name),
    bytes(9, Buffer.from(data.buffer)));
};
const node = (op, inputs, output) => message(1, ...inputs.map((i) => bytes(1, i)),
  bytes(2, output), bytes(3, `${op}_${output}`), bytes(4, op));

function mlpModel() {
  const graph = Buffer.concat([
    node('MatMul', ['x', 'w1'], 'h0'), node('Add', ['h0', 'b1'], 'h1'), node('Relu', ['h1'], 'h'),
    node('MatMul', ['h', 'w2'], 'y0'), node('Add', ['y0', 'b2'], 'y'),
    bytes(2, 'mlp'),
    initializer('w1', [256, 512], 1), initializer('b1', [512], 2),
    initializer('w2', [512, 256], 3), initializer('b2', [256], 4),
    valueInfo(11, 'x', ['batch', 256]), valueInfo(12, 'y', ['batch', 256]),
  ]);
  return new Uint8Array(Buffer.concat([int(1, 8), bytes(2, 'heapsight'), message(7, graph),
    message(8, bytes(1, ''), int(2, 17))]));
}

// --- the service --------------------------------------------------------------------------------
async function main() {
  ort.env.wasm.numThreads = THREADS;
  fs.mkdirSync(out, { recursive: true });
  const model = mlpModel();
  const open = () => ort.InferenceSession.create(model, { executionProviders: ['wasm'] });
  let session = await open();
  const history = [], abandoned = [];
  let served = 0;
  const infer = async (rows) => {
    const input = new Float32Array(rows * 256);
    for (let i = 0; i < input.length; i++) input[i] = ((i * 7 + served) % 13) / 13;
    const { y } = await session.run({ x: new ort.Tensor('float32', input, [rows, 256]) });
    return y;
  };
  const request = async () => {
    served++;
    if (LEAK_SESSION && served % 5 === 0) {
      abandoned.push(session); // dropped below, never released
      session = await open();
      abandoned.length = 0;
    }
    const y = await infer(1);
    if (y.data.length !== 256) throw new Error('unexpected output size');
    if (LEAK) history.push(y);
  };
  const snap = (name) => { global.gc(); v8.writeHeapSnapshot(`${out}/${name}.heapsnapshot`); };
  const serve = async (n) => { for (let i = 0; i < n; i++) await request(); };
  await serve(30);
  if (shape === 'trio') {
    snap('baseline');
    if (GROW) await infer(2048);
    await serve(60);
    snap('target');
    snap('final');
  } else {
    for (let s = 1; s <= 5; s++) {
      await serve(30);
      snap(`step${s}`);
    }
  }
  process.stdout.write(`served ${served} requests, kept ${history.length} outputs\n`);
  await session.release();
}
main().then(() => process.exit(0), (e) => { process.stderr.write(`${e.stack}\n`); process.exit(1); });
