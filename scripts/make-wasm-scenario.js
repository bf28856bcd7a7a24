#!/usr/bin/env node
// A training loop over WebAssembly memory, for `heapsight memory`: one real WebAssembly module
// (fixtures/wasm/arena.wat, compiled here with wabt's wat2wasm) whose exported linear memory
// starts at 2 pages and grows by one page per training step, next to the JS-side memory such
// a program keeps.
//
// usage: node --expose-gc scripts/make-wasm-scenario.js [OUT_DIR]   (default sample-snapshots/node-wasm)
//        (re-execs itself with --expose-gc if started without it; needs `wat2wasm` on PATH,
//        `apt-get install -y wabt`, else uses the committed fixtures/wasm/arena.wasm)
//
// The training loop itself is fixtures/wasm/training.js (shared with the Chromium page of
// scripts/make-wasm-browser.js). Writes step1..step3.heapsnapshot, one after each training step,
// with numeric values recorded (`exposeNumericValues`), so `__wbg_ptr` values are in the graph.
// After step k: the memory has 2 + k pages; `registry` holds 10k WasmTensor wrappers of which 2k
// were freed; `legacy` k LegacyTensor (`ptr` + `free`); `cursors` k Cursor (not wrappers);
// ActivationCache 4k `Float32Array(16384)` (65 536 B each); BufferPool 3 `Uint8Array(131072)`.
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const v8 = require('v8');
const { spawnSync } = require('child_process');

if (typeof global.gc !== 'function') {
  const r = spawnSync(process.execPath, ['--expose-gc', __filename, ...process.argv.slice(2)],
    { stdio: 'inherit' });
  process.exit(r.status === null ? 1 : r.status);
}

const root = path.join(__dirname, '..');
const outDir = process.argv[2] || path.join(root, 'sample-snapshots', 'node-wasm');
fs.mkdirSync(outDir, { recursive: true });

// The module, built from source when wabt is installed.
function wasmBytes() {
  const wat = path.join(root, 'fixtures', 'wasm', 'arena.wat');
  const tmp = path.join(os.tmpdir(), `arena-${process.pid}.wasm`);
  const r = spawnSync('wat2wasm', [wat, '-o', tmp], { stdio: 'inherit' });
  if (r.status === 0) {
    const bytes = fs.readFileSync(tmp);
    fs.unlinkSync(tmp);
    return bytes;
  }
  process.stderr.write('wat2wasm not found: using fixtures/wasm/arena.wasm\n');
  return fs.readFileSync(path.join(root, 'fixtures', 'wasm', 'arena.wasm'));
}

const STEPS = 3;
const { startTraining } = require(path.join(root, 'fixtures', 'wasm', 'training.js'));
const instance = new WebAssembly.Instance(new WebAssembly.Module(wasmBytes()), {});
global.wasmInstance = instance;
global.trainer = startTraining(instance);

const steps = [];
for (let step = 1; step <= STEPS; step++) {
  const facts = global.trainer.runStep();
  global.gc();
  const file = `step${step}.heapsnapshot`;
  v8.writeHeapSnapshot(path.join(outDir, file), { exposeNumericValues: true });
  steps.push({ file, ...facts });
  process.stdout.write(`${path.join(outDir, file)}: ${JSON.stringify(facts)}\n`);
}
fs.writeFileSync(path.join(outDir, 'expected.json'), JSON.stringify({
  description: `scripts/make-wasm-scenario.js on Node ${process.version}: fixtures/wasm/training.js ` +
    'over fixtures/wasm/arena.wat, one snapshot after each training step (numeric values recorded)',
  steps,
  shapes: global.trainer.shapes,
}, null, 2) + '\n');
