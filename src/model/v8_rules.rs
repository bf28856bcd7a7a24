//! V8's and Blink's conventions, in one place: what the engine's names and edges mean.
//!
//! A heap snapshot says little in its types; much of its meaning is in names. V8 calls its own
//! objects `system / …`, Blink prefixes detached DOM nodes with `Detached `, the root's
//! non-synthetic children are the page's global objects (`Window / <url>` in Chrome, `global` in
//! Node), the DOM hangs off a synthetic `(Document DOM trees)` node, and the two edges that keep
//! a WeakMap value alive are named after the pair. DevTools' heap snapshot worker reads these
//! conventions to decide distances, dominators, class names and detached DOM; heapsight follows
//! it so the numbers match (section numbers below refer to `docs/devtools-rules.md`).
//!
//! Everything here is a pure rule over names, kinds and V8's `detachedness` values: no
//! algorithm, no state. The analyses (distances, dominators, shallow sizes, classes, detached
//! DOM, leaks, suspects) and the report writers ask these functions instead of spelling the
//! engine's strings themselves.

use super::graph::{EdgeRef, HeapGraph, NodeIx};
use super::kinds::{EdgeKind, NodeKind};
use super::strings::NameIds;

// ---------------------------------------------------------------------------------------------
// Roots (§1.3, §2.2)

/// Name of the synthetic node under the root that holds a browser page's DOM trees.
pub const DOCUMENT_DOM_TREES: &str = "(Document DOM trees)";

/// The synthetic `(Document DOM trees)` node browsers put under the root.
pub fn is_document_dom_trees_root(g: &HeapGraph, n: NodeIx) -> bool {
    g.kind(n) == NodeKind::Synthetic && g.name(n) == DOCUMENT_DOM_TREES
}

/// DevTools' user roots, for a child of the root: any node that is not synthetic (the global
/// objects: `Window / <url>`, Node's `global`), plus the `(Document DOM trees)` node (§1.3).
pub fn is_user_root(g: &HeapGraph, n: NodeIx) -> bool {
    g.kind(n) != NodeKind::Synthetic || is_document_dom_trees_root(g, n)
}

/// For an edge from the root: does DevTools seed its page-owned set (`pageObject`) from the
/// target? Shortcut edges (to the global objects) and the element edge to `(Document DOM trees)`
/// do; the system roots do not (§2.2).
pub fn is_page_entry_edge(g: &HeapGraph, e: &EdgeRef) -> bool {
    match e.kind {
        EdgeKind::Shortcut => true,
        EdgeKind::Element => is_document_dom_trees_root(g, e.to),
        _ => false,
    }
}

// ---------------------------------------------------------------------------------------------
// V8's own objects

/// Prefix of the names V8 gives its internal objects (`system / Context`, `system / Map`, …).
pub const SYSTEM_PREFIX: &str = "system / ";
/// A native context: the per-realm object holding the builtins and maps.
pub const NATIVE_CONTEXT: &str = "system / NativeContext";
/// The native node holding an external string's characters (its size belongs to the string).
pub const EXTERNAL_STRING_DATA: &str = "system / ExternalStringData";
/// The native node holding an `ArrayBuffer`'s bytes (DevTools' "Typed arrays" statistic, §4).
pub const ARRAY_BUFFER_DATA: &str = "system / JSArrayBufferData";

/// Is `name` the name of one of V8's internal objects (`system / …`)?
pub fn is_system_name(name: &str) -> bool {
    name.starts_with(SYSTEM_PREFIX)
}

/// Edge names that lead into V8's and Blink's own caches: objects held only through them are
/// engine bookkeeping (allocation-site boilerplates, lazily made API prototypes).
pub const ENGINE_CACHE_EDGES: [&str; 5] = [
    "transition_info",
    "fast_template_instantiations_cache",
    "slow_template_instantiations_cache",
    "feedback_cell",
    "feedback_vector",
];

/// Embedder objects that cache per-context wrappers and templates (Blink's).
pub const ENGINE_CACHE_NODES: [&str; 1] = ["blink::V8PerContextData"];

// ---------------------------------------------------------------------------------------------
// The runtime's own code (docs/leak-rules.md)

/// V8's name for a function's closure scope (its `context` edge leads to one).
pub const CONTEXT: &str = "system / Context";

