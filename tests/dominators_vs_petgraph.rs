//! heapsight's dominator tree against petgraph's `simple_fast` (Cooper–Harvey–Kennedy), a
//! different algorithm: on random graphs, deep chains, big cycles, and on the real samples with
//! DevTools' retention rules re-implemented here from docs/devtools-rules.md §2.

mod common;

use std::collections::hash_map::RandomState;
use std::collections::VecDeque;

use common::{analyze_file, sample, Rng};
use heapsight::analysis::{AnalyzedSnapshot, DominatorTree, RetentionRules, RuleSet};
use heapsight::model::{EdgeKind, GraphBuilder, HeapGraph, NodeIx, NodeKind};
use petgraph::algo::dominators::simple_fast;
use petgraph::graphmap::DiGraphMap;

/// Dominators with the plain rules (every property/element edge retains).
fn plain_tree(g: &HeapGraph) -> DominatorTree {
    DominatorTree::compute(
        g,
        &RetentionRules::plain(g),
        |v| g.self_size(v),
        Default::default(),
    )
    .unwrap()
}

/// Retained sizes from an idom array: each node's size added to itself and every dominator.
/// Processes nodes deepest first, so it needs no recursion.
fn retained_from_idoms(idom: &[NodeIx], root: NodeIx, size: impl Fn(NodeIx) -> u64) -> Vec<u64> {
    let n = idom.len();
    let mut depth = vec![u32::MAX; n];
    depth[root as usize] = 0;
    for v in 0..n {
        let mut path = Vec::new();
        let mut x = v;
        while depth[x] == u32::MAX {
            path.push(x);
            x = idom[x] as usize;
        }
        while let Some(p) = path.pop() {
            depth[p] = depth[idom[p] as usize] + 1;
        }
    }
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by_key(|&v| std::cmp::Reverse(depth[v]));
    let mut retained: Vec<u64> = (0..n as NodeIx).map(size).collect();
    for v in order {
        if v != root as usize {
            retained[idom[v] as usize] += retained[v];
        }
    }
    retained
}

/// The expected dominator tree by DevTools' construction (§2.3): nodes the root can't reach
/// that have no retaining edge from another node are attached to the root by a virtual edge
/// ("orphans"); immediate dominators come from petgraph on that graph; whatever is still
/// unreached ("leftovers") hangs directly off the root.
fn expected_idoms(
    n: usize,
    root: NodeIx,
    retaining_edges: &[(NodeIx, NodeIx)],
    is_orphan_candidate: impl Fn(NodeIx) -> bool,
) -> Vec<NodeIx> {
    let mut out_edges: Vec<Vec<NodeIx>> = vec![Vec::new(); n];
    for &(a, b) in retaining_edges {
        out_edges[a as usize].push(b);
    }
    let mut reached = vec![false; n];
    reached[root as usize] = true;
    let mut queue = VecDeque::from([root]);
    while let Some(v) = queue.pop_front() {
        for &t in &out_edges[v as usize] {
            if !reached[t as usize] {
                reached[t as usize] = true;
                queue.push_back(t);
            }
        }
    }
    let orphans: Vec<NodeIx> = (0..n as NodeIx)
        .filter(|&v| !reached[v as usize] && is_orphan_candidate(v))
        .collect();
    let mut pg: DiGraphMap<NodeIx, (), RandomState> =
        DiGraphMap::with_capacity(n, retaining_edges.len());
    for v in 0..n as NodeIx {
        pg.add_node(v);
    }
    for &(a, b) in retaining_edges {
        pg.add_edge(a, b, ());
    }
    for &o in &orphans {
        pg.add_edge(root, o, ());
    }
    let doms = simple_fast(&pg, root);
    (0..n as NodeIx)
        .map(|v| {
            if v == root {
                root
            } else {
                // Unreachable even with the orphans attached: a leftover, under the root.
                doms.immediate_dominator(v).unwrap_or(root)
            }
        })
        .collect()
}

