#!/usr/bin/env node
// A LARGE heap snapshot for benchmarks (not committed; target/ is git-ignored).
// At --scale 1 (measured, Node 20, 2 cores): 20.2 M nodes, 64.1 M edges, 1.9 GB
// on disk, about 3 minutes, 13 GB peak RSS. The size cannot go much lower for
// these counts: each edge line costs ~17 bytes and each node line ~26.
//
// usage: node --max-old-space-size=16000 --expose-gc scripts/make-big-snapshot.js \
//          [OUT_FILE] [--scale S] [--shape store|docstore|docstore-weakmap]
//        OUT_FILE defaults to target/bench/big.heapsnapshot (docstore.heapsnapshot for
//        --shape docstore, docstore-weakmap.heapsnapshot for docstore-weakmap); try
//        --scale 0.05 first.
//        (re-execs itself with those flags if started without --expose-gc)
// Run from the repository root. Memory grows about linearly with --scale: V8
// holds the heap and its own copy of the graph in memory while it writes.
//
// The heap models an in-memory store (scripts/big-store.js): groups of records
// kept in a global Map, each group a ring (cycles), with per-group Maps, small
// arrays and unique strings; edges/nodes ≈ 3.2.
// --shape docstore models a document store instead (scripts/doc-store.js): 2 M
// documents at --scale 1, ≈20 M nodes and ≈64 M edges in ≈1.6 GB, each held by an
// array, a Map by title and its author's list, with author↔document cycles and a
// link to an earlier document: a much harder dominator search (the shape of issue 14).
// --scale 0.25 gives ≈400 MB.
// --shape docstore-weakmap is the same store held from `globalThis` (as a program's
// data usually is: DevTools' page-owned set, everything reachable from `global`, is then
// most of the heap) with a WeakMap cache keyed by every second document (1 M entries at
// --scale 1, each with two edges named after the pair): 1.93 GB at --scale 1.
'use strict';
const fs = require('fs');
const path = require('path');
const v8 = require('v8');

const { ensureGc, buildStore } = require('./big-store');
const { buildDocStore } = require('./doc-store');
ensureGc(__filename);

const args = process.argv.slice(2);
let scale = 1;
const si = args.indexOf('--scale');
if (si >= 0) { scale = Number(args[si + 1]); args.splice(si, 2); }
if (!(scale > 0)) throw new Error('--scale must be a positive number');
let shape = 'store';
const hi = args.indexOf('--shape');
if (hi >= 0) { shape = args[hi + 1]; args.splice(hi, 2); }
if (!['store', 'docstore', 'docstore-weakmap'].includes(shape)) {
  throw new Error('--shape is store, docstore or docstore-weakmap');
}
const out = args[0] ||
  path.join('target', 'bench', shape === 'store' ? 'big.heapsnapshot' : `${shape}.heapsnapshot`);

const t0 = Date.now();
// Kept alive until the snapshot.
const store = shape === 'store' ? buildStore(scale) : buildDocStore(scale);
if (shape === 'docstore-weakmap') {
  const cache = new WeakMap();
  for (let i = 0; i < store.docs.length; i += 2) cache.set(store.docs[i], { rendered: i });
  globalThis.heapsightBench = { store, cache };
}
const t1 = Date.now();
global.gc();
fs.mkdirSync(path.dirname(path.resolve(out)), { recursive: true });
v8.writeHeapSnapshot(out);
const t2 = Date.now();

// node_count and edge_count are in the header, so there is no need to parse
// the whole file (which would not fit in one JS string anyway).
const fd = fs.openSync(out, 'r');
const head = Buffer.alloc(4096);
fs.readSync(fd, head, 0, head.length, 0);
fs.closeSync(fd);
const count = (k) => Number((head.toString('utf8').match(new RegExp(`"${k}":(\\d+)`)) || [])[1]);
const nodes = count('node_count'), edges = count('edge_count');
console.log(JSON.stringify({
  out, shape, scale, records: store.records,
  node_count: nodes, edge_count: edges, edges_per_node: +(edges / nodes).toFixed(3),
  bytes: fs.statSync(out).size, build_s: (t1 - t0) / 1000, snapshot_s: (t2 - t1) / 1000,
  peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
}));
