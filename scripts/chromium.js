// Debian's Chromium for the scripts that make heap snapshots of real pages: launched headless
// through puppeteer-core (never a downloaded browser), and a heap snapshot taken over the
// DevTools protocol. Used by make-browser-snapshot.js and onnx-scenario.js.
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const puppeteer = require('puppeteer-core');

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

module.exports = { launch, snapshotText };
