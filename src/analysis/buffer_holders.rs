//! Who holds the large `ArrayBuffer` backing stores ("tensors"): each store goes to the
//! nearest user-level object on its dominator chain (a class such as `ActivationCache`, a
//! `Map`, a closure), with the typed-array shapes that view them (`Float32Array(16384)` × 12)
//! and, when same-size buffers sit in one array, the pool they form.
//!
//! A store is counted once however many views share it. Node and Chromium snapshots record
//! neither a view's offset nor its length, so a view's length is the store's bytes divided by
//! its element size when it is the store's only view (the common `new Float32Array(n)`), and
//! unknown when several views share the store.

use std::collections::HashMap;

use serde::Serialize;

use super::detached::{path_text, PathText};
use super::retainers::ShownPaths;
use super::AnalyzedSnapshot;
use crate::model::v8_rules::{
    backing_store_owner, buffer_views, is_array_buffer_name, is_system_name, is_typed_array_name,
    typed_array_element_size, CONTEXT, JS_ARRAY_NAME,
};
use crate::model::{EdgeKind, NodeIx, NodeKind};

/// Buffers of one shape under a holder: the same view class, length and byte size.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct BufferShape {
    /// The view's class (`Float32Array`), `ArrayBuffer` when nothing views the buffer, or the
    /// classes joined by `+` when several views share it.
    pub view: String,
    /// Elements per view, when known (one view over the whole store).
    pub length: Option<u64>,
    /// Bytes of each backing store.
    pub buffer_bytes: u64,
    /// How many.
    pub count: u64,
}

impl BufferShape {
    /// `Float32Array(16384)`, or `Float32Array+Uint8Array (65536 B)` when the length is unknown.
    pub fn label(&self) -> String {
        match self.length {
            Some(len) => format!("{}({len})", self.view),
            None => format!("{} ({} B)", self.view, self.buffer_bytes),
        }
    }
}

/// Same-size buffers held as the elements of one JS array: a pool.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct BufferPool {
    /// The array's snapshot id.
    pub array_id: u32,
    /// Bytes of each buffer.
    pub buffer_bytes: u64,
    /// Buffers in the pool.
    pub count: u64,
}

/// The user-level object that holds some large buffers, with their count and bytes.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct BufferHolder {
    /// Its class (`Map`, a user class, a closure's class).
    pub class: String,
    /// Its own name when that says more than the class (a closure's function name).
    pub name: String,
    /// Its snapshot id.
    pub id: u32,
    /// The holder's edge into the chain that reaches the buffers (`activations`), when it is a
    /// property, element or variable; rows are per holder and edge.
    pub via: String,
    /// Large backing stores it holds.
    pub count: u64,
    /// Their bytes.
    pub bytes: u64,
    /// The stores by shape, most bytes first.
    pub shapes: Vec<BufferShape>,
    /// Set when every store it holds is the same size and all sit in one array.
    pub pool: Option<BufferPool>,
    /// Shortest retainer path from the root to the holder.
    pub retainer_path: Vec<PathText>,
    /// The holder (node index).
    #[serde(skip)]
    pub node: NodeIx,
}

/// Is `n` a user-level owner: a closure, a `Map`/`Set`, or an object with a user class, rather
/// than storage (V8's `system / …` objects, `(…)` classes, arrays) or the buffer plumbing
/// itself (`ArrayBuffer`, typed arrays)?
pub fn is_holder(s: &AnalyzedSnapshot, n: NodeIx) -> bool {
    let g = s.graph();
    match g.kind(n) {
        NodeKind::Closure => true,
        NodeKind::Object => {
            let class = s.class_name(n);
            !(is_system_name(g.name(n))
                || class.starts_with('(')
                || is_system_name(class)
                || is_array_buffer_name(class)
                || is_typed_array_name(class)
                || class == JS_ARRAY_NAME)
        }
        _ => false,
    }
}

/// The first node from `start` up the dominator chain that is a holder and passes `accept`,
/// and the name of the holder's edge into that chain when it is a property, element or context
/// variable (`registry`, `[3]`), else empty. When no holder is above (a script's top-level
/// `const kept = []`, or an `async` function's local: their scopes hang off V8's roots, not off
/// an object of the program's), the nearest scope whose variable leads down the chain
/// (`system / Context`, `kept`); the root only when there is none either.
pub fn nearest_holder(
    s: &AnalyzedSnapshot,
    start: NodeIx,
    accept: impl Fn(NodeIx) -> bool,
) -> (NodeIx, String) {
    let g = s.graph();
    let root = g.root();
    let via = |v: NodeIx, below: NodeIx| {
        if below == v {
            return String::new();
        }
        g.edges(v)
            .find(|e| e.to == below)
            .filter(|e| {
                matches!(
                    e.kind,
                    EdgeKind::Property | EdgeKind::Element | EdgeKind::Context
                )
            })
            .map(|e| g.edge_label(e.index as usize))
            .unwrap_or_default()
    };
    let mut below = start;
    let mut v = start;
    // The first scope on the way whose variable holds the chain, for when no holder is found.
    let mut scope = None;
    while v != root && !(is_holder(s, v) && accept(v)) {
        below = v;
        v = s.analysis.dominator(v);
        if scope.is_none()
            && g.name(v) == CONTEXT
            && g.edges(v)
                .any(|e| e.to == below && e.kind == EdgeKind::Context)
        {
            scope = Some((v, below));
        }
    }
    match scope {
        Some((c, below)) if v == root => (c, via(c, below)),
        _ => (v, via(v, below)),
    }
}

