//! `heapsight calltree`, `summary` and the folding flags on the project's Rust allocation dumps
//! (DHAT from dhat-rs and valgrind, heaptrack, pprof), through the binary.

mod common;

use common::heapsight;
use serde_json::Value;

const SAMPLES: [&str; 4] = [
    "sample-snapshots/rust/dhat-rs-small.json",
    "sample-snapshots/rust/valgrind-dhat-small.json",
    "sample-snapshots/rust/heaptrack-small.zst",
    "sample-snapshots/rust/pprof-small.pb.gz",
];

fn json(args: &[&str]) -> Value {
    let out = heapsight(args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{args:?}: {e}"))
}

/// Root-level rows of a call tree, as (function, value of `key`).
fn tops(tree: &Value, key: &str) -> Vec<(String, u64)> {
    tree["rows"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["depth"] == 1)
        .map(|r| {
            (
                r["function"].as_str().unwrap().to_string(),
                r["metrics"][key].as_u64().unwrap(),
            )
        })
        .collect()
}

#[test]
fn call_tree_totals_are_the_producers_totals_both_ways() {
    for file in SAMPLES {
        let summary = json(&["summary", file, "--json"]);
        for dir in [&[][..], &["--bottom-up"][..]] {
            let mut args = vec!["calltree", file, "--json", "--limit", "0"];
            args.extend_from_slice(dir);
            let tree = json(&args);
            // The root holds the totals, and its children add up to them, for every metric
            // recorded.
            for m in tree["metrics"].as_array().unwrap() {
                let key = m.as_str().unwrap();
                assert_eq!(
                    tree["totals"][key], summary["totals"][key],
                    "{file} {dir:?} {key}"
                );
                let sum: u64 = tops(&tree, key).iter().map(|t| t.1).sum();
                let total = summary["totals"][key].as_u64().unwrap();
                assert!(sum <= total, "{file} {dir:?} {key}");
                if key == "peak_bytes" {
                    assert_eq!(sum, total, "{file} {dir:?}: every byte at peak has a stack");
                }
            }
        }
    }
}

#[test]
fn bottom_up_by_each_metric_names_the_workload_functions() {
    let first = |file: &str, sort: &str| -> String {
        let tree = json(&[
            "calltree",
            file,
            "--bottom-up",
            "--sort",
            sort,
            "--json",
            "--depth",
            "1",
        ]);
        tops(&tree, sort)[0].0.clone()
    };
    for file in &SAMPLES[..3] {
        assert_eq!(
            first(file, "end_bytes"),
            "alloc_workload::build_graph_cycle",
            "{file}"
        );
        assert_eq!(
            first(file, "peak_bytes"),
            "alloc_workload::load_tensors",
            "{file}"
        );
        // The per-batch temporaries are the most allocations, whichever producer (valgrind's
        // inlined std frames are folded into the function they were inlined into).
        assert_eq!(
            first(file, "total_blocks"),
            "alloc_workload::score_batch",
            "{file}"
        );
    }
    // heaptrack records temporaries: the per-batch key strings and windows.
    assert_eq!(
        first(SAMPLES[2], "temporary_blocks"),
        "alloc_workload::score_batch"
    );
    assert_eq!(
        first(SAMPLES[3], "peak_bytes"),
        "pprof_workload::load_tensors"
    );
}

#[test]
fn folding_flags_change_the_stacks_not_the_totals() {
    let file = SAMPLES[0];
    let folded = json(&["calltree", file, "--bottom-up", "--json", "--depth", "1"]);
    let raw = json(&[
        "calltree",
        file,
        "--bottom-up",
        "--json",
        "--depth",
        "1",
        "--no-fold",
    ]);
    assert_eq!(folded["totals"], raw["totals"]);
    let names =
        |t: &Value| -> Vec<String> { tops(t, "peak_bytes").into_iter().map(|t| t.0).collect() };
    assert!(names(&folded)
        .iter()
        .all(|f| f.starts_with("alloc_workload::")));
    assert!(!names(&raw)
        .iter()
        .any(|f| f.starts_with("alloc_workload::")));
    // --fold adds a prefix: the tensor loader is folded into its caller.
    let extra = json(&["summary", file, "--json", "--fold", "alloc_workload::load_"]);
    assert_eq!(
        extra["top_by_peak"][0]["function"], "alloc_workload::main",
        "{extra}"
    );
}

#[test]
fn summary_lists_short_lived_and_never_accessed_sites() {
    let s = json(&["summary", SAMPLES[0], "--json"]);
    assert_eq!(s["short_lived_threshold"], 10);
    assert_eq!(s["time_unit"], "µs");
    assert_eq!(
        s["top_by_short_lived"][0]["function"],
        "alloc_workload::score_batch"
    );
    assert_eq!(s["top_by_short_lived"][0]["short_lived"], true);
    let v = json(&["summary", SAMPLES[1], "--json", "--top", "0"]);
    assert!(v["top_never_read_or_written"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["function"] == "alloc_workload::leak_config" && r["never_read"] == true));
    // The text says so too.
    let out = heapsight(&["summary", SAMPLES[1]]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("never read or never written"), "{text}");
    assert!(
        text.contains("unread  alloc_workload::leak_config"),
        "{text}"
    );
}

#[test]
fn calltree_text_and_errors() {
    let out = heapsight(&["calltree", SAMPLES[2], "--depth", "8", "--limit", "5"]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Top-down call tree"), "{text}");
    assert!(text.contains("Temporary"), "{text}");
    let header = text.lines().position(|l| l.contains("Function")).unwrap();
    let rows: Vec<&str> = text.lines().skip(header + 1).collect();
    assert_eq!(rows.len(), 6, "5 rows and the note on --limit: {text}");
    assert!(rows[5].contains("--limit 0"), "{text}");
    // A heap snapshot has no call tree; an unknown metric is a usage error.
    let out = heapsight(&[
        "calltree",
        "sample-snapshots/node-leak/baseline.heapsnapshot",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("allocation profile"));
    let out = heapsight(&["calltree", SAMPLES[0], "--sort", "bogus"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("peak_bytes"));
}
