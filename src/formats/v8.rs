//! V8 heap snapshots (`.heapsnapshot`) and heap timelines (`.heaptimeline`), from Node, Chrome,
//! Electron and Deno. Fields are located by name from `snapshot.meta`; sections the model does
//! not use (such as Chromium's `scopes`) are skipped.

use std::path::Path;

use serde_json::Value;

use super::json_reader::JsonReader;
use super::{Format, Input, LoadOptions};
use crate::error::Result;
use crate::model::graph::{HeapGraph, MAX_EDGES, MAX_HEAP_BYTES, MAX_NODES};
use crate::model::kinds::{EdgeKind, NodeKind};
use crate::model::spill::SpillDir;
use crate::model::{AllocationTraces, FieldTable, Location, Snapshot, SnapshotInfo, TraceNode};
use crate::parallel::Background;
use crate::prefault::{room, Prefault};
use crate::progress::Progress;
use rows::{EdgeLayout, EdgeRows, NodeLayout, NodeRows, NodeStarts};

mod rows;

/// V8 heap snapshots and timelines.
pub static FORMAT: Format = Format {
    name: "V8 heap snapshot",
    known_as: "V8 .heapsnapshot/.heaptimeline",
    extensions: &["heapsnapshot", "heaptimeline"],
    sniff,
    load,
};

/// Any JSON object DHAT and the sampling heap profile do not claim (they are JSON objects
/// too), so that other JSON gets the V8 loader's precise "not a heap snapshot: …" errors.
fn sniff(head: &[u8]) -> bool {
    super::head_text(head).starts_with('{')
        && !super::dhat::sniff(head)
        && !super::heapprofile::sniff(head)
}

/// [`FORMAT`]'s loader: stream the file through a [`JsonReader`] into [`read`].
fn load(
    path: &Path,
    input: Input,
    options: &LoadOptions,
    progress: Progress<'_>,
) -> Result<Snapshot> {
    let reader = JsonReader::new(input.stream, path, progress, input.done, input.total);
    read(reader, input.max_bytes, !options.beside_other_work)
}

/// The parts of `snapshot.meta` the loader needs.
struct Meta {
    node_fields: Vec<String>,
    node_types: Vec<String>,
    edge_fields: Vec<String>,
    edge_types: Vec<String>,
    trace_function_info_fields: Vec<String>,
    trace_node_fields: Vec<String>,
    sample_fields: Vec<String>,
    location_fields: Vec<String>,
}

/// Raw JSON of `snapshot` is small; anything bigger is not a heap snapshot.
const META_LIMIT: usize = 16 << 20;

/// Walk the top-level object of a snapshot: `section` reads each member's value, with the
/// reader just after the member's colon. Fails for a file that is not a JSON object, an empty
/// object, a member that appears twice (its arrays would be out of step with the others) and
/// data after the end.
pub(crate) fn for_each_section<'p>(
    r: &mut JsonReader<'p>,
    mut section: impl FnMut(&mut JsonReader<'p>, &str) -> Result<()>,
) -> Result<()> {
    match r.peek()? {
        Some(b'{') => {}
        Some(_) => return Err(r.error("not a heap snapshot: the file is not a JSON object")),
        None => return Err(r.error("the file is empty")),
    }
    r.expect(b'{', "the top-level object")?;
    if r.peek()? == Some(b'}') {
        return Err(r.error("not a heap snapshot: empty JSON object"));
    }
    let mut key = String::new();
    let mut seen: Vec<String> = Vec::new();
    loop {
        r.read_string(&mut key, "the top-level object")?;
        r.expect(b':', "the top-level object")?;
        if seen.contains(&key) {
            return Err(r.error(format!("\"{key}\" appears twice")));
        }
        seen.push(key.clone());
        section(r, &key)?;
        if !r.more(b'}', "the top-level object")? {
            break;
        }
    }
    if r.peek()?.is_some() {
        return Err(r.error("unexpected data after the end of the snapshot"));
    }
    Ok(())
}

