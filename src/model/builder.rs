//! [`GraphBuilder`]: a [`HeapGraph`] made node by node, for hand-made graphs and the
//! allocation-profile call trees; the V8 loader fills the arrays itself.

use super::graph::{HeapGraph, NodeIx, BIG_SELF_SIZE};
use super::kinds::{EdgeKind, NodeKind};

/// Builds a [`HeapGraph`] node by node, for hand-made graphs and non-V8 formats.
///
/// Nodes and edges may come in any order (an edge may name a node added after it); each node's
/// edges keep the order they were added in. [`GraphBuilder::finish`] checks that every edge
/// joins two nodes of the graph and builds the CSR arrays and the retainers.
#[derive(Debug)]
pub struct GraphBuilder {
    g: HeapGraph,
    /// Edges in the order added: source, type (index into the type list), name, target.
    pending_edges: Vec<(NodeIx, u8, u32, NodeIx)>,
    /// The first edge whose name could not be its index (edge number, name), if any.
    bad_index_name: Option<(usize, Box<str>)>,
    /// The first node given a detachedness that the graph did not have yet, if any.
    bad_detached_node: Option<NodeIx>,
}

/// Why [`GraphBuilder::finish`] refused a graph. Edges are numbered from 0 in the order added.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GraphBuildError {
    /// An edge starts at a node the graph does not have.
    #[error(
        "edge #{edge} ({} edge {name:?}) starts at node {from}, but the graph has only {nodes} \
         nodes",
        .kind.v8_name()
    )]
    BadSource {
        /// The edge's number.
        edge: usize,
        /// Its kind.
        kind: EdgeKind,
        /// Its name (`[3]` for element and hidden edges).
        name: String,
        /// The node it starts at.
        from: NodeIx,
        /// Nodes in the graph.
        nodes: usize,
    },
    /// An edge points to a node the graph does not have.
    #[error(
        "edge #{edge} ({} edge {name:?}) from node {from} points to node {to}, but the graph has \
         only {nodes} nodes",
        .kind.v8_name()
    )]
    BadTarget {
        /// The edge's number.
        edge: usize,
        /// Its kind.
        kind: EdgeKind,
        /// Its name (`[3]` for element and hidden edges).
        name: String,
        /// The node it starts at.
        from: NodeIx,
        /// The node it points to.
        to: NodeIx,
        /// Nodes in the graph.
        nodes: usize,
    },
    /// An element or hidden edge (named by its index) whose name is not a number.
    #[error(
        "edge #{edge} from node {from} is a {} edge, named by its index, but its name {name:?} \
         is not a number",
        .kind.v8_name()
    )]
    BadIndexName {
        /// The edge's number.
        edge: usize,
        /// Its kind.
        kind: EdgeKind,
        /// The name given.
        name: String,
        /// The node it starts at.
        from: NodeIx,
    },
    /// Detachedness was set for a node the graph did not have at the time.
    #[error("detachedness set for node {node}, which had not been added")]
    BadDetachedNode {
        /// The node.
        node: NodeIx,
    },
}

impl Default for GraphBuilder {
    fn default() -> Self {
        Self::new()
    }
}

/// The builder's node types: V8's list in V8's order, then [`NodeKind::Other`].
const BUILDER_NODE_KINDS: [NodeKind; 17] = [
    NodeKind::Hidden,
    NodeKind::Array,
    NodeKind::String,
    NodeKind::Object,
    NodeKind::Code,
    NodeKind::Closure,
    NodeKind::RegExp,
    NodeKind::Number,
    NodeKind::Native,
    NodeKind::Synthetic,
    NodeKind::ConsString,
    NodeKind::SlicedString,
    NodeKind::Symbol,
    NodeKind::BigInt,
    NodeKind::ObjectShape,
    NodeKind::WasmObject,
    NodeKind::Other,
];
/// The builder's edge types: V8's list in V8's order, then [`EdgeKind::Other`].
const BUILDER_EDGE_KINDS: [EdgeKind; 8] = [
    EdgeKind::Context,
    EdgeKind::Element,
    EdgeKind::Property,
    EdgeKind::Internal,
    EdgeKind::Hidden,
    EdgeKind::Shortcut,
    EdgeKind::Weak,
    EdgeKind::Other,
];

