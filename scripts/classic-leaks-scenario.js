#!/usr/bin/env node
// The leaks every Node service meets sooner or later, each with its fix, for the leak and growth
// gates: the leaking variant must trip both, the fixed one neither. Each unit of work handles 50
// requests of one of these patterns:
//   closure   the classic closure leak: each new `theThing` has a method whose closure shares a
//             context with a function that read `originalThing`, the thing before it, so every
//             thing keeps the one before it alive (fixed: `originalThing = null` once read)
//   listeners a listener added to a long-lived EventEmitter for each request (fixed: removed
//             when the request is done)
//   interval  a `setInterval` started for each connection (fixed: cleared)
//   promises  each request waits on a reply kept in a pending list that never comes (fixed: it
//             comes, and the list is emptied)
//   log       an access log built in memory by `log += line` (fixed: flushed, as to a file, once
//             it reaches 8 KiB): a new string each time, no object of the program's
//   latencies each request's stage timings pushed onto an array of numbers (fixed: trimmed to
//             the last 1000): the array's element store grows, no object is added
// The last two add no object a leak trio counts (it counts objects new since the baseline):
// only `trend` sees them, through the retained size of what holds them.
// No dependencies. Snapshots as scripts/scenario-steps.js takes them (trio: baseline, target,
// final; series: step1…step5), 4 units apart.
//
// usage: node --expose-gc scripts/classic-leaks-scenario.js PATTERN OUT_DIR trio|series [--leak]
'use strict';
const fs = require('fs');
const path = require('path');
const v8 = require('v8');
const { EventEmitter } = require('events');
const { takeSnapshots } = require('./scenario-steps');

const [pattern, outDir, shape] = process.argv.slice(2);
const leak = process.argv.includes('--leak');
const patterns = ['closure', 'listeners', 'interval', 'promises', 'log', 'latencies'];
if (!patterns.includes(pattern) || !outDir || !['trio', 'series'].includes(shape)) {
  console.error(`usage: classic-leaks-scenario.js ${patterns.join('|')} OUT_DIR trio|series [--leak]`);
  process.exit(2);
}
fs.mkdirSync(outDir, { recursive: true });

const bus = new EventEmitter();
bus.setMaxListeners(0);
let theThing = null;
const pending = [];
let log = '';
const latencies = [];
let served = 0;

const handlers = {
  closure(i) {
    let originalThing = theThing;
    const unused = function () {
      return originalThing ? 'hi' : '';
    };
    theThing = {
      longStr: new Array(200).fill(i).join('*'),
      someMethod() {
        return 1;
      },
    };
    unused();
    if (!leak) originalThing = null;
  },
  listeners(i) {
    const session = { id: i, buf: new Array(50).fill(i) };
    const onTick = () => session.id;
    bus.on('tick', onTick);
    bus.emit('tick');
    if (!leak) bus.off('tick', onTick);
  },
  interval(i) {
    const conn = { id: i, data: new Array(50).fill(i) };
    const timer = setInterval(() => conn.id, 1e7);
    if (!leak) clearInterval(timer);
  },
  promises(i) {
    const request = { id: i, payload: new Array(50).fill(i) };
    let resolve;
    const reply = new Promise((r) => {
      resolve = r;
    }).then(() => request.id);
    pending.push({ resolve, reply });
    if (!leak) {
      resolve();
      pending.length = 0;
    }
  },
  log(i) {
    log += `${new Date(1.7e12 + i * 1000).toISOString()} GET /items/${i} 200 ${i % 97}ms\n`;
    if (!leak && log.length > 8192) log = '';
  },
  latencies(i) {
    for (let stage = 0; stage < 10; stage++) latencies.push(((i * 31 + stage * 7) % 1000) / 10);
    if (!leak && latencies.length > 5000) latencies.splice(0, latencies.length - 1000);
  },
};

const work = {
  async run(units) {
    for (let u = 0; u < units; u++) {
      for (let r = 0; r < 50; r++) handlers[pattern](served++);
      await new Promise((r) => setImmediate(r));
    }
  },
  async finish() {
    return `${pattern} ${leak ? 'leaking' : 'fixed'}: ${served} requests`;
  },
};

async function snap(name) {
  global.gc();
  global.gc();
  v8.writeHeapSnapshot(path.join(outDir, `${name}.heapsnapshot`));
}

takeSnapshots({ shape, warmup: 4 }, work, snap).then(() => process.exit(0));
