//! The class summary (DevTools' Summary view) and the heap statistics.

use serde::Serialize;

use std::sync::atomic::{AtomicUsize, Ordering};

use super::classes::ClassIndex;
use super::distances::NO_DISTANCE;
use super::dominators::{prefetch, DominatedChildren};
use super::Analysis;
use crate::model::sizes::SizeColumn;
use crate::model::strings::NameIds;
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
        keep: impl Fn(NodeIx) -> bool + Sync,
    ) -> Self {
        // The counts read the nodes in order and the dominator tree's child lists are made
        // by a counting sort: each on a core.
        let (children, rows) = crate::parallel::beside(
            || a.dominators.children_for_once(),
            || class_counts(g, &a.shallow, &a.distances, classes, &keep),
        );
        Self::from_counts(g, a, classes, &children, rows, extra_native_bytes, keep)
    }

    /// The summary from the [`class_counts`] of the kept nodes, with the retained sizes
    /// added up over the dominator tree's `children`.
    pub(crate) fn from_counts(
        g: &HeapGraph,
        a: &Analysis,
        classes: &ClassIndex,
        children: &DominatedChildren,
        mut rows: Vec<ClassRow>,
        extra_native_bytes: u64,
        keep: impl Fn(NodeIx) -> bool + Sync,
    ) -> Self {
        let k = classes.names.len();
        for (c, r) in class_retained_sizes(g, a, classes, children, k, &keep)
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

/// A row for each class, with the count, shallow size and least distance of the kept nodes
/// that have a size (retained sizes are added by [`Summary::from_counts`]): nothing here needs
/// the dominators.
pub(crate) fn class_counts(
    g: &HeapGraph,
    shallow: &SizeColumn,
    distances: &[u32],
    classes: &ClassIndex,
    keep: impl Fn(NodeIx) -> bool,
) -> Vec<ClassRow> {
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
        let s = shallow.get(v);
        if s == 0 || !keep(v) {
            continue;
        }
        let row = &mut rows[classes.class_of[v as usize] as usize];
        row.count += 1;
        row.shallow_size += s;
        // Distances may be left out (see `AnalysisOptions::distances`): no distance then.
        let d = distances.get(v as usize).copied().unwrap_or(NO_DISTANCE);
        row.distance = match row.distance {
            None => None,
            Some(_) if d == NO_DISTANCE => None,
            Some(m) => Some(m.min(d)),
        };
    }
    rows
}

/// Walk the dominator tree from the root; a kept node adds its retained size to its class
/// unless a kept instance of the same class dominates it (so nested instances are not counted
/// twice).
///
/// On two threads: the biggest subtrees are opened here first (see [`TreePieces`]), and the
/// pieces left are walked by both threads, each with its own counters, set for the path from
/// the root down to the piece. Sums do not depend on the order, so the result is the same.
fn class_retained_sizes(
    g: &HeapGraph,
    a: &Analysis,
    classes: &ClassIndex,
    children: &DominatedChildren,
    k: usize,
    keep: &(impl Fn(NodeIx) -> bool + Sync),
) -> Vec<u64> {
    let class_of = &classes.class_of[..];
    let counts = |v: NodeIx| a.shallow_size(v) != 0 && keep(v);
    let retained = &a.dominators.retained[..];
    let pieces = TreePieces::split(g.root(), children, class_of, k, &counts, |v| {
        retained[v as usize]
    });
    // The threads take the next chunk of pieces as they go.
    let next_chunk = AtomicUsize::new(0);
    let walker = || {
        let mut walk = PieceWalk {
            open: vec![0u32; k],
            total: vec![0u64; k],
            path: None,
            stack: Vec::new(),
        };
        loop {
            let i = next_chunk.fetch_add(1, Ordering::Relaxed);
            let Some(chunk) = pieces.pieces.chunks(PIECES_AT_ONCE).nth(i) else {
                break;
            };
            for (j, &(v, above)) in chunk.iter().enumerate() {
                // Most pieces are single nodes scattered over the heap: ask for the next
                // ones' data ahead.
                if let Some(&(ahead, _)) = chunk.get(j + 8) {
                    children.prefetch_of(ahead);
                    prefetch(&class_of[ahead as usize]);
                    prefetch(&retained[ahead as usize]);
                }
                walk.set_path(&pieces, above);
                walk.subtree(v, children, class_of, &counts, a);
            }
        }
        walk.total
    };
    let (side, main) = crate::parallel::beside(walker, walker);
    let mut total = pieces.total;
    for (t, (s, m)) in total.iter_mut().zip(side.iter().zip(&main)) {
        *t += s + m;
    }
    total
}

/// How many pieces a thread takes at a time.
const PIECES_AT_ONCE: usize = 64;

