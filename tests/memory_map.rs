//! The memory map (`heapsight memory`): parts that add up to the Summary's total, WebAssembly
//! memories, large-buffer holders and wasm-bindgen wrappers, on hand-made graphs and on the
//! training series of `scripts/make-wasm-scenario.js` (Node 20) and `scripts/make-wasm-browser.js`
//! (Chromium).

mod common;

use common::{analyze_file, heapsight, sample, Heap};
use heapsight::analysis::leaks::LeakReport;
use heapsight::analysis::memory_map::{MemoryMap, PartKind, DEFAULT_MIN_BUFFER};
use heapsight::analysis::{AnalysisOptions, RuleSet};
use heapsight::report::leaks::text as leak_text;
use heapsight::store::Document;

/// A page with a WASM memory (2 pages) viewed by a Float32Array, a cache whose Map holds two
/// 64 KiB activations, a small Uint8Array, a user class named `Memory` holding a 4 KiB buffer
/// (not WASM: its prototype is not `WebAssembly.Memory` and it holds the buffer by property),
/// an embedder object, an external string and 1000 `extra_native_bytes`.
fn handmade() -> (Heap, Vec<u32>) {
    let mut h = Heap::new();
    let root = h.node("synthetic", "", 0);
    let win = h.node("object", "Window", 50);
    h.edge(root, "element", "1", win);

    let mem = h.node("object", "Memory", 56);
    let proto = h.node("object", "WebAssembly.Memory", 40);
    h.edge(mem, "property", "__proto__", proto);
    let wasm_ab = h.node("object", "ArrayBuffer", 88);
    h.edge(mem, "hidden", "2", wasm_ab);
    let wasm_data = h.node("native", "system / JSArrayBufferData", 131_072);
    h.edge(wasm_ab, "internal", "backing_store", wasm_data);
    let view = h.node("object", "Float32Array", 96);
    h.edge(view, "internal", "buffer", wasm_ab);
    h.edge(win, "property", "memory", mem);
    h.edge(win, "property", "weights", view);

    let cache = h.node("object", "ActivationCache", 40);
    h.edge(win, "property", "cache", cache);
    let map = h.node("object", "Map", 32);
    h.edge(cache, "property", "entries", map);
    let table = h.node("hidden", "system / OrderedHashMap", 200);
    h.edge(map, "internal", "table", table);
    for i in 0..2 {
        let fa = h.node("object", "Float32Array", 96);
        h.edge(table, "element", &i.to_string(), fa);
        let ab = h.node("object", "ArrayBuffer", 88);
        h.edge(fa, "internal", "buffer", ab);
        let d = h.node("native", "system / JSArrayBufferData", 65_536);
        h.edge(ab, "internal", "backing_store", d);
    }

    let small = h.node("object", "Uint8Array", 96);
    h.edge(win, "property", "small", small);
    let small_ab = h.node("object", "ArrayBuffer", 88);
    h.edge(small, "internal", "buffer", small_ab);
    let small_d = h.node("native", "system / JSArrayBufferData", 1024);
    h.edge(small_ab, "internal", "backing_store", small_d);

    let fake = h.node("object", "Memory", 30);
    h.edge(win, "property", "fakeMemory", fake);
    let fake_ab = h.node("object", "ArrayBuffer", 88);
    h.edge(fake, "property", "buffer", fake_ab);
    let fake_d = h.node("native", "system / JSArrayBufferData", 4096);
    h.edge(fake_ab, "internal", "backing_store", fake_d);

    let native = h.node("native", "NativeThing", 500);
    h.edge(win, "internal", "native", native);
    let ext = h.node("string", "external text", 20);
    h.edge(win, "property", "text", ext);
    let ext_data = h.node("native", "system / ExternalStringData", 300);
    h.edge(ext, "internal", "resource", ext_data);

    h.snapshot_field("\"extra_native_bytes\":1000");
    let ids = vec![h.id(mem), h.id(view), h.id(map), h.id(fake), h.id(wasm_ab)];
    (h, ids)
}