/// Read the `snapshot` member's value (meta and counts), which is small, as a JSON value.
pub(crate) fn read_snapshot_value(r: &mut JsonReader<'_>) -> Result<Value> {
    let raw = r.capture_value("\"snapshot\"", META_LIMIT)?;
    serde_json::from_slice(&raw)
        .map_err(|e| r.error(format!("\"snapshot\" is not valid JSON: {e}")))
}

/// Read a V8 heap snapshot or timeline from `reader`. `max_stream_bytes` bounds capacities
/// taken from the file's declared counts; `prefault` has the node and edge arrays' pages
/// faulted in ahead on the idle core (see [`crate::prefault`]).
pub fn read(mut r: JsonReader<'_>, max_stream_bytes: u64, prefault: bool) -> Result<Snapshot> {
    let mut info = SnapshotInfo::default();
    let mut meta: Option<Meta> = None;
    let mut g = HeapGraph::default();
    let mut traces = AllocationTraces::default();
    let mut declared_nodes = 0u64;
    let mut declared_edges = 0u64;
    // Room for the nodes and edges, from the declared counts (bounded), and where a big heap's
    // columns go as they are read: both decided once the meta is read.
    let (mut node_cap, mut edge_cap) = (0usize, 0usize);
    let mut spill: Option<SpillDir> = None;
    let mut node_edge_counts: Vec<u32> = Vec::new();
    let mut have_nodes = false;
    let mut have_edges = false;
    let mut have_strings = false;
    // The retainers are built from the edges on the other core while this one reads on.
    let mut retainers: Option<Background<HeapGraph>> = None;
    for_each_section(&mut r, |r, key| {
        match key {
            "snapshot" => {
                r.set_phase("reading meta");
                let v = read_snapshot_value(r)?;
                let m = parse_meta(r, &v)?;
                declared_nodes = v.get("node_count").and_then(Value::as_u64).unwrap_or(0);
                declared_edges = v.get("edge_count").and_then(Value::as_u64).unwrap_or(0);
                let cap = |declared: u64, width: usize, max: u64| {
                    declared.min(max_stream_bytes / (2 * width as u64)).min(max) as usize
                };
                node_cap = cap(declared_nodes, m.node_fields.len(), MAX_NODES);
                edge_cap = cap(declared_edges, m.edge_fields.len(), MAX_EDGES);
                // A big heap's node names and ids and its edges go straight to spill files
                // (see `crate::model::spill`). At least one edge a node is counted: every node
                // but the root is reached by one, and a missing edge count still counts them.
                spill = crate::model::spill::dir_for(HeapGraph::edge_array_bytes_of(
                    node_cap as u64,
                    edge_cap.max(node_cap) as u64,
                ));
                info.title = v.get("title").and_then(Value::as_str).map(String::from);
                info.extra_native_bytes = v.get("extra_native_bytes").and_then(Value::as_u64);
                if let Some(extra) = info.extra_native_bytes.filter(|&x| x > MAX_HEAP_BYTES) {
                    return Err(r.error(format!(
                        "snapshot.extra_native_bytes is {extra}, more than any heap holds \
                         ({MAX_HEAP_BYTES} bytes)"
                    )));
                }
                if let Some(root) = v.get("root_index").and_then(Value::as_u64) {
                    let f = m.node_fields.len() as u64;
                    if root % f != 0 {
                        return Err(r.error("snapshot.root_index is not a node boundary"));
                    }
                    g.root = u32::try_from(root / f)
                        .map_err(|_| r.error("snapshot.root_index out of range"))?;
                }
                setup_types(&mut g, &m);
                g.node_field_count = m.node_fields.len() as u32;
                meta = Some(m);
            }
            "nodes" => {
                let m = meta.as_ref().ok_or_else(|| {
                    r.error("\"nodes\" comes before \"snapshot\" (no meta to read it with)")
                })?;
                r.set_phase("reading nodes");
                node_edge_counts = read_nodes(r, m, &mut g, node_cap, spill.as_ref(), prefault)?;
                have_nodes = true;
            }
            "edges" => {
                let m = meta
                    .as_ref()
                    .ok_or_else(|| r.error("\"edges\" comes before \"snapshot\""))?;
                if !have_nodes {
                    return Err(r.error("\"edges\" comes before \"nodes\" (can't place edges)"));
                }
                r.set_phase("reading edges");
                read_edges(r, m, &mut g, edge_cap, spill.as_ref(), prefault)?;
                check_edge_counts(r, &mut g, std::mem::take(&mut node_edge_counts))?;
                have_edges = true;
                let mut edges = g.split_off_edges();
                retainers = Some(Background::start(move || {
                    edges.build_retainers();
                    edges
                }));
            }
            "strings" => {
                r.set_phase("reading strings");
                read_strings(r, &mut g)?;
                have_strings = true;
            }
            "locations" => {
                let m = meta
                    .as_ref()
                    .ok_or_else(|| r.error("\"locations\" comes before \"snapshot\""))?;
                traces.locations = read_locations(r, m)?;
            }
            "trace_function_infos" | "samples" => {
                let m = meta
                    .as_ref()
                    .ok_or_else(|| r.error(format!("\"{key}\" comes before \"snapshot\"")))?;
                if key == "samples" {
                    traces.samples = read_field_table(r, key, &m.sample_fields)?;
                } else {
                    traces.function_infos =
                        read_field_table(r, key, &m.trace_function_info_fields)?;
                }
            }
            "trace_tree" => {
                let m = meta
                    .as_ref()
                    .ok_or_else(|| r.error("\"trace_tree\" comes before \"snapshot\""))?;
                traces.tree = read_trace_tree(r, &m.trace_node_fields)?;
            }
            _ => r.skip_value(&format!("\"{key}\""))?,
        }
        Ok(())
    })?;
    if meta.is_none() {
        return Err(r.error("not a heap snapshot: no \"snapshot\" section with meta"));
    }
    for (have, section) in [
        (have_nodes, "nodes"),
        (have_edges, "edges"),
        (have_strings, "strings"),
    ] {
        if !have {
            return Err(r.error(format!("no \"{section}\" section")));
        }
    }
    if g.node_count() == 0 {
        return Err(r.error("the snapshot has no nodes"));
    }
    if g.root as usize >= g.node_count() {
        return Err(r.error("snapshot.root_index points past the last node"));
    }
    // What needs only the nodes first, while the other core may still build the retainers.
    r.progress().report("checking", 0, 1);
    if let Some(bad) = traces
        .locations
        .iter()
        .find(|l| l.node as usize >= g.node_count())
    {
        return Err(r.error(format!(
            "\"locations\" names node {}, but there are only {} nodes",
            bad.node,
            g.node_count()
        )));
    }
    // Mostly in node order as V8 writes them, not always (a big heap's have stretches out of
    // order). V8 writes one location a function, so an unstable sort gives the stable sort's
    // order, without its buffer.
    if !traces.locations.is_sorted_by_key(|l| l.node) {
        traces.locations.sort_unstable_by_key(|l| l.node);
    }
    r.progress().report("building retainers", 0, 1);
    g.strings.finish();
    // Started with the edges, which every snapshot here has (checked above).
    match retainers {
        Some(built) => g.rejoin(built.finish()),
        None => g.build_retainers(),
    }
    check_string_refs(&r, &g)?;
    info.declared_node_count = declared_nodes;
    info.declared_edge_count = declared_edges;
    Ok(Snapshot {
        graph: g,
        info,
        traces,
        alloc: None,
    })
}

