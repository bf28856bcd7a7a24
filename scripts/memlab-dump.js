#!/usr/bin/env node
// memlab's per-node view of a V8 heap snapshot, one TSV row per node (the oracle for
// scripts/check-vs-memlab.sh). Needs @memlab/heap-analysis on NODE_PATH; gunzips .gz input.
// usage: node --max-old-space-size=16000 scripts/memlab-dump.js SNAPSHOT[.gz] OUT.tsv
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const zlib = require('zlib');
const { getFullHeapFromFile } = require('@memlab/heap-analysis');

(async () => {
  let [file, out] = process.argv.slice(2);
  if (file.endsWith('.gz')) {
    const plain = path.join(os.tmpdir(), `memlab-${process.pid}.heapsnapshot`);
    fs.writeFileSync(plain, zlib.gunzipSync(fs.readFileSync(file)));
    file = plain;
  }
  const heap = await getFullHeapFromFile(file);
  const rows = ['id\ttype\tname\tself_size\tretained_size\tdominator_id'];
  heap.nodes.forEach((node) => {
    const name = String(node.name).replace(/[\t\n\r]/g, ' ').slice(0, 80);
    const dom = node.dominatorNode ? node.dominatorNode.id : '';
    rows.push(`${node.id}\t${node.type}\t${name}\t${node.self_size}\t${node.retainedSize}\t${dom}`);
  });
  fs.writeFileSync(out, rows.join('\n') + '\n');
})();
