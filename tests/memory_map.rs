//! The memory map (`heapsight memory`): parts that add up to the Summary's total, WebAssembly
//! memories and large-buffer holders, on a hand-made graph and on the Node 20 WASM sample
//! (`scripts/make-wasm-scenario.js`).

mod common;

use common::{analyze_file, heapsight, sample, Heap};
use heapsight::analysis::memory_map::{MemoryMap, PartKind, DEFAULT_MIN_BUFFER};
use heapsight::analysis::{AnalysisOptions, RuleSet};
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

fn expected() -> serde_json::Value {
    let text = std::fs::read_to_string(sample("node-wasm/expected.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn wasm_document() -> Document {
    Document::open(
        &sample("node-wasm/training.heapsnapshot"),
        &Default::default(),
        AnalysisOptions::default(),
        Default::default(),
    )
    .unwrap()
}

#[test]
fn wasm_sample_parts_wasm_memory_and_holders() {
    let doc = wasm_document();
    let exp = expected();
    let m = MemoryMap::build(&doc.data, DEFAULT_MIN_BUFFER);

    assert_eq!(m.total, doc.total_size());
    assert_eq!(m.total, doc.summary().total_size);
    assert_eq!(m.total, doc.statistics().total);
    assert_eq!(m.parts.iter().map(|p| p.bytes).sum::<u64>(), m.total);

    let pages = exp["wasm_pages"].as_u64().unwrap();
    assert_eq!(m.wasm_memories.len(), 1);
    let w = &m.wasm_memories[0];
    assert_eq!(w.pages, pages);
    assert_eq!(w.bytes, pages * 65_536);
    assert_eq!(w.bytes, exp["wasm_memory_bytes"].as_u64().unwrap());
    assert_eq!(m.part(PartKind::WasmMemory).bytes, w.bytes);
    let mut views: Vec<&str> = w.views.iter().map(|v| v.class.as_str()).collect();
    views.sort();
    assert_eq!(views, ["Float32Array", "Uint8Array"]);
    assert!(w.retainer_path.iter().any(|p| p.node_class == "Instance"));

    let cache = &exp["activation_cache"];
    let top = &m.buffer_holders[0];
    assert_eq!(top.class, "Map", "{:?}", m.buffer_holders);
    assert!(
        top.retainer_path
            .iter()
            .any(|p| p.node_class == "ActivationCache"),
        "the Map is the ActivationCache's: {:?}",
        top.retainer_path
    );
    assert_eq!(top.count, cache["float32_arrays"].as_u64().unwrap());
    assert_eq!(top.bytes, cache["bytes"].as_u64().unwrap());
    assert_eq!(
        top.bytes,
        top.count * cache["float32_length"].as_u64().unwrap() * 4
    );

    let pool = &exp["buffer_pool"];
    let second = &m.buffer_holders[1];
    assert_eq!(second.class, "BufferPool");
    assert_eq!(second.count, pool["buffers"].as_u64().unwrap());
    assert_eq!(second.bytes, pool["bytes"].as_u64().unwrap());
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
    let file = sample("node-wasm/training.heapsnapshot");
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
    assert_eq!(v["wasm_memories"][0]["pages"], expected()["wasm_pages"]);
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
}
