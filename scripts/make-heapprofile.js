#!/usr/bin/env node
// A small V8 sampling heap profile (.heapprofile), the format DevTools' "Allocation sampling",
// `node --heap-prof` and the inspector's HeapProfiler.stopSampling write: a tree of call frames
// with the sampled bytes still live under each ("selfSize"), and the samples themselves.
//
// The allocation pattern (all kept alive until the profile is taken, except `makeGarbage`'s):
//   keepRecords   4000 objects {id, name, tags: [3 numbers]}   (plain objects + arrays)
//   keepStrings   4000 distinct strings of about 100 characters
//   keepArrays     200 arrays of 1000 numbers (via fillArray, called by keepArrays)
//   makeGarbage   as much again in short-lived arrays, collected before the profile is taken
//
// usage: node scripts/make-heapprofile.js [OUT_FILE]
//        (default sample-snapshots/node-heapprofile/alloc.heapprofile)
'use strict';
const fs = require('fs');
const path = require('path');
const inspector = require('inspector');

const out = process.argv[2] || path.join('sample-snapshots', 'node-heapprofile', 'alloc.heapprofile');
fs.mkdirSync(path.dirname(out), { recursive: true });

const session = new inspector.Session();
session.connect();
const post = (method, params) => new Promise((resolve, reject) =>
  session.post(method, params, (err, res) => (err ? reject(err) : resolve(res))));

const kept = [];
function keepRecords(n) {
  for (let i = 0; i < n; i++) kept.push({ id: i, name: `record-${i}`, tags: [i, i + 1, i + 2] });
}
function keepStrings(n) {
  for (let i = 0; i < n; i++) kept.push(`${i}:`.padEnd(100, String.fromCharCode(97 + (i % 26))) + i);
}
function fillArray(len) {
  const a = new Array(len);
  for (let i = 0; i < len; i++) a[i] = i * 1.5;
  return a;
}
function keepArrays(n) {
  for (let i = 0; i < n; i++) kept.push(fillArray(1000));
}
function makeGarbage(n) {
  let sum = 0;
  for (let i = 0; i < n; i++) sum += fillArray(1000).length;
  return sum;
}

(async () => {
  await post('HeapProfiler.enable');
  // A small interval so a few MB give a few thousand samples (Node's default is 512 KiB).
  await post('HeapProfiler.startSampling', { samplingInterval: 4096 });
  keepRecords(4000);
  keepStrings(4000);
  keepArrays(200);
  makeGarbage(200);
  await post('HeapProfiler.collectGarbage');
  const { profile } = await post('HeapProfiler.stopSampling');
  session.disconnect();
  fs.writeFileSync(out, JSON.stringify(profile));

  // The totals the loader is tested against, computed here independently.
  const byFunction = new Map();
  let nodes = 0;
  let selfTotal = 0;
  const walk = [profile.head];
  while (walk.length) {
    const n = walk.pop();
    nodes++;
    selfTotal += n.selfSize;
    const f = n.callFrame.functionName || '(anonymous)';
    byFunction.set(f, (byFunction.get(f) || 0) + n.selfSize);
    walk.push(...n.children);
  }
  const sampleTotal = profile.samples.reduce((s, x) => s + x.size, 0);
  const top = [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, 6);
  console.log(`${out}: ${fs.statSync(out).size} bytes, ${nodes} nodes, ${profile.samples.length} samples; ` +
    `selfSize total ${selfTotal}, samples' sizes total ${sampleTotal} (kept ${kept.length})`);
  for (const [f, b] of top) console.log(`  ${b}\t${f}`);
})();
