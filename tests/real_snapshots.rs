//! The committed Node 20 samples: invariants that must hold on any snapshot, and the exact class
//! counts the scenario script recorded in expected.json.

mod common;

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use common::{analyze_file, sample};
use heapsight::analysis::distances::{NO_DISTANCE, SYSTEM_DISTANCE};
use heapsight::analysis::retainers::retainer_paths;
use heapsight::analysis::{AnalyzedSnapshot, RuleSet, Statistics, Summary};
use heapsight::model::{EdgeKind, NodeIx};

const SNAPSHOTS: [&str; 4] = [
    "node-leak/baseline.heapsnapshot",
    "node-leak/target.heapsnapshot",
    "node-leak/final.heapsnapshot",
    "node-timeline/alloc.heaptimeline",
];

/// Each (file, rules) is loaded and analysed once per test binary and shared by the tests.
fn analyzed(rel: &str, rules: RuleSet) -> &'static AnalyzedSnapshot {
    type Cache = Mutex<HashMap<(String, bool), &'static OnceLock<AnalyzedSnapshot>>>;
    static CACHE: OnceLock<Cache> = OnceLock::new();
    let cell = *CACHE
        .get_or_init(Default::default)
        .lock()
        .unwrap()
        .entry((rel.to_string(), rules == RuleSet::DevTools))
        .or_insert_with(|| Box::leak(Box::new(OnceLock::new())));
    cell.get_or_init(|| analyze_file(&sample(rel), rules))
}

/// The checks every analysed snapshot must pass, whatever the rules.
fn check_invariants(rel: &str, rules: RuleSet) {
    let s = analyzed(rel, rules);
    let g = s.graph();
    let a = &s.analysis;
    let n = g.node_count();
    let root = g.root();
    let ctx = format!("{rel} ({rules:?})");

    // Shallow sizes only move between nodes: their sum is the file's.
    let raw_total: u64 = (0..n as NodeIx).map(|v| g.self_size(v)).sum();
    let shallow_total: u64 = (0..n as NodeIx).map(|v| a.shallow_size(v)).sum();
    assert_eq!(shallow_total, raw_total, "{ctx}: shallow sizes sum");
    // Every node hangs under the root, so the root retains everything.
    assert_eq!(a.retained_size(root), shallow_total, "{ctx}: root retained");
    assert_eq!(a.dominator(root), root, "{ctx}: root's dominator");

    // retained(v) = shallow(v) + retained of the nodes v immediately dominates.
    let mut child_sum = vec![0u64; n];
    for v in 0..n as NodeIx {
        if v != root {
            child_sum[a.dominator(v) as usize] += a.retained_size(v);
        }
    }
    for v in 0..n as NodeIx {
        assert!(
            a.retained_size(v) >= a.shallow_size(v),
            "{ctx}: node {v} retains less than its shallow size"
        );
        assert_eq!(
            a.retained_size(v),
            a.shallow_size(v) + child_sum[v as usize],
            "{ctx}: node {v}'s retained size is not its own plus its children's"
        );
    }

    // Every dominator chain reaches the root without a cycle: mark nodes whose chain is known
    // good, walking each unknown chain at most n steps.
    let mut good = vec![false; n];
    good[root as usize] = true;
    for v in 0..n {
        let mut path = Vec::new();
        let mut x = v;
        while !good[x] {
            path.push(x);
            assert!(path.len() <= n, "{ctx}: dominator chain of node {v} loops");
            x = a.dominator(x as NodeIx) as usize;
        }
        for p in path {
            good[p] = true;
        }
    }

    // Distances: the root sits at the system base (Node snapshots have a user root, `global`);
    // every other reached node has a non-weak retainer exactly one step closer, except user
    // roots (distance 1), whose retainer is the root.
    assert_eq!(
        a.distances[root as usize], SYSTEM_DISTANCE,
        "{ctx}: root distance"
    );
    for v in 0..n as NodeIx {
        let d = a.distances[v as usize];
        if v == root || d == NO_DISTANCE {
            continue;
        }
        let has_parent = g.retainer_edges(v).iter().any(|e| {
            e.kind != EdgeKind::Weak
                && (a.distances[e.from as usize] == d - 1 || (d == 1 && e.from == root))
        });
        assert!(
            has_parent,
            "{ctx}: node {v} at distance {d} has no retainer at {}",
            d - 1
        );
    }

    // Summary: counts cover exactly the nodes with a non-zero shallow size.
    let summary = s.summary();
    let nonzero = (0..n as NodeIx).filter(|&v| a.shallow_size(v) != 0).count() as u64;
    let counted: u64 = summary.classes.iter().map(|r| r.count).sum();
    assert_eq!(counted, nonzero, "{ctx}: summary counts");
    let shallow_in_rows: u64 = summary.classes.iter().map(|r| r.shallow_size).sum();
    assert_eq!(
        shallow_in_rows, shallow_total,
        "{ctx}: summary shallow sizes"
    );
    let extra = s.snapshot.info.extra_native_bytes.unwrap_or(0);
    assert_eq!(
        summary.total_size,
        a.retained_size(root) + extra,
        "{ctx}: total"
    );
    assert_eq!(summary.node_count, n as u64);
    assert_eq!(summary.edge_count, g.edge_count() as u64);
    for r in &summary.classes {
        assert!(r.count > 0, "{ctx}: empty row {}", r.name);
        assert!(
            r.retained_size >= r.shallow_size && r.retained_size <= summary.total_size,
            "{ctx}: class {} retained {} vs shallow {}",
            r.name,
            r.retained_size,
            r.shallow_size
        );
    }

    // Class retained sizes, recomputed the slow way: a node counts unless a strict dominator
    // of it has the same class (and a non-zero size).
    let mut by_class: HashMap<u32, u64> = HashMap::new();
    for v in 0..n as NodeIx {
        if a.shallow_size(v) == 0 {
            continue;
        }
        let c = s.classes.class_of[v as usize];
        let mut x = v;
        let mut nested = false;
        while x != root {
            x = a.dominator(x);
            if s.classes.class_of[x as usize] == c && a.shallow_size(x) != 0 {
                nested = true;
                break;
            }
        }
        if !nested {
            *by_class.entry(c).or_default() += a.retained_size(v);
        }
    }
    for r in &summary.classes {
        assert_eq!(
            r.retained_size, by_class[&r.class_id],
            "{ctx}: class {} retained size",
            r.name
        );
    }

    // Statistics add up to the same total, and no category exceeds it.
    let st = s.statistics();
    assert_eq!(st.total, summary.total_size, "{ctx}: statistics total");
    assert!(st.code + st.strings + st.js_arrays + st.system + st.native <= st.total);
    assert!(st.typed_arrays <= st.native);
    // The totals the analysis works out beside its own passes equal those made after it.
    let extra = s.snapshot.info.extra_native_bytes.unwrap_or(0);
    assert_eq!(st, Statistics::build(g, a, extra), "{ctx}: statistics");
    let again = Summary::build(g, a, &s.classes, extra);
    assert_eq!(summary.classes, again.classes, "{ctx}: summary");
}