/// The synthetic root of the values in the stack frames of the code running when the snapshot
/// was written (a program's own `v8.writeHeapSnapshot()` call: its locals and temporaries).
pub const STACK_ROOTS: &str = "(Stack roots)";

/// URL schemes under which a JavaScript runtime compiles its own, built-in scripts: Node's
/// `node:` (`node:internal/console/constructor`, `node:zlib`) and Deno's `ext:`. A program's
/// own scripts are files or URLs (`/srv/app.js`, `file://…`, `https://…`) and cannot use them.
pub const RUNTIME_SCRIPT_SCHEMES: [&str; 2] = ["node:", "ext:"];

/// Is `name` the name of a script the runtime compiled for itself?
pub fn is_runtime_script_name(name: &str) -> bool {
    RUNTIME_SCRIPT_SCHEMES.iter().any(|s| name.starts_with(s))
}

/// The script a closure's code comes from: `closure --shared--> SharedFunctionInfo
/// --script_or_debug_info--> Script` (older V8: `script`; through a `DebugInfo` when the
/// function is being debugged).
pub fn closure_script(g: &HeapGraph, closure: NodeIx) -> Option<NodeIx> {
    let named = |from: NodeIx, names: &[&str]| {
        g.edges(from)
            .find(|e| {
                !e.kind.named_by_index()
                    && names.contains(&g.strings().get(g.edge_name_or_index(e.index as usize)))
            })
            .map(|e| e.to)
    };
    let shared = named(closure, &["shared"])?;
    let script = named(shared, &["script_or_debug_info", "script"])?;
    // A DebugInfo stands between the function and its script while a debugger is attached.
    Some(named(script, &["script"]).unwrap_or(script))
}

/// A `Script` node's URL. Node's V8 names the node by its URL (`node:internal/timers`); newer V8
/// (Deno 2.9's V8 15) names it `system / Script / URL`, or just `system / Script` with the URL
/// only on its internal `name` edge.
pub fn script_url(g: &HeapGraph, script: NodeIx) -> &str {
    const PREFIX: &str = "system / Script";
    let name = g.name(script);
    let Some(rest) = name.strip_prefix(PREFIX) else {
        return name;
    };
    if let Some(url) = rest.strip_prefix(" / ") {
        return url;
    }
    g.edges(script)
        .find(|e| {
            e.kind == EdgeKind::Internal
                && edge_name(g, e) == Some("name")
                && g.kind(e.to) == NodeKind::String
        })
        .map_or(name, |e| g.name(e.to))
}

/// Is `n` a closure whose code is one of the runtime's own scripts?
pub fn is_runtime_closure(g: &HeapGraph, n: NodeIx) -> bool {
    g.kind(n) == NodeKind::Closure
        && closure_script(g, n).is_some_and(|s| is_runtime_script_name(script_url(g, s)))
}

// ---------------------------------------------------------------------------------------------
// Edge names

/// The property edge to an object's prototype.
pub const PROTO_EDGE: &str = "__proto__";
/// The internal edge from a JS object or array to its element store.
pub const ELEMENTS_EDGE: &str = "elements";
/// The internal edge from a JS object to its out-of-object property store.
pub const PROPERTIES_EDGE: &str = "properties";
/// The internal edge from a `Map`, `Set`, `WeakMap` or `WeakSet` to its hash table.
pub const TABLE_EDGE: &str = "table";

/// Is `name` an internal edge from a collection to its backing store (`table`, `elements`,
/// `properties`)?
pub fn is_backing_store_edge(name: &str) -> bool {
    matches!(name, TABLE_EDGE | ELEMENTS_EDGE | PROPERTIES_EDGE)
}

/// The slot of a collection's hash table that edge `e` (from the table) is: V8 names the
/// slots by number (`191`), as element edges or as internal edges with a numeric name. `None`
/// for other edges and weak ones.
pub fn table_slot(g: &HeapGraph, e: &EdgeRef) -> Option<u32> {
    match e.kind {
        EdgeKind::Weak => None,
        EdgeKind::Element => Some(e.name_or_index),
        k if k.named_by_index() => None,
        _ => {
            let name = g.strings().get(e.name_or_index);
            if name.is_empty() || !name.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            name.parse().ok()
        }
    }
}

