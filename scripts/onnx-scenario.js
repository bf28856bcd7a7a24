#!/usr/bin/env node
// An inference service on ONNX Runtime Web (`onnxruntime-web`), the WebAssembly runtime many of
// our users serve their models with from JavaScript, in Node or in a headless Chromium page. The
// model, a two-layer perceptron (256 → 512 → 256, ReLU, 640 KiB of weights), is written below
// in ONNX's protobuf form, so no model file is needed. Each request makes an input tensor, runs
// the session and reads the output; the runtime copies the input into its WebAssembly memory
// and the output back out into a fresh Float32Array. In a page, each result is also shown as
// a row of a list that keeps the latest ten.
//   --leak          each request's output tensor is also kept in a history list that nothing
//                   reads: 1 KiB of typed array and an `ort.Tensor` a request, in the JS heap
//   --leak-session  every fifth request opens a new session for the same model and never calls
//                   release(): its weights and kernels stay inside the WebAssembly memory, which
//                   grows, and the runtime's map of open sessions keeps an entry for each
//   --leak-dom      (page) the rows taken off the list are also kept in an array: detached DOM
//   --grow-once     (clean) right after the baseline, one batch of 2048 rows is run: the memory
//                   grows once to hold it and keeps its size
//   --threads N     the runtime's thread count (default 1; more uses a shared memory and
//                   worker threads; Node only: a page would need cross-origin isolation)
//   --browser       run in Debian's Chromium (/usr/bin/chromium, or $CHROMIUM) through
//                   puppeteer-core, the page and the runtime served from 127.0.0.1, snapshots
//                   taken over the DevTools protocol
//
// usage: node --expose-gc scripts/onnx-scenario.js OUT_DIR trio|series [FLAGS…]
//   trio:   30 warm-up requests, baseline, 60 requests, target, final
//   series: 30 warm-up requests, then step1 … step5 with 30 requests before each
// Needs onnxruntime-web 1.x (and for --browser puppeteer-core) on NODE_PATH;
// scripts/frameworks.sh installs them and runs every combination through the leak and growth
// gates.
'use strict';
const v8 = require('v8'), fs = require('fs');
const { takeSnapshots } = require('./scenario-steps');
const [out, shape] = process.argv.slice(2);
const flag = (name) => process.argv.includes(name);
const threadsAt = process.argv.indexOf('--threads');
const opts = {
  leak: flag('--leak'),
  leakSession: flag('--leak-session'),
  leakDom: flag('--leak-dom'),
  threads: threadsAt > 0 ? Number(process.argv[threadsAt + 1]) : 1,
};
const GROW = flag('--grow-once'), BROWSER = flag('--browser');
if (!out || !['trio', 'series'].includes(shape) || !(opts.threads >= 1)
    || (BROWSER ? opts.threads !== 1 : typeof global.gc !== 'function' || opts.leakDom)) {
  process.stderr.write('usage: node --expose-gc onnx-scenario.js OUT_DIR trio|series '
    + '[--leak|--leak-session|--leak-dom|--grow-once] [--threads N] [--browser]\n');
  process.exit(2);
}

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

// --- the service ---------------------------------------------------------------------------------
// The same code in Node and in the page (served there as a script of its own): what the driver
// calls between snapshots. `ort` is the runtime, `model` the model's bytes.
async function makeService(ort, model, opts) {
  ort.env.wasm.numThreads = opts.threads;
  const open = () => ort.InferenceSession.create(model, { executionProviders: ['wasm'] });
  let session = await open();
  const history = [], rows = [], removedRows = [];
  let served = 0;
  const infer = async (batch) => {
    const input = new Float32Array(batch * 256);
    for (let i = 0; i < input.length; i++) input[i] = ((i * 7 + served) % 13) / 13;
    const { y } = await session.run({ x: new ort.Tensor('float32', input, [batch, 256]) });
    return y;
  };
  const show = (y) => {
    if (typeof document === 'undefined') return;
    const row = document.createElement('li');
    row.className = 'result';
    row.textContent = `#${served}: ${y.data[0].toFixed(4)}`;
    document.getElementById('results').prepend(row);
    rows.push(row);
    while (rows.length > 10) {
      const old = rows.shift();
      old.remove();
      if (opts.leakDom) removedRows.push(old);
    }
  };
  const request = async () => {
    served++;
    if (opts.leakSession && served % 5 === 0) session = await open(); // the old one never released
    const y = await infer(1);
    if (y.data.length !== 256) throw new Error('unexpected output size');
    if (opts.leak) history.push(y);
    show(y);
  };
  return {
    run: async (n) => {
      for (let i = 0; i < n; i++) await request();
      return served;
    },
    grow: async () => (await infer(2048)).data.length,
    finish: async () => {
      await session.release();
      return `served ${served} requests, kept ${history.length} outputs, ${removedRows.length} removed rows`;
    },
  };
}

async function inNode() {
  const ort = require('onnxruntime-web');
  const service = await makeService(ort, mlpModel(), opts);
  await takeSnapshots({ shape, warmup: 30, grow: GROW }, service, async (name) => {
    global.gc();
    v8.writeHeapSnapshot(`${out}/${name}.heapsnapshot`);
  });
}

// --- in a page ----------------------------------------------------------------------------------
async function inBrowser() {
  const path = require('path');
  const { snapshotsOfPage } = require('./chromium');
  const dist = path.join(path.dirname(require.resolve('onnxruntime-web')));
  const types = { '.js': 'text/javascript', '.mjs': 'text/javascript', '.wasm': 'application/wasm' };
  const files = {
    '/': ['text/html', '<!doctype html><html><head><meta charset="utf-8">'
      + '<title>heapsight ONNX Runtime Web scenario</title></head><body><ul id="results"></ul>'
      + '<script src="/ort/ort.wasm.min.js"></script><script src="/service.js"></script>'
      + '</body></html>'],
    '/service.js': ['text/javascript', `window.makeService = ${makeService.toString()};\n`],
    '/model.onnx': ['application/octet-stream', Buffer.from(mlpModel())],
  };
  const serve = (url) => {
    if (files[url]) return files[url];
    if (!url.startsWith('/ort/') || url.includes('..')) return null;
    const file = path.join(dist, url.slice(5));
    return fs.existsSync(file)
      ? [types[path.extname(file)] || 'application/octet-stream', fs.readFileSync(file)] : null;
  };
  await snapshotsOfPage({
    serve,
    setup: async (o) => {
      window.ort.env.wasm.wasmPaths = `${location.origin}/ort/`;
      const model = new Uint8Array(await (await fetch('/model.onnx')).arrayBuffer());
      window.service = await window.makeService(window.ort, model, o);
    },
    setupArg: opts,
    name: 'service',
    steps: { shape, warmup: 30, grow: GROW },
    out,
  });
}

fs.mkdirSync(out, { recursive: true });
(BROWSER ? inBrowser() : inNode()).then(() => process.exit(0),
  (e) => { process.stderr.write(`${e.stack}\n`); process.exit(1); });
