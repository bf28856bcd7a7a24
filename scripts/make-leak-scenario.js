#!/usr/bin/env node
// A small, deterministic leak scenario for heapsight's tests: a request handler
// that keeps every request's context in a module-level Map and never deletes it.
//
// usage: node --expose-gc scripts/make-leak-scenario.js [--fixed] [--warmup-snapshot] [OUT_DIR]
//        (--fixed: the handler deletes each context, so nothing leaks;
//        --warmup-snapshot: write and delete one snapshot before the baseline,
//        for runtimes whose first writeHeapSnapshot loads code of its own —
//        Deno loads its web streams module then)
//        (OUT_DIR defaults to sample-snapshots/node-leak; re-execs itself with
//        --expose-gc if started without it, because counts are only exact
//        after a full GC)
//
// Snapshots written (class instance counts are in OUT_DIR/expected.json):
//   baseline.heapsnapshot  after warm-up: no requests handled yet
//   target.heapsnapshot    after 1000 requests: 1000 leaked RequestContext (+
//                          LeakedPayload), 300 CacheEntry in a bounded cache
//   final.heapsnapshot     after clearing the cache, 0 more requests: the leak
//                          is all that is left
// Present in all three: a ring of 100 CycleNode, and 50 WeakHeld objects that
// only a WeakRef and a WeakMap key point to.
'use strict';
const fs = require('fs');
const path = require('path');
const v8 = require('v8');

if (typeof global.gc !== 'function') {
  const { spawnSync } = require('child_process');
  const r = spawnSync(process.execPath, ['--expose-gc', __filename, ...process.argv.slice(2)],
    { stdio: 'inherit' });
  process.exit(r.status === null ? 1 : r.status);
}

const REQUESTS = 1000;
const CACHE_KEYS = 300;   // distinct routes, so the cache ends up with exactly 300 entries
const WEAK_HELD = 50;
const RING = 100;

// --- the "application" ------------------------------------------------------

class LeakedPayload {
  constructor(id) {
    this.requestId = id;
    this.items = [id % 7, id % 11, id % 13];
  }
}

class RequestContext {
  constructor(id, headersText) {
    this.id = id;
    this.headersText = headersText;          // ~200-char string unique to this request
    this.payload = new LeakedPayload(id);
  }
}

class TempBuffer {
  constructor(size) { this.bytes = new Array(size).fill(0); }
  checksum() { return this.bytes.reduce((a, b) => a + b, 0); }
}

class CacheEntry {
  constructor(key) { this.key = key; this.value = { route: key, hits: 0 }; }
}

// `--fixed`: the same scenario with the leak fixed (for a CI gate that must stay quiet).
const FIXED = process.argv.includes('--fixed');

// The leak: contexts go in and are never deleted.
const contexts = new Map();
// Not a leak: bounded by the number of routes, and cleared on "cleanup".
const routeCache = new Map();

function lookupRoute(route) {
  let entry = routeCache.get(route);
  if (!entry) { entry = new CacheEntry(route); routeCache.set(route, entry); }
  entry.value.hits++;
  return entry;
}

function handleRequest(req) {
  const id = `req-${String(req.seq).padStart(6, '0')}`;
  // The raw request head, ~200 chars. join() makes one flat string; `+`,
  // template literals and JSON.stringify would leave a tree of cons strings.
  const headersText = [
    `GET ${req.path} HTTP/1.1`, 'host: api.example.test', `x-request-id: ${id}`,
    'user-agent: heapsight-sample/1.0', 'accept: application/json',
    `traceparent: 00-${(req.seq * 7919).toString(16).padStart(32, '0')}-${(req.seq * 104729).toString(16).padStart(16, '0')}-01`,
  ].join('\r\n');
  const ctx = new RequestContext(id, headersText);
  contexts.set(id, ctx);
  // With --fixed the handler forgets the context when the request is done: no leak.
  if (FIXED) contexts.delete(id);
  // Short-lived scratch objects: gone after the next GC.
  const a = new TempBuffer(16), b = new TempBuffer(32);
  const route = lookupRoute(req.path);
  return { status: 200, bytes: a.checksum() + b.checksum() + route.value.hits };
}