/// One large store, resolved.
struct Store {
    bytes: u64,
    view: String,
    length: Option<u64>,
    /// The JS array whose element the store's view (or buffer) is.
    array: Option<NodeIx>,
}

/// Describe the large store `data`: its owner's views and the array holding them.
fn store(s: &AnalyzedSnapshot, data: NodeIx) -> (NodeIx, Store) {
    let g = s.graph();
    let bytes = s.analysis.shallow_size(data);
    let Some(buffer) = backing_store_owner(g, data) else {
        let st = Store {
            bytes,
            view: g.name(data).to_string(),
            length: None,
            array: None,
        };
        return (data, st);
    };
    let views = buffer_views(g, buffer);
    let (view, length) = match views.as_slice() {
        [] => (s.class_name(buffer).to_string(), Some(bytes)),
        [v] => {
            let class = s.class_name(*v);
            let length = typed_array_element_size(class)
                .filter(|size| bytes.is_multiple_of(*size))
                .map(|size| bytes / size);
            (class.to_string(), length)
        }
        many => {
            let mut classes: Vec<&str> = many.iter().map(|&v| s.class_name(v)).collect();
            classes.sort_unstable();
            classes.dedup();
            (classes.join("+"), None)
        }
    };
    let element_of = if views.len() == 1 { views[0] } else { buffer };
    let array = g
        .retainer_edges(element_of)
        .into_iter()
        .find(|e| e.kind == EdgeKind::Element && s.class_name(e.from) == JS_ARRAY_NAME)
        .map(|e| e.from);
    (
        buffer,
        Store {
            bytes,
            view,
            length,
            array,
        },
    )
}

/// Group the large backing stores `large` by their nearest holder on the dominator chain, with
/// each holder's retainer path when `paths` is set.
pub fn buffer_holders(s: &AnalyzedSnapshot, large: &[NodeIx], paths: bool) -> Vec<BufferHolder> {
    let g = s.graph();
    let mut by_holder: HashMap<(NodeIx, String), Vec<Store>> = HashMap::new();
    for &data in large {
        // Start from the owning ArrayBuffer when there is one: the data's own dominator can be
        // far up when several buffers share it.
        let (start, st) = store(s, data);
        by_holder
            .entry(nearest_holder(s, start, |_| true))
            .or_default()
            .push(st);
    }
    let mut shown = ShownPaths::new(g, &s.analysis);
    let mut rows: Vec<BufferHolder> = by_holder
        .into_iter()
        .map(|((n, via), stores)| BufferHolder {
            class: s.path_label(n).to_string(),
            name: if g.kind(n) == NodeKind::Closure {
                g.name(n).to_string()
            } else {
                String::new()
            },
            id: g.id(n),
            via,
            count: stores.len() as u64,
            bytes: stores.iter().map(|st| st.bytes).sum(),
            shapes: shapes(&stores),
            pool: pool(s, &stores),
            retainer_path: if paths {
                path_text(s, &mut shown, n)
            } else {
                Vec::new()
            },
            node: n,
        })
        .collect();
    rows.sort_by(|x, y| {
        y.bytes
            .cmp(&x.bytes)
            .then(y.count.cmp(&x.count))
            .then(x.id.cmp(&y.id))
            .then(x.via.cmp(&y.via))
    });
    rows
}

/// The stores by (view, length, bytes), most bytes first.
fn shapes(stores: &[Store]) -> Vec<BufferShape> {
    let mut by: HashMap<(&str, Option<u64>, u64), u64> = HashMap::new();
    for st in stores {
        *by.entry((&st.view, st.length, st.bytes)).or_default() += 1;
    }
    let mut out: Vec<BufferShape> = by
        .into_iter()
        .map(|((view, length, buffer_bytes), count)| BufferShape {
            view: view.to_string(),
            length,
            buffer_bytes,
            count,
        })
        .collect();
    out.sort_by(|a, b| {
        (b.buffer_bytes * b.count)
            .cmp(&(a.buffer_bytes * a.count))
            .then(a.view.cmp(&b.view))
    });
    out
}

/// A pool: two or more stores, all the same size, all elements of one array.
fn pool(s: &AnalyzedSnapshot, stores: &[Store]) -> Option<BufferPool> {
    let first = stores.first()?;
    let array = first.array?;
    let same = stores
        .iter()
        .all(|st| st.array == Some(array) && st.bytes == first.bytes);
    (stores.len() >= 2 && same).then(|| BufferPool {
        array_id: s.graph().id(array),
        buffer_bytes: first.bytes,
        count: stores.len() as u64,
    })
}