/// The dominator tree cut into pieces two threads can walk apart: the nodes with the largest
/// retained sizes (a stand-in for the size of their subtrees) are taken out and counted here,
/// one by one from the root, until no piece left is more than 1/32 of the heap or enough were
/// taken; their children become the pieces.
struct TreePieces {
    /// Nodes taken out: (its class, its own parent in this list, whether it opened its class).
    taken: Vec<(u32, u32, bool)>,
    /// Subtrees left to walk: (root, index of its parent in `taken`), mostly grouped by
    /// parent (so that a thread seldom sets its counters for another path).
    pieces: Vec<(NodeIx, u32)>,
    /// What the nodes taken out add to each class.
    total: Vec<u64>,
}

impl TreePieces {
    /// At most this many nodes are taken out (a long chain would otherwise be taken whole).
    const MAX_TAKEN: usize = 4096;

    fn split(
        root: NodeIx,
        children: &DominatedChildren,
        class_of: &[u32],
        k: usize,
        counts: &impl Fn(NodeIx) -> bool,
        retained: impl Fn(NodeIx) -> u64,
    ) -> Self {
        const NONE: u32 = u32::MAX;
        let mut out = TreePieces {
            taken: Vec::new(),
            pieces: Vec::new(),
            total: vec![0u64; k],
        };
        let small_enough = retained(root) / 32;
        let mut heap = std::collections::BinaryHeap::from([(retained(root), root, NONE)]);
        while let Some(&(size, v, above)) = heap.peek() {
            if size <= small_enough || out.taken.len() >= Self::MAX_TAKEN {
                break;
            }
            heap.pop();
            let c = class_of[v as usize];
            // Counted unless a node above that opened the class dominates it.
            let mut at = above;
            let mut dominated = false;
            while at != NONE {
                let (ac, up, opened) = out.taken[at as usize];
                dominated |= opened && ac == c;
                at = up;
            }
            let counted = !dominated && counts(v);
            if counted {
                out.total[c as usize] += retained(v);
            }
            let here = out.taken.len() as u32;
            out.taken.push((c, above, counted));
            // Children small enough are pieces already (a node may have millions).
            for &ch in children.of(v) {
                let size = retained(ch);
                if size <= small_enough {
                    out.pieces.push((ch, here));
                } else {
                    heap.push((size, ch, here));
                }
            }
        }
        out.pieces
            .extend(heap.into_iter().map(|(_, v, above)| (v, above)));
        out
    }
}

/// One thread's walk over pieces: its counters and the path they are set for.
struct PieceWalk {
    /// Open instances of each class above the current node.
    open: Vec<u32>,
    /// What each class retains, from this thread's pieces.
    total: Vec<u64>,
    /// The taken node the counters are set for (the piece's parent).
    path: Option<u32>,
    /// The walk's cursors (node, next child, opened?), kept between pieces: most pieces are
    /// small, and a new stack each would cost more in the allocator than the walk itself.
    stack: Vec<(NodeIx, u32, bool)>,
}

impl PieceWalk {
    /// Set the counters for the path down to taken node `above` (its classes opened there).
    fn set_path(&mut self, pieces: &TreePieces, above: u32) {
        if self.path == Some(above) {
            return;
        }
        let mut change = |mut at: u32, open: bool| {
            while let Some(&(c, up, opened)) = pieces.taken.get(at as usize) {
                if opened {
                    let n = &mut self.open[c as usize];
                    *n = if open { *n + 1 } else { *n - 1 };
                }
                at = up;
            }
        };
        if let Some(old) = self.path {
            change(old, false);
        }
        change(above, true);
        self.path = Some(above);
    }

