#!/usr/bin/env node
// Writes a large synthetic DHAT heap profile (dhat-rs layout) for benchmarks:
//   node scripts/make-big-dhat.js OUT.json [PROGRAM_POINTS=300000] [SHAPE=tree]
// SHAPE `tree`: the program's call paths form a random tree of 100 000 calls over 20 000
// functions (like a real program, whose distinct stacks are bounded by its structure); each
// program point allocates at one of them. SHAPE `walk`: stacks are random walks 8–48 deep with
// 40 callees per function, so nearly every stack is distinct below a few levels (a worst case
// for call trees). Deterministic (fixed seed).
"use strict";
const fs = require("fs");
const out = process.argv[2];
const count = Number(process.argv[3] || 300000);
const shape = process.argv[4] || "tree";
if (!out || !["tree", "walk"].includes(shape)) {
  console.error("usage: make-big-dhat.js OUT.json [PROGRAM_POINTS] [tree|walk]");
  process.exit(2);
}
const rand = require("./xorshift")(42);
const FUNCTIONS = 20000;
const CALLS = 100000;
// The `tree` shape's call paths: call i is made by call parent[i] and runs function fn[i].
const parent = new Int32Array(CALLS);
const fn = new Int32Array(CALLS);
fn[0] = 1;
for (let i = 1; i < CALLS; i++) {
  parent[i] = rand(i);
  fn[i] = 1 + rand(FUNCTIONS);
}
const stackOf = () => {
  const fs_ = [];
  if (shape === "tree") {
    // Allocating call first, as DHAT writes stacks.
    for (let c = rand(CALLS); ; c = parent[c]) {
      fs_.push(fn[c]);
      if (c === 0) break;
    }
    return fs_;
  }
  const depth = 8 + rand(41);
  let f = 1;
  for (let d = 0; d < depth; d++) {
    fs_.push(f);
    f = 1 + ((f * 31 + rand(d < 4 ? 3 : 40)) % FUNCTIONS);
  }
  return fs_.reverse();
};
const fd = fs.openSync(out, "w");
const w = (s) => fs.writeSync(fd, s);
w('{"dhatFileVersion":2,"mode":"rust-heap","verb":"Allocated","bklt":true,"bkacc":false,');
w('"tu":"µs","Mtu":"s","tuth":10,"cmd":"synthetic","pid":1,"tg":500000,"te":900000,\n"pps":[\n');
let chunk = [];
for (let i = 0; i < count; i++) {
  const blocks = 1 + rand(50);
  const bytes = blocks * (8 + rand(4096));
  const live = rand(3) === 0 ? blocks : 0;
  const leaked = rand(20) === 0 ? 1 : 0;
  chunk.push(
    `{"tb":${bytes},"tbk":${blocks},"tl":${blocks * (1 + rand(100000))},"mb":${bytes},"mbk":${blocks},` +
      `"gb":${live ? bytes : 0},"gbk":${live},"eb":${leaked ? bytes : 0},"ebk":${leaked ? blocks : 0},` +
      `"fs":[${stackOf().join(",")}]}`
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