/// A random graph of `n` nodes: node 0 is the synthetic root, the rest objects with random
/// sizes; edges are property/element edges (self edges and duplicates allowed). With
/// `spanning`, every node gets an edge from an earlier node first, so the root reaches all.
fn random_graph(rng: &mut Rng, n: usize, extra_edges: usize, spanning: bool) -> HeapGraph {
    let mut adj: Vec<Vec<usize>> = vec![Vec::new(); n];
    if spanning {
        for v in 1..n {
            let from = rng.below(v as u64) as usize;
            adj[from].push(v);
        }
    }
    for _ in 0..extra_edges {
        let from = rng.below(n as u64) as usize;
        let to = rng.below(n as u64) as usize;
        adj[from].push(to);
    }
    // Shuffle each node's edge order: the DFS takes edges in order.
    for list in &mut adj {
        for i in (1..list.len()).rev() {
            let j = rng.below(i as u64 + 1) as usize;
            list.swap(i, j);
        }
    }
    let mut b = GraphBuilder::new();
    b.node(NodeKind::Synthetic, "", 1, 0);
    for v in 1..n {
        b.node(NodeKind::Object, "N", 2 * v as u32 + 1, rng.below(100));
    }
    for (from, list) in adj.iter().enumerate() {
        for (i, &to) in list.iter().enumerate() {
            if i % 2 == 0 {
                b.edge(
                    from as NodeIx,
                    EdgeKind::Element,
                    &i.to_string(),
                    to as NodeIx,
                );
            } else {
                b.edge(from as NodeIx, EdgeKind::Property, "p", to as NodeIx);
            }
        }
    }
    b.finish().unwrap()
}

fn all_edges(g: &HeapGraph) -> Vec<(NodeIx, NodeIx)> {
    (0..g.node_count() as NodeIx)
        .flat_map(|v| g.edges(v).map(move |e| (v, e.to)))
        .collect()
}

/// Compare idoms and retained sizes of `g` (plain rules) with the petgraph-based expectation.
fn check_plain(g: &HeapGraph, what: &str) {
    let tree = plain_tree(g);
    let root = g.root();
    let edges = all_edges(g);
    // Plain rules: a node is an orphan when no other node points to it.
    let expected = expected_idoms(g.node_count(), root, &edges, |v| {
        g.retainer_nodes(v).all(|r| r == v)
    });
    for (v, (got, want)) in tree.idom.iter().zip(&expected).enumerate() {
        assert_eq!(got, want, "{what}: idom of node {v}");
    }
    assert_eq!(tree.idom.len(), expected.len());
    let retained = retained_from_idoms(&expected, root, |v| g.self_size(v));
    assert_eq!(tree.retained, retained, "{what}: retained sizes");
}

#[test]
fn random_graphs_where_the_root_reaches_everything() {
    let mut rng = Rng::new(1);
    for case in 0..150 {
        let n = 2 + rng.below(60) as usize;
        let extra = rng.below(3 * n as u64) as usize;
        let g = random_graph(&mut rng, n, extra, true);
        // Straight through petgraph's traits implemented on &HeapGraph.
        let doms = simple_fast(&g, g.root());
        let tree = plain_tree(&g);
        for v in 0..n as NodeIx {
            let want = doms.immediate_dominator(v).unwrap_or(g.root());
            assert_eq!(tree.idom[v as usize], want, "case {case}: idom of node {v}");
        }
        check_plain(&g, &format!("case {case}"));
    }
}

#[test]
fn random_graphs_with_unreachable_parts() {
    let mut rng = Rng::new(2);
    for case in 0..150 {
        let n = 2 + rng.below(80) as usize;
        // Sparse to dense: from mostly unreachable to mostly reachable.
        let extra = rng.below(3 * n as u64) as usize;
        let g = random_graph(&mut rng, n, extra, false);
        check_plain(&g, &format!("case {case}"));
    }
}

