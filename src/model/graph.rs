//! The retention graph: struct-of-arrays nodes, CSR edges and CSR retainers, all `u32`-indexed.
//!
//! Bytes per node: type 1, name 4, id 4, self size 4, first edge 4, first retainer 4, plus
//! detachedness 1 and trace node id 4 when the snapshot has them. Bytes per edge: type 1,
//! name 4, target 4, retainer 4. Nothing is allocated per node.

use std::collections::HashMap;

use super::column::Column;
use super::kinds::{EdgeKind, NodeKind};
use super::sizes::SizeColumn;
use super::strings::{StrId, StringTable};

// Re-exported where the builder was defined before it had a file of its own.
pub use super::builder::{GraphBuildError, GraphBuilder};

/// Index of a node (its ordinal in the snapshot).
pub type NodeIx = u32;
/// Index of an edge in the CSR edge arrays.
pub type EdgeIx = u32;

/// High bit of a retainer entry: the edge is not "essential" for dominators (weak, or a
/// shortcut from a node other than the root).
pub(crate) const NON_ESSENTIAL: u32 = 1 << 31;
/// Self sizes at or above this are kept in a side table so the array can stay `u32`.
pub(crate) const BIG_SELF_SIZE: u32 = u32::MAX;

/// The largest node count the graph can hold (the retainer encoding uses the high bit).
pub const MAX_NODES: u64 = (1 << 31) - 1;
/// The largest edge count the graph can hold.
pub const MAX_EDGES: u64 = u32::MAX as u64 - 1;
/// Bound on a heap's bytes: its nodes' self sizes added up, plus any bytes counted outside the
/// graph (Chromium's `extra_native_bytes`). Loaders reject files over it (4 EiB: no real heap
/// comes near), so that every retained size, class total and grand total fits a `u64` with
/// room to spare.
pub const MAX_HEAP_BYTES: u64 = 1 << 62;

/// A heap as a graph of nodes (objects) and edges (references).
#[derive(Debug, Default, Clone)]
pub struct HeapGraph {
    pub(crate) node_type: Column<u8>,
    pub(crate) node_name: Column<StrId>,
    pub(crate) node_id: Column<u32>,
    pub(crate) node_self_size: Column<u32>,
    pub(crate) big_self_sizes: HashMap<NodeIx, u64>,
    /// Empty when the snapshot has no allocation traces (or all of them are 0).
    pub(crate) node_trace_id: Column<u32>,
    /// Empty when the snapshot has no `detachedness` field.
    pub(crate) node_detachedness: Column<u8>,
    /// `first_edge[n]..first_edge[n + 1]` are node `n`'s edges; length is nodes + 1.
    pub(crate) first_edge: Column<EdgeIx>,
    pub(crate) edge_type: Column<u8>,
    pub(crate) edge_name: Column<u32>,
    pub(crate) edge_to: Column<NodeIx>,
    /// Like `first_edge`, over `retainers`; filled by [`HeapGraph::build_retainers`].
    pub(crate) first_retainer: Column<u32>,
    /// Retaining node of each incoming edge, with [`NON_ESSENTIAL`] set for weak/shortcut edges.
    pub(crate) retainers: Column<u32>,
    pub(crate) node_type_names: Vec<String>,
    pub(crate) node_kinds: Vec<NodeKind>,
    pub(crate) edge_type_names: Vec<String>,
    pub(crate) edge_kinds: Vec<EdgeKind>,
    pub(crate) strings: StringTable,
    pub(crate) root: NodeIx,
    /// Numbers per node in the V8 file (to resolve `locations`' node indexes); 0 otherwise.
    pub(crate) node_field_count: u32,
    /// Largest node name / string-named edge name index seen while loading (for validation).
    pub(crate) max_node_name: u32,
    pub(crate) max_edge_name: u32,
    /// Strings shaped like V8's WeakMap edge names, parsed (see [`HeapGraph::ephemeron_names`]).
    pub(crate) ephemeron_names: std::sync::OnceLock<super::FxHashMap<StrId, (u32, u32)>>,
}

/// One outgoing or incoming edge, resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EdgeRef {
    /// The edge's index.
    pub index: EdgeIx,
    /// The node the edge starts at (the retainer).
    pub from: NodeIx,
    /// The node the edge points to.
    pub to: NodeIx,
    /// The edge's kind.
    pub kind: EdgeKind,
    /// String id for named edges, the element index for element and hidden edges.
    pub name_or_index: u32,
}