/// The entries of a JS `Map` whose table holds heap objects in `slots` (their indices, from
/// [`table_slot`]). V8 lays an entry out as key, value and a chain link (a small integer,
/// never an edge), so the slots of one entry are adjacent and those of two entries are not. A
/// small-integer key or value has no edge either: halving the slots would undercount such a
/// map (`Map<number, Session>`).
pub fn map_table_entries(slots: impl Iterator<Item = u32>) -> u32 {
    let mut indices: Vec<u32> = slots.collect();
    indices.sort_unstable();
    let pairs = indices.windows(2).filter(|w| w[1] == w[0] + 1).count();
    (indices.len() - pairs) as u32
}

/// Name of the arrays older V8 keeps a map's descriptors in.
pub const MAP_DESCRIPTORS: &str = "(map descriptors)";

/// Is `n` a `(map descriptors)` array?
pub fn is_map_descriptors(g: &HeapGraph, n: NodeIx) -> bool {
    g.kind(n) == NodeKind::Array && g.name(n) == MAP_DESCRIPTORS
}

/// What a node is to DevTools' distance search (§1.4): some of a native context's and of a
/// `(map descriptors)` array's edges are not followed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DistanceSource {
    /// Every edge may be followed.
    Plain,
    /// A native context: its `sloppy_function_map` is not followed (rule 1).
    NativeContext,
    /// A `(map descriptors)` array: its value slots are not followed (rule 2).
    MapDescriptors,
}

/// Tells a node's [`DistanceSource`] by its kind and name id, with no string read: the distance
/// search asks once for each node that has a target to reach.
pub struct DistanceSources {
    native_context: NameIds,
    map_descriptors: NameIds,
}

impl DistanceSources {
    /// The name ids to test against, found in one pass over `g`'s strings.
    pub fn new(g: &HeapGraph) -> Self {
        let [native_context, map_descriptors] =
            g.strings().ids_of_each([NATIVE_CONTEXT, MAP_DESCRIPTORS]);
        Self {
            native_context,
            map_descriptors,
        }
    }

    /// What node `n` is to the distance search.
    #[inline]
    pub fn of(&self, g: &HeapGraph, n: NodeIx) -> DistanceSource {
        match g.kind(n) {
            NodeKind::Hidden if self.native_context.contains(g.name_id(n)) => {
                DistanceSource::NativeContext
            }
            NodeKind::Array if self.map_descriptors.contains(g.name_id(n)) => {
                DistanceSource::MapDescriptors
            }
            _ => DistanceSource::Plain,
        }
    }
}

/// Is edge `e` of a native context its `sloppy_function_map`? It keeps nothing alive that
/// matters to users, and DevTools' distance search does not follow it (§1.4, rule 1).
pub fn is_sloppy_function_map_edge(g: &HeapGraph, e: usize) -> bool {
    g.edge_kind(e) != EdgeKind::Element
        && g.strings().get(g.edge_name_or_index(e)) == "sloppy_function_map"
}

/// In a `(map descriptors)` array, is edge `e` a slot holding a key's value through the map
/// (indexes 4, 7, 10, …)? DevTools' distance search does not follow those (§1.4, rule 2).
pub fn is_descriptor_value_slot(g: &HeapGraph, e: usize) -> bool {
    if !g.edge_kind(e).named_by_index() {
        return false;
    }
    let index = g.edge_name_or_index(e);
    index >= 2 && index % 3 == 1
}

/// Parse V8's WeakMap edge name `3 / part of key (Foo @123) -> value (Bar @456) pair in WeakMap
/// (table @789)` into (key id, table id). Like DevTools, the whole name must have this shape, and
/// a name with a line terminator never matches (§1.5).
pub fn parse_ephemeron_edge(name: &str) -> Option<(u32, u32)> {
    const KEY: &str = " / part of key (";
    const VALUE: &str = ") -> value (";
    const TABLE: &str = ") pair in WeakMap (table @";
    let digits = name.bytes().take_while(u8::is_ascii_digit).count();
    // The prefix first: most names that start with a digit are not edge names at all.
    let rest = name[digits..].strip_prefix(KEY)?;
    if digits == 0 || has_line_terminator(name) {
        return None;
    }
    // (`memmem` rather than `str::find`: the names are short, and `find` sets up a searcher
    // for each, which cost more than the search on heaps with a million such names.)
    let arrow = memchr::memmem::find(rest.as_bytes(), VALUE.as_bytes())?;
    let key_part = &rest[..arrow];
    let key_id = key_part.rsplit_once(" @")?.1.parse().ok()?;
    let after = &rest[arrow + VALUE.len()..];
    let table_at = memchr::memmem::find(after.as_bytes(), TABLE.as_bytes())?;
    let table_str = after[table_at + TABLE.len()..].strip_suffix(')')?;
    let table_id = table_str.parse().ok()?;
    Some((key_id, table_id))
}

