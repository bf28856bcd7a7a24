//! The runtime's one-time allocations (docs/leak-rules.md): objects Node makes once, lazily, on
//! first use are listed apart and never counted as leaks, while the program's own leaks still
//! are — on the committed samples made by scripts/make-lazy-scenario.js and make-leak-scenario.js,
//! through the library and through the built binary's exit code.

mod common;

use std::process::Command;

use common::{analyze_file, sample};
use heapsight::analysis::leaks::LeakReport;
use heapsight::analysis::RuleSet;

fn leaks(dir: &str) -> LeakReport {
    let [b, t, f] = ["baseline", "target", "final"].map(|s| {
        analyze_file(
            &sample(&format!("{dir}/{s}.heapsnapshot")),
            RuleSet::DevTools,
        )
    });
    LeakReport::compute(&b, &t, &f)
}

fn groups(v: &[heapsight::analysis::leaks::LeakCluster]) -> Vec<(String, u64)> {
    v.iter().map(|c| (c.class.clone(), c.count)).collect()
}

/// `heapsight leaks --fail-on-leak` on a sample: (exit code, stdout).
fn gate(dir: &str) -> (i32, String) {
    let f = |s: &str| sample(&format!("{dir}/{s}.heapsnapshot"));
    let out = Command::new(env!("CARGO_BIN_EXE_heapsight"))
        .arg("leaks")
        .arg("--baseline")
        .arg(f("baseline"))
        .arg("--target")
        .arg(f("target"))
        .arg("--final")
        .arg(f("final"))
        .arg("--fail-on-leak")
        .output()
        .expect("run heapsight");
    (
        out.status.code().expect("an exit code"),
        String::from_utf8(out.stdout).unwrap(),
    )
}

/// The slot each one-time group is held in: `holder class . edge name`.
fn slots(r: &LeakReport) -> Vec<String> {
    let mut v: Vec<String> = r
        .one_time_allocations
        .iter()
        .map(|c| {
            let n = c.trace.len();
            format!("{}.{}", c.trace[n - 2].node_class, c.trace[n - 1].edge_name)
        })
        .collect();
    v.sort();
    v.dedup();
    v
}

#[test]
fn lazy_runtime_singletons_are_one_time_allocations_not_leaks() {
    let r = leaks("node-lazy-clean");
    assert!(r.clusters.is_empty(), "{:?}", groups(&r.clusters));
    assert_eq!((r.leaked_count, r.leaked_retained_size), (0, 0));
    assert!(r.gate(1, 0).is_empty());
    // What the rule found: builtin modules' exports (zlib, crypto, url, querystring, events,
    // string_decoder…), their internalBinding objects, console's colour table and stdout.
    let total: u64 = r.one_time_allocations.iter().map(|c| c.count).sum();
    assert_eq!(total, 31, "{:?}", groups(&r.one_time_allocations));
    assert_eq!(
        slots(&r),
        vec![
            "BuiltinModule.exportKeys",
            "BuiltinModule.exports",
            "Object.get defaultCipherList",
            "Object.zlib",
            "system / Context.stdout",
            "system / Context.utilColors",
        ]
    );
    assert!(r
        .one_time_allocations
        .iter()
        .any(|c| c.class == "SyncWriteStream" && c.count == 2));
    // Every group's trace ends at its first example, as a cluster's does.
    for c in &r.one_time_allocations {
        assert_eq!(c.trace.last().unwrap().node_id, c.example_ids[0]);
        assert_eq!(c.nodes.len() as u64, c.count);
    }
    let (code, out) = gate("node-lazy-clean");
    assert_eq!(code, 0, "{out}");
    assert!(out.starts_with("0 leaked objects in 0 cluster(s)"), "{out}");
    assert!(
        out.contains("one-time allocations (not counted): 31 object(s)"),
        "{out}"
    );
    assert!(out.contains("2 × SyncWriteStream"), "{out}");
}

#[test]
fn correct_server_under_load_has_no_leak_and_passes_the_gate() {
    let r = leaks("node-server-clean");
    assert!(r.clusters.is_empty(), "{:?}", groups(&r.clusters));
    assert_eq!(r.leaked_count, 0);
    // The runtime made its singletons during warm-up, before the baseline.
    assert!(r.one_time_allocations.is_empty());
    let (code, out) = gate("node-server-clean");
    assert_eq!(code, 0, "{out}");
    assert!(!out.contains("one-time allocations"), "{out}");
}

#[test]
fn leaky_server_is_exactly_its_session_cluster() {
    let r = leaks("node-server-leak");
    assert_eq!(groups(&r.clusters), vec![("Session".to_string(), 500)]);
    assert!(r.one_time_allocations.is_empty());
    let (code, out) = gate("node-server-leak");
    assert_eq!(code, 1, "{out}");
    assert!(
        out.starts_with("500 leaked objects in 1 cluster(s)"),
        "{out}"
    );
}

#[test]
fn node_leak_is_still_only_the_request_context_cluster() {
    let r = leaks("node-leak");
    assert_eq!(
        groups(&r.clusters),
        vec![("RequestContext".to_string(), 1000)]
    );
    assert!(r.one_time_allocations.is_empty());
    let (code, out) = gate("node-leak");
    assert_eq!(code, 1, "{out}");
    assert!(
        out.starts_with("1000 leaked objects in 1 cluster(s)"),
        "{out}"
    );
    let (code, out) = gate("node-noleak");
    assert_eq!(code, 0, "{out}");
}

