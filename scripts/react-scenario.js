#!/usr/bin/env node
// A React 18 page in Chromium, for the leak and growth gates on heaps a real UI library makes:
// a table of 20 rows rendered afresh each unit of work (new keys, so every row unmounts and a
// new one mounts), a modal opened and closed every other unit, and an event bus the rows
// listen to. React keeps fibers, their alternates, update queues and the root's bookkeeping; a
// clean run must not be called a leak for them.
//   clean        every row's effect returns its unsubscribe, and nothing else keeps a row
//   --leak       the rows' effects never unsubscribe: the bus's listener list keeps a closure
//                per unmounted row, with the row's item (a 50-element payload) and its state
//                setter (its fiber)
//   --leak-dom   a ref callback keeps every row's <li> in a list: detached DOM, as a "last seen
//                rows" cache that is never cleared
// Snapshots as scripts/scenario-steps.js takes them (trio: baseline, target, final; series:
// step1…step5), 20 units of work apart; in the trio, one more unit between target and final
// (memlab's "back" action), so that the rows the target shows are no longer shown at the final.
//
// usage: NODE_PATH=target/frameworks/node_modules \
//          node scripts/react-scenario.js OUT_DIR trio|series [--leak|--leak-dom]
// Needs react and react-dom, 18 or 19 (served from 127.0.0.1 with the page), puppeteer-core and
// Debian's chromium (or $CHROMIUM); scripts/frameworks.sh installs React 18 and the rest.
'use strict';
const fs = require('fs');
const path = require('path');
const { runUiScenario } = require('./chromium');

// Runs in the page: the app, and what the driver calls between snapshots.
function makeApp(React, ReactDOM, o) {
  const h = React.createElement;
  const bus = window.makeBus();
  const lastSeenRows = [];
  function Row({ item }) {
    const [hits, setHits] = React.useState(0);
    React.useEffect(() => {
      const off = bus.on((id) => { if (id === item.id) setHits((n) => n + 1); });
      return o.leak ? undefined : off;
    }, [item.id]);
    const keep = React.useCallback((el) => { if (el && o.leakDom) lastSeenRows.push(el); }, []);
    return h('li', { ref: keep, className: 'row', onClick: () => setHits(hits + 1) },
      h('span', null, item.label), h('b', null, String(hits)));
  }
  const Table = ({ items }) => h('ul', { className: 'table' },
    items.map((it) => h(Row, { key: it.id, item: it })));
  const Modal = ({ open }) => (open
    ? h('div', { className: 'modal' }, h('p', null, 'details'), h('button', null, 'close'))
    : null);
  const App = ({ page, items }) => h('main', null, h('h1', null, `page ${page}`),
    h(Table, { items }), h(Modal, { open: page % 2 === 1 }));
  const root = ReactDOM.createRoot(document.getElementById('root'));
  let page = 0;
  let nextId = 0;
  const item = () => {
    nextId += 1;
    return { id: nextId, label: `item ${nextId}`, payload: new Array(50).fill(nextId) };
  };
  return {
    run: (n) => {
      for (let i = 0; i < n; i++) {
        page += 1;
        const items = Array.from({ length: 20 }, item);
        ReactDOM.flushSync(() => root.render(h(App, { page, items })));
        bus.emit(nextId);
      }
      return n;
    },
    grow: () => 0,
    finish: () => `React ${React.version}: ${bus.listeners.length} listeners, `
      + `${document.querySelectorAll('li.row').length} rows shown, ${lastSeenRows.length} kept`,
  };
}

// React 18 ships UMD builds, served as they are. React 19 ships CommonJS only: each module is
// served wrapped in a function that gets `module`, `exports` and a `require` of the modules
// served before it.
const dir = (pkg) => path.dirname(require.resolve(`${pkg}/package.json`));
const umd = fs.existsSync(path.join(dir('react'), 'umd'));
const modules = umd
  ? [['/react.js', path.join(dir('react'), 'umd', 'react.production.min.js')],
    ['/react-dom.js', path.join(dir('react-dom'), 'umd', 'react-dom.production.min.js')]]
  : [['react', path.join(dir('react'), 'cjs', 'react.production.js')],
    ['scheduler', path.join(dir('scheduler'), 'cjs', 'scheduler.production.js')],
    ['react-dom', path.join(dir('react-dom'), 'cjs', 'react-dom.production.js')],
    ['react-dom/client', path.join(dir('react-dom'), 'cjs', 'react-dom-client.production.js')]];
const script = (i) => `/module${i}.js`;
const loader = umd ? '' : '<script>window.process = { env: { NODE_ENV: "production" } };'
  + 'window.modules = {}; window.define = (name, body) => { const module = { exports: {} };'
  + ' body(module, module.exports, (n) => window.modules[n]); window.modules[name] = module.exports; };'
  + '</script>';
const globals = umd ? '' : '<script>window.React = window.modules.react; window.ReactDOM = '
  + 'Object.assign({}, window.modules["react-dom"], window.modules["react-dom/client"]);</script>';
const page = '<!doctype html><html><head><meta charset="utf-8"><title>heapsight React scenario'
  + `</title></head><body><div id="root"></div>${loader}`
  + modules.map((_, i) => `<script src="${script(i)}"></script>`).join('')
  + `${globals}<script src="/app.js"></script></body></html>`;
const serve = (url) => {
  if (url === '/') return ['text/html', page];
  const i = modules.findIndex((_, k) => script(k) === url);
  if (i < 0) return null;
  const [name, file] = modules[i];
  const body = fs.readFileSync(file, 'utf8');
  return ['text/javascript', umd ? body
    : `window.define(${JSON.stringify(name)}, function (module, exports, require) {\n${body}\n});\n`];
};

runUiScenario({
  makeApp,
  script: 'react-scenario.js',
  flags: ['--leak', '--leak-dom'],
  serve,
  setup: (o) => { window.app = window.makeApp(window.React, window.ReactDOM, o); },
});