#[test]
fn handmade_parts_add_up_to_the_total() {
    let (h, ids) = handmade();
    let s = h.analyze();
    let m = MemoryMap::build(&s, DEFAULT_MIN_BUFFER);
    let total = s.analysis.retained_size(s.graph().root()) + 1000;
    assert_eq!(m.total, total);
    assert_eq!(m.parts.iter().map(|p| p.bytes).sum::<u64>(), total);

    assert_eq!(m.part(PartKind::WasmMemory).bytes, 131_072);
    assert_eq!(m.part(PartKind::WasmMemory).node_count, 1);
    assert_eq!(
        m.part(PartKind::ArrayBuffers).bytes,
        2 * 65_536 + 1024 + 4096
    );
    assert_eq!(m.part(PartKind::ArrayBuffers).node_count, 4);
    // The embedder object, the external string with its data (moved onto the string by
    // DevTools' shallow sizes), and extra_native_bytes.
    assert_eq!(m.part(PartKind::External).bytes, 500 + 320 + 1000);
    assert_eq!(m.part(PartKind::External).node_count, 3);
    // Window, Memory, its prototype and buffer, the view, cache, Map with its table, the two
    // activations' arrays and buffers, the Uint8Array and its buffer, the fake Memory and its
    // buffer.
    let js = 50 + 56 + 40 + 88 + 96 + 40 + (32 + 200) + 2 * (96 + 88) + 96 + 88 + 30 + 88;
    assert_eq!(m.part(PartKind::JsHeap).bytes, js);
    let shares: f64 = m.parts.iter().map(|p| p.share).sum();
    assert!((shares - 1.0).abs() < 1e-9, "shares sum to {shares}");

    assert_eq!(
        m.wasm_memories.len(),
        1,
        "the user class Memory is not WASM"
    );
    let w = &m.wasm_memories[0];
    assert_eq!((w.id, w.buffer_id), (ids[0], ids[4]));
    assert_eq!((w.bytes, w.pages), (131_072, 2));
    assert_eq!(w.views.len(), 1);
    assert_eq!(
        (w.views[0].class.as_str(), w.views[0].id),
        ("Float32Array", ids[1])
    );
    assert_eq!(
        w.retainer_path.last().map(|p| p.node_id),
        Some(ids[0]),
        "path ends at the Memory"
    );

    assert_eq!(m.buffer_holders.len(), 1, "{:?}", m.buffer_holders);
    let top = &m.buffer_holders[0];
    assert_eq!((top.class.as_str(), top.id), ("Map", ids[2]));
    assert_eq!((top.count, top.bytes), (2, 131_072));

    // A lower threshold brings in the fake Memory's 4 KiB buffer, held by that object.
    let m = MemoryMap::build(&s, 4096);
    let ids_bytes: Vec<(u32, u64, u64)> = m
        .buffer_holders
        .iter()
        .map(|h| (h.id, h.count, h.bytes))
        .collect();
    assert_eq!(ids_bytes, vec![(ids[2], 2, 131_072), (ids[3], 1, 4096)]);
}

#[test]
fn handmade_parts_add_up_under_memlab_rules() {
    let (h, _) = handmade();
    let s = h.analyze_with(RuleSet::Memlab);
    let m = MemoryMap::build(&s, DEFAULT_MIN_BUFFER);
    assert_eq!(m.parts.iter().map(|p| p.bytes).sum::<u64>(), m.total);
    assert_eq!(m.part(PartKind::WasmMemory).bytes, 131_072);
}

