#!/usr/bin/env node
// Leak scenarios where nothing of the program leaks, for heapsight's "one-time allocations"
// rule: every object that survives from target to final is either made once by the runtime,
// lazily, on first use, or something the program keeps on purpose and bounded.
//
// usage: node --expose-gc scripts/make-lazy-scenario.js lazy   [OUT_DIR]
//        node --expose-gc scripts/make-lazy-scenario.js server [OUT_DIR]
//        node --expose-gc scripts/make-lazy-scenario.js server --leak [OUT_DIR]
//        (re-execs itself with --expose-gc if started without it)
//
// lazy   (sample-snapshots/node-lazy-clean): the baseline is taken before the program's
//        first console output, first process.stdout / stderr write, first require of zlib,
//        crypto, url, querystring, events, string_decoder, first util.inspect with colours
//        and first setTimeout / setInterval. Then it does all of that, plus work whose
//        objects are all freed; target; the same again; final.
// server (sample-snapshots/node-server-clean): a correct server under load: a route cache
//        filled during warm-up (before the baseline), a bounded ring of the last 64
//        AccessLogEntry (overwritten), per-request Request/Response/Session objects freed at once
//        (200 warm-up requests, then 500 before the target and 500 before the final).
//        Runtime singletons are made during warm-up too.
// server --leak (sample-snapshots/node-server-leak): the same server, except that every
//        request's Session (warm-up included) is also pushed to a module-level array and never removed.
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

const args = process.argv.slice(2);
const mode = args[0];
const LEAK = args.includes('--leak');
const rest = args.slice(1).filter((a) => a !== '--leak');
if (mode !== 'lazy' && mode !== 'server') {
  process.stderr.write('usage: make-lazy-scenario.js lazy|server [--leak] [OUT_DIR]\n');
  process.exit(2);
}
const outDir = rest[0] || path.join('sample-snapshots',
  mode === 'lazy' ? 'node-lazy-clean' : (LEAK ? 'node-server-leak' : 'node-server-clean'));
fs.mkdirSync(outDir, { recursive: true });

function snapshot(name) {
  global.gc();
  v8.writeHeapSnapshot(path.join(outDir, `${name}.heapsnapshot`));
}

// Short-lived work: everything it makes is garbage when it returns.
class Scratch { constructor(i) { this.i = i; this.parts = [i, i * 2, `s${i}`]; } }
function busyWork(n) {
  let sum = 0;
  for (let i = 0; i < n; i++) sum += new Scratch(i).parts[1];
  return sum;
}

// First use of everything the runtime makes lazily. Each call keeps nothing of the program's.
// `next` runs from a timer callback, so each snapshot is taken with no promise and no frame of
// the program's pending (an async function would leave its own promise reactions behind).
function useRuntime(round, next) {
  console.log(`round ${round}`);
  console.error(`round ${round} (stderr)`);
  process.stdout.write(`stdout ${round}\n`);
  const util = require('util');
  util.inspect({ round, nested: { list: [1, 2, 3], when: new Date(0) } }, { colors: true, depth: 4 });
  util.format('%s=%d %o', 'round', round, { round });
  const zlib = require('zlib');
  zlib.gunzipSync(zlib.gzipSync(Buffer.from(`payload ${round}`)));
  const crypto = require('crypto');
  crypto.createHash('sha256').update(`round ${round}`).digest('hex');
  const url = require('url');
  new url.URL(`https://example.test/a/${round}?q=${round}`).searchParams.get('q');
  const qs = require('querystring');
  qs.parse(qs.stringify({ round, tag: 'x y' }));
  const { EventEmitter } = require('events');
  const em = new EventEmitter();
  em.once('tick', () => {});
  em.emit('tick');
  const { StringDecoder } = require('string_decoder');
  new StringDecoder('utf8').end(Buffer.from('é'));
  const iv = setInterval(() => {
    clearInterval(iv);
    setTimeout(() => setImmediate(next), 1);
  }, 1);
}

// --- the server ---------------------------------------------------------------------------

