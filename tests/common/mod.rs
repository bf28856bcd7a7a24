//! Helpers shared by the integration tests: a tiny V8 heap snapshot writer (so hand-made graphs
//! go through the real loader), temp files, loading + analysing in one call, and running the
//! built `heapsight` binary.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};

use heapsight::analysis::{AnalysisOptions, AnalyzedSnapshot, RuleSet};
use heapsight::model::NodeIx;

/// Node 20's meta, field for field (type, name, id, self_size, edge_count, trace_node_id,
/// detachedness), with the usual trace/sample/location field lists.
pub const NODE20_META: &str = r#"{"node_fields":["type","name","id","self_size","edge_count","trace_node_id","detachedness"],"node_types":[["hidden","array","string","object","code","closure","regexp","number","native","synthetic","concatenated string","sliced string","symbol","bigint","object shape","wasm object"],"string","number","number","number","number","number"],"edge_fields":["type","name_or_index","to_node"],"edge_types":[["context","element","property","internal","hidden","shortcut","weak"],"string_or_number","node"],"trace_function_info_fields":["function_id","name","script_name","script_id","line","column"],"trace_node_fields":["id","function_info_index","count","size","children"],"sample_fields":["timestamp_us","last_assigned_id"],"location_fields":["object_index","script_id","line","column"]}"#;

/// Numbers per node in [`NODE20_META`].
pub const NODE20_FIELDS: usize = 7;

const NODE_TYPES: [&str; 16] = [
    "hidden",
    "array",
    "string",
    "object",
    "code",
    "closure",
    "regexp",
    "number",
    "native",
    "synthetic",
    "concatenated string",
    "sliced string",
    "symbol",
    "bigint",
    "object shape",
    "wasm object",
];
const EDGE_TYPES: [&str; 7] = [
    "context", "element", "property", "internal", "hidden", "shortcut", "weak",
];

struct Node {
    kind: usize,
    name: usize,
    id: u32,
    size: u64,
    trace: u32,
    detachedness: u8,
}

/// A heap written out as a Node 20 `.heapsnapshot`. Node `i` (0-based, in `node` call order)
/// gets id `2 * i + 1` unless given one; node 0 is the root.
#[derive(Default)]
pub struct Heap {
    nodes: Vec<Node>,
    /// (from, type, name_or_index, to)
    edges: Vec<(usize, usize, u64, usize)>,
    strings: Vec<String>,
    /// Extra `"key":value` text for `snapshot` and the top level.
    snapshot_extra: String,
    top_extra: String,
    /// Replaces the empty `trace_function_infos`, `trace_tree` and `samples` when set.
    traces: Option<String>,
}

impl Heap {
    pub fn new() -> Self {
        Self::default()
    }

    /// The index of `s` in the string table (added when new).
    pub fn string_index(&mut self, s: &str) -> usize {
        self.string(s)
    }

    /// Allocation traces: the raw arrays of `trace_function_infos` (function_id, name,
    /// script_name, script_id, line, column), `trace_tree` (id, function_info_index, count,
    /// size, children) and `samples` (timestamp_us, last_assigned_id).
    pub fn traces(&mut self, function_infos: &str, tree: &str, samples: &str) {
        self.traces = Some(format!(
            "\"trace_function_infos\":{function_infos},\n\"trace_tree\":{tree},\n\"samples\":{samples},\n"
        ));
    }

    fn string(&mut self, s: &str) -> usize {
        match self.strings.iter().position(|x| x == s) {
            Some(i) => i,
            None => {
                self.strings.push(s.to_string());
                self.strings.len() - 1
            }
        }
    }

    /// Add a node of V8 type `kind`; returns its ordinal.
    pub fn node(&mut self, kind: &str, name: &str, size: u64) -> NodeIx {
        let id = 2 * self.nodes.len() as u32 + 1;
        self.node_with_id(kind, name, id, size)
    }

    pub fn node_with_id(&mut self, kind: &str, name: &str, id: u32, size: u64) -> NodeIx {
        let kind = NODE_TYPES
            .iter()
            .position(|k| *k == kind)
            .unwrap_or_else(|| panic!("unknown node type {kind}"));
        let name = self.string(name);
        self.nodes.push(Node {
            kind,
            name,
            id,
            size,
            trace: 0,
            detachedness: 0,
        });
        (self.nodes.len() - 1) as NodeIx
    }