/// The forward edges as slices (see [`HeapGraph::edge_arrays`]).
#[derive(Clone, Copy)]
pub struct EdgeArrays<'g> {
    /// `first[n]..first[n + 1]` are node `n`'s edges.
    pub first: &'g [EdgeIx],
    /// Each edge's target.
    pub to: &'g [NodeIx],
    /// Each edge's type number (see [`HeapGraph::weak_edge_types`]).
    pub types: &'g [u8],
}

impl EdgeArrays<'_> {
    /// Node `n`'s edges.
    #[inline]
    pub fn range(&self, n: NodeIx) -> std::ops::Range<usize> {
        self.first[n as usize] as usize..self.first[n as usize + 1] as usize
    }
}

/// The retainers as slices (see [`HeapGraph::retainer_arrays`]).
#[derive(Clone, Copy)]
pub struct RetainerArrays<'g> {
    /// `first[n]..first[n + 1]` are node `n`'s retainers.
    pub first: &'g [u32],
    /// Each incoming edge's source, with [`NON_ESSENTIAL`] set for weak/shortcut edges.
    pub list: &'g [u32],
}

impl<'g> RetainerArrays<'g> {
    /// Retainers of `n` through edges that count for dominators (see
    /// [`HeapGraph::essential_retainer_nodes`]).
    #[inline]
    pub fn essential(&self, n: NodeIx) -> impl Iterator<Item = NodeIx> + 'g {
        let run = self.first[n as usize] as usize..self.first[n as usize + 1] as usize;
        self.list[run]
            .iter()
            .filter(|&&r| r & NON_ESSENTIAL == 0)
            .copied()
    }
}

/// Does an edge of kind `kind` count for dominators (from the root when `from_root`)?
/// Weak edges never do, shortcuts only from the root.
#[inline]
fn essential_kind(kind: EdgeKind, from_root: bool) -> bool {
    match kind {
        EdgeKind::Weak => false,
        EdgeKind::Shortcut => from_root,
        _ => true,
    }
}

impl HeapGraph {
    /// Number of nodes.
    pub fn node_count(&self) -> usize {
        self.node_type.len()
    }

    /// Number of edges.
    pub fn edge_count(&self) -> usize {
        self.edge_to.len()
    }

    /// The root node (V8's synthetic root, node 0 unless the snapshot says otherwise).
    pub fn root(&self) -> NodeIx {
        self.root
    }

    /// The string table.
    pub fn strings(&self) -> &StringTable {
        &self.strings
    }

    /// The node's kind.
    #[inline]
    pub fn kind(&self, n: NodeIx) -> NodeKind {
        self.node_kinds[self.node_type[n as usize] as usize]
    }

    /// The node's type as the snapshot names it (`"object"`, `"closure"`, …).
    pub fn type_name(&self, n: NodeIx) -> &str {
        &self.node_type_names[self.node_type[n as usize] as usize]
    }

    /// The node's name string id.
    #[inline]
    pub fn name_id(&self, n: NodeIx) -> StrId {
        self.node_name[n as usize]
    }

    /// The node's name.
    #[inline]
    pub fn name(&self, n: NodeIx) -> &str {
        self.strings.get(self.node_name[n as usize])
    }

    /// The node's snapshot id (what DevTools shows as `@id`).
    #[inline]
    pub fn id(&self, n: NodeIx) -> u32 {
        self.node_id[n as usize]
    }

    /// The node's own (shallow) size in bytes.
    #[inline]
    pub fn self_size(&self, n: NodeIx) -> u64 {
        let s = self.node_self_size[n as usize];
        if s == BIG_SELF_SIZE {
            self.big_self_sizes.get(&n).copied().unwrap_or(s as u64)
        } else {
            s as u64
        }
    }

    /// Every node's self size as a column. It shares the graph's array (no copy) once the graph
    /// is built, until the caller changes a value.
    pub fn self_sizes(&self) -> SizeColumn {
        let big = self.big_self_sizes.iter().map(|(&n, &v)| (n, v)).collect();
        SizeColumn::from_raw_parts(self.node_self_size.clone(), big)
    }

    /// Allocation trace node id, 0 when unknown.
    pub fn trace_node_id(&self, n: NodeIx) -> u32 {
        self.node_trace_id.get(n as usize).copied().unwrap_or(0)
    }

