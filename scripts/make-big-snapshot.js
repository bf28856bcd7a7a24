#!/usr/bin/env node
// A LARGE heap snapshot for benchmarks (not committed; target/ is git-ignored).
// At --scale 1 (measured, Node 20, 2 cores): 20.2 M nodes, 64.1 M edges, 1.9 GB
// on disk, about 3 minutes, 13 GB peak RSS. The size cannot go much lower for
// these counts: each edge line costs ~17 bytes and each node line ~26.
//
// usage: node --max-old-space-size=16000 --expose-gc scripts/make-big-snapshot.js \
//          [OUT_FILE] [--scale S]
//        OUT_FILE defaults to target/bench/big.heapsnapshot; try --scale 0.05 first.
//        (re-execs itself with those flags if started without --expose-gc)
// Run from the repository root. Memory grows about linearly with --scale: V8
// holds the heap and its own copy of the graph in memory while it writes.
//
// The heap models an in-memory store: groups of records kept in a global Map,
// each group a ring (cycles), with per-group Maps, small arrays and unique
// strings. The mix is tuned to the benchmark target, edges/nodes ≈ 3.2;
// see the per-record accounting next to Record below.
'use strict';
const fs = require('fs');
const path = require('path');
const v8 = require('v8');

if (typeof global.gc !== 'function') {
  const { spawnSync } = require('child_process');
  const r = spawnSync(process.execPath,
    ['--max-old-space-size=16000', '--expose-gc', __filename, ...process.argv.slice(2)],
    { stdio: 'inherit' });
  process.exit(r.status === null ? 1 : r.status);
}

const args = process.argv.slice(2);
let scale = 1;
const si = args.indexOf('--scale');
if (si >= 0) { scale = Number(args[si + 1]); args.splice(si, 2); }
if (!(scale > 0)) throw new Error('--scale must be a positive number');
const out = args[0] || path.join('target', 'bench', 'big.heapsnapshot');

const GROUP = 100;                                   // records per ring
const GROUPS = Math.round(50000 * scale);            // 5 M records at scale 1

// Per record, in snapshot terms (V8 gives every object a `map` edge, every JS
// object a `__proto__` edge, and null fields an edge to an oddball; Smis get none):
//   Record           1 node, 6 edges (name, tags, owner, next, __proto__, map)
//   name string      1 node, 1 edge  (map); flat, see below
//   tags JSArray     1 node, 3 edges (elements, map, __proto__) + its FixedArray, 0 edges
//   containers       3 more edges into it (group Map key + value, byId value),
//                    2 fewer for the 1 in 6 records left out of the group Map
class Record {
  constructor(id, name, owner) {
    this.id = id;
    this.name = name;
    this.tags = [id & 7, id & 15, id & 31];
    this.owner = owner;
    this.next = null;
  }
}

class Group {
  constructor(id) {
    this.id = id;
    this.label = `group-${id}`;
    this.members = new Map();
    this.head = null;
  }
}

const t0 = Date.now();
const byId = new Map();   // one huge hash table: a node with millions of edges
const groups = [];
let id = 0;
for (let g = 0; g < GROUPS; g++) {
  const group = new Group(g);
  let prev = null;
  for (let k = 0; k < GROUP; k++, id++) {
    // Unique and flat: join() builds one sequential string, where `+`, template
    // literals and padEnd make cons strings (3 nodes each) past 12 characters.
    const name = ['record', id, 'profile'].join('-');
    const rec = new Record(id, name, group.head);
    if (prev) prev.next = rec; else group.head = rec;
    if (id % 6 !== 0) group.members.set(name, rec);   // 1 in 6 is "archived": unindexed
    byId.set(id, rec);
    prev = rec;
  }
  prev.next = group.head;   // close the ring
  groups.push(group);
}
const t1 = Date.now();
global.gc();
fs.mkdirSync(path.dirname(path.resolve(out)), { recursive: true });
v8.writeHeapSnapshot(out);
const t2 = Date.now();

// node_count and edge_count are in the header, so there is no need to parse
// the whole file (which would not fit in one JS string anyway).
const fd = fs.openSync(out, 'r');
const head = Buffer.alloc(4096);
fs.readSync(fd, head, 0, head.length, 0);
fs.closeSync(fd);
const count = (k) => Number((head.toString('utf8').match(new RegExp(`"${k}":(\\d+)`)) || [])[1]);
const nodes = count('node_count'), edges = count('edge_count');
console.log(JSON.stringify({
  out, scale, records: id, groups: groups.length, byId: byId.size,
  node_count: nodes, edge_count: edges, edges_per_node: +(edges / nodes).toFixed(3),
  bytes: fs.statSync(out).size, build_s: (t1 - t0) / 1000, snapshot_s: (t2 - t1) / 1000,
  peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
}));