    /// Snapshot id of node `n`.
    pub fn id(&self, n: NodeIx) -> u32 {
        self.nodes[n as usize].id
    }

    pub fn detachedness(&mut self, n: NodeIx, v: u8) {
        self.nodes[n as usize].detachedness = v;
    }

    pub fn trace_node_id(&mut self, n: NodeIx, t: u32) {
        self.nodes[n as usize].trace = t;
    }

    /// Add an edge; `name` is a number for `element` and `hidden` edges.
    pub fn edge(&mut self, from: NodeIx, kind: &str, name: &str, to: NodeIx) {
        let t = EDGE_TYPES
            .iter()
            .position(|k| *k == kind)
            .unwrap_or_else(|| panic!("unknown edge type {kind}"));
        let name = if kind == "element" || kind == "hidden" {
            name.parse()
                .expect("element/hidden edges are named by a number")
        } else {
            self.string(name) as u64
        };
        self.edges.push((from as usize, t, name, to as usize));
    }

    /// Raw text added inside `"snapshot":{…}` (e.g. `"extra_native_bytes":5`).
    pub fn snapshot_field(&mut self, text: &str) {
        self.snapshot_extra.push(',');
        self.snapshot_extra.push_str(text);
    }

    /// Raw text added as a top-level section after `strings` (e.g. `"locations":[…]`).
    pub fn top_level(&mut self, text: &str) {
        self.top_extra.push(',');
        self.top_extra.push_str(text);
    }

    /// The snapshot as Node 20 writes it.
    pub fn json(&self) -> String {
        let mut edges = self.edges.clone();
        edges.sort_by_key(|e| e.0); // stable: each node's edges keep their order
        let mut out = format!(
            "{{\"snapshot\":{{\"meta\":{NODE20_META},\"node_count\":{},\"edge_count\":{},\"trace_function_count\":0{}}},\n\"nodes\":[",
            self.nodes.len(),
            edges.len(),
            self.snapshot_extra
        );
        for (i, n) in self.nodes.iter().enumerate() {
            let edge_count = edges.iter().filter(|e| e.0 == i).count();
            if i > 0 {
                out.push_str("\n,");
            }
            out.push_str(&format!(
                "{},{},{},{},{},{},{}",
                n.kind, n.name, n.id, n.size, edge_count, n.trace, n.detachedness
            ));
        }
        out.push_str("],\n\"edges\":[");
        for (i, (_, t, name, to)) in edges.iter().enumerate() {
            if i > 0 {
                out.push_str("\n,");
            }
            out.push_str(&format!("{t},{name},{}", to * NODE20_FIELDS));
        }
        out.push_str("],\n");
        out.push_str(
            self.traces
                .as_deref()
                .unwrap_or("\"trace_function_infos\":[],\n\"trace_tree\":[],\n\"samples\":[],\n"),
        );
        // An extra `locations` section replaces the empty one (sections may not repeat).
        if !self.top_extra.contains("\"locations\"") {
            out.push_str("\"locations\":[],\n");
        }
        out.push_str("\"strings\":");
        out.push_str(&serde_json::to_string(&self.strings).unwrap());
        out.push_str(&self.top_extra);
        out.push_str("}\n");
        out
    }

    /// Write, load and analyse with DevTools' rules.
    pub fn analyze(&self) -> AnalyzedSnapshot {
        self.analyze_with(RuleSet::DevTools)
    }

    pub fn analyze_with(&self, rules: RuleSet) -> AnalyzedSnapshot {
        let path = temp_file("heap.heapsnapshot", self.json().as_bytes());
        analyze_file(&path, rules)
    }
}

/// A file under Cargo's per-target temp dir, deleted when dropped.
pub struct TempPath(PathBuf);