fn string_list(v: Option<&Value>) -> Option<Vec<String>> {
    v?.as_array()?
        .iter()
        .map(|x| x.as_str().map(String::from))
        .collect()
}

fn parse_meta(r: &JsonReader<'_>, v: &Value) -> Result<Meta> {
    let meta = v
        .get("meta")
        .ok_or_else(|| r.error("\"snapshot\" has no \"meta\" (not a heap snapshot?)"))?;
    let list = |name: &str| -> Result<Vec<String>> {
        string_list(meta.get(name)).ok_or_else(|| {
            r.error(format!(
                "snapshot.meta.{name} is missing or not a list of names"
            ))
        })
    };
    let optional = |name: &str| string_list(meta.get(name)).unwrap_or_default();
    let node_fields = list("node_fields")?;
    let edge_fields = list("edge_fields")?;
    // `node_types[0]` / `edge_types[0]` list the names of the `type` field's values.
    let types_of = |name: &str| -> Result<Vec<String>> {
        string_list(meta.get(name).and_then(|t| t.get(0))).ok_or_else(|| {
            r.error(format!(
                "snapshot.meta.{name}[0] is missing or not a list of names"
            ))
        })
    };
    let node_types = types_of("node_types")?;
    let edge_types = types_of("edge_types")?;
    for required in ["type", "name", "id", "self_size", "edge_count"] {
        if !node_fields.iter().any(|f| f == required) {
            return Err(r.error(format!("snapshot.meta.node_fields has no \"{required}\"")));
        }
    }
    for required in ["type", "name_or_index", "to_node"] {
        if !edge_fields.iter().any(|f| f == required) {
            return Err(r.error(format!("snapshot.meta.edge_fields has no \"{required}\"")));
        }
    }
    if node_types.len() > 255 || edge_types.len() > 255 {
        return Err(r.error("snapshot.meta lists more than 255 node or edge types"));
    }
    if node_fields.len() > 64 || edge_fields.len() > 64 {
        return Err(r.error("snapshot.meta lists more than 64 node or edge fields"));
    }
    let location_fields = optional("location_fields");
    if location_fields.len() > 64 {
        return Err(r.error("snapshot.meta lists more than 64 location fields"));
    }
    Ok(Meta {
        node_fields,
        node_types,
        edge_fields,
        edge_types,
        trace_function_info_fields: optional("trace_function_info_fields"),
        trace_node_fields: optional("trace_node_fields"),
        sample_fields: optional("sample_fields"),
        location_fields,
    })
}