#[test]
fn a_few_bigger_random_graphs() {
    let mut rng = Rng::new(3);
    for case in 0..4 {
        let n = 5_000;
        let g = random_graph(&mut rng, n, n * (1 + case), case % 2 == 0);
        check_plain(&g, &format!("big case {case}"));
    }
}

/// Random graphs where a third of the nodes are leaves held by a single edge of any kind
/// (the search leaves such "lone leaves" out and gives them their idom afterwards), with weak
/// edges and shortcuts among the rest, and parts the root does not reach: a leaf's one
/// retainer may be reached, an orphan's subgraph, a leftover, or hold it by an edge that does
/// not count.
#[test]
fn random_graphs_with_lone_leaves_and_edges_that_do_not_retain() {
    let mut rng = Rng::new(4);
    for case in 0..200 {
        let inner = 2 + rng.below(50) as usize;
        check_lone_leaves_case(&mut rng, inner, case);
    }
}

/// The same on graphs of a few hundred thousand nodes: the semidominator pass gets its
/// retainers in chunks of many thousand vertices, so these cross chunks' ends.
#[test]
fn bigger_random_graphs_with_lone_leaves_and_edges_that_do_not_retain() {
    let mut rng = Rng::new(14);
    for case in 0..2 {
        let inner = 150_000 + rng.below(50_000) as usize;
        check_lone_leaves_case(&mut rng, inner, case);
    }
}

/// One random graph of `inner` nodes with edges among them and about half as many lone
/// leaves, checked against petgraph.
fn check_lone_leaves_case(rng: &mut Rng, inner: usize, case: usize) {
    let kinds = [
        EdgeKind::Property,
        EdgeKind::Element,
        EdgeKind::Weak,
        EdgeKind::Shortcut,
    ];
    let n = inner + inner / 2 + rng.below(4) as usize;
    let mut b = GraphBuilder::new();
    b.node(NodeKind::Synthetic, "", 1, 0);
    for v in 1..n {
        b.node(NodeKind::Object, "N", 2 * v as u32 + 1, rng.below(100));
    }
    let mut edges = Vec::new();
    for _ in 0..rng.below(3 * inner as u64) {
        let from = rng.below(inner as u64) as NodeIx;
        let to = rng.below(inner as u64) as NodeIx;
        edges.push((from, kinds[rng.below(4) as usize], to));
    }
    // The leaves: nodes `inner..n`, each with one retainer among the others (the root
    // too), by an edge of any kind.
    for leaf in inner..n {
        let from = rng.below(inner as u64) as NodeIx;
        edges.push((from, kinds[rng.below(4) as usize], leaf as NodeIx));
    }
    for (i, &(from, kind, to)) in edges.iter().enumerate() {
        b.edge(from, kind, &i.to_string(), to);
    }
    let g = b.finish().unwrap();
    let root = g.root();
    let retaining: Vec<(NodeIx, NodeIx)> = edges
        .iter()
        .filter(|&&(from, kind, _)| match kind {
            EdgeKind::Weak => false,
            EdgeKind::Shortcut => from == root,
            _ => true,
        })
        .map(|&(from, _, to)| (from, to))
        .collect();
    let mut held = vec![false; n];
    for &(from, to) in &retaining {
        held[to as usize] |= from != to;
    }
    let expected = expected_idoms(n, root, &retaining, |v| !held[v as usize]);
    let tree = plain_tree(&g);
    for (v, (got, want)) in tree.idom.iter().zip(&expected).enumerate() {
        assert_eq!(got, want, "case {case}: idom of node {v}");
    }
    let retained = retained_from_idoms(&expected, root, |v| g.self_size(v));
    assert_eq!(tree.retained, retained, "case {case}: retained sizes");
}

