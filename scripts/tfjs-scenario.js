#!/usr/bin/env node
// A training loop on TensorFlow.js, the library many of our users' front ends run, on its CPU
// backend (tensor data in typed arrays, in a WeakMap keyed by each tensor's dataId) or its
// WebAssembly backend (tensor data in the module's memory, freed only by dispose()), in Node or
// in a headless Chromium page. Each step minimises a small dense model's loss with Adam and
// disposes what it made.
//   --leak        each step also computes a 256×256 product and never disposes it; on the CPU
//                 backend the program keeps the tensors in a list (a plot for later), on the
//                 WebAssembly backend it drops them: their 256 KiB stay allocated inside the
//                 memory, which grows, with no object left in the JS heap
//   --grow-once   (clean) right after the baseline, one 2048×2048 product is made and disposed:
//                 the WebAssembly memory grows once, and Emscripten replaces its views of it
//   --browser     run in Debian's Chromium (/usr/bin/chromium, or $CHROMIUM) through
//                 puppeteer-core, the page and the library's bundles served from 127.0.0.1,
//                 snapshots taken over the DevTools protocol
//
// usage: node --expose-gc scripts/tfjs-scenario.js cpu|wasm OUT_DIR trio|series [--leak|--grow-once] [--browser]
//   trio:   20 warm-up steps, baseline, 40 steps, target, final
//   series: 20 warm-up steps, then step1 … step5 with 20 steps before each
// Needs @tensorflow/tfjs and @tensorflow/tfjs-backend-wasm 4.x (and for --browser
// puppeteer-core) on NODE_PATH; scripts/frameworks.sh installs them and runs every combination
// through the leak and growth gates.
'use strict';
const v8 = require('v8'), fs = require('fs');
const { takeSnapshots } = require('./scenario-steps');
const [backend, out, shape] = process.argv.slice(2);
const opts = { backend, leak: process.argv.includes('--leak') };
const GROW = process.argv.includes('--grow-once'), BROWSER = process.argv.includes('--browser');
if (!['cpu', 'wasm'].includes(backend) || !out || !['trio', 'series'].includes(shape)
    || (!BROWSER && typeof global.gc !== 'function')) {
  process.stderr.write('usage: node --expose-gc tfjs-scenario.js cpu|wasm OUT_DIR trio|series '
    + '[--leak|--grow-once] [--browser]\n');
  process.exit(2);
}

// The same code in Node and in the page (served there as a script of its own): what the driver
// calls between snapshots. `tf` is TensorFlow.js with the backend's package loaded.
async function makeTrainer(tf, opts) {
  if (!await tf.setBackend(opts.backend)) throw new Error(`no ${opts.backend} backend`);
  await tf.ready();
  const model = tf.sequential({ layers: [
    tf.layers.dense({ inputShape: [64], units: 128, activation: 'relu' }),
    tf.layers.dense({ units: 10, activation: 'softmax' }) ] });
  const optimizer = tf.train.adam(0.001);
  const xs = tf.randomNormal([32, 64]);
  const ys = tf.oneHot(tf.randomUniform([32], 0, 10, 'int32'), 10);
  const features = tf.randomNormal([256, 64]), projection = tf.randomNormal([64, 256]);
  const kept = [];
  const step = () => {
    const loss = optimizer.minimize(() => tf.losses.softmaxCrossEntropy(ys, model.apply(xs)), true);
    loss.dispose();
    if (opts.leak) {
      const product = tf.matMul(features, projection); // never disposed
      if (opts.backend === 'cpu') kept.push(product);
    }
  };
  return {
    run: (n) => {
      for (let i = 0; i < n; i++) step();
      return n;
    },
    grow: () => {
      const a = tf.randomNormal([2048, 64]), b = tf.randomNormal([64, 2048]);
      tf.tidy(() => tf.matMul(a, b).sum().dataSync());
      tf.dispose([a, b]);
      return 0;
    },
    finish: () => {
      const m = tf.memory();
      return `${tf.getBackend()}: ${m.numTensors} tensors, ${m.numBytes} bytes`;
    },
  };
}

async function inNode() {
  const tf = require('@tensorflow/tfjs');
  if (backend === 'wasm') require('@tensorflow/tfjs-backend-wasm');
  const trainer = await makeTrainer(tf, opts);
  await takeSnapshots({ shape, warmup: 20, grow: GROW }, trainer, async (name) => {
    global.gc();
    v8.writeHeapSnapshot(`${out}/${name}.heapsnapshot`);
  });
}

async function inBrowser() {
  const path = require('path');
  const { snapshotsOfPage } = require('./chromium');
  const dist = (pkg) => path.join(path.dirname(require.resolve(`${pkg}/package.json`)), 'dist');
  const served = {
    '/tf.min.js': path.join(dist('@tensorflow/tfjs'), 'tf.min.js'),
    '/tf-backend-wasm.min.js': path.join(dist('@tensorflow/tfjs-backend-wasm'), 'tf-backend-wasm.min.js'),
  };
  for (const f of ['tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm', 'tfjs-backend-wasm-threaded-simd.wasm']) {
    served[`/wasm/${f}`] = path.join(dist('@tensorflow/tfjs-backend-wasm'), f);
  }
  const page = '<!doctype html><html><head><meta charset="utf-8">'
    + '<title>heapsight TensorFlow.js scenario</title></head><body>'
    + '<script src="/tf.min.js"></script><script src="/tf-backend-wasm.min.js"></script>'
    + '<script src="/trainer.js"></script></body></html>';
  const serve = (url) => {
    if (url === '/') return ['text/html', page];
    if (url === '/trainer.js') return ['text/javascript', `window.makeTrainer = ${makeTrainer.toString()};\n`];
    if (!served[url]) return null;
    return [url.endsWith('.wasm') ? 'application/wasm' : 'text/javascript', fs.readFileSync(served[url])];
  };
  await snapshotsOfPage({
    serve,
    setup: async (o) => {
      window.tf.wasm.setWasmPaths(`${location.origin}/wasm/`);
      window.trainer = await window.makeTrainer(window.tf, o);
    },
    setupArg: opts,
    name: 'trainer',
    steps: { shape, warmup: 20, grow: GROW },
    out,
  });
}

fs.mkdirSync(out, { recursive: true });
(BROWSER ? inBrowser() : inNode()).then(() => process.exit(0),
  (e) => { process.stderr.write(`${e.stack}\n`); process.exit(1); });
