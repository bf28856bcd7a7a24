//! V8 sampling heap profiles (`.heapprofile`): the real Node sample from
//! `scripts/make-heapprofile.js`, hand-made profiles (deep trees, field order, numbers written
//! as floats) and broken ones.

mod common;

use std::panic::{catch_unwind, AssertUnwindSafe};

use common::{heapsight, sample, temp_file};
use heapsight::analysis::alloc::{sites, AllocSummary};
use heapsight::analysis::call_tree::{CallTree, Direction, ROOT};
use heapsight::model::alloc::{AllocProfile, Metric};

fn load(path: &std::path::Path) -> Box<AllocProfile> {
    let snap = heapsight::formats::load(path, Default::default())
        .unwrap_or_else(|e| panic!("loading {}: {e}", path.display()));
    snap.alloc
        .expect("a heap profile loads as an allocation profile")
}

fn load_text(text: &str) -> heapsight::Result<Box<AllocProfile>> {
    let path = temp_file("p.heapprofile", text.as_bytes());
    heapsight::formats::load(&path, Default::default()).map(|s| s.alloc.expect("a profile"))
}

fn error_of(text: &str) -> String {
    let r = catch_unwind(AssertUnwindSafe(|| load_text(text)));
    match r {
        Ok(Ok(_)) => panic!("{text:?} loaded"),
        Ok(Err(e)) => e.to_string(),
        Err(_) => panic!("{text:?} panicked"),
    }
}

/// Bytes (selfSize) and samples per allocating function, from the bottom-up call tree.
fn by_function(p: &AllocProfile) -> Vec<(String, u64, u64)> {
    let t = CallTree::build(p, Direction::BottomUp);
    t.sorted_children(p, ROOT, Metric::PeakBytes)
        .into_iter()
        .map(|n| {
            (
                t.function(p, n).to_string(),
                t.value(n, Metric::PeakBytes),
                t.value(n, Metric::PeakBlocks),
            )
        })
        .collect()
}

/// `scripts/make-heapprofile.js` keeps 4000 records, 4000 strings (built by `padEnd`) and 200
/// arrays of 1000 numbers (made by `fillArray`), and makes as many garbage arrays, collected
/// before the profile is taken. The numbers are the file's (the script prints them too): the
/// sum of the nodes' `selfSize` is the bytes; the samples, 701, are the blocks (their own
/// `size` fields add up to 3 687 480: shown apart, labelled, as the samples list).
#[test]
fn the_node_sample_totals_and_top_functions() {
    let p = load(&sample("node-heapprofile/alloc.heapprofile"));
    assert_eq!(p.format, "heapprofile");
    assert_eq!(p.totals.peak_bytes, 3_921_688);
    assert_eq!(p.totals.peak_blocks, 701);
    // The samples list, a figure apart (the samples' own sizes), shown labelled.
    let list = p.sample_list.expect("the samples list");
    assert_eq!((list.count, list.bytes), (701, 3_687_480));
    assert_eq!(p.site_totals(), p.totals);
    assert_eq!(p.sites.len(), 6);
    assert!(p.records(Metric::PeakBytes) && p.records(Metric::PeakBlocks));
    assert!(!p.records(Metric::EndBytes) && !p.records(Metric::TotalBytes));
    let top: Vec<(String, u64, u64)> = by_function(&p);
    let expected = [
        ("fillArray", 1_726_032, 186),
        ("padEnd", 1_023_776, 249),
        ("keepRecords", 828_112, 201),
        ("keepStrings", 254_872, 62),
        ("push", 84_304, 2),
        ("post", 4_592, 1),
    ];
    let got: Vec<(&str, u64, u64)> = top.iter().map(|(f, b, s)| (f.as_str(), *b, *s)).collect();
    assert_eq!(got, expected);
    // The garbage was collected: makeGarbage has no live samples, so no node.
    assert!(!(0..p.frames.len() as u32).any(|f| p.function(f) == "makeGarbage"));
    // Top-down: the script's anonymous top level, then keepArrays → fillArray, with one-based
    // lines and columns (V8 writes them zero-based).
    let all = sites(&p);
    let arrays = all.iter().find(|s| s.function == "fillArray").unwrap();
    assert!(
        arrays.location.ends_with("make-heapprofile.js:34:19"),
        "{}",
        arrays.location
    );
    assert_eq!(
        arrays
            .stack
            .iter()
            .map(|f| f.split(' ').next().unwrap())
            .collect::<Vec<_>>(),
        ["(anonymous)", "(anonymous)", "keepArrays", "fillArray"]
    );
    let summary = AllocSummary::build(&p, 5);
    assert_eq!(summary.top_by_peak[0].function, "fillArray");
}

