//! Three-snapshot leak detection (baseline, target, final), after memlab: objects allocated after
//! the baseline that exist in the target and are still alive in the final snapshot. Noise (V8
//! internals, code, strings, shapes) is left out, objects held by another leaked object are
//! reported under it, and the rest are clustered by the retainer path that keeps them alive,
//! so 2,000 copies of one leak are one cluster with a count.
//!
//! Objects the runtime makes once, lazily, on first use (Node's builtin module exports, the
//! stdio streams, console internals) survive too but are not leaks: they are listed apart as
//! one-time allocations and never counted (the rule and why it holds: `docs/leak-rules.md`).
//! Neither are values that replaced older ones (a framework's `layer.params`, a parser's
//! `_headers`, a bounded cache's entries: the last requests' leftovers), as long as they are no
//! bigger than what they replaced: listed apart as replaced values.

use serde::Serialize;

use super::big_objects::{grown_since_baseline, GrownHolder, Trio};
use super::detached::PathText;
use super::diff::ids_kept;
use super::distances::NO_DISTANCE;
use super::leak_paths::{is_engine_cache_edge, LeakPaths, NodeTests, PathFacts, NO_NODE};
use super::memory_map::wasm_memory_sizes;
use super::retainers::{slot_names_where, PathStep, HELD_AS};
use super::AnalyzedSnapshot;
use crate::model::v8_rules::{
    closure_script, edge_name, is_detached, is_dom_like, is_engine_class_name, is_runtime_closure,
    is_runtime_script_name, is_system_name, script_url, wasm_memory_buffer, PROTO_EDGE,
    STACK_ROOTS,
};
use crate::model::{EdgeKind, EdgeRef, FxHashMap, FxHashSet, HeapGraph, NodeIx, NodeKind};

/// One step of a leak trace: the edge taken and the node it reaches, as every retainer path
/// in a report is written.
pub type TraceStep = PathText;

/// Leaked objects that share one retainer path shape.
#[derive(Debug, Clone, Serialize)]
pub struct LeakCluster {
    /// Class name of the leaked objects.
    pub class: String,
    /// How many leaked objects follow this path.
    pub count: u64,
    /// Bytes they retain together.
    pub retained_size: u64,
    /// Shortest retainer path of one representative, from the root to the leaked object.
    pub trace: Vec<TraceStep>,
    /// Other new objects (allocated after the baseline, alive in the final snapshot) reported
    /// under the cluster's objects: dominated by one of them, or reached only through one.
    /// A ring of leaked timers is one or two objects with the rest reached through them.
    pub reached_through: u64,
    /// Bytes those objects retain that the cluster's own objects do not: the objects reached
    /// only past them, not dominated by them (a `WeakMap`'s values keyed by the leaked objects,
    /// such as TensorFlow.js's tensor data in its backend's store), with what they dominate.
    /// [`retained_size`](Self::retained_size) plus this is what the cluster holds.
    pub reached_size: u64,
    /// Of [`reached_through`](Self::reached_through), the objects of the cluster's own class,
    /// when they are the older links of a chain (see [`chain`](Self::chain)); 0 when there is
    /// no chain. They are leaked objects of the class as much as the cluster's own, so the CI
    /// gate's `min-count` is compared with [`objects`](Self::objects), `count` plus these.
    pub chained: u64,
    /// Ids of up to 20 leaked objects in the cluster.
    pub example_ids: Vec<u32>,
    /// What the program calls the representative's holder (the step [`holder_step`] picks
    /// from the trace): the named slots holding it, at most [`HELD_AS`]. The trace is the
    /// shortest path, which may run through the running code's stack (a snapshot written
    /// near the heap limit) or an engine cache; these say which variable or property it is.
    pub held_as: Vec<String>,
    /// When the cluster's objects hold older ones of their own class (each new object keeps
    /// the one before: the classic closure leak through a shared context, a linked list, a ring
    /// of timers), the steps from the representative to the nearest such object, through new
    /// objects only: how the chain is linked. The object found must hold another the same way
    /// (a closure whose scope keeps a state setter is no chain). Empty otherwise.
    pub chain: Vec<TraceStep>,
    /// All leaked objects of the cluster (final snapshot's node indices).
    #[serde(skip)]
    pub nodes: Vec<NodeIx>,
}

/// The step of a cluster's trace that reaches the object holding its representative: the
/// nearest one a user would recognise, not V8's storage in between (a `Map`, not its
/// `system / Hashtable`). `None` for a trace of one step or of engine objects only.
pub fn holder_step(trace: &[TraceStep]) -> Option<usize> {
    let before_last = trace.len().checked_sub(1)?;
    (0..before_last)
        .rev()
        .find(|&i| !is_engine_class_name(&trace[i].node_class))
}

impl LeakCluster {
    /// What the cluster holds: what its objects retain and what the new objects reached
    /// through them retain besides. The CI gate's `min-bytes` limit is on this.
    pub fn held_size(&self) -> u64 {
        self.retained_size + self.reached_size
    }

    /// The leaked objects of the cluster's class: its own and the older links of chains
    /// under them ([`chained`](Self::chained)). The CI gate's `min-count` limit is on this.
    pub fn objects(&self) -> u64 {
        self.count + self.chained
    }
}

/// The result of a leak search. (`Default` is the empty report of snapshots whose ids are not
/// kept, `ids_kept` false.)
#[derive(Debug, Clone, Default, Serialize)]
pub struct LeakReport {
    /// Clusters, largest retained size first.
    pub clusters: Vec<LeakCluster>,
    /// Objects allocated after the baseline, present in the target and alive in the final
    /// snapshot, before noise filtering.
    pub surviving_count: u64,
    /// Leaked objects reported (cluster members).
    pub leaked_count: u64,
    /// Bytes retained by all clusters.
    pub leaked_retained_size: u64,
    /// Bytes the clusters hold besides what they retain ([`LeakCluster::reached_size`]).
    pub leaked_reached_size: u64,
    /// Whether the baseline and target, and the target and final snapshot, number their
    /// objects alike ([`super::diff::ids_kept`]). When false nothing can be told apart by id:
    /// the report is empty and must not be read as "no leak".
    pub ids_kept: bool,
    /// Objects the runtime made once, lazily, on first use, grouped like clusters (largest
    /// retained size first). Not leaks: never in `clusters`, the counts above or the gate.
    pub one_time_allocations: Vec<LeakCluster>,
    /// Objects in a named slot that held another object in the baseline, or entries of a
    /// collection no bigger than in the baseline, no bigger than what they replaced: the
    /// latest values, not an accumulation (see [`is_replaced_value`]). Grouped like clusters;
    /// never counted.
    pub replaced_values: Vec<LeakCluster>,
    /// WebAssembly memories bigger in the final snapshot than in the baseline. Never counted:
    /// what leaks inside one has no objects in a heap snapshot, and a memory never shrinks,
    /// so growth is a leak inside it or its allocator's high-water mark; a series of
    /// snapshots (`trend`) tells them apart.
    pub wasm_growth: Vec<WasmGrowth>,
    /// Old objects that retain more since the baseline with no leaked object under them: a
    /// string built by `+=`, an array of numbers (see [`grown_since_baseline`]). Never
    /// counted: three snapshots can't tell that from a buffer filling up to its cap, and a
    /// series of snapshots (`trend`) can.
    pub grown_holders: Vec<GrownHolder>,
}

/// One `WebAssembly.Memory` that grew between the baseline and the final snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WasmGrowth {
    /// The memory's node id (the same object in both).
    pub id: u32,
    /// Its bytes in the baseline.
    pub baseline_bytes: u64,
    /// Its bytes in the final snapshot.
    pub final_bytes: u64,
}

impl WasmGrowth {
    /// How many bytes it grew by.
    pub fn grown_by(&self) -> u64 {
        self.final_bytes - self.baseline_bytes
    }
}

