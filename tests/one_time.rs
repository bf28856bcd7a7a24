//! The runtime's one-time allocations (docs/leak-rules.md): objects Node makes once, lazily, on
//! first use are listed apart and never counted as leaks, while the program's own leaks still
//! are — on the committed samples made by scripts/make-lazy-scenario.js and make-leak-scenario.js,
//! through the library and through the built binary's exit code.

mod common;

use std::process::Command;

use common::{analyze_file, sample};
use heapsight::analysis::leaks::LeakReport;
use heapsight::analysis::RuleSet;

/// A sample's `{name}.heapsnapshot`, or its `.gz` when only that is committed.
fn snapshot(dir: &str, name: &str) -> std::path::PathBuf {
    let plain = sample(&format!("{dir}/{name}.heapsnapshot"));
    if plain.exists() {
        plain
    } else {
        sample(&format!("{dir}/{name}.heapsnapshot.gz"))
    }
}

fn leaks(dir: &str) -> LeakReport {
    let [b, t, f] =
        ["baseline", "target", "final"].map(|s| analyze_file(&snapshot(dir, s), RuleSet::DevTools));
    LeakReport::compute(&b, &t, &f)
}

fn groups(v: &[heapsight::analysis::leaks::LeakCluster]) -> Vec<(String, u64)> {
    v.iter().map(|c| (c.class.clone(), c.count)).collect()
}

