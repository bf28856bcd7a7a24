//! What one snapshot contributes to a trend, taken out of it so the snapshot (graph and
//! analyses) can be dropped before the next one is read.
//!
//! Kept per snapshot: one [`ClassTotals`] row per class (a few hundred to a few thousand), one
//! 16-byte [`CollectionSize`] per collection, the memory map's few figures, and the node ids
//! sorted and gap-encoded ([`SortedIds`], about 1 byte a node). The snapshot taken last also keeps each node's class (4 more bytes a
//! node) until the survivors are counted; see [`super`] for the whole budget.

use std::sync::Arc;

use crate::analysis::allocation_stacks::{has_stacks, stack_of, StackFrame, TraceIndex};
use crate::analysis::classes::propagate_detachedness;
use crate::analysis::memory_map::{MemoryMap, PartKind};
use crate::analysis::retainers::slot_names_unsorted;
use crate::analysis::{Analysis, AnalyzedSnapshot, ClassIndex, RuleSet, Summary};
use crate::model::v8_rules::{
    is_engine_class_name, map_table_entries, table_slot, JS_ARRAY_NAME, PROTO_EDGE, TABLE_EDGE,
};
use crate::model::{EdgeKind, FxHashMap, FxHashSet, HeapGraph, NodeIx, NodeKind, Snapshot};
use crate::progress::Progress;
use crate::store::Document;

use crate::analysis::big_objects::BigObjects;

/// A plain or user object counts as a collection from this many property and element entries.
pub const MANY_ENTRIES: u32 = 64;
/// Objects with fewer entries than this are not recorded at all (a collection absent from a
/// snapshot counts 0 entries there).
pub const MIN_RECORDED_OBJECT_ENTRIES: u32 = 8;

/// The most names kept for a collection.
pub const COLLECTION_NAMES: usize = 2;

/// Frames kept of a class's newest allocation stack (innermost first).
pub const NEWEST_STACK_FRAMES: usize = 8;

/// A node's class that is not counted (zero shallow size: DevTools' Summary leaves it out).
pub(super) const UNCOUNTED: u32 = u32::MAX;

/// One class's totals in one snapshot (classes with one name in several scripts are summed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClassTotals {
    /// The class name, as the Summary shows it; one allocation per name for the whole trend
    /// (see [`super::TrendBuilder::push`]).
    pub name: Arc<str>,
    /// Objects (nodes with a non-zero shallow size).
    pub count: u64,
    /// Their shallow bytes.
    pub shallow: u64,
    /// The bytes the class retains (the Summary's retained size).
    pub retained: u64,
}

/// What kind of collection a [`CollectionSize`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CollectionKind {
    /// A `Map`: its entries whose key or value is a heap object (a key and its value are
    /// adjacent slots of the table, an entry three slots apart from the next).
    Map,
    /// A `Set`: its table's numbered slots holding heap objects.
    Set,
    /// An `Array`: its element edges.
    Array,
    /// Any other object: its property and element edges (`__proto__` left out), when there
    /// are at least [`MANY_ENTRIES`] of them in the last snapshot.
    Object,
}

/// One collection's size in one snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CollectionSize {
    /// Its snapshot id (stable for the object's life).
    pub id: u32,
    /// Entries, by the rule of its [`CollectionKind`].
    pub entries: u32,
    /// Its retained size.
    pub retained: u64,
}

