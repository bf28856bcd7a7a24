// Debian's Chromium for the scripts that make heap snapshots of real pages: launched headless
// through puppeteer-core (never a downloaded browser), and a heap snapshot taken over the
// DevTools protocol, and a scenario's snapshots of a page served from 127.0.0.1. Used by
// make-browser-snapshot.js, onnx-scenario.js, tfjs-scenario.js and the UI scenarios (react-,
// vue- and components-scenario.js).
'use strict';
const fs = require('fs');
const http = require('http');
const os = require('os');
const path = require('path');
const puppeteer = require('puppeteer-core');
const { takeSnapshots } = require('./scenario-steps');

// Chromium at $CHROMIUM or /usr/bin/chromium, headless, no network of its own, with a fresh
// profile that `close()` removes.
async function launch() {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'heapsight-chromium-'));
  const browser = await puppeteer.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      `--user-data-dir=${profile}`],
  });
  return {
    browser,
    close: async () => {
      await browser.close();
      fs.rmSync(profile, { recursive: true, force: true });
    },
  };
}

// A heap snapshot's text, over `cdp` (a page's session with HeapProfiler enabled), after two
// full garbage collections: the first can leave objects that only finalizers or weak callbacks
// free. `options` go to HeapProfiler.takeHeapSnapshot (e.g. captureNumericValue).
async function snapshotText(cdp, options = {}) {
  const chunks = [];
  const onChunk = ({ chunk }) => chunks.push(chunk);
  cdp.on('HeapProfiler.addHeapSnapshotChunk', onChunk);
  await cdp.send('HeapProfiler.collectGarbage');
  await cdp.send('HeapProfiler.collectGarbage');
  await cdp.send('HeapProfiler.takeHeapSnapshot', { reportProgress: false, ...options });
  cdp.off('HeapProfiler.addHeapSnapshotChunk', onChunk);
  return chunks.join('');
}

// A scenario in a page: `serve(url)` gives the page's files ([content type, body], or null for
// 404), served on 127.0.0.1; `setup` runs in the page once it has loaded, with `setupArg`, and
// leaves the work object (run, grow, finish: see scenario-steps.js) at `window[name]`; then
// the scenario's snapshots (`steps`: shape, warmup, grow) are written to OUT_DIR.
async function snapshotsOfPage({ serve, setup, setupArg, name, steps, out }) {
  const server = http.createServer((req, res) => {
    const found = serve(req.url.split('?')[0]);
    if (!found) {
      res.writeHead(404);
      res.end();
      return;
    }
    res.writeHead(200, { 'content-type': found[0] });
    res.end(found[1]);
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const chromium = await launch();
  try {
    const page = await chromium.browser.newPage();
    page.on('pageerror', (e) => process.stderr.write(`page: ${e.message}\n`));
    await page.goto(`http://127.0.0.1:${server.address().port}/`, { waitUntil: 'load' });
    await page.evaluate(setup, setupArg);
    const cdp = await page.createCDPSession();
    await cdp.send('HeapProfiler.enable');
    const call = (method, n) => page.evaluate((w, m, k) => window[w][m](k), name, method, n);
    const work = { run: (n) => call('run', n), grow: () => call('grow'), finish: () => call('finish') };
    await takeSnapshots(steps, work, async (snap) => {
      fs.writeFileSync(path.join(out, `${snap}.heapsnapshot`), await snapshotText(cdp));
    });
    process.stdout.write(`${await chromium.browser.version()}\n`);
  } finally {
    await chromium.close();
    server.close();
  }
}

// Runs in the page: an event bus that a UI scenario's rows listen to (`on` returns the
// unsubscribe).
function makeBus() {
  return {
    listeners: [],
    on(f) {
      this.listeners.push(f);
      return () => {
        const i = this.listeners.indexOf(f);
        if (i >= 0) this.listeners.splice(i, 1);
      };
    },
    emit(x) { for (const f of this.listeners.slice()) f(x); },
  };
}

// A UI scenario's command line and run, the same for react-scenario.js, vue-scenario.js and
// components-scenario.js: `node SCRIPT OUT_DIR trio|series [FLAG]`, FLAG one of `flags`
// (`--leak-dom` reaches `setup` as `leakDom: true`); snapshots 20 units of work apart, with one
// unit between target and final (memlab's "back" action), so that the rows the target shows
// are no longer shown at the final. `/app.js` serves `makeApp` (and `makeBus`, above) as
// globals for the page to load; `serve` gives the page's other files. The app is `window.app`
// once `setup` has run.
function runUiScenario({ script, flags, makeApp, serve: serveFiles, setup }) {
  const app = `window.makeBus = ${makeBus.toString()};\nwindow.makeApp = ${makeApp.toString()};\n`;
  const serve = (url) => (url === '/app.js' ? ['text/javascript', app] : serveFiles(url));
  const [out, shape] = process.argv.slice(2);
  const camel = (f) => f.slice(2).replace(/-(.)/g, (_, c) => c.toUpperCase());
  const opts = Object.fromEntries(flags.map((f) => [camel(f), process.argv.includes(f)]));
  if (!out || !['trio', 'series'].includes(shape)) {
    process.stderr.write(`usage: node ${script} OUT_DIR trio|series [${flags.join('|')}]\n`);
    process.exit(2);
  }
  fs.mkdirSync(out, { recursive: true });
  snapshotsOfPage({
    serve,
    setup,
    setupArg: opts,
    name: 'app',
    steps: { shape, warmup: 20, grow: false, revert: 1 },
    out,
  }).then(() => process.exit(0), (e) => { process.stderr.write(`${e.stack}\n`); process.exit(1); });
}

module.exports = { launch, snapshotText, snapshotsOfPage, runUiScenario };
