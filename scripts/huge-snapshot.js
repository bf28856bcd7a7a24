#!/usr/bin/env node
// A V8 heap snapshot of any size, streamed straight to disk (no heap behind it), whose
// dominators, retained sizes and distances are known in closed form; and the check of
// heapsight's numbers on it against those formulas.
//
// usage: node scripts/huge-snapshot.js make  OUT [--holders K] [--leaves L]
//        node scripts/huge-snapshot.js check OUT [--holders K] [--leaves L] [--bin HEAPSIGHT]
//
// Defaults K = 75 000 holders of L = 1 000 leaves: 75 150 001 nodes, 225 150 000 edges,
// about 5.3 GB (more than 4.5 GiB), written in a few minutes with little memory. Try
// `--holders 100 --leaves 40` first (and check that one with the DevTools oracle too).
//
// The heap: the root holds K `Holder`s (element edges 1..K); holder h holds one `Bucket`
// (property `items`); the bucket holds L `Leaf`s (elements 0..L-1); leaf j points to leaf
// j+1 of the same bucket (property `next`, the last one back to the first: a ring) and back
// to its holder (property `owner`). So every leaf is dominated by its bucket, the bucket by
// its holder, the holder by the root, and
//   self:      Holder 32, Bucket 16, Leaf j 16 + 8 (j mod 4)
//   retained:  Leaf = self; Bucket = 16 + sum of its leaves; Holder = 32 + Bucket's
//   distance:  Holder 1, Bucket 2, Leaf 3
// `check` runs `heapsight summary --json` (the class table) and `heapsight nodes --tsv`
// (every node, streamed: never held whole) and compares each with the formulas.
'use strict';
const fs = require('fs');
const path = require('path');
const { spawn, spawnSync } = require('child_process');
const readline = require('readline');

const args = process.argv.slice(2);
const mode = args.shift();
const out = args.shift();
function option(name, fallback) {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : fallback;
}
const K = Number(option('--holders', 75000));
const L = Number(option('--leaves', 1000));
const bin = option('--bin', 'target/release/heapsight');
if (!out || !['make', 'check'].includes(mode) || !(K >= 1) || !(L >= 1)) {
  console.error('usage: huge-snapshot.js make|check OUT [--holders K] [--leaves L] [--bin B]');
  process.exit(2);
}

// Node indices: 0 the root; holder h at 1 + h; bucket h at 1 + K + h; leaf j of bucket h at
// 1 + 2K + h L + j. Ids are 2 i + 1 (V8 numbers heap objects by odd ids).
const NODE_FIELDS = 7;
const holderIx = (h) => 1 + h;
const bucketIx = (h) => 1 + K + h;
const leafIx = (h, j) => 1 + 2 * K + h * L + j;
const idOf = (ix) => 2 * ix + 1;
const leafSelf = (j) => 16 + 8 * (j % 4);
const leavesSelf = (() => { let s = 0; for (let j = 0; j < L; j++) s += leafSelf(j); return s; })();
const nodeCount = 1 + 2 * K + K * L;
const edgeCount = 2 * K + 3 * K * L;

// Strings: 0 "", 1 Holder, 2 Bucket, 3 Leaf, 4 items, 5 next, 6 owner.
const STRINGS = ['', 'Holder', 'Bucket', 'Leaf', 'items', 'next', 'owner'];
// Node types as Node 20 lists them; edge types likewise.
const NODE_TYPES = ['hidden', 'array', 'string', 'object', 'code', 'closure', 'regexp',
  'number', 'native', 'synthetic', 'concatenated string', 'sliced string', 'symbol', 'bigint',
  'object shape'];
const EDGE_TYPES = ['context', 'element', 'property', 'internal', 'hidden', 'shortcut', 'weak'];
const OBJECT = 3, SYNTHETIC = 9, ELEMENT = 1, PROPERTY = 2;

