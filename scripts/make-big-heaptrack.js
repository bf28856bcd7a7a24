#!/usr/bin/env node
// Writes a large synthetic heaptrack data file (format version 3, uncompressed) for benchmarks:
//   node scripts/make-big-heaptrack.js OUT [EVENTS=10000000] && zstd -q --rm OUT
// The program's call paths form a random tree of 100 000 calls over 20 000 functions; 300 000
// allocation infos (size, call path) are allocated EVENTS times: half freed right away
// (temporary), the rest freed later, some never (leaked). Deterministic (fixed seed).
"use strict";
const fs = require("fs");
const out = process.argv[2];
const events = Number(process.argv[3] || 10000000);
if (!out) {
  console.error("usage: make-big-heaptrack.js OUT [EVENTS]");
  process.exit(2);
}
const rand = require("./xorshift")(7);
const FUNCTIONS = 20000;
const FILES = 200;
const CALLS = 100000;
const INFOS = 300000;
const fd = fs.openSync(out, "w");
let buf = [];
let bufLen = 0;
const w = (line) => {
  buf.push(line);
  bufLen += line.length + 1;
  if (bufLen > 1 << 20) flush();
};
const flush = () => {
  fs.writeSync(fd, buf.join("\n") + "\n");
  buf = [];
  bufLen = 0;
};
const hex = (n) => n.toString(16);
const str = (s) => w(`s ${hex(Buffer.byteLength(s))} ${s}`);
w("v 10400 3");
w("X /usr/bin/synthetic --big");
// Strings are numbered from 1 in the order written: the module, functions, then files.
str("/usr/bin/synthetic");
for (let f = 0; f < FUNCTIONS; f++) str(`synthetic::module${f % 97}::function_${f}`);
for (let f = 0; f < FILES; f++) str(`src/m${f}.rs`);
const fnString = (f) => 2 + f;
const fileString = (f) => 2 + FUNCTIONS + f;
// One instruction pointer and one trace per call; call c is made by call parent(c) < c.
for (let c = 0; c < CALLS; c++) {
  const fn = rand(FUNCTIONS);
  w(`i ${hex(0x400000 + c * 16)} 1 ${hex(fnString(fn))} ${hex(fileString(fn % FILES))} ${hex(1 + rand(900))}`);
  w(`t ${hex(c + 1)} ${hex(c === 0 ? 0 : 1 + rand(c))}`);
}
for (let a = 0; a < INFOS; a++) {
  w(`a ${hex(8 + rand(4096))} ${hex(1 + rand(CALLS))}`);
}
const live = [];
let time = 0;
for (let e = 0; e < events; e++) {
  const info = rand(INFOS);
  w(`+ ${hex(info)}`);
  const fate = rand(100);
  if (fate < 50) {
    w(`- ${hex(info)}`); // temporary
  } else if (fate < 99) {
    live.push(info);
  } // else leaked: never freed
  if (live.length > 20000 || (live.length > 0 && rand(2) === 0)) {
    const k = rand(live.length);
    w(`- ${hex(live[k])}`);
    live[k] = live[live.length - 1];
    live.pop();
  }
  if (e % 10000 === 0) {
    time += 1 + rand(5);
    w(`c ${hex(time)}`);
  }
}
// What is still live at the end was leaked too.
flush();
fs.closeSync(fd);
