#!/usr/bin/env node
// What a memlab user runs to get a class summary: load the snapshot with memlab (which computes
// dominators and retained sizes), then count objects, shallow and retained bytes per class
// name. For scripts/bench-vs-memlab.sh. Needs @memlab/heap-analysis on NODE_PATH.
// usage: node --max-old-space-size=16000 scripts/memlab-summary.js SNAPSHOT
'use strict';
const { getFullHeapFromFile } = require('@memlab/heap-analysis');

(async () => {
  const heap = await getFullHeapFromFile(process.argv[2]);
  const classes = new Map();
  heap.nodes.forEach((node) => {
    const row = classes.get(node.name) || { count: 0, shallow: 0, retained: 0 };
    row.count += 1;
    row.shallow += node.self_size;
    row.retained += node.retainedSize;
    classes.set(node.name, row);
  });
  console.log(`${heap.nodes.length} nodes, ${classes.size} classes`);
})();