#[test]
fn deep_chain_does_not_overflow_the_stack() {
    // root → 1 → 2 → … → 199 999, each 3 bytes, plus a back edge from the end to the root.
    let n = 200_000u32;
    let mut b = GraphBuilder::new();
    b.node(NodeKind::Synthetic, "", 1, 0);
    for v in 1..n {
        b.node(NodeKind::Object, "Link", 2 * v + 1, 3);
    }
    for v in 0..n - 1 {
        b.edge(v, EdgeKind::Property, "next", v + 1);
    }
    b.edge(n - 1, EdgeKind::Property, "back", 0);
    let g = b.finish().unwrap();
    let tree = plain_tree(&g);
    for v in 1..n {
        assert_eq!(tree.idom[v as usize], v - 1);
        // Node v dominates v..n-1: (n - v) nodes of 3 bytes.
        assert_eq!(tree.retained[v as usize], 3 * (n - v) as u64);
    }
    assert_eq!(tree.chain(n - 1).len(), n as usize - 1);
    check_plain(&g, "chain");
}

#[test]
fn deep_ladder_and_unreachable_chain() {
    // A chain with skip edges v → v+2: the DFS still goes 100 000 deep, but the odd and the even
    // nodes form two disjoint paths, so every node's idom is the root. Then an unreachable chain
    // whose head has no retainer: an orphan whose subtree is a 100 000-deep dominator chain.
    let n = 100_000u32;
    let mut b = GraphBuilder::new();
    b.node(NodeKind::Synthetic, "", 1, 0);
    for v in 1..2 * n {
        b.node(NodeKind::Object, "X", 2 * v + 1, 1);
    }
    for v in 0..n - 1 {
        b.edge(v, EdgeKind::Property, "next", v + 1);
        if v + 2 < n {
            b.edge(v, EdgeKind::Property, "skip", v + 2);
        }
    }
    for v in n..2 * n - 1 {
        b.edge(v, EdgeKind::Property, "next", v + 1);
    }
    let g = b.finish().unwrap();
    let tree = plain_tree(&g);
    assert!((1..n as usize).all(|v| tree.idom[v] == 0));
    // The orphan chain: its head under the root, then link by link.
    assert_eq!(tree.idom[n as usize], 0);
    assert_eq!(tree.idom[n as usize + 7], n + 6);
    assert_eq!(tree.retained[n as usize], n as u64);
    check_plain(&g, "ladder");
}

#[test]
fn big_cycles() {
    // A ring of 50 000 nodes entered at node 1, with a chord every 1000 nodes back to node 1,
    // and a second ring nobody points to (every member is a leftover under the root).
    let ring = 50_000u32;
    let mut b = GraphBuilder::new();
    b.node(NodeKind::Synthetic, "", 1, 0);
    for v in 1..=2 * ring {
        b.node(NodeKind::Object, "R", 2 * v + 1, 2);
    }
    b.edge(0, EdgeKind::Element, "1", 1);
    for v in 1..=ring {
        let next = if v == ring { 1 } else { v + 1 };
        b.edge(v, EdgeKind::Property, "next", next);
        if v % 1000 == 0 {
            b.edge(v, EdgeKind::Property, "chord", 1);
        }
    }
    for v in ring + 1..=2 * ring {
        let next = if v == 2 * ring { ring + 1 } else { v + 1 };
        b.edge(v, EdgeKind::Property, "next", next);
    }
    let g = b.finish().unwrap();
    let tree = plain_tree(&g);
    assert_eq!(tree.idom[1], 0);
    assert_eq!(tree.idom[ring as usize], ring - 1);
    assert_eq!(tree.retained[1], 2 * ring as u64);
    for v in ring + 1..=2 * ring {
        assert_eq!(tree.idom[v as usize], 0);
        assert_eq!(tree.retained[v as usize], 2);
    }
    check_plain(&g, "rings");
}

