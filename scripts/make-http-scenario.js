#!/usr/bin/env node
// An HTTP service measured the way leak tests usually are: warm up, baseline, a burst of
// requests, target, then the final snapshot a moment later with no more requests. Nothing
// then runs between target and final, so whatever the last request left behind is still
// there: the router's per-layer `params` and `lastRequest` (overwritten by every request, like
// Express's `layer.params` and a parser's `_headers`), and Node's own one-second timer that
// refreshes the HTTP Date header. None of it is a leak.
//
// usage: node --expose-gc scripts/make-http-scenario.js [--leak] [OUT_DIR]
//        (OUT_DIR defaults to target/http-scenario)
//
// --leak adds three leaks that look like those slots but pile up, one per request:
//   - PollTimer: every request starts a `setInterval` (the program's own callback) that is
//     never cleared;
//   - auditLog: a module-level array replaced by `auditLog = auditLog.concat(line)` (the slot
//     is overwritten, but every value is bigger than the last);
//   - RecentNode: a module-level linked list, `recent = new RecentNode(req, recent)` (the slot
//     is overwritten, but the new head holds all the others).
// expected.json has the counts.
'use strict';
const fs = require('fs');
const http = require('http');
const path = require('path');
const v8 = require('v8');

if (typeof global.gc !== 'function') {
  process.stderr.write('run with node --expose-gc (counts are only exact after a full GC)\n');
  process.exit(2);
}

const LEAK = process.argv.includes('--leak');
const outDir = process.argv.slice(2).filter((a) => !a.startsWith('--'))[0] ||
  path.join('target', 'http-scenario');
fs.mkdirSync(outDir, { recursive: true });
const WARMUP = 100;
const BURST = 300;

// A tiny router: each layer keeps the parameters of the last path it matched.
class RouteLayer {
  constructor(pattern, handler) {
    this.keys = pattern.split('/').filter((p) => p.startsWith(':')).map((p) => p.slice(1));
    this.regexp = new RegExp('^' + pattern.replace(/:[^/]+/g, '([^/]+)') + '$');
    this.handler = handler;
    this.params = {};
  }
  match(url) {
    const m = this.regexp.exec(url);
    if (!m) return false;
    const params = {};
    this.keys.forEach((k, i) => { params[k] = m[i + 1]; });
    this.params = params; // overwritten by every match
    return true;
  }
}
class RequestInfo { constructor(method, url) { this.method = method; this.url = url; this.at = Date.now(); } }
class PollTimer { constructor(id) { this.id = id; this.polls = 0; } }
class RecentNode { constructor(info, next) { this.info = info; this.next = next; } }

const router = { layers: [], lastRequest: null };
let auditLog = [];
let recent = null;
const pollTimers = [];
router.layers.push(new RouteLayer('/items/:id', (req, p) => `item ${p.id}`));
router.layers.push(new RouteLayer('/users/:user/orders/:order', (req, p) => `order ${p.order}`));

const server = http.createServer((req, res) => {
  const info = new RequestInfo(req.method, req.url);
  router.lastRequest = info; // overwritten by every request
  if (LEAK) {
    const t = new PollTimer(req.url);
    setInterval(() => { t.polls++; }, 60 * 60 * 1000); // never cleared: one more per request
    auditLog = auditLog.concat(`${info.method} ${info.url} ${info.at}`);
    recent = new RecentNode(info, recent);
  }
  const layer = router.layers.find((l) => l.match(req.url));
  res.setHeader('content-type', 'text/plain');
  res.end(layer ? layer.handler(req, layer.params) : 'not found');
});

function get(port, url) {
  return new Promise((resolve, reject) => {
    http.get({ port, path: url, agent: false }, (res) => {
      res.resume();
      res.on('end', resolve);
    }).on('error', reject);
  });
}

async function burst(port, n, from) {
  for (let i = from; i < from + n; i++) {
    await get(port, i % 2 ? `/items/${i}` : `/users/u${i % 7}/orders/${i}`);
  }
}

function snapshot(name) {
  global.gc();
  v8.writeHeapSnapshot(path.join(outDir, `${name}.heapsnapshot`));
}

const pause = (ms) => new Promise((r) => setTimeout(r, ms));

server.listen(0, '127.0.0.1', async () => {
  const port = server.address().port;
  await burst(port, WARMUP, 0);
  await pause(50);
  snapshot('baseline');
  await burst(port, BURST, WARMUP);
  await pause(50);
  snapshot('target');
  await pause(50);
  snapshot('final');
  server.close();
  const leaked = LEAK ? WARMUP + BURST : 0;
  const expected = {
    description: 'scripts/make-http-scenario.js' + (LEAK ? ' --leak' : '') +
      ': objects alive in the final snapshot',
    requests: { warmup: WARMUP, burst: BURST },
    final: {
      RouteLayer: 2,
      RequestInfo: LEAK ? leaked : 1,
      PollTimer: leaked,
      RecentNode: leaked,
      auditLogEntries: LEAK ? leaked : 0,
    },
    leaks_after_baseline: LEAK ? { PollTimer: BURST, RecentNode: BURST, auditLog: 1 } : {},
  };
  fs.writeFileSync(path.join(outDir, 'expected.json'), JSON.stringify(expected, null, 2) + '\n');
  console.log(`${outDir}: ${WARMUP} + ${BURST} requests${LEAK ? ', leaking' : ''}`);
  process.exit(0); // the never-cleared intervals would keep the process alive
});
