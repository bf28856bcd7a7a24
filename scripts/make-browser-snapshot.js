#!/usr/bin/env node
// A small, deterministic detached-DOM leak in a real browser page, for heapsight's tests.
// Drives Debian's Chromium (/usr/bin/chromium, headless, no network) with puppeteer-core and
// takes three heap snapshots through the DevTools protocol.
//
// usage: NODE_PATH=~/.cache/heapsight-browser/node_modules \
//          node scripts/make-browser-snapshot.js [OUT_DIR]
//        OUT_DIR defaults to sample-snapshots/browser-detached. Needs puppeteer-core (no browser
//        download): PUPPETEER_SKIP_DOWNLOAD=1 npm install --ignore-scripts puppeteer-core
//        in that scratch directory, and `apt-get install chromium`. CHROMIUM overrides the path.
//
// Snapshots written (counts are in OUT_DIR/expected.json):
//   baseline.heapsnapshot  the page has loaded; nothing leaked yet
//   target.heapsnapshot    after "leak": a <ul> with 200 <li class="row"> was built in the
//                          document, then removed from it while window.leakedRows still points to
//                          it (detached DOM); 100 LeakyListener in window.leakyListeners; and 300
//                          ScratchEntry in window.scratchCache (not a leak)
//   final.heapsnapshot     after "revert": the scratch cache is cleared; the leak stays
// Files over 5 MB are stored as .gz only.
//
// With --tree [OUT_DIR] (default sample-snapshots/browser-detached-tree) it writes one snapshot,
// tree.heapsnapshot, of a page whose detached DOM trees JS holds only by their leaves:
//   - <ul class="leaky-list"> with 500 <li>, each with a <button> and a text node;
//     LeakyCache keeps the rows in `rows` and a click handler per button in `handlers`, nothing
//     keeps the <ul> itself;
//   - <div class="panel"> > <section> > <ul class="inner"> (only children) with 20 <li>,
//     kept by one of its <li> in window.lastItem.
//
// With --clean [OUT_DIR] (default sample-snapshots/browser-clean) the page is used correctly:
// baseline; a list of 200 <li> built, clicked and removed with its listeners, and browser APIs
// (observers, fetch, performance, crypto, URL, navigator, fonts…) touched for the first time;
// target; final 50 ms later. Nothing leaks.
//
// With --wasm [OUT_DIR] (default sample-snapshots/browser-wasm) the page runs the WebAssembly
// training loop of fixtures/wasm/training.js over fixtures/wasm/arena.wasm (the module
// scripts/make-wasm-scenario.js builds with wat2wasm) and takes step1..step3.heapsnapshot, one
// after each training step, with numeric values (`captureNumericValue`); OUT_DIR/expected.json
// holds what the page reported after each step, in the same shape as the Node scenario's.
'use strict';
const fs = require('fs');
const path = require('path');
const zlib = require('zlib');
const { launch, snapshotText } = require('./chromium');

const ROWS = 200;
const LISTENERS = 100;
const SCRATCH = 300;
const GZIP_OVER = 5000000;
const TREE_ROWS = 500;

// The --tree page: two detached trees held by their leaves only.
const TREE_PAGE = `<!doctype html>
<html><head><meta charset="utf-8"><title>heapsight detached-tree sample</title></head>
<body><div id="app"></div>
<script>
class LeakyCache {
  constructor() { this.rows = []; this.handlers = []; }
}
window.cache = new LeakyCache();
window.lastItem = null;
window.leakTree = function () {
  const app = document.getElementById('app');
  const ul = document.createElement('ul');
  ul.className = 'leaky-list';
  for (let i = 0; i < ${TREE_ROWS}; i++) {
    const li = document.createElement('li');
    const button = document.createElement('button');
    button.textContent = 'open ' + i;
    const onClick = () => { button.dataset.clicked = '1'; };
    button.addEventListener('click', onClick);
    li.appendChild(button);
    li.appendChild(document.createTextNode(' row ' + i));
    ul.appendChild(li);
    window.cache.rows.push(li);
    window.cache.handlers.push(onClick);
  }
  app.appendChild(ul);
  ul.remove();
  const panel = document.createElement('div');
  panel.className = 'panel';
  const section = document.createElement('section');
  const inner = document.createElement('ul');
  inner.className = 'inner';
  for (let i = 0; i < 20; i++) {
    const li = document.createElement('li');
    li.textContent = 'item ' + i;
    inner.appendChild(li);
  }
  section.appendChild(inner);
  panel.appendChild(section);
  app.appendChild(panel);
  panel.remove();
  window.lastItem = inner.lastElementChild;
  return ul.children.length;
};
</script>
</body></html>`;

