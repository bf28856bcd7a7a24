//! File layouts the loader must accept: Node 20's, Chromium 156's, gzip, a byte-order mark,
//! pretty-printed JSON and unknown sections.

mod common;

use common::{analyze_file, gzip, temp_file, Heap, NODE20_META};
use heapsight::analysis::RuleSet;
use heapsight::model::Location;

/// Node 20: node fields end with trace_node_id and detachedness; trace sections filled in.
/// Nodes: 0 root (synthetic), 1 `Foo` object (id 3, 32 bytes, trace node 2, attached),
/// 2 string "hello" (id 5, 24 bytes, trace node 2).
fn node20_text() -> String {
    format!(
        r#"{{"snapshot":{{"meta":{NODE20_META},"node_count":3,"edge_count":2,"trace_function_count":1}},
"nodes":[9,0,1,0,2,0,0
,3,1,3,32,0,2,1
,2,2,5,24,0,2,0],
"edges":[5,3,7
,1,1,14],
"trace_function_infos":[1,4,5,3,10,2],
"trace_tree":[1,0,0,0,[2,0,2,56,[]]],
"samples":[1000,3,2000,5],
"locations":[7,3,10,2],
"strings":["","Foo","hello","global","main","app.js"]}}"#
    )
}

#[test]
fn node20_layout_with_traces() {
    let path = temp_file("node20.heapsnapshot", node20_text().as_bytes());
    let s = analyze_file(&path, RuleSet::DevTools);
    let g = s.graph();
    assert_eq!((g.node_count(), g.edge_count()), (3, 2));
    assert_eq!(g.name(1), "Foo");
    assert_eq!(g.type_name(2), "string");
    assert_eq!(g.id(2), 5);
    assert_eq!(g.self_size(1), 32);
    assert!(g.has_detachedness());
    assert_eq!(g.detachedness(1), 1);
    assert_eq!(g.trace_node_id(1), 2);
    assert_eq!(g.trace_node_id(0), 0);
    // root -shortcut "global"-> Foo, root -element [1]-> string.
    assert_eq!(g.edge_label(0), "global");
    assert_eq!(g.edge_label(1), "[1]");
    assert_eq!(s.analysis.retained_size(0), 56);
    let t = &s.snapshot.traces;
    assert_eq!(t.function_infos.rows(), 1);
    assert_eq!(t.function_infos.get(0, "line"), Some(10));
    assert_eq!(t.function_infos.get(0, "name"), Some(4));
    assert_eq!(t.tree.len(), 2);
    assert_eq!((t.tree[0].id, t.tree[0].parent), (1, u32::MAX));
    assert_eq!(t.tree[1].id, 2);
    assert_eq!(t.tree[1].parent, 0);
    assert_eq!((t.tree[1].count, t.tree[1].size), (2, 56));
    assert_eq!(t.samples.rows(), 2);
    assert_eq!(t.samples.get(1, "last_assigned_id"), Some(5));
    // locations: object index 7 = node 1 (7 fields a node), script 3, line 10, column 2.
    assert_eq!(
        t.locations,
        vec![Location {
            node: 1,
            script_id: 3,
            line: 10,
            column: 2
        }]
    );
    assert_eq!(s.snapshot.info.declared_node_count, 3);
    assert_eq!(s.snapshot.info.extra_native_bytes, None);
}

/// Chromium 156: no trace_node_id, `extra_native_bytes`, and `scopes`, `scope_context_vars`,
/// `scope_uses` (with negative numbers) after `strings`.
const CHROMIUM_156: &str = r#"{"snapshot":{"meta":{"node_fields":["type","name","id","self_size","edge_count","detachedness"],"node_types":[["hidden","array","string","object","code","closure","regexp","number","native","synthetic","concatenated string","sliced string","symbol","bigint","object shape","wasm object"],"string","number","number","number","number","number"],"edge_fields":["type","name_or_index","to_node"],"edge_types":[["context","element","property","internal","hidden","shortcut","weak"],"string_or_number","node"],"trace_function_info_fields":["function_id","name","script_name","script_id","line","column"],"trace_node_fields":["id","function_info_index","count","size","children"],"sample_fields":["timestamp_us","last_assigned_id"],"location_fields":["object_index","script_id","line","column"],"scope_fields":["id","context","start","end"],"scope_context_var_fields":["scope","name","index"],"scope_use_fields":["scope","position"]},"node_count":3,"edge_count":3,"trace_function_count":0,"extra_native_bytes":4096},
"nodes":[9,0,1,0,2,0
,3,1,3,40,1,0
,8,2,4,100,0,2],
"edges":[5,3,6
,1,1,12
,2,4,12],
"trace_function_infos":[],
"trace_tree":[],
"samples":[],
"locations":[],
"strings":["","Window","<div id=a>","Window / https://example.com","doc"],
"scopes":[1,-1,-2,12,2,6,-1,-7],
"scope_context_vars":[1,3,-1],
"scope_uses":[1,-2,{"nested":["x",-3.5e2,null,true]}]}"#;