/// The memories of `final_` bigger than the same memory (by id) in `baseline`.
fn wasm_growth(baseline: &AnalyzedSnapshot, final_: &AnalyzedSnapshot) -> Vec<WasmGrowth> {
    let before: FxHashMap<u32, u64> = wasm_memory_sizes(baseline).into_iter().collect();
    let mut grown: Vec<WasmGrowth> = wasm_memory_sizes(final_)
        .into_iter()
        .filter_map(|(id, final_bytes)| {
            let baseline_bytes = *before.get(&id)?;
            (final_bytes > baseline_bytes).then_some(WasmGrowth {
                id,
                baseline_bytes,
                final_bytes,
            })
        })
        .collect();
    grown.sort_by_key(|w| (std::cmp::Reverse(w.grown_by()), w.id));
    grown
}

/// Is this node something a user could leak (not V8's own bookkeeping)? Embedder (native)
/// objects count only as detached DOM nodes: attached ones belong to the live page.
pub fn is_leak_candidate(s: &AnalyzedSnapshot, n: NodeIx) -> bool {
    let g = s.graph();
    match g.kind(n) {
        NodeKind::Object | NodeKind::Closure | NodeKind::RegExp => !is_system_name(g.name(n)),
        NodeKind::Native => is_detached(g, &s.analysis.detached, n) && is_dom_like(g, n),
        _ => false,
    }
}

/// Is this retainer path engine bookkeeping: through compiled code or an engine cache? Objects
/// kept only that way are not user leaks. `holders` are the facts of the path to the last
/// step's holder.
fn is_engine_path(g: &HeapGraph, holders: &PathFacts, last: &PathStep) -> bool {
    holders.through_engine || is_engine_cache_edge(g, &last.edge)
}

/// Is the object the last step of its shortest path leads to (`holders`: the facts of the
/// path before it, [`PathFacts`]) a one-time allocation of the runtime (docs/leak-rules.md)? It
/// is when the runtime itself holds it, in a slot it already had:
/// - every closure on the path is the runtime's own code, and every closure scope (`system /
///   Context`) on it is entered from such a closure (its `context` edge) or from another such
///   scope (`previous`), with at least one runtime closure on the way: no user function, and
///   no scope of unknown owner (a stack frame's, a generator's), keeps it;
/// - every object before it on the path already existed in the baseline: the holders are the
///   runtime's, not something the program made since;
/// - the last edge is a named slot (a property, a scope variable or a named internal field),
///   not an element of a collection;
/// - a holder whose slots are properties gained no new object since the target: a slot filled
///   once, not a dictionary the program keeps adding to through the runtime.
fn is_one_time_path(
    g: &HeapGraph,
    holders: &PathFacts,
    last: &PathStep,
    base_ids: &FxHashMap<u32, NodeIx>,
    target_ids: &FxHashSet<u32>,
) -> bool {
    let e = last.edge.index as usize;
    if !holders.runtime.holds_for_runtime()
        || g.edge_kind(e).named_by_index()
        || g.edge_kind(e) == EdgeKind::Weak
    {
        return false;
    }
    let holder = last.edge.from;
    if g.edge_kind(e) == EdgeKind::Context {
        // A scope's variables are fixed by the source: the slot cannot multiply.
        return true;
    }
    // Objects (not numbers, strings or V8 internals) that appeared under the holder after the
    // target: the holder is still filling up.
    !g.edges(holder).any(|x| {
        x.kind != EdgeKind::Weak
            && is_object_kind(g.kind(x.to))
            && !target_ids.contains(&g.id(x.to))
            && !base_ids.contains_key(&g.id(x.to))
    })
}

/// The most new nodes a piece of the runtime's own pending work may span
/// ([`is_runtime_work`]): a timer list and its timers, not a pile of them.
const RUNTIME_WORK_OBJECTS: usize = 8;

/// The most objects one path shape of the runtime's pending work may hold: more is a pile.
const RUNTIME_WORK_GROUP: usize = 4;

/// Is the object `last` leads to (`holders` as for [`is_one_time_path`]) the runtime's own
/// pending work (docs/leak-rules.md, "The runtime's pending work")? Node's HTTP server keeps a
/// one-second timer to refresh its date header, in a timer list keyed by the delay: a new list
/// whenever the last one ran out. It is when
/// - only the runtime's code holds it, through holders from before the baseline (rules 1 and
///   2 of [`is_one_time_path`]; here the last edge may be a collection entry);
/// - it and the new objects it reaches (at most [`RUNTIME_WORK_OBJECTS`] new nodes) are all
///   instances of the runtime's own classes (their prototype's `constructor` is a runtime
///   closure), and every function they refer to is the runtime's: no callback of the program's.
///
/// The caller also requires that its group (same path shape) has at most a few objects.
fn is_runtime_work(
    s: &AnalyzedSnapshot,
    holders: &PathFacts,
    last: &PathStep,
    surviving: &[bool],
) -> bool {
    let g = s.graph();
    if g.edge_kind(last.edge.index as usize) == EdgeKind::Weak
        || !holders.runtime.holds_for_runtime()
    {
        return false;
    }
    // Everything new it reaches (not only what a user could leak: an element store between
    // two objects counts too), minus prototypes and shapes, which are shared.
    let mut seen = vec![last.edge.to];
    let mut i = 0;
    while let Some(&x) = seen.get(i) {
        i += 1;
        if is_leak_candidate(s, x) && !is_runtime_class_instance(g, x) {
            return false;
        }
        for e in own_edges(g, x) {
            if g.kind(e.to) == NodeKind::Closure && !is_runtime_closure(g, e.to) {
                return false;
            }
            if surviving[e.to as usize] && !seen.contains(&e.to) {
                if seen.len() == RUNTIME_WORK_OBJECTS {
                    return false;
                }
                seen.push(e.to);
            }
        }
    }
    true
}

/// `x`'s edges but weak ones and those to what it shares with its kind (its prototype and its
/// shape): what the walks over an object's own reach follow.
fn own_edges(g: &HeapGraph, x: NodeIx) -> impl Iterator<Item = EdgeRef> + '_ {
    g.edges(x).filter(move |e| {
        e.kind != EdgeKind::Weak && !matches!(edge_name(g, e), Some(PROTO_EDGE | "map"))
    })
}

/// The constructors of `n`'s class: `n --__proto__--> prototype --constructor--> closure`.
fn class_constructors(g: &HeapGraph, n: NodeIx) -> impl Iterator<Item = NodeIx> + '_ {
    g.edges(n)
        .filter(move |e| edge_name(g, e) == Some(PROTO_EDGE))
        .flat_map(move |e| g.edges(e.to))
        .filter(move |e| edge_name(g, e) == Some("constructor"))
        .map(|e| e.to)
}

/// Is the object `last` leads to (`holders` as for [`is_one_time_path`]) one of the embedder's
/// interface objects, which a browser makes lazily, the first time a page touches an API
/// (docs/leak-rules.md, "The embedder's interface objects")? It is when it is an API function
/// (its code is the embedder's: a `FunctionTemplateInfo` behind its `SharedFunctionInfo`, like
/// `window.IntersectionObserver`) or the prototype of an embedder (native) object (`Navigator
/// (prototype)`), and no function of the program's is on its path. The caller also requires
/// that it reaches none.
fn is_embedder_interface(g: &HeapGraph, holders: &PathFacts, last: &PathStep) -> bool {
    let v = last.edge.to;
    let api_function = || {
        g.kind(v) == NodeKind::Closure
            && g.edges(v)
                .filter(|e| edge_name(g, e) == Some("shared"))
                .flat_map(|e| g.edges(e.to))
                .any(|e| {
                    matches!(
                        edge_name(g, &e),
                        Some("function_data" | "untrusted_function_data")
                    ) && g.name(e.to) == FUNCTION_TEMPLATE_INFO
                })
    };
    let embedder_prototype = || {
        g.kind(last.edge.from) == NodeKind::Native
            && edge_name(g, &last.edge) == Some(PROTO_EDGE)
            && g.kind(v) == NodeKind::Object
    };
    // The object's shape first: it rules out nearly every leaked object at once.
    (api_function() || embedder_prototype())
        && !holders.program_closure
        && !is_program_closure(g, v)
}

