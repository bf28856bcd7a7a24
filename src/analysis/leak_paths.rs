//! The shortest retainer paths the leak search looks at, summarised once per node on them.
//!
//! The leak rules ask the same few questions of every leaked object's path: is a leaked object
//! on it, does it go through compiled code, is every holder the runtime's? Answered by walking
//! each path, a leak under a linked list a million links deep cost a million steps per object,
//! and keeping each path cost as much memory: a trio whose 300,000 new links sit under that many
//! newer ones ran out of 24 GB. Here the path to a node is its parent's plus one edge (the
//! distance search's parent edges), so each answer is worked out from the parent's, once per
//! node, and an object's path is only ever materialised as the steps a reader is shown (the
//! first [`SHOWN_HEAD`] and the last [`SHOWN_TAIL`]).
//!
//! Memory: one map entry (24 bytes, 25–50 with the hash table's slack) per node that holds a
//! reported object or lies on the path to one; nothing per leaked object. The 300,000-link
//! trio above peaks at 151 MB in all.

use super::retainers::{facts_along, one_step_deeper, parent_edge, shown_steps_to, PathStep};
#[cfg(doc)]
use super::retainers::{RetainerPath, SHOWN_HEAD, SHOWN_TAIL};
use super::AnalyzedSnapshot;
use crate::model::v8_rules::{CONTEXT, ENGINE_CACHE_EDGES, ENGINE_CACHE_NODES};
use crate::model::{EdgeRef, FxHashMap, HeapGraph, NodeIx, NodeKind};

/// What the leak rules need to know about the path from the root to a node, the node included
/// as a holder (a step before the last one of a longer path).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PathFacts {
    /// Steps from the root.
    pub depth: u32,
    /// The first node on the path (nearest the root) that is a surviving leak candidate, or
    /// [`NO_NODE`].
    pub first_candidate: NodeIx,
    /// The node [`SHOWN_HEAD`] steps from the root (the node itself when nearer).
    head: NodeIx,
    /// A holder on the path is compiled code or an engine cache, or an edge on it is an engine
    /// cache's.
    pub through_engine: bool,
    /// A closure of the program's own scripts is on the path.
    pub program_closure: bool,
    /// Every node on the path existed in the baseline and only the runtime's code holds them
    /// (see [`RuntimeHolders`]).
    pub runtime: RuntimeHolders,
}

/// No node.
pub const NO_NODE: NodeIx = NodeIx::MAX;

/// Rules 1 and 2 of the one-time allocation rule (docs/leak-rules.md) over a path's holders,
/// step by step: every holder existed in the baseline, every closure is the runtime's, every
/// closure scope is entered from a runtime closure or scope, and a runtime closure was seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RuntimeHolders {
    /// A holder broke a rule.
    broken: bool,
    /// A runtime closure is on the path.
    runtime_code: bool,
    /// The last node is a runtime closure or a scope entered from one.
    in_runtime_scope: bool,
}

impl RuntimeHolders {
    /// Do the holders so far keep an object for the runtime alone?
    pub fn holds_for_runtime(self) -> bool {
        !self.broken && self.runtime_code
    }

    /// The state after holder `n`.
    fn then(self, g: &HeapGraph, n: NodeIx, in_baseline: bool, runtime_closure: bool) -> Self {
        if self.broken || !in_baseline {
            return Self {
                broken: true,
                ..self
            };
        }
        if g.kind(n) == NodeKind::Closure {
            Self {
                broken: !runtime_closure,
                runtime_code: true,
                in_runtime_scope: true,
            }
        } else if g.name(n) == CONTEXT {
            Self {
                broken: !self.in_runtime_scope,
                ..self
            }
        } else {
            Self {
                in_runtime_scope: false,
                ..self
            }
        }
    }
}

/// Is edge `e` one of an engine cache's (`feedback_cell`, …)?
pub fn is_engine_cache_edge(g: &HeapGraph, e: &EdgeRef) -> bool {
    !e.kind.named_by_index() && ENGINE_CACHE_EDGES.contains(&g.strings().get(e.name_or_index))
}