fn setup_types(g: &mut HeapGraph, m: &Meta) {
    g.node_type_names = m.node_types.clone();
    g.node_kinds = m
        .node_types
        .iter()
        .map(|s| NodeKind::from_v8_name(s))
        .collect();
    g.edge_type_names = m.edge_types.clone();
    g.edge_kinds = m
        .edge_types
        .iter()
        .map(|s| EdgeKind::from_v8_name(s))
        .collect();
}

/// Read `nodes` into the graph's node arrays; returns each node's edge count. With `spill`,
/// the names and ids go straight to files there.
fn read_nodes(
    r: &mut JsonReader<'_>,
    m: &Meta,
    g: &mut HeapGraph,
    cap: usize,
    spill: Option<&SpillDir>,
    prefault: bool,
) -> Result<Vec<u32>> {
    let pos = |name: &str| m.node_fields.iter().position(|f| f == name);
    // parse_meta checked that these exist.
    let layout = NodeLayout {
        width: m.node_fields.len(),
        type_: pos("type").unwrap_or(0),
        name: pos("name").unwrap_or(0),
        id: pos("id").unwrap_or(0),
        self_size: pos("self_size").unwrap_or(0),
        edge_count: pos("edge_count").unwrap_or(0),
        trace_node_id: pos("trace_node_id"),
        detachedness: pos("detachedness"),
        type_count: m.node_types.len(),
    };
    let mut rows = NodeRows::new(layout, cap, spill);
    let arrays: Vec<_> = [
        Some(room(&rows.types)),
        rows.names.in_memory_values().map(room),
        rows.ids.in_memory_values().map(room),
        Some(room(&rows.self_sizes)),
        Some(room(&rows.detachedness)),
        Some(room(&rows.edge_counts)),
    ]
    .into_iter()
    .flatten()
    .collect();
    let prefault = Prefault::spare(if prefault { &arrays } else { &[] });
    r.read_int_row_batches("\"nodes\"", m.node_fields.len(), false, |r, batch| {
        rows.push(r, batch)?;
        prefault.rows_done(rows.count as usize);
        Ok(())
    })?;
    drop(prefault);
    rows.into_graph(g)
        .map_err(|e| r.error(format!("could not keep the nodes in a spill file: {e}")))
}