    /// Walk the subtree of `root` depth-first with a cursor per level (node, next child,
    /// opened?), so the stack is as deep as the tree rather than as wide; leaves are handled
    /// without a frame.
    fn subtree(
        &mut self,
        root: NodeIx,
        children: &DominatedChildren,
        class_of: &[u32],
        counts: &impl Fn(NodeIx) -> bool,
        a: &Analysis,
    ) {
        let (open, total, stack) = (&mut self.open, &mut self.total, &mut self.stack);
        // Count `v` unless an open instance of its class dominates it; says whether `v`
        // opened its class (only a node with children needs to).
        let mut enter = |v: NodeIx, has_children: bool, open: &mut [u32]| -> bool {
            let c = class_of[v as usize] as usize;
            if open[c] != 0 || !counts(v) {
                return false;
            }
            total[c] += a.retained_size(v);
            if has_children {
                open[c] += 1;
            }
            has_children
        };
        let root_has_children = !children.of(root).is_empty();
        let root_opened = enter(root, root_has_children, open);
        if !root_has_children {
            return;
        }
        stack.clear();
        stack.push((root, 0, root_opened));
        while let Some(top) = stack.last_mut() {
            let kids = children.of(top.0);
            let at = top.1 as usize;
            if let Some(&ch) = kids.get(at) {
                // The walk waits on each child's list, which is anywhere in the heap: ask
                // for the siblings' ahead (the first eight when the node is opened, then the
                // one eight places on).
                let ahead = match at {
                    0 => &kids[..kids.len().min(8)],
                    _ => kids
                        .get(at + 7)
                        .map(std::slice::from_ref)
                        .unwrap_or_default(),
                };
                for &later in ahead {
                    children.prefetch_of(later);
                    prefetch(&class_of[later as usize]);
                }
                top.1 += 1;
                let has_children = !children.of(ch).is_empty();
                let opened = enter(ch, has_children, open);
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
    }
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
        let total = a.retained_size(g.root()) + extra_native_bytes;
        Self::by_kind(g, |v| a.shallow_size(v), extra_native_bytes).with_total(total)
    }

    /// The sizes by kind, from `shallow` sizes, before the total is known (the categories
    /// need no dominators, so they can be added up while those are worked out): finish with
    /// [`with_total`](Self::with_total).
    pub fn by_kind(
        g: &HeapGraph,
        shallow: impl Fn(NodeIx) -> u64,
        extra_native_bytes: u64,
    ) -> Self {
        let mut s = Statistics {
            native: extra_native_bytes,
            ..Default::default()
        };
        let (n, names) = (g.node_count() as NodeIx, KindNames::of(g));
        for from in (0..n).step_by(1 << 20) {
            s.add(&Self::by_kind_in(
                g,
                &names,
                &shallow,
                from..n.min(from + (1 << 20)),
            ));
            // Arrays' edges are read in node order: spilled pages behind are handed back.
            g.release_spilled();
        }
        s
    }

    /// [`by_kind`](Self::by_kind) of the nodes in `nodes` alone, with no extra native bytes.
    pub(crate) fn by_kind_in(
        g: &HeapGraph,
        names: &KindNames,
        shallow: impl Fn(NodeIx) -> u64,
        nodes: std::ops::Range<NodeIx>,
    ) -> Self {
        let mut s = Statistics::default();
        let KindNames {
            buffer_data,
            js_array,
            elements,
        } = names;
        for v in nodes {
            let size = shallow(v);
            match g.kind(v) {
                NodeKind::Hidden => s.system += size,
                NodeKind::Native => {
                    s.native += size;
                    if buffer_data.contains(g.name_id(v)) {
                        s.typed_arrays += size;
                    }
                }
                NodeKind::Code => s.code += size,
                k if k.is_string() => s.strings += size,
                _ if js_array.contains(g.name_id(v)) => {
                    s.js_arrays += array_size(g, elements, &shallow, v)
                }
                _ => {}
            }
        }
        s
    }

    /// Add `other`'s sizes to these.
    pub(crate) fn add(&mut self, other: &Self) {
        self.total += other.total;
        self.code += other.code;
        self.strings += other.strings;
        self.js_arrays += other.js_arrays;
        self.typed_arrays += other.typed_arrays;
        self.system += other.system;
        self.native += other.native;
        self.other += other.other;
    }

    /// Sizes by kind with `total` (the root's retained size plus the extra native bytes), and
    /// the rest of the JS heap worked out from it.
    pub fn with_total(mut self, total: u64) -> Self {
        self.total = total;
        let js = total.saturating_sub(self.native);
        self.other = js.saturating_sub(self.code + self.strings + self.js_arrays + self.system);
        self
    }
}

/// A JS array's size: its own plus its `elements` store when nothing else holds that store.
fn array_size(
    g: &HeapGraph,
    elements: &NameIds,
    shallow: impl Fn(NodeIx) -> u64,
    v: NodeIx,
) -> u64 {
    let mut size = shallow(v);
    if let Some(e) = g
        .edges(v)
        .find(|e| e.kind == crate::model::EdgeKind::Internal && elements.contains(e.name_or_index))
    {
        if g.retainer_count(e.to) == 1 {
            size += shallow(e.to);
        }
    }
    size
}

/// The names [`Statistics::by_kind`] tells kinds by, as string ids: a string read a node
/// would miss the cache.
pub(crate) struct KindNames {
    buffer_data: NameIds,
    js_array: NameIds,
    elements: NameIds,
}

impl KindNames {
    /// Their ids in `g`'s string table.
    pub(crate) fn of(g: &HeapGraph) -> Self {
        let [buffer_data, js_array, elements] =
            g.strings()
                .ids_of_each([ARRAY_BUFFER_DATA, JS_ARRAY_NAME, ELEMENTS_EDGE]);
        Self {
            buffer_data,
            js_array,
            elements,
        }
    }
}