/// Does `s` hold a JavaScript line terminator (`\n`, `\r`, U+2028, U+2029)? By bytes, with
/// `memchr`: a heap may have a million names to test, and decoding each one's characters cost
/// more than all the rest of the parse.
fn has_line_terminator(s: &str) -> bool {
    let bytes = s.as_bytes();
    // U+2028 and U+2029 are E2 80 A8 and E2 80 A9 in UTF-8.
    memchr::memchr3_iter(b'\n', b'\r', 0xE2, bytes).any(|at| {
        bytes[at] != 0xE2 || matches!(bytes.get(at + 1..at + 3), Some([0x80, 0xA8 | 0xA9]))
    })
}

// ---------------------------------------------------------------------------------------------
// Class names (§3.1, §3.2)

/// Constructor name V8 gives plain objects (`{}` literals); DevTools names them by shape.
pub const PLAIN_OBJECT_NAME: &str = "Object";
/// Constructor name of JS arrays.
pub const JS_ARRAY_NAME: &str = "Array";
/// DevTools' class of closures.
pub const CLOSURE_CLASS: &str = "Function";

/// The class DevTools gives a node of kind `kind` by its type alone — every kind but objects
/// and native nodes, which are classed by name: `(system)` for hidden nodes, `(compiled code)`,
/// `Function`, `RegExp`, else the type name in parentheses (`(array)`, `(string)`, …).
pub fn type_class_name(kind: NodeKind, type_name: &str) -> String {
    match kind {
        NodeKind::Hidden => "(system)".into(),
        NodeKind::Code => "(compiled code)".into(),
        NodeKind::Closure => CLOSURE_CLASS.into(),
        NodeKind::RegExp => "RegExp".into(),
        _ => format!("({type_name})"),
    }
}

/// Is `class` a class of the engine's own objects: one named by type (`(string)`, `(system)`,
/// `(compiled code)`, …), a `system / …` object, or one of the embedder's C++ internals
/// ([`is_embedder_internal_name`])?
pub fn is_engine_class_name(class: &str) -> bool {
    class.starts_with('(') || is_system_name(class) || is_embedder_internal_name(class)
}

/// Namespaces of Chromium's C++ objects that a heap snapshot lists as native nodes: Blink's,
/// its garbage collector's (Oilpan, `cppgc::`), V8's API objects' and WTF's.
const EMBEDDER_NAMESPACES: [&str; 4] = ["blink::", "cppgc::", "v8::", "WTF::"];

/// Is `class` one of the embedder's C++ internals (`blink::UniqueElementData`, `Detached
/// blink::NodeRareData`): the attribute storage, rare data and hash table backings that come
/// and go with the DOM nodes and wrappers holding them, which have classes of their own?
/// (DOM nodes themselves are named by their tag or interface: `<li class="row">`, `Text`.)
pub fn is_embedder_internal_name(class: &str) -> bool {
    let name = class.strip_prefix(DETACHED_PREFIX).unwrap_or(class);
    EMBEDDER_NAMESPACES.iter().any(|ns| name.starts_with(ns))
}

// ---------------------------------------------------------------------------------------------
// Detached DOM (§5)

/// V8's `detachedness` value for nodes attached to a document.
pub const ATTACHED: u8 = 1;
/// V8's `detachedness` value for detached nodes.
pub const DETACHED: u8 = 2;
/// Prefix of detached DOM nodes' names: older Blink wrote it into the snapshot, DevTools adds
/// it to native nodes it finds detached.
pub const DETACHED_PREFIX: &str = "Detached ";

/// Does `name` carry the `Detached ` prefix?
pub fn has_detached_prefix(name: &str) -> bool {
    name.starts_with(DETACHED_PREFIX)
}

/// `name` without its `Detached ` prefix (every repetition of it).
pub fn without_detached_prefix(name: &str) -> &str {
    name.trim_start_matches(DETACHED_PREFIX)
}

/// True when `n` is a detached DOM (native) node: by the propagated state `detached` when the
/// snapshot has one, or by the `Detached ` name prefix older Blink snapshots use.
pub fn is_detached(g: &HeapGraph, detached: &[u8], n: NodeIx) -> bool {
    g.kind(n) == NodeKind::Native
        && (detached.get(n as usize) == Some(&DETACHED) || has_detached_prefix(g.name(n)))
}