impl std::ops::Deref for TempPath {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempPath {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Write `bytes` to a fresh temp file whose name ends with `name`.
pub fn temp_file(name: &str, bytes: &[u8]) -> TempPath {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("heapsight-tests");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{}-{n}-{name}", std::process::id()));
    std::fs::write(&path, bytes).unwrap();
    TempPath(path)
}

/// Load and analyse a file, panicking with the loader's message on failure.
pub fn analyze_file(path: &Path, rules: RuleSet) -> AnalyzedSnapshot {
    let snap = heapsight::formats::load(path, Default::default())
        .unwrap_or_else(|e| panic!("loading {}: {e}", path.display()));
    AnalyzedSnapshot::new(
        snap,
        AnalysisOptions {
            rules,
            ..Default::default()
        },
        Default::default(),
    )
    .unwrap_or_else(|e| panic!("analysing {}: {e}", path.display()))
}

/// The committed sample snapshots, relative to the crate root.
pub fn sample(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("sample-snapshots")
        .join(rel)
}

/// A committed sample opened as the app and the CLI open it (no index cache: the tests turn
/// it off), with default options.
pub fn open_sample(rel: &str) -> heapsight::store::Document {
    heapsight::store::Document::open(
        &sample(rel),
        &Default::default(),
        Default::default(),
        Default::default(),
    )
    .unwrap_or_else(|e| panic!("opening {rel}: {e}"))
}

/// gzip `bytes`.
pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

/// A tiny seeded xorshift64* generator (no `rand` dependency).
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform-ish in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
}

/// `json` (a snapshot written by [`Heap::json`]) as an older V8 writes it: without the
/// `detachedness` node field, so detached DOM nodes are known only by their `Detached ` prefix.
/// Sections keep their order (the loader wants `snapshot` first).
pub fn without_detachedness(json: &str) -> String {
    let meta = NODE20_META.replace(r#","detachedness"]"#, "]").replace(
        r#""number","number"],"edge_fields""#,
        r#""number"],"edge_fields""#,
    );
    assert_ne!(meta, NODE20_META);
    let json = json.replacen(NODE20_META, &meta, 1);
    let section = |text: &str, start: &str, end: &str| -> (usize, usize, Vec<u64>) {
        let a = text.find(start).expect(start) + start.len();
        let b = a + text[a..].find(end).expect(end);
        let values = text[a..b]
            .split(',')
            .map(|x| x.trim())
            .filter(|x| !x.is_empty())
            .map(|x| x.parse().unwrap())
            .collect();
        (a, b, values)
    };
    let join = |v: &[u64]| v.iter().map(u64::to_string).collect::<Vec<_>>().join(",");
    let old = NODE20_FIELDS;
    // Drop the last field (detachedness) of each node.
    let (a, b, nodes) = section(&json, "\"nodes\":[", "]");
    let nodes: Vec<u64> = nodes
        .chunks(old)
        .flat_map(|row| row[..old - 1].to_vec())
        .collect();
    let json = format!("{}{}{}", &json[..a], join(&nodes), &json[b..]);
    // Edges point at a node's first field: rescale to the narrower rows.
    let (a, b, mut edges) = section(&json, "\"edges\":[", "]");
    for e in edges.chunks_mut(3) {
        e[2] = e[2] / old as u64 * (old as u64 - 1);
    }
    format!("{}{}{}", &json[..a], join(&edges), &json[b..])
}

/// Write `json` to a temp file, load and analyse it with DevTools' rules.
pub fn analyze_json(json: &str) -> AnalyzedSnapshot {
    let path = temp_file("heap.heapsnapshot", json.as_bytes());
    analyze_file(&path, RuleSet::DevTools)
}

/// A command running the `heapsight` binary Cargo built for these tests, with the index cache
/// off (tests never touch the user's cache; `tests/index_cache.rs` turns it on in a temp dir).
pub fn heapsight_command() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_heapsight"));
    c.env("HEAPSIGHT_NO_CACHE", "1");
    c
}

/// Run the `heapsight` binary with `args` and collect its exit status and output.
pub fn heapsight(args: &[&str]) -> Output {
    heapsight_command()
        .args(args)
        .output()
        .expect("run heapsight")
}

/// A fresh, empty folder for one test: `heapsight-NAME-PID` in the system's temp folder.
pub fn fresh_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("heapsight-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The text a panic was raised with (empty when it carried something else), for tests that
/// catch panics and report which input caused one.
pub fn panic_message(payload: Box<dyn std::any::Any + Send>) -> String {
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default()
}