/// V8's record of a function the embedder implements.
const FUNCTION_TEMPLATE_INFO: &str = "system / FunctionTemplateInfo";

/// The most new nodes [`reaches_program_code`] walks before it gives up (and says yes).
const PROGRAM_CODE_WALK: usize = 100_000;

/// Does `v`, or a new object it reaches, refer to a function of the program's own scripts or
/// belong to one of the program's classes? Then the program holds it through the runtime
/// (a timer or listener callback, the program's object in a runtime slot), and neither the
/// one-time rule nor the pending-work rule may call it the runtime's. Walks at most
/// [`PROGRAM_CODE_WALK`] new nodes, prototypes and shapes left out; a bigger reach counts as
/// yes.
fn reaches_program_code(s: &AnalyzedSnapshot, v: NodeIx, surviving: &[bool]) -> bool {
    let g = s.graph();
    let mut seen = FxHashSet::default();
    seen.insert(v);
    let mut stack = vec![v];
    while let Some(x) = stack.pop() {
        if is_leak_candidate(s, x) && is_program_class_instance(g, x) {
            return true;
        }
        for e in own_edges(g, x) {
            if is_program_closure(g, e.to) {
                return true;
            }
            if surviving[e.to as usize] && seen.insert(e.to) {
                if seen.len() > PROGRAM_CODE_WALK {
                    return true;
                }
                stack.push(e.to);
            }
        }
    }
    false
}

/// Is `n` a closure compiled from one of the program's scripts (a script with a URL that is
/// not the runtime's)? Builtins (no script) are neither the program's nor the runtime's.
fn is_program_closure(g: &HeapGraph, n: NodeIx) -> bool {
    g.kind(n) == NodeKind::Closure
        && closure_script(g, n).is_some_and(|sc| {
            let url = script_url(g, sc);
            g.kind(sc) == NodeKind::Code && !url.is_empty() && !is_runtime_script_name(url)
        })
}

/// Is `n` an instance of one of the program's classes (its prototype's `constructor` is a
/// closure of the program's)?
fn is_program_class_instance(g: &HeapGraph, n: NodeIx) -> bool {
    g.kind(n) == NodeKind::Object && class_constructors(g, n).any(|c| is_program_closure(g, c))
}

/// Is `n` an object whose class is the runtime's: `n --__proto__--> prototype --constructor-->`
/// a closure of the runtime's own scripts? (A closure counts when it is the runtime's.)
fn is_runtime_class_instance(g: &HeapGraph, n: NodeIx) -> bool {
    if g.kind(n) == NodeKind::Closure {
        return is_runtime_closure(g, n);
    }
    class_constructors(g, n).any(|c| is_runtime_closure(g, c))
}

/// What is reported under one object ([`reached_through`]).
#[derive(Debug, Clone, Copy, Default)]
struct Reached {
    /// Objects under it, directly or through others.
    objects: u64,
    /// The bytes they add to its retained size.
    bytes: u64,
    /// Those of them of its own class: older links of a chain.
    same_class: u64,
}

/// For each reported object, what is under it, directly or through others (`under` maps an
/// object to the one it is reported under): how many, the bytes `extra` gives them (what each
/// adds to the top one's retained size), and how many `same_class(object, top)` says are of
/// the top one's class.
fn reached_through(
    under: &FxHashMap<NodeIx, NodeIx>,
    extra: impl Fn(NodeIx) -> u64,
    same_class: impl Fn(NodeIx, NodeIx) -> bool,
) -> FxHashMap<NodeIx, Reached> {
    // The reported object at the top of each chain, with the chains shortened as they are
    // walked so that long lists cost one walk, not one per element.
    let mut top: FxHashMap<NodeIx, NodeIx> = FxHashMap::default();
    let mut reached: FxHashMap<NodeIx, Reached> = FxHashMap::default();
    let mut chain = Vec::new();
    for &start in under.keys() {
        let mut x = start;
        let t = loop {
            if let Some(&t) = top.get(&x) {
                break t;
            }
            match under.get(&x) {
                Some(&h) if chain.len() <= under.len() => {
                    chain.push(x);
                    x = h;
                }
                _ => break x,
            }
        };
        for y in chain.drain(..) {
            top.insert(y, t);
        }
        let r = reached.entry(t).or_default();
        r.objects += 1;
        r.bytes += extra(start);
        r.same_class += u64::from(same_class(start, t));
    }
    reached
}

/// Of the objects in `past` (reported under a leaked object they are not dominated by), those
/// whose retained size is not already counted: no object of `counted` (the leaked objects no
/// other leaked object dominates, `past` among them) dominates them. Memoised along dominator
/// chains, one byte a node, so deep chains cost one walk.
fn outside_counted_subtrees(
    s: &AnalyzedSnapshot,
    counted: &[NodeIx],
    past: &[NodeIx],
) -> FxHashSet<NodeIx> {
    const UNKNOWN: u8 = 0;
    const OUTSIDE: u8 = 1;
    const INSIDE: u8 = 2;
    let g = s.graph();
    let a = &s.analysis;
    let mut state = vec![UNKNOWN; g.node_count()];
    for &v in counted {
        state[v as usize] = INSIDE;
    }
    state[g.root() as usize] = OUTSIDE;
    // Is `x` or an object above it counted?
    let mut covered = |x: NodeIx| {
        let mut chain = Vec::new();
        let mut y = x;
        let answer = loop {
            match state[y as usize] {
                UNKNOWN => {
                    chain.push(y);
                    let d = a.dominator(y);
                    if d == y {
                        break OUTSIDE; // unreachable from the root: dominated by nothing
                    }
                    y = d;
                }
                known => break known,
            }
        };
        for z in chain {
            state[z as usize] = answer;
        }
        answer == INSIDE
    };
    past.iter()
        .copied()
        .filter(|&v| {
            let d = a.dominator(v);
            d == v || !covered(d)
        })
        .collect()
}

fn id_set(s: &AnalyzedSnapshot) -> FxHashSet<u32> {
    let g = s.graph();
    (0..g.node_count() as NodeIx).map(|n| g.id(n)).collect()
}

/// Node index by id.
fn id_index(s: &AnalyzedSnapshot) -> FxHashMap<u32, NodeIx> {
    let g = s.graph();
    (0..g.node_count() as NodeIx)
        .map(|n| (g.id(n), n))
        .collect()
}