/// Does this native node look like a DOM node rather than an embedder's own object? Blink
/// names DOM nodes by tag (`<div>`) or interface (`HTMLDivElement`, `Text`, `Document…`);
/// embedders name their own objects `Node / BindingData`, `system / …`, `v8::…`, `blink::…`.
/// A `Window` counts too: a removed iframe's window that a script still holds is detached, and
/// it keeps the frame's whole document and global object.
pub fn is_dom_like(g: &HeapGraph, n: NodeIx) -> bool {
    if g.kind(n) != NodeKind::Native {
        return false;
    }
    let name = without_detached_prefix(g.name(n));
    if name.contains(" / ") || name.contains("::") {
        return false;
    }
    name.starts_with('<')
        || name.starts_with("HTML")
        || name.starts_with("SVG")
        || matches!(
            name,
            "Text"
                | "Comment"
                | "CDATASection"
                | "DocumentFragment"
                | "ShadowRoot"
                | "Attr"
                | "Window"
        )
        || name.starts_with("Document")
}

// ---------------------------------------------------------------------------------------------
// ArrayBuffers, typed arrays and WebAssembly memory (measured on Node 20)

/// Class of a JS `ArrayBuffer`: `ArrayBuffer --backing_store--> system / JSArrayBufferData`.
pub const ARRAY_BUFFER_CLASS: &str = "ArrayBuffer";
/// Class of a `SharedArrayBuffer` (same shape as an `ArrayBuffer`).
pub const SHARED_ARRAY_BUFFER_CLASS: &str = "SharedArrayBuffer";
/// The internal edge from an `ArrayBuffer` to its bytes (a `system / JSArrayBufferData` node).
pub const BACKING_STORE_EDGE: &str = "backing_store";
/// The internal edge from a typed array or `DataView` to the `ArrayBuffer` it views.
pub const BUFFER_EDGE: &str = "buffer";
/// Class of a `WebAssembly.Memory` object. V8 names it by its constructor, `Memory`; its
/// prototype is the object named `WebAssembly.Memory`, and it holds its `ArrayBuffer` through a
/// hidden (index-named) edge, not a named one.
pub const WASM_MEMORY_CLASS: &str = "Memory";
/// Name of the prototype of `WebAssembly.Memory` objects.
pub const WASM_MEMORY_PROTOTYPE: &str = "WebAssembly.Memory";
/// Bytes in one WebAssembly page.
pub const WASM_PAGE_SIZE: u64 = 65_536;

/// The typed-array classes and `DataView` (plus Node's `Buffer`, a `Uint8Array`): objects
/// that view an `ArrayBuffer`'s bytes.
pub const TYPED_ARRAY_CLASSES: [&str; 15] = [
    "Int8Array",
    "Uint8Array",
    "Uint8ClampedArray",
    "Int16Array",
    "Uint16Array",
    "Int32Array",
    "Uint32Array",
    "Float16Array",
    "Float32Array",
    "Float64Array",
    "BigInt64Array",
    "BigUint64Array",
    "DataView",
    "Buffer",
    "FastBuffer",
];

/// Is `name` an `ArrayBuffer` or `SharedArrayBuffer`?
pub fn is_array_buffer_name(name: &str) -> bool {
    name == ARRAY_BUFFER_CLASS || name == SHARED_ARRAY_BUFFER_CLASS
}

/// Is `name` a typed array's, `DataView`'s or Node `Buffer`'s class?
pub fn is_typed_array_name(name: &str) -> bool {
    TYPED_ARRAY_CLASSES.contains(&name)
}

/// The name of a non-indexed edge, `None` for element and hidden edges.
pub fn edge_name<'g>(g: &'g HeapGraph, e: &EdgeRef) -> Option<&'g str> {
    (!e.kind.named_by_index()).then(|| g.strings().get(e.name_or_index))
}

/// The `ArrayBuffer` whose bytes the backing store `data` (a `system / JSArrayBufferData` node)
/// holds: its retainer by a `backing_store` edge.
pub fn backing_store_owner(g: &HeapGraph, data: NodeIx) -> Option<NodeIx> {
    g.retainer_edges(data)
        .into_iter()
        .find(|e| {
            edge_name(g, e) == Some(BACKING_STORE_EDGE) && is_array_buffer_name(g.name(e.from))
        })
        .map(|e| e.from)
}