function cleanup() { routeCache.clear(); }

// --- structures every snapshot has ---------------------------------------------

class WeakHeld { constructor(i) { this.index = i; } }
class CycleNode { constructor(i) { this.index = i; this.next = null; } }

// The only JS references to a WeakHeld are a WeakRef and a WeakMap key. They
// still survive GC: V8 keeps WeakRef targets alive until the current job ends
// (this whole script is one job), and shows that as an internal edge from an
// array under (GC roots). In a later job writeHeapSnapshot's own full GC would
// collect them, so plain JS cannot leave truly weak-only objects in a snapshot.
const weakRefs = [];
const weakMeta = new WeakMap();   // gives the snapshot ephemeron (key -> value) edges
for (let i = 0; i < WEAK_HELD; i++) {
  const held = new WeakHeld(i);
  weakRefs.push(new WeakRef(held));
  weakMeta.set(held, { tag: `weak-${i}` });
}

const ringHead = new CycleNode(0);
let tail = ringHead;
for (let i = 1; i < RING; i++) { tail.next = new CycleNode(i); tail = tail.next; }
tail.next = ringHead;

// --- the run --------------------------------------------------------------------

const WARMUP_SNAPSHOT = process.argv.includes('--warmup-snapshot');
const outDir = process.argv.slice(2).filter((a) => !a.startsWith('--'))[0] ||
  path.join('sample-snapshots', FIXED ? 'node-noleak' : 'node-leak');
fs.mkdirSync(outDir, { recursive: true });

function snapshot(name) {
  global.gc();
  v8.writeHeapSnapshot(path.join(outDir, `${name}.heapsnapshot`));
}

// Warm-up without handling requests: exercise the scratch class so its code is
// compiled, and make the runtime allocate whatever it lazily allocates.
let warm = 0;
for (let i = 0; i < 100; i++) warm += new TempBuffer(8).checksum();
JSON.stringify({ warm });
if (WARMUP_SNAPSHOT) {
  snapshot('warmup');
  fs.unlinkSync(path.join(outDir, 'warmup.heapsnapshot'));
}
snapshot('baseline');

for (let seq = 0; seq < REQUESTS; seq++) {
  handleRequest({ seq, path: `/api/items/${seq % CACHE_KEYS}` });
}
snapshot('target');

cleanup();
snapshot('final');

const expected = {
  description: 'Instances created by scripts/make-leak-scenario.js that are alive in each snapshot',
  rule: 'count of nodes with type "object" whose name is the class name (scripts/count-classes.js)',
  notes: 'CacheEntry is 0 in baseline by design (the cache fills while handling requests). ' +
    'WeakHeld and CycleNode are created before baseline and live to the end.',
  baseline: { RequestContext: 0, LeakedPayload: 0, TempBuffer: 0, CacheEntry: 0, WeakHeld: WEAK_HELD, CycleNode: RING },
  target: { RequestContext: FIXED ? 0 : REQUESTS, LeakedPayload: FIXED ? 0 : REQUESTS, TempBuffer: 0, CacheEntry: CACHE_KEYS, WeakHeld: WEAK_HELD, CycleNode: RING },
  final: { RequestContext: FIXED ? 0 : REQUESTS, LeakedPayload: FIXED ? 0 : REQUESTS, TempBuffer: 0, CacheEntry: 0, WeakHeld: WEAK_HELD, CycleNode: RING },
};
fs.writeFileSync(path.join(outDir, 'expected.json'), JSON.stringify(expected, null, 2) + '\n');
// Keep the references live to the end so nothing is collected early.
console.log(`${outDir}: handled ${contexts.size} requests; ring of ${RING} from #${ringHead.index}; ` +
  `${weakRefs.filter((r) => r.deref() && weakMeta.has(r.deref())).length} WeakHeld alive`);
