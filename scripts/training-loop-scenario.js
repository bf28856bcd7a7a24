#!/usr/bin/env node
// A training loop as our users write them, for the leak and growth gates: a WebAssembly memory of
// fixed size, per-batch tensors (Float32Array) dropped after use, a bounded pool of 4 reused
// buffers, an optimizer state object replaced every batch, a ring of the last 16 metrics.
// --leak keeps every gradient in `model.history` (the leak).
//
// usage: node --expose-gc scripts/training-loop-scenario.js OUT_DIR trio|series [--leak]
//   trio:   20 warm-up steps, baseline, 20 steps, target, final
//   series: 20 warm-up steps, then step1 … step5 with 10 steps before each
// scripts/frameworks.sh runs it with the web frameworks.
'use strict';
const v8 = require('v8'), fs = require('fs');
const [out, shape] = process.argv.slice(2);
const LEAK = process.argv.includes('--leak');
if (!out || !['trio', 'series'].includes(shape) || typeof global.gc !== 'function') {
  process.stderr.write('usage: node --expose-gc training-loop-scenario.js OUT_DIR trio|series [--leak]\n');
  process.exit(2);
}
fs.mkdirSync(out, { recursive: true });
const memory = new WebAssembly.Memory({ initial: 32, maximum: 64 });
const heap = new Float32Array(memory.buffer);
class Tensor { constructor(n) { this.data = new Float32Array(n); this.shape = [n]; } }
class Metric { constructor(step, loss) { this.step = step; this.loss = loss; } }
const pool = [new Float32Array(4096), new Float32Array(4096), new Float32Array(4096), new Float32Array(4096)];
const ring = new Array(16).fill(null); let ringAt = 0;
const model = { weights: new Tensor(8192), optimizer: null, history: [] };
let stepNo = 0;
function step() {
  for (let b = 0; b < 20; b++) {
    const x = new Tensor(1024), grad = new Tensor(8192);
    const buf = pool[b % 4];
    for (let i = 0; i < 1024; i++) { x.data[i] = Math.random(); buf[i] = x.data[i] * 2; heap[i] = buf[i]; }
    for (let i = 0; i < 8192; i++) grad.data[i] = x.data[i % 1024] * 0.01;
    for (let i = 0; i < 8192; i++) model.weights.data[i] -= grad.data[i];
    model.optimizer = { step: stepNo, m: new Float32Array(256) };   // replaced each batch
    if (LEAK) model.history.push(grad);                                 // the leak: every gradient kept
  }
  ring[ringAt++ % 16] = new Metric(stepNo, Math.random());
  stepNo++;
}
const snap = (n) => { global.gc(); v8.writeHeapSnapshot(`${out}/${n}.heapsnapshot`); };
for (let i = 0; i < 20; i++) step();
if (shape === 'trio') { snap('baseline'); for (let i = 0; i < 20; i++) step(); snap('target'); snap('final'); }
else for (let s = 1; s <= 5; s++) { for (let i = 0; i < 10; i++) step(); snap(`step${s}`); }