impl GraphBuilder {
    /// A builder using V8's node and edge type lists.
    pub fn new() -> Self {
        let g = HeapGraph {
            node_type_names: BUILDER_NODE_KINDS
                .iter()
                .map(|k| k.v8_name().to_string())
                .collect(),
            node_kinds: BUILDER_NODE_KINDS.to_vec(),
            edge_type_names: BUILDER_EDGE_KINDS
                .iter()
                .map(|k| k.v8_name().to_string())
                .collect(),
            edge_kinds: BUILDER_EDGE_KINDS.to_vec(),
            ..HeapGraph::default()
        };
        Self {
            g,
            pending_edges: Vec::new(),
            bad_index_name: None,
            bad_detached_node: None,
        }
    }

    /// Add a node; returns its index. The first node added is the root.
    pub fn node(&mut self, kind: NodeKind, name: &str, id: u32, self_size: u64) -> NodeIx {
        let ix = self.g.node_type.len() as NodeIx;
        let t = BUILDER_NODE_KINDS
            .iter()
            .position(|&k| k == kind)
            .unwrap_or(0);
        self.g.node_type.push(t as u8);
        let name = self.g.strings.intern(name).unwrap_or(0);
        self.g.node_name.push(name);
        self.g.node_id.push(id);
        if self_size >= BIG_SELF_SIZE as u64 {
            self.g.big_self_sizes.insert(ix, self_size);
            self.g.node_self_size.push(BIG_SELF_SIZE);
        } else {
            self.g.node_self_size.push(self_size as u32);
        }
        ix
    }

    /// Set the node's detachedness (0 unknown, 1 attached, 2 detached). The node must have
    /// been added already ([`GraphBuilder::finish`] reports it otherwise).
    pub fn detachedness(&mut self, n: NodeIx, value: u8) {
        let len = self.g.node_type.len();
        if n as usize >= len {
            self.bad_detached_node.get_or_insert(n);
            return;
        }
        self.g.node_detachedness.resize(len, 0);
        self.g.node_detachedness[n as usize] = value;
    }

    /// Add an edge `from -kind:name-> to`. Element and hidden edges are named by their index,
    /// so `name` must then be a number (`"3"`).
    pub fn edge(&mut self, from: NodeIx, kind: EdgeKind, name: &str, to: NodeIx) {
        let t = BUILDER_EDGE_KINDS
            .iter()
            .position(|&k| k == kind)
            .unwrap_or(0);
        let name = if kind.named_by_index() {
            name.parse().unwrap_or_else(|_| {
                let edge = self.pending_edges.len();
                self.bad_index_name.get_or_insert((edge, name.into()));
                0
            })
        } else {
            self.g.strings.intern(name).unwrap_or(0)
        };
        self.pending_edges.push((from, t as u8, name, to));
    }

