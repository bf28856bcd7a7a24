// The in-memory store that scripts/make-big-snapshot.js and scripts/make-trend-series.js put
// on the heap: groups of records kept in a global Map, each group a ring (cycles), with
// per-group Maps, small arrays and unique strings. The mix is tuned to the benchmark target,
// edges/nodes ≈ 3.2; see the per-record accounting next to Record below.
'use strict';

/// Re-run this script with --expose-gc (and a big heap) when it was started without.
function ensureGc(filename) {
  if (typeof global.gc === 'function') return;
  const { spawnSync } = require('child_process');
  const r = spawnSync(process.execPath,
    ['--max-old-space-size=16000', '--expose-gc', filename, ...process.argv.slice(2)],
    { stdio: 'inherit' });
  process.exit(r.status === null ? 1 : r.status);
}

const GROUP = 100;                                   // records per ring

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

/// Build the store: 50 000 × scale groups of 100 records (5 M records at scale 1).
function buildStore(scale) {
  const groupCount = Math.round(50000 * scale);
  const byId = new Map();   // one huge hash table: a node with millions of edges
  const groups = [];
  let id = 0;
  for (let g = 0; g < groupCount; g++) {
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
  return { byId, groups, records: id };
}

module.exports = { ensureGc, buildStore };