#[test]
fn invariants_devtools_rules() {
    for rel in SNAPSHOTS {
        check_invariants(rel, RuleSet::DevTools);
    }
}

#[test]
fn invariants_memlab_rules() {
    for rel in SNAPSHOTS {
        check_invariants(rel, RuleSet::Memlab);
    }
}

/// Sum of Summary rows named `name` (objects with source locations may split a class).
fn class_count(s: &AnalyzedSnapshot, name: &str) -> u64 {
    s.summary()
        .classes
        .iter()
        .filter(|r| r.name == name)
        .map(|r| r.count)
        .sum()
}

#[test]
fn class_counts_match_expected_json() {
    let text = std::fs::read_to_string(sample("node-leak/expected.json")).unwrap();
    let expected: serde_json::Value = serde_json::from_str(&text).unwrap();
    for which in ["baseline", "target", "final"] {
        let rel = format!("node-leak/{which}.heapsnapshot");
        let s = analyzed(&rel, RuleSet::DevTools);
        let g = s.graph();
        let classes = expected[which].as_object().unwrap();
        assert!(classes.len() >= 4);
        for (class, count) in classes {
            let want = count.as_u64().unwrap();
            // The script's rule: nodes of type "object" named like the class…
            let objects = (0..g.node_count() as NodeIx)
                .filter(|&v| g.type_name(v) == "object" && g.name(v) == class)
                .count() as u64;
            assert_eq!(objects, want, "{which}: object nodes named {class}");
            // …and the Summary row(s) agree.
            assert_eq!(
                class_count(s, class),
                want,
                "{which}: Summary count of {class}"
            );
        }
    }
    // The spot values the scenario is built around.
    let target = analyzed("node-leak/target.heapsnapshot", RuleSet::DevTools);
    assert_eq!(class_count(target, "RequestContext"), 1000);
    assert_eq!(class_count(target, "LeakedPayload"), 1000);
    assert_eq!(class_count(target, "TempBuffer"), 0);
    assert_eq!(class_count(target, "CacheEntry"), 300);
    let fin = analyzed("node-leak/final.heapsnapshot", RuleSet::DevTools);
    assert_eq!(class_count(fin, "CacheEntry"), 0);
    assert_eq!(class_count(fin, "RequestContext"), 1000);
}