/// The facts of the paths through the nodes asked about, worked out on demand from the root
/// down and kept (a node's facts serve every node below it).
pub struct LeakPaths<'a> {
    s: &'a AnalyzedSnapshot,
    parents: &'a [u32],
    facts: FxHashMap<NodeIx, PathFacts>,
    /// Node tests the caller owns: (surviving leak candidate, in the baseline, runtime closure,
    /// program closure).
    tests: NodeTests<'a>,
}

/// The node tests [`LeakPaths`] needs from the leak search.
pub struct NodeTests<'a> {
    /// Is the node a leak candidate that survived (new since the baseline, in the target)?
    pub surviving_candidate: &'a dyn Fn(NodeIx) -> bool,
    /// Did the node exist in the baseline?
    pub in_baseline: &'a dyn Fn(NodeIx) -> bool,
    /// Is the node a closure of the runtime's own scripts?
    pub runtime_closure: &'a dyn Fn(NodeIx) -> bool,
    /// Is the node a closure of the program's own scripts?
    pub program_closure: &'a dyn Fn(NodeIx) -> bool,
}

impl<'a> LeakPaths<'a> {
    /// Paths of `s`, with the leak search's node tests.
    pub fn new(s: &'a AnalyzedSnapshot, tests: NodeTests<'a>) -> Self {
        Self {
            s,
            parents: s.analysis.parent_edges(s.graph()),
            facts: FxHashMap::default(),
            tests,
        }
    }

    /// The edge into `n` on its shortest path, if it is reachable and not the root.
    pub fn parent_edge(&self, n: NodeIx) -> Option<EdgeRef> {
        parent_edge(self.s.graph(), self.parents, n)
    }

    /// The facts of the path to `n` (the root's: nothing on it), or `None` when `n` is
    /// unreachable.
    pub fn facts(&mut self, n: NodeIx) -> Option<PathFacts> {
        let Self {
            s,
            parents,
            facts,
            tests,
        } = self;
        let root = root_facts(s.graph());
        facts_along(s.graph(), parents, facts, n, root, |p, e| {
            step(s, tests, p, e)
        })
    }

    /// The steps of the shortest path to `last.to` that a reader is shown (all of them, or the
    /// first [`SHOWN_HEAD`] and the last [`SHOWN_TAIL`]), each with the number of steps left out
    /// just before it, as [`RetainerPath::shown`] gives them; `holders` are the facts of the path to `last.from`. The node itself is not
    /// remembered: millions of leaked objects in one array cost nothing here.
    pub fn shown_path(
        &self,
        last: &EdgeRef,
        holders: &PathFacts,
    ) -> Option<Vec<(usize, PathStep)>> {
        let depth = holders.depth as usize + 1;
        shown_steps_to(self.s.graph(), self.parents, last.to, depth, holders.head)
    }
}

/// The root's path facts: nothing on it.
fn root_facts(g: &HeapGraph) -> PathFacts {
    PathFacts {
        depth: 0,
        first_candidate: NO_NODE,
        head: g.root(),
        through_engine: false,
        program_closure: false,
        runtime: RuntimeHolders::default(),
    }
}

/// The facts after one more step, along edge `e`, from a path with facts `p`.
fn step(s: &AnalyzedSnapshot, t: &NodeTests, p: PathFacts, e: &EdgeRef) -> PathFacts {
    let g = s.graph();
    let n = e.to;
    let (depth, head) = one_step_deeper(p.depth, p.head, n);
    PathFacts {
        depth,
        first_candidate: if p.first_candidate == NO_NODE && (t.surviving_candidate)(n) {
            n
        } else {
            p.first_candidate
        },
        head,
        through_engine: p.through_engine
            || is_engine_cache_edge(g, e)
            || g.kind(n) == NodeKind::Code
            || ENGINE_CACHE_NODES.contains(&g.name(n)),
        program_closure: p.program_closure || (t.program_closure)(n),
        runtime: p
            .runtime
            .then(g, n, (t.in_baseline)(n), (t.runtime_closure)(n)),
    }
}