/// `<digits> / part of key (… @k) -> value (… @v) pair in WeakMap (table @t)` → t.
fn weakmap_table_id(name: &str) -> Option<u32> {
    let digits = name.bytes().take_while(|b| b.is_ascii_digit()).count();
    if digits == 0 {
        return None;
    }
    let rest = name[digits..].strip_prefix(" / part of key (")?;
    if !rest.contains(") -> value (") || rest.contains(['\n', '\r', '\u{2028}', '\u{2029}']) {
        return None;
    }
    let (_, table) = rest.rsplit_once(") pair in WeakMap (table @")?;
    table.strip_suffix(')')?.parse().ok()
}

/// docs/devtools-rules.md §2.1–2.3 over a real graph, independently of heapsight's code.
fn check_against_spec(s: &AnalyzedSnapshot, rules: RuleSet) {
    let g = s.graph();
    let n = g.node_count();
    let root = g.root();
    let is_dom_trees =
        |v: NodeIx| g.kind(v) == NodeKind::Synthetic && g.name(v) == "(Document DOM trees)";
    // Page-owned: DevTools seeds from the root's shortcut children and (Document DOM trees);
    // memlab from the other root children.
    let mut page = vec![false; n];
    let mut stack = Vec::new();
    for e in g.edges(root) {
        let devtools =
            e.kind == EdgeKind::Shortcut || (e.kind == EdgeKind::Element && is_dom_trees(e.to));
        let seed = match rules {
            RuleSet::DevTools => devtools,
            RuleSet::Memlab => !devtools && e.kind != EdgeKind::Weak,
        };
        if seed && !page[e.to as usize] {
            page[e.to as usize] = true;
            stack.push(e.to);
        }
    }
    while let Some(v) = stack.pop() {
        for e in g.edges(v) {
            if e.kind != EdgeKind::Weak && !page[e.to as usize] {
                page[e.to as usize] = true;
                stack.push(e.to);
            }
        }
    }
    let essential = |v: NodeIx, e: &heapsight::model::EdgeRef| {
        let table_edge = rules == RuleSet::DevTools
            && e.kind == EdgeKind::Internal
            && weakmap_table_id(g.strings().get(e.name_or_index)) == Some(g.id(v));
        !(table_edge
            || e.kind == EdgeKind::Weak
            || v == e.to
            || (v != root && e.kind == EdgeKind::Shortcut)
            || (v != root && page[e.to as usize] && !page[v as usize]))
    };
    let mut edges = Vec::new();
    let mut has_essential_retainer = vec![false; n];
    for v in 0..n as NodeIx {
        for e in g.edges(v) {
            if essential(v, &e) {
                edges.push((v, e.to));
                has_essential_retainer[e.to as usize] = true;
            }
        }
    }
    let expected = expected_idoms(n, root, &edges, |v| match rules {
        RuleSet::DevTools => !has_essential_retainer[v as usize],
        // memlab: no retaining edge but weak or shortcut ones, from anywhere.
        RuleSet::Memlab => g
            .retainer_edges(v)
            .iter()
            .all(|e| matches!(e.kind, EdgeKind::Weak | EdgeKind::Shortcut)),
    });
    let a = &s.analysis;
    let wrong: Vec<usize> = (0..n)
        .filter(|&v| a.dominators.idom[v] != expected[v])
        .collect();
    assert!(
        wrong.is_empty(),
        "{rules:?}: {} of {n} idoms differ, e.g. node @{}: heapsight says @{}, expected @{}",
        wrong.len(),
        g.id(wrong[0] as NodeIx),
        g.id(a.dominators.idom[wrong[0]]),
        g.id(expected[wrong[0]])
    );
    let retained = retained_from_idoms(&expected, root, |v| a.shallow_size(v));
    assert_eq!(a.dominators.retained, retained, "{rules:?}: retained sizes");
}

#[test]
fn real_snapshots_follow_the_spec() {
    for rel in [
        "node-leak/target.heapsnapshot",
        "node-timeline/alloc.heaptimeline",
    ] {
        for rules in [RuleSet::DevTools, RuleSet::Memlab] {
            check_against_spec(&analyze_file(&sample(rel), rules), rules);
        }
    }
}