#[test]
fn each_request_context_owns_its_payload() {
    let s = analyzed("node-leak/target.heapsnapshot", RuleSet::DevTools);
    let g = s.graph();
    let a = &s.analysis;
    let mut contexts = 0;
    for v in 0..g.node_count() as NodeIx {
        match s.class_name(v) {
            // Only its RequestContext points to a LeakedPayload.
            "LeakedPayload" => {
                let d = a.dominator(v);
                assert_eq!(
                    s.class_name(d),
                    "RequestContext",
                    "idom of payload @{}",
                    g.id(v)
                );
            }
            "RequestContext" => {
                contexts += 1;
                // It retains at least itself, its payload and its ~200-character header string.
                let payload = g
                    .edges(v)
                    .find(|e| s.class_name(e.to) == "LeakedPayload")
                    .expect("a payload edge")
                    .to;
                assert!(a.retained_size(v) >= a.shallow_size(v) + a.retained_size(payload) + 200);
                // Reachable from global through the module's Map: a retainer path exists.
                let paths = retainer_paths(g, a, v, 1);
                assert_eq!(paths.len(), 1, "path to @{}", g.id(v));
                let p = &paths[0];
                assert_eq!(p.steps[0].edge.from, g.root());
                assert_eq!(p.steps.last().unwrap().edge.to, v);
                assert!(p.steps.iter().any(|st| s.class_name(st.edge.to) == "Map"));
                // Each step goes one distance closer.
                for w in p.steps.windows(2) {
                    let (x, y) = (w[0].edge.to, w[1].edge.to);
                    assert!(a.distances[x as usize] < a.distances[y as usize]);
                }
            }
            _ => {}
        }
    }
    assert_eq!(contexts, 1000);
}

/// WeakMap values: V8 writes an internal edge to the value from the table and one from the key,
/// both named `<n> / part of key (… @key) -> value (… @value) pair in WeakMap (table @table)`.
/// DevTools drops the table's edge for dominators, so each value is dominated by its key.
#[test]
fn weakmap_values_are_dominated_by_their_keys() {
    let s = analyzed("node-leak/target.heapsnapshot", RuleSet::DevTools);
    let g = s.graph();
    let mut checked = 0;
    for v in 0..g.node_count() as NodeIx {
        for e in g.edges(v) {
            if e.kind != EdgeKind::Internal {
                continue;
            }
            let name = g.strings().get(e.name_or_index);
            let Some(rest) = name.split_once(" / part of key (").map(|x| x.1) else {
                continue;
            };
            // The key's id: after the last " @" before ") -> value (".
            let key_part = &rest[..rest.find(") -> value (").unwrap()];
            let key_id: u32 = key_part.rsplit_once(" @").unwrap().1.parse().unwrap();
            let key = g.node_by_id(key_id).unwrap();
            assert_eq!(
                s.analysis.dominator(e.to),
                key,
                "WeakMap value @{} should be dominated by its key @{key_id}",
                g.id(e.to)
            );
            checked += 1;
        }
    }
    // 50 entries, each with a table edge and a key edge.
    assert_eq!(checked, 100);
}

