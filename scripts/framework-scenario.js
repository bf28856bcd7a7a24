#!/usr/bin/env node
// A JSON API on a real web framework (Express 4, Fastify 4 or Koa 2 with @koa/router), for the
// leak and growth gates on heaps made by real libraries. Needs the framework installed where
// NODE_PATH points (scripts/frameworks.sh does that under target/frameworks).
//
// usage: node --expose-gc scripts/framework-scenario.js express|fastify|koa trio|series OUT_DIR [--leak]
//   trio:   200 warm-up requests, baseline, 500 requests, target, final 50 ms later (no request
//           in between: the last request's leftovers are still there)
//   series: 200 warm-up requests, then step1 … step5 with 300 requests before each
// Every request makes an Order and keeps the last 50 in a Map (bounded); --leak also pushes
// every Order to a module-level array (the leak).
'use strict';
const fs = require('fs');
const http = require('http');
const path = require('path');
const v8 = require('v8');

const [framework, shape, outDir] = process.argv.slice(2);
const LEAK = process.argv.includes('--leak');
if (!['express', 'fastify', 'koa'].includes(framework) || !['trio', 'series'].includes(shape) ||
  !outDir) {
  process.stderr.write('usage: framework-scenario.js express|fastify|koa trio|series OUT_DIR [--leak]\n');
  process.exit(2);
}
if (typeof global.gc !== 'function') {
  process.stderr.write('run with node --expose-gc\n');
  process.exit(2);
}
fs.mkdirSync(outDir, { recursive: true });

class Order { constructor(body) { this.items = body; this.at = Date.now(); } }
const kept = [];
const recent = new Map();
function handle(body, id) {
  const order = new Order(body);
  if (LEAK) kept.push(order);
  recent.set(id % 50, order);
  return { ok: true };
}

async function start() {
  if (framework === 'express') {
    const express = require('express');
    const app = express();
    app.use(express.json());
    app.post('/orders/:id', (req, res) => res.json(handle(req.body, Number(req.params.id))));
    return new Promise((resolve) => { const s = app.listen(0, '127.0.0.1', () => resolve(s)); });
  }
  if (framework === 'fastify') {
    const app = require('fastify')();
    app.post('/orders/:id', async (req) => handle(req.body, Number(req.params.id)));
    await app.listen({ port: 0, host: '127.0.0.1' });
    return app.server;
  }
  const Koa = require('koa');
  const Router = require('@koa/router');
  const app = new Koa();
  const router = new Router();
  app.use(async (ctx, next) => {
    let text = '';
    for await (const chunk of ctx.req) text += chunk;
    ctx.request.body = JSON.parse(text || '{}');
    await next();
  });
  router.post('/orders/:id', (ctx) => { ctx.body = handle(ctx.request.body, Number(ctx.params.id)); });
  app.use(router.routes());
  return new Promise((resolve) => { const s = app.listen(0, '127.0.0.1', () => resolve(s)); });
}

function post(port, id) {
  return new Promise((resolve, reject) => {
    const req = http.request({ port, host: '127.0.0.1', method: 'POST', path: `/orders/${id}`,
      agent: false, headers: { 'content-type': 'application/json' } }, (res) => {
      res.resume();
      res.on('end', resolve);
    });
    req.on('error', reject);
    req.end(JSON.stringify({ sku: `sku-${id}`, quantity: id % 7 }));
  });
}

const pause = (ms) => new Promise((r) => setTimeout(r, ms));
function snapshot(name) {
  global.gc();
  v8.writeHeapSnapshot(path.join(outDir, `${name}.heapsnapshot`));
}

(async () => {
  const server = await start();
  const port = server.address().port;
  let id = 0;
  const requests = async (n) => { for (let i = 0; i < n; i++) await post(port, id++); };
  await requests(200);
  if (shape === 'trio') {
    await pause(50);
    snapshot('baseline');
    await requests(500);
    await pause(50);
    snapshot('target');
    await pause(50);
    snapshot('final');
  } else {
    for (let step = 1; step <= 5; step++) {
      await requests(300);
      await pause(30);
      snapshot(`step${step}`);
    }
  }
  console.log(`${outDir}: ${framework} ${shape}${LEAK ? ' (leaking)' : ''}, ${id} requests`);
  process.exit(0);
})().catch((e) => { console.error(e); process.exit(1); });
