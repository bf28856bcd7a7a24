#!/usr/bin/env node
// A small allocation timeline (.heaptimeline), the format DevTools writes for
// "Allocations on timeline": a heap snapshot whose trace_function_infos,
// trace_tree, samples and locations sections are filled in.
//
// usage: node scripts/make-timeline.js [OUT_FILE]
//        (default sample-snapshots/node-timeline/alloc.heaptimeline)
'use strict';
const fs = require('fs');
const path = require('path');
const inspector = require('inspector');

const out = process.argv[2] || path.join('sample-snapshots', 'node-timeline', 'alloc.heaptimeline');
fs.mkdirSync(path.dirname(out), { recursive: true });

const session = new inspector.Session();
session.connect();
const post = (method, params) => new Promise((resolve, reject) =>
  session.post(method, params, (err, res) => (err ? reject(err) : resolve(res))));

// Named functions so the trace tree has recognisable frames to test against.
class Order { constructor(i) { this.id = i; this.lines = [i, i * 2, i * 3]; } }
function allocateOrders(n) { const a = []; for (let i = 0; i < n; i++) a.push(new Order(i)); return a; }
function buildIndex(orders) { const m = new Map(); for (const o of orders) m.set(`order-${o.id}`, o); return m; }
function renderReport(index) { return [...index.keys()].map((k) => `<li>${k}</li>`).join('\n'); }

const kept = [];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

(async () => {
  const chunks = [];
  session.on('HeapProfiler.addHeapSnapshotChunk', (m) => chunks.push(m.params.chunk));
  await post('HeapProfiler.enable');
  await post('HeapProfiler.startTrackingHeapObjects', { trackAllocations: true });
  // Samples come from a timer on the event loop (about every 50 ms), so the
  // work is spread over several ticks instead of one synchronous burst.
  for (let round = 0; round < 8; round++) {
    const orders = allocateOrders(500);
    const index = buildIndex(orders);
    if (round % 2 === 0) kept.push(index);          // half survives, half becomes garbage
    kept.push(renderReport(index).length);
    await sleep(60);
  }
  await post('HeapProfiler.stopTrackingHeapObjects', { reportProgress: false });
  session.disconnect();
  fs.writeFileSync(out, chunks.join(''));

  // Report entries, not raw array lengths: each section is a flat array of
  // records described in snapshot.meta (trace_tree is nested: count its nodes).
  const t = JSON.parse(fs.readFileSync(out, 'utf8'));
  const meta = t.snapshot.meta;
  const traceNodeStride = meta.trace_node_fields.length;
  const countTree = (a) => {
    let n = 0;
    for (let i = 0; i < a.length; i += traceNodeStride) n += 1 + countTree(a[i + traceNodeStride - 1]);
    return n;
  };
  const fnStride = meta.trace_function_info_fields.length;
  const fnNames = new Set();
  for (let i = 0; i < t.trace_function_infos.length; i += fnStride) {
    fnNames.add(t.strings[t.trace_function_infos[i + meta.trace_function_info_fields.indexOf('name')]]);
  }
  console.log(`${out}: ${fs.statSync(out).size} bytes, ${t.snapshot.node_count} nodes, ` +
    `${t.trace_function_infos.length / fnStride} trace_function_infos, ${countTree(t.trace_tree)} trace_tree nodes, ` +
    `${t.samples.length / meta.sample_fields.length} samples, ${t.locations.length / meta.location_fields.length} locations; ` +
    `named frames: ${['allocateOrders', 'buildIndex', 'renderReport'].filter((f) => fnNames.has(f)).join(' ')}` +
    ` (kept ${kept.length})`);
})();