/// The backing store (`system / JSArrayBufferData`) of the `ArrayBuffer` `buffer`, if it has one
/// (a detached or empty buffer has none).
pub fn backing_store(g: &HeapGraph, buffer: NodeIx) -> Option<NodeIx> {
    g.edges(buffer)
        .find(|e| edge_name(g, e) == Some(BACKING_STORE_EDGE) && g.name(e.to) == ARRAY_BUFFER_DATA)
        .map(|e| e.to)
}

/// If `n` is a `WebAssembly.Memory`, the `ArrayBuffer` over its linear memory. A `Memory`
/// object reaches its buffer by a hidden or internal edge in V8 (a `buffer` or `array_buffer`
/// property in other engines' builds); a user class that happens to be named `Memory` has only
/// property edges and is left out unless its prototype is `WebAssembly.Memory`.
pub fn wasm_memory_buffer(g: &HeapGraph, n: NodeIx) -> Option<NodeIx> {
    if g.kind(n) != NodeKind::Object || g.name(n) != WASM_MEMORY_CLASS {
        return None;
    }
    let proto_is_wasm = g
        .edges(n)
        .any(|e| edge_name(g, &e) == Some(PROTO_EDGE) && g.name(e.to) == WASM_MEMORY_PROTOTYPE);
    g.edges(n)
        .filter(|e| is_array_buffer_name(g.name(e.to)) && g.kind(e.to) == NodeKind::Object)
        .find(|e| match e.kind {
            EdgeKind::Hidden | EdgeKind::Internal => true,
            EdgeKind::Property => {
                proto_is_wasm && matches!(edge_name(g, e), Some("buffer" | "array_buffer"))
            }
            _ => false,
        })
        .map(|e| e.to)
}

/// The objects viewing the `ArrayBuffer` `buffer`: its retainers by a `buffer` edge (typed
/// arrays, `DataView`s).
pub fn buffer_views(g: &HeapGraph, buffer: NodeIx) -> Vec<NodeIx> {
    let mut v: Vec<NodeIx> = g
        .retainer_edges(buffer)
        .into_iter()
        .filter(|e| e.kind != EdgeKind::Weak && edge_name(g, e) == Some(BUFFER_EDGE))
        .map(|e| e.from)
        .collect();
    v.dedup();
    v
}

/// Bytes per element of a typed array class (`Float32Array` → 4); `None` for `DataView`,
/// `ArrayBuffer` and anything else.
pub fn typed_array_element_size(class: &str) -> Option<u64> {
    Some(match class {
        "Int8Array" | "Uint8Array" | "Uint8ClampedArray" | "Buffer" | "FastBuffer" => 1,
        "Int16Array" | "Uint16Array" | "Float16Array" => 2,
        "Int32Array" | "Uint32Array" | "Float32Array" => 4,
        "Float64Array" | "BigInt64Array" | "BigUint64Array" => 8,
        _ => return None,
    })
}

/// Class name V8 gives a `WebAssembly.Instance`.
pub const WASM_INSTANCE_CLASS: &str = "Instance";
/// Class name V8 gives a `WebAssembly.Module`.
pub const WASM_MODULE_CLASS: &str = "Module";

/// The `WebAssembly.Instance` that owns (or imported) the memory `memory`. Node 20's V8 gives
/// the instance a hidden edge to it; newer V8 (Chromium 156) keeps it in the instance's trusted
/// data: `Instance` ← `instance_object` ← `WasmTrustedInstanceData` → `memory_objects` → it.
pub fn wasm_memory_instance(g: &HeapGraph, memory: NodeIx) -> Option<NodeIx> {
    let is_instance = |n: NodeIx| g.kind(n) == NodeKind::Object && g.name(n) == WASM_INSTANCE_CLASS;
    let retainers = g.retainer_edges(memory);
    let direct = retainers
        .iter()
        .find(|e| matches!(e.kind, EdgeKind::Hidden | EdgeKind::Internal) && is_instance(e.from));
    if let Some(e) = direct {
        return Some(e.from);
    }
    retainers
        .iter()
        .flat_map(|list| g.retainer_edges(list.from))
        .filter(|e| edge_name(g, e) == Some("memory_objects"))
        .find_map(|data| {
            g.edges(data.from)
                .find(|e| edge_name(g, e) == Some("instance_object") && is_instance(e.to))
                .map(|e| e.to)
        })
}

