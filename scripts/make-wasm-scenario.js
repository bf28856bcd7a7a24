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
// After step 3 (the snapshot, `training.heapsnapshot`):
// - the WebAssembly.Memory: 2 + 3 = 5 pages (327 680 bytes); two typed-array views onto its
//   buffer, kept in `global.wasmViews` (a Float32Array of 256 weights and a Uint8Array of 64
//   bytes at the same address);
// - `ActivationCache`: a Map of 4 activations per step (12 `Float32Array(16384)`, 65 536 B
//   backing store each, 786 432 B in all);
// - `registry`: 10 `WasmTensor` wrappers per step (30), each with a numeric `__wbg_ptr` into
//   the WASM memory (`alloc`ed, 1 KiB each);
// - `BufferPool`: 3 `Uint8Array(131072)` reused every step (393 216 B in all).
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
const ACTIVATIONS_PER_STEP = 4;
const TENSORS_PER_STEP = 10;
const TENSOR_BYTES = 1024;
const POOL_BUFFERS = 3;

/// A wasm-bindgen-style handle: JS owns a pointer into the WASM memory.
class WasmTensor {
  constructor(ptr, bytes, step) {
    this.__wbg_ptr = ptr;
    this.bytes = bytes;
    this.step = step;
  }
}

/// Activations kept per layer and step, as a training loop keeps them for the backward pass.
class ActivationCache {
  constructor() { this.entries = new Map(); }
  put(key, activations) { this.entries.set(key, activations); }
}

/// A fixed set of scratch buffers, reused every step.
class BufferPool {
  constructor(n, bytes) {
    this.buffers = [];
    for (let i = 0; i < n; i++) this.buffers.push(new Uint8Array(bytes));
  }
  take(i) { return this.buffers[i % this.buffers.length]; }
}

const instance = new WebAssembly.Instance(new WebAssembly.Module(wasmBytes()), {});
const { memory, alloc } = instance.exports;
global.wasmInstance = instance;

const cache = new ActivationCache();
const registry = [];
const pool = new BufferPool(POOL_BUFFERS, 128 * 1024);
global.trainer = { cache, registry, pool };

for (let step = 1; step <= STEPS; step++) {
  memory.grow(1);
  for (let t = 0; t < TENSORS_PER_STEP; t++) {
    const ptr = alloc(TENSOR_BYTES);
    if (ptr === 0) throw new Error('alloc failed');
    registry.push(new WasmTensor(ptr, TENSOR_BYTES, step));
  }
  for (let l = 0; l < ACTIVATIONS_PER_STEP; l++) {
    const a = new Float32Array(16384);
    const scratch = pool.take(l);
    for (let i = 0; i < a.length; i++) a[i] = (i * (l + 1) + step) % 97 / 97;
    scratch.fill(step);
    cache.put(`step${step}/layer${l}`, a);
  }
}

// Views onto the grown memory's current buffer (earlier buffers were detached by each grow).
const first = registry[0].__wbg_ptr;
global.wasmViews = {
  weights: new Float32Array(memory.buffer, first, 256),
  bytes: new Uint8Array(memory.buffer, first, 64),
};

global.gc();
const file = path.join(outDir, 'training.heapsnapshot');
v8.writeHeapSnapshot(file);
const pages = memory.buffer.byteLength / 65536;
process.stdout.write(`${file}: ${pages} pages, ${cache.entries.size} activations, ` +
  `${registry.length} WasmTensor\n`);