#[test]
fn timeline_has_allocation_traces() {
    let s = analyzed("node-timeline/alloc.heaptimeline", RuleSet::DevTools);
    let t = &s.snapshot.traces;
    let g = s.graph();
    assert!(!t.is_empty());
    assert!(!t.tree.is_empty());
    assert!(t.samples.rows() > 0);
    assert!(!t.locations.is_empty());
    // 342 numbers, 6 fields a row. (The header's trace_function_count says 55: V8 writes it
    // before the last functions are added, so the loader must go by the section.)
    assert_eq!(t.function_infos.rows(), 57);
    for (i, tn) in t.tree.iter().enumerate() {
        assert!((tn.function_info_index as usize) < t.function_infos.rows());
        // Parents come before children.
        assert!(tn.parent == u32::MAX || (tn.parent as usize) < i);
    }
    // Nodes' trace ids name trace tree nodes, and some nodes have one.
    let ids: std::collections::HashSet<u32> = t.tree.iter().map(|tn| tn.id).collect();
    let traced = (0..g.node_count() as NodeIx)
        .filter(|&v| g.trace_node_id(v) != 0)
        .inspect(|&v| assert!(ids.contains(&g.trace_node_id(v)), "node {v}"))
        .count();
    assert!(traced > 0);
    // The frames the script allocates from are there.
    let names: Vec<&str> = (0..t.function_infos.rows())
        .map(|r| {
            g.strings()
                .get(t.function_infos.get(r, "name").unwrap() as u32)
        })
        .collect();
    for f in ["allocateOrders", "buildIndex", "renderReport"] {
        assert!(names.contains(&f), "{f} not in {names:?}");
    }
    // Samples: timestamps and last ids never go down.
    for r in 1..t.samples.rows() {
        assert!(t.samples.get(r, "timestamp_us") >= t.samples.get(r - 1, "timestamp_us"));
        assert!(t.samples.get(r, "last_assigned_id") >= t.samples.get(r - 1, "last_assigned_id"));
    }
    // Locations are sorted by node and point at nodes.
    assert!(t.locations.windows(2).all(|w| w[0].node <= w[1].node));
    assert!(t
        .locations
        .iter()
        .all(|l| (l.node as usize) < g.node_count()));
    // 8 rounds of 500 orders; the file holds 2500 `Order` objects (the garbage of the last
    // rounds was not collected yet when the timeline ended).
    assert_eq!(class_count(s, "Order"), 2500);
}

/// A big heap's edge arrays go to files (`model::spill`) and passes hand their pages back:
/// every per-node result, the Summary and the Statistics must be exactly those of the arrays
/// kept in memory. Forced here on small samples: a Node heap (WeakMap entries included), a
/// page with detached DOM (page-owned set) and a WebAssembly page, under both rule sets.
#[test]
fn spilled_edge_arrays_give_the_same_results() {
    use heapsight::analysis::AnalysisOptions;
    use heapsight::model::spill::SpillDir;

    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("heapsight-spill-test");
    for rel in [
        "node-lazy-clean/final.heapsnapshot",
        "browser-detached/final.heapsnapshot",
        "browser-wasm/step3.heapsnapshot",
    ] {
        for rules in [RuleSet::DevTools, RuleSet::Memlab] {
            let ctx = format!("{rel} ({rules:?})");
            let loaded =
                heapsight::formats::load(&common::sample(rel), Default::default()).unwrap();
            let mut spilled = loaded.clone();
            spilled.graph.spill_forward(&SpillDir::at(&dir)).unwrap();
            spilled.graph.spill_retainers(&SpillDir::at(&dir)).unwrap();
            if std::env::var_os("HEAPSIGHT_SPILL_MIN").is_none() {
                assert_eq!(
                    loaded.graph.mapped_bytes(),
                    0,
                    "{ctx}: small heaps stay in memory"
                );
            }
            assert_eq!(
                spilled.graph.mapped_bytes() as u64,
                loaded.graph.spillable_bytes(),
                "{ctx}: every edge array and the node names and ids are in files"
            );
            let opts = AnalysisOptions {
                rules,
                ..Default::default()
            };
            let [a, b] = [loaded, spilled]
                .map(|s| AnalyzedSnapshot::new(s, opts, Default::default()).unwrap());
            let n = a.graph().node_count() as NodeIx;
            for v in 0..n {
                let (x, y) = (&a.analysis, &b.analysis);
                assert_eq!(x.dominator(v), y.dominator(v), "{ctx}: dominator of {v}");
                assert_eq!(
                    x.retained_size(v),
                    y.retained_size(v),
                    "{ctx}: retained {v}"
                );
                assert_eq!(x.shallow_size(v), y.shallow_size(v), "{ctx}: shallow {v}");
                assert_eq!(x.distance(v), y.distance(v), "{ctx}: distance of {v}");
                assert_eq!(a.class_name(v), b.class_name(v), "{ctx}: class of {v}");
            }
            assert_eq!(
                format!("{:?}", a.summary()),
                format!("{:?}", b.summary()),
                "{ctx}: Summary"
            );
            assert_eq!(
                format!("{:?}", a.statistics()),
                format!("{:?}", b.statistics()),
                "{ctx}: Statistics"
            );
            // Handed-back pages read back unchanged.
            b.graph().release_spilled();
            let ga = a.graph();
            let gb = b.graph();
            for v in 0..n {
                assert_eq!(
                    ga.edges(v).collect::<Vec<_>>(),
                    gb.edges(v).collect::<Vec<_>>()
                );
                assert_eq!(
                    ga.retainer_edges(v),
                    gb.retainer_edges(v),
                    "{ctx}: retainers"
                );
            }
        }
    }
}
