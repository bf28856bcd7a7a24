//! Three-snapshot leak detection (baseline, target, final), after memlab: objects allocated after
//! the baseline that exist in the target and are still alive in the final snapshot. Noise (V8
//! internals, code, strings, shapes) is left out, objects held by another leaked object are
//! reported under it, and the rest are clustered by the retainer path that keeps them alive,
//! so 2,000 copies of one leak are one cluster with a count.
//!
//! Objects the runtime makes once, lazily, on first use (Node's builtin module exports, the
//! stdio streams, console internals) survive too but are not leaks: they are listed apart as
//! one-time allocations and never counted (the rule and why it holds: `docs/leak-rules.md`).

use serde::Serialize;

use super::distances::NO_DISTANCE;
use super::retainers::{shortest_path, RetainerPath};
use super::AnalyzedSnapshot;
use crate::model::v8_rules::{
    is_detached, is_dom_like, is_runtime_closure, is_system_name, CONTEXT, ENGINE_CACHE_EDGES,
    ENGINE_CACHE_NODES,
};
use crate::model::{EdgeKind, FxHashMap, FxHashSet, HeapGraph, NodeIx, NodeKind};

/// One step of a leak trace: the edge taken and the node it reaches.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct TraceStep {
    /// Class of the node reached.
    pub node_class: String,
    /// Id of the node reached (of the cluster's representative object).
    pub node_id: u32,
    /// The edge's name as DevTools prints it.
    pub edge_name: String,
    /// The edge's type.
    pub edge_type: String,
}

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
    /// Ids of up to 20 leaked objects in the cluster.
    pub example_ids: Vec<u32>,
    /// All leaked objects of the cluster (final snapshot's node indices).
    #[serde(skip)]
    pub nodes: Vec<NodeIx>,
}

/// The result of a leak search.
#[derive(Debug, Clone, Serialize)]
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
    /// Objects the runtime made once, lazily, on first use, grouped like clusters (largest
    /// retained size first). Not leaks: never in `clusters`, the counts above or the gate.
    pub one_time_allocations: Vec<LeakCluster>,
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
/// kept only that way are not user leaks.
fn is_engine_path(g: &HeapGraph, p: &RetainerPath) -> bool {
    let last = p.steps.len().saturating_sub(1);
    p.steps.iter().enumerate().any(|(i, st)| {
        let e = st.edge.index as usize;
        let to = st.edge.to;
        (i < last && (g.kind(to) == NodeKind::Code || ENGINE_CACHE_NODES.contains(&g.name(to))))
            || (!g.edge_kind(e).named_by_index()
                && ENGINE_CACHE_EDGES.contains(&g.strings().get(g.edge_name_or_index(e))))
    })
}

/// Is the object `path` ends at a one-time allocation of the runtime (docs/leak-rules.md)? It
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
    p: &RetainerPath,
    base_ids: &FxHashSet<u32>,
    target_ids: &FxHashSet<u32>,
) -> bool {
    let Some((last, holders)) = p.steps.split_last() else {
        return false;
    };
    let mut runtime_code = false;
    let mut prev_runtime_scope = false; // the previous node is a runtime closure or scope
    for st in holders {
        let n = st.edge.to;
        if !base_ids.contains(&g.id(n)) {
            return false;
        }
        let is_scope = g.name(n) == CONTEXT;
        if g.kind(n) == NodeKind::Closure {
            if !is_runtime_closure(g, n) {
                return false;
            }
            runtime_code = true;
            prev_runtime_scope = true;
        } else if is_scope {
            if !prev_runtime_scope {
                return false;
            }
        } else {
            prev_runtime_scope = false;
        }
    }
    let e = last.edge.index as usize;
    if !runtime_code || g.edge_kind(e).named_by_index() || g.edge_kind(e) == EdgeKind::Weak {
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
            && matches!(
                g.kind(x.to),
                NodeKind::Object | NodeKind::Closure | NodeKind::RegExp | NodeKind::Native
            )
            && !target_ids.contains(&g.id(x.to))
            && !base_ids.contains(&g.id(x.to))
    })
}

fn id_set(s: &AnalyzedSnapshot) -> FxHashSet<u32> {
    let g = s.graph();
    (0..g.node_count() as NodeIx).map(|n| g.id(n)).collect()
}

