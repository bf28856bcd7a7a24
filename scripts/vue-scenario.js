#!/usr/bin/env node
// A Vue 3 page in Chromium, for the leak and growth gates on heaps a second real UI library
// makes (scripts/react-scenario.js is the first): a table of 20 rows rendered afresh each unit
// of work (new keys, so every row unmounts and a new one mounts), a modal opened and closed
// every other unit, and an event bus the rows listen to. Vue keeps virtual nodes, component
// instances, reactive effects and the scheduler's queues; a clean run must not be called a
// leak for them.
//   clean        every row unsubscribes when it unmounts, and nothing else keeps a row
//   --leak       the rows never unsubscribe: the bus's listener list keeps a closure per
//                unmounted row, with the row's props (its item, a 50-element payload) and its
//                hit counter (a ref)
//   --leak-dom   a function ref keeps every row's <li> in a list: detached DOM, as a "last seen
//                rows" cache that is never cleared
// Snapshots as scripts/scenario-steps.js takes them (trio: baseline, target, final; series:
// step1…step5), 20 units of work apart; in the trio, one more unit between target and final
// (memlab's "back" action).
//
// usage: NODE_PATH=target/frameworks/node_modules \
//          node scripts/vue-scenario.js OUT_DIR trio|series [--leak|--leak-dom]
// Needs vue 3 (its global build is served from 127.0.0.1 with the page), puppeteer-core and
// Debian's chromium (or $CHROMIUM); scripts/frameworks.sh installs them.
'use strict';
const fs = require('fs');
const path = require('path');
const { runUiScenario } = require('./chromium');

// Runs in the page: the app, and what the driver calls between snapshots.
function makeApp(Vue, o) {
  const { h } = Vue;
  const bus = window.makeBus();
  const lastSeenRows = [];
  const Row = {
    props: ['item'],
    setup(props) {
      const hits = Vue.ref(0);
      let off = null;
      Vue.onMounted(() => {
        off = bus.on((id) => { if (id === props.item.id) hits.value += 1; });
      });
      Vue.onUnmounted(() => { if (!o.leak) off(); });
      const keep = (el) => { if (el && o.leakDom) lastSeenRows.push(el); };
      return () => h('li', { ref: keep, class: 'row', onClick: () => { hits.value += 1; } },
        [h('span', null, props.item.label), h('b', null, String(hits.value))]);
    },
  };
  const Table = {
    props: ['items'],
    setup: (p) => () => h('ul', { class: 'table' },
      p.items.map((it) => h(Row, { key: it.id, item: it }))),
  };
  const Modal = {
    props: ['open'],
    setup: (p) => () => (p.open
      ? h('div', { class: 'modal' }, [h('p', null, 'details'), h('button', null, 'close')])
      : null),
  };
  const state = Vue.shallowReactive({ page: 0, items: [] });
  const App = {
    setup: () => () => h('main', null, [h('h1', null, `page ${state.page}`),
      h(Table, { items: state.items }), h(Modal, { open: state.page % 2 === 1 })]),
  };
  Vue.createApp(App).mount('#root');
  let nextId = 0;
  const item = () => {
    nextId += 1;
    return { id: nextId, label: `item ${nextId}`, payload: new Array(50).fill(nextId) };
  };
  return {
    run: async (n) => {
      for (let i = 0; i < n; i++) {
        state.page += 1;
        state.items = Array.from({ length: 20 }, item);
        await Vue.nextTick();
        bus.emit(nextId);
        await Vue.nextTick();
      }
      return n;
    },
    grow: () => 0,
    finish: () => `Vue ${Vue.version}: ${bus.listeners.length} listeners, `
      + `${document.querySelectorAll('li.row').length} rows shown, ${lastSeenRows.length} kept`,
  };
}

const vue = path.join(path.dirname(require.resolve('vue/package.json')), 'dist',
  'vue.runtime.global.prod.js');
const page = '<!doctype html><html><head><meta charset="utf-8"><title>heapsight Vue scenario'
  + '</title></head><body><div id="root"></div><script src="/vue.js"></script>'
  + '<script src="/app.js"></script></body></html>';
const serve = (url) => {
  if (url === '/') return ['text/html', page];
  if (url === '/vue.js') return ['text/javascript', fs.readFileSync(vue, 'utf8')];
  return null;
};

runUiScenario({
  makeApp,
  script: 'vue-scenario.js',
  flags: ['--leak', '--leak-dom'],
  serve,
  setup: (o) => { window.app = window.makeApp(window.Vue, o); },
});