/// One snapshot's part of a trend.
#[derive(Debug, Clone)]
pub struct SnapshotPart {
    /// A name for reports (the file name).
    pub title: String,
    /// The snapshot's own clock: its highest V8 object id ([`Document::taken_order`]); 0 when
    /// it has none.
    pub clock: u32,
    /// Nodes in the snapshot.
    pub node_count: u64,
    /// The Summary's total.
    pub total_size: u64,
    /// Class totals, sorted by name.
    pub classes: Vec<ClassTotals>,
    /// Collections, sorted by id.
    pub collections: Vec<CollectionSize>,
    /// The kind of each collection, by id (only for naming; sorted by id).
    pub(super) collection_kinds: Vec<CollectionKind>,
    /// What the program calls each collection of at least [`MANY_ENTRIES`] entries (see
    /// [`slot_names`](crate::analysis::retainers::slot_names)), by id; sorted by id. Kept only
    /// for the snapshot the trend ends with, like `id_classes`.
    pub(super) collection_names: Vec<(u32, Vec<String>)>,
    /// `ArrayBuffer` backing stores (not WebAssembly memory): bytes and count.
    pub array_buffers: (u64, u64),
    /// Each `WebAssembly.Memory`: id, bytes, pages; sorted by id.
    pub wasm: Vec<(u32, u64, u64)>,
    /// Holders of backing stores (see [`MemoryMap`]): id, class, buffer count, bytes; sorted
    /// by id.
    pub holders: Vec<(u32, Arc<str>, u64, u64)>,
    /// The objects retaining the most, to follow their retained sizes
    /// ([`crate::analysis::big_objects`]).
    pub(super) big_objects: BigObjects,
    /// Every node id, sorted, without duplicates.
    pub(super) ids: SortedIds,
    /// For the snapshot the trend ends with: the index in `classes` of each node of `ids`
    /// ([`UNCOUNTED`] for nodes the Summary does not count).
    pub(super) id_classes: Vec<u32>,
    /// For the snapshot the trend ends with, when it carries allocation stacks: per class
    /// (index in `classes`), the stack of its newest object that has one (the highest id;
    /// at most [`NEWEST_STACK_FRAMES`] frames, innermost first). Sorted by class index.
    pub(super) newest_stacks: Vec<(u32, Vec<StackFrame>)>,
}

/// Sorted, distinct node ids, stored as the gaps between them in LEB128 (7 bits a byte). V8
/// numbers heap objects 2 apart in allocation order, so most gaps take one byte: about 1 byte a
/// node instead of 4, which is most of what a trend keeps per snapshot.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct SortedIds {
    bytes: Vec<u8>,
    len: usize,
}

impl SortedIds {
    /// Encode `ids`, which must be strictly increasing.
    pub(super) fn from_sorted(ids: impl IntoIterator<Item = u32>) -> Self {
        let mut bytes = Vec::new();
        let (mut prev, mut len) = (0u32, 0usize);
        for id in ids {
            debug_assert!(len == 0 || id > prev, "ids must be strictly increasing");
            let mut gap = id - prev;
            loop {
                let low = (gap & 0x7f) as u8;
                gap >>= 7;
                if gap == 0 {
                    bytes.push(low);
                    break;
                }
                bytes.push(low | 0x80);
            }
            prev = id;
            len += 1;
        }
        bytes.shrink_to_fit();
        Self { bytes, len }
    }

    /// How many ids.
    pub(super) fn len(&self) -> usize {
        self.len
    }

    /// The ids, in increasing order.
    pub(super) fn iter(&self) -> impl Iterator<Item = u32> + '_ {
        let mut at = 0;
        let mut prev = 0u32;
        std::iter::from_fn(move || {
            if at >= self.bytes.len() {
                return None;
            }
            let (mut gap, mut shift) = (0u32, 0);
            loop {
                let b = self.bytes[at];
                at += 1;
                gap |= u32::from(b & 0x7f) << shift;
                shift += 7;
                if b & 0x80 == 0 {
                    break;
                }
            }
            prev += gap;
            Some(prev)
        })
    }
}

/// How many entries `n` holds, if it is a collection worth recording.
fn collection_size(
    g: &HeapGraph,
    classes: &ClassIndex,
    n: NodeIx,
) -> Option<(CollectionKind, u32)> {
    if g.kind(n) != NodeKind::Object {
        return None;
    }
    let class = classes.name_of(n);
    let kind = match class {
        "Map" => CollectionKind::Map,
        "Set" => CollectionKind::Set,
        JS_ARRAY_NAME => CollectionKind::Array,
        c if is_engine_class_name(c) => return None,
        _ => CollectionKind::Object,
    };
    let entries = match kind {
        CollectionKind::Map | CollectionKind::Set => {
            let table = g.edges(n).find(|e| {
                e.kind == EdgeKind::Internal && g.strings().get(e.name_or_index) == TABLE_EDGE
            })?;
            // Numbered slots holding heap objects (names such as `191`; weak ones left out).
            let slots = g.edges(table.to).filter_map(|e| table_slot(g, &e));
            if kind == CollectionKind::Map {
                map_table_entries(slots)
            } else {
                slots.count() as u32
            }
        }
        CollectionKind::Array => g.edges(n).filter(|e| e.kind == EdgeKind::Element).count() as u32,
        CollectionKind::Object => {
            let n = g
                .edges(n)
                .filter(|e| match e.kind {
                    EdgeKind::Element => true,
                    EdgeKind::Property => g.strings().get(e.name_or_index) != PROTO_EDGE,
                    _ => false,
                })
                .count() as u32;
            if n < MIN_RECORDED_OBJECT_ENTRIES {
                return None;
            }
            n
        }
    };
    (entries > 0).then_some((kind, entries))
}

