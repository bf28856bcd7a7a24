#!/usr/bin/env node
// A lookup service in front of a real bounded cache from npm, for the leak and growth gates on
// heaps that such caches make: full, they keep evicting old entries and storing new ones, so
// at any snapshot many entries are new, and some of the target's are still there at the final.
// That turnover must not be called a leak; an unbounded side list must.
//   lru-cache    lru-cache 11 (`max: 1000`): a key map, and value, key and link lists of fixed
//                length, overwritten in place
//   quick-lru    quick-lru 7 (`maxSize: 1000`): two Maps; when the new one is full it becomes
//                the old one and a fresh Map starts
//   hashlru      hashlru 2 (`max 1000`): the same two generations, as null-prototype objects in
//                the closure's variables `cache` and `_cache`
//   tiny-lru     tiny-lru 11 (`max 1000`): a null-prototype object of linked entries; the oldest
//                entry is unlinked and deleted when a new one comes in
//   mnemonist    mnemonist 0.40 `LRUCache` (capacity 1000): a Map to slots, and key and value
//                arrays with typed-array links, overwritten in place
// Each unit of work is 100 lookups of keys drawn from 3,000 (deterministic); a miss builds the
// value (an object with a 20-element list and a 200-character string) and stores it.
//   --leak       every value built is also pushed to a module-level "audit" array
//   --seed N     another sequence of keys (so the cache's generations turn over at other times)
// Snapshots as scripts/scenario-steps.js takes them (trio: baseline, target, final; series:
// step1…step5), 20 units of work apart; in the trio, one more unit between target and final.
//
// usage: NODE_PATH=target/frameworks/node_modules \
//          node --expose-gc scripts/cache-scenario.js KIND OUT_DIR trio|series \
//          [--leak] [--seed N]
'use strict';
const fs = require('fs');
const path = require('path');
const v8 = require('v8');
const xorshift = require('./xorshift');
const { takeSnapshots } = require('./scenario-steps');

const kinds = ['lru-cache', 'quick-lru', 'hashlru', 'tiny-lru', 'mnemonist'];
const [kind, out, shape] = process.argv.slice(2);
const leak = process.argv.includes('--leak');
if (!kinds.includes(kind) || !out || !['trio', 'series'].includes(shape)) {
  process.stderr.write(`usage: cache-scenario.js ${kinds.join('|')} OUT_DIR trio|series [--leak]\n`);
  process.exit(2);
}
if (typeof global.gc !== 'function') {
  process.stderr.write('run with node --expose-gc\n');
  process.exit(2);
}

// quick-lru is an ES module: loaded with import(), from where NODE_PATH points.
async function makeCache() {
  if (kind === 'lru-cache') {
    const { LRUCache } = require('lru-cache');
    return new LRUCache({ max: 1000 });
  }
  if (kind === 'hashlru') {
    const cache = require('hashlru')(1000);
    let size = 0; // hashlru keeps no count of its own
    return { get: cache.get, set: (k, v) => { size += 1; cache.set(k, v); }, get size() { return size; } };
  }
  if (kind === 'tiny-lru') return require('tiny-lru').lru(1000);
  if (kind === 'mnemonist') return new (require('mnemonist/lru-cache'))(1000);
  const dir = (process.env.NODE_PATH || '').split(path.delimiter)
    .map((d) => path.resolve(d, 'quick-lru')).find((d) => fs.existsSync(d));
  if (!dir) throw new Error('quick-lru is not installed where NODE_PATH points');
  const { default: QuickLRU } = await import(path.join(dir, 'index.js'));
  return new QuickLRU({ maxSize: 1000 });
}

async function main() {
  fs.mkdirSync(out, { recursive: true });
  const cache = await makeCache();
  const at = process.argv.indexOf('--seed');
  const rand = xorshift(at > 0 ? Number(process.argv[at + 1]) : 0x2545f491);
  const audit = [];
  let hits = 0;
  let misses = 0;
  const lookup = (key) => {
    const found = cache.get(key);
    if (found) {
      hits += 1;
      return found;
    }
    misses += 1;
    const value = { key, list: new Array(20).fill(misses), text: `v${misses}`.padEnd(200, '.') };
    cache.set(key, value);
    if (leak) audit.push(value);
    return value;
  };
  const work = {
    run: (n) => {
      for (let i = 0; i < n * 100; i++) lookup(`k${rand(3000)}`);
    },
    grow: () => {},
    finish: () => `${kind}: ${cache.size} cached, ${hits} hits, ${misses} misses, ${audit.length} kept`,
  };
  await takeSnapshots({ shape, warmup: 20, grow: false, revert: 1 }, work, async (name) => {
    global.gc();
    global.gc();
    v8.writeHeapSnapshot(path.join(out, `${name}.heapsnapshot`));
  });
}

main().then(() => process.exit(0), (e) => { process.stderr.write(`${e.stack}\n`); process.exit(1); });
