//! The in-memory model every input format loads into: a [`HeapGraph`] plus what the file said
//! about itself and any allocation traces it carried.

pub mod alloc;
mod builder;
mod by_target;
pub mod column;
pub mod column_writer;
pub mod folding;
pub mod fxhash;
pub mod graph;
pub mod kinds;
mod petgraph_impl;
pub mod sizes;
pub mod spill;
pub mod strings;
pub mod v8_rules;

pub use builder::{GraphBuildError, GraphBuilder};
pub use column::Column;
pub use fxhash::{FxHashMap, FxHashSet};
pub use graph::{EdgeIx, EdgeRef, HeapGraph, NodeIx};
pub use kinds::{EdgeKind, NodeKind};
pub use sizes::SizeColumn;
pub use strings::{NameIds, StrId, StringTable};

/// A loaded heap: the graph and what came with it.
#[derive(Debug, Default, Clone)]
pub struct Snapshot {
    /// Nodes, edges, retainers and strings.
    pub graph: HeapGraph,
    /// Facts about the file.
    pub info: SnapshotInfo,
    /// Allocation traces (heap timelines and snapshots taken with allocation tracking).
    pub traces: AllocationTraces,
    /// For allocation profiles (DHAT, heaptrack, pprof): the sites and metrics the call-tree
    /// graph was built from.
    pub alloc: Option<Box<alloc::AllocProfile>>,
}

/// Facts from the snapshot header.
#[derive(Debug, Default, Clone)]
pub struct SnapshotInfo {
    /// `snapshot.title`, when present.
    pub title: Option<String>,
    /// `snapshot.extra_native_bytes` (Chromium), when present.
    pub extra_native_bytes: Option<u64>,
    /// `snapshot.node_count` as declared (the loader trusts what it read, not this).
    pub declared_node_count: u64,
    /// `snapshot.edge_count` as declared.
    pub declared_edge_count: u64,
}

/// A flat table of integers with named columns, as V8 writes `samples`, `locations` and
/// `trace_function_infos`.
#[derive(Debug, Default, Clone)]
pub struct FieldTable {
    /// Column names from `snapshot.meta`.
    pub fields: Vec<String>,
    /// Row-major values.
    pub values: Vec<i64>,
}

impl FieldTable {
    /// Number of rows.
    pub fn rows(&self) -> usize {
        if self.fields.is_empty() {
            0
        } else {
            self.values.len() / self.fields.len()
        }
    }

    /// Value of column `name` in row `row`.
    pub fn get(&self, row: usize, name: &str) -> Option<i64> {
        let col = self.fields.iter().position(|f| f == name)?;
        self.values.get(row * self.fields.len() + col).copied()
    }
}

/// One node of V8's allocation trace tree (a call stack prefix with allocation totals).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct TraceNode {
    /// Trace node id, as referenced by nodes' `trace_node_id`.
    pub id: u32,
    /// Row in `trace_function_infos`.
    pub function_info_index: u32,
    /// Live allocations counted at this stack.
    pub count: u32,
    /// Live bytes counted at this stack.
    pub size: u64,
    /// Index of the parent in the tree vector, `u32::MAX` for top-level nodes.
    pub parent: u32,
}

/// Allocation tracking data kept from the file, when present.
#[derive(Debug, Default, Clone)]
pub struct AllocationTraces {
    /// `trace_function_infos`: function id, name, script name, script id, line, column.
    pub function_infos: FieldTable,
    /// `trace_tree`, flattened parent-first.
    pub tree: Vec<TraceNode>,
    /// `samples`: timestamp and last assigned object id.
    pub samples: FieldTable,
    /// `locations`: source positions of objects, sorted by node.
    pub locations: Vec<Location>,
}

/// Where an object was created (from the `locations` section).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Location {
    /// The node (ordinal).
    pub node: u32,
    /// Script id.
    pub script_id: u32,
    /// Zero-based line.
    pub line: u32,
    /// Zero-based column.
    pub column: u32,
}

impl AllocationTraces {
    /// True when the file carried no allocation data.
    pub fn is_empty(&self) -> bool {
        self.tree.is_empty()
            && self.samples.rows() == 0
            && self.function_infos.rows() == 0
            && self.locations.is_empty()
    }
}
