//! Where a snapshot's bytes live outside ordinary JS objects: the JS heap, `ArrayBuffer`
//! backing stores, WebAssembly linear memories, and external/native memory, in parts that add
//! up exactly to the Summary's total; the WebAssembly memories themselves; and which
//! user-level objects hold the large buffers.
//!
//! Every node goes to exactly one part by its DevTools shallow size, and Chromium's
//! `extra_native_bytes` (bytes outside the graph) to the external part, so the parts sum to the
//! root's retained size plus `extra_native_bytes`, the total the Summary shows. The rules:
//!
//! - **WebAssembly memory**: a `system / JSArrayBufferData` node whose `ArrayBuffer` (its
//!   `backing_store` retainer) is the buffer of a `WebAssembly.Memory` object.
//! - **ArrayBuffer backing stores**: every other `system / JSArrayBufferData` node.
//! - **External and native**: other native (embedder) nodes, `system / ExternalStringData`,
//!   strings that hold external string data, and `extra_native_bytes`.
//! - **JS heap**: everything else (objects, closures, code, strings, arrays, V8's own objects).
//!
//! Memory: one byte a node for its part, plus the lists, which are as long as the WASM
//! memories, large buffers and wrapper classes. Holders are in `buffer_holders`, wrappers in
//! `wasm_wrappers`.

use serde::Serialize;

use super::buffer_holders::buffer_holders;
pub use super::buffer_holders::{BufferHolder, BufferPool, BufferShape};
use super::detached::{path_text, PathText};
use super::retainers::ShownPaths;
use super::wasm_wrappers::WasmWrappers;
use super::AnalyzedSnapshot;
use crate::model::v8_rules::{
    backing_store, buffer_views, wasm_instance_exports, wasm_instance_module, wasm_memory_buffer,
    wasm_memory_instance, wasm_module_name, ARRAY_BUFFER_DATA, EXTERNAL_STRING_DATA,
    WASM_MEMORY_CLASS, WASM_PAGE_SIZE,
};
use crate::model::{HeapGraph, NameIds, NodeIx, NodeKind};

/// Default for [`MemoryMap::build`]'s `min_buffer`: backing stores of 64 KiB or more count as
/// large.
pub const DEFAULT_MIN_BUFFER: u64 = 64 * 1024;

/// One of the parts the memory map splits the total into.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PartKind {
    /// Objects on V8's heap.
    JsHeap = 0,
    /// `ArrayBuffer` backing stores that are not WebAssembly memory.
    ArrayBuffers,
    /// WebAssembly linear memories.
    WasmMemory,
    /// External strings, embedder objects and other native bytes.
    External,
}

impl PartKind {
    /// Every part, in the order reports show them.
    pub const ALL: [PartKind; 4] = [
        PartKind::JsHeap,
        PartKind::ArrayBuffers,
        PartKind::WasmMemory,
        PartKind::External,
    ];

    /// A label for tables.
    pub fn label(self) -> &'static str {
        match self {
            PartKind::JsHeap => "JS heap",
            PartKind::ArrayBuffers => "ArrayBuffer backing stores",
            PartKind::WasmMemory => "WebAssembly memory",
            PartKind::External => "External / native",
        }
    }
}

/// One part's figures.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct MemoryPart {
    /// Which part.
    pub kind: PartKind,
    /// Bytes (sum of shallow sizes; `extra_native_bytes` too for the external part).
    pub bytes: u64,
    /// `bytes / total` (0 when the total is 0).
    pub share: f64,
    /// Nodes counted in it.
    pub node_count: u64,
}

/// An object viewing a buffer (a typed array or `DataView`).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct BufferView {
    /// Its class (`Float32Array`, `Uint8Array`, …).
    pub class: String,
    /// Its snapshot id.
    pub id: u32,
}