/// Read `edges` into the graph's edge arrays; with `spill`, straight to files there.
fn read_edges(
    r: &mut JsonReader<'_>,
    m: &Meta,
    g: &mut HeapGraph,
    cap: usize,
    spill: Option<&SpillDir>,
    prefault: bool,
) -> Result<()> {
    let pos = |name: &str| m.edge_fields.iter().position(|f| f == name).unwrap_or(0);
    let layout = EdgeLayout {
        width: m.edge_fields.len(),
        type_: pos("type"),
        name_or_index: pos("name_or_index"),
        to_node: pos("to_node"),
        type_count: m.edge_types.len(),
        named_by_string: g.edge_kinds.iter().map(|k| !k.named_by_index()).collect(),
        nodes: NodeStarts::new(m.node_fields.len() as u64, g.node_count() as u64),
    };
    let mut rows = EdgeRows::new(layout, cap, spill);
    let arrays: Vec<_> = [
        rows.types.in_memory_values().map(room),
        rows.names.in_memory_values().map(room),
        rows.targets.in_memory_values().map(room),
    ]
    .into_iter()
    .flatten()
    .collect();
    let prefault = Prefault::spare(if prefault { &arrays } else { &[] });
    r.read_int_row_batches("\"edges\"", m.edge_fields.len(), false, |r, batch| {
        rows.push(r, batch)?;
        prefault.rows_done(rows.count as usize);
        Ok(())
    })?;
    drop(prefault);
    rows.into_graph(g)
        .map_err(|e| r.error(format!("could not keep the edges in a spill file: {e}")))
}

/// Turn per-node edge counts into CSR offsets in place (the counts' vector has room for the
/// one more offset: no second array of 4 bytes a node), checking they add up to the edges
/// read.
fn check_edge_counts(r: &JsonReader<'_>, g: &mut HeapGraph, mut first: Vec<u32>) -> Result<()> {
    let edges = g.edge_count() as u64;
    let mut acc: u64 = 0;
    for c in first.iter_mut() {
        let start = acc;
        acc += *c as u64;
        if acc > edges {
            // The counts after this one are not added: the sum is at least `acc`.
            break;
        }
        *c = start as u32;
    }
    if acc != edges {
        return Err(r.error(format!(
            "nodes' edge_count fields add up to {acc}{}, but \"edges\" holds {edges} edges",
            if acc > edges { " or more" } else { "" },
        )));
    }
    first.push(acc as u32);
    g.first_edge = first.into();
    Ok(())
}

fn read_strings(r: &mut JsonReader<'_>, g: &mut HeapGraph) -> Result<()> {
    r.read_string_array("\"strings\"", |s| {
        g.strings
            .push(s)
            .map(drop)
            .ok_or_else(|| "the string table is larger than 4 GiB".to_string())
    })
}

fn check_string_refs(r: &JsonReader<'_>, g: &HeapGraph) -> Result<()> {
    let n_strings = g.strings.len() as u32;
    // The loader tracked the largest string index; only look for the culprit when it's bad.
    if (g.node_count() == 0 || g.max_node_name < n_strings)
        && (g.edge_count() == 0 || g.max_edge_name < n_strings)
    {
        return Ok(());
    }
    if let Some(bad) = g.node_name.iter().position(|&s| s >= n_strings) {
        return Err(r.error(format!(
            "node {bad} (id {}) names string {}, but there are only {n_strings} strings",
            g.node_id[bad], g.node_name[bad]
        )));
    }
    for e in 0..g.edge_count() {
        if !g.edge_kind(e).named_by_index() && g.edge_name[e] >= n_strings {
            return Err(r.error(format!(
                "edge {e} names string {}, but there are only {n_strings} strings",
                g.edge_name[e]
            )));
        }
    }
    Ok(())
}

fn read_field_table(r: &mut JsonReader<'_>, key: &str, fields: &[String]) -> Result<FieldTable> {
    let mut values = Vec::new();
    let inside = format!("\"{key}\"");
    r.read_int_array(&inside, true, |_, v| {
        values.push(v);
        Ok(())
    })?;
    if !fields.is_empty() && values.len() % fields.len() != 0 {
        return Err(r.error(format!(
            "{inside} has {} numbers, not a multiple of its {} fields",
            values.len(),
            fields.len()
        )));
    }
    Ok(FieldTable {
        fields: fields.to_vec(),
        values,
    })
}