/// An analysed snapshot whose part is yet to be taken ([`SnapshotPart::analyse`]).
pub struct PendingPart {
    snapshot: AnalyzedSnapshot,
    tables: GraphTables,
    clock: u32,
    title: String,
}

impl PendingPart {
    /// The summary and the part; the snapshot is dropped.
    pub fn finish(self) -> SnapshotPart {
        let summary = self.snapshot.summary();
        SnapshotPart::assemble(
            &self.snapshot,
            &summary,
            self.tables,
            self.clock,
            self.title,
        )
    }
}

/// What a part needs of a snapshot that depends on the graph and its classes alone, not on
/// sizes: worked out beside the dominator search when a trend reads a file
/// ([`SnapshotPart::from_snapshot`]).
struct GraphTables {
    /// Every node as `id << 32 | node`, sorted: the nodes in id order.
    by_id: Vec<u64>,
    /// The collections worth recording: node, kind, entries; in node order.
    collections: Vec<(NodeIx, CollectionKind, u32)>,
}

impl GraphTables {
    fn build(g: &HeapGraph, classes: &ClassIndex) -> Self {
        let mut by_id: Vec<u64> = (0..g.node_count() as NodeIx)
            .map(|n| u64::from(g.id(n)) << 32 | u64::from(n))
            .collect();
        by_id.sort_unstable();
        let collections = (0..g.node_count() as NodeIx)
            .filter_map(|n| collection_size(g, classes, n).map(|(k, e)| (n, k, e)))
            .collect();
        Self { by_id, collections }
    }
}

impl SnapshotPart {
    /// Take the trend's part out of an analysed snapshot. `summary` is its class summary,
    /// `clock` its [`Document::taken_order`] clock.
    pub fn extract(s: &AnalyzedSnapshot, summary: &Summary, clock: u32, title: String) -> Self {
        let tables = GraphTables::build(s.graph(), &s.classes);
        Self::assemble(s, summary, tables, clock, title)
    }

    /// The part of a loaded heap snapshot, analysed under `rules` for the trend alone (see
    /// [`SnapshotPart::analyse`]). Equal to [`SnapshotPart::from_document`] of the same file.
    pub fn from_snapshot(
        snapshot: Snapshot,
        rules: RuleSet,
        title: String,
        progress: Progress<'_>,
    ) -> crate::Result<Self> {
        Ok(Self::analyse(snapshot, rules, title, progress)?.finish())
    }

    /// The first stage of [`SnapshotPart::from_snapshot`]: shallow sizes and dominators on
    /// this thread while a second one works out the classes, the node order and the
    /// collections. No distances are computed (see
    /// [`AnalysisOptions::distances`](crate::analysis::AnalysisOptions::distances)). What is
    /// left, [`PendingPart::finish`], can run on another thread while the next file is read.
    pub fn analyse(
        snapshot: Snapshot,
        rules: RuleSet,
        title: String,
        progress: Progress<'_>,
    ) -> crate::Result<PendingPart> {
        let g = &snapshot.graph;
        let (side, sizes) = crate::parallel::beside(
            || {
                let detached = propagate_detachedness(g);
                let classes = ClassIndex::build(g, &detached, &snapshot.traces.locations);
                let tables = GraphTables::build(g, &classes);
                (detached, classes, tables, g.last_object_id())
            },
            || Analysis::sizes_and_dominators(g, rules, progress),
        );
        let (shallow, dominators) = sizes?;
        let (detached, classes, tables, clock) = side;
        let analysis = Analysis::from_parts(
            rules,
            shallow,
            dominators,
            Vec::new().into(),
            detached.into(),
            None,
        );
        let snapshot = AnalyzedSnapshot {
            snapshot,
            analysis,
            classes,
            totals: Default::default(),
        };
        Ok(PendingPart {
            snapshot,
            tables,
            clock,
            title,
        })
    }