/// An edge name with indices folded, so the same path through different slots matches.
fn edge_shape(g: &HeapGraph, e: usize) -> String {
    match g.edge_kind(e) {
        EdgeKind::Element | EdgeKind::Hidden => "[]".into(),
        _ => {
            let name = g.strings().get(g.edge_name_or_index(e));
            if !name.is_empty() && name.bytes().all(|b| b.is_ascii_digit()) {
                "[]".into()
            } else {
                name.to_string()
            }
        }
    }
}

fn trace_steps(s: &AnalyzedSnapshot, p: &RetainerPath) -> Vec<TraceStep> {
    let g = s.graph();
    p.steps
        .iter()
        .map(|st| {
            let e = st.edge.index as usize;
            TraceStep {
                node_class: s.path_label(st.edge.to).to_string(),
                node_id: g.id(st.edge.to),
                edge_name: g.edge_label(e),
                edge_type: g.edge_type_name(e).to_string(),
            }
        })
        .collect()
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
        let base_ids = id_set(baseline);
        let target_ids = id_set(target);
        let g = final_.graph();
        let a = &final_.analysis;
        let n = g.node_count();
        // Surviving: allocated after the baseline, seen in the target, alive and reachable now.
        let mut surviving = vec![false; n];
        let mut surviving_count = 0u64;
        for v in 0..n as NodeIx {
            let id = g.id(v);
            if a.distances[v as usize] != NO_DISTANCE
                && target_ids.contains(&id)
                && !base_ids.contains(&id)
            {
                surviving[v as usize] = true;
                surviving_count += 1;
            }
        }
        // Report only leaked candidates not held (dominated) by another leaked candidate.
        let held_by_leak = |v: NodeIx| -> bool {
            let mut d = a.dominator(v);
            let mut steps = 0;
            while d != g.root() && surviving[d as usize] && steps < 1_000_000 {
                if is_leak_candidate(final_, d) {
                    return true;
                }
                d = a.dominator(d);
                steps += 1;
            }
            false
        };
        let mut clusters: FxHashMap<Vec<String>, LeakCluster> = FxHashMap::default();
        let mut one_time: FxHashMap<Vec<String>, LeakCluster> = FxHashMap::default();
        for v in 0..n as NodeIx {
            if !surviving[v as usize] || !is_leak_candidate(final_, v) || held_by_leak(v) {
                continue;
            }
            let Some(path) = shortest_path(g, a, v) else {
                continue;
            };
            // Reached through another leaked object: it is part of that leak.
            let through_leak = path.steps[..path.steps.len().saturating_sub(1)]
                .iter()
                .any(|st| surviving[st.edge.to as usize] && is_leak_candidate(final_, st.edge.to));
            if through_leak || is_engine_path(g, &path) {
                continue;
            }
            let last = path.steps.len().saturating_sub(1);
            // The edge into the leaked object is keyed by kind only: a dictionary object holds
            // each entry under its own key, and those are still one leak.
            let mut key: Vec<String> = path
                .steps
                .iter()
                .enumerate()
                .map(|(i, st)| {
                    let e = st.edge.index as usize;
                    let edge = if i == last {
                        g.edge_type_name(e).to_string()
                    } else {
                        edge_shape(g, e)
                    };
                    format!("{edge}:{}", final_.class_name(st.edge.to))
                })
                .collect();
            key.shrink_to_fit();
            let group = if is_one_time_path(g, &path, &base_ids, &target_ids) {
                &mut one_time
            } else {
                &mut clusters
            };
            let c = group.entry(key).or_insert_with(|| LeakCluster {
                class: final_.class_name(v).to_string(),
                count: 0,
                retained_size: 0,
                trace: trace_steps(final_, &path),
                example_ids: Vec::new(),
                nodes: Vec::new(),
            });
            c.count += 1;
            c.retained_size += a.retained_size(v);
            if c.example_ids.len() < 20 {
                c.example_ids.push(g.id(v));
            }
            c.nodes.push(v);
        }
        let clusters = sorted(clusters);
        Self {
            leaked_count: clusters.iter().map(|c| c.count).sum(),
            leaked_retained_size: clusters.iter().map(|c| c.retained_size).sum(),
            surviving_count,
            clusters,
            one_time_allocations: sorted(one_time),
        }
    }

    /// Clusters that trip a CI gate: at least `min_count` objects and `min_bytes` retained.
    pub fn gate(&self, min_count: u64, min_bytes: u64) -> Vec<&LeakCluster> {
        self.clusters
            .iter()
            .filter(|c| c.count >= min_count && c.retained_size >= min_bytes)
            .collect()
    }
}
