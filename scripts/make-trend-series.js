#!/usr/bin/env node
// A series of large heap snapshots of ONE growing Node process, for benchmarking
// `heapsight trend` (not committed; target/ is git-ignored).
//
// usage: node --max-old-space-size=16000 --expose-gc scripts/make-trend-series.js \
//          [OUT_DIR] [--count N] [--scale S] [--grow F]
//        OUT_DIR defaults to target/bench/trend, N to 10, S to 0.1, F to 0.03.
//        (re-execs itself with those flags if started without --expose-gc)
// Run from the repository root. Writes OUT_DIR/trend-01.heapsnapshot … trend-NN.
//
// The heap is the in-memory store of scripts/make-big-snapshot.js (groups of
// records in rings, kept in a global Map, with per-group Maps, small arrays and
// unique strings; ~190 MB per snapshot at --scale 0.1), plus a leaking cache:
// before each snapshot but the first, the process adds F × the store's records
// to a global cache that is never cleared (records of their own class, in their
// own Map), so every snapshot is a few % bigger than the one before.
'use strict';
const fs = require('fs');
const path = require('path');
const v8 = require('v8');

const { ensureGc, buildStore } = require('./big-store');
ensureGc(__filename);

const args = process.argv.slice(2);
function option(name, fallback) {
  const i = args.indexOf(name);
  if (i < 0) return fallback;
  const v = Number(args[i + 1]);
  args.splice(i, 2);
  return v;
}
const scale = option('--scale', 0.1);
const count = option('--count', 10);
const grow = option('--grow', 0.03);
if (!(scale > 0)) throw new Error('--scale must be a positive number');
if (!(Number.isInteger(count) && count >= 2)) throw new Error('--count must be an integer ≥ 2');
if (!(grow > 0)) throw new Error('--grow must be a positive number');
const outDir = args[0] || path.join('target', 'bench', 'trend');

// What leaks: entries of a cache that is filled and never evicted.
class CachedResponse {
  constructor(key, step) {
    this.key = key;
    this.step = step;
    this.body = ['response', key, 'step', step].join('-');   // flat, unique
    this.headers = [step & 7, key & 15];
  }
}

const { byId, groups, records: id } = buildStore(scale);   // the store (scripts/big-store.js)

const cache = new Map();   // the leak
global.leakyCache = cache;
const perStep = Math.max(1, Math.round(id * grow));
fs.mkdirSync(outDir, { recursive: true });
const width = String(count).length < 2 ? 2 : String(count).length;
let key = 0;
const rows = [];
for (let step = 0; step < count; step++) {
  const t0 = Date.now();
  if (step > 0) {
    for (let k = 0; k < perStep; k++, key++) cache.set(key, new CachedResponse(key, step));
  }
  global.gc();
  const out = path.join(outDir, `trend-${String(step + 1).padStart(width, '0')}.heapsnapshot`);
  v8.writeHeapSnapshot(out);
  const row = {
    out, records: id, cached: cache.size, bytes: fs.statSync(out).size,
    seconds: (Date.now() - t0) / 1000,
  };
  rows.push(row);
  console.log(JSON.stringify(row));
}
console.log(JSON.stringify({
  scale, count, grow, per_step: perStep, groups: groups.length, byId: byId.size,
  total_bytes: rows.reduce((s, r) => s + r.bytes, 0),
  peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
}));