    /// The part from an analysed snapshot and its [`GraphTables`].
    fn assemble(
        s: &AnalyzedSnapshot,
        summary: &Summary,
        tables: GraphTables,
        clock: u32,
        title: String,
    ) -> Self {
        let g = s.graph();
        let a = &s.analysis;
        // Classes by name (one name may have several rows: one per script).
        let mut by_name: FxHashMap<&str, ClassTotals> = FxHashMap::default();
        for r in &summary.classes {
            let t = by_name
                .entry(r.name.as_str())
                .or_insert_with(|| ClassTotals {
                    name: Arc::from(r.name.as_str()),
                    count: 0,
                    shallow: 0,
                    retained: 0,
                });
            t.count += r.count;
            t.shallow += r.shallow_size;
            t.retained += r.retained_size;
        }
        let mut classes: Vec<ClassTotals> = by_name.into_values().collect();
        classes.sort_by(|x, y| x.name.cmp(&y.name));

        let mut collections: Vec<(CollectionSize, CollectionKind)> = tables
            .collections
            .iter()
            .map(|&(n, kind, entries)| {
                let size = CollectionSize {
                    id: g.id(n),
                    entries,
                    retained: a.retained_size(n),
                };
                (size, kind)
            })
            .collect();
        collections.sort_by_key(|c| c.0.id);
        collections.dedup_by_key(|c| c.0.id);
        let mut collection_names: Vec<(u32, Vec<String>)> = tables
            .collections
            .iter()
            .filter(|c| c.2 >= MANY_ENTRIES)
            .map(|&(n, _, _)| (g.id(n), slot_names_unsorted(s, n, COLLECTION_NAMES)))
            .filter(|c| !c.1.is_empty())
            .collect();
        collection_names.sort_by_key(|c| c.0);
        collection_names.dedup_by_key(|c| c.0);

        let map = MemoryMap::figures(s, 0, false);
        let ab = map.part(PartKind::ArrayBuffers);
        let array_buffers = (ab.bytes, ab.node_count);
        let mut wasm: Vec<(u32, u64, u64)> = map
            .wasm_memories
            .iter()
            .map(|m| (m.id, m.bytes, m.pages))
            .collect();
        wasm.sort_unstable();
        let mut holders: Vec<(u32, Arc<str>, u64, u64)> = map
            .buffer_holders
            .into_iter()
            // Buffers with no user-level holder are the root's: the all-buffers series has them.
            .filter(|h| h.node != g.root())
            .map(|h| (h.id, Arc::from(h.class), h.count, h.bytes))
            .collect();
        holders.sort_by_key(|h| h.0);

        Self {
            title,
            clock,
            node_count: g.node_count() as u64,
            total_size: summary.total_size,
            collection_kinds: collections.iter().map(|c| c.1).collect(),
            collection_names,
            collections: collections.into_iter().map(|c| c.0).collect(),
            array_buffers,
            wasm,
            holders,
            big_objects: BigObjects::record(s, true),
            ids: SortedIds::default(),
            id_classes: Vec::new(),
            newest_stacks: Vec::new(),
            classes,
        }
        .with_ids(s, tables.by_id)
    }

    /// The part of an open document (a heap snapshot; an allocation profile has no classes or
    /// object ids, and gives an empty part).
    pub fn from_document(doc: &Document) -> Self {
        Self::extract(
            &doc.data,
            doc.summary(),
            doc.taken_order().0,
            doc.title.clone(),
        )
    }

    /// Record every node id, sorted, with the index of its class in `classes`; `by_id` is
    /// every node in id order ([`GraphTables::by_id`]).
    fn with_ids(mut self, s: &AnalyzedSnapshot, mut by_id: Vec<u64>) -> Self {
        let index: FxHashMap<&str, u32> = self
            .classes
            .iter()
            .enumerate()
            .map(|(i, c)| (&*c.name, i as u32))
            .collect();
        // The ClassIndex's ids mapped once to `classes` indices.
        let of_class: Vec<u32> = s
            .classes
            .names
            .iter()
            .map(|n| index.get(n.as_str()).copied().unwrap_or(UNCOUNTED))
            .collect();
        let class_of = |n: NodeIx| {
            if s.analysis.shallow_size(n) == 0 {
                UNCOUNTED
            } else {
                of_class[s.classes.class_of[n as usize] as usize]
            }
        };
        let split = |key: u64| ((key >> 32) as u32, key as u32);
        self.newest_stacks = newest_stacks(s, by_id.iter().map(|&k| split(k)), class_of);
        // One node per id (the first in node order), then its class in place of the node.
        by_id.dedup_by_key(|k| *k >> 32);
        self.ids = SortedIds::from_sorted(by_id.iter().map(|&k| split(k).0));
        self.id_classes = by_id.into_iter().map(|k| class_of(split(k).1)).collect();
        self
    }