/// Is the object `last` (the last step of its shortest path) leads to the latest value of a
/// slot rather than something piling up (docs/leak-rules.md, "Replaced values")? It is when
/// its holder already existed in the baseline and
/// - for a named slot (a property, a scope variable, a named internal field): the holder had
///   the same slot in the baseline, holding another object (or a primitive: then the new value
///   may retain at most [`PRIMITIVE_SLOT_LIMIT`] bytes);
/// - for an entry of a collection (an element, an index, a numbered key): the collection holds
///   no more objects now than in the baseline (a bounded cache, a ring buffer: entries
///   replaced, not added);
/// - and it retains at most twice what the old value (or the biggest old entry) retained, plus
///   256 bytes: a value that grows from one replacement to the next (`log = log.concat(line)`)
///   is still a leak.
///
/// Nothing else may retain it (the growing array a `last` slot also points into keeps it a
/// leak) but other old objects that hold it in named slots of their own, each of which held
/// another object at the baseline too (Emscripten keeps each view of a WebAssembly memory in a
/// property of `Module` and in a variable of its closure, and replaces both when the memory
/// grows; see [`held_elsewhere_in_replaced_slots`]). It is never a detached DOM node.
///
/// A value in a slot of `(Stack roots)` (a local of the code that wrote the snapshot) counts
/// when nothing but the running code holds it ([`is_running_code_slot`]).
///
/// The caller also requires that at most [`REPLACED_VALUE_PARTS`] new objects are reported
/// under it (a replaced head of a linked list, a new state object holding new items stay
/// leaks). A generation of a generational cache ([`is_cache_generation`]) is excused from the
/// size and parts limits, and so are the entries of a new one.
fn is_replaced_value(
    final_: &AnalyzedSnapshot,
    last: &PathStep,
    baseline: &AnalyzedSnapshot,
    base_index: &FxHashMap<u32, NodeIx>,
    collections: &mut FxHashMap<NodeIx, Option<u64>>,
) -> bool {
    let g = final_.graph();
    let e = last.edge.index as usize;
    let kind = g.edge_kind(e);
    if matches!(kind, EdgeKind::Weak | EdgeKind::Shortcut) {
        return false;
    }
    let holder = last.edge.from;
    let v = last.edge.to;
    if g.kind(v) == NodeKind::Native {
        // A detached DOM node kept anywhere is what the Detached view and the gate are for.
        return false;
    }
    if g.kind(holder) == NodeKind::Synthetic && g.name(holder) == STACK_ROOTS {
        // A local or temporary of the code that wrote the snapshot from inside the program
        // (`let last = await run(i)` in the loop that calls `v8.writeHeapSnapshot()`): its
        // slots are overwritten as that code runs on. No baseline slot to compare with; the
        // caller's limit on the new objects under it still keeps a growing structure a leak,
        // and anything else holding it (a growing array) keeps it one too.
        return g
            .essential_retainer_nodes(v)
            .all(|r| r == holder || is_running_code_slot(g, r));
    }
    if wasm_memory_buffer(g, holder) == Some(v) && base_index.contains_key(&g.id(holder)) {
        // The buffer a WebAssembly memory that existed at the baseline has now: growing it
        // replaces it (a shared memory's, held by a hidden index, too). The growth is listed
        // apart (`wasm_growth`), and what leaks inside the memory has no objects to count.
        return true;
    }
    let Some(&old_holder) = base_index.get(&g.id(holder)) else {
        // An entry of a new generation of a generational cache (quick-lru's entries move to the
        // new `#cache` when looked up): bounded with its cache.
        return is_entry_of(g, holder, e)
            && g.retainer_count(v) <= 2 * MAX_GENERATIONS
            && holders_but_stores(g, v).len() <= 2
            && collections
                .entry(holder)
                .or_insert_with(|| {
                    in_cache_generation(final_, baseline, base_index, holder).then_some(u64::MAX)
                })
                .is_some();
    };
    // A value something else holds too (the growing array a `last` slot also points into) is
    // not merely the slot's. No edge list is searched here: the holder may be a collection of
    // millions, and so may other retainers. A holder with several edges into `v` is listed
    // once for each: its entries are adjacent.
    let mut retainers: Vec<NodeIx> = Vec::new();
    for r in g.essential_retainer_nodes(v).filter(|&r| r != holder) {
        if retainers.last() != Some(&r) {
            retainers.push(r);
        }
        // Each other holder may come with its property store (below).
        if retainers.len() > 2 * MAX_OTHER_SLOT_HOLDERS {
            return false;
        }
    }
    let others: Vec<NodeIx> = retainers
        .iter()
        .copied()
        .filter(|&r| !is_property_store(g, r, |x| x == holder || retainers.contains(&x)))
        .collect();
    // The collection `v` is an entry of: the path's holder, or an old collection among the
    // others, when the path came through a named slot pointing into its entries (tiny-lru's
    // `last`, its newest entry).
    let path_is_entry = is_entry_of(g, holder, e);
    let collection = if path_is_entry {
        Some((holder, old_holder))
    } else {
        others.iter().find_map(|&r| {
            let old = *base_index.get(&g.id(r))?;
            let range = g.edge_range(r);
            (range.len() <= MAX_OTHER_SLOT_HOLDER_EDGES
                && range
                    .into_iter()
                    .any(|x| g.edge_target(x) == v && is_entry_of(g, r, x)))
            .then_some((r, old))
        })
    };
    // Other entries of that collection holding `v` (a list threaded through its entries, as
    // tiny-lru's): bounded with it. A chain that outgrows the collection behind them is still
    // a leak: it is more than the parts a replaced value may have under it.
    let is_fellow_entry = |r: NodeIx| {
        collection.is_some_and(|(c, _)| {
            r != c
                && g.retainer_count(r) <= MAX_OTHER_SLOT_HOLDER_EDGES
                && g.retainer_nodes(r).any(|x| x == c)
        })
    };
    let rest: Vec<NodeIx> = others
        .iter()
        .copied()
        .filter(|&r| collection.is_none_or(|(c, _)| r != c) && !is_fellow_entry(r))
        .collect();
    if rest.len() > MAX_OTHER_SLOT_HOLDERS {
        return false;
    }
    if !rest.is_empty() && !held_elsewhere_in_replaced_slots(final_, baseline, base_index, v, &rest)
    {
        return false;
    }
    let retained = final_.analysis.retained_size(v);
    let Some((collection, old_collection)) = collection else {
        // A named slot: the same slot held another object at the baseline.
        return replaced_slot_limit(final_, baseline, old_holder, e, v).is_some_and(|limit| {
            retained <= limit || is_cache_generation(final_, baseline, old_holder, last)
        });
    };
    // The named slot the path came through (`last`) was overwritten too.
    if !path_is_entry
        && replaced_slot_limit(final_, baseline, old_holder, e, v).is_none_or(|l| retained > l)
    {
        return false;
    }
    // An entry of a collection: the collection holds no more objects than at the baseline, so
    // its entries were replaced, not added. Worked out once per collection.
    let b = baseline.graph();
    let size_limit = |old: NodeIx| 2 * baseline.analysis.retained_size(old) + 256;
    let limit = *collections.entry(collection).or_insert_with(|| {
        let entries = |gr: &HeapGraph, h: NodeIx| {
            let is_entry = entry_test(gr, h);
            gr.edges(h)
                .filter(|x| is_entry(x.index as usize) && is_object_kind(gr.kind(x.to)))
                .map(|x| x.to)
                .collect::<Vec<_>>()
        };
        let before = entries(b, old_collection);
        (!before.is_empty() && entries(g, collection).len() <= before.len())
            .then(|| before.iter().map(|&o| size_limit(o)).max().unwrap_or(0))
    });
    limit.is_some_and(|limit| retained <= limit)
}

/// Is `r` a holder's own property store (a V8 array only that holder retains; V8 lists it as
/// holding each value too, beside the holder's property)? The holder is one passing
/// `is_holder`: the path's holder, or another one (Emscripten's `Module.HEAP32`, kept out of
/// the object). Node writes a store as a hidden node or an array (a dictionary's
/// `(object properties)`), Chromium as a native one (`system / PropertyArray`).
fn is_property_store(g: &HeapGraph, r: NodeIx, is_holder: impl Fn(NodeIx) -> bool) -> bool {
    (matches!(g.kind(r), NodeKind::Hidden | NodeKind::Array)
        || (g.kind(r) == NodeKind::Native && is_system_name(g.name(r))))
        && g.retainer_nodes(r).all(|x| x != r && is_holder(x))
}

/// The nodes holding `v`, their property stores ([`is_property_store`]) left out: hashlru's
/// two generations (and their dictionaries) holding an entry looked up in the old one.
fn holders_but_stores(g: &HeapGraph, v: NodeIx) -> Vec<NodeIx> {
    let mut all: Vec<NodeIx> = g.essential_retainer_nodes(v).collect();
    all.dedup();
    all.iter()
        .copied()
        .filter(|&r| !is_property_store(g, r, |x| all.contains(&x)))
        .collect()
}

/// The most generations a generational cache may keep ([`is_cache_generation`]).
const MAX_GENERATIONS: usize = 4;

