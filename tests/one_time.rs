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
