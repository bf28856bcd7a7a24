//! The class summary (DevTools' Summary view) and the heap statistics.

use serde::Serialize;

use super::classes::ClassIndex;
use super::distances::NO_DISTANCE;
use super::Analysis;
use crate::model::v8_rules::{ARRAY_BUFFER_DATA, ELEMENTS_EDGE, JS_ARRAY_NAME};
use crate::model::{HeapGraph, NodeIx, NodeKind};

/// One row of the class summary.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ClassRow {
    /// Class name (constructor name, `(string)`, `Function`, …).
    pub name: String,
    /// Number of instances (nodes with a non-zero shallow size, as DevTools counts).
    pub count: u64,
    /// Sum of the instances' shallow sizes.
    pub shallow_size: u64,
    /// Bytes the class retains, each byte counted once (instances dominated by another
    /// instance of the class are not added again).
    pub retained_size: u64,
    /// Smallest distance from the roots; `None` when an instance is unreachable.
    pub distance: Option<u32>,
    /// Class id in the [`ClassIndex`].
    #[serde(skip)]
    pub class_id: u32,
}

/// Totals and the class table.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    /// Number of nodes in the snapshot.
    pub node_count: u64,
    /// Number of edges.
    pub edge_count: u64,
    /// Root's retained size plus `extra_native_bytes`: what DevTools calls the total.
    pub total_size: u64,
    /// Classes, largest retained size first.
    pub classes: Vec<ClassRow>,
}

impl Summary {
    /// Aggregate per class, DevTools' way: nodes with zero shallow size are skipped.
    pub fn build(
        g: &HeapGraph,
        a: &Analysis,
        classes: &ClassIndex,
        extra_native_bytes: u64,
    ) -> Self {
        Self::build_where(g, a, classes, extra_native_bytes, |_| true)
    }

    /// The same over the nodes `keep` says yes to (DevTools' filtered Summary, e.g. objects
    /// allocated in a time range): counts, sizes and distances of those nodes only; a class
    /// retains what its kept instances retain, each byte once; classes with no kept instance
    /// are left out. `total_size` stays the whole heap's, so shares read against it.
    pub fn build_where(
        g: &HeapGraph,
        a: &Analysis,
        classes: &ClassIndex,
        extra_native_bytes: u64,
        keep: impl Fn(NodeIx) -> bool,
    ) -> Self {
        let k = classes.names.len();
        let mut rows: Vec<ClassRow> = classes
            .names
            .iter()
            .enumerate()
            .map(|(i, name)| ClassRow {
                name: name.clone(),
                count: 0,
                shallow_size: 0,
                retained_size: 0,
                distance: Some(u32::MAX),
                class_id: i as u32,
            })
            .collect();
        for v in 0..g.node_count() as NodeIx {
            let s = a.shallow_size(v);
            if s == 0 || !keep(v) {
                continue;
            }
            let row = &mut rows[classes.class_of[v as usize] as usize];
            row.count += 1;
            row.shallow_size += s;
            // Distances may be left out (see `AnalysisOptions::distances`): no distance then.
            let d = a.distances.get(v as usize).copied().unwrap_or(NO_DISTANCE);
            row.distance = match row.distance {
                None => None,
                Some(_) if d == NO_DISTANCE => None,
                Some(m) => Some(m.min(d)),
            };
        }
        for (c, r) in class_retained_sizes(g, a, classes, k, &keep)
            .into_iter()
            .enumerate()
        {
            rows[c].retained_size = r;
        }
        rows.retain(|r| r.count > 0);
        rows.sort_by(|a, b| {
            b.retained_size
                .cmp(&a.retained_size)
                .then(a.name.cmp(&b.name))
        });
        Summary {
            node_count: g.node_count() as u64,
            edge_count: g.edge_count() as u64,
            total_size: a.retained_size(g.root()) + extra_native_bytes,
            classes: rows,
        }
    }
}