/// A `WebAssembly.Memory` and what sees its bytes.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct WasmMemory {
    /// The `Memory` object's snapshot id.
    pub id: u32,
    /// The id of its `ArrayBuffer`.
    pub buffer_id: u32,
    /// Its byte length (the backing store's size; 0 when the snapshot has none).
    pub bytes: u64,
    /// `bytes / 65 536`.
    pub pages: u64,
    /// The `WebAssembly.Instance` that holds it (its id), if one does.
    pub instance_id: Option<u32>,
    /// The instance's `WebAssembly.Module` (its id).
    pub module_id: Option<u32>,
    /// The module's code name (`wasm://wasm/9c3bd02a`), empty when unknown.
    pub module_name: String,
    /// The instance's exports object (its id).
    pub exports_id: Option<u32>,
    /// Shortest retainer path from the root to the `Memory` object.
    pub retainer_path: Vec<PathText>,
    /// Shortest retainer path from the root to the instance: what keeps it alive.
    pub instance_path: Vec<PathText>,
    /// Typed arrays and `DataView`s onto its buffer. Node 20 snapshots record neither their
    /// offset nor their length.
    pub views: Vec<BufferView>,
    /// The backing store (node index).
    #[serde(skip)]
    pub data: Option<NodeIx>,
    /// The `Memory` object (node index).
    #[serde(skip)]
    pub node: NodeIx,
}

/// The memory map of one snapshot.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct MemoryMap {
    /// The Summary's total: root retained size plus `extra_native_bytes`.
    pub total: u64,
    /// The parts, in [`PartKind::ALL`] order; their bytes sum to `total`.
    pub parts: Vec<MemoryPart>,
    /// Every `WebAssembly.Memory`, largest first.
    pub wasm_memories: Vec<WasmMemory>,
    /// Backing stores of at least this many bytes count as large.
    pub min_buffer: u64,
    /// Large non-WASM backing stores by holder, most bytes first.
    pub buffer_holders: Vec<BufferHolder>,
    /// JS objects holding pointers into WebAssembly memory (wasm-bindgen wrappers), by class.
    pub wasm_wrappers: WasmWrappers,
}

impl MemoryMap {
    /// Build the map of `s`; backing stores of `min_buffer` bytes or more are grouped by holder.
    pub fn build(s: &AnalyzedSnapshot, min_buffer: u64) -> Self {
        Self {
            wasm_wrappers: WasmWrappers::build(s),
            ..Self::figures(s, min_buffer, true)
        }
    }

    /// The map's figures: parts, memories and holders, with their retainer paths when `paths`
    /// is set (else empty), and no [`MemoryMap::wasm_wrappers`]. A trend takes only these: it
    /// has no series of wrappers and shows no paths, and a path needs a breadth-first search
    /// of the whole graph.
    pub fn figures(s: &AnalyzedSnapshot, min_buffer: u64, paths: bool) -> Self {
        let g = s.graph();
        let a = &s.analysis;
        let extra = s.snapshot.info.extra_native_bytes.unwrap_or(0);

        let mut wasm_memories = find_wasm_memories(s, paths);
        let wasm_data: std::collections::HashSet<NodeIx> =
            wasm_memories.iter().filter_map(|m| m.data).collect();

        // Per part, in `PartKind::ALL` order. Names are compared by string id, so no string is
        // read a node; each half of the nodes is counted on its own thread.
        let [data_names, external_data] = g
            .strings()
            .ids_of_each([ARRAY_BUFFER_DATA, EXTERNAL_STRING_DATA]);
        let count = |nodes: std::ops::Range<NodeIx>| {
            let mut tally = PartTally::default();
            for n in nodes {
                let kind = g.kind(n);
                let part = if kind == NodeKind::Native && data_names.contains(g.name_id(n)) {
                    if wasm_data.contains(&n) {
                        PartKind::WasmMemory
                    } else {
                        if g.self_size(n) >= min_buffer {
                            tally.large.push(n);
                        }
                        PartKind::ArrayBuffers
                    }
                } else if kind == NodeKind::Native || holds_external_string(g, n, &external_data) {
                    PartKind::External
                } else {
                    PartKind::JsHeap
                };
                tally.bytes[part as usize] += a.shallow_size(n);
                tally.counts[part as usize] += 1;
            }
            tally
        };
        let mid = g.node_count() as NodeIx / 2;
        let (high, low) =
            crate::parallel::beside(|| count(mid..g.node_count() as NodeIx), || count(0..mid));
        let PartTally {
            mut bytes,
            counts,
            large,
        } = low.add(high);
        bytes[PartKind::External as usize] += extra;

        let total = a.retained_size(g.root()) + extra;
        let parts = PartKind::ALL
            .iter()
            .map(|&kind| {
                let b = bytes[kind as usize];
                MemoryPart {
                    kind,
                    bytes: b,
                    share: if total == 0 {
                        0.0
                    } else {
                        b as f64 / total as f64
                    },
                    node_count: counts[kind as usize],
                }
            })
            .collect();

        wasm_memories.sort_by(|x, y| y.bytes.cmp(&x.bytes).then(x.id.cmp(&y.id)));
        Self {
            total,
            parts,
            wasm_memories,
            min_buffer,
            buffer_holders: buffer_holders(s, &large, paths),
            wasm_wrappers: WasmWrappers::default(),
        }
    }

