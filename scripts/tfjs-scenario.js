#!/usr/bin/env node
// A training loop on TensorFlow.js, the library many of our users' front ends run, on its CPU
// backend (tensor data in typed arrays, in a WeakMap keyed by each tensor's dataId) or its
// WebAssembly backend (tensor data in the module's memory, freed only by dispose()). Each step
// minimises a small dense model's loss with Adam and disposes what it made.
//   --leak        each step also computes a 256×256 product and never disposes it; on the CPU
//                 backend the program keeps the tensors in a list (a plot for later), on the
//                 WebAssembly backend it drops them: their 256 KiB stay allocated inside the
//                 memory, which grows, with no object left in the JS heap
//   --grow-once   (clean) right after the baseline, one 2048×2048 product is made and disposed:
//                 the WebAssembly memory grows once, and Emscripten replaces its views of it
//
// usage: node --expose-gc scripts/tfjs-scenario.js cpu|wasm OUT_DIR trio|series [--leak|--grow-once]
//   trio:   20 warm-up steps, baseline, 40 steps, target, final
//   series: 20 warm-up steps, then step1 … step5 with 20 steps before each
// Needs @tensorflow/tfjs and @tensorflow/tfjs-backend-wasm 4.x on NODE_PATH; scripts/frameworks.sh
// installs them and runs every combination through the leak and growth gates.
'use strict';
const v8 = require('v8'), fs = require('fs');
const [backend, out, shape] = process.argv.slice(2);
const LEAK = process.argv.includes('--leak'), GROW = process.argv.includes('--grow-once');
if (!['cpu', 'wasm'].includes(backend) || !out || !['trio', 'series'].includes(shape)
    || typeof global.gc !== 'function') {
  process.stderr.write('usage: node --expose-gc tfjs-scenario.js cpu|wasm OUT_DIR trio|series [--leak|--grow-once]\n');
  process.exit(2);
}
const tf = require('@tensorflow/tfjs');
if (backend === 'wasm') require('@tensorflow/tfjs-backend-wasm');

async function main() {
  await tf.setBackend(backend);
  await tf.ready();
  fs.mkdirSync(out, { recursive: true });
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
    if (LEAK) {
      const product = tf.matMul(features, projection); // never disposed
      if (backend === 'cpu') kept.push(product);
    }
  };
  const growOnce = () => {
    const a = tf.randomNormal([2048, 64]), b = tf.randomNormal([64, 2048]);
    tf.tidy(() => tf.matMul(a, b).sum().dataSync());
    tf.dispose([a, b]);
  };
  const snap = (name) => { global.gc(); v8.writeHeapSnapshot(`${out}/${name}.heapsnapshot`); };
  for (let i = 0; i < 20; i++) step();
  if (shape === 'trio') {
    snap('baseline');
    if (GROW) growOnce();
    for (let i = 0; i < 40; i++) step();
    snap('target');
    snap('final');
  } else {
    for (let s = 1; s <= 5; s++) {
      for (let i = 0; i < 20; i++) step();
      snap(`step${s}`);
    }
  }
  const m = tf.memory();
  process.stdout.write(`${backend}: ${m.numTensors} tensors, ${m.numBytes} bytes\n`);
}
main().catch((e) => { process.stderr.write(`${e.stack}\n`); process.exit(1); });
