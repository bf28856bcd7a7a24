#!/usr/bin/env node
// A training loop over a Rust layer compiled with wasm-bindgen (fixtures/wasm-bindgen), the
// way our users' JavaScript fronts drive their Rust models: per batch an input and a target
// `Tensor` are made in WebAssembly memory, the `Dense` layer trains on them and gives its
// output, and every tensor is freed with `free()`; a ring of the last 16 losses is kept.
//   --leak keep   the outputs are kept in a list and never freed (wrappers pile up in the JS
//                 heap, their tensors in the memory)
//   --leak drop   the outputs are dropped without free(): wasm-bindgen's FinalizationRegistry
//                 frees them once their wrappers are collected, so this is not a leak
//
// usage: node --expose-gc scripts/wasm-bindgen-scenario.js PKG_DIR OUT_DIR trio|series [--leak keep|drop]
//   PKG_DIR: wasm-bindgen's `--target nodejs` output (scripts/wasm-bindgen-scenario.sh makes it)
//   trio:   20 warm-up steps, baseline, 20 steps, target, final
//   series: 20 warm-up steps, then step1 … step5 with 10 steps before each
// Snapshots record numeric values (`exposeNumericValues`), so each wrapper's `__wbg_ptr` is in
// the graph.
'use strict';
const v8 = require('v8'), fs = require('fs'), path = require('path');
const [pkg, out, shape] = process.argv.slice(2);
const at = process.argv.indexOf('--leak');
const leak = at > 0 ? process.argv[at + 1] : null;
if (!pkg || !out || !['trio', 'series'].includes(shape) || ![null, 'keep', 'drop'].includes(leak)
    || typeof global.gc !== 'function') {
  process.stderr.write('usage: node --expose-gc wasm-bindgen-scenario.js PKG_DIR OUT_DIR trio|series [--leak keep|drop]\n');
  process.exit(2);
}
const { Tensor, Dense } = require(path.resolve(pkg, 'dense_layer.js'));
fs.mkdirSync(out, { recursive: true });

const layer = new Dense(256, 64);
const losses = new Float32Array(16);
const kept = [];
let seed = 1, batches = 0;
function step() {
  for (let b = 0; b < 10; b++) {
    const x = new Tensor(256, seed++), target = new Tensor(64, seed++);
    losses[batches++ % 16] = layer.train(x, target, 0.001);
    const y = layer.forward(x);
    x.free();
    target.free();
    if (leak === 'keep') kept.push(y);
    else if (leak !== 'drop') y.free();
  }
}
// Snapshots after a turn of the event loop, so that wasm-bindgen's finalizers (queued by the
// collection) have run, as they would have in a program that keeps serving.
const tick = () => new Promise((resolve) => setTimeout(resolve, 10));
async function snap(name) {
  global.gc();
  await tick();
  global.gc();
  v8.writeHeapSnapshot(`${out}/${name}.heapsnapshot`, { exposeNumericValues: true });
}
async function main() {
  for (let i = 0; i < 20; i++) step();
  if (shape === 'trio') {
    await snap('baseline');
    for (let i = 0; i < 20; i++) step();
    await snap('target');
    await snap('final');
  } else {
    for (let s = 1; s <= 5; s++) {
      for (let i = 0; i < 10; i++) step();
      await snap(`step${s}`);
    }
  }
  process.stdout.write(`${out}: ${batches} batches, ${kept.length} outputs kept\n`);
}
main().catch((e) => { process.stderr.write(`${e.stack}\n`); process.exit(1); });
