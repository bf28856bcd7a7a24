//! Broken and hostile files: the loader must return a bad-input error that names the file and
//! says what is wrong — never panic, never allocate what a header merely claims.

mod common;

use std::panic::{catch_unwind, AssertUnwindSafe};

use common::{gzip, sample, temp_file, Rng, NODE20_META};
use heapsight::analysis::{AnalysisOptions, AnalyzedSnapshot};

/// A valid two-node snapshot: root -element [1]-> A (object, 10 bytes).
fn base() -> String {
    with_sections(r#""nodes":[9,0,1,0,1,0,0,3,1,3,10,0,0,0],"edges":[1,1,7],"strings":["","A"]"#)
}

/// `{"snapshot":{meta…},` + `rest` + `}`.
fn with_sections(rest: &str) -> String {
    format!(r#"{{"snapshot":{{"meta":{NODE20_META},"node_count":2,"edge_count":1}},{rest}}}"#)
}

/// Load `bytes` (written to a file called `name`); it must fail with a bad-input error whose
/// message names the file and contains `what`. Returns the message.
fn expect_bad(name: &str, bytes: &[u8], what: &str) -> String {
    let path = temp_file(name, bytes);
    let file_name = path.file_name().unwrap().to_string_lossy().into_owned();
    let result = catch_unwind(AssertUnwindSafe(|| {
        heapsight::formats::load(&path, Default::default())
    }));
    let err = match result {
        Err(_) => panic!("{name}: the loader panicked instead of returning an error"),
        Ok(Ok(_)) => panic!("{name}: loaded without error"),
        Ok(Err(e)) => e,
    };
    let msg = err.to_string();
    assert!(err.is_bad_input(), "{name}: not a bad-input error: {msg}");
    assert!(
        msg.contains(&file_name),
        "{name}: message does not name the file: {msg}"
    );
    assert!(
        msg.to_lowercase().contains(&what.to_lowercase()),
        "{name}: message does not say {what:?}: {msg}"
    );
    assert!(
        !msg.contains('\n'),
        "{name}: message is not one line: {msg}"
    );
    msg
}

/// Load and analyse; must not panic. Returns whether it loaded.
fn load_and_analyze_no_panic(name: &str, bytes: &[u8]) -> Result<bool, String> {
    let path = temp_file(name, bytes);
    catch_unwind(AssertUnwindSafe(|| {
        match heapsight::formats::load(&path, Default::default()) {
            Ok(snap) => {
                let s = AnalyzedSnapshot::new(snap, AnalysisOptions::default(), Default::default())
                    .expect("analysis of a loaded snapshot");
                let _ = s.summary();
                let _ = s.statistics();
                true
            }
            Err(e) => {
                assert!(e.is_bad_input(), "not a bad-input error: {e}");
                false
            }
        }
    }))
    .map_err(common::panic_message)
}

#[test]
fn the_base_snapshot_is_valid() {
    let path = temp_file("base.heapsnapshot", base().as_bytes());
    let snap = heapsight::formats::load(&path, Default::default()).unwrap();
    assert_eq!(snap.graph.node_count(), 2);
    assert_eq!(snap.graph.edge_count(), 1);
}

#[test]
fn not_a_snapshot_at_all() {
    expect_bad("empty.heapsnapshot", b"", "empty");
    expect_bad("spaces.heapsnapshot", b"  \n\t ", "empty");
    expect_bad("text.heapsnapshot", b"hello, world", "not a heap snapshot");
    expect_bad("array.heapsnapshot", b"[1,2,3]", "not a heap snapshot");
    expect_bad("empty-object.heapsnapshot", b"{}", "not a heap snapshot");
    expect_bad(
        "other-json.heapsnapshot",
        br#"{"name":"x","version":[1,2]}"#,
        "snapshot",
    );
    expect_bad("bom-only.heapsnapshot", "\u{feff}".as_bytes(), "empty");
    expect_bad(
        "snapshot-number.heapsnapshot",
        br#"{"snapshot":5,"nodes":[],"edges":[],"strings":[]}"#,
        "meta",
    );
}

#[test]
fn truncated_real_snapshot() {
    let full = std::fs::read(sample("node-leak/target.heapsnapshot")).unwrap();
    let find = |needle: &str| {
        full.windows(needle.len())
            .position(|w| w == needle.as_bytes())
            .unwrap_or_else(|| panic!("{needle} not in the sample"))
    };
    let nodes = find("\"nodes\":[");
    let edges = find("\"edges\":[");
    let strings = find("\"strings\":[");
    let cuts = [
        ("10 bytes", 10),
        ("in meta", nodes / 2),
        ("middle of nodes", (nodes + edges) / 2),
        ("middle of edges", (edges + strings) / 2),
        ("middle of strings", (strings + full.len()) / 2),
        ("last byte missing", full.len() - 2),
    ];
    for (what, at) in cuts {
        let msg = expect_bad(
            &format!("cut-{}.heapsnapshot", what.replace(' ', "-")),
            &full[..at],
            "",
        );
        assert!(
            msg.contains("truncated") || msg.contains("ends"),
            "cut {what}: {msg}"
        );
        // The same cut, gzipped: still a clean error.
        expect_bad(
            &format!("cut-{}.heapsnapshot.gz", what.replace(' ', "-")),
            &gzip(&full[..at]),
            "",
        );
    }
}

#[test]
fn meta_problems() {
    expect_bad(
        "no-meta.heapsnapshot",
        br#"{"snapshot":{"node_count":1},"nodes":[9,0,1,0,0,0,0],"edges":[],"strings":[""]}"#,
        "no \"meta\"",
    );
    let no_id = NODE20_META.replace(r#""type","name","id","#, r#""type","name","#);
    expect_bad(
        "meta-no-id.heapsnapshot",
        format!(r#"{{"snapshot":{{"meta":{no_id}}},"nodes":[],"edges":[],"strings":[]}}"#)
            .as_bytes(),
        "\"id\"",
    );
    // node_types[0] must be the list of type names; here it is an object.
    let bad_types = NODE20_META
        .replace(r#""node_types":[["#, r#""node_types":[{"names":["#)
        .replace(r#""wasm object"]"#, r#""wasm object"]}"#);
    expect_bad(
        "meta-node-types.heapsnapshot",
        format!(r#"{{"snapshot":{{"meta":{bad_types}}},"nodes":[],"edges":[],"strings":[]}}"#)
            .as_bytes(),
        "node_types",
    );
    expect_bad(
        "snapshot-not-json.heapsnapshot",
        br#"{"snapshot":{"meta":{"node_fields":[1,2,]}},"nodes":[]}"#,
        "snapshot",
    );
    // Nesting deep enough to overflow a recursive parser: an error, not a crash.
    let deep = format!(
        r#"{{"snapshot":{{"meta":{}{}}}}}"#,
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    expect_bad("deep-meta.heapsnapshot", deep.as_bytes(), "snapshot");
}

#[test]
fn sections_out_of_order_or_missing() {
    let nodes_first = format!(
        r#"{{"nodes":[9,0,1,0,0,0,0],"snapshot":{{"meta":{NODE20_META}}},"edges":[],"strings":[""]}}"#
    );
    expect_bad(
        "nodes-first.heapsnapshot",
        nodes_first.as_bytes(),
        "before \"snapshot\"",
    );
    expect_bad(
        "edges-first.heapsnapshot",
        with_sections(
            r#""edges":[1,1,7],"nodes":[9,0,1,0,1,0,0,3,1,3,10,0,0,0],"strings":["","A"]"#,
        )
        .as_bytes(),
        "before \"nodes\"",
    );
    expect_bad(
        "no-strings.heapsnapshot",
        with_sections(r#""nodes":[9,0,1,0,1,0,0,3,1,3,10,0,0,0],"edges":[1,1,7]"#).as_bytes(),
        "strings",
    );
    expect_bad(
        "no-edges.heapsnapshot",
        with_sections(r#""nodes":[9,0,1,0,0,0,0],"strings":[""]"#).as_bytes(),
        "edges",
    );
    expect_bad(
        "no-nodes.heapsnapshot",
        with_sections(r#""nodes":[],"edges":[],"strings":[""]"#).as_bytes(),
        "no nodes",
    );
    let trailing = base() + " x";
    expect_bad(
        "trailing.heapsnapshot",
        trailing.as_bytes(),
        "after the end",
    );
    let two = base() + &base();
    expect_bad(
        "two-snapshots.heapsnapshot",
        two.as_bytes(),
        "after the end",
    );
}

#[test]
fn node_and_edge_numbers_that_do_not_fit() {
    let case = |name: &str, nodes: &str, edges: &str, strings: &str, what: &str| {
        let text = with_sections(&format!(
            r#""nodes":[{nodes}],"edges":[{edges}],"strings":[{strings}]"#
        ));
        expect_bad(&format!("{name}.heapsnapshot"), text.as_bytes(), what);
    };
    let ok_nodes = "9,0,1,0,1,0,0,3,1,3,10,0,0,0";
    let ok_strings = r#""","A""#;
    // Edge targets are node indexes: 14 is past the last node (2 nodes × 7), 8 is not a boundary.
    case(
        "to-node-past-end",
        ok_nodes,
        "1,1,14",
        ok_strings,
        "not a node",
    );
    case(
        "to-node-not-boundary",
        ok_nodes,
        "1,1,8",
        ok_strings,
        "not a node",
    );
    case(
        "nodes-13-numbers",
        "9,0,1,0,1,0,0,3,1,3,10,0,0",
        "1,1,7",
        ok_strings,
        "multiple",
    );
    case("edges-2-numbers", ok_nodes, "1,1", ok_strings, "multiple");
    // edge_count fields say 2 edges, `edges` has 1 — and the other way round.
    case(
        "edge-count-too-big",
        "9,0,1,0,2,0,0,3,1,3,10,0,0,0",
        "1,1,7",
        ok_strings,
        "add up",
    );
    case(
        "edge-count-too-small",
        "9,0,1,0,0,0,0,3,1,3,10,0,0,0",
        "1,1,7",
        ok_strings,
        "add up",
    );
    case(
        "node-name-past-strings",
        "9,0,1,0,1,0,0,3,5,3,10,0,0,0",
        "1,1,7",
        ok_strings,
        "string",
    );
    // A property edge (type 2) is named by a string index: 9 does not exist.
    case(
        "edge-name-past-strings",
        ok_nodes,
        "2,9,7",
        ok_strings,
        "string",
    );
    case(
        "negative-in-nodes",
        "9,0,1,0,1,0,0,3,1,3,-10,0,0,0",
        "1,1,7",
        ok_strings,
        "negative",
    );
    case(
        "negative-in-edges",
        ok_nodes,
        "1,1,-7",
        ok_strings,
        "negative",
    );
    case(
        "float-in-nodes",
        "9,0,1,0,1,0,0,3,1,3,10.5,0,0,0",
        "1,1,7",
        ok_strings,
        "integer",
    );
    case(
        "unknown-node-type",
        "9,0,1,0,1,0,0,99,1,3,10,0,0,0",
        "1,1,7",
        ok_strings,
        "type",
    );
    case("unknown-edge-type", ok_nodes, "9,1,7", ok_strings, "type");
    case(
        "huge-number",
        "9,0,1,0,1,0,0,3,1,3,99999999999999999999,0,0,0",
        "1,1,7",
        ok_strings,
        "too large",
    );
    case(
        "id-over-u32",
        "9,0,1,0,1,0,0,3,1,4294967296,10,0,0,0",
        "1,1,7",
        ok_strings,
        "out of range",
    );
    case(
        "missing-comma",
        "9,0,1,0,1,0,0,3,1,3,10 0,0,0",
        "1,1,7",
        ok_strings,
        "missing",
    );
    case(
        "double-comma",
        "9,0,1,0,1,0,0,3,1,3,10,,0,0",
        "1,1,7",
        ok_strings,
        "missing number",
    );
    case(
        "string-in-nodes",
        r#"9,0,1,0,1,0,0,3,"A",3,10,0,0,0"#,
        "1,1,7",
        ok_strings,
        "unexpected",
    );
    case(
        "number-in-strings",
        ok_nodes,
        "1,1,7",
        r#""",5"#,
        "expected '\"'",
    );
    case("bad-escape", ok_nodes, "1,1,7", r#""","\q""#, "escape");
}

#[test]
fn root_index_out_of_range() {
    let text = |root_index: u64| {
        format!(
            r#"{{"snapshot":{{"meta":{NODE20_META},"root_index":{root_index}}},"nodes":[9,0,1,0,1,0,0,3,1,3,10,0,0,0],"edges":[1,1,7],"strings":["","A"]}}"#
        )
    };
    expect_bad(
        "root-past-end.heapsnapshot",
        text(14).as_bytes(),
        "root_index",
    );
    expect_bad(
        "root-not-boundary.heapsnapshot",
        text(3).as_bytes(),
        "root_index",
    );
}

#[test]
fn huge_declared_counts_are_not_trusted() {
    // 10^15 nodes and edges declared, two nodes present: loads (the loader trusts what it
    // reads) without reserving memory for the declared counts, which would abort the process.
    let text = format!(
        r#"{{"snapshot":{{"meta":{NODE20_META},"node_count":1000000000000000,"edge_count":1000000000000000}},"nodes":[9,0,1,0,1,0,0,3,1,3,10,0,0,0],"edges":[1,1,7],"strings":["","A"]}}"#
    );
    for (name, bytes) in [
        ("huge-counts.heapsnapshot", text.as_bytes().to_vec()),
        ("huge-counts.heapsnapshot.gz", gzip(text.as_bytes())),
    ] {
        let path = temp_file(name, &bytes);
        let snap = heapsight::formats::load(&path, Default::default()).unwrap();
        assert_eq!(snap.graph.node_count(), 2);
        assert_eq!(snap.info.declared_node_count, 1_000_000_000_000_000);
    }
    // The same header in a file that then stops: a clean error.
    let cut = &text[..text.find("3,1,3").unwrap()];
    expect_bad("huge-counts-cut.heapsnapshot", cut.as_bytes(), "truncated");
}

#[test]
fn random_garbage() {
    let mut rng = Rng::new(7);
    for i in 0..60 {
        let len = 1 + rng.below(3000) as usize;
        // Some start like JSON or like gzip, to get past the first checks.
        let mut bytes: Vec<u8> = match i % 4 {
            1 => b"{\"snapshot\":".to_vec(),
            2 => vec![0x1f, 0x8b],
            3 => with_sections("").bytes().take(300).collect(),
            _ => Vec::new(),
        };
        bytes.extend((0..len).map(|_| rng.next_u64() as u8));
        expect_bad(&format!("garbage-{i}.heapsnapshot"), &bytes, "");
    }
}

#[test]
fn corrupt_gzip() {
    let good = gzip(base().as_bytes());
    // A flipped byte in the deflate data.
    let mut flipped = good.clone();
    let mid = flipped.len() / 2;
    flipped[mid] ^= 0x5a;
    expect_bad("flipped.heapsnapshot.gz", &flipped, "");
    // Gzip magic, then garbage.
    let mut junk = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3];
    junk.extend((0..200u32).map(|i| (i * 37 % 251) as u8));
    expect_bad("junk.heapsnapshot.gz", &junk, "");
    // Bad CRC: the data inflates fine but the trailer doesn't match.
    let mut crc = good.clone();
    let n = crc.len();
    crc[n - 8] ^= 0xff;
    expect_bad("bad-crc.heapsnapshot.gz", &crc, "");
}

#[test]
fn truncated_gzip_is_bad_input() {
    let good = gzip(base().as_bytes());
    // Cut inside the deflate stream and just before the 8-byte trailer.
    expect_bad("cut-gzip.heapsnapshot.gz", &good[..good.len() / 2], "");
    expect_bad("cut-trailer.heapsnapshot.gz", &good[..good.len() - 4], "");
}

#[test]
fn repeated_sections_are_rejected_or_harmless() {
    // Each of these repeats a section after the graph was partly built; whatever the loader
    // decides, it must not panic, and what it loads must be consistent enough to analyse.
    let cases = [
        (
            "nodes-again-after-edges",
            with_sections(
                r#""nodes":[9,0,1,0,1,0,0,3,1,3,10,0,0,0],"edges":[1,1,7],"nodes":[9,0,1,0,0,0,0],"strings":["","A"]"#,
            ),
        ),
        (
            "edges-again-empty",
            with_sections(
                r#""nodes":[9,0,1,0,1,0,0,3,1,3,10,0,0,0],"edges":[1,1,7],"edges":[],"strings":["","A"]"#,
            ),
        ),
        (
            "snapshot-again-fewer-types",
            with_sections(&format!(
                r#""nodes":[9,0,1,0,1,0,0,3,1,3,10,0,0,0],"edges":[1,1,7],"strings":["","A"],"snapshot":{{"meta":{}}}"#,
                NODE20_META.replace(
                    r#"["hidden","array","string","object","code","closure","regexp","number","native","synthetic","concatenated string","sliced string","symbol","bigint","object shape","wasm object"]"#,
                    r#"["hidden"]"#
                )
            )),
        ),
        (
            "strings-again-shorter",
            with_sections(
                r#""nodes":[9,0,1,0,1,0,0,3,1,3,10,0,0,0],"edges":[2,1,7],"strings":["","A"],"strings":[]"#,
            ),
        ),
    ];
    let mut failures = Vec::new();
    for (name, text) in cases {
        if let Err(panic) =
            load_and_analyze_no_panic(&format!("{name}.heapsnapshot"), text.as_bytes())
        {
            failures.push(format!("{name}: panicked: {panic}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn many_location_fields_do_not_panic() {
    // location_fields is not limited in length; the row must still be read safely.
    let extra: Vec<String> = (0..20).map(|i| format!("\"x{i}\"")).collect();
    let meta = NODE20_META.replace(
        r#""location_fields":["object_index""#,
        &format!(r#""location_fields":[{},"object_index""#, extra.join(",")),
    );
    let row: Vec<&str> = std::iter::repeat_n("0", 20)
        .chain(["7", "1", "2", "3"])
        .collect();
    let text = format!(
        r#"{{"snapshot":{{"meta":{meta}}},"nodes":[9,0,1,0,1,0,0,3,1,3,10,0,0,0],"edges":[1,1,7],"locations":[{}],"strings":["","A"]}}"#,
        row.join(",")
    );
    let r = load_and_analyze_no_panic("many-location-fields.heapsnapshot", text.as_bytes());
    assert!(r.is_ok(), "panicked: {}", r.unwrap_err());
}

/// Random byte edits of a small but varied snapshot: whatever comes out, no panics — the
/// loader either rejects it or hands the analyses something they can handle.
#[test]
fn mutated_snapshots_never_panic() {
    let mut h = common::Heap::new();
    let root = h.node("synthetic", "", 0);
    let g = h.node("object", "global", 10);
    let arr = h.node("array", "", 16);
    let div = h.node("native", "<div id=a>", 30);
    let f = h.node("closure", "f", 20);
    h.edge(root, "shortcut", "global", g);
    h.edge(root, "element", "2", div);
    h.edge(g, "property", "f", f);
    h.edge(g, "internal", "elements", arr);
    h.edge(f, "context", "ctx", g);
    h.edge(arr, "element", "0", div);
    h.edge(div, "weak", "w", f);
    h.edge(div, "shortcut", "s", arr);
    h.detachedness(div, 2);
    let text = h.json().into_bytes();
    let digits = b"0123456789";
    let mut rng = Rng::new(99);
    let mut failures = Vec::new();
    let mut loaded = 0;
    for i in 0..400 {
        let mut m = text.clone();
        for _ in 0..1 + rng.below(3) {
            let at = rng.below(m.len() as u64) as usize;
            match rng.below(4) {
                // Mostly change digits to other digits: keeps the JSON valid, breaks the graph.
                0 | 1 => {
                    if let Some(p) = (at..m.len()).find(|&p| m[p].is_ascii_digit()) {
                        m[p] = digits[rng.below(10) as usize];
                    }
                }
                2 => m[at] = rng.next_u64() as u8,
                _ => {
                    m.remove(at);
                }
            }
        }
        match load_and_analyze_no_panic(&format!("mutant-{i}.heapsnapshot"), &m) {
            Ok(true) => loaded += 1,
            Ok(false) => {}
            Err(p) => failures.push(format!("mutant {i}: {p}")),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // Sanity: a good share of the digit edits still load.
    assert!(loaded > 20, "only {loaded} mutants loaded");
}

/// Loading from memory (`formats::load_bytes`, what the fuzz targets call) takes the same path
/// as loading the file: the same graph, and errors that name the given path.
#[test]
fn loading_bytes_is_loading_the_file() {
    let text = base();
    let from_file = heapsight::formats::load(
        &temp_file("base.heapsnapshot", text.as_bytes()),
        Default::default(),
    )
    .unwrap();
    for bytes in [text.as_bytes().to_vec(), gzip(text.as_bytes())] {
        let from_bytes = heapsight::formats::load_bytes(
            "in-memory.heapsnapshot".as_ref(),
            bytes,
            &Default::default(),
            Default::default(),
        )
        .unwrap();
        assert_eq!(from_bytes.graph.node_count(), from_file.graph.node_count());
        assert_eq!(from_bytes.graph.edge_count(), from_file.graph.edge_count());
    }
    let err = heapsight::formats::load_bytes(
        "in-memory.heapsnapshot".as_ref(),
        b"[1,2,3]".to_vec(),
        &Default::default(),
        Default::default(),
    )
    .unwrap_err();
    assert!(err.is_bad_input(), "{err}");
    assert!(err.to_string().contains("in-memory.heapsnapshot"), "{err}");
}

/// Load `bytes` the way fuzz target `target` does (the V8 one through detection, the others
/// with their format's loader directly), then analyse what loads and build the allocation
/// tables; errors must be bad-input errors naming `name`. `Err` holds a panic's message.
fn fuzz_load(target: &str, name: &str, bytes: &[u8]) -> Result<bool, String> {
    use heapsight::analysis::alloc::AllocSummary;
    use heapsight::analysis::call_tree::{CallTree, Direction};
    use heapsight::formats::{dhat, heapprofile, heaptrack, pprof, Input};
    let path = std::path::Path::new(name);
    catch_unwind(AssertUnwindSafe(|| {
        let loaded = match target {
            "v8_snapshot" => heapsight::formats::load_bytes(
                path,
                bytes.to_vec(),
                &Default::default(),
                Default::default(),
            ),
            _ => {
                let format = match target {
                    "heapprofile" => &heapprofile::FORMAT,
                    "dhat" => &dhat::FORMAT,
                    "heaptrack" => &heaptrack::FORMAT,
                    "pprof" => &pprof::FORMAT,
                    _ => panic!("no fuzz target {target}"),
                };
                Input::from_bytes(path, bytes.to_vec()).and_then(|input| {
                    (format.load)(path, input, &Default::default(), Default::default())
                })
            }
        };
        match loaded {
            Ok(snap) => {
                let s = AnalyzedSnapshot::new(snap, AnalysisOptions::default(), Default::default())
                    .expect("analysis of a loaded snapshot");
                let _ = s.summary();
                let _ = s.statistics();
                let _ = s.analysis.parent_edges(s.graph());
                if let Some(p) = s.snapshot.alloc.as_deref() {
                    let _ = CallTree::build(p, Direction::TopDown);
                    let _ = CallTree::build(p, Direction::BottomUp);
                    let _ = AllocSummary::build(p, 20);
                }
                true
            }
            Err(e) => {
                assert!(e.is_bad_input(), "not a bad-input error: {e}");
                assert!(e.to_string().contains(name), "does not name the input: {e}");
                false
            }
        }
    }))
    .map_err(common::panic_message)
}

/// The inputs the fuzz targets found problems with (see "Fuzzing" in the README), minimized,
/// in `tests/data/fuzz/TARGET/`: each loads as the target loads it or fails with a bad-input
/// error naming the input, never panics, and what loads is analysed without panicking. The
/// index-cache findings are checked in `tests/index_cache.rs`.
#[test]
fn fuzz_findings_stay_fixed() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/fuzz");
    let mut seen = 0;
    for target in ["v8_snapshot", "heapprofile", "dhat", "heaptrack", "pprof"] {
        let Ok(dir) = std::fs::read_dir(root.join(target)) else {
            continue;
        };
        for file in dir.flatten() {
            let name = format!("{target}-{}", file.file_name().to_string_lossy());
            let bytes = std::fs::read(file.path()).unwrap();
            if let Err(panic) = fuzz_load(target, &name, &bytes) {
                panic!("{name}: panicked: {panic}");
            }
            seen += 1;
        }
    }
    eprintln!("{seen} fuzz findings checked");
}

/// Found while fuzzing: 25 nodes of 9·10^17 bytes each overflowed the root's retained size
/// (a panic in the dominator pass), and `extra_native_bytes` near 2^64 overflowed the summary's
/// total. The loader now refuses a heap of more than 2^62 bytes, which bounds every total.
#[test]
fn heap_sizes_that_overflow_totals_are_rejected() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/fuzz/v8_snapshot");
    let bytes = std::fs::read(dir.join("self-sizes-overflow.heapsnapshot")).unwrap();
    expect_bad(
        "self-sizes.heapsnapshot",
        &bytes,
        "add up to more than any heap holds",
    );
    let bytes = std::fs::read(dir.join("extra-native-bytes-overflow.heapsnapshot")).unwrap();
    expect_bad(
        "extra-native.heapsnapshot",
        &bytes,
        "snapshot.extra_native_bytes is 18446744073709551615",
    );
    // Up to the bound, both load and analyse.
    let at_bound = with_sections(
        r#""nodes":[9,0,1,0,1,0,0,3,1,3,4611686018427387903,0,0,0],"edges":[1,1,7],"strings":["","A"]"#,
    )
    .replace(r#""node_count":2"#, r#""extra_native_bytes":4611686018427387904,"node_count":2"#);
    assert_eq!(
        load_and_analyze_no_panic("at-bound.heapsnapshot", at_bound.as_bytes()),
        Ok(true)
    );
}
