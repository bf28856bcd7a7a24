//! Detached DOM: DOM nodes no longer in a document but kept alive from JS. Detached nodes come
//! from V8's `detachedness` field (2 = detached, propagated as DevTools does), or from the
//! `Detached ` name prefix of older snapshots. Other embedder objects the embedder marks (Node
//! marks some of its own `Node / …` binding objects) are told apart by their names.

use serde::Serialize;

use super::retainers::shortest_path;
use super::AnalyzedSnapshot;
use crate::model::v8_rules::is_detached;
use crate::model::{EdgeKind, FxHashMap, NodeIx};

// Re-exported where it was defined before the V8 rules had a module of their own.
pub use crate::model::v8_rules::is_dom_like;

/// One detached DOM tree: a detached node no other detached node holds, and what hangs below.
#[derive(Debug, Clone, Serialize)]
pub struct DetachedTree {
    /// Id of the tree's root node.
    pub root_id: u32,
    /// Class name of the root (e.g. `Detached <ul>`).
    pub root_class: String,
    /// Detached DOM nodes in the tree (the root included).
    pub node_count: u64,
    /// Bytes the root retains.
    pub retained_size: u64,
    /// What keeps the tree alive: the path from a GC root to the tree's member closest to the
    /// roots (where JS holds it).
    pub retainer_path: Vec<PathText>,
    /// The root (node index).
    #[serde(skip)]
    pub root: NodeIx,
}

/// One step of a retainer path, for reports.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct PathText {
    /// Edge name as DevTools prints it.
    pub edge_name: String,
    /// Edge type.
    pub edge_type: String,
    /// Class of the node reached.
    pub node_class: String,
    /// Id of the node reached.
    pub node_id: u32,
}

/// All detached DOM trees of a snapshot.
#[derive(Debug, Clone, Serialize)]
pub struct DetachedDom {
    /// Trees, largest retained size first.
    pub trees: Vec<DetachedTree>,
    /// Detached DOM nodes in all.
    pub node_count: u64,
    /// Detached native nodes that are not DOM nodes (embedder objects), left out of `trees`.
    pub other_detached_count: u64,
    /// True when the snapshot has a `detachedness` field (else the name prefix was used).
    pub from_detachedness_field: bool,
}

/// Turn a path into report steps.
pub fn path_text(s: &AnalyzedSnapshot, n: NodeIx) -> Vec<PathText> {
    let g = s.graph();
    shortest_path(g, &s.analysis, n)
        .map(|p| {
            p.steps
                .iter()
                .map(|st| {
                    let e = st.edge.index as usize;
                    PathText {
                        edge_name: g.edge_label(e),
                        edge_type: g.edge_type_name(e).to_string(),
                        node_class: s.path_label(st.edge.to).to_string(),
                        node_id: g.id(st.edge.to),
                    }
                })
                .collect()
        })
        .unwrap_or_default()
}

impl DetachedDom {
    /// Find detached DOM trees in `s`.
    pub fn compute(s: &AnalyzedSnapshot) -> Self {
        let g = s.graph();
        let det = &s.analysis.detached;
        let n = g.node_count();
        let mut dom = vec![false; n];
        let mut node_count = 0u64;
        let mut other = 0u64;
        for v in 0..n as NodeIx {
            if is_detached(g, det, v) {
                if is_dom_like(g, v) {
                    dom[v as usize] = true;
                    node_count += 1;
                } else {
                    other += 1;
                }
            }
        }
        // Trees: groups of detached DOM nodes linked by non-weak edges in either direction (DOM
        // nodes point at their parents too, so "not held by another" finds no root).
        let mut parent: Vec<u32> = (0..n as u32).collect();
        fn find(parent: &mut [u32], mut x: u32) -> u32 {
            while parent[x as usize] != x {
                parent[x as usize] = parent[parent[x as usize] as usize];
                x = parent[x as usize];
            }
            x
        }
        for v in 0..n as NodeIx {
            if !dom[v as usize] {
                continue;
            }
            for e in g.edge_range(v) {
                let w = g.edge_target(e);
                if dom[w as usize] && g.edge_kind(e) != EdgeKind::Weak {
                    let (a, b) = (find(&mut parent, v), find(&mut parent, w));
                    if a != b {
                        parent[a.max(b) as usize] = a.min(b);
                    }
                }
            }
        }
        let a = &s.analysis;
        // Per group: node count, the member retaining most (the tree's root) and the member
        // closest to the GC roots (where JS holds the tree).
        let mut groups: FxHashMap<u32, (u64, NodeIx, NodeIx)> = FxHashMap::default();
        for v in 0..n as NodeIx {
            if !dom[v as usize] {
                continue;
            }
            let r = find(&mut parent, v);
            let e = groups.entry(r).or_insert((0, v, v));
            e.0 += 1;
            if a.retained_size(v) > a.retained_size(e.1) {
                e.1 = v;
            }
            if a.distances[v as usize] < a.distances[e.2 as usize] {
                e.2 = v;
            }
        }
        let mut out: Vec<DetachedTree> = groups
            .into_values()
            .map(|(count, root, entry)| DetachedTree {
                root_id: g.id(root),
                root_class: s.class_name(root).to_string(),
                node_count: count,
                retained_size: a.retained_size(root),
                retainer_path: path_text(s, entry),
                root,
            })
            .collect();
        out.sort_by(|x, y| {
            y.retained_size
                .cmp(&x.retained_size)
                .then(y.node_count.cmp(&x.node_count))
        });
        Self {
            trees: out,
            node_count,
            other_detached_count: other,
            from_detachedness_field: g.has_detachedness(),
        }
    }
}