function make() {
  fs.mkdirSync(path.dirname(path.resolve(out)), { recursive: true });
  const partial = out + '.partial';
  const fd = fs.openSync(partial, 'w');
  let chunk = [];
  let chunkLen = 0;
  let written = 0;
  const put = (s) => {
    chunk.push(s);
    chunkLen += s.length;
    if (chunkLen >= 1 << 22) flush();
  };
  const flush = () => {
    const buf = Buffer.from(chunk.join(''), 'latin1');
    fs.writeSync(fd, buf);
    written += buf.length;
    chunk = [];
    chunkLen = 0;
  };
  const meta = {
    node_fields: ['type', 'name', 'id', 'self_size', 'edge_count', 'trace_node_id', 'detachedness'],
    node_types: [NODE_TYPES, 'string', 'number', 'number', 'number', 'number', 'number'],
    edge_fields: ['type', 'name_or_index', 'to_node'],
    edge_types: [EDGE_TYPES, 'string_or_number', 'node'],
    trace_function_info_fields: ['function_id', 'name', 'script_name', 'script_id', 'line', 'column'],
    trace_node_fields: ['id', 'function_info_index', 'count', 'size', 'children'],
    sample_fields: ['timestamp_us', 'last_assigned_id'],
    location_fields: ['object_index', 'script_id', 'line', 'column'],
  };
  put('{"snapshot":{"meta":' + JSON.stringify(meta) + `,"node_count":${nodeCount},` +
    `"edge_count":${edgeCount},"trace_function_count":0},\n"nodes":[`);
  // Nodes, in index order: a row a line, each line break before the comma, as V8 writes them
  // (which the reader's 64-byte blocks take).
  put(`${SYNTHETIC},0,${idOf(0)},0,${K},0,0`);
  for (let h = 0; h < K; h++) put(`\n,${OBJECT},1,${idOf(holderIx(h))},32,1,0,0`);
  for (let h = 0; h < K; h++) put(`\n,${OBJECT},2,${idOf(bucketIx(h))},16,${L},0,0`);
  for (let h = 0; h < K; h++) {
    let rows = '';
    for (let j = 0; j < L; j++) rows += `\n,${OBJECT},3,${idOf(leafIx(h, j))},${leafSelf(j)},2,0,0`;
    put(rows);
  }
  put('],\n"edges":[');
  // Edges, grouped by their node in index order; to_node is the target's field offset.
  const to = (ix) => ix * NODE_FIELDS;
  let first = true;
  const edge = (type, name, target) => {
    put(`${first ? '' : '\n,'}${type},${name},${to(target)}`);
    first = false;
  };
  for (let h = 0; h < K; h++) edge(ELEMENT, h + 1, holderIx(h));
  for (let h = 0; h < K; h++) edge(PROPERTY, 4, bucketIx(h));
  for (let h = 0; h < K; h++) {
    let rows = '';
    for (let j = 0; j < L; j++) rows += `\n,${ELEMENT},${j},${to(leafIx(h, j))}`;
    put(rows);
  }
  for (let h = 0; h < K; h++) {
    let rows = '';
    for (let j = 0; j < L; j++) {
      const next = leafIx(h, (j + 1) % L);
      rows += `\n,${PROPERTY},5,${to(next)}\n,${PROPERTY},6,${to(holderIx(h))}`;
    }
    put(rows);
  }
  put('],\n"trace_function_infos":[],\n"trace_tree":[],\n"samples":[],\n"locations":[],\n' +
    '"strings":' + JSON.stringify(STRINGS) + '}\n');
  flush();
  fs.closeSync(fd);
  fs.renameSync(partial, out);
  console.log(`${out}: ${nodeCount} nodes, ${edgeCount} edges, ${written} bytes ` +
    `(${(written / 2 ** 30).toFixed(2)} GiB)`);
}

// What every node must show: [class, self, retained, dominator id, distance] by index.
function expected(ix) {
  const total = K * (32 + 16 + leavesSelf);
  if (ix === 0) return ['', 0, total, idOf(0), null];
  if (ix <= K) return ['Holder', 32, 32 + 16 + leavesSelf, idOf(0), 1];
  if (ix <= 2 * K) return ['Bucket', 16, 16 + leavesSelf, idOf(ix - K), 2];
  const k = ix - 1 - 2 * K;
  const h = Math.floor(k / L);
  const j = k % L;
  return ['Leaf', leafSelf(j), leafSelf(j), idOf(bucketIx(h)), 3];
}

async function check() {
  let failures = 0;
  const fail = (what) => {
    if (failures++ < 20) console.error('MISMATCH ' + what);
  };
  // The class table.
  const s = spawnSync(bin, ['summary', '--no-cache', '--json', out],
    { maxBuffer: 1 << 26, encoding: 'utf8' });
  if (s.status !== 0) throw new Error(`summary failed: ${s.stderr}`);
  const summary = JSON.parse(s.stdout);
  if (summary.node_count !== nodeCount) fail(`node_count ${summary.node_count} != ${nodeCount}`);
  if (summary.edge_count !== edgeCount) fail(`edge_count ${summary.edge_count} != ${edgeCount}`);
  const want = {
    Holder: [K, 32 * K, K * (48 + leavesSelf), 1],
    Bucket: [K, 16 * K, K * (16 + leavesSelf), 2],
    Leaf: [K * L, K * leavesSelf, K * leavesSelf, 3],
  };
  for (const [name, [count, shallow, retained, distance]] of Object.entries(want)) {
    const row = summary.classes.find((c) => c.name === name);
    const got = row && [row.count, row.shallow_size, row.retained_size, row.distance];
    if (!row || got.join() !== [count, shallow, retained, distance].join()) {
      fail(`class ${name}: got ${got}, want ${[count, shallow, retained, distance]}`);
    }
  }
  console.log(`class table: ${summary.classes.length} classes checked`);
  // Every node, streamed.
  const child = spawn(bin, ['nodes', '--no-cache', '--tsv', out], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = readline.createInterface({ input: child.stdout, crlfDelay: Infinity });
  let ix = -1;
  for await (const line of lines) {
    if (ix++ < 0) continue; // header
    const [id, , name, self, retained, dom, distance] = line.split('\t');
    const [cls, wSelf, wRetained, wDom, wDistance] = expected(ix - 1);
    const distanceOk = wDistance === null || Number(distance) === wDistance;
    if (Number(id) !== idOf(ix - 1) || name !== cls || Number(self) !== wSelf ||
        Number(retained) !== wRetained || Number(dom) !== wDom || !distanceOk) {
      fail(`node ${ix - 1}: ${line}; want ${cls} ${wSelf} ${wRetained} @${wDom} ${wDistance}`);
    }
  }
  const code = await new Promise((resolve) => child.on('close', resolve));
  if (code !== 0) throw new Error(`nodes exited with ${code}`);
  if (ix !== nodeCount) fail(`${ix} node rows, want ${nodeCount}`);
  console.log(`nodes: ${ix} rows checked, ${failures} mismatches`);
  process.exit(failures === 0 ? 0 : 1);
}

if (mode === 'make') make();
else check().catch((e) => { console.error(e.message); process.exit(1); });
