#!/usr/bin/env node
// A big heap made by a real program: TypeScript's compiler type-checking its own library (every
// lib*.d.ts and typescript.js itself, as JavaScript with checkJs), the program and its
// diagnostics kept alive while the snapshot is written. With TypeScript 5.9 and Node 26: 573 MB,
// 5.0 M nodes, 28.6 M edges, about 20 s. Node 20 cannot write it (it spends tens of minutes in
// V8's Script::GetPositionInfo on typescript.js's closures): use Node 22 or later, for example
// target/node-versions/26/package/bin/node from scripts/node-versions.sh.
//
// usage: (cd target/frameworks && npm install typescript@5)
//        NODE_PATH=target/frameworks/node_modules node --max-old-space-size=6000 \
//          scripts/typescript-heap.js OUT.heapsnapshot
'use strict';
const fs = require('fs');
const path = require('path');
const v8 = require('v8');
const ts = require('typescript');

const out = process.argv[2];
if (!out) {
  process.stderr.write('usage: node scripts/typescript-heap.js OUT.heapsnapshot\n');
  process.exit(2);
}
const lib = path.dirname(require.resolve('typescript'));
const files = fs.readdirSync(lib).filter((f) => f.endsWith('.d.ts')).map((f) => path.join(lib, f));
files.push(path.join(lib, 'typescript.js'));
const program = ts.createProgram(files, {
  allowJs: true, checkJs: true, noEmit: true, target: ts.ScriptTarget.ES2022,
});
const diagnostics = ts.getPreEmitDiagnostics(program);
globalThis.kept = { program, diagnostics };
const heap = (process.memoryUsage().heapUsed / 1e6).toFixed(0);
process.stdout.write(`TypeScript ${ts.version}: ${files.length} files, ${diagnostics.length} diagnostics, `
  + `heap ${heap} MB\n`);
v8.writeHeapSnapshot(out);