    /// V8's detachedness: 0 unknown, 1 attached, 2 detached. 0 when the snapshot lacks the field.
    pub fn detachedness(&self, n: NodeIx) -> u8 {
        self.node_detachedness.get(n as usize).copied().unwrap_or(0)
    }

    /// True when the snapshot records detachedness.
    pub fn has_detachedness(&self) -> bool {
        !self.node_detachedness.is_empty()
    }

    /// The forward edge arrays as plain slices, for loops that run once an edge: a column
    /// tells owned from mapped at each access, a slice taken once does not.
    pub fn edge_arrays(&self) -> EdgeArrays<'_> {
        EdgeArrays {
            first: &self.first_edge,
            to: &self.edge_to,
            types: &self.edge_type,
        }
    }

    /// The retainer arrays as plain slices, for loops that run once a retainer (see
    /// [`edge_arrays`](Self::edge_arrays)).
    pub fn retainer_arrays(&self) -> RetainerArrays<'_> {
        RetainerArrays {
            first: &self.first_retainer,
            list: &self.retainers,
        }
    }

    /// For each edge type number (all 256), whether an edge of it from the root (`from_root`)
    /// or from another node counts for dominators (see
    /// [`is_essential_edge`](Self::is_essential_edge)), for loops over
    /// [`edge_arrays`](Self::edge_arrays): no bounds to check, no column to look up an edge.
    pub fn essential_edge_types(&self, from_root: bool) -> [bool; 256] {
        let mut table = [false; 256];
        for (flag, &k) in table.iter_mut().zip(&self.edge_kinds) {
            *flag = essential_kind(k, from_root);
        }
        table
    }

    /// For each edge type number, whether it is weak (never retains), for loops over
    /// [`edge_arrays`](Self::edge_arrays).
    pub fn weak_edge_types(&self) -> Vec<bool> {
        self.edge_kinds
            .iter()
            .map(|&k| k == EdgeKind::Weak)
            .collect()
    }

    /// Range of the node's outgoing edge indices.
    #[inline]
    pub fn edge_range(&self, n: NodeIx) -> std::ops::Range<usize> {
        self.first_edge[n as usize] as usize..self.first_edge[n as usize + 1] as usize
    }

    /// The node that splits the nodes in two halves of about equal work for a pass that
    /// reads each node and its edges: as many nodes plus edges come before it as from it on.
    pub fn halfway_by_edges(&self) -> NodeIx {
        let n = self.node_count();
        let work = |v: usize| v as u64 + self.first_edge[v] as u64;
        let half = work(n) / 2;
        let (mut lo, mut hi) = (0usize, n);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if work(mid) < half {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        lo as NodeIx
    }

    /// Target node of edge `e`.
    #[inline]
    pub fn edge_target(&self, e: usize) -> NodeIx {
        self.edge_to[e]
    }

    /// The node edge `e` starts at (binary search over the CSR offsets).
    pub fn edge_source(&self, e: usize) -> NodeIx {
        (self.first_edge.partition_point(|&f| f as usize <= e) - 1) as NodeIx
    }

    /// Edge `e` resolved.
    pub fn edge_ref(&self, e: usize) -> EdgeRef {
        EdgeRef {
            index: e as EdgeIx,
            from: self.edge_source(e),
            to: self.edge_to[e],
            kind: self.edge_kind(e),
            name_or_index: self.edge_name[e],
        }
    }

    /// Kind of edge `e`.
    #[inline]
    pub fn edge_kind(&self, e: usize) -> EdgeKind {
        self.edge_kinds[self.edge_type[e] as usize]
    }

    /// Edge `e`'s type as the snapshot names it (`"property"`, `"element"`, …).
    pub fn edge_type_name(&self, e: usize) -> &str {
        &self.edge_type_names[self.edge_type[e] as usize]
    }

    /// Edge `e`'s raw name field: a string id, or an index for element and hidden edges.
    #[inline]
    pub fn edge_name_or_index(&self, e: usize) -> u32 {
        self.edge_name[e]
    }

    /// The edge's name as DevTools prints it: `[3]` for elements, the property name otherwise.
    pub fn edge_label(&self, e: usize) -> String {
        let v = self.edge_name[e];
        match self.edge_kind(e) {
            EdgeKind::Element | EdgeKind::Hidden => format!("[{v}]"),
            _ => self.strings.get(v).to_string(),
        }
    }

    /// The node's outgoing edges.
    pub fn edges(&self, n: NodeIx) -> impl Iterator<Item = EdgeRef> + '_ {
        self.edge_range(n).map(move |e| EdgeRef {
            index: e as EdgeIx,
            from: n,
            to: self.edge_to[e],
            kind: self.edge_kind(e),
            name_or_index: self.edge_name[e],
        })
    }

    /// Number of incoming edges.
    pub fn retainer_count(&self, n: NodeIx) -> usize {
        let r = self.retainer_range(n);
        r.end - r.start
    }

    #[inline]
    fn retainer_range(&self, n: NodeIx) -> std::ops::Range<usize> {
        self.first_retainer[n as usize] as usize..self.first_retainer[n as usize + 1] as usize
    }

    /// Retaining nodes, one per incoming edge (a node appears once per edge it has to `n`).
    #[inline]
    pub fn retainer_nodes(&self, n: NodeIx) -> impl Iterator<Item = NodeIx> + '_ {
        self.retainers[self.retainer_range(n)]
            .iter()
            .map(|&r| r & !NON_ESSENTIAL)
    }

    /// Retainers through edges that count for dominators: not weak, and shortcuts only from
    /// the root (DevTools' "essential" edges).
    #[inline]
    pub fn essential_retainer_nodes(&self, n: NodeIx) -> impl Iterator<Item = NodeIx> + '_ {
        self.retainer_arrays().essential(n)
    }

    /// True when edge `e` (starting at `from`) counts for dominators.
    #[inline]
    pub fn is_essential_edge(&self, from: NodeIx, e: usize) -> bool {
        essential_kind(self.edge_kind(e), from == self.root)
    }

    /// Incoming edges, resolved to the edge itself (in retainer order).
    pub fn retainer_edges(&self, n: NodeIx) -> Vec<EdgeRef> {
        let mut out = Vec::with_capacity(self.retainer_count(n));
        let mut last = None;
        for from in self.retainer_nodes(n) {
            // Entries from one retainer are contiguous; resolve them all on its first entry.
            if last == Some(from) {
                continue;
            }
            last = Some(from);
            out.extend(self.edges(from).filter(|e| e.to == n));
        }
        out
    }

    /// Move what [`build_retainers`](Self::build_retainers) reads and a spill moves (the edge
    /// arrays, the nodes' names and ids) into a graph of their own, to build the retainers on
    /// another thread while the loader reads the rest into this one (V8 writes the strings
    /// after the edges); [`rejoin`](Self::rejoin) puts them back. Until then this graph has
    /// its nodes but no edges.
    pub(crate) fn split_off_edges(&mut self) -> HeapGraph {
        use std::mem::take;
        // The node count is the types' length; shared, the two graphs hold one array.
        self.node_type.share();
        HeapGraph {
            node_type: self.node_type.clone(),
            node_name: take(&mut self.node_name),
            node_id: take(&mut self.node_id),
            first_edge: take(&mut self.first_edge),
            edge_type: take(&mut self.edge_type),
            edge_name: take(&mut self.edge_name),
            edge_to: take(&mut self.edge_to),
            edge_kinds: self.edge_kinds.clone(),
            root: self.root,
            ..HeapGraph::default()
        }
    }

    /// Put back what [`split_off_edges`](Self::split_off_edges) took, once `edges` has its
    /// retainers built: the graph is then as [`build_retainers`](Self::build_retainers) leaves
    /// it.
    pub(crate) fn rejoin(&mut self, edges: HeapGraph) {
        self.node_name = edges.node_name;
        self.node_id = edges.node_id;
        self.first_edge = edges.first_edge;
        self.edge_type = edges.edge_type;
        self.edge_name = edges.edge_name;
        self.edge_to = edges.edge_to;
        self.first_retainer = edges.first_retainer;
        self.retainers = edges.retainers;
        // What `build_retainers` did to the other graph's (empty) self sizes.
        self.node_self_size.share();
    }

    /// Fill the retainer CSR from the edges (a counting sort by target in two stages, see
    /// `super::by_target`). With two threads the sources are split in two halves by edge
    /// count; each half deals its own edges, the lower half first within each target, so the
    /// order is the one-thread order.
    pub(crate) fn build_retainers(&mut self) {
        // The last step of every loader: the self sizes are final, and analyses start their
        // own size columns from them (`self_sizes`), sharing the array until they change it.
        self.node_self_size.share();
        // A big heap's edge arrays and node names and ids go to files (see `super::spill`),
        // if the loader did not make them there, before the retainers are built; the
        // retainers after.
        let spill = super::spill::dir_for(self.edge_array_bytes());
        // On failure (a full disk) what is left stays in memory: correct, only bigger.
        if let Some(dir) = &spill {
            let _ = self.spill_forward(dir);
        }
        let n = self.node_count();
        let m = self.edge_count();
        let (low, high) = if crate::parallel::two_threads() && m > 1 << 16 {
            // first_edge[n] = m, so the split is at most n.
            let mid = self.first_edge.partition_point(|&f| (f as usize) < m / 2) as NodeIx;
            (0..mid, mid..n as NodeIx)
        } else {
            (0..n as NodeIx, n as NodeIx..n as NodeIx)
        };
        // `is_essential_edge` as a flag per edge type, from the root and from any other node,
        // with the slices taken once: the sort asks once an edge, and would otherwise read
        // each column's kind and bounds each time.
        let flags = |from_root: bool| -> Vec<u32> {
            let flag = |&k| {
                if essential_kind(k, from_root) {
                    0
                } else {
                    NON_ESSENTIAL
                }
            };
            self.edge_kinds.iter().map(flag).collect()
        };
        let (flags_from_root, flags_from_other) = (flags(true), flags(false));
        let flags_of = |from: NodeIx| {
            if from == self.root {
                &flags_from_root[..]
            } else {
                &flags_from_other[..]
            }
        };
        let (first, retainers) = super::by_target::group_by_target(
            self.edge_arrays(),
            [low, high],
            flags_of,
            super::by_target::BUCKET_SHIFT,
        );
        self.first_retainer = first.into();
        self.retainers = retainers.into();
        if let Some(dir) = &spill {
            let _ = self.spill_retainers(dir);
        }
        self.release_spilled();
    }

    /// Heap bytes held by the graph's arrays (for the bytes-per-node figures).
    pub fn heap_bytes(&self) -> usize {
        self.node_type.capacity()
            + self.node_name.capacity() * 4
            + self.node_id.capacity() * 4
            + self.node_self_size.capacity() * 4
            + self.node_trace_id.capacity() * 4
            + self.node_detachedness.capacity()
            + self.first_edge.capacity() * 4
            + self.edge_type.capacity()
            + self.edge_name.capacity() * 4
            + self.edge_to.capacity() * 4
            + self.first_retainer.capacity() * 4
            + self.retainers.capacity() * 4
            + self.strings.heap_bytes()
    }

    /// Every string shaped like a WeakMap edge name (`3 / part of key (Foo @1) -> value (Bar @2)
    /// pair in WeakMap (table @3)`), with its (key id, table id); worked out once. Passes test
    /// an internal edge's name against it, so a heap without WeakMaps reads no edge names.
    pub fn ephemeron_names(&self) -> &super::FxHashMap<StrId, (u32, u32)> {
        self.ephemeron_names.get_or_init(|| {
            // Such a name starts with a digit: the rest are passed by on their first byte, and
            // the table is read in pieces on both cores.
            let (bytes, ends) = self.strings.raw_parts();
            const PIECE: usize = 1 << 18;
            let parsed = crate::parallel::pieces(ends.len().div_ceil(PIECE), |piece| {
                let ids = piece * PIECE..ends.len().min((piece + 1) * PIECE);
                ids.filter(|&i| {
                    let start = if i == 0 { 0 } else { ends[i - 1] as usize };
                    start < ends[i] as usize && bytes.get(start).is_some_and(u8::is_ascii_digit)
                })
                .filter_map(|i| {
                    let id = i as StrId;
                    Some((
                        id,
                        super::v8_rules::parse_ephemeron_edge(self.strings.get(id))?,
                    ))
                })
                .collect::<Vec<_>>()
            });
            let mut names = super::FxHashMap::default();
            names.reserve(parsed.iter().map(Vec::len).sum());
            names.extend(parsed.into_iter().flatten());
            names
        })
    }

    /// Bytes of the edge arrays (per-edge ones and the two offset arrays): what a spill moves.
    pub fn edge_array_bytes(&self) -> u64 {
        Self::edge_array_bytes_of(self.node_count() as u64, self.edge_to.len() as u64)
    }

    /// [`edge_array_bytes`](Self::edge_array_bytes) of a graph of `nodes` and `edges`.
    pub fn edge_array_bytes_of(nodes: u64, edges: u64) -> u64 {
        edges
            .saturating_mul(13)
            .saturating_add(nodes.saturating_add(1).saturating_mul(8))
    }

    /// Move the forward edge arrays (targets, kinds, names, offsets) and the nodes' names and
    /// ids to files in `dir`, read back through maps (see [`super::spill`]). Values are
    /// unchanged; only what stays resident differs. On an error the arrays not yet moved stay
    /// in memory, which is always correct.
    pub fn spill_forward(&mut self, dir: &super::spill::SpillDir) -> std::io::Result<()> {
        // Two writers, about half the bytes each: copying into the page cache is CPU-bound.
        let (named, rest) = crate::parallel::beside(
            || -> std::io::Result<()> {
                self.edge_name.spill_to(dir.new_file()?)?;
                self.node_name.spill_to(dir.new_file()?)?;
                self.node_id.spill_to(dir.new_file()?)
            },
            || -> std::io::Result<()> {
                self.edge_type.spill_to(dir.new_file()?)?;
                self.edge_to.spill_to(dir.new_file()?)?;
                self.first_edge.spill_to(dir.new_file()?)
            },
        );
        named.and(rest)
    }

    /// Move the retainer arrays to files in `dir`, as [`spill_forward`](Self::spill_forward).
    /// The main thread waits for this, so the two threads write about the same bytes: one
    /// the retainers' first part (4 bytes an edge), the other their offsets (4 bytes a node)
    /// and the rest (see [`Column::spill_split_to`]).
    pub fn spill_retainers(&mut self, dir: &super::spill::SpillDir) -> std::io::Result<()> {
        let cut = (self.retainers.len() + self.first_retainer.len()) / 2;
        let (file, tail_file, offsets_file) = (dir.new_file()?, dir.new_file()?, dir.new_file()?);
        let offsets = &mut self.first_retainer;
        self.retainers
            .spill_split_to(file, tail_file, cut, || offsets.spill_to(offsets_file))
    }

    /// Bytes of the arrays a spill moves: [`edge_array_bytes`](Self::edge_array_bytes) and
    /// the nodes' names and ids.
    pub fn spillable_bytes(&self) -> u64 {
        self.edge_array_bytes() + (self.node_name.len() + self.node_id.len()) as u64 * 4
    }

    /// Bytes of those arrays that are in files (spilled, or mapped from an index).
    pub fn mapped_bytes(&self) -> usize {
        self.first_edge.mapped_bytes()
            + self.edge_type.mapped_bytes()
            + self.edge_name.mapped_bytes()
            + self.edge_to.mapped_bytes()
            + self.first_retainer.mapped_bytes()
            + self.retainers.mapped_bytes()
            + self.node_name.mapped_bytes()
            + self.node_id.mapped_bytes()
    }

    /// Hand back the pages of spilled node names and ids: the dominator search reads no
    /// names, and ids only to test WeakMap edges.
    pub fn release_node_labels(&self) {
        self.node_name.release();
        self.node_id.release();
    }

    /// Hand back the pages of spilled edge names (a no-op for arrays in memory): the
    /// analyses read them only before the dominator search.
    pub fn release_edge_names(&self) {
        self.edge_name.release();
    }

    /// Hand back the pages of spilled forward edges (targets, kinds, offsets).
    pub fn release_forward_edges(&self) {
        self.first_edge.release();
        self.edge_type.release();
        self.edge_to.release();
    }

    /// Hand back the pages of spilled retainers.
    pub fn release_retainers(&self) {
        self.first_retainer.release();
        self.retainers.release();
    }

    /// [`release_retainers`](Self::release_retainers) for the retainers of `nodes` only: for
    /// a pass that reads them once, in node order.
    pub fn release_retainers_of(&self, nodes: std::ops::Range<NodeIx>) {
        if nodes.start < nodes.end {
            let first = self.first_retainer[nodes.start as usize] as usize;
            let last = self.first_retainer[nodes.end as usize] as usize;
            self.retainers.release_range(first..last);
            self.first_retainer
                .release_range(nodes.start as usize..nodes.end as usize);
        }
    }

    /// Hand back the pages of every spilled array.
    pub fn release_spilled(&self) {
        self.release_edge_names();
        self.release_forward_edges();
        self.release_retainers();
        self.release_node_labels();
    }

    /// The highest id of a heap object (natives and synthetic nodes left out): V8 hands ids
    /// out in allocation order, so this is the snapshot's own clock; 0 when it has none.
    pub fn last_object_id(&self) -> u32 {
        (0..self.node_count() as NodeIx)
            .filter(|&n| !matches!(self.kind(n), NodeKind::Native | NodeKind::Synthetic))
            .map(|n| self.id(n))
            .max()
            .unwrap_or(0)
    }

    /// Find a node by its snapshot id (linear scan: ids are not sorted in every producer).
    pub fn node_by_id(&self, id: u32) -> Option<NodeIx> {
        self.node_id
            .iter()
            .position(|&x| x == id)
            .map(|i| i as NodeIx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::builder::GraphBuilder;

    /// The WeakMap edge names found by their first byte, in pieces, are every string the
    /// parser takes: more strings than a piece holds, names that start with a digit and are
    /// not edge names, and edge names in both pieces.
    #[test]
    fn ephemeron_names_are_every_string_that_parses() {
        let mut b = GraphBuilder::new();
        let n = 300_000u32;
        for i in 0..n {
            let name = match i % 3 {
                0 => format!(
                    "{i} / part of key (Object @{i}) -> value (V @7) pair in WeakMap (table @{})",
                    i + 1
                ),
                1 => format!("{i} things"),
                _ => format!("name {i}"),
            };
            b.node(NodeKind::Object, &name, 2 * i + 1, 8);
        }
        let g = b.finish().unwrap();
        assert!(g.strings().len() > 1 << 18, "{} strings", g.strings().len());
        let all: super::super::FxHashMap<StrId, (u32, u32)> = g
            .strings()
            .iter()
            .filter_map(|(id, s)| Some((id, super::super::v8_rules::parse_ephemeron_edge(s)?)))
            .collect();
        assert_eq!(all.len(), n as usize / 3);
        assert_eq!(g.ephemeron_names(), &all);
    }

    /// The table of type numbers the dominator search tests gives what `is_essential_edge`
    /// gives, for every edge of a real heap, from the root and from other nodes; type numbers
    /// the heap has no kind for count for nothing.
    #[test]
    fn essential_edge_types_agree_with_is_essential_edge() {
        let g = crate::formats::load_sample("node-leak/target.heapsnapshot").graph;
        let tables = [g.essential_edge_types(false), g.essential_edge_types(true)];
        let edges = g.edge_arrays();
        for from in 0..g.node_count() as NodeIx {
            let table = &tables[(from == g.root()) as usize];
            for e in edges.range(from) {
                assert_eq!(table[edges.types[e] as usize], g.is_essential_edge(from, e));
            }
        }
        assert!(tables
            .iter()
            .all(|t| !t[g.edge_kinds.len()..].iter().any(|&f| f)));
        assert!(
            tables[1].iter().filter(|&&f| f).count() > tables[0].iter().filter(|&&f| f).count()
        );
    }

    /// Big enough for the two-half counting sort; compared with retainers gathered by hand
    /// (every source in order, its edges in order), flags included.
    #[test]
    fn retainers_from_two_halves_equal_the_one_pass_order() {
        let mut b = GraphBuilder::new();
        let n = 20_000u32;
        for i in 0..n {
            b.node(NodeKind::Object, "O", 2 * i + 1, 8);
        }
        let mut random = crate::test_rng::xorshift(12345);
        let mut next = || (random() >> 32) as u32;
        for from in 0..n {
            for _ in 0..(next() % 9) {
                let kind = if next() % 5 == 0 {
                    EdgeKind::Weak
                } else {
                    EdgeKind::Property
                };
                b.edge(from, kind, "p", next() % n);
            }
        }
        let g = b.finish().unwrap();
        assert!(g.edge_count() > 1 << 16, "{} edges", g.edge_count());
        let mut expected: Vec<Vec<u32>> = vec![Vec::new(); n as usize];
        for from in 0..n {
            for e in g.edge_range(from) {
                let flag = if g.is_essential_edge(from, e) {
                    0
                } else {
                    NON_ESSENTIAL
                };
                expected[g.edge_target(e) as usize].push(from | flag);
            }
        }
        for t in 0..n {
            assert_eq!(
                &g.retainers[g.retainer_range(t)],
                &expected[t as usize][..],
                "node {t}"
            );
        }
    }
}
