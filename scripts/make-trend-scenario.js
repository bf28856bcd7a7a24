#!/usr/bin/env node
// A deterministic growth scenario for `heapsight trend`: four snapshots of one process, one after
// each of four steps, with one class of each growth shape.
//
// usage: node --expose-gc scripts/make-trend-scenario.js [OUT_DIR]   (writes stepN.heapsnapshot.gz)
//        (OUT_DIR defaults to sample-snapshots/node-trend; re-execs itself with --expose-gc if
//        started without it: counts are only exact after a full GC)
//
// Alive after step 1, 2, 3, 4 (snapshots step1 … step4; exact counts in OUT_DIR/expected.json):
//   GrowingItem    200, 400, 600, 800   200 more every step, never freed (the leak)
//   PlateauItem    100, 200, 300, 300   grows, then stops
//   StableItem     150, 150, 150, 150   a pool of 150; every step replaces the first 50 with new
//                                       ones, so the count never moves but objects do
//   ShrinkingItem  400, 300, 200, 100   100 freed every step
//   SessionValue   in the `sessions` Map: 100, 200, 300, 400 entries (string key, object value)
//   Float32Array   `tensorCache` (an Array): 4 more Float32Array(2048) every step, 8 KiB of
//                  ArrayBuffer backing store each: 4, 8, 12, 16 arrays
'use strict';
const fs = require('fs');
const path = require('path');
const v8 = require('v8');
const zlib = require('zlib');

if (typeof global.gc !== 'function') {
  const { spawnSync } = require('child_process');
  const r = spawnSync(process.execPath, ['--expose-gc', __filename, ...process.argv.slice(2)],
    { stdio: 'inherit' });
  process.exit(r.status === null ? 1 : r.status);
}

const STEPS = 4;
const GROW = 200;
const PLATEAU = 100;          // per step, for the first PLATEAU_STEPS steps
const PLATEAU_STEPS = 3;
const STABLE = 150;
const STABLE_CHURN = 50;
const SHRINK_START = 500;     // 100 freed before the first snapshot too
const SHRINK = 100;
const SESSIONS = 100;
const TENSORS = 4;
const TENSOR_FLOATS = 2048;   // 8 KiB: off the V8 heap, a backing store of its own

class GrowingItem { constructor(i) { this.index = i; this.tag = 'g'; } }
class PlateauItem { constructor(i) { this.index = i; this.tag = 'p'; } }
class StableItem { constructor(i) { this.index = i; this.tag = 's'; } }
class ShrinkingItem { constructor(i) { this.index = i; this.tag = 'x'; } }
class SessionValue { constructor(i) { this.index = i; this.user = null; } }

const growing = [];
const plateau = [];
const stable = [];
const shrinking = [];
const sessions = new Map();
const tensorCache = [];

let serial = 0;
for (let i = 0; i < STABLE; i++) stable.push(new StableItem(serial++));
for (let i = 0; i < SHRINK_START; i++) shrinking.push(new ShrinkingItem(serial++));

const outDir = process.argv[2] || path.join('sample-snapshots', 'node-trend');
fs.mkdirSync(outDir, { recursive: true });

const counts = [];
for (let step = 1; step <= STEPS; step++) {
  for (let i = 0; i < GROW; i++) growing.push(new GrowingItem(serial++));
  if (step <= PLATEAU_STEPS) for (let i = 0; i < PLATEAU; i++) plateau.push(new PlateauItem(serial++));
  for (let i = 0; i < STABLE_CHURN; i++) stable[i] = new StableItem(serial++);
  shrinking.length -= SHRINK;
  for (let i = 0; i < SESSIONS; i++) {
    const k = sessions.size;
    sessions.set(`session-${String(k).padStart(5, '0')}`, new SessionValue(k));
  }
  for (let i = 0; i < TENSORS; i++) tensorCache.push(new Float32Array(TENSOR_FLOATS).fill(step));
  counts.push({
    GrowingItem: growing.length,
    PlateauItem: plateau.length,
    StableItem: stable.length,
    ShrinkingItem: shrinking.length,
    SessionValue: sessions.size,
    Float32Array: tensorCache.length,
  });
  global.gc();
  // Stored gzipped (heapsight reads .gz): four plain snapshots would be 16 MB.
  const file = path.join(outDir, `step${step}.heapsnapshot`);
  v8.writeHeapSnapshot(file);
  fs.writeFileSync(`${file}.gz`, zlib.gzipSync(fs.readFileSync(file), { level: 9 }));
  fs.unlinkSync(file);
}

const expected = {
  description: 'Instances created by scripts/make-trend-scenario.js alive after each step',
  rule: 'count of nodes with type "object" whose name is the class name (scripts/count-classes.js)',
  snapshots: counts.map((_, i) => `step${i + 1}.heapsnapshot.gz`),
  notes: 'Float32Array here counts tensorCache only; the snapshots hold one more that Node makes itself.',
  counts,
  sessions_map_entries: counts.map((c) => c.SessionValue),
  tensor_cache_entries: counts.map((c) => c.Float32Array),
  tensor_backing_store_bytes: counts.map((c) => c.Float32Array * TENSOR_FLOATS * 4),
  new_and_alive_at_end: {
    description: 'per step 2..4: objects first alive in that step and alive in every later snapshot',
    GrowingItem: [GROW, GROW, GROW],
    PlateauItem: [PLATEAU, PLATEAU, 0],
    StableItem: [0, 0, STABLE_CHURN],
    ShrinkingItem: [0, 0, 0],
    SessionValue: [SESSIONS, SESSIONS, SESSIONS],
  },
};
fs.writeFileSync(path.join(outDir, 'expected.json'), JSON.stringify(expected, null, 2) + '\n');
console.log(`${outDir}: ${serial} objects made; ${growing.length + plateau.length + stable.length +
  shrinking.length + sessions.size + tensorCache.length} alive`);