// The page. Everything it does is driven from here with page.evaluate, so the snapshots are
// taken between actions, never during one.
const PAGE = `<!doctype html>
<html><head><meta charset="utf-8"><title>heapsight detached-DOM sample</title></head>
<body>
<h1>heapsight sample</h1>
<div id="app"><p id="status">idle</p></div>
<script>
class LeakyListener {
  constructor(index) {
    this.index = index;
    this.calls = 0;
    this.onEvent = () => { this.calls++; };
  }
}
class ScratchEntry {
  constructor(key) { this.key = key; this.value = { key, hits: 0 }; }
}
window.leakedRows = null;
window.leakyListeners = [];
window.scratchCache = new Map();

// --clean: a page used correctly. The list is built, clicked and removed with its listeners,
// and browser APIs are touched for the first time (Blink makes their interface objects then).
window.useApis = async function () {
  const app = document.getElementById('app');
  const ul = document.createElement('ul');
  const handlers = [];
  for (let i = 0; i < ${ROWS}; i++) {
    const li = document.createElement('li');
    li.textContent = 'row ' + i;
    const onClick = () => { li.dataset.clicked = '1'; };
    li.addEventListener('click', onClick);
    handlers.push([li, onClick]);
    ul.appendChild(li);
    li.click();
  }
  app.appendChild(ul);
  performance.mark('m'); performance.clearMarks();
  const io = new IntersectionObserver(() => {}); io.observe(ul); io.disconnect();
  const mo = new MutationObserver(() => {}); mo.observe(app, { childList: true }); mo.disconnect();
  const ro = new ResizeObserver(() => {}); ro.observe(ul); ro.disconnect();
  await new Promise((r) => requestAnimationFrame(r));
  await (await fetch('data:text/plain,hello')).text();
  new TextEncoder().encode('x');
  new URL('https://example.test/a?b=1').searchParams.get('b');
  crypto.getRandomValues(new Uint8Array(4));
  new AbortController().abort();
  structuredClone({ a: 1 });
  const sizes = [navigator.userAgent.length, screen.width, history.length, new Blob(['x']).size,
    document.fonts.size, matchMedia('(min-width: 1px)').matches, getComputedStyle(ul).color];
  for (const [li, onClick] of handlers) li.removeEventListener('click', onClick);
  ul.remove();
  return sizes.length ? ${ROWS} : 0;
};

// Build the list in the document, then take it out again but keep a reference: a detached
// DOM tree of 1 <ul>, ${ROWS} <li class="row"> and their ${ROWS} text nodes.
window.leak = function () {
  const app = document.getElementById('app');
  const ul = document.createElement('ul');
  ul.id = 'rows';
  for (let i = 0; i < ${ROWS}; i++) {
    const li = document.createElement('li');
    li.className = 'row';
    li.textContent = 'row ' + i;
    ul.appendChild(li);
  }
  app.appendChild(ul);
  document.getElementById('status').textContent = 'rows: ' + ul.children.length;
  ul.remove();
  window.leakedRows = ul;
  for (let i = 0; i < ${LISTENERS}; i++) window.leakyListeners.push(new LeakyListener(i));
  for (let i = 0; i < ${SCRATCH}; i++) window.scratchCache.set('k' + i, new ScratchEntry('k' + i));
  return ul.children.length;
};

// Clear something unrelated to the leak.
window.revert = function () {
  window.scratchCache.clear();
  document.getElementById('status').textContent = 'reverted';
};
</script>
</body></html>`;

