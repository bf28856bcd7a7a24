//! The report's WebAssembly and tensor sections: the memory map of each snapshot (parts, WASM
//! memories, wasm-bindgen wrappers, large buffers by holder) and, over several snapshots, how
//! the WASM memories, holders and pools grew.

use serde::Serialize;

use super::SnapshotSection;
use crate::analysis::detached::PathText;
use crate::analysis::memory_map::{BufferHolder, MemoryMap, PartKind};
use crate::report::document::Block;
use crate::report::human_bytes;
use crate::report::memory::{holder_label, shapes_line, via_suffix};

/// Holders kept per snapshot in the report.
pub const REPORT_HOLDERS: usize = 20;

/// One thing measured in every snapshot: a WASM memory's bytes, a holder's buffer bytes, a
/// pool's buffer count.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct MemorySeries {
    /// `wasm_memory`, `buffer_holder` or `pool`.
    pub kind: &'static str,
    /// What it is: `Memory @49067`, `BufferPool @71713 .buffers`.
    pub label: String,
    /// Its value per snapshot, in the report's order (bytes, or buffers for a pool); null where
    /// the snapshot doesn't have it.
    pub values: Vec<Option<u64>>,
    /// Grew from each snapshot to the next.
    pub grows_every_step: bool,
}

/// Match WASM memories, holders and pools across the sections by snapshot id (ids are stable
/// within one process) and list their values per snapshot, growing ones first.
pub fn memory_growth(sections: &[SnapshotSection]) -> Vec<MemorySeries> {
    let maps: Vec<Option<&MemoryMap>> = sections.iter().map(|s| s.memory.as_ref()).collect();
    if maps.len() < 2 || maps.iter().any(|m| m.is_none()) {
        return Vec::new();
    }
    let maps: Vec<&MemoryMap> = maps.into_iter().flatten().collect();
    let mut series: Vec<MemorySeries> = Vec::new();
    let mut add = |kind: &'static str, label: String, value: &dyn Fn(&MemoryMap) -> Option<u64>| {
        if series.iter().any(|s| s.kind == kind && s.label == label) {
            return;
        }
        let values: Vec<Option<u64>> = maps.iter().map(|m| value(m)).collect();
        let grows_every_step = values.windows(2).all(|w| match (w[0], w[1]) {
            (Some(a), Some(b)) => b > a,
            (None, Some(_)) => true,
            _ => false,
        });
        series.push(MemorySeries {
            kind,
            label,
            values,
            grows_every_step,
        });
    };
    for m in &maps {
        for w in &m.wasm_memories {
            let id = w.id;
            add("wasm_memory", format!("Memory @{id}"), &|m: &MemoryMap| {
                m.wasm_memories.iter().find(|x| x.id == id).map(|x| x.bytes)
            });
        }
        for h in m.buffer_holders.iter().take(REPORT_HOLDERS) {
            add("buffer_holder", holder_label(h), &|m: &MemoryMap| {
                same_holder(m, h).map(|x| x.bytes)
            });
            if h.pool.is_some() {
                add("pool", holder_label(h), &|m: &MemoryMap| {
                    same_holder(m, h)
                        .and_then(|x| x.pool.as_ref())
                        .map(|p| p.count)
                });
            }
        }
    }
    series.sort_by_key(|s| !s.grows_every_step);
    series
}

/// `h` in another snapshot's map: the same object, by the same edge into its buffers.
fn same_holder<'m>(m: &'m MemoryMap, h: &BufferHolder) -> Option<&'m BufferHolder> {
    m.buffer_holders
        .iter()
        .find(|x| x.id == h.id && x.via == h.via)
}