#[test]
fn the_cli_reads_it() {
    let file = sample("node-heapprofile/alloc.heapprofile");
    let out = heapsight(&["summary", file.to_str().unwrap()]);
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("3921688 bytes") || text.contains("3 921 688"),
        "{text}"
    );
    assert!(text.contains("V8 sampling heap profile records"), "{text}");
    let out = heapsight(&["calltree", file.to_str().unwrap(), "--bottom-up", "--json"]);
    assert!(out.status.success(), "{out:?}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["totals"]["peak_bytes"], 3_921_688);
    assert_eq!(v["rows"][0]["function"], "fillArray");
    let out = heapsight(&["summary", file.to_str().unwrap(), "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["sample_list"]["bytes"], 3_687_480);
    assert_eq!(v["sample_list"]["count"], 701);
    assert!(text.contains("Samples list: 3687480 bytes"), "{text}");
}

/// A node with `children` before its other fields, numbers as floats, a sample list before
/// the tree, and unknown fields.
#[test]
fn field_order_and_number_forms_do_not_matter() {
    let text = r#"{"samples":[{"size":10,"nodeId":3,"ordinal":1},{"nodeId":3,"size":1.0e1},
        {"size":5,"nodeId":2,"ordinal":3}],
      "extra":{"a":[1,2,{"b":null}]},
      "head":{"children":[
          {"id":2,"callFrame":{"functionName":"main","url":"file:///a.js","scriptId":"7",
                               "lineNumber":0,"columnNumber":4},"selfSize":5.0,
           "children":[{"selfSize":20,"id":3,"children":[],
                        "callFrame":{"functionName":"","url":"file:///a.js","scriptId":7,
                                     "lineNumber":9,"columnNumber":-1}}]}],
        "callFrame":{"functionName":"(root)","scriptId":"0","url":"","lineNumber":-1,"columnNumber":-1},
        "selfSize":0,"id":1}}"#;
    let p = load_text(text).unwrap();
    assert_eq!(p.totals.peak_bytes, 25);
    assert_eq!(p.totals.peak_blocks, 3);
    let rows = sites(&p);
    let anon = rows.iter().find(|r| r.function == "(anonymous)").unwrap();
    assert_eq!(anon.location, "file:///a.js:10");
    assert_eq!(
        anon.stack,
        ["main (file:///a.js:1:5)", "(anonymous) (file:///a.js:10)"]
    );
    assert_eq!((anon.metrics.peak_bytes, anon.metrics.peak_blocks), (20, 2));
}

/// 100 000 levels: no recursion anywhere, in the reader or after.
#[test]
fn a_deep_tree_loads() {
    let depth = 100_000;
    let mut text = String::from(r#"{"head":"#);
    for i in 0..depth {
        text.push_str(&format!(
            r#"{{"callFrame":{{"functionName":"f{}","url":"","lineNumber":-1,"columnNumber":-1}},"selfSize":{},"id":{i},"children":["#,
            i % 7,
            u64::from(i == depth - 1) * 64
        ));
    }
    for _ in 0..depth {
        text.push_str("]}");
    }
    text.push_str(r#","samples":[]}"#);
    let p = load_text(&text).unwrap();
    assert_eq!(p.totals.peak_bytes, 64);
    assert_eq!(p.sites.len(), 1);
    assert_eq!(p.stack(&p.sites[0]).len(), depth as usize - 1);
}

#[test]
fn bad_input_is_one_clear_error() {
    let root = r#""callFrame":{"functionName":"(root)"},"selfSize":0"#;
    let cases: &[(String, &str)] = &[
        (r#"{"head":{"callFrame":{}"#.into(), "truncated"),
        (format!(r#"{{"head":{{{root},"children":[]}}}}"#), "no \"id\""),
        (
            format!(r#"{{"head":{{{root},"id":1,"children":[{{"id":1,"callFrame":{{}}}}]}}}}"#),
            "two profile nodes have id 1",
        ),
        (
            format!(r#"{{"head":{{{root},"id":1}},"samples":[{{"nodeId":9,"size":1}}]}}"#),
            "sample 0 names node 9",
        ),
        (
            r#"{"head":{"id":1,"selfSize":0,"children":[]},"callFrame":1}"#.into(),
            "no \"callFrame\"",
        ),
        (
            r#"{"head":{"callFrame":{},"id":1,"selfSize":-4}}"#.into(),
            "selfSize is negative",
        ),
        (
            r#"{"head":{"callFrame":{},"id":1,"selfSize":1.5}}"#.into(),
            "selfSize is not an integer",
        ),
        (
            format!(r#"{{"head":{{{root},"id":1}},"head":{{}}}}"#),
            "\"head\" appears twice",
        ),
        (format!(r#"{{"head":{{{root},"id":1}}}} x"#), "unexpected data"),
        (
            format!(r#"{{"head":{{{root},"id":1}},"samples":[{{"size":1}}]}}"#),
            "no \"nodeId\"",
        ),
        (
            r#"{"head":{"callFrame":{},"id":1,"selfSize":18446744073709551615,"children":[{"callFrame":{},"id":2,"selfSize":18446744073709551615}]}}"#.into(),
            "",
        ),
    ];
    for (text, want) in cases {
        let e = error_of(text);
        assert!(e.contains("p.heapprofile"), "{e}");
        assert!(e.contains(want), "{text}: {e}");
    }
}