fn expected(dir: &str) -> serde_json::Value {
    let text = std::fs::read_to_string(sample(&format!("{dir}/expected.json"))).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn open(path: &std::path::Path) -> Document {
    Document::open(
        path,
        &Default::default(),
        AnalysisOptions::default(),
        Default::default(),
    )
    .unwrap()
}

/// The training scenario (fixtures/wasm/training.js) in `dir`, snapshot by snapshot, against
/// what the script recorded: the map adds up, the memory is pages × 64 KiB, the wrappers are
/// counted live and freed exactly, the activation cache and the pool are the top holders with
/// their shapes, and the pool stays the same size.
fn check_training_series(dir: &str) {
    let exp = expected(dir);
    let shapes = &exp["shapes"];
    let steps = exp["steps"].as_array().unwrap();
    assert!(steps.len() >= 3, "{dir}: {} steps", steps.len());
    let mut pools = Vec::new();
    for step in steps {
        let file = step["file"].as_str().unwrap();
        let doc = open(&sample(&format!("{dir}/{file}")));
        let m = MemoryMap::build(&doc.data, DEFAULT_MIN_BUFFER);
        let at = format!("{dir}/{file}");

        assert_eq!(m.total, doc.total_size(), "{at}");
        assert_eq!(m.total, doc.summary().total_size, "{at}");
        assert_eq!(
            m.parts.iter().map(|p| p.bytes).sum::<u64>(),
            m.total,
            "{at}"
        );

        let pages = step["pages"].as_u64().unwrap();
        assert_eq!(m.wasm_memories.len(), 1, "{at}");
        let w = &m.wasm_memories[0];
        assert_eq!(w.pages, pages, "{at}");
        assert_eq!(w.bytes, pages * 65_536, "{at}");
        assert_eq!(w.bytes, step["memory_bytes"].as_u64().unwrap(), "{at}");
        assert_eq!(m.part(PartKind::WasmMemory).bytes, w.bytes, "{at}");
        let mut views: Vec<&str> = w.views.iter().map(|v| v.class.as_str()).collect();
        views.sort();
        assert_eq!(views, ["Float32Array", "Uint8Array"], "{at}");
        assert!(
            w.instance_id.is_some() && w.module_id.is_some(),
            "{at}: {w:?}"
        );
        assert!(w.exports_id.is_some(), "{at}: exports");
        assert!(
            w.module_name.starts_with("wasm://"),
            "{at}: {}",
            w.module_name
        );
        assert_eq!(
            w.instance_path.last().map(|p| p.node_id),
            w.instance_id,
            "{at}"
        );

        let wrappers = &m.wasm_wrappers;
        assert!(wrappers.numeric_values, "{at}");
        let classes: Vec<&str> = wrappers.classes.iter().map(|c| c.class.as_str()).collect();
        assert_eq!(
            classes,
            ["WasmTensor", "LegacyTensor"],
            "{at}: Cursor is no wrapper"
        );
        for c in &wrappers.classes {
            let e = &step["wrappers"][&c.class];
            assert_eq!(c.count, e["count"].as_u64().unwrap(), "{at} {}", c.class);
            assert_eq!(c.live, e["live"].as_u64().unwrap(), "{at} {}", c.class);
            assert_eq!(c.freed, e["freed"].as_u64().unwrap(), "{at} {}", c.class);
            assert_eq!(c.unknown, 0, "{at} {}", c.class);
            assert_eq!(c.holders.len(), 1, "{at} {}", c.class);
            assert_eq!(c.holders[0].count, c.count, "{at} {}", c.class);
        }
        assert_eq!(wrappers.classes[0].field, "__wbg_ptr");
        assert_eq!(wrappers.classes[0].holders[0].via, "registry", "{at}");
        assert_eq!(wrappers.classes[1].field, "ptr");

        let act = &shapes["activation"];
        let activations = step["activations"].as_u64().unwrap();
        // The cache and the pool are the two holders; the cache passes the pool at step 2.
        assert_eq!(m.buffer_holders.len(), 2, "{at}: {:?}", m.buffer_holders);
        let by_class = |class: &str| m.buffer_holders.iter().find(|h| h.class == class).unwrap();
        let top = by_class("Map");
        if activations * act["buffer_bytes"].as_u64().unwrap() > 3 * 131_072 {
            assert_eq!(m.buffer_holders[0].class, "Map", "{at}");
        }
        assert!(
            top.retainer_path
                .iter()
                .any(|p| p.node_class == "ActivationCache"),
            "{at}: the Map is the ActivationCache's: {:?}",
            top.retainer_path
        );
        assert_eq!(top.count, activations, "{at}");
        assert_eq!(
            top.bytes,
            activations * act["buffer_bytes"].as_u64().unwrap(),
            "{at}"
        );
        assert_eq!(top.shapes.len(), 1, "{at}");
        assert_eq!(top.shapes[0].view, act["view"].as_str().unwrap(), "{at}");
        assert_eq!(top.shapes[0].length, act["length"].as_u64(), "{at}");
        assert_eq!(top.shapes[0].label(), "Float32Array(16384)", "{at}");
        assert!(top.pool.is_none(), "{at}: a Map of activations is no pool");

        let pool = &shapes["pool"];
        let second = by_class("BufferPool");
        assert_eq!(second.via, "buffers", "{at}");
        let p = second.pool.as_ref().expect("the pool is shown as a pool");
        assert_eq!(p.count, step["pool_buffers"].as_u64().unwrap(), "{at}");
        assert_eq!(
            p.buffer_bytes,
            pool["buffer_bytes"].as_u64().unwrap(),
            "{at}"
        );
        assert_eq!(second.bytes, p.count * p.buffer_bytes, "{at}");
        assert_eq!(second.shapes[0].length, pool["length"].as_u64(), "{at}");
        pools.push((p.count, p.buffer_bytes));
    }
    assert!(
        pools.windows(2).all(|w| w[0] == w[1]),
        "{dir}: the pool is stable: {pools:?}"
    );
}

#[test]
fn node_wasm_series_memory_wrappers_holders_and_pool() {
    check_training_series("node-wasm");
}

#[test]
fn parts_add_up_on_other_samples() {
    for rel in [
        "node-leak/target.heapsnapshot",
        "browser-detached-tree/tree.heapsnapshot",
    ] {
        let s = analyze_file(&sample(rel), RuleSet::DevTools);
        let m = MemoryMap::build(&s, DEFAULT_MIN_BUFFER);
        let total = s.analysis.retained_size(s.graph().root())
            + s.snapshot.info.extra_native_bytes.unwrap_or(0);
        assert_eq!(m.total, total, "{rel}");
        assert_eq!(m.parts.iter().map(|p| p.bytes).sum::<u64>(), total, "{rel}");
        assert!(m.wasm_memories.is_empty(), "{rel}");
    }
}

#[test]
fn cli_memory_text_and_json() {
    let file = sample("node-wasm/step3.heapsnapshot");
    let file = file.to_str().unwrap();
    let out = heapsight(&["memory", file, "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let parts = v["parts"].as_array().unwrap();
    let kinds: Vec<&str> = parts.iter().map(|p| p["kind"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        ["js_heap", "array_buffers", "wasm_memory", "external"]
    );
    let sum: u64 = parts.iter().map(|p| p["bytes"].as_u64().unwrap()).sum();
    assert_eq!(sum, v["total"].as_u64().unwrap());
    assert_eq!(
        v["wasm_memories"][0]["pages"],
        expected("node-wasm")["steps"][2]["pages"]
    );
    assert_eq!(v["wasm_wrappers"]["classes"][0]["class"], "WasmTensor");
    assert_eq!(v["wasm_wrappers"]["classes"][0]["freed"], 6);
    assert_eq!(v["buffer_holders"][1]["pool"]["count"], 3);
    assert_eq!(v["min_buffer"], 65_536);
    assert_eq!(v["buffer_holders"][0]["class"], "Map");

    // A threshold above every buffer leaves no holders.
    let out = heapsight(&["memory", file, "--json", "--min-buffer", "1000000"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["buffer_holders"].as_array().unwrap().len(), 0);

    let out = heapsight(&["memory", file]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("WebAssembly memory"), "{text}");
    assert!(text.contains("5 page(s)"), "{text}");
    assert!(text.contains("ActivationCache"), "{text}");
    assert!(text.contains("Float32Array(16384) × 12"), "{text}");
    assert!(text.contains("pool of 3 × 128 KiB"), "{text}");
    assert!(
        text.contains("WasmTensor                    30 (__wbg_ptr: 24 live, 6 freed, 0 unknown)"),
        "{text}"
    );
}

/// Wrappers on a hand-made page: `__wbg_ptr` by edge to numbers with values (live, freed), a
/// heap number without a value (live), `ptr` with and without `free` on the prototype, and a
/// field known only from the map's descriptors (no numeric values: unknown).
#[test]
fn handmade_wrappers() {
    let mut h = Heap::new();
    let root = h.node("synthetic", "", 0);
    let win = h.node("object", "Window", 50);
    h.edge(root, "element", "1", win);
    let list = h.node("object", "Array", 32);
    h.edge(win, "property", "tensors", list);
    let number = |h: &mut Heap, value: Option<&str>, name: &str| {
        let n = h.node("number", name, 0);
        if let Some(v) = value {
            let s = h.node("string", v, 16);
            h.edge(n, "internal", "value", s);
        }
        n
    };
    for (i, value) in [Some("1024"), Some("0"), Some("0"), None]
        .iter()
        .enumerate()
    {
        let t = h.node("object", "Tensor", 40);
        h.edge(list, "element", &i.to_string(), t);
        let kind = if value.is_some() {
            "smi number"
        } else {
            "heap number"
        };
        let v = number(&mut h, *value, kind);
        h.edge(t, "property", "__wbg_ptr", v);
    }
    // `ptr` + free() on the prototype: a wrapper; `ptr` without: not one.
    let proto = h.node("object", "Legacy", 20);
    let free = h.node("closure", "free", 32);
    h.edge(proto, "property", "free", free);
    let legacy = h.node("object", "Legacy", 40);
    h.edge(legacy, "property", "__proto__", proto);
    let v = number(&mut h, Some("64"), "smi number");
    h.edge(legacy, "property", "ptr", v);
    h.edge(win, "property", "legacy", legacy);
    let cursor = h.node("object", "Cursor", 40);
    let v = number(&mut h, Some("7"), "smi number");
    h.edge(cursor, "property", "ptr", v);
    h.edge(win, "property", "cursor", cursor);
    let s = h.analyze();
    let w = heapsight::analysis::wasm_wrappers::WasmWrappers::build(&s);
    assert!(w.numeric_values);
    let rows: Vec<(&str, &str, u64, u64, u64, u64)> = w
        .classes
        .iter()
        .map(|c| {
            (
                c.class.as_str(),
                c.field,
                c.count,
                c.live,
                c.freed,
                c.unknown,
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            ("Tensor", "__wbg_ptr", 4, 2, 2, 0),
            ("Legacy", "ptr", 1, 1, 0, 0)
        ]
    );
    assert_eq!(w.classes[0].holders[0].class, "Window");
    assert_eq!(w.classes[0].holders[0].via, "tensors");
    assert_eq!(w.classes[0].js_bytes, 160);

    // Without numeric values, a field only in the map's descriptors is a wrapper of unknown state.
    let mut h = Heap::new();
    let root = h.node("synthetic", "", 0);
    let win = h.node("object", "Window", 50);
    h.edge(root, "element", "1", win);
    let map = h.node("object shape", "system / Map", 72);
    let desc = h.node("object shape", "system / DescriptorArray", 72);
    h.edge(map, "internal", "descriptors", desc);
    let key = h.node("string", "__wbg_ptr", 32);
    h.edge(desc, "internal", "0", key);
    for i in 0..3 {
        let t = h.node("object", "Handle", 24);
        h.edge(t, "internal", "map", map);
        h.edge(win, "property", &format!("h{i}"), t);
    }
    let s = h.analyze();
    let w = heapsight::analysis::wasm_wrappers::WasmWrappers::build(&s);
    assert!(!w.numeric_values);
    assert_eq!(w.classes.len(), 1);
    let c = &w.classes[0];
    assert_eq!(
        (c.class.as_str(), c.count, c.live, c.freed, c.unknown),
        ("Handle", 3, 0, 0, 3)
    );
}

#[test]
fn chromium_wasm_series_memory_wrappers_holders_and_pool() {
    check_training_series("browser-wasm");
}

/// The report over the Node training series: the WebAssembly memory and the cache grow at every
/// step, the pool does not; each snapshot has its memory map, wrappers and tensor sections in
/// JSON, Markdown and HTML.
#[test]
fn report_has_wasm_and_tensor_sections_and_growth() {
    let files: Vec<String> = (1..=3)
        .map(|i| {
            sample(&format!("node-wasm/step{i}.heapsnapshot"))
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    let mut args = vec!["report", "--format", "json"];
    args.extend(files.iter().map(String::as_str));
    let out = heapsight(&args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let growth = v["memory_growth"].as_array().unwrap();
    let row = |kind: &str, label_start: &str| {
        growth
            .iter()
            .find(|r| r["kind"] == kind && r["label"].as_str().unwrap().starts_with(label_start))
            .unwrap_or_else(|| panic!("{kind} {label_start}: {growth:?}"))
    };
    let wasm = row("wasm_memory", "Memory @");
    assert_eq!(
        wasm["values"],
        serde_json::json!([196_608, 262_144, 327_680])
    );
    assert_eq!(wasm["grows_every_step"], true);
    let cache = row("buffer_holder", "Map @");
    assert_eq!(
        cache["values"],
        serde_json::json!([262_144, 524_288, 786_432])
    );
    assert_eq!(cache["grows_every_step"], true);
    let pool = row("pool", "BufferPool @");
    assert_eq!(pool["values"], serde_json::json!([3, 3, 3]));
    assert_eq!(pool["grows_every_step"], false);
    let last = &v["snapshots"][2]["memory"];
    assert_eq!(last["wasm_memories"][0]["pages"], 5);
    assert_eq!(last["wasm_wrappers"]["classes"][0]["freed"], 6);

    for format in ["md", "html"] {
        let mut args = vec!["report", "--format", format];
        args.extend(files.iter().map(String::as_str));
        let out = heapsight(&args);
        assert!(out.status.success());
        let text = String::from_utf8(out.stdout).unwrap();
        for needle in [
            "WebAssembly and buffer memory over the snapshots",
            "192 KiB → 256 KiB → 320 KiB",
            "Memory map",
            "Wrappers into WebAssembly memory",
            "pool of 3 × 128 KiB",
            "Float32Array(16384) × 12",
        ] {
            assert!(text.contains(needle), "{format}: {needle}");
        }
    }
}

/// `heapsight trend` over the training series (Node and Chromium): the WebAssembly memory grows
/// a page per step (pages × 64 KiB), the activation cache's buffers grow, the pool is stable.
#[test]
fn trend_over_training_series_grows_wasm_and_cache_not_pool() {
    for dir in ["node-wasm", "browser-wasm"] {
        let exp = expected(dir);
        let files: Vec<String> = exp["steps"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                sample(&format!("{dir}/{}", s["file"].as_str().unwrap()))
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        let mut args = vec!["trend", "--json", "--top", "0"];
        args.extend(files.iter().map(String::as_str));
        let out = heapsight(&args);
        assert!(
            out.status.success(),
            "{dir}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let series = v["series"].as_array().unwrap();
        let find = |kind: &str, class: &str| {
            series
                .iter()
                .find(|s| s["kind"] == kind && s["class"] == class)
                .unwrap_or_else(|| panic!("{dir}: no {kind} {class}"))
        };
        let pages: Vec<u64> = exp["steps"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["pages"].as_u64().unwrap())
            .collect();
        let wasm = find("wasm_memory", "Memory");
        assert_eq!(wasm["counts"], serde_json::json!(pages), "{dir}");
        let bytes: Vec<u64> = pages.iter().map(|p| p * 65_536).collect();
        assert_eq!(wasm["bytes"], serde_json::json!(bytes), "{dir}");
        assert_eq!(wasm["verdict"], "grows", "{dir}");
        let cache = find("buffer_holder", "Map");
        assert_eq!(cache["counts"], serde_json::json!([4, 8, 12]), "{dir}");
        assert_eq!(cache["verdict"], "grows", "{dir}");
        let pool = find("buffer_holder", "BufferPool");
        assert_eq!(pool["counts"], serde_json::json!([3, 3, 3]), "{dir}");
        assert_eq!(pool["verdict"], "stable", "{dir}");
    }
}

#[test]
fn a_leak_trio_lists_the_webassembly_memory_that_grew_and_counts_nothing_for_it() {
    // node-wasm's three training steps as baseline, target and final: the memory grows a page
    // each step (expected.json), which the trio shows apart from its clusters.
    let dir = "node-wasm";
    let e = expected(dir);
    let [b, t, f] = [1, 2, 3].map(|i| {
        analyze_file(
            &sample(&format!("{dir}/step{i}.heapsnapshot")),
            RuleSet::DevTools,
        )
    });
    let r = LeakReport::compute(&b, &t, &f);
    assert_eq!(r.wasm_growth.len(), 1, "{:?}", r.wasm_growth);
    let w = &r.wasm_growth[0];
    assert_eq!(
        w.baseline_bytes,
        e["steps"][0]["memory_bytes"].as_u64().unwrap()
    );
    assert_eq!(
        w.final_bytes,
        e["steps"][2]["memory_bytes"].as_u64().unwrap()
    );
    let text = leak_text(&r);
    assert!(
        text.contains(&format!(
            "WebAssembly.Memory @{}  192 KiB → 320 KiB (+128 KiB)",
            w.id
        )),
        "{text}"
    );
    // The same snapshot as baseline and final: nothing grew.
    assert!(LeakReport::compute(&f, &f, &f).wasm_growth.is_empty());
}

/// A trio of `sample-snapshots/wasm-bindgen/` (`keep` or `drop`), analysed.
fn wasm_bindgen_trio(variant: &str) -> [heapsight::analysis::AnalyzedSnapshot; 3] {
    ["baseline", "target", "final"].map(|s| {
        analyze_file(
            &sample(&format!("wasm-bindgen/{variant}-{s}.heapsnapshot.gz")),
            RuleSet::DevTools,
        )
    })
}

#[test]
fn real_wasm_bindgen_wrappers_kept_in_a_script_variable_leak_and_name_the_variable() {
    // fixtures/wasm-bindgen through wasm-bindgen 0.2.130: the outputs kept in the script's
    // top-level `kept` array, never freed.
    let e = expected("wasm-bindgen");
    let keep = &e["keep"];
    let [b, t, f] = wasm_bindgen_trio("keep");
    let r = LeakReport::compute(&b, &t, &f);
    assert_eq!(r.clusters.len(), 1, "{:?}", r.clusters);
    assert_eq!(r.clusters[0].class, keep["leaked_class"].as_str().unwrap());
    assert_eq!(r.clusters[0].count, keep["leaked"].as_u64().unwrap());
    let map = MemoryMap::build(&f, DEFAULT_MIN_BUFFER);
    let class = |name: &str| {
        map.wasm_wrappers
            .classes
            .iter()
            .find(|c| c.class == name)
            .unwrap_or_else(|| panic!("no {name} wrappers: {:?}", map.wasm_wrappers.classes))
    };
    let tensors = class("Tensor");
    assert!(map.wasm_wrappers.numeric_values);
    assert_eq!(tensors.live, keep["live_tensors_final"].as_u64().unwrap());
    assert_eq!(tensors.freed, 0);
    // No object of the program's holds them, only the script's scope: its variable is named
    // (before, the root was named, with no path).
    let holder = &tensors.holders[0];
    assert_eq!(
        (holder.class.as_str(), holder.via.as_str()),
        (
            "system / Context",
            keep["tensor_scope_variable"].as_str().unwrap()
        )
    );
    assert_eq!(holder.count, tensors.count);
    assert!(!holder.retainer_path.is_empty());
    let layer = &class("Dense").holders[0];
    assert_eq!(layer.via, keep["layer_scope_variable"].as_str().unwrap());
}

#[test]
fn real_wasm_bindgen_wrappers_dropped_without_free_are_finalized_not_leaked() {
    // The outputs dropped without free(): wasm-bindgen's FinalizationRegistry frees them.
    let e = expected("wasm-bindgen");
    let [b, t, f] = wasm_bindgen_trio("drop");
    let r = LeakReport::compute(&b, &t, &f);
    assert_eq!(r.leaked_count, e["drop"]["leaked"].as_u64().unwrap());
    assert!(r.clusters.is_empty(), "{:?}", r.clusters);
    let map = MemoryMap::build(&f, DEFAULT_MIN_BUFFER);
    // Live wrappers of `class`: 0 when none is found.
    let live = |class: &str| -> u64 {
        let rows = map.wasm_wrappers.classes.iter();
        rows.filter(|c| c.class == class).map(|c| c.live).sum()
    };
    assert_eq!(
        live("Tensor"),
        e["drop"]["live_tensors_final"].as_u64().unwrap()
    );
    // The wrappers are still found: the layer's is live.
    assert_eq!(live("Dense"), 1);
}
