//! petgraph's visit traits over [`HeapGraph`], so petgraph's algorithms run on it without a copy.
//! Outgoing neighbours follow edges; incoming ones follow retainers.

use fixedbitset::FixedBitSet;
use petgraph::visit::{
    GraphBase, IntoNeighbors, IntoNeighborsDirected, IntoNodeIdentifiers, NodeCount, NodeIndexable,
    Visitable,
};
use petgraph::Direction;

use super::graph::{HeapGraph, NodeIx, NON_ESSENTIAL};

/// Neighbour iterator: a slice of node indices, masked for retainer entries.
pub type Neighbors<'a> = std::iter::Map<std::slice::Iter<'a, u32>, fn(&u32) -> NodeIx>;

fn plain(x: &u32) -> NodeIx {
    *x
}

fn unflagged(x: &u32) -> NodeIx {
    *x & !NON_ESSENTIAL
}

impl GraphBase for HeapGraph {
    type EdgeId = u32;
    type NodeId = NodeIx;
}

impl<'a> IntoNeighbors for &'a HeapGraph {
    type Neighbors = Neighbors<'a>;
    fn neighbors(self, n: NodeIx) -> Neighbors<'a> {
        self.edge_to[self.edge_range(n)]
            .iter()
            .map(plain as fn(&u32) -> NodeIx)
    }
}

impl<'a> IntoNeighborsDirected for &'a HeapGraph {
    type NeighborsDirected = Neighbors<'a>;
    fn neighbors_directed(self, n: NodeIx, d: Direction) -> Neighbors<'a> {
        match d {
            Direction::Outgoing => self.neighbors(n),
            Direction::Incoming => {
                let r = self.first_retainer[n as usize] as usize
                    ..self.first_retainer[n as usize + 1] as usize;
                self.retainers[r]
                    .iter()
                    .map(unflagged as fn(&u32) -> NodeIx)
            }
        }
    }
}

impl IntoNodeIdentifiers for &HeapGraph {
    type NodeIdentifiers = std::ops::Range<NodeIx>;
    fn node_identifiers(self) -> Self::NodeIdentifiers {
        0..self.node_count() as NodeIx
    }
}

impl NodeCount for HeapGraph {
    fn node_count(&self) -> usize {
        HeapGraph::node_count(self)
    }
}

impl NodeIndexable for HeapGraph {
    fn node_bound(&self) -> usize {
        HeapGraph::node_count(self)
    }
    fn to_index(&self, n: NodeIx) -> usize {
        n as usize
    }
    fn from_index(&self, i: usize) -> NodeIx {
        i as NodeIx
    }
}

impl Visitable for HeapGraph {
    type Map = FixedBitSet;
    fn visit_map(&self) -> FixedBitSet {
        FixedBitSet::with_capacity(HeapGraph::node_count(self))
    }
    fn reset_map(&self, map: &mut FixedBitSet) {
        map.clear();
        map.grow(HeapGraph::node_count(self));
    }
}

#[cfg(test)]
mod tests {
    use crate::model::{EdgeKind, GraphBuilder, NodeKind};
    use petgraph::visit::{Bfs, IntoNeighborsDirected};
    use petgraph::Direction;

    #[test]
    fn petgraph_bfs_and_incoming() {
        let mut b = GraphBuilder::new();
        let r = b.node(NodeKind::Synthetic, "", 1, 0);
        let a = b.node(NodeKind::Object, "A", 3, 10);
        let c = b.node(NodeKind::Object, "C", 5, 10);
        b.edge(r, EdgeKind::Element, "1", a);
        b.edge(a, EdgeKind::Weak, "w", c);
        let g = b.finish().unwrap();
        let mut bfs = Bfs::new(&g, r);
        let mut seen = vec![];
        while let Some(n) = bfs.next(&g) {
            seen.push(n);
        }
        assert_eq!(seen, vec![r, a, c]);
        let inc: Vec<_> = (&g).neighbors_directed(c, Direction::Incoming).collect();
        assert_eq!(inc, vec![a]);
    }
}