/// `heapsight leaks --fail-on-leak` on a sample: (exit code, stdout).
fn gate(dir: &str) -> (i32, String) {
    let f = |s: &str| snapshot(dir, s);
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

/// scripts/make-http-scenario.js: the final snapshot follows the target with no request in
/// between, so the last request's leftovers are still there. They are replaced values, not
/// leaks; the program's never-cleared intervals are.
#[test]
fn last_request_leftovers_are_replaced_values_and_user_timers_still_leak() {
    let (code, out) = gate("node-http-clean");
    assert_eq!(code, 0, "{out}");
    let r = leaks("node-http-clean");
    assert!(r.clusters.is_empty(), "{:?}", groups(&r.clusters));
    let mut held: Vec<String> = r
        .replaced_values
        .iter()
        .map(|c| {
            let n = c.trace.len();
            format!(
                "{}.{} {}",
                c.trace[n - 2].node_class,
                c.trace[n - 1].edge_name,
                c.count
            )
        })
        .collect();
    held.sort();
    assert!(
        held.contains(&"RouteLayer.params 2".to_string()),
        "{held:?}"
    );
    assert!(
        held.contains(&"Object.lastRequest 1".to_string()),
        "{held:?}"
    );

    // Every request started an interval whose callback is the program's: the timer list is
    // the runtime's, its timers are not.
    let (code, out) = gate("node-http-leak");
    assert_eq!(code, 1, "{out}");
    let r = leaks("node-http-leak");
    assert!(
        r.clusters.iter().any(|c| c.class == "Timeout"),
        "{:?}",
        groups(&r.clusters)
    );
    assert!(
        r.one_time_allocations.iter().all(|c| c.class != "Timeout"),
        "{:?}",
        groups(&r.one_time_allocations)
    );
    // The ring's ends are reported; the other 298 timers, their callbacks, PollTimers,
    // RequestInfos and RecentNodes are reached through them.
    let through: u64 = r.clusters.iter().map(|c| c.reached_through).sum();
    assert!(through >= 5 * 298, "{through}");
}

/// scripts/make-browser-snapshot.js --clean: a page used correctly, touching browser APIs for
/// the first time after the baseline. Blink makes their interface objects (constructors on
/// `window`, prototypes of its objects) then: the embedder's, not leaks.
#[test]
fn onnx_runtime_webs_views_of_its_grown_memory_are_replaced_values() {
    // scripts/frameworks.sh samples: ONNX Runtime Web serving one-row requests, in Node and in
    // a Chromium page; right after the baseline one 2048-row batch grows its memory once.
    // Emscripten replaced its eight views; four of them `Module` keeps out of the object, in a
    // property array V8 lists as holding them too.
    for dir in ["onnx-grow-once", "onnx-page-grow-once"] {
        onnx_views_are_replaced_values(dir);
    }
}

fn onnx_views_are_replaced_values(dir: &str) {
    let r = leaks(dir);
    assert!(r.clusters.is_empty(), "{dir}: {:?}", groups(&r.clusters));
    let views = [
        "BigInt64Array",
        "Float32Array",
        "Float64Array",
        "Int16Array",
        "Int32Array",
        "Int8Array",
        "Uint32Array",
        "Uint8Array",
    ];
    for view in views {
        assert!(
            groups(&r.replaced_values).contains(&(view.to_string(), 1)),
            "{view}: {:?}",
            groups(&r.replaced_values)
        );
    }
    assert_eq!(r.wasm_growth.len(), 1, "{dir}: the memory grew once");
    assert_eq!(gate(dir).0, 0, "{dir}");
}

#[test]
fn a_clean_page_has_no_leaks_and_the_embedders_interface_objects_are_one_time() {
    let (code, out) = gate("browser-clean");
    assert_eq!(code, 0, "{out}");
    let r = leaks("browser-clean");
    assert!(r.clusters.is_empty(), "{:?}", groups(&r.clusters));
    let held = slots(&r);
    for slot in [
        "Navigator.__proto__",
        "Window [JSGlobalObject] / ://.IntersectionObserver",
    ] {
        assert!(held.iter().any(|h| h == slot), "{held:?}");
    }
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
    runtime_trio_with(|h| h.node_with_id("code", script, 9, 32), fill)
}

/// [`runtime_trio`] with the `Script` node made by `script`.
fn runtime_trio_with(
    script: impl Fn(&mut Heap) -> NodeIx,
    fill: impl Fn(&mut Heap, NodeIx, Stage),
) -> LeakReport {
    trio(|h, global, stage| {
        let f = h.node_with_id("closure", "lib", 5, 32);
        h.edge(global, "property", "lib", f);
        let shared = h.node_with_id("code", "lib", 7, 32);
        h.edge(f, "internal", "shared", shared);
        let s = script(h);
        h.edge(shared, "internal", "script_or_debug_info", s);
        let scope = h.node_with_id("object", "system / Context", 11, 48);
        h.edge(f, "internal", "context", scope);
        fill(h, scope, stage);
    })
}

/// Baseline, target and final heaps of `(root) --shortcut--> global` and what `build` adds
/// under `global` for each, and their leak report.
fn trio(build: impl Fn(&mut Heap, NodeIx, Stage)) -> LeakReport {
    let [b, t, f]: [AnalyzedSnapshot; 3] =
        [Stage::Baseline, Stage::Target, Stage::Final].map(|stage| {
            let mut h = Heap::new();
            let root = h.node_with_id("synthetic", "", 1, 0);
            let global = h.node_with_id("object", "global", 3, 100);
            h.edge(root, "shortcut", "1", global);
            build(&mut h, global, stage);
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
fn newer_v8_script_names_are_read_through_their_prefix_or_their_name_edge() {
    // Deno 2.9's V8 15 names a Script `system / Script / URL`, or `system / Script` with the
    // URL on its `name` edge; Node's V8 names it by the URL.
    let fill = |h: &mut Heap, scope: NodeIx, stage: Stage| {
        if stage != Stage::Baseline {
            let o = h.node_with_id("object", "Stream", 101, 40);
            h.edge(scope, "context", "stdout", o);
        }
    };
    let named_by_edge = |url: &'static str| {
        move |h: &mut Heap| {
            let s = h.node_with_id("code", "system / Script", 9, 32);
            let name = h.node_with_id("string", url, 13, 32);
            h.edge(s, "internal", "name", name);
            s
        }
    };
    for r in [
        runtime_trio("system / Script / ext:core/01_core.js", fill),
        runtime_trio_with(named_by_edge("ext:core/01_core.js"), fill),
    ] {
        assert!(r.clusters.is_empty(), "{:?}", groups(&r.clusters));
        assert_eq!(groups(&r.one_time_allocations), vec![("Stream".into(), 1)]);
    }
    for r in [
        runtime_trio("system / Script / file:///srv/app.js", fill),
        runtime_trio_with(named_by_edge("file:///srv/app.js"), fill),
        runtime_trio("system / Script", fill),
    ] {
        assert_eq!(groups(&r.clusters), vec![("Stream".into(), 1)]);
        assert!(r.one_time_allocations.is_empty());
    }
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

/// `global --property app--> App`, older than the baseline; `fill` adds what each snapshot
/// holds below `App` (the program's own object: no runtime code on the way).
fn program_trio(fill: impl Fn(&mut Heap, NodeIx, Stage)) -> LeakReport {
    trio(|h, global, stage| {
        let app = h.node_with_id("object", "App", 5, 64);
        h.edge(global, "property", "app", app);
        fill(h, app, stage);
    })
}

/// The 40-byte `class` object (of node type `kind`) in `app.slot`: id 101 at the baseline,
/// another one (201) since, so the slot was overwritten.
fn overwritten(
    h: &mut Heap,
    app: NodeIx,
    stage: Stage,
    kind: &str,
    class: &str,
    slot: &str,
) -> NodeIx {
    let id = if stage == Stage::Baseline { 101 } else { 201 };
    let o = h.node_with_id(kind, class, id, 40);
    h.edge(app, "property", slot, o);
    o
}

#[test]
fn a_slot_overwritten_since_the_baseline_holds_a_replaced_value_not_a_leak() {
    // `app.last` held request 101 at the baseline and holds 201 now, of the same size.
    let r = program_trio(|h, app, stage| {
        overwritten(h, app, stage, "object", "Request", "last");
    });
    assert!(r.clusters.is_empty(), "{:?}", groups(&r.clusters));
    assert_eq!(groups(&r.replaced_values), vec![("Request".into(), 1)]);
    assert_eq!(r.leaked_count, 0);
}

#[test]
fn overwritten_slots_that_grow_or_hold_new_objects_and_new_slots_stay_leaks() {
    // `log = log.concat(line)`: each value bigger than the last.
    let r = program_trio(|h, app, stage| {
        let (id, size) = if stage == Stage::Baseline {
            (101, 64)
        } else {
            (201, 4096)
        };
        let o = h.node_with_id("object", "Array", id, size);
        h.edge(app, "property", "log", o);
    });
    assert_eq!(groups(&r.clusters), vec![("Array".into(), 1)]);
    assert!(r.replaced_values.is_empty());
    // `recent = new Node(item, recent)`: the new head holds the 20 new nodes under it.
    let r = program_trio(|h, app, stage| {
        if stage == Stage::Baseline {
            let o = h.node_with_id("object", "RecentNode", 101, 32);
            h.edge(app, "property", "recent", o);
            return;
        }
        let mut next = h.node_with_id("object", "RecentNode", 201, 32);
        h.edge(app, "property", "recent", next);
        for i in 0..20 {
            let node = h.node_with_id("object", "RecentNode", 203 + 2 * i, 32);
            h.edge(next, "property", "next", node);
            next = node;
        }
    });
    assert_eq!(groups(&r.clusters), vec![("RecentNode".into(), 1)]);
    assert_eq!(r.clusters[0].retained_size, 21 * 32);
    assert_eq!(r.clusters[0].reached_through, 20);
    assert!(r.replaced_values.is_empty());
    // A slot the holder did not have at the baseline.
    let r = program_trio(|h, app, stage| {
        if stage != Stage::Baseline {
            let o = h.node_with_id("object", "Request", 201, 40);
            h.edge(app, "property", "last", o);
        }
    });
    assert_eq!(groups(&r.clusters), vec![("Request".into(), 1)]);
    assert!(r.replaced_values.is_empty());
}

#[test]
fn a_runtime_slot_holding_a_program_callback_is_not_a_one_time_allocation() {
    // The runtime's timer list (a slot filled once) holding a timer whose callback is the
    // program's: the program's interval, so a leak.
    let r = runtime_trio("node:internal/timers", |h, scope, stage| {
        if stage == Stage::Baseline {
            return;
        }
        let timer = h.node_with_id("object", "Timeout", 101, 40);
        h.edge(scope, "context", "list", timer);
        let callback = h.node_with_id("closure", "poll", 103, 32);
        h.edge(timer, "property", "_onTimeout", callback);
        let shared = h.node_with_id("code", "poll", 105, 32);
        h.edge(callback, "internal", "shared", shared);
        let script = h.node_with_id("code", "/srv/app.js", 107, 32);
        h.edge(shared, "internal", "script_or_debug_info", script);
    });
    assert_eq!(groups(&r.clusters), vec![("Timeout".into(), 1)]);
    assert!(r.one_time_allocations.is_empty());
}

#[test]
fn the_runtimes_own_pending_work_is_not_a_leak_unless_it_piles_up() {
    // `timerListMap[1000]`: a timer list (a runtime class) made after the baseline, holding
    // the runtime's own timer; `lists` of them.
    let trio = |lists: u32| {
        runtime_trio("node:internal/timers", move |h, scope, stage| {
            let map = h.node_with_id("object", "Object", 21, 64);
            h.edge(scope, "context", "timerListMap", map);
            let class = |h: &mut Heap, name: &str, id: u32| {
                let ctor = h.node_with_id("closure", name, id, 32);
                let shared = h.node_with_id("code", name, id + 2, 32);
                h.edge(ctor, "internal", "shared", shared);
                let script = h.node_with_id("code", "node:internal/timers", id + 4, 32);
                h.edge(shared, "internal", "script_or_debug_info", script);
                let proto = h.node_with_id("object", "Object", id + 6, 32);
                h.edge(proto, "property", "constructor", ctor);
                h.edge(map, "property", &format!("proto{id}"), proto); // keeps them old
                proto
            };
            let list_proto = class(h, "TimersList", 31);
            let timer_proto = class(h, "Timeout", 41);
            if stage == Stage::Baseline {
                return;
            }
            for i in 0..lists {
                let list = h.node_with_id("object", "TimersList", 1001 + 4 * i, 64);
                h.edge(map, "element", &(1000 + i).to_string(), list);
                h.edge(list, "property", "__proto__", list_proto);
                let timer = h.node_with_id("object", "Timeout", 1003 + 4 * i, 64);
                h.edge(list, "property", "_idleNext", timer);
                h.edge(timer, "property", "__proto__", timer_proto);
            }
        })
    };
    let r = trio(1);
    assert!(r.clusters.is_empty(), "{:?}", groups(&r.clusters));
    assert_eq!(
        groups(&r.one_time_allocations),
        vec![("TimersList".into(), 1)]
    );
    let r = trio(6);
    assert_eq!(groups(&r.clusters), vec![("TimersList".into(), 6)]);
    assert!(r.one_time_allocations.is_empty());
}

#[test]
fn entries_of_a_collection_that_did_not_grow_are_replaced_values_and_of_one_that_grew_leaks() {
    // `cache` (old) held 3 entries at the baseline and holds 3 others now, each with its own
    // body: a bounded cache. Then the same with a fourth entry added: a leak.
    let cache = |entries: u32| {
        program_trio(move |h, app, stage| {
            let store = h.node_with_id("array", "", 21, 64);
            h.edge(app, "internal", "cache", store);
            let (first, count) = if stage == Stage::Baseline {
                (101, 3)
            } else {
                (201, entries)
            };
            for i in 0..count {
                let o = h.node_with_id("object", "Order", first + 4 * i, 40);
                h.edge(store, "element", &i.to_string(), o);
                let body = h.node_with_id("object", "Body", first + 4 * i + 2, 24);
                h.edge(o, "property", "body", body);
            }
        })
    };
    let r = cache(3);
    assert!(r.clusters.is_empty(), "{:?}", groups(&r.clusters));
    assert_eq!(groups(&r.replaced_values), vec![("Order".into(), 3)]);
    let r = cache(4);
    assert_eq!(groups(&r.clusters), vec![("Order".into(), 4)]);
    assert!(r.replaced_values.is_empty());
}

#[test]
fn a_slot_that_held_undefined_takes_a_small_value_as_replaced_and_a_big_one_as_a_leak() {
    let trio = |size: u64| {
        program_trio(move |h, app, stage| {
            if stage == Stage::Baseline {
                let undefined = h.node_with_id("hidden", "system / Oddball", 71, 0);
                h.edge(app, "property", "params", undefined);
            } else {
                let o = h.node_with_id("object", "Object", 201, size);
                h.edge(app, "property", "params", o);
            }
        })
    };
    let r = trio(56);
    assert!(r.clusters.is_empty(), "{:?}", groups(&r.clusters));
    assert_eq!(groups(&r.replaced_values), vec![("Object".into(), 1)]);
    let r = trio(4096);
    assert_eq!(groups(&r.clusters), vec![("Object".into(), 1)]);
}

#[test]
fn a_detached_dom_node_in_an_overwritten_slot_is_still_a_leak() {
    let r = program_trio(|h, app, stage| {
        let div = overwritten(h, app, stage, "native", "Detached <div>", "lastRemoved");
        h.detachedness(div, 2);
    });
    assert_eq!(groups(&r.clusters), vec![("Detached <div>".into(), 1)]);
    assert!(r.replaced_values.is_empty());
}

#[test]
fn a_last_value_that_a_growing_collection_also_holds_is_still_a_leak_and_of_a_bounded_one_replaced()
{
    // `app.last = item; app.items.push(item)`: `last` was overwritten, but the item is the
    // array's too, and the array grew (item 101 is still in it).
    let r = program_trio(|h, app, stage| {
        let item = overwritten(h, app, stage, "object", "Item", "last");
        let items = h.node_with_id("object", "Array", 21, 16);
        h.edge(app, "property", "items", items);
        if stage == Stage::Baseline {
            h.edge(items, "element", "0", item);
        } else {
            let first = h.node_with_id("object", "Item", 101, 40);
            h.edge(items, "element", "0", first);
            h.edge(items, "element", "1", item);
        }
    });
    assert_eq!(groups(&r.clusters), vec![("Item".into(), 1)]);
    assert!(r.replaced_values.is_empty());
    // The same array not grown, its one entry replaced (a cache of one whose `last` points at
    // it, as tiny-lru's does at its newest entry): replaced, in the slot and in the array.
    let r = program_trio(|h, app, stage| {
        let item = overwritten(h, app, stage, "object", "Item", "last");
        let items = h.node_with_id("object", "Array", 21, 16);
        h.edge(app, "property", "items", items);
        h.edge(items, "element", "0", item);
    });
    assert!(r.clusters.is_empty(), "{:?}", groups(&r.clusters));
    assert_eq!(groups(&r.replaced_values), vec![("Item".into(), 1)]);
}

#[test]
fn a_value_two_overwritten_slots_hold_is_replaced_and_one_a_new_slot_also_holds_leaks() {
    // Emscripten's views of a WebAssembly memory: `Module.HEAP8` and the closure's own `HEAP8`
    // variable both held the old view at the baseline and both hold the new one, made when
    // the memory grew.
    let views = |second_slot_is_new: bool| {
        program_trio(move |h, app, stage| {
            let view = overwritten(h, app, stage, "object", "Int8Array", "HEAP8");
            let scope = h.node_with_id("object", "system / Context", 31, 64);
            h.edge(app, "internal", "context", scope);
            if stage == Stage::Baseline {
                let old = h.node_with_id("object", "Int8Array", 103, 40);
                let slot = if second_slot_is_new { "other" } else { "HEAP8" };
                h.edge(scope, "context", slot, old);
            } else {
                h.edge(scope, "context", "HEAP8", view);
            }
        })
    };
    let r = views(false);
    assert!(r.clusters.is_empty(), "{:?}", groups(&r.clusters));
    assert_eq!(groups(&r.replaced_values), vec![("Int8Array".into(), 1)]);
    // The closure's variable is new since the baseline: not a slot being overwritten.
    let r = views(true);
    assert_eq!(groups(&r.clusters), vec![("Int8Array".into(), 1)]);
    assert!(r.replaced_values.is_empty());
}

#[test]
fn a_view_another_holder_keeps_out_of_object_is_replaced_when_its_slot_was_overwritten() {
    // ONNX Runtime Web's Emscripten module: besides `app.HEAP32`, `Module.HEAP32` holds the
    // view, a property V8 keeps out of the object, in a property array that it also lists as
    // holding the view (`Module --property HEAP32--> view`, `Module --internal properties-->
    // (system) --hidden [4]--> view`). The property array is Module's own, not a third holder.
    // Node writes it as a hidden node, Chromium as a native one.
    let views = |module_slot_is_new: bool, store_kind: &'static str| {
        program_trio(move |h, app, stage| {
            let view = overwritten(h, app, stage, "object", "Int32Array", "HEAP32");
            let module = h.node_with_id("object", "Object", 41, 64);
            h.edge(app, "property", "module", module);
            let store = h.node_with_id(store_kind, "system / PropertyArray", 43, 48);
            h.edge(module, "internal", "properties", store);
            if stage == Stage::Baseline {
                let old = h.node_with_id("object", "Int32Array", 103, 40);
                let slot = if module_slot_is_new {
                    "other"
                } else {
                    "HEAP32"
                };
                h.edge(module, "property", slot, old);
                h.edge(store, "hidden", "4", old);
            } else {
                h.edge(module, "property", "HEAP32", view);
                h.edge(store, "hidden", "4", view);
            }
        })
    };
    for kind in ["hidden", "native"] {
        let r = views(false, kind);
        assert!(r.clusters.is_empty(), "{kind}: {:?}", groups(&r.clusters));
        assert_eq!(groups(&r.replaced_values), vec![("Int32Array".into(), 1)]);
        // Module's slot is new since the baseline: not a slot being overwritten.
        let r = views(true, kind);
        assert_eq!(
            groups(&r.clusters),
            vec![("Int32Array".into(), 1)],
            "{kind}"
        );
        assert!(r.replaced_values.is_empty());
    }
}

#[test]
fn what_leaked_objects_reach_but_do_not_retain_counts_as_held_not_retained() {
    // TensorFlow.js's CPU backend: `kept.push(tensor)` leaks tensors, each holding a `dataId`
    // whose data sits in the backend's `WeakMap` (an old table): the data's object has two
    // retainers (the key and the table), so the tensor does not retain it, but it is reached
    // only past the tensor and held as long as the tensor is.
    let r = program_trio(|h, app, stage| {
        let kept = h.node_with_id("object", "Array", 21, 16);
        h.edge(app, "property", "kept", kept);
        let mut holder = app;
        for (i, name) in ["engine", "backend", "storage"].into_iter().enumerate() {
            let o = h.node_with_id("object", "Object", 31 + 2 * i as u32, 32);
            h.edge(holder, "property", name, o);
            holder = o;
        }
        let table = h.node_with_id("array", "system / EphemeronHashTable", 41, 64);
        h.edge(holder, "internal", "table", table);
        if stage == Stage::Baseline {
            return;
        }
        for i in 0..3 {
            let id = 201 + 10 * i;
            let tensor = h.node_with_id("object", "Tensor", id, 40);
            h.edge(kept, "element", &i.to_string(), tensor);
            let data_id = h.node_with_id("object", "Object", id + 2, 16);
            h.edge(tensor, "property", "dataId", data_id);
            let value = h.node_with_id("object", "Object", id + 4, 32);
            h.edge(
                table,
                "internal",
                "part of key -> value pair in WeakMap",
                value,
            );
            h.edge(
                data_id,
                "internal",
                "part of key -> value pair in WeakMap",
                value,
            );
            let values = h.node_with_id("object", "Float32Array", id + 6, 1000);
            h.edge(value, "property", "values", values);
        }
    });
    assert_eq!(groups(&r.clusters), vec![("Tensor".into(), 3)]);
    let c = &r.clusters[0];
    // Each tensor retains itself and its `dataId`; the value and its array are reached past it
    // (the array, dominated by the value, counted once).
    assert_eq!(c.retained_size, 3 * (40 + 16));
    assert_eq!(c.reached_through, 3 * 3);
    assert_eq!(c.reached_size, 3 * (32 + 1000));
    assert_eq!(c.held_size(), 3 * (40 + 16 + 32 + 1000));
    assert_eq!(r.leaked_reached_size, c.reached_size);
    // The gate's byte limit is on what the cluster holds.
    assert_eq!(r.gate(1, c.held_size()).len(), 1);
    assert!(r.gate(1, c.held_size() + 1).is_empty());
}

#[test]
fn a_value_only_the_running_code_holds_is_replaced_unless_a_collection_holds_it_too() {
    // A program that writes its own snapshots (`let last = await run(i)` in the loop that calls
    // `v8.writeHeapSnapshot()`): `last` is in a slot of the running code's stack and in the
    // microtask that resumed it. Then the same value also pushed onto a growing array.
    let stack_trio = |pushed: bool| {
        trio(move |h, global, stage| {
            let gc_roots = h.node_with_id("synthetic", "(GC roots)", 7, 0);
            h.edge(0, "element", "1", gc_roots);
            let stack = h.node_with_id("synthetic", "(Stack roots)", 9, 0);
            h.edge(gc_roots, "element", "7", stack);
            let all = h.node_with_id("object", "Array", 21, 16);
            h.edge(global, "property", "all", all);
            let id = if stage == Stage::Baseline { 101 } else { 201 };
            let last = h.node_with_id("object", "Result", id, 40);
            h.edge(stack, "internal", "35", last);
            let job = h.node_with_id(
                "hidden",
                "system / PromiseFulfillReactionJobTask",
                id + 2,
                48,
            );
            h.edge(stack, "internal", "36", job);
            h.edge(job, "hidden", "0", last);
            // The `async` function's own object, which the job resumes, keeps its registers,
            // `last` among them.
            let generator = h.node_with_id("object", "Generator", 31, 160);
            h.edge(job, "hidden", "1", generator);
            h.edge(generator, "hidden", "2", last);
            if stage != Stage::Baseline {
                // The running code's stack holds more now than at the baseline.
                let temporary = h.node_with_id("closure", "", 207, 56);
                h.edge(stack, "internal", "44", temporary);
            }
            if pushed && stage != Stage::Baseline {
                h.edge(all, "element", "0", last);
            }
        })
    };
    let r = stack_trio(false);
    assert!(r.clusters.is_empty(), "{:?}", groups(&r.clusters));
    assert_eq!(
        groups(&r.replaced_values),
        vec![("Function".into(), 1), ("Result".into(), 1)]
    );
    let r = stack_trio(true);
    assert_eq!(groups(&r.clusters), vec![("Result".into(), 1)]);
    assert_eq!(groups(&r.replaced_values), vec![("Function".into(), 1)]);
}

/// A React fiber with id `id`: its fields (most null, as React leaves a removed fiber), and a
/// `deletions` slot holding `deleted` (or null).
fn fiber(h: &mut Heap, id: u32, deleted: Option<NodeIx>) -> NodeIx {
    let f = h.node_with_id("object", "FiberNode", id, 100);
    let null = h.node_with_id("hidden", "null", 2, 0);
    for field in ["stateNode", "return", "child", "memoizedProps", "alternate"] {
        h.edge(f, "property", field, null);
    }
    h.edge(f, "property", "deletions", deleted.unwrap_or(null));
    f
}

/// A list (`<ul>`) fiber older than the baseline whose `deletions` holds the row fibers React
/// removed in its last render: at the final snapshot, the rows the target showed (ids 201,
/// 202); `also` adds what else holds them.
fn removed_rows_trio(also: impl Fn(&mut Heap, NodeIx, NodeIx)) -> LeakReport {
    program_trio(|h, app, stage| {
        let rows: Vec<NodeIx> = match stage {
            Stage::Baseline => vec![fiber(h, 101, None)],
            Stage::Target => vec![fiber(h, 201, None), fiber(h, 202, None)],
            Stage::Final => vec![fiber(h, 201, None), fiber(h, 202, None)],
        };
        let list_id = if stage == Stage::Final { 301 } else { 111 };
        let list = h.node_with_id("object", "Array", list_id, 16);
        for (i, &r) in rows.iter().enumerate() {
            h.edge(list, "element", &i.to_string(), r);
        }
        let ul = fiber(h, 31, Some(list));
        h.edge(app, "property", "root", ul);
        if stage == Stage::Final {
            also(h, app, rows[0]);
        }
    })
}

#[test]
fn fibers_react_removed_in_its_last_render_are_replaced_values_unless_the_program_holds_them() {
    // memlab's "back" action renders once more: the target's rows are now the removed ones.
    let r = removed_rows_trio(|_, _, _| {});
    assert!(r.clusters.is_empty(), "{:?}", groups(&r.clusters));
    assert_eq!(groups(&r.replaced_values), vec![("FiberNode".into(), 2)]);
    // A listener the removed row never unsubscribed still holds its fiber: a leak.
    let r = removed_rows_trio(|h, app, row| {
        let listeners = h.node_with_id("object", "Array", 41, 16);
        h.edge(app, "property", "listeners", listeners);
        let listener = h.node_with_id("closure", "onEvent", 401, 32);
        h.edge(listeners, "element", "0", listener);
        let scope = h.node_with_id("object", "system / Context", 403, 32);
        h.edge(listener, "internal", "context", scope);
        h.edge(scope, "context", "fiber", row);
    });
    assert_eq!(groups(&r.clusters), vec![("FiberNode".into(), 1)]);
    assert_eq!(r.clusters[0].example_ids, vec![201]);
    assert_eq!(groups(&r.replaced_values), vec![("FiberNode".into(), 1)]);
    // An array that is not a fiber's `deletions` is a collection of the program's.
    let r = program_trio(|h, app, stage| {
        let kept = h.node_with_id("object", "Array", 51, 16);
        h.edge(app, "property", "removed", kept);
        if stage != Stage::Baseline {
            let row = fiber(h, 201, None);
            h.edge(kept, "element", "0", row);
        }
    });
    assert_eq!(groups(&r.clusters), vec![("FiberNode".into(), 1)]);
}

#[test]
fn a_clean_react_page_has_no_leaks() {
    // scripts/react-scenario.js (scripts/frameworks.sh samples): a React 18 page rendering 20 new
    // rows a unit of work, with one more render between target and final. The 20 rows the
    // target showed are in their list fiber's `deletions` at the final snapshot.
    let r = leaks("react-clean");
    assert!(r.clusters.is_empty(), "{:?}", groups(&r.clusters));
    assert_eq!(r.replaced_values.iter().map(|c| c.count).sum::<u64>(), 20);
    assert_eq!(gate("react-clean").0, 0);
}

/// A generational cache (quick-lru: `#cache` fills up, becomes `#oldCache`, a new `Map`
/// starts): both `Map`s are new since the baseline, hold new entries, and one is bigger than its
/// slot's was. Bounded together (at most twice the entries of the baseline's two, plus 16), they
/// and their entries are replaced values; two generations that grew past that are a leak.
#[test]
fn generations_of_a_bounded_cache_are_replaced_values_and_a_grown_pair_leaks() {
    // `app.cache` and `app.oldCache`, each a `Map` whose `table` holds `entries` entries
    // (`{value}` with a part of its own: more than the parts a replaced value may have).
    let generations = |baseline: [usize; 2], now: [usize; 2]| {
        program_trio(move |h, app, stage| {
            let (counts, mut id) = if stage == Stage::Baseline {
                (baseline, 100)
            } else {
                (now, 1000)
            };
            for (slot, entries) in ["cache", "oldCache"].into_iter().zip(counts) {
                let map = h.node_with_id("object", "Map", id, 32);
                let table = h.node_with_id("array", "", id + 1, 16 * entries as u64);
                id += 2;
                h.edge(app, "property", slot, map);
                h.edge(map, "internal", "table", table);
                for i in 0..entries {
                    let entry = h.node_with_id("object", "Entry", id, 24);
                    let part = h.node_with_id("object", "Value", id + 1, 40);
                    id += 2;
                    h.edge(table, "internal", &i.to_string(), entry);
                    h.edge(entry, "property", "value", part);
                }
            }
        })
    };
    two_generations_bounded_and_grown(generations, "Map");
}

/// What `generations(baseline, now)` (the entries of two generations of class `class`, at the
/// baseline and since) must give: 5 + 20 entries where the baseline had 10 + 5 (the old
/// generation bigger than its slot's was, the two together within twice) are replaced values;
/// 5 + 50 (grown past twice the baseline's 15, plus 16) leak.
fn two_generations_bounded_and_grown(
    generations: impl Fn([usize; 2], [usize; 2]) -> LeakReport,
    class: &str,
) {
    let r = generations([10, 5], [5, 20]);
    assert!(r.clusters.is_empty(), "{:?}", groups(&r.clusters));
    assert_eq!(r.leaked_count, 0);
    assert!(groups(&r.replaced_values).contains(&(class.into(), 2)));
    let r = generations([10, 5], [5, 50]);
    assert!(!r.clusters.is_empty());
    assert!(r.replaced_values.iter().all(|c| c.count < 50));
}

/// A shared WebAssembly memory that grew has a new `SharedArrayBuffer` in its buffer slot, and
/// the program's views of it (ten, in named slots overwritten since) hold it too: the memory's
/// current buffer, a replaced value (the growth is listed apart), not a leak.
#[test]
fn the_new_buffer_of_a_grown_memory_is_a_replaced_value() {
    let r = program_trio(|h, app, stage| {
        let id = if stage == Stage::Baseline { 100 } else { 200 };
        let memory = h.node_with_id("object", "Memory", 50, 104);
        h.edge(app, "property", "memory", memory);
        let buffer = h.node_with_id("object", "SharedArrayBuffer", id, 96);
        h.edge(memory, "hidden", "2", buffer);
        let module = h.node_with_id("object", "Module", 60, 64);
        h.edge(app, "property", "module", module);
        for i in 0..10 {
            let view = h.node_with_id("object", "Int8Array", id + 1 + i, 64);
            h.edge(module, "property", &format!("HEAP{i}"), view);
            h.edge(view, "internal", "buffer", buffer);
        }
    });
    assert!(r.clusters.is_empty(), "{:?}", groups(&r.clusters));
    assert!(groups(&r.replaced_values).contains(&("SharedArrayBuffer".into(), 1)));
}

/// A null-prototype object used as a map (`Object.create(null)`), as V8 writes one in
/// dictionary mode: each key a property, and a `(object properties)` store listing each key
/// (a string) beside its value. Ids from `id` on (`id + 1` the store, then the keys).
fn keyed(h: &mut Heap, id: u32, entries: &[(String, NodeIx)]) -> NodeIx {
    let o = h.node_with_id("object", "Object", id, 24);
    let store = h.node_with_id(
        "array",
        "(object properties)",
        id + 1,
        16 + 24 * entries.len() as u64,
    );
    let null = h.node_with_id("hidden", "system / Oddball", 71, 48);
    let map = h.node_with_id("object shape", "system / Map", 73, 72);
    for (key, v) in entries {
        h.edge(o, "property", key, *v);
    }
    h.edge(o, "property", "__proto__", null);
    h.edge(o, "internal", "properties", store);
    h.edge(o, "internal", "map", map);
    h.edge(store, "internal", "map", map);
    for (i, (key, v)) in entries.iter().enumerate() {
        let k = h.node_with_id("string", key, id + 2 + i as u32, 24);
        h.edge(store, "internal", &format!("{}", 2 * i + 1), k);
        h.edge(store, "internal", &format!("{}", 2 * i + 2), *v);
    }
    o
}

/// hashlru's generations: two null-prototype maps in its closure's variables `cache` and
/// `_cache`; when `cache` is full it becomes `_cache` and a new one starts, and an entry read
/// from `_cache` is copied into `cache` (both hold it then). Bounded together (at most twice
/// the entries of the baseline's two, plus 16), they and their entries are replaced values;
/// two that grew past that are a leak.
#[test]
fn keyed_generations_of_a_bounded_cache_are_replaced_values_and_a_grown_pair_leaks() {
    let generations = |baseline: [usize; 2], now: [usize; 2]| {
        program_trio(move |h, app, stage| {
            let scope = h.node_with_id("object", "system / Context", 7, 48);
            h.edge(app, "internal", "context", scope);
            let (counts, mut id) = if stage == Stage::Baseline {
                (baseline, 100)
            } else {
                (now, 10_000)
            };
            let mut shared = None;
            for (slot, count) in ["cache", "_cache"].into_iter().zip(counts) {
                let mut entries = Vec::new();
                for i in 0..count {
                    let value = h.node_with_id("object", "Entry", id, 48);
                    let part = h.node_with_id("object", "Value", id + 1, 40);
                    h.edge(value, "property", "value", part);
                    id += 2;
                    entries.push((format!("k{i}"), value));
                }
                // The newest generation's first entry was read from the older one.
                if let Some(v) = shared.take() {
                    entries.push(("read".to_string(), v));
                } else if let Some(&(_, v)) = entries.first() {
                    shared = Some(v);
                }
                let map = keyed(h, id, &entries);
                id += 2 + entries.len() as u32;
                h.edge(scope, "context", slot, map);
            }
        })
    };
    two_generations_bounded_and_grown(generations, "Object");
}

/// tiny-lru: a null-prototype map `items` of entries linked to each other (`prev`, `next`),
/// and the cache's `first` and `last` pointing at the oldest and newest. Full, it unlinks and
/// deletes its oldest entry for each new one: entries new since the baseline in a map that
/// holds no more than then are replaced values, the newest one in `last` too. One more entry
/// than at the baseline is a leak; so is a fast object (its store holds values only, its keys
/// are its shape's) whose new properties hold new entries.
#[test]
fn linked_entries_of_a_keyed_map_that_did_not_grow_are_replaced_and_of_one_that_grew_leak() {
    let cache = |count: usize, dictionary: bool| {
        program_trio(move |h, app, stage| {
            let lru = h.node_with_id("object", "LRU", 7, 48);
            h.edge(app, "property", "cache", lru);
            let (count, first_id) = if stage == Stage::Baseline {
                (10, 100)
            } else {
                (count, 10_000)
            };
            let items: Vec<NodeIx> = (0..count as u32)
                .map(|i| {
                    let item = h.node_with_id("object", "Item", first_id + 2 * i, 64);
                    let value = h.node_with_id("object", "Value", first_id + 2 * i + 1, 40);
                    h.edge(item, "property", "value", value);
                    item
                })
                .collect();
            for pair in items.windows(2) {
                h.edge(pair[0], "property", "next", pair[1]);
                h.edge(pair[1], "property", "prev", pair[0]);
            }
            let entries: Vec<(String, NodeIx)> = items
                .iter()
                .enumerate()
                .map(|(i, &v)| (format!("k{}", first_id as usize + i), v))
                .collect();
            let map = if dictionary {
                keyed(h, 5_000, &entries)
            } else {
                let o = h.node_with_id("object", "Object", 5_000, 24);
                let store = h.node_with_id("hidden", "system / PropertyArray", 5_001, 96);
                for (key, v) in &entries {
                    h.edge(o, "property", key, *v);
                    h.edge(store, "internal", key, *v);
                }
                h.edge(o, "internal", "properties", store);
                o
            };
            h.edge(lru, "property", "items", map);
            h.edge(lru, "property", "first", items[0]);
            h.edge(lru, "property", "last", items[count - 1]);
        })
    };
    let r = cache(10, true);
    assert!(r.clusters.is_empty(), "{:?}", groups(&r.clusters));
    assert_eq!(r.leaked_count, 0);
    assert_eq!(
        r.replaced_values.iter().map(|c| c.count).sum::<u64>(),
        10,
        "{:?}",
        groups(&r.replaced_values)
    );
    let r = cache(11, true);
    assert_eq!(r.leaked_count, 11, "{:?}", groups(&r.clusters));
    let r = cache(10, false);
    assert_eq!(r.leaked_count, 10, "{:?}", groups(&r.clusters));
}
