#!/usr/bin/env node
// A page of web components and iframes in Chromium, no library: for the leak and growth gates
// and the Detached DOM view on what the platform itself builds. Each unit of work replaces a
// row of 10 <x-card> custom elements (each with an open shadow root holding a <slot>, a
// <button> with a click listener and a <style>) and opens a same-origin <iframe>, reads its
// document and removes it.
//   clean          the removed cards and frames are let go
//   --leak         a "recently closed" list keeps every removed card (detached custom elements
//                  with their shadow trees)
//   --leak-frame   a list keeps every removed iframe's window (a detached window: its whole
//                  document and global object stay alive)
// Snapshots as scripts/scenario-steps.js takes them (trio: baseline, target, final; series:
// step1…step5), 20 units of work apart; in the trio, one more unit between target and final.
//
// usage: NODE_PATH=target/frameworks/node_modules \
//          node scripts/components-scenario.js OUT_DIR trio|series [--leak|--leak-frame]
// Needs puppeteer-core and Debian's chromium (or $CHROMIUM); scripts/frameworks.sh installs it.
'use strict';
const { runUiScenario } = require('./chromium');

// Runs in the page: the app, and what the driver calls between snapshots.
function makeApp(o) {
  class Card extends HTMLElement {
    constructor() {
      super();
      const root = this.attachShadow({ mode: 'open' });
      root.innerHTML = '<style>:host{display:inline-block}</style>'
        + '<div class="card"><slot></slot><button>open</button></div>';
      this.clicks = 0;
      root.querySelector('button').addEventListener('click', () => { this.clicks += 1; });
    }
  }
  customElements.define('x-card', Card);
  const recentlyClosed = [];
  const closedFrames = [];
  const row = document.createElement('div');
  document.body.append(row);
  let n = 0;
  const unit = () => new Promise((done) => {
    for (const card of row.children) if (o.leak) recentlyClosed.push(card);
    row.replaceChildren(...Array.from({ length: 10 }, () => {
      n += 1;
      const card = document.createElement('x-card');
      card.textContent = `card ${n}`;
      card.shadowRoot.querySelector('button').click();
      return card;
    }));
    const frame = document.createElement('iframe');
    frame.src = '/frame.html';
    frame.onload = () => {
      const w = frame.contentWindow;
      w.document.title = `frame ${n}`;
      frame.remove();
      if (o.leakFrame) closedFrames.push(w);
      done();
    };
    document.body.append(frame);
  });
  return {
    run: async (k) => {
      for (let i = 0; i < k; i++) await unit();
      return k;
    },
    grow: () => 0,
    finish: () => `${row.children.length} cards shown, ${recentlyClosed.length} kept, `
      + `${closedFrames.length} frame windows kept`,
  };
}

const page = '<!doctype html><html><head><meta charset="utf-8"><title>heapsight components'
  + ' scenario</title></head><body><script src="/app.js"></script></body></html>';
const frame = '<!doctype html><html><head><title>frame</title></head><body><ul>'
  + Array.from({ length: 50 }, (_, i) => `<li>item ${i}</li>`).join('')
  + '</ul><script>window.frameData = new Array(1000).fill(0).map((_, i) => ({ i }));</script>'
  + '</body></html>';
const serve = (url) => {
  if (url === '/') return ['text/html', page];
  if (url === '/frame.html') return ['text/html', frame];
  return null;
};

runUiScenario({
  makeApp,
  script: 'components-scenario.js',
  flags: ['--leak', '--leak-frame'],
  serve,
  setup: (o) => { window.app = window.makeApp(o); },
});
