#!/usr/bin/env node
// Writes a large synthetic DHAT heap profile (dhat-rs layout) for benchmarks:
//   node scripts/make-big-dhat.js OUT.json [PROGRAM_POINTS=300000]
// Stacks are random walks through a call graph of 20 000 functions (depth 8–48), so call trees
// share prefixes the way real programs do. Deterministic (fixed seed).
"use strict";
const fs = require("fs");
const out = process.argv[2];
const count = Number(process.argv[3] || 300000);
if (!out) {
  console.error("usage: make-big-dhat.js OUT.json [PROGRAM_POINTS]");
  process.exit(2);
}
// xorshift32: exact in JavaScript's 32-bit integer ops.
let seed = 42;
const rand = (n) => {
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return (seed >>> 0) % n;
};
const FUNCTIONS = 20000;
const fd = fs.openSync(out, "w");
const w = (s) => fs.writeSync(fd, s);
w('{"dhatFileVersion":2,"mode":"rust-heap","verb":"Allocated","bklt":true,"bkacc":false,');
w('"tu":"µs","Mtu":"s","tuth":10,"cmd":"synthetic","pid":1,"tg":500000,"te":900000,\n"pps":[\n');
let chunk = [];
for (let i = 0; i < count; i++) {
  const depth = 8 + rand(41);
  // The outermost frames are shared (main, a few dispatchers); deeper ones spread out.
  const fs_ = [];
  let f = 1;
  for (let d = 0; d < depth; d++) {
    fs_.push(f);
    f = 1 + ((f * 31 + rand(d < 4 ? 3 : 40)) % FUNCTIONS);
  }
  fs_.reverse(); // DHAT lists the allocating frame first.
  const blocks = 1 + rand(50);
  const bytes = blocks * (8 + rand(4096));
  const live = rand(3) === 0 ? blocks : 0;
  const leaked = rand(20) === 0 ? 1 : 0;
  chunk.push(
    `{"tb":${bytes},"tbk":${blocks},"tl":${blocks * (1 + rand(100000))},"mb":${bytes},"mbk":${blocks},` +
      `"gb":${live ? bytes : 0},"gbk":${live},"eb":${leaked ? bytes : 0},"ebk":${leaked ? blocks : 0},` +
      `"fs":[${fs_.join(",")}]}`
  );
  if (chunk.length === 10000 || i === count - 1) {
    w(chunk.join(",\n") + (i === count - 1 ? "\n" : ",\n"));
    chunk = [];
  }
}
w('],\n"ftbl":["[root]"');
for (let f = 1; f <= FUNCTIONS; f++) {
  w(`,\n"0x${(0x10000 + f * 16).toString(16)}: synthetic::module${f % 97}::function_${f} (src/m${f % 97}.rs:${f % 500}:5)"`);
}
w("]\n}\n");
fs.closeSync(fd);