/// Walk the dominator tree from the root; a kept node adds its retained size to its class
/// unless a kept instance of the same class dominates it (so nested instances are not counted
/// twice).
fn class_retained_sizes(
    g: &HeapGraph,
    a: &Analysis,
    classes: &ClassIndex,
    k: usize,
    keep: &impl Fn(NodeIx) -> bool,
) -> Vec<u64> {
    let children = a.dominators.children_for_once();
    let mut open = vec![0u32; k];
    let mut total = vec![0u64; k];
    let class_of = &classes.class_of[..];
    // Count `v` unless an open instance of its class dominates it; says whether `v` opened
    // its class (only a node with children needs to).
    let mut enter = |v: NodeIx, has_children: bool, open: &mut [u32]| -> bool {
        let c = class_of[v as usize] as usize;
        if open[c] != 0 || a.shallow_size(v) == 0 || !keep(v) {
            return false;
        }
        total[c] += a.retained_size(v);
        if has_children {
            open[c] += 1;
        }
        has_children
    };
    // Depth-first with a cursor per level (node, next child, opened?), so the stack is as
    // deep as the tree rather than as wide; leaves are handled without a frame.
    let root = g.root();
    let root_opened = enter(root, !children.of(root).is_empty(), &mut open);
    let mut stack: Vec<(NodeIx, u32, bool)> = vec![(root, 0, root_opened)];
    while let Some(top) = stack.last_mut() {
        if let Some(&ch) = children.of(top.0).get(top.1 as usize) {
            top.1 += 1;
            let has_children = !children.of(ch).is_empty();
            let opened = enter(ch, has_children, &mut open);
            if has_children {
                stack.push((ch, 0, opened));
            }
        } else {
            let (v, _, opened) = stack.pop().expect("the loop saw a top");
            if opened {
                open[class_of[v as usize] as usize] -= 1;
            }
        }
    }
    total
}

/// DevTools' Statistics view: where the bytes are, by kind.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Statistics {
    /// Everything: root's retained size plus `extra_native_bytes`.
    pub total: u64,
    /// Compiled code.
    pub code: u64,
    /// Strings of every representation.
    pub strings: u64,
    /// JS arrays, with their element storage when only the array holds it.
    pub js_arrays: u64,
    /// Typed array backing stores (`system / JSArrayBufferData`).
    pub typed_arrays: u64,
    /// V8-internal (hidden) objects.
    pub system: u64,
    /// Native (embedder) memory, including `extra_native_bytes`.
    pub native: u64,
    /// The rest of the JS heap: `total − native − code − strings − js_arrays − system`.
    pub other: u64,
}

impl Statistics {
    /// Compute with DevTools' categories, over shallow sizes.
    pub fn build(g: &HeapGraph, a: &Analysis, extra_native_bytes: u64) -> Self {
        let mut s = Statistics {
            native: extra_native_bytes,
            ..Default::default()
        };
        for v in 0..g.node_count() as NodeIx {
            // Arrays' edges are read in node order: spilled pages behind are handed back.
            if v.is_multiple_of(1 << 20) {
                g.release_spilled();
            }
            let size = a.shallow_size(v);
            match g.kind(v) {
                NodeKind::Hidden => s.system += size,
                NodeKind::Native => {
                    s.native += size;
                    if g.name(v) == ARRAY_BUFFER_DATA {
                        s.typed_arrays += size;
                    }
                }
                NodeKind::Code => s.code += size,
                k if k.is_string() => s.strings += size,
                _ if g.name(v) == JS_ARRAY_NAME => s.js_arrays += array_size(g, a, v),
                _ => {}
            }
        }
        g.release_spilled();
        s.total = a.retained_size(g.root()) + extra_native_bytes;
        let js = s.total.saturating_sub(s.native);
        s.other = js.saturating_sub(s.code + s.strings + s.js_arrays + s.system);
        s
    }
}

/// A JS array's size: its own plus its `elements` store when nothing else holds that store.
fn array_size(g: &HeapGraph, a: &Analysis, v: NodeIx) -> u64 {
    let mut size = a.shallow_size(v);
    if let Some(e) = g.edges(v).find(|e| {
        e.kind == crate::model::EdgeKind::Internal
            && g.strings().get(e.name_or_index) == ELEMENTS_EDGE
    }) {
        if g.retainer_count(e.to) == 1 {
            size += a.shallow_size(e.to);
        }
    }
    size
}