/// Is the collection `last` leads to (a named slot of an old object, `old_holder` in the
/// baseline) one generation of a generational cache? quick-lru keeps two `Map`s, `#cache` and
/// `#oldCache`: when `#cache` is full it becomes `#oldCache`, the old one is dropped and a new
/// `Map` starts. So at any snapshot both may be new, with hundreds of new entries, and one may
/// be bigger than that slot's `Map` was at the baseline; what is bounded is the two together.
/// It is one when its holder has 2 to 4 named slots holding collections of its class (entries
/// directly, or in a `table` as a `Map`'s and a `Set`'s), had the same slots at the baseline
/// holding collections of that class too, and holds at most twice as many entries in them as
/// then, plus 16: a leak into one generation that the other's shrinking hides would have to
/// stay within that.
fn is_cache_generation(
    final_: &AnalyzedSnapshot,
    baseline: &AnalyzedSnapshot,
    old_holder: NodeIx,
    last: &PathStep,
) -> bool {
    // The named slots of `h` holding collections of `class`: (slot name, entries).
    fn generations(s: &AnalyzedSnapshot, h: NodeIx, class: &str) -> Option<Vec<(String, usize)>> {
        let g = s.graph();
        if g.edge_range(h).len() > MAX_OTHER_SLOT_HOLDER_EDGES {
            return None;
        }
        let is_entry = entry_test(g, h);
        let mut out: Vec<(String, usize)> = g
            .edges(h)
            .filter(|x| {
                !matches!(x.kind, EdgeKind::Weak | EdgeKind::Shortcut)
                    && !is_entry(x.index as usize)
                    && s.class_name(x.to) == class
            })
            .map(|x| (g.edge_label(x.index as usize), collection_entries(g, x.to)))
            .collect();
        out.sort();
        Some(out)
    }
    let v = last.edge.to;
    let g = final_.graph();
    if collection_entries(g, v) == 0 {
        return false;
    }
    let class = final_.class_name(v);
    let (Some(now), Some(before)) = (
        generations(final_, last.edge.from, class),
        generations(baseline, old_holder, class),
    ) else {
        return false;
    };
    let names = |x: &[(String, usize)]| x.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
    let total = |x: &[(String, usize)]| x.iter().map(|(_, n)| n).sum::<usize>();
    (2..=MAX_GENERATIONS).contains(&now.len())
        && names(&now) == names(&before)
        && total(&before) > 0
        && total(&now) <= 2 * total(&before) + 16
}

/// Is `holder` (new since the baseline) a generation of a generational cache
/// ([`is_cache_generation`]) that an old object holds in a named slot, or the `table` of such a
/// collection, itself new?
fn in_cache_generation(
    final_: &AnalyzedSnapshot,
    baseline: &AnalyzedSnapshot,
    base_index: &FxHashMap<u32, NodeIx>,
    holder: NodeIx,
) -> bool {
    let g = final_.graph();
    // The edges into `x`, if it has few holders, none of them big.
    let into = |x: NodeIx| -> Vec<EdgeRef> {
        if g.retainer_count(x) > MAX_OTHER_SLOT_HOLDERS
            || g.retainer_nodes(x)
                .any(|r| g.edge_range(r).len() > MAX_OTHER_SLOT_HOLDER_EDGES)
        {
            return Vec::new();
        }
        g.retainer_edges(x)
    };
    let tables_of = into(holder)
        .into_iter()
        .filter(|e| e.kind == EdgeKind::Internal && edge_name(g, e) == Some("table"))
        .map(|e| e.from);
    // A new generation: a collection new since the baseline (an old `Map` with a new table
    // has grown; it is not a generation).
    std::iter::once(holder).chain(tables_of).any(|c| {
        !base_index.contains_key(&g.id(c))
            && into(c).into_iter().any(|edge| {
                !matches!(edge.kind, EdgeKind::Weak | EdgeKind::Shortcut)
                    && !is_entry_of(g, edge.from, edge.index as usize)
                    && base_index.get(&g.id(edge.from)).is_some_and(|&old| {
                        is_cache_generation(final_, baseline, old, &PathStep { edge })
                    })
            })
    })
}

/// How many entries the collection `x` holds: its elements, or a `Map`'s or `Set`'s in its
/// `table` (0 for an object that is not a collection).
fn collection_entries(g: &HeapGraph, x: NodeIx) -> usize {
    let entries = |y: NodeIx| {
        let is_entry = entry_test(g, y);
        g.edges(y).filter(|e| is_entry(e.index as usize)).count()
    };
    entries(x)
        + g.edges(x)
            .filter(|e| e.kind == EdgeKind::Internal && edge_name(g, e) == Some("table"))
            .map(|e| entries(e.to))
            .sum::<usize>()
}

/// The most a value may retain in named slot `e` (into `v`) of a holder that existed at the
/// baseline as `old_holder`, if the holder had the same slot then, holding another value:
/// twice what that value retained plus 256 bytes, or [`PRIMITIVE_SLOT_LIMIT`] when it held a
/// primitive (`undefined`, `null`). `None` when the slot is new, or held `v` already.
fn replaced_slot_limit(
    final_: &AnalyzedSnapshot,
    baseline: &AnalyzedSnapshot,
    old_holder: NodeIx,
    e: usize,
    v: NodeIx,
) -> Option<u64> {
    let (g, b) = (final_.graph(), baseline.graph());
    let kind = g.edge_kind(e);
    let name = g.strings().get(g.edge_name_or_index(e));
    let old_value = b
        .edges(old_holder)
        .find(|x| x.kind == kind && b.strings().get(x.name_or_index) == name)
        .map(|x| x.to)?;
    if b.id(old_value) == g.id(v) {
        return None;
    }
    // A slot that held `undefined` or `null` (a primitive) is compared with a small object
    // instead: filling a declared slot once is not growth, filling it with a big new
    // structure still shows.
    Some(if is_object_kind(b.kind(old_value)) {
        2 * baseline.analysis.retained_size(old_value) + 256
    } else {
        PRIMITIVE_SLOT_LIMIT
    })
}

/// Do `others` (retainers of `v` besides the slot its path ends in) each hold `v` only in
/// named slots that held another value at the baseline, none retaining more than that slot's
/// limit? Bounded: the caller passes at most [`MAX_OTHER_SLOT_HOLDERS`] holders, each with at most
/// [`MAX_OTHER_SLOT_HOLDER_EDGES`] edges to look through (a big collection holding the value
/// too is a leak's shape anyway: its entries are not named slots).
fn held_elsewhere_in_replaced_slots(
    final_: &AnalyzedSnapshot,
    baseline: &AnalyzedSnapshot,
    base_index: &FxHashMap<u32, NodeIx>,
    v: NodeIx,
    others: &[NodeIx],
) -> bool {
    let g = final_.graph();
    let retained = final_.analysis.retained_size(v);
    others.iter().all(|&r| {
        let Some(&old_r) = base_index.get(&g.id(r)) else {
            return false;
        };
        let range = g.edge_range(r);
        if range.len() > MAX_OTHER_SLOT_HOLDER_EDGES {
            return false;
        }
        let mut slots = range.filter(|&e| g.edge_target(e) == v).peekable();
        slots.peek().is_some()
            && slots.all(|e| {
                !matches!(g.edge_kind(e), EdgeKind::Weak | EdgeKind::Shortcut)
                    && !is_entry_of(g, r, e)
                    && replaced_slot_limit(final_, baseline, old_r, e, v)
                        .is_some_and(|limit| retained <= limit)
            })
    })
}

/// Is `v` a fiber React removed in its last render of the fiber's parent? React keeps such
/// fibers (emptied: no props, state or DOM node left) in the parent fiber's `deletions` list
/// until it renders that parent again, so a final snapshot taken one render after the target
/// (memlab's "back" action) still finds the rows the target showed. Counted with the replaced
/// values: the parent's `deletions` slot is replaced by every render. Only when nothing else
/// holds the fiber: a removed row's fiber a listener's closure still holds is a leak.
fn is_pending_removal(g: &HeapGraph, v: NodeIx) -> bool {
    // Held by the lists, or by their element stores (which V8 lists as holders too).
    is_react_fiber(g, v)
        && held_only_by(g, v, |g, r| {
            is_deletions_list(g, r)
                || (g.kind(r) == NodeKind::Array && held_only_by(g, r, is_deletions_list))
        })
}

