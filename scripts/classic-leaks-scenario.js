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
const patterns = ['closure', 'listeners', 'interval', 'promises'];
if (!patterns.includes(pattern) || !outDir || !['trio', 'series'].includes(shape)) {
  console.error(`usage: classic-leaks-scenario.js ${patterns.join('|')} OUT_DIR trio|series [--leak]`);
  process.exit(2);
}
fs.mkdirSync(outDir, { recursive: true });

const bus = new EventEmitter();
bus.setMaxListeners(0);
let theThing = null;
const pending = [];
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