class RouteEntry { constructor(route) { this.route = route; this.handler = `handler:${route}`; } }
class AccessLogEntry {
  constructor(seq, route, status) { this.seq = seq; this.route = route; this.status = status; }
}
class Request {
  constructor(seq, route) { this.seq = seq; this.route = route; this.headers = { 'x-seq': String(seq) }; }
}
class Response { constructor(req) { this.req = req; this.status = 200; this.body = [req.seq, req.route]; } }
class Session { constructor(seq) { this.id = `session-${seq}`; this.data = { seq }; } }

const ROUTES = 40;
const RING = 64;
const routeCache = new Map();   // filled during warm-up, never grows after
const accessLog = new Array(RING).fill(null);   // bounded ring, overwritten
let ringPos = 0;
const sessions = [];            // --leak only

function handle(seq) {
  const route = `/api/r${seq % ROUTES}`;
  let entry = routeCache.get(route);
  if (!entry) { entry = new RouteEntry(route); routeCache.set(route, entry); }
  const req = new Request(seq, route);
  const res = new Response(req);
  const s = new Session(seq);
  if (LEAK) sessions.push(s);
  accessLog[ringPos] = new AccessLogEntry(seq, entry.route, res.status);
  ringPos = (ringPos + 1) % RING;
  return res.body.length + s.data.seq;
}

function runServer(done) {
  // Warm-up: the cache fills, the ring wraps, the runtime makes its singletons.
  let seq = 0;
  for (; seq < 200; seq++) handle(seq);
  useRuntime('warm-up', () => {
    snapshot('baseline');
    for (let i = 0; i < 500; i++, seq++) handle(seq);
    useRuntime('load 1', () => {
      snapshot('target');
      for (let i = 0; i < 500; i++, seq++) handle(seq);
      useRuntime('load 2', () => {
        snapshot('final');
        writeServerExpected();
        done(`${routeCache.size} routes, ring at ${ringPos}, ${sessions.length} sessions kept`);
      });
    });
  });
}

function writeServerExpected() {
  const expected = {
    description: 'Instances created by scripts/make-lazy-scenario.js server' + (LEAK ? ' --leak' : '') +
      ' that are alive in each snapshot',
    rule: 'count of nodes with type "object" whose name is the class name (scripts/count-classes.js)',
    // The leak search's cluster: the Sessions made between baseline and target.
    leaks: LEAK ? { Session: 500 } : {},
    baseline: { RouteEntry: ROUTES, AccessLogEntry: RING, Request: 0, Response: 0, Session: LEAK ? 200 : 0 },
    target: { RouteEntry: ROUTES, AccessLogEntry: RING, Request: 0, Response: 0, Session: LEAK ? 700 : 0 },
    final: { RouteEntry: ROUTES, AccessLogEntry: RING, Request: 0, Response: 0, Session: LEAK ? 1200 : 0 },
  };
  fs.writeFileSync(path.join(outDir, 'expected.json'), JSON.stringify(expected, null, 2) + '\n');
}

function runLazy(done) {
  busyWork(1000);
  // Nothing printed, no builtin required beyond fs/path/v8, no timer yet.
  snapshot('baseline');
  busyWork(1000);
  useRuntime(1, () => {
    snapshot('target');
    busyWork(1000);
    useRuntime(2, () => {
      snapshot('final');
      writeLazyExpected();
      done('nothing kept');
    });
  });
}

function writeLazyExpected() {
  const expected = {
    description: 'scripts/make-lazy-scenario.js lazy: nothing of the program survives; the only new ' +
      'objects after the baseline are made by Node, once, on first use',
    rule: 'count of nodes with type "object" whose name is the class name (scripts/count-classes.js)',
    leaks: {},
    baseline: { Scratch: 0 },
    target: { Scratch: 0 },
    final: { Scratch: 0 },
  };
  fs.writeFileSync(path.join(outDir, 'expected.json'), JSON.stringify(expected, null, 2) + '\n');
}

(mode === 'lazy' ? runLazy : runServer)((msg) => process.stdout.write(`${outDir}: ${msg}\n`));