/// Is `list` an array held only in React fibers' `deletions` slots?
fn is_deletions_list(g: &HeapGraph, list: NodeIx) -> bool {
    g.kind(list) == NodeKind::Object
        && g.name(list) == "Array"
        && held_only_by(g, list, |g, fiber| {
            is_react_fiber(g, fiber)
                && own_edges(g, fiber).any(|e| {
                    e.to == list
                        && e.kind == EdgeKind::Property
                        && edge_name(g, &e) == Some("deletions")
                })
        })
}

/// Does `n` have strong holders (each with at most [`MAX_OTHER_SLOT_HOLDER_EDGES`] edges, so
/// a big collection is not looked through), all passing `test`?
fn held_only_by(g: &HeapGraph, n: NodeIx, test: impl Fn(&HeapGraph, NodeIx) -> bool) -> bool {
    let mut any = false;
    for r in g.retainer_nodes(n) {
        if g.edge_range(r).len() > MAX_OTHER_SLOT_HOLDER_EDGES {
            return false;
        }
        if g.edges(r).any(|e| e.to == n && e.kind != EdgeKind::Weak) {
            if !test(g, r) {
                return false;
            }
            any = true;
        }
    }
    any
}

/// Is `n` a React fiber (React 18 and 19; checked on 18.3 and 19.3)? Its fields are properties
/// whose names minifiers keep, whatever the class is called (`FiberNode`, or `Tk` in a
/// production build).
fn is_react_fiber(g: &HeapGraph, n: NodeIx) -> bool {
    g.kind(n) == NodeKind::Object
        && g.edge_range(n).len() <= MAX_OTHER_SLOT_HOLDER_EDGES
        && REACT_FIBER_FIELDS.iter().all(|f| {
            own_edges(g, n).any(|e| e.kind == EdgeKind::Property && edge_name(g, &e) == Some(f))
        })
}

/// Fields every React fiber has (`deletions` since React 18).
const REACT_FIBER_FIELDS: [&str; 5] = [
    "stateNode",
    "memoizedProps",
    "alternate",
    "return",
    "deletions",
];

/// The most other holders a replaced value may have (see
/// [`held_elsewhere_in_replaced_slots`]).
const MAX_OTHER_SLOT_HOLDERS: usize = 8;

/// The most edges such another holder may have for its slots to be looked through.
const MAX_OTHER_SLOT_HOLDER_EDGES: usize = 4096;

/// Does `r` hold values for the code that is running, like a stack slot does: the microtask
/// it runs (`system / PromiseFulfillReactionJobTask`, holding the awaited value), or the
/// generator object of an `async` function or generator (its suspended registers)?
fn is_running_code_slot(g: &HeapGraph, r: NodeIx) -> bool {
    let name = g.name(r);
    match g.kind(r) {
        NodeKind::Object | NodeKind::Hidden => {
            (name.starts_with("system / ") && name.ends_with("Task"))
                || GENERATOR_NAMES.contains(&name)
        }
        _ => false,
    }
}

/// V8's names for the objects of a running or suspended `async` function or generator.
const GENERATOR_NAMES: [&str; 2] = ["Generator", "AsyncGenerator"];

/// The most a value may retain in a named slot that held a primitive (`undefined`, `null`, a
/// number) at the baseline to count as replaced.
const PRIMITIVE_SLOT_LIMIT: u64 = 1024;

/// The most new objects a replaced value may have under it (its own parts): more is a
/// collection of new objects behind a replaced slot, like a list whose head is replaced.
const REPLACED_VALUE_PARTS: u64 = 16;

/// Is edge `e` an entry of a collection: an element, a hidden index or a numbered (or
/// unnamed) key?
fn is_entry_edge(g: &HeapGraph, e: usize) -> bool {
    g.edge_kind(e).named_by_index() || {
        let name = g.strings().get(g.edge_name_or_index(e));
        name.is_empty() || is_number_name(name)
    }
}

/// Is edge `e` (from `holder`) an entry of a collection: an entry edge ([`is_entry_edge`]),
/// or a keyed property of an object used as a map ([`is_keyed_object`])?
fn is_entry_of(g: &HeapGraph, holder: NodeIx, e: usize) -> bool {
    is_entry_edge(g, e) || (is_keyed_property(g, e) && is_keyed_object(g, holder))
}

/// [`is_entry_of`] for many edges of one `holder`: whether it is used as a map is read once.
fn entry_test(g: &HeapGraph, holder: NodeIx) -> impl Fn(usize) -> bool + '_ {
    let keyed = is_keyed_object(g, holder);
    move |e| is_entry_edge(g, e) || (keyed && is_keyed_property(g, e))
}

/// A property edge other than `__proto__`: a key, when its object is used as a map.
fn is_keyed_property(g: &HeapGraph, e: usize) -> bool {
    g.edge_kind(e) == EdgeKind::Property && g.strings().get(g.edge_name_or_index(e)) != PROTO_EDGE
}

/// Is `x` an object V8 keeps in dictionary mode, used as a map (`Object.create(null)` with a
/// key per entry: hashlru's two generations, tiny-lru's `items`)? Its `properties` store is
/// then a dictionary listing each key beside its value, so it has at least two edges for each
/// of `x`'s properties, plus its map; a fast object's store holds values only. V8 writes an
/// object's properties first, then `__proto__` and its internal edges, so only the last few
/// edges are read: the test costs the same for a map of millions. Another engine's layout
/// simply fails it.
fn is_keyed_object(g: &HeapGraph, x: NodeIx) -> bool {
    if g.kind(x) != NodeKind::Object {
        return false;
    }
    let range = g.edge_range(x);
    let mut tail = 0;
    let mut store = None;
    for e in range.clone().rev().take(8) {
        if is_keyed_property(g, e) {
            break;
        }
        tail += 1;
        if g.edge_kind(e) == EdgeKind::Internal
            && g.strings().get(g.edge_name_or_index(e)) == "properties"
        {
            store = Some(g.edge_target(e));
        }
    }
    let properties = range.len() - tail;
    store.is_some_and(|s| g.edge_range(s).len() > 2 * properties)
}

/// Is `name` a decimal index (`"3"`, a dictionary's numbered key)?
fn is_number_name(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| b.is_ascii_digit())
}

/// Kinds of node a program's value can be (not strings, numbers, code or V8's internals).
fn is_object_kind(kind: NodeKind) -> bool {
    matches!(
        kind,
        NodeKind::Object | NodeKind::Closure | NodeKind::RegExp | NodeKind::Native
    )
}

/// An edge name with indices folded, so the same path through different slots matches.
fn edge_shape(g: &HeapGraph, e: usize) -> String {
    match g.edge_kind(e) {
        EdgeKind::Element | EdgeKind::Hidden => "[]".into(),
        _ => {
            let name = g.strings().get(g.edge_name_or_index(e));
            if is_number_name(name) {
                "[]".into()
            } else {
                name.to_string()
            }
        }
    }
}

/// A leaked object the search found, with the steps of its path a reader is shown (each with
/// the number left out just before it, [`LeakPaths::shown_path`]) and its cluster key.
struct Found {
    v: NodeIx,
    steps: Vec<(usize, PathStep)>,
    key: Vec<String>,
}

/// The key objects are clustered by: each shown step's edge shape and the class it reaches
/// (the edge into the leaked object by kind only: a dictionary object holds each entry under
/// its own key, and those are still one leak), with a mark where a long path's middle was left
/// out, so that lists of different lengths under the same holders make one cluster.
fn cluster_key(s: &AnalyzedSnapshot, steps: &[(usize, PathStep)]) -> Vec<String> {
    let g = s.graph();
    let last = steps.len().saturating_sub(1);
    let mut key: Vec<String> = Vec::with_capacity(steps.len() + 1);
    for (i, (left_out, st)) in steps.iter().enumerate() {
        if *left_out > 0 {
            key.push("…".to_string());
        }
        let e = st.edge.index as usize;
        let edge = if i == last {
            g.edge_type_name(e).to_string()
        } else {
            edge_shape(g, e)
        };
        key.push(format!("{edge}:{}", s.class_name(st.edge.to)));
    }
    key
}