    /// Replace its class and holder names by the equal ones in `names` (adding those new).
    pub(super) fn share_names(&mut self, names: &mut FxHashSet<Arc<str>>) {
        let mut share = |name: &mut Arc<str>| match names.get(&**name) {
            Some(shared) => *name = Arc::clone(shared),
            None => {
                names.insert(Arc::clone(name));
            }
        };
        for c in &mut self.classes {
            share(&mut c.name);
        }
        for h in &mut self.holders {
            share(&mut h.1);
        }
        self.big_objects.share_names(&mut share);
    }

    /// Drop the per-node classes and stacks (kept only for the snapshot the trend ends with).
    pub(super) fn forget_classes(&mut self) {
        self.id_classes = Vec::new();
        self.newest_stacks = Vec::new();
        self.collection_names = Vec::new();
        self.big_objects.forget_names();
    }

    /// What the program calls collection `id` (empty when nothing names it, or when this is not
    /// the snapshot the trend ends with).
    pub(super) fn collection_names(&self, id: u32) -> Vec<String> {
        self.collection_names
            .binary_search_by_key(&id, |c| c.0)
            .map(|i| self.collection_names[i].1.clone())
            .unwrap_or_default()
    }

    /// The allocation stack of the newest object of class `class` (index in `classes`) that
    /// has one; empty when the snapshot has no stacks.
    pub(super) fn newest_stack(&self, class: u32) -> Vec<StackFrame> {
        self.newest_stacks
            .binary_search_by_key(&class, |s| s.0)
            .map(|i| self.newest_stacks[i].1.clone())
            .unwrap_or_default()
    }

    /// This part's entry for collection `id`.
    pub(super) fn collection(&self, id: u32) -> Option<(CollectionSize, CollectionKind)> {
        let i = self.collections.binary_search_by_key(&id, |c| c.id).ok()?;
        Some((self.collections[i], self.collection_kinds[i]))
    }

    /// This part's totals for class `name`.
    pub(super) fn class(&self, name: &str) -> Option<&ClassTotals> {
        let i = self
            .classes
            .binary_search_by(|c| (*c.name).cmp(name))
            .ok()?;
        Some(&self.classes[i])
    }
}

/// Per counted class, the allocation stack of its traced object with the highest id (the
/// newest: V8 hands out ids in allocation order). `by_id` is (id, node) for every node in
/// increasing id order, `class_of` the index of a node's class ([`UNCOUNTED`] for none).
fn newest_stacks(
    s: &AnalyzedSnapshot,
    by_id: impl Iterator<Item = (u32, NodeIx)>,
    class_of: impl Fn(NodeIx) -> u32,
) -> Vec<(u32, Vec<StackFrame>)> {
    let g = s.graph();
    let traces = &s.snapshot.traces;
    if !has_stacks(g, traces) {
        return Vec::new();
    }
    // Per class: the traced node with the highest id (of equal ids, the first in node order).
    let mut newest: FxHashMap<u32, (u32, NodeIx)> = FxHashMap::default();
    for (id, n) in by_id {
        let c = class_of(n);
        if c == UNCOUNTED || g.trace_node_id(n) == 0 {
            continue;
        }
        let e = newest.entry(c).or_insert((id, n));
        if id > e.0 {
            *e = (id, n);
        }
    }
    let index = TraceIndex::build(traces);
    let mut out: Vec<(u32, Vec<StackFrame>)> = newest
        .into_iter()
        .filter_map(|(c, (_, n))| {
            let mut stack = stack_of(g, traces, &index, n);
            // V8's top trace node is `(root)`, not a frame.
            if stack.last().is_some_and(|f| f.function == "(root)") {
                stack.pop();
            }
            stack.truncate(NEWEST_STACK_FRAMES);
            (!stack.is_empty()).then_some((c, stack))
        })
        .collect();
    out.sort_unstable_by_key(|s| s.0);
    out
}