/// The `WebAssembly.Module` of the instance `instance`: its `module_object`, or (Node 20) the
/// object named `Module` it reaches by a hidden or internal edge.
pub fn wasm_instance_module(g: &HeapGraph, instance: NodeIx) -> Option<NodeIx> {
    g.edges(instance)
        .find(|e| {
            matches!(e.kind, EdgeKind::Hidden | EdgeKind::Internal)
                && g.kind(e.to) == NodeKind::Object
                && g.name(e.to) == WASM_MODULE_CLASS
        })
        .map(|e| e.to)
}

/// The module's code name (`wasm://wasm/9c3bd02a`): the name of its script, without V8's
/// `system / Script / ` prefix.
pub fn wasm_module_name(g: &HeapGraph, module: NodeIx) -> Option<&str> {
    g.edges(module)
        .filter(|e| g.kind(e.to) == NodeKind::Code)
        .find_map(|e| g.name(e.to).find("wasm://").map(|at| &g.name(e.to)[at..]))
}

/// The exports object of the instance `instance`: its internal `exports` edge (newer V8), or
/// (Node 20) the plain object it reaches by a hidden edge whose own properties are all functions or WebAssembly objects (`memory`,
/// exported functions, tables, globals). An instance with nothing exported has none.
pub fn wasm_instance_exports(g: &HeapGraph, instance: NodeIx) -> Option<NodeIx> {
    let named = g.edges(instance).find(|e| {
        e.kind == EdgeKind::Internal
            && edge_name(g, e) == Some("exports")
            && g.kind(e.to) == NodeKind::Object
    });
    if let Some(e) = named {
        return Some(e.to);
    }
    g.edges(instance)
        .filter(|e| {
            matches!(e.kind, EdgeKind::Hidden | EdgeKind::Internal)
                && g.kind(e.to) == NodeKind::Object
                && g.name(e.to) == "Object"
        })
        .map(|e| e.to)
        .find(|&o| {
            let mut exported = g
                .edges(o)
                .filter(|e| e.kind == EdgeKind::Property && edge_name(g, e) != Some(PROTO_EDGE))
                .peekable();
            exported.peek().is_some()
                && exported.all(|e| {
                    g.kind(e.to) == NodeKind::Closure
                        || matches!(g.name(e.to), "Memory" | "Table" | "Global" | "Tag")
                })
        })
}

// ---------------------------------------------------------------------------------------------
// wasm-bindgen wrappers (docs/wasm-rules.md)

/// The own property wasm-bindgen's generated classes keep their pointer into linear memory in.
pub const WBG_PTR_FIELD: &str = "__wbg_ptr";
/// The field older wasm-bindgen versions used; a wrapper only when the class has [`FREE_METHOD`].
pub const LEGACY_PTR_FIELD: &str = "ptr";
/// The method every wasm-bindgen class has on its prototype.
pub const FREE_METHOD: &str = "free";
/// Name of V8's node for a number held directly in a field (snapshots with numeric values).
pub const SMI_NUMBER: &str = "smi number";
/// Name of V8's node for a boxed number.
pub const HEAP_NUMBER: &str = "heap number";
/// Edge from a number node to the string of its value (snapshots with numeric values).
pub const NUMBER_VALUE_EDGE: &str = "value";

/// Does `object`'s prototype (its `__proto__`) have a `free` method?
pub fn prototype_has_free(g: &HeapGraph, object: NodeIx) -> bool {
    g.edges(object)
        .filter(|e| e.kind == EdgeKind::Property && edge_name(g, e) == Some(PROTO_EDGE))
        .any(|p| {
            g.edges(p.to).any(|e| {
                e.kind == EdgeKind::Property
                    && edge_name(g, &e) == Some(FREE_METHOD)
                    && g.kind(e.to) == NodeKind::Closure
            })
        })
}

/// The keys of the descriptor array of `object`'s map (`map` → `descriptors` → strings): the
/// names of its in-object properties, including those whose values are small integers and so
/// have no edge of their own. The array can be shared along a map transition chain, so it may
/// name a few properties later maps added.
pub fn map_descriptor_keys(g: &HeapGraph, object: NodeIx) -> impl Iterator<Item = NodeIx> + '_ {
    g.edges(object)
        .filter(|e| e.kind == EdgeKind::Internal && edge_name(g, e) == Some("map"))
        .flat_map(move |m| {
            g.edges(m.to).filter(move |e| {
                is_map_descriptors(g, e.to) || edge_name(g, e) == Some("descriptors")
            })
        })
        .flat_map(move |d| {
            g.edges(d.to)
                .filter(move |e| g.kind(e.to).is_string())
                .map(|e| e.to)
        })
}

