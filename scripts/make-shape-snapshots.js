// Node 20 heap snapshots that exercise DevTools' interface names for plain objects (§3.2 of
// docs/devtools-rules.md): many object-literal shapes, shapes held by exactly 1, 2, 3, … objects
// around the max(2, plain objects / 1000) threshold, the same properties in different orders,
// class instances, prototypes, Object.create(null), long and quoted property names, non-ASCII names.
// usage: node scripts/make-shape-snapshots.js OUT_DIR [VARIANT…]   (variants: shapes, mixed, threshold;
//        default all)
// Writes OUT_DIR/<variant>.heapsnapshot. The snapshots are small (a few MB); don't commit them.
'use strict';
const v8 = require('v8');
const path = require('path');
const fs = require('fs');
const out = process.argv[2] || 'target/shapes';
const variants = process.argv.length > 3 ? process.argv.slice(3) : ['shapes', 'mixed', 'threshold'];
fs.mkdirSync(out, { recursive: true });

const keep = [];
// `count` objects whose own properties are `props` in that order (object literals built
// dynamically, so each gets a real map with named properties).
function make(props, count, proto) {
  for (let i = 0; i < count; i++) {
    const o = proto === undefined ? {} : Object.create(proto);
    for (const p of props) o[p] = { v: i }; // each value a small object: `{v}` becomes a popular shape
    keep.push(o);
  }
}

function shapes() {
  // Shapes held by 1..12 objects: with a few thousand plain objects the threshold falls between.
  for (let n = 1; n <= 12; n++) make([`p${n}a`, `p${n}b`], n);
  for (let n = 1; n <= 6; n++) make([`solo${n}`], n);
  // Same properties, different orders: the more popular order names both.
  make(['x', 'y'], 30);
  make(['y', 'x'], 10);
  // Subsets and supersets: an object takes the matching definition with the most properties.
  make(['id', 'name'], 40);
  make(['id', 'name', 'email'], 20);
  make(['id', 'name', 'email', 'phone'], 2);
  // Long names: the interface name stops growing past 120 characters.
  const long = Array.from({ length: 12 }, (_, i) => `averyveryverylongpropertyname${i}`);
  make(long, 8);
  make([long[0] + long[1] + long[2] + long[3] + long[4]], 3); // one name longer than the limit
  // Property names that need quoting, and non-ASCII ones.
  make(['a,b', 'c"d', "e'f", '{g}'], 5);
  make(['größe', 'ñame', '名前', 'emoji😀'], 4);
  // No own properties apart from the prototype.
  for (let i = 0; i < 50; i++) keep.push(Object.create(null));
  for (let i = 0; i < 50; i++) keep.push({});
  // Objects with a prototype of their own.
  const proto = { greet() { return 1; } };
  make(['prototype'], 2, proto);
  make(['value'], 2);
  make(['value', 'done'], 7);
}

function mixed() {
  class Point { constructor(x, y) { this.x = x; this.y = y; } }
  class Tagged { constructor(t) { this.tag = t; this.meta = { created: 1, by: 'me' }; } }
  for (let i = 0; i < 300; i++) keep.push(new Point(i, i));
  for (let i = 0; i < 200; i++) keep.push(new Tagged(`t${i}`));
  // A long tail of shapes with 1..N properties, each repeated 1..5 times.
  let k = 0;
  for (let len = 1; len <= 8; len++) {
    for (let rep = 1; rep <= 5; rep++) {
      for (let s = 0; s < 6; s++) {
        const props = Array.from({ length: len }, (_, j) => `k${len}_${s}_${rep}_${j}`);
        make(props, rep);
        k++;
      }
    }
  }
  // Many plain objects of one shape, so plain objects / 1000 is well above 2.
  for (let i = 0; i < 4000; i++) keep.push({ row: i, col: -i });
  make(['prototype'], 2);
  make(['value'], 2);
  make(['value'], 3, null);
}

// Between 2 000 and 3 000 plain objects in all (Node's own included): the threshold is 2.x, so
// shapes held by exactly 2 objects are `Object` in DevTools (a rounded-down threshold named them).
function threshold() {
  // Small integers are no heap objects (no edge): the values are strings, so each property shows.
  for (let i = 0; i < 1800; i++) keep.push({ row: `r${i}`, col: 'c' });
  for (let n = 1; n <= 10; n++) {
    for (let i = 0; i < 2; i++) keep.push({ [`two${n}`]: 's' });
    for (let i = 0; i < 3; i++) keep.push({ [`three${n}`]: 's' });
  }
}

for (const v of variants) {
  keep.length = 0;
  ({ shapes, mixed, threshold })[v]();
  const file = path.join(out, `${v}.heapsnapshot`);
  v8.writeHeapSnapshot(file);
  console.log(`${file}: ${keep.length} objects kept`);
}