/// `locations` rows: object index (a node index), script id, line, column.
fn read_locations(r: &mut JsonReader<'_>, m: &Meta) -> Result<Vec<Location>> {
    let pos = |name: &str| m.location_fields.iter().position(|f| f == name);
    let (Some(obj), Some(script), Some(line), Some(col)) = (
        pos("object_index"),
        pos("script_id"),
        pos("line"),
        pos("column"),
    ) else {
        return Err(r.error("\"locations\" present but snapshot.meta.location_fields lacks object_index, script_id, line or column"));
    };
    let node_fields = m.node_fields.len() as i64;
    let mut out = Vec::new();
    r.read_int_rows("\"locations\"", m.location_fields.len(), true, |r, row| {
        let o = row[obj];
        if o < 0 || o % node_fields != 0 || o / node_fields > u32::MAX as i64 {
            return Err(r.error(format!(
                "\"locations\" has object index {o}, which is not a node"
            )));
        }
        let to_u32 = |x: i64| x.clamp(0, u32::MAX as i64) as u32;
        out.push(Location {
            node: (o / node_fields) as u32,
            script_id: to_u32(row[script]),
            line: to_u32(row[line]),
            column: to_u32(row[col]),
        });
        Ok(())
    })?;
    Ok(out)
}

/// The trace tree nests children arrays inside each node; read it with an explicit stack.
fn read_trace_tree(r: &mut JsonReader<'_>, fields: &[String]) -> Result<Vec<TraceNode>> {
    let pos = |name: &str| fields.iter().position(|f| f == name);
    let (Some(children), Some(id_f), Some(fn_f), Some(count_f), Some(size_f)) = (
        pos("children"),
        pos("id"),
        pos("function_info_index"),
        pos("count"),
        pos("size"),
    ) else {
        return Err(r.error("\"trace_tree\" present but snapshot.meta.trace_node_fields lacks id, function_info_index, count, size or children"));
    };
    let inside = "\"trace_tree\"";
    let mut out: Vec<TraceNode> = Vec::new();
    // One frame per open array: the parent trace node and the values of the node being read.
    struct Frame {
        parent: u32,
        field: usize,
        vals: [u64; 4],
    }
    let mut stack = vec![Frame {
        parent: u32::MAX,
        field: 0,
        vals: [0; 4],
    }];
    r.expect(b'[', inside)?;
    let mut first_in_array = true;
    loop {
        let c = r
            .peek()?
            .ok_or_else(|| r.error("file ends inside \"trace_tree\""))?;
        if c == b']' {
            r.expect(b']', inside)?;
            let frame = stack.pop().expect("stack is never empty here");
            if frame.field != 0 {
                return Err(r.error("a \"trace_tree\" node has too few fields"));
            }
            let Some(top) = stack.last_mut() else {
                return Ok(out);
            };
            top.field = (top.field + 1) % fields.len();
            first_in_array = false;
            continue;
        }
        if !first_in_array {
            r.expect(b',', inside)?;
        }
        first_in_array = false;
        let top = stack.last_mut().expect("stack is never empty here");
        if top.field == children {
            let parent = u32::try_from(out.len()).map_err(|_| r.error("too many trace nodes"))?;
            let v = top.vals;
            out.push(TraceNode {
                id: v[0] as u32,
                function_info_index: v[1] as u32,
                count: v[2] as u32,
                size: v[3],
                parent: top.parent,
            });
            r.expect(b'[', inside)?;
            stack.push(Frame {
                parent,
                field: 0,
                vals: [0; 4],
            });
            first_in_array = true;
            continue;
        }
        let val = r.read_int(inside)?;
        let slot = [id_f, fn_f, count_f, size_f]
            .iter()
            .position(|&f| f == top.field);
        if let Some(slot) = slot {
            top.vals[slot] = val.max(0) as u64;
        }
        top.field = (top.field + 1) % fields.len();
    }
}