/// The value of a number node when the snapshot records it (V8's `exposeNumericValues` /
/// `captureNumericValue`): the string its `value` edge points to, parsed.
pub fn number_value(g: &HeapGraph, number: NodeIx) -> Option<f64> {
    if g.kind(number) != NodeKind::Number {
        return None;
    }
    g.edges(number)
        .find(|e| edge_name(g, e) == Some(NUMBER_VALUE_EDGE) && g.kind(e.to).is_string())
        .and_then(|e| g.name(e.to).parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn map_entries_are_counted_by_slot_layout() {
        // Key and value objects: slots 35, 36 and 38, 39.
        assert_eq!(map_table_entries([35, 36, 38, 39].into_iter()), 2);
        // Small-integer keys: the values alone, three slots apart.
        assert_eq!(map_table_entries([36, 39, 42].into_iter()), 3);
        // Mixed, and out of order.
        assert_eq!(map_table_entries([42, 36, 35, 39].into_iter()), 3);
        assert_eq!(map_table_entries(std::iter::empty()), 0);
    }

    #[test]
    fn runtime_scripts_are_the_runtimes_url_schemes() {
        assert!(is_runtime_script_name("node:internal/console/constructor"));
        assert!(is_runtime_script_name("node:zlib"));
        assert!(is_runtime_script_name("ext:deno_web/02_timers.js"));
        for user in [
            "/srv/app.js",
            "file:///srv/app.mjs",
            "https://example.test/a.js",
            "",
        ] {
            assert!(!is_runtime_script_name(user), "{user}");
        }
    }

    #[test]
    fn line_terminators_by_bytes_are_the_four_characters() {
        let terminators = ['\n', '\r', '\u{2028}', '\u{2029}'];
        for s in [
            "",
            "plain",
            "a\nb",
            "\r",
            "x\u{2028}",
            "\u{2029}y",
            "\u{2027}",
            "\u{202A}",
            "€ and ₂",
            "\u{20AC}\u{2028}",
            "ends in é",
        ] {
            assert_eq!(has_line_terminator(s), s.contains(terminators), "{s:?}");
        }
    }

    #[test]
    fn ephemeron_names() {
        assert_eq!(
            parse_ephemeron_edge(
                "3 / part of key (Object @123) -> value (Foo @456) pair in WeakMap (table @789)"
            ),
            Some((123, 789))
        );
        // DevTools requires the leading number.
        assert_eq!(
            parse_ephemeron_edge(
                "part of key (Object @123) -> value (Foo @456) pair in WeakMap (table @789)"
            ),
            None
        );
        assert_eq!(parse_ephemeron_edge("map"), None);
        assert_eq!(parse_ephemeron_edge("12345"), None);
        // A line break anywhere: not an edge name DevTools reads.
        assert_eq!(
            parse_ephemeron_edge(
                "3 / part of key (Object\n @123) -> value (Foo @456) pair in WeakMap (table @789)"
            ),
            None
        );
    }

    #[test]
    fn names() {
        assert!(is_system_name("system / Context"));
        assert!(!is_system_name("system"));
        assert!(is_engine_class_name("(compiled code)"));
        assert!(is_engine_class_name("system / Map"));
        assert!(!is_engine_class_name("Function"));
        assert!(is_engine_class_name("Detached blink::UniqueElementData"));
        assert!(is_engine_class_name(
            "blink::HeapVectorBacking<cppgc::internal::BasicMember>"
        ));
        assert!(!is_engine_class_name("Detached <li class=\"result\">"));
        assert!(!is_engine_class_name("Detached Text"));
        // A Rust allocation site is not Chromium's.
        assert!(!is_engine_class_name("alloc::vec::Vec<T>::push"));
        assert_eq!(without_detached_prefix("Detached <div>"), "<div>");
        assert_eq!(type_class_name(NodeKind::Number, "number"), "(number)");
        assert_eq!(type_class_name(NodeKind::Hidden, "hidden"), "(system)");
    }
}