/// The most example ids a cluster keeps.
const EXAMPLE_IDS: usize = 20;

/// The most new objects [`chain_link`] looks through, and the longest link it reports.
const CHAIN_SEARCH: usize = 4096;
const CHAIN_STEPS: usize = 8;

/// The shortest path from `rep` through new objects (`surviving`) to another new object of its
/// class that is reported under another ([`LeakCluster::chain`]), or nothing.
fn chain_link(
    s: &AnalyzedSnapshot,
    rep: NodeIx,
    surviving: &[bool],
    under: &FxHashMap<NodeIx, NodeIx>,
) -> Vec<TraceStep> {
    let g = s.graph();
    let class = s.class_name(rep);
    // Breadth first, each node with the edge it was reached by and its depth.
    let mut seen: FxHashMap<NodeIx, (Option<EdgeRef>, usize)> = FxHashMap::default();
    seen.insert(rep, (None, 0));
    let mut queue = std::collections::VecDeque::from([rep]);
    while let Some(v) = queue.pop_front() {
        let depth = seen[&v].1;
        if depth == CHAIN_STEPS {
            continue;
        }
        for e in g.edges(v) {
            let t = e.to;
            if e.kind == EdgeKind::Weak || !surviving[t as usize] || seen.contains_key(&t) {
                continue;
            }
            seen.insert(t, (Some(e), depth + 1));
            if under.contains_key(&t) && s.class_name(t) == class {
                let mut edges = Vec::new();
                let mut x = t;
                while let Some((Some(e), _)) = seen.get(&x) {
                    edges.push(*e);
                    x = e.from;
                }
                edges.reverse();
                // A chain repeats: the object found holds another the same way. Else it is
                // only another object of the class that this one holds (a closure's context
                // keeps a state setter, an array a nested array).
                if repeats(s, t, &edges, surviving, class) {
                    let steps = edges
                        .iter()
                        .map(|&edge| PathText::of(s, 0, &PathStep { edge }));
                    return steps.collect();
                }
            }
            if seen.len() >= CHAIN_SEARCH {
                return Vec::new();
            }
            queue.push_back(t);
        }
    }
    Vec::new()
}

/// Does following `edges`' names and kinds from `t`, through new objects, reach another new
/// object of `class`?
fn repeats(
    s: &AnalyzedSnapshot,
    t: NodeIx,
    edges: &[EdgeRef],
    surviving: &[bool],
    class: &str,
) -> bool {
    let g = s.graph();
    let mut x = t;
    for step in edges {
        let next = g.edges(x).find(|e| {
            e.kind == step.kind
                && e.name_or_index == step.name_or_index
                && surviving[e.to as usize]
                && e.to != t
        });
        match next {
            Some(e) => x = e.to,
            None => return false,
        }
    }
    s.class_name(x) == class
}

/// Clusters of one class whose objects are linked to each other through new objects of that
/// class are one leak: a doubly linked ring (Node's list of timers) is reached from both
/// ends, so its first and its last new link each top part of it. Each chain's links are
/// walked once (new objects of the class only, any edge but weak ones); a cluster whose
/// representative an earlier walk reached joins that walk's cluster, which keeps its trace
/// and chain. Walks start from the clusters that hold most.
fn merge_chain_ends(
    s: &AnalyzedSnapshot,
    surviving: &[bool],
    clusters: &mut FxHashMap<Vec<String>, LeakCluster>,
) {
    let g = s.graph();
    let mut starts: Vec<(&Vec<String>, &LeakCluster)> =
        clusters.iter().filter(|(_, c)| c.chained > 0).collect();
    if starts.len() < 2 {
        return;
    }
    starts.sort_by_key(|(k, c)| (std::cmp::Reverse(c.held_size()), *k));
    // The walk (by the key of the cluster it started from) each reached link belongs to.
    let mut walk_of: FxHashMap<NodeIx, usize> = FxHashMap::default();
    let mut joins: Vec<(Vec<String>, Vec<String>)> = Vec::new();
    let mut stack = Vec::new();
    for (i, (key, c)) in starts.iter().enumerate() {
        let rep = c.nodes[0];
        if let Some(&w) = walk_of.get(&rep) {
            joins.push((starts[w].0.clone(), (*key).clone()));
            continue;
        }
        walk_of.insert(rep, i);
        stack.push(rep);
        while let Some(v) = stack.pop() {
            for e in g.edges(v) {
                let t = e.to;
                if e.kind != EdgeKind::Weak
                    && surviving[t as usize]
                    && !walk_of.contains_key(&t)
                    && s.class_name(t) == c.class
                {
                    walk_of.insert(t, i);
                    stack.push(t);
                }
            }
        }
    }
    for (into, from) in joins {
        let Some(c) = clusters.remove(&from) else {
            continue;
        };
        let Some(kept) = clusters.get_mut(&into) else {
            continue;
        };
        kept.count += c.count;
        kept.retained_size += c.retained_size;
        kept.reached_through += c.reached_through;
        kept.reached_size += c.reached_size;
        kept.chained += c.chained;
        let room = EXAMPLE_IDS.saturating_sub(kept.example_ids.len());
        kept.example_ids
            .extend(c.example_ids.into_iter().take(room));
        kept.nodes.extend(c.nodes);
    }
}

/// Groups, largest retained size first (then most objects, then by class).
fn sorted(groups: FxHashMap<Vec<String>, LeakCluster>) -> Vec<LeakCluster> {
    let mut v: Vec<LeakCluster> = groups.into_values().collect();
    v.sort_by(|x, y| {
        y.retained_size
            .cmp(&x.retained_size)
            .then(y.count.cmp(&x.count))
            .then(x.class.cmp(&y.class))
            .then(x.trace.len().cmp(&y.trace.len()))
    });
    v
}