#[test]
fn chromium_156_layout() {
    let path = temp_file("chromium.heapsnapshot", CHROMIUM_156.as_bytes());
    let s = analyze_file(&path, RuleSet::DevTools);
    let g = s.graph();
    assert_eq!((g.node_count(), g.edge_count()), (3, 3));
    assert_eq!(g.trace_node_id(1), 0);
    assert_eq!(g.detachedness(2), 2);
    assert_eq!(g.edge_label(2), "doc");
    assert_eq!(s.snapshot.info.extra_native_bytes, Some(4096));
    assert_eq!(s.class_name(1), "Window");
    assert_eq!(s.class_name(2), "Detached <div>");
    // The root and Window both point at the div (100), so its idom is the root. Root = 140; total = 140 + 4096 extra native bytes.
    assert_eq!(s.analysis.dominator(2), 0);
    assert_eq!(s.analysis.retained_size(0), 140);
    assert_eq!(s.summary().total_size, 140 + 4096);
    let stats = s.statistics();
    assert_eq!(stats.total, 140 + 4096);
    assert_eq!(stats.native, 100 + 4096);
    assert!(s.snapshot.traces.is_empty());
}

#[test]
fn gzip_compressed_snapshot_loads_the_same() {
    let text = node20_text();
    let plain = analyze_file(
        &temp_file("plain.heapsnapshot", text.as_bytes()),
        RuleSet::DevTools,
    );
    let gz = analyze_file(
        &temp_file("gz.heapsnapshot.gz", &gzip(text.as_bytes())),
        RuleSet::DevTools,
    );
    assert_eq!(gz.graph().node_count(), plain.graph().node_count());
    assert_eq!(
        gz.analysis.dominators.retained,
        plain.analysis.dominators.retained
    );
    assert_eq!(gz.snapshot.traces.tree, plain.snapshot.traces.tree);
    // Two gzip members back to back (what `cat a.gz b.gz` makes) are one stream.
    let (a, b) = text.as_bytes().split_at(text.len() / 2);
    let mut two = gzip(a);
    two.extend(gzip(b));
    let multi = analyze_file(&temp_file("multi.gz", &two), RuleSet::DevTools);
    assert_eq!(
        multi.analysis.dominators.retained,
        plain.analysis.dominators.retained
    );
    // The file name doesn't matter: gzip is recognised by its magic bytes.
    let odd_name = analyze_file(
        &temp_file("no-gz-suffix.heapsnapshot", &gzip(text.as_bytes())),
        RuleSet::DevTools,
    );
    assert_eq!(odd_name.graph().node_count(), 3);
}

/// `text` with spaces, tabs and newlines around every structural character outside strings.
fn spaced_out(text: &str) -> String {
    let mut out = String::new();
    let (mut in_string, mut escaped) = (false, false);
    for c in text.chars() {
        if in_string {
            out.push(c);
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => {
                in_string = true;
                out.push(c);
            }
            ',' | ':' | '[' | '{' => {
                out.push(c);
                out.push_str(" \r\n\t ");
            }
            ']' | '}' => {
                out.push_str("\n  ");
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    out
}

#[test]
fn byte_order_mark_whitespace_and_unknown_sections() {
    let mut h = Heap::new();
    let root = h.node("synthetic", "", 0);
    let a = h.node("object", "A \"quoted\" \u{e9}\u{1F600}\n", 10);
    h.edge(root, "element", "1", a);
    h.edge(a, "property", "x\ty", root);
    h.top_level(r#""future_section":{"a":[1,[2,[3]],"]}"],"b":-1.5e-3,"c":null}"#);
    let compact = h.json();
    // Spread white space around every token, then prepend a UTF-8 byte-order mark.
    let mut bytes = "\u{feff}".as_bytes().to_vec();
    bytes.extend(spaced_out(&compact).as_bytes());
    let s = analyze_file(&temp_file("pretty.heapsnapshot", &bytes), RuleSet::DevTools);
    assert_eq!(s.graph().name(a), "A \"quoted\" \u{e9}\u{1F600}\n");
    assert_eq!(s.graph().edge_label(1), "x\ty");
    assert_eq!(s.analysis.retained_size(root), 10);
}

#[test]
fn escaped_strings_and_surrogates() {
    // \u escapes, including a surrogate pair and a lone high surrogate (→ U+FFFD).
    let text = format!(
        r#"{{"snapshot":{{"meta":{NODE20_META},"node_count":2,"edge_count":1}},
"nodes":[9,0,1,0,1,0,0,3,1,3,8,0,0,0],"edges":[1,1,7],
"strings":["","\u0041\ud83d\ude00\/\\\ud800z"]}}"#
    );
    let s = analyze_file(
        &temp_file("escapes.heapsnapshot", text.as_bytes()),
        RuleSet::DevTools,
    );
    assert_eq!(s.graph().name(1), "A\u{1F600}/\\\u{FFFD}z");
}
