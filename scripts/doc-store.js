// The "document store" heap of `make-big-snapshot.js --shape docstore`: a shape whose dominator
// search is much harder than big-store.js's rings. 2 M documents at scale 1 (≈20 M nodes,
// ≈64 M edges), each held by one big array, by a global Map keyed by title and by its author's
// list; every document points back at its author (author↔document cycles) and at one earlier
// document picked at random (long, criss-crossing DFS paths); 4 000 Float32Array(1024) buffers
// hang off the authors.
'use strict';
const xorshift = require('./xorshift');

// Per document, in snapshot terms (see big-store.js for how V8 counts):
//   Document       1 node, 9 edges (title, author, prev, tags, meta, summary, score,
//                  __proto__, map)
//   title string   1 node, 1 edge; summary cons string 1 node, 3 edges (first, second, map)
//   tags JSArray   1 node, 3 edges + its FixedArray; meta 1 node, 3 edges + words array, 2 nodes
//   score          a HeapNumber, 1 node, 1 edge
//   containers     4 edges into it (array slot, Map key + value, author's list)
class Document {
  constructor(id, title, author, prev) {
    this.id = id;
    this.title = title;
    this.author = author;
    this.prev = prev;
    this.tags = [id & 7, id & 15, id & 31];
    this.meta = { words: [id & 63, id & 127] };
    this.summary = title + SUFFIX;
    this.score = id + 0.5;
  }
}
const SUFFIX = ': a document of the benchmark store, long enough to make a cons string';

class Author {
  constructor(id) {
    this.name = ['author', id].join('-');
    this.docs = [];
    this.buffer = null;
  }
}

/// Build the store: 2 000 000 × scale documents, 20 per author, 4 000 × scale buffers.
function buildDocStore(scale) {
  const count = Math.round(2000000 * scale);
  const rand = xorshift(0x9e3779b9);
  const authors = [];
  for (let a = 0; a < Math.ceil(count / 20); a++) authors.push(new Author(a));
  for (let b = 0; b < Math.round(4000 * scale); b++) {
    authors[(b * 7919) % authors.length].buffer = new Float32Array(1024);
  }
  const docs = [];
  const byTitle = new Map();
  for (let i = 0; i < count; i++) {
    const author = authors[rand(authors.length)];
    const prev = i === 0 ? null : docs[rand(i)];
    const title = ['doc', i, 'title'].join('-');
    const doc = new Document(i, title, author, prev);
    docs.push(doc);
    byTitle.set(title, doc);
    author.docs.push(doc);
  }
  return { docs, byTitle, authors, records: count };
}

module.exports = { buildDocStore };