impl LeakReport {
    /// Find what leaked between `target` and `final_`, relative to `baseline`.
    pub fn compute(
        baseline: &AnalyzedSnapshot,
        target: &AnalyzedSnapshot,
        final_: &AnalyzedSnapshot,
    ) -> Self {
        let base_ids = id_index(baseline);
        let target_ids = id_set(target);
        let g = final_.graph();
        let a = &final_.analysis;
        let n = g.node_count();
        // Surviving: allocated after the baseline, seen in the target, alive and reachable now.
        let mut surviving = vec![false; n];
        let (mut surviving_count, mut shared_tf) = (0u64, 0u64);
        for v in 0..n as NodeIx {
            let id = g.id(v);
            let in_target = target_ids.contains(&id);
            shared_tf += u64::from(in_target);
            if in_target && a.distances[v as usize] != NO_DISTANCE && !base_ids.contains_key(&id) {
                surviving[v as usize] = true;
                surviving_count += 1;
            }
        }
        let shared_bt = target_ids
            .iter()
            .filter(|id| base_ids.contains_key(id))
            .count() as u64;
        let (nb, nt) = (baseline.graph().node_count(), target.graph().node_count());
        if !ids_kept(shared_bt, nb, nt) || !ids_kept(shared_tf, nt, n) {
            return Self::default();
        }
        // Report only leaked candidates not held (dominated) by another leaked candidate: the
        // nearest such holder, if any.
        let held_by_leak = |v: NodeIx| -> Option<NodeIx> {
            let mut d = a.dominator(v);
            let mut steps = 0;
            while d != g.root() && surviving[d as usize] && steps < 1_000_000 {
                if is_leak_candidate(final_, d) {
                    return Some(d);
                }
                d = a.dominator(d);
                steps += 1;
            }
            None
        };
        // Each object reported under another: the leaked object it is under (the nearest
        // dominating one, or the first on its path), itself perhaps under another.
        let mut under: FxHashMap<NodeIx, NodeIx> = FxHashMap::default();
        // Those of them reported under an object they are not dominated by.
        let mut past_leak: Vec<NodeIx> = Vec::new();
        // The candidates no other candidate dominates (the reported objects and `past_leak`):
        // what each retains is counted once, by itself.
        let mut undominated: Vec<NodeIx> = Vec::new();
        let mut clusters: FxHashMap<Vec<String>, LeakCluster> = FxHashMap::default();
        let mut one_time: FxHashMap<Vec<String>, LeakCluster> = FxHashMap::default();
        let mut replaced: FxHashMap<Vec<String>, LeakCluster> = FxHashMap::default();
        // Replaced values wait until every object has been seen (one may turn out to hold
        // others); they are few, unlike leaks, so keeping their paths costs little.
        let mut maybe_replaced = Vec::new();
        // Per collection: the most a replaced entry may retain, or `None` if it grew.
        let mut collections = FxHashMap::default();
        // The same for the runtime's pending work, which must stay a handful per path shape.
        let mut maybe_runtime_work = Vec::new();
        let add = |groups: &mut FxHashMap<Vec<String>, LeakCluster>, found: Found| {
            let Found { v, steps, key } = found;
            let c = groups.entry(key).or_insert_with(|| {
                let trace: Vec<TraceStep> = steps
                    .iter()
                    .map(|(l, st)| PathText::of(final_, *l, st))
                    .collect();
                // Not the slots of the leaked objects' own class: in a ring (Node's timers)
                // they point back at the holder, and name nothing that holds the leak.
                let class = final_.class_name(v);
                let held_as = holder_step(&trace)
                    .map(|i| {
                        slot_names_where(final_, steps[i].1.edge.to, HELD_AS, |e| {
                            final_.class_name(e.from) != class
                        })
                    })
                    .unwrap_or_default();
                LeakCluster {
                    class: class.to_string(),
                    count: 0,
                    retained_size: 0,
                    trace,
                    reached_through: 0,
                    reached_size: 0,
                    chained: 0,
                    example_ids: Vec::new(),
                    held_as,
                    chain: Vec::new(),
                    nodes: Vec::new(),
                }
            });
            c.count += 1;
            c.retained_size += a.retained_size(v);
            if c.example_ids.len() < EXAMPLE_IDS {
                c.example_ids.push(g.id(v));
            }
            c.nodes.push(v);
        };
        let surviving_candidate = |x: NodeIx| surviving[x as usize] && is_leak_candidate(final_, x);
        let in_baseline = |x: NodeIx| base_ids.contains_key(&g.id(x));
        let runtime_closure =
            |x: NodeIx| g.kind(x) == NodeKind::Closure && is_runtime_closure(g, x);
        let program_closure = |x: NodeIx| is_program_closure(g, x);
        let mut paths = LeakPaths::new(
            final_,
            NodeTests {
                surviving_candidate: &surviving_candidate,
                in_baseline: &in_baseline,
                runtime_closure: &runtime_closure,
                program_closure: &program_closure,
            },
        );
        for v in 0..n as NodeIx {
            if !surviving_candidate(v) {
                continue;
            }
            if let Some(d) = held_by_leak(v) {
                under.insert(v, d);
                continue;
            }
            undominated.push(v);
            // The path's holders (every step but the last) and the last step.
            let Some(last) = paths.parent_edge(v).map(|edge| PathStep { edge }) else {
                continue;
            };
            let Some(holders) = paths.facts(last.edge.from) else {
                continue;
            };
            // Reached through another leaked object: it is part of that leak.
            if holders.first_candidate != NO_NODE {
                under.insert(v, holders.first_candidate);
                past_leak.push(v);
                continue;
            }
            if is_engine_path(g, &holders, &last) {
                continue;
            }
            let Some(steps) = paths.shown_path(&last.edge, &holders) else {
                continue;
            };
            let key = cluster_key(final_, &steps);
            let found = Found { v, steps, key };
            // The walk is the costly test: once, and only when a rule needs it.
            let program = std::cell::OnceCell::new();
            let reaches_program =
                || *program.get_or_init(|| reaches_program_code(final_, v, &surviving));
            if (is_one_time_path(g, &holders, &last, &base_ids, &target_ids)
                || is_embedder_interface(g, &holders, &last))
                && !reaches_program()
            {
                add(&mut one_time, found);
            } else if is_runtime_work(final_, &holders, &last, &surviving) && !reaches_program() {
                maybe_runtime_work.push(found);
            } else if is_pending_removal(g, v)
                || is_replaced_value(final_, &last, baseline, &base_ids, &mut collections)
            {
                maybe_replaced.push(found);
            } else {
                add(&mut clusters, found);
            }
        }
        let mut work_per_shape: FxHashMap<Vec<String>, usize> = FxHashMap::default();
        for f in &maybe_runtime_work {
            *work_per_shape.entry(f.key.clone()).or_default() += 1;
        }
        for f in maybe_runtime_work {
            // What it holds was checked above (it is the work's own).
            let group = if work_per_shape[&f.key] <= RUNTIME_WORK_GROUP {
                &mut one_time
            } else {
                &mut clusters
            };
            add(group, f);
        }
        let uncounted = outside_counted_subtrees(final_, &undominated, &past_leak);
        let reached = reached_through(
            &under,
            |v| {
                if uncounted.contains(&v) {
                    a.retained_size(v)
                } else {
                    0
                }
            },
            |v, top| final_.class_name(v) == final_.class_name(top),
        );
        for f in maybe_replaced {
            // Its own parts (a request's body) may hang under it; a list of new objects may not,
            // unless it is a generation of a bounded cache.
            let generation = || {
                f.steps.last().is_some_and(|(_, last)| {
                    !is_entry_of(g, last.edge.from, last.edge.index as usize)
                        && base_ids
                            .get(&g.id(last.edge.from))
                            .is_some_and(|&old| is_cache_generation(final_, baseline, old, last))
                })
            };
            let group = if reached.get(&f.v).map_or(0, |r| r.objects) > REPLACED_VALUE_PARTS
                && !generation()
            {
                &mut clusters
            } else {
                &mut replaced
            };
            add(group, f);
        }
        for c in clusters
            .values_mut()
            .chain(one_time.values_mut())
            .chain(replaced.values_mut())
        {
            for r in c.nodes.iter().filter_map(|v| reached.get(v)) {
                c.reached_through += r.objects;
                c.reached_size += r.bytes;
                c.chained += r.same_class;
            }
        }
        for c in clusters.values_mut() {
            if c.reached_through > 0 {
                c.chain = chain_link(final_, c.nodes[0], &surviving, &under);
            }
            // Objects of the class reached through the cluster's count as its own only when
            // they are a chain's older links.
            if c.chain.is_empty() {
                c.chained = 0;
            }
        }
        merge_chain_ends(final_, &surviving, &mut clusters);
        let clusters = sorted(clusters);
        let trio = Trio {
            baseline,
            target,
            final_,
            in_baseline: |id| base_ids.contains_key(&id),
            in_target: |id| target_ids.contains(&id),
        };
        let grown_holders = grown_since_baseline(
            trio,
            clusters.iter().flat_map(|c| c.nodes.iter().copied()),
            crate::analysis::trend::DEFAULT_MIN_BYTES,
        );
        Self {
            leaked_count: clusters.iter().map(|c| c.count).sum(),
            leaked_retained_size: clusters.iter().map(|c| c.retained_size).sum(),
            leaked_reached_size: clusters.iter().map(|c| c.reached_size).sum(),
            surviving_count,
            clusters,
            ids_kept: true,
            one_time_allocations: sorted(one_time),
            replaced_values: sorted(replaced),
            wasm_growth: wasm_growth(baseline, final_),
            grown_holders,
        }
    }

    /// Clusters that trip a CI gate: at least `min_count` objects and `min_bytes` held
    /// ([`LeakCluster::held_size`]).
    pub fn gate(&self, min_count: u64, min_bytes: u64) -> Vec<&LeakCluster> {
        self.clusters
            .iter()
            .filter(|c| c.objects() >= min_count && c.held_size() >= min_bytes)
            .collect()
    }
}
