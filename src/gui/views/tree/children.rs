//! What a tree's rows show: a node's children, as a [`TreeSource`](super::TreeSource) lists
//! them, and the steps of a path to reveal.

use crate::model::{EdgeKind, EdgeRef, HeapGraph, NodeIx};

/// One child of a node: the node reached and the edge that leads there (`None` in the
/// dominator tree, where children are dominated nodes, not referenced ones).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Child {
    /// The node the row shows.
    pub node: NodeIx,
    /// The edge shown before it: from the parent in containment, to the parent in retainers.
    pub edge: Option<EdgeRef>,
}

impl Child {
    /// A child reached without an edge.
    pub fn node(node: NodeIx) -> Self {
        Self { node, edge: None }
    }

    /// True when the row's edge is weak (shown greyed).
    pub fn weak(&self) -> bool {
        self.edge.is_some_and(|e| e.kind == EdgeKind::Weak)
    }
}

/// A node's children, in display order, in the most compact form the source has.
#[derive(Debug, Clone)]
pub enum Children {
    /// An explicit list.
    List(Vec<Child>),
    /// Nodes without edges (4 bytes a child).
    Nodes(Vec<NodeIx>),
    /// The node's outgoing edges in snapshot order, read from the graph (nothing copied).
    OutEdges(NodeIx),
}

impl Default for Children {
    fn default() -> Self {
        Self::List(Vec::new())
    }
}

impl Children {
    /// Number of children.
    pub fn count(&self, g: &HeapGraph) -> usize {
        match self {
            Self::List(v) => v.len(),
            Self::Nodes(v) => v.len(),
            Self::OutEdges(n) => g.edge_range(*n).len(),
        }
    }

    /// The `i`-th child.
    pub fn get(&self, g: &HeapGraph, i: usize) -> Child {
        match self {
            Self::List(v) => v[i],
            Self::Nodes(v) => Child::node(v[i]),
            Self::OutEdges(n) => {
                let e = g.edge_range(*n).start + i;
                Child {
                    node: g.edge_target(e),
                    edge: Some(EdgeRef {
                        index: e as u32,
                        from: *n,
                        to: g.edge_target(e),
                        kind: g.edge_kind(e),
                        name_or_index: g.edge_name_or_index(e),
                    }),
                }
            }
        }
    }
}

/// A step of a path to expand: the node, and the edge index when it must match too.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PathMatch {
    /// Node of the row.
    pub node: NodeIx,
    /// Index of the row's edge, if it must match.
    pub edge: Option<u32>,
}

impl PathMatch {
    pub(super) fn matches(&self, c: &Child) -> bool {
        c.node == self.node && self.edge.is_none_or(|e| c.edge.map(|x| x.index) == Some(e))
    }
}