    /// The figures of one part.
    pub fn part(&self, kind: PartKind) -> &MemoryPart {
        // `parts` always holds every kind, in `ALL` order.
        &self.parts[PartKind::ALL.iter().position(|&k| k == kind).unwrap_or(0)]
    }
}

/// Bytes and nodes per part (in `PartKind::ALL` order) of some nodes, and their large
/// buffers in node order.
#[derive(Default)]
struct PartTally {
    bytes: [u64; 4],
    counts: [u64; 4],
    large: Vec<NodeIx>,
}

impl PartTally {
    /// The tally of these nodes and then `later`'s.
    fn add(mut self, later: Self) -> Self {
        for k in 0..4 {
            self.bytes[k] += later.bytes[k];
            self.counts[k] += later.counts[k];
        }
        self.large.extend(later.large);
        self
    }
}

/// A string whose characters live outside the V8 heap: it has an edge to external string data
/// (DevTools moves that data's size to the string, so the string's shallow size is external).
/// `external_data` are the ids of that data's name.
fn holds_external_string(g: &HeapGraph, n: NodeIx, external_data: &NameIds) -> bool {
    !external_data.is_empty()
        && g.kind(n).is_string()
        && g.edges(n).any(|e| external_data.contains(g.name_id(e.to)))
}

/// Each `WebAssembly.Memory` of `s`: its id and bytes (no paths, no other part of the map).
pub fn wasm_memory_sizes(s: &AnalyzedSnapshot) -> Vec<(u32, u64)> {
    find_wasm_memories(s, false)
        .iter()
        .map(|m| (m.id, m.bytes))
        .collect()
}

/// Every `WebAssembly.Memory` of `s`, with its buffer, size, path and views.
fn find_wasm_memories(s: &AnalyzedSnapshot, paths: bool) -> Vec<WasmMemory> {
    let g = s.graph();
    // Only nodes named like a memory can be one: tested by id first, so the other nodes cost
    // no string read.
    let memory_names = g.strings().ids_of(WASM_MEMORY_CLASS);
    if memory_names.is_empty() {
        return Vec::new();
    }
    let mut shown = ShownPaths::new(g, &s.analysis);
    (0..g.node_count() as NodeIx)
        .filter_map(|n| {
            if !memory_names.contains(g.name_id(n)) {
                return None;
            }
            let buffer = wasm_memory_buffer(g, n)?;
            let data = backing_store(g, buffer);
            let bytes = data.map_or(0, |d| g.self_size(d));
            let instance = wasm_memory_instance(g, n);
            let module = instance.and_then(|i| wasm_instance_module(g, i));
            Some(WasmMemory {
                instance_id: instance.map(|i| g.id(i)),
                module_id: module.map(|m| g.id(m)),
                module_name: module
                    .and_then(|m| wasm_module_name(g, m))
                    .unwrap_or_default()
                    .to_string(),
                exports_id: instance
                    .and_then(|i| wasm_instance_exports(g, i))
                    .map(|x| g.id(x)),
                instance_path: instance
                    .filter(|_| paths)
                    .map(|i| path_text(s, &mut shown, i))
                    .unwrap_or_default(),
                id: g.id(n),
                buffer_id: g.id(buffer),
                bytes,
                pages: bytes / WASM_PAGE_SIZE,
                retainer_path: if paths {
                    path_text(s, &mut shown, n)
                } else {
                    Vec::new()
                },
                views: buffer_views(g, buffer)
                    .into_iter()
                    .map(|v| BufferView {
                        class: s.class_name(v).to_string(),
                        id: g.id(v),
                    })
                    .collect(),
                data,
                node: n,
            })
        })
        .collect()
}