// The --wasm page: the module's bytes and the training loop, inline (setContent has no origin
// to fetch from).
function wasmPage() {
  const root = path.join(__dirname, '..');
  const wasm = fs.readFileSync(path.join(root, 'fixtures', 'wasm', 'arena.wasm')).toString('base64');
  const training = fs.readFileSync(path.join(root, 'fixtures', 'wasm', 'training.js'), 'utf8');
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>heapsight WASM training sample</title></head>
<body><p>training</p>
<script>${training}</script>
<script>
const bytes = Uint8Array.from(atob('${wasm}'), (c) => c.charCodeAt(0));
window.wasmInstance = new WebAssembly.Instance(new WebAssembly.Module(bytes), {});
window.trainer = window.startTraining(window.wasmInstance);
</script>
</body></html>`;
}

async function wasmSeries(page, cdp, outDir, version) {
  const steps = [];
  for (let step = 1; step <= 3; step++) {
    const facts = await page.evaluate(() => window.trainer.runStep());
    const file = await takeSnapshot(cdp, path.join(outDir, `step${step}.heapsnapshot`),
      { captureNumericValue: true });
    steps.push({ file: path.basename(file), ...facts });
  }
  const shapes = await page.evaluate(() => window.trainer.shapes);
  fs.writeFileSync(path.join(outDir, 'expected.json'), JSON.stringify({
    description: `scripts/make-browser-snapshot.js --wasm on ${version}: fixtures/wasm/training.js ` +
      'over fixtures/wasm/arena.wasm, one snapshot after each training step (numeric values captured)',
    steps,
    shapes,
  }, null, 2) + '\n');
  return steps.map((s) => path.join(outDir, s.file));
}

async function takeSnapshot(cdp, file, options = {}) {
  const text = await snapshotText(cdp, options);
  for (const stale of [file, file + '.gz']) fs.rmSync(stale, { force: true });
  if (Buffer.byteLength(text) > GZIP_OVER) {
    fs.writeFileSync(file + '.gz', zlib.gzipSync(text, { level: 9 }));
    return file + '.gz';
  }
  fs.writeFileSync(file, text);
  return file;
}

(async () => {
  const mode = ['--tree', '--wasm', '--clean'].includes(process.argv[2]) ? process.argv[2] : '';
  const tree = mode === '--tree';
  const args = process.argv.slice(mode ? 3 : 2);
  const defaultDir = { '--tree': 'browser-detached-tree', '--wasm': 'browser-wasm',
    '--clean': 'browser-clean' }[mode] ||
    'browser-detached';
  const outDir = args[0] || path.join('sample-snapshots', defaultDir);
  fs.mkdirSync(outDir, { recursive: true });
  const chromium = await launch();
  const { browser } = chromium;
  try {
    const page = await browser.newPage();
    const content = { '--tree': TREE_PAGE, '--wasm': mode === '--wasm' ? wasmPage() : '' }[mode];
    await page.setContent(content || PAGE, { waitUntil: 'load' });
    const cdp = await page.createCDPSession();
    await cdp.send('HeapProfiler.enable');
    const written = [];
    if (mode === '--wasm') {
      const version = await browser.version();
      written.push(...await wasmSeries(page, cdp, outDir, version));
      console.log(`${version}: wrote ${written.join(', ')}`);
      return;
    }
    if (tree) {
      const rows = await page.evaluate(() => window.leakTree());
      if (rows !== TREE_ROWS) throw new Error(`expected ${TREE_ROWS} rows, the page made ${rows}`);
      written.push(await takeSnapshot(cdp, path.join(outDir, 'tree.heapsnapshot')));
      console.log(`${await browser.version()}: wrote ${written.join(', ')}`);
      return;
    }
    if (mode === '--clean') {
      written.push(await takeSnapshot(cdp, path.join(outDir, 'baseline.heapsnapshot')));
      const rows = await page.evaluate(() => window.useApis());
      if (rows !== ROWS) throw new Error(`expected ${ROWS} rows, the page made ${rows}`);
      written.push(await takeSnapshot(cdp, path.join(outDir, 'target.heapsnapshot')));
      await page.evaluate(() => new Promise((r) => setTimeout(r, 50)));
      written.push(await takeSnapshot(cdp, path.join(outDir, 'final.heapsnapshot')));
      const version = await browser.version();
      fs.writeFileSync(path.join(outDir, 'expected.json'), JSON.stringify({
        description: 'scripts/make-browser-snapshot.js --clean: nothing of the page leaks',
        browser: version,
        leaks: {},
      }, null, 2) + '\n');
      console.log(`${version}: wrote ${written.join(', ')}`);
      return;
    }
    written.push(await takeSnapshot(cdp, path.join(outDir, 'baseline.heapsnapshot')));
    const rows = await page.evaluate(() => window.leak());
    if (rows !== ROWS) throw new Error(`expected ${ROWS} rows, the page made ${rows}`);
    written.push(await takeSnapshot(cdp, path.join(outDir, 'target.heapsnapshot')));
    await page.evaluate(() => window.revert());
    written.push(await takeSnapshot(cdp, path.join(outDir, 'final.heapsnapshot')));
    const version = await browser.version();

    // Chromium 156 merges each DOM node and its JS wrapper into one "native" node named like
    // the start tag with its id and class: '<ul id="rows">', '<li class="row">'. Blink marks
    // elements' detachedness (1 attached, 2 detached) but leaves text nodes ("Text") at 0.
    const detached = { '<ul id="rows">': 1, '<li class="row">': ROWS };
    const none = { '<ul id="rows">': 0, '<li class="row">': 0 };
    const expected = {
      description: 'What scripts/make-browser-snapshot.js leaves alive in each snapshot',
      browser: version,
      rules: {
        classes: 'count of nodes with type "object" whose name is the class name (scripts/count-classes.js)',
        detached: 'count of nodes with type "native", detachedness 2 and exactly this name',
      },
      notes: 'The detached tree is the <ul id="rows">, its 200 <li class="row"> and their 200 text ' +
        'nodes, kept by window.leakedRows. The text nodes are native "Text" nodes with detachedness ' +
        '0 (unknown): Blink does not mark them, so they are not counted as detached. ' +
        'ScratchEntry fills in "leak" and is cleared by "revert".',
      baseline: { classes: { LeakyListener: 0, ScratchEntry: 0 }, detached: none },
      target: { classes: { LeakyListener: LISTENERS, ScratchEntry: SCRATCH }, detached },
      final: { classes: { LeakyListener: LISTENERS, ScratchEntry: 0 }, detached },
    };
    fs.writeFileSync(path.join(outDir, 'expected.json'), JSON.stringify(expected, null, 2) + '\n');
    console.log(`${version}: wrote ${written.join(', ')}`);
  } finally {
    await chromium.close();
  }
})().catch((e) => { console.error(e); process.exit(1); });
