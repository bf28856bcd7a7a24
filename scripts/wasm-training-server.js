#!/usr/bin/env node
// The WebAssembly training loop as a long-running server, for `heapsight capture` + `heapsight
// trend` against a live process (tests/live_training.rs).
//
// usage: node --inspect=127.0.0.1:0 scripts/wasm-training-server.js [--correct]
//
// Listens on 127.0.0.1 on a free port and prints `listening PORT` on stdout. `POST /step` runs
// one training step and answers its facts as one line of JSON; `GET /quit` answers and exits.
//
// Without --correct the step is fixtures/wasm/training.js over fixtures/wasm/arena.wasm, as in
// scripts/make-wasm-scenario.js: after step k the memory has 2 + k pages, `registry` holds 10k
// WasmTensor wrappers, ActivationCache's Map 4k `Float32Array(16384)`, BufferPool 3 buffers.
//
// With --correct the same kind of loop, written correctly: the first step (the warm-up) grows the
// memory by one page and allocates a fixed arena of TENSORS slots; every step wraps the slots
// in fresh WasmTensor handles, frees the previous step's handles (their slots go back to the
// arena) and drops them, keeps the activations of one step only (the cache evicts to
// CACHE_LIMIT entries) and reuses the pool. After the warm-up nothing grows: 3 pages, 10
// WasmTensor, 4 activations, 3 pool buffers, whatever the number of steps.
'use strict';
const fs = require('fs');
const http = require('http');
const path = require('path');

const root = path.join(__dirname, '..');
const correct = process.argv.slice(2).includes('--correct');

const TENSORS = 10;
const TENSOR_BYTES = 1024;
const ACTIVATIONS_PER_STEP = 4;
const CACHE_LIMIT = ACTIVATIONS_PER_STEP;
const ACTIVATION_LENGTH = 16384;
const POOL_BUFFERS = 3;
const POOL_BUFFER_BYTES = 128 * 1024;

/// The correct loop (see the header).
function startCorrectTraining(wasm) {
  const { memory, alloc } = wasm.exports;

  /// A fixed set of tensor slots in linear memory, allocated once.
  class TensorArena {
    constructor() { this.slots = []; }
    fill(n) {
      for (let i = 0; i < n; i++) {
        const ptr = alloc(TENSOR_BYTES);
        if (ptr === 0) throw new Error('alloc failed');
        this.slots.push(ptr);
      }
    }
    take() { return WasmTensor.wrap(this.slots.pop()); }
    give(ptr) { this.slots.push(ptr); }
  }

  /// The wasm-bindgen-style handle; `free()` gives the slot back to the arena.
  class WasmTensor {
    static wrap(ptr) {
      const t = Object.create(WasmTensor.prototype);
      t.__wbg_ptr = ptr >>> 0;
      return t;
    }
    free() {
      const ptr = this.__wbg_ptr;
      this.__wbg_ptr = 0;
      arena.give(ptr);
    }
  }

  /// Activations, evicted oldest first beyond `limit` entries.
  class ActivationCache {
    constructor(limit) { this.entries = new Map(); this.limit = limit; }
    put(key, activations) {
      this.entries.set(key, activations);
      while (this.entries.size > this.limit) {
        this.entries.delete(this.entries.keys().next().value);
      }
    }
  }

  /// A fixed set of scratch buffers, reused every step.
  class BufferPool {
    constructor(n, bytes) {
      this.buffers = [];
      for (let i = 0; i < n; i++) this.buffers.push(new Uint8Array(bytes));
    }
    take(i) { return this.buffers[i % this.buffers.length]; }
  }

  const arena = new TensorArena();
  const state = {
    wasm,
    step: 0,
    cache: new ActivationCache(CACHE_LIMIT),
    tensors: [],
    pool: new BufferPool(POOL_BUFFERS, POOL_BUFFER_BYTES),
    views: null,
  };

  state.runStep = function () {
    const step = ++state.step;
    if (step === 1) {
      memory.grow(1);
      arena.fill(TENSORS);
    }
    for (const t of state.tensors) t.free();
    state.tensors = [];
    for (let t = 0; t < TENSORS; t++) state.tensors.push(arena.take());
    for (let l = 0; l < ACTIVATIONS_PER_STEP; l++) {
      const a = new Float32Array(ACTIVATION_LENGTH);
      const scratch = state.pool.take(l);
      for (let i = 0; i < a.length; i++) a[i] = (i * (l + 1) + step) % 97 / 97;
      scratch.fill(step);
      state.cache.put(`step${step}/layer${l}`, a);
    }
    const at = state.tensors[0].__wbg_ptr;
    state.views = {
      weights: new Float32Array(memory.buffer, at, 256),
      bytes: new Uint8Array(memory.buffer, at, 64),
    };
    return {
      step,
      pages: memory.buffer.byteLength / 65536,
      memory_bytes: memory.buffer.byteLength,
      wrappers: { WasmTensor: { count: state.tensors.length, live: state.tensors.length,
                                freed: 0 } },
      activations: state.cache.entries.size,
      pool_buffers: state.pool.buffers.length,
    };
  };
  return state;
}

const bytes = fs.readFileSync(path.join(root, 'fixtures', 'wasm', 'arena.wasm'));
const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes), {});
global.wasmInstance = instance;
global.trainer = correct
  ? startCorrectTraining(instance)
  : require(path.join(root, 'fixtures', 'wasm', 'training.js')).startTraining(instance);

/// Answer with a Content-Length (not chunked), so the simplest client can read it.
function answer(res, status, type, text, extra = {}) {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(text),
                          ...extra });
  return text;
}

const server = http.createServer((req, res) => {
  // Read (and ignore) any body before answering.
  req.resume();
  req.on('end', () => {
    if (req.method === 'POST' && req.url === '/step') {
      let body;
      try {
        body = JSON.stringify(global.trainer.runStep());
      } catch (e) {
        res.end(answer(res, 500, 'text/plain', `${e.stack}\n`));
        return;
      }
      res.end(answer(res, 200, 'application/json', `${body}\n`));
    } else if (req.method === 'GET' && req.url === '/quit') {
      res.end(answer(res, 200, 'text/plain', 'bye\n', { connection: 'close' }),
              () => process.exit(0));
    } else {
      res.end(answer(res, 404, 'text/plain', 'POST /step or GET /quit\n'));
    }
  });
});
server.keepAliveTimeout = 1000;
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`listening ${server.address().port}\n`);
});