/// The memory blocks of one snapshot: the map's parts, then WASM, wrappers and tensors when it
/// has them.
pub fn snapshot_memory_blocks(m: &MemoryMap) -> Vec<Block> {
    let mut b = vec![Block::Heading(3, "Memory map".into())];
    b.push(Block::Bars {
        items: m
            .parts
            .iter()
            .map(|p| {
                (
                    p.kind.label().to_string(),
                    p.bytes,
                    format!(
                        "{} · {:.1} % · {} bytes",
                        human_bytes(p.bytes),
                        p.share * 100.0,
                        p.bytes
                    ),
                )
            })
            .collect(),
        total: m.total,
    });
    if !m.wasm_memories.is_empty() {
        b.push(Block::Heading(3, "WebAssembly memory".into()));
        b.push(Block::Paragraph(format!(
            "{} WebAssembly.Memory object(s) hold {} of linear memory ({:.1} % of the total).",
            m.wasm_memories.len(),
            human_bytes(m.part(PartKind::WasmMemory).bytes),
            m.part(PartKind::WasmMemory).share * 100.0
        )));
        b.push(Block::table(
            &["Memory", "Pages", "Bytes", "Module", "Views", "Kept by"],
            &[false, true, true, false, false, false],
            m.wasm_memories
                .iter()
                .map(|w| {
                    vec![
                        format!("Memory @{}", w.id),
                        w.pages.to_string(),
                        w.bytes.to_string(),
                        w.module_name.clone(),
                        w.views
                            .iter()
                            .map(|v| v.class.as_str())
                            .collect::<Vec<_>>()
                            .join(", "),
                        path_steps(&w.instance_path),
                    ]
                })
                .collect(),
        ));
    }
    let wr = &m.wasm_wrappers;
    if !wr.classes.is_empty() {
        b.push(Block::Heading(3, "Wrappers into WebAssembly memory".into()));
        b.push(Block::Paragraph(format!(
            "{} JS object(s) hold a pointer into WebAssembly memory the way wasm-bindgen classes do. \
             Freed ones had free() called (pointer 0) but are still held: the JS side leaks them.{}",
            wr.total(),
            if wr.numeric_values {
                ""
            } else {
                " This snapshot records no numeric values, so freed and live can't be told apart."
            }
        )));
        b.push(Block::table(
            &[
                "Class", "Field", "Count", "Live", "Freed", "Unknown", "Held by",
            ],
            &[false, false, true, true, true, true, false],
            wr.classes
                .iter()
                .map(|c| {
                    vec![
                        c.class.clone(),
                        c.field.to_string(),
                        c.count.to_string(),
                        c.live.to_string(),
                        c.freed.to_string(),
                        c.unknown.to_string(),
                        c.holders
                            .iter()
                            .map(|h| {
                                let via = via_suffix(&h.via);
                                format!("{} × {} @{}{via}", h.count, h.class, h.id)
                            })
                            .collect::<Vec<_>>()
                            .join("; "),
                    ]
                })
                .collect(),
        ));
    }
    if !m.buffer_holders.is_empty() {
        b.push(Block::Heading(
            3,
            format!("Buffers of {} or more by holder", human_bytes(m.min_buffer)),
        ));
        b.push(Block::table(
            &["Holder", "Buffers", "Bytes", "Shapes", "Path"],
            &[false, true, true, false, false],
            m.buffer_holders
                .iter()
                .map(|h| {
                    vec![
                        holder_label(h),
                        h.count.to_string(),
                        human_bytes(h.bytes),
                        shapes_line(h),
                        path_steps(&h.retainer_path),
                    ]
                })
                .collect(),
        ));
    }
    b
}

/// A path for a table cell: `global @6055 → trainer: Object @45627 → pool: BufferPool @71713`
/// (the root's own edge left out).
fn path_steps(path: &[PathText]) -> String {
    path.iter()
        .enumerate()
        .map(|(i, s)| {
            let gap = s.gap().map(|g| format!("{g} → ")).unwrap_or_default();
            if i == 0 {
                format!("{gap}{} @{}", s.node_class, s.node_id)
            } else {
                format!("{gap}{}: {} @{}", s.edge_name, s.node_class, s.node_id)
            }
        })
        .collect::<Vec<_>>()
        .join(" → ")
}

/// The growth table over all snapshots, or nothing.
pub fn memory_growth_blocks(series: &[MemorySeries]) -> Vec<Block> {
    if series.is_empty() {
        return Vec::new();
    }
    let cell = |kind: &str, v: Option<u64>| match v {
        None => "–".to_string(),
        Some(v) if kind == "pool" => format!("{v} buffers"),
        Some(v) => human_bytes(v),
    };
    vec![
        Block::Heading(2, "WebAssembly and buffer memory over the snapshots".into()),
        Block::Paragraph(
            "WebAssembly memories, large-buffer holders and pools matched by object id across the \
             snapshots, in the order given; the ones that grew at every step first."
                .into(),
        ),
        Block::table(
            &["What", "Kind", "Per snapshot", "Grows every step"],
            &[false, false, false, false],
            series
                .iter()
                .map(|s| {
                    vec![
                        s.label.clone(),
                        s.kind.replace('_', " "),
                        s.values
                            .iter()
                            .map(|v| cell(s.kind, *v))
                            .collect::<Vec<_>>()
                            .join(" → "),
                        if s.grows_every_step { "yes" } else { "no" }.to_string(),
                    ]
                })
                .collect(),
        ),
    ]
}
