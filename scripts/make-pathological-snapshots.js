// Node heap snapshots of shapes that break naive analysers: a linked list a million deep, a
// ring of half a million objects, closures whose contexts chain 200 000 deep, a promise chain,
// an array and a Map with a million entries, WeakMap/WeakRef/FinalizationRegistry tables, and
// cycles that only a weak reference holds. Each is checked against DevTools' own worker
// (../shared/oracle/check-vs-devtools.sh) and run through every CLI command (scripts/cli-outputs.sh).
// usage: node --expose-gc scripts/make-pathological-snapshots.js OUT_DIR [VARIANT…]
//        variants: chain, ring, closures, promises, wide, weak, dag (default: all), and deep,
//        only when named: a 4-million-link chain beside a 3-million-object ring (a 645 MB
//        snapshot, ~20 s; `node --max-old-space-size=8000`)
// Writes OUT_DIR/<variant>.heapsnapshot (20–150 MB each); don't commit them.
'use strict';
const v8 = require('v8');
const path = require('path');
const fs = require('fs');
const xorshift = require('./xorshift');

const out = process.argv[2] || 'target/pathological';
const all = ['chain', 'ring', 'closures', 'promises', 'wide', 'weak', 'dag'];
const variants = process.argv.length > 3 ? process.argv.slice(3) : all;
fs.mkdirSync(out, { recursive: true });

class ChainLink { constructor(next, i) { this.next = next; this.i = i; } }
class RingNode { constructor(i) { this.i = i; this.next = null; } }
class DagNode { constructor(i) { this.i = i; this.links = []; } }
class Key { constructor(i) { this.i = i; } }
class Value { constructor(i) { this.payload = new Array(4).fill(i); } }

const build = {
  // One path a million links long: every node's distance and dominator chain is that deep.
  chain() {
    let head = null;
    for (let i = 0; i < 1_000_000; i++) head = new ChainLink(head, i);
    return { head };
  },
  // A ring held at one point (each node dominated by its predecessor), and a second ring held
  // only through a WeakRef: unreachable by strong edges, it hangs off the root as leftovers.
  ring() {
    const ring = (n) => {
      const first = new RingNode(0);
      let last = first;
      for (let i = 1; i < n; i++) { const r = new RingNode(i); last.next = r; last = r; }
      last.next = first;
      return first;
    };
    return { held: ring(500_000), weak: new WeakRef(ring(100_000)) };
  },
  // Each closure captures the previous one: a chain of 200 000 contexts.
  closures() {
    let f = () => 0;
    for (let i = 0; i < 200_000; i++) { const prev = f; const k = i; f = () => prev() + k; }
    return { f };
  },
  // 100 000 pending promises, each waiting on the previous one.
  promises() {
    let resolveFirst;
    let p = new Promise((r) => { resolveFirst = r; });
    for (let i = 0; i < 100_000; i++) p = p.then((x) => x + i);
    return { p, resolveFirst };
  },
  // A very wide fan-out: an array of a million objects, a Map and a Set of 300 000 each.
  wide() {
    const arr = Array.from({ length: 1_000_000 }, (_, i) => ({ i }));
    const map = new Map();
    const set = new Set();
    for (let i = 0; i < 300_000; i++) { map.set(`k${i}`, { v: i }); set.add({ s: i }); }
    return { arr, map, set };
  },
  // Ephemeron tables: values kept by a WeakMap only while their keys live (half the keys are
  // held), WeakRefs to live and dead objects, a FinalizationRegistry with registrations.
  weak() {
    const wm = new WeakMap();
    const keys = [];
    for (let i = 0; i < 100_000; i++) {
      const k = new Key(i);
      wm.set(k, new Value(i));
      if (i % 2 === 0) keys.push(k);
    }
    const refs = [];
    for (let i = 0; i < 50_000; i++) refs.push(new WeakRef(i % 2 ? keys[i] : new Key(-i)));
    const registry = new FinalizationRegistry(() => {});
    for (let i = 0; i < 20_000; i++) registry.register(keys[i], i);
    return { wm, keys, refs, registry };
  },
  // A random DAG with back links to earlier nodes: many nodes with several retainers, the
  // semidominator pass's hard case.
  dag() {
    const rnd = xorshift(7);
    const nodes = [];
    for (let i = 0; i < 400_000; i++) {
      const d = new DagNode(i);
      if (i > 0) {
        const links = 1 + rnd(3);
        for (let j = 0; j < links; j++) nodes[rnd(i)].links.push(d);
      }
      nodes.push(d);
    }
    return { first: nodes[0], some: nodes.filter((_, i) => i % 1000 === 0) };
  },
  // The chain and the ring at scale, for what grows with depth (distances, dominator chains,
  // retainer paths) on a file of hundreds of MB.
  deep() {
    let head = null;
    for (let i = 0; i < 4_000_000; i++) head = new ChainLink(head, i);
    const first = new RingNode(0);
    let last = first;
    for (let i = 1; i < 3_000_000; i++) { const r = new RingNode(i); last.next = r; last = r; }
    last.next = first;
    return { head, first };
  },
};

for (const name of variants) {
  if (!build[name]) throw new Error(`unknown variant ${name} (have: ${all.join(', ')}, deep)`);
  globalThis.pathological = build[name]();
  if (global.gc) global.gc();
  const file = path.join(out, `${name}.heapsnapshot`);
  v8.writeHeapSnapshot(file);
  console.log(`${file} ${(fs.statSync(file).size / 1e6).toFixed(1)} MB`);
  globalThis.pathological = null;
  if (global.gc) global.gc();
}
