//! Writers for `heapsight memory`: the memory map as a text table, or as JSON (schema in
//! docs/json-schema.md, "memory").

use serde::Serialize;

use crate::analysis::detached::PathText;
use crate::analysis::memory_map::{BufferHolder, MemoryMap};
use crate::error::Result;
use crate::report::json::to_json;
use crate::units::human_bytes;

/// Large buffer holders shown in the text table.
const TEXT_HOLDERS: usize = 20;

/// `heapsight memory --json`: the map with the file it came from.
#[derive(Debug, Serialize)]
pub struct MemoryJson<'a> {
    /// The snapshot file.
    pub file: String,
    /// The map.
    #[serde(flatten)]
    pub map: &'a MemoryMap,
}

/// The map as JSON.
pub fn json(file: &str, map: &MemoryMap) -> Result<String> {
    to_json(&MemoryJson {
        file: file.to_string(),
        map,
    })
}

/// A retainer path on one line from the root:
/// `(root) --[2]--> global @6055 --trainer--> Object @50741 --cache--> ActivationCache @6179`.
pub fn path_line(path: &[PathText]) -> String {
    if path.is_empty() {
        return "(no path from the root)".to_string();
    }
    let mut out = String::from("(root)");
    for s in path {
        if let Some(gap) = s.gap() {
            out.push_str(&format!(" {gap}"));
        }
        out.push_str(&format!(
            " --{}--> {} @{}",
            s.edge_name, s.node_class, s.node_id
        ));
    }
    out
}

/// The map as a text report: the parts with bytes and share, the WebAssembly memories with
/// their views and paths, then the first holders of large buffers.
pub fn text(file: &str, m: &MemoryMap) -> String {
    let mut out = format!("{file}: {} in all\n\n", human_bytes(m.total));
    out.push_str(&format!(
        "{:<28} {:>14} {:>10} {:>7} {:>10}\n",
        "Part", "Bytes", "", "Share", "Nodes"
    ));
    for p in &m.parts {
        out.push_str(&format!(
            "{:<28} {:>14} {:>10} {:>6.2}% {:>10}\n",
            p.kind.label(),
            p.bytes,
            human_bytes(p.bytes),
            p.share * 100.0,
            p.node_count
        ));
    }
    out.push_str(&format!(
        "{:<28} {:>14} {:>10}\n",
        "Total",
        m.total,
        human_bytes(m.total)
    ));

    out.push_str(&format!(
        "\nWebAssembly memories: {}\n",
        m.wasm_memories.len()
    ));
    for w in &m.wasm_memories {
        out.push_str(&format!(
            "  Memory @{}: {} bytes ({}), {} page(s), ArrayBuffer @{}\n    path: {}\n",
            w.id,
            w.bytes,
            human_bytes(w.bytes),
            w.pages,
            w.buffer_id,
            path_line(&w.retainer_path)
        ));
        if let Some(instance) = w.instance_id {
            let module = match (w.module_id, w.module_name.as_str()) {
                (Some(id), "") => format!(", Module @{id}"),
                (Some(id), name) => format!(", Module @{id} ({name})"),
                (None, _) => String::new(),
            };
            let exports = w
                .exports_id
                .map(|id| format!(", exports @{id}"))
                .unwrap_or_default();
            out.push_str(&format!(
                "    instance: Instance @{instance}{module}{exports}\n    kept by: {}\n",
                path_line(&w.instance_path)
            ));
        }
        if w.views.is_empty() {
            out.push_str("    views: none\n");
        } else {
            let views: Vec<String> = w
                .views
                .iter()
                .map(|v| format!("{} @{}", v.class, v.id))
                .collect();
            out.push_str(&format!("    views: {}\n", views.join(", ")));
        }
    }

    out.push_str(&format!(
        "\nBuffers of {} or more (not WebAssembly) by holder: {}\n",
        human_bytes(m.min_buffer),
        m.buffer_holders.len()
    ));
    for h in m.buffer_holders.iter().take(TEXT_HOLDERS) {
        out.push_str(&format!(
            "  {:>12} {:>10}  {:>5} buffer(s)  {}\n    {}\n    path: {}\n",
            h.bytes,
            human_bytes(h.bytes),
            h.count,
            holder_label(h),
            shapes_line(h),
            path_line(&h.retainer_path)
        ));
    }
    if m.buffer_holders.len() > TEXT_HOLDERS {
        out.push_str(&format!(
            "  … {} more (see --json)\n",
            m.buffer_holders.len() - TEXT_HOLDERS
        ));
    }
    out.push_str(&wrappers_text(m));
    out
}

/// `BufferPool @6175 .buffers`, `Map @75227`, `Object onTick @12` for a closure.
pub fn holder_label(h: &BufferHolder) -> String {
    let mut who = if h.name.is_empty() {
        format!("{} @{}", h.class, h.id)
    } else {
        format!("{} {} @{}", h.class, h.name, h.id)
    };
    who.push_str(&via_suffix(&h.via));
    who
}

/// ` .registry` for a holder's edge into the chain that reaches what it holds; empty for none.
pub fn via_suffix(via: &str) -> String {
    if via.is_empty() {
        String::new()
    } else {
        format!(" .{via}")
    }
}

/// `pool of 3 × 128 KiB: Uint8Array(131072) × 3` or `Float32Array(16384) × 12` (the pool's
/// array id is in the JSON).
pub fn shapes_line(h: &BufferHolder) -> String {
    let shapes: Vec<String> = h
        .shapes
        .iter()
        .map(|sh| format!("{} × {}", sh.label(), sh.count))
        .collect();
    match &h.pool {
        Some(p) => format!(
            "pool of {} × {}: {}",
            p.count,
            human_bytes(p.buffer_bytes),
            shapes.join(", ")
        ),
        None => shapes.join(", "),
    }
}

/// The wasm-bindgen wrappers section.
fn wrappers_text(m: &MemoryMap) -> String {
    let w = &m.wasm_wrappers;
    let mut out = format!(
        "\nWrappers into WebAssembly memory (__wbg_ptr, or ptr with free()): {} in {} class(es)\n",
        w.total(),
        w.classes.len()
    );
    if !w.numeric_values && !w.classes.is_empty() {
        out.push_str(
            "  (the snapshot records no numeric values: freed and live can't be told apart;\n   \
             take it with exposeNumericValues / captureNumericValue)\n",
        );
    }
    for c in &w.classes {
        out.push_str(&format!(
            "  {:<24} {:>7} ({}: {} live, {} freed, {} unknown)\n",
            c.class, c.count, c.field, c.live, c.freed, c.unknown
        ));
        for h in &c.holders {
            let via = via_suffix(&h.via);
            out.push_str(&format!(
                "    {} held by {} @{}{via}: {}\n",
                h.count,
                h.class,
                h.id,
                path_line(&h.retainer_path)
            ));
        }
    }
    out
}