#[test]
fn browser_leaks_are_not_taken_for_runtime_singletons() {
    // window.leakedRows is a named slot of an object older than the baseline, but no runtime
    // code holds it: still a leak.
    let r = leaks("browser-detached");
    let mut got = groups(&r.clusters);
    got.sort();
    assert_eq!(
        got,
        vec![
            ("Detached <ul>".to_string(), 1),
            ("LeakyListener".to_string(), 100)
        ]
    );
    assert!(r.one_time_allocations.is_empty());
    assert_eq!(gate("browser-detached").0, 1);
}

// ---------------------------------------------------------------------------------------------
// Hand-made trios: the rules of docs/leak-rules.md one by one. Ids match across snapshots.

use common::Heap;
use heapsight::analysis::AnalyzedSnapshot;
use heapsight::model::NodeIx;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Stage {
    Baseline,
    Target,
    Final,
}

/// `global --property lib--> closure (code from `script`) --context--> scope`, all older than
/// the baseline; `fill` adds what each snapshot holds below `scope`.
fn runtime_trio(script: &str, fill: impl Fn(&mut Heap, NodeIx, Stage)) -> LeakReport {
    let [b, t, f]: [AnalyzedSnapshot; 3] =
        [Stage::Baseline, Stage::Target, Stage::Final].map(|stage| {
            let mut h = Heap::new();
            let root = h.node_with_id("synthetic", "", 1, 0);
            let global = h.node_with_id("object", "global", 3, 100);
            h.edge(root, "shortcut", "1", global);
            let f = h.node_with_id("closure", "lib", 5, 32);
            h.edge(global, "property", "lib", f);
            let shared = h.node_with_id("code", "lib", 7, 32);
            h.edge(f, "internal", "shared", shared);
            let s = h.node_with_id("code", script, 9, 32);
            h.edge(shared, "internal", "script_or_debug_info", s);
            let scope = h.node_with_id("object", "system / Context", 11, 48);
            h.edge(f, "internal", "context", scope);
            fill(&mut h, scope, stage);
            h.analyze()
        });
    LeakReport::compute(&b, &t, &f)
}

#[test]
fn a_scope_variable_of_runtime_code_filled_after_the_baseline_is_one_time() {
    let fill = |h: &mut Heap, scope: NodeIx, stage: Stage| {
        if stage != Stage::Baseline {
            let o = h.node_with_id("object", "Stream", 101, 40);
            h.edge(scope, "context", "stdout", o);
        }
    };
    let r = runtime_trio("node:internal/bootstrap/switches/is_main_thread", fill);
    assert!(r.clusters.is_empty(), "{:?}", groups(&r.clusters));
    assert_eq!(groups(&r.one_time_allocations), vec![("Stream".into(), 1)]);
    assert_eq!((r.leaked_count, r.leaked_retained_size), (0, 0));
    // The same slot in the program's own script is a leak.
    let r = runtime_trio("/srv/app.js", fill);
    assert_eq!(groups(&r.clusters), vec![("Stream".into(), 1)]);
    assert!(r.one_time_allocations.is_empty());
}

#[test]
fn collection_entries_and_growing_holders_under_runtime_code_stay_leaks() {
    // Entries of an (old) array in a runtime scope: a collection, so a leak.
    let r = runtime_trio("node:events", |h, scope, stage| {
        let list = h.node_with_id("object", "Array", 21, 16);
        h.edge(scope, "context", "listeners", list);
        if stage != Stage::Baseline {
            let o = h.node_with_id("object", "Listener", 201, 40);
            h.edge(list, "element", "0", o);
        }
    });
    assert_eq!(groups(&r.clusters), vec![("Listener".into(), 1)]);
    assert!(r.one_time_allocations.is_empty());
    // A property of an (old) runtime object that keeps gaining properties after the target.
    let r = runtime_trio("node:diagnostics_channel", |h, scope, stage| {
        let dict = h.node_with_id("object", "Object", 31, 16);
        h.edge(scope, "context", "channels", dict);
        if stage != Stage::Baseline {
            let o = h.node_with_id("object", "Channel", 301, 40);
            h.edge(dict, "property", "req-1", o);
        }
        if stage == Stage::Final {
            let o = h.node_with_id("object", "Channel", 303, 40);
            h.edge(dict, "property", "req-2", o);
        }
    });
    assert_eq!(groups(&r.clusters), vec![("Channel".into(), 1)]);
    assert!(r.one_time_allocations.is_empty());
    // The same holder filled once, before the target, and not since: one-time.
    let r = runtime_trio("node:diagnostics_channel", |h, scope, stage| {
        let dict = h.node_with_id("object", "Object", 31, 16);
        h.edge(scope, "context", "channels", dict);
        if stage != Stage::Baseline {
            let o = h.node_with_id("object", "Channel", 301, 40);
            h.edge(dict, "property", "net", o);
        }
    });
    assert!(r.clusters.is_empty(), "{:?}", groups(&r.clusters));
    assert_eq!(groups(&r.one_time_allocations), vec![("Channel".into(), 1)]);
}
