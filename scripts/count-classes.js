#!/usr/bin/env node
// Count heap-snapshot nodes of type "object" per name: the same number a class
// summary (DevTools' "Constructor" view) shows, so it is the number to test against.
// Fields are looked up through snapshot.meta, never by position, because Node and
// Chromium versions add fields (detachedness, trace_node_id).
//
// usage: node scripts/count-classes.js SNAPSHOT[.gz] [ClassName ...]
//   with class names: prints {"ClassName": count, ...} as JSON
//   without:          prints the 20 most common object names
// Loads the whole file as one string, so it is for small samples (< ~500 MB).
'use strict';
const fs = require('fs');
const zlib = require('zlib');

const [file, ...classes] = process.argv.slice(2);
if (!file) {
  console.error('usage: count-classes.js SNAPSHOT[.gz] [ClassName ...]');
  process.exit(2);
}
let buf = fs.readFileSync(file);
if (file.endsWith('.gz')) buf = zlib.gunzipSync(buf);
const snap = JSON.parse(buf.toString('utf8'));
const meta = snap.snapshot.meta;
const stride = meta.node_fields.length;
const typeOff = meta.node_fields.indexOf('type');
const nameOff = meta.node_fields.indexOf('name');
const objectType = meta.node_types[typeOff].indexOf('object');

const counts = new Map();
const nodes = snap.nodes;
for (let i = 0; i < nodes.length; i += stride) {
  if (nodes[i + typeOff] !== objectType) continue;
  const name = snap.strings[nodes[i + nameOff]];
  counts.set(name, (counts.get(name) || 0) + 1);
}

if (classes.length) {
  const out = {};
  for (const c of classes) out[c] = counts.get(c) || 0;
  console.log(JSON.stringify(out));
} else {
  const top = [...counts].sort((a, b) => b[1] - a[1]).slice(0, 20);
  for (const [name, n] of top) console.log(`${n}\t${name}`);
}