    /// Finish: check the edges, sort them by source (stable), build the CSR arrays and the
    /// retainers. The first edge (in the order added) that names a missing node or has a
    /// non-numeric index is the error.
    pub fn finish(mut self) -> Result<HeapGraph, GraphBuildError> {
        let n = self.g.node_type.len();
        if let Some(node) = self.bad_detached_node {
            return Err(GraphBuildError::BadDetachedNode { node });
        }
        let bad_name_at = self.bad_index_name.as_ref().map_or(usize::MAX, |b| b.0);
        let mut edge_counts = vec![0u32; n];
        for (i, &(from, t, name, to)) in self.pending_edges.iter().enumerate() {
            let kind = BUILDER_EDGE_KINDS[t as usize];
            if i == bad_name_at {
                let name = self.bad_index_name.take().unwrap_or_default().1;
                return Err(GraphBuildError::BadIndexName {
                    edge: i,
                    kind,
                    name: name.into(),
                    from,
                });
            }
            let label = || {
                if kind.named_by_index() {
                    format!("[{name}]")
                } else {
                    self.g.strings.get(name).to_string()
                }
            };
            if from as usize >= n {
                return Err(GraphBuildError::BadSource {
                    edge: i,
                    kind,
                    name: label(),
                    from,
                    nodes: n,
                });
            }
            if to as usize >= n {
                return Err(GraphBuildError::BadTarget {
                    edge: i,
                    kind,
                    name: label(),
                    from,
                    to,
                    nodes: n,
                });
            }
            edge_counts[from as usize] += 1;
        }
        if !self.g.node_detachedness.is_empty() {
            self.g.node_detachedness.resize(n, 0);
        }
        self.pending_edges.sort_by_key(|e| e.0);
        let mut first = Vec::with_capacity(n + 1);
        let mut acc = 0u32;
        first.push(0);
        for c in &edge_counts {
            acc += c;
            first.push(acc);
        }
        self.g.first_edge = first.into();
        for (_, t, name, to) in self.pending_edges {
            self.g.edge_type.push(t);
            self.g.edge_name.push(name);
            self.g.edge_to.push(to);
        }
        self.g.strings.finish();
        self.g.build_retainers();
        Ok(self.g)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn two_nodes() -> GraphBuilder {
        let mut b = GraphBuilder::new();
        let root = b.node(NodeKind::Synthetic, "", 1, 0);
        let a = b.node(NodeKind::Object, "A", 3, 10);
        b.edge(root, EdgeKind::Element, "1", a);
        b
    }

    #[test]
    fn typed_kinds_keep_v8_type_names() {
        let mut b = two_nodes();
        b.edge(1, EdgeKind::Property, "self", 1);
        let g = b.finish().unwrap();
        assert_eq!(g.kind(0), NodeKind::Synthetic);
        assert_eq!(g.type_name(1), "object");
        assert_eq!(g.edge_kind(0), EdgeKind::Element);
        assert_eq!(g.edge_type_name(1), "property");
        assert_eq!(g.edge_label(0), "[1]");
        assert_eq!(g.edge_label(1), "self");
        assert_eq!(g.retainer_nodes(1).collect::<Vec<_>>(), [0, 1]);
    }

    #[test]
    fn an_edge_to_a_missing_node_is_an_error() {
        let mut b = two_nodes();
        b.edge(1, EdgeKind::Property, "next", 7);
        let err = b.finish().unwrap_err();
        assert_eq!(
            err,
            GraphBuildError::BadTarget {
                edge: 1,
                kind: EdgeKind::Property,
                name: "next".into(),
                from: 1,
                to: 7,
                nodes: 2,
            }
        );
        assert_eq!(
            err.to_string(),
            "edge #1 (property edge \"next\") from node 1 points to node 7, but the graph has \
             only 2 nodes"
        );
    }

    #[test]
    fn an_edge_from_a_missing_node_is_an_error() {
        let mut b = two_nodes();
        b.edge(5, EdgeKind::Element, "0", 1);
        let err = b.finish().unwrap_err();
        assert!(matches!(
            err,
            GraphBuildError::BadSource { edge: 1, from: 5, nodes: 2, ref name, .. } if name == "[0]"
        ));
    }

    #[test]
    fn an_index_that_is_no_number_is_an_error() {
        let mut b = two_nodes();
        b.edge(1, EdgeKind::Hidden, "x", 0);
        assert!(matches!(
            b.finish(),
            Err(GraphBuildError::BadIndexName { edge: 1, from: 1, ref name, .. }) if name == "x"
        ));
    }

    #[test]
    fn detachedness_of_a_missing_node_is_an_error() {
        let mut b = two_nodes();
        b.detachedness(2, 2);
        assert_eq!(
            b.finish().unwrap_err(),
            GraphBuildError::BadDetachedNode { node: 2 }
        );
    }
}
