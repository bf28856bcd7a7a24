//! Dominator tree and retained sizes, with DevTools' rules for which edges retain.
//!
//! Edges that count ("essential"): not weak; shortcuts only from the root; and no edge from a
//! node outside the page-owned set into it (except from the root). Nodes the root can't reach
//! that way are attached to the root by virtual edges, in two tiers as DevTools does: first the
//! nodes whose every retainer is weak or a shortcut (and their subgraphs), then whatever is
//! still left (unreachable cycles). Every node therefore has a dominator, and the root retains
//! the whole heap.
//!
//! The algorithm is Lengauer–Tarjan's simple version with an iterative DFS and iterative path
//! compression (no recursion, so very deep chains are fine), then the Semi-NCA step for the
//! immediate dominators. Temporary memory: six `u32` arrays of nodes + 1.

use std::sync::OnceLock;

use fixedbitset::FixedBitSet;

use crate::error::Result;
use crate::model::v8_rules::{is_page_entry_edge, parse_ephemeron_edge};
use crate::model::{Column, EdgeKind, FxHashMap, FxHashSet, HeapGraph, NodeIx};
use crate::progress::Progress;

// Re-exported where it was defined before the V8 rules had a module of their own.
pub use crate::model::v8_rules::is_document_dom_trees_root;

/// Immediate dominators and retained sizes of every node.
#[derive(Debug, Clone, Default)]
pub struct DominatorTree {
    /// `idom[n]` is node `n`'s immediate dominator; the root's is itself.
    pub idom: Column<NodeIx>,
    /// Bytes freed if the node were gone: its self size plus everything it dominates.
    pub retained: Column<u64>,
    children: OnceLock<DominatedChildren>,
}

/// The dominator tree's child lists (CSR), in node order.
#[derive(Debug, Clone, Default)]
pub struct DominatedChildren {
    first: Vec<u32>,
    list: Vec<NodeIx>,
}

impl DominatedChildren {
    /// Nodes `n` immediately dominates, in node order.
    pub fn of(&self, n: NodeIx) -> &[NodeIx] {
        &self.list[self.first[n as usize] as usize..self.first[n as usize + 1] as usize]
    }
}

/// Whose rules decide which edges retain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RuleSet {
    /// Chrome DevTools' heap snapshot worker (the default; the numbers users compare with).
    #[default]
    DevTools,
    /// memlab 2.x, for cross-checking with it: page-owned set seeded from the root's non-shortcut
    /// children, no WeakMap table rule, no self-size re-attribution, and its orphan test.
    Memlab,
}

/// Per-node and per-edge facts the dominator computation needs besides edge kinds.
pub struct RetentionRules {
    /// Whose rules these are.
    pub set: RuleSet,
    /// Nodes reachable from the page's entry points; edges from outside into it don't retain.
    pub page_owned: FixedBitSet,
    /// `(table, value)` pairs joined by a WeakMap table's internal edge (DevTools drops these).
    weakmap_table_edges: FxHashSet<(NodeIx, NodeIx)>,
    /// Ephemeron edge names (string id → table id), to test forward edges.
    ephemeron_names: FxHashMap<u32, u32>,
}

impl RetentionRules {
    /// Work out the rules for `g`: the page-owned set (DevTools seeds it from the root's
    /// shortcut children and `(Document DOM trees)`; memlab from the other root children),
    /// grown along every edge but weak ones, and the WeakMap table edges.
    pub fn for_graph(g: &HeapGraph, set: RuleSet) -> Self {
        let n = g.node_count();
        let mut page = FixedBitSet::with_capacity(n);
        let mut queue: Vec<NodeIx> = Vec::new();
        for e in g.edges(g.root()) {
            let devtools_entry = is_page_entry_edge(g, &e);
            let entry = match set {
                RuleSet::DevTools => devtools_entry,
                RuleSet::Memlab => !devtools_entry && e.kind != EdgeKind::Weak,
            };
            if entry && !page.put(e.to as usize) {
                queue.push(e.to);
            }
        }
        while let Some(v) = queue.pop() {
            for e in g.edge_range(v) {
                if g.edge_kind(e) == EdgeKind::Weak {
                    continue;
                }
                let t = g.edge_target(e);
                if !page.put(t as usize) {
                    queue.push(t);
                }
            }
        }
        let mut ephemeron_names = FxHashMap::default();
        let mut weakmap_table_edges = FxHashSet::default();
        if set == RuleSet::DevTools {
            for (id, s) in g.strings().iter() {
                if let Some((_, table)) = parse_ephemeron_edge(s) {
                    ephemeron_names.insert(id, table);
                }
            }
            if !ephemeron_names.is_empty() {
                for v in 0..n as NodeIx {
                    for e in g.edge_range(v) {
                        if g.edge_kind(e) == EdgeKind::Internal
                            && ephemeron_names.get(&g.edge_name_or_index(e)) == Some(&g.id(v))
                        {
                            weakmap_table_edges.insert((v, g.edge_target(e)));
                        }
                    }
                }
            }
        }
        Self {
            set,
            page_owned: page,
            weakmap_table_edges,
            ephemeron_names,
        }
    }

    /// Rules with no page-owned set and no WeakMap edges (for hand-made graphs).
    pub fn plain(g: &HeapGraph) -> Self {
        Self {
            set: RuleSet::DevTools,
            page_owned: FixedBitSet::with_capacity(g.node_count()),
            weakmap_table_edges: FxHashSet::default(),
            ephemeron_names: FxHashMap::default(),
        }
    }

    /// Does the retainer `from → to` (already essential by kind) retain `to`?
    #[inline]
    fn allows(&self, g: &HeapGraph, from: NodeIx, to: NodeIx) -> bool {
        (from == g.root()
            || !self.page_owned.contains(to as usize)
            || self.page_owned.contains(from as usize))
            && (self.weakmap_table_edges.is_empty()
                || !self.weakmap_table_edges.contains(&(from, to)))
    }

    /// Does forward edge `e` from `from` retain its target?
    #[inline]
    fn edge_retains(&self, g: &HeapGraph, from: NodeIx, e: usize) -> bool {
        if !g.is_essential_edge(from, e) {
            return false;
        }
        let to = g.edge_target(e);
        if !self.ephemeron_names.is_empty()
            && g.edge_kind(e) == EdgeKind::Internal
            && self.ephemeron_names.get(&g.edge_name_or_index(e)) == Some(&g.id(from))
        {
            return false;
        }
        from == g.root()
            || !self.page_owned.contains(to as usize)
            || self.page_owned.contains(from as usize)
    }

    /// Should an unreached node hang off the root with its subgraph (an "orphan")?
    fn is_orphan(&self, g: &HeapGraph, v: NodeIx) -> bool {
        match self.set {
            // No essential incoming edge at all (self edges don't count).
            RuleSet::DevTools => !g
                .essential_retainer_nodes(v)
                .any(|r| r != v && self.allows(g, r, v)),
            // No incoming edge other than weak or shortcut ones, from anywhere.
            RuleSet::Memlab => g
                .retainer_edges(v)
                .iter()
                .all(|e| matches!(e.kind, EdgeKind::Weak | EdgeKind::Shortcut)),
        }
    }
}

impl DominatorTree {
    /// Compute the dominator tree of `g` under `rules`, and retained sizes from `self_size`
    /// (DevTools re-attributes some self sizes first; see `shallow`).
    pub fn compute(
        g: &HeapGraph,
        rules: &RetentionRules,
        self_size: impl Fn(NodeIx) -> u64,
        progress: Progress<'_>,
    ) -> Result<Self> {
        let n = g.node_count();
        let total = n as u64;
        let root = g.root();
        // Numbering is 1-based by DFS preorder; 0 means "none".
        let mut num = vec![0u32; n];
        let mut vertex = vec![0u32; n + 1];
        let mut parent = vec![0u32; n + 1];
        // During the DFS `label` holds each vertex's next edge to look at.
        let mut label = vec![0u32; n + 1];
        let mut virtual_child = FixedBitSet::with_capacity(n);
        let mut count = 0u32;

        let mut visit_from = |start: NodeIx,
                              parent_num: u32,
                              num: &mut Vec<u32>,
                              vertex: &mut Vec<u32>,
                              parent: &mut Vec<u32>,
                              label: &mut Vec<u32>|
         -> Result<()> {
            count += 1;
            num[start as usize] = count;
            vertex[count as usize] = start;
            parent[count as usize] = parent_num;
            label[count as usize] = g.edge_range(start).start as u32;
            let mut top = count;
            while top != parent_num {
                let v = vertex[top as usize];
                let end = g.edge_range(v).end as u32;
                let mut e = label[top as usize];
                let mut next = None;
                while e < end {
                    let ei = e as usize;
                    e += 1;
                    let t = g.edge_target(ei);
                    if num[t as usize] == 0 && rules.edge_retains(g, v, ei) {
                        next = Some(t);
                        break;
                    }
                }
                label[top as usize] = e;
                match next {
                    Some(t) => {
                        count += 1;
                        num[t as usize] = count;
                        vertex[count as usize] = t;
                        parent[count as usize] = top;
                        label[count as usize] = g.edge_range(t).start as u32;
                        top = count;
                        if count.is_multiple_of(1 << 20) {
                            progress.step("dominators: search", count as u64, total)?;
                        }
                    }
                    None => top = parent[top as usize],
                }
            }
            Ok(())
        };

        progress.step("dominators: search", 0, total)?;
        visit_from(root, 0, &mut num, &mut vertex, &mut parent, &mut label)?;
        // Orphans (no retaining edge at all) hang off the root, with their subgraphs.
        for v in 0..n as NodeIx {
            if num[v as usize] == 0 && rules.is_orphan(g, v) {
                virtual_child.insert(v as usize);
                visit_from(v, 1, &mut num, &mut vertex, &mut parent, &mut label)?;
            }
        }
        // Leftovers (cycles held only by each other, or by unreached nodes) hang off the root
        // one by one: each is dominated by the root alone and retains only itself.
        let mut leftover = FixedBitSet::with_capacity(n);
        for v in 0..n as NodeIx {
            if num[v as usize] == 0 {
                count += 1;
                num[v as usize] = count;
                vertex[count as usize] = v;
                parent[count as usize] = 1;
                leftover.insert(v as usize);
            }
        }
        debug_assert_eq!(count as usize, n);

        progress.step("dominators: semidominators", 0, total)?;
        // Semidominators, in reverse preorder, with a path-compressed link-eval forest.
        let mut semi: Vec<u32> = (0..=n as u32).collect();
        for (i, l) in label.iter_mut().enumerate() {
            *l = i as u32;
        }
        let mut ancestor = vec![0u32; n + 1];
        let mut path: Vec<u32> = Vec::new();
        for i in (2..=n as u32).rev() {
            let w = vertex[i as usize];
            let mut s = semi[i as usize];
            let mut consider = |u: u32| {
                let x = eval(u, &mut ancestor, &mut label, &semi, &mut path);
                s = s.min(semi[x as usize]);
            };
            if virtual_child.contains(w as usize) || leftover.contains(w as usize) {
                consider(1);
            }
            if !leftover.contains(w as usize) {
                for v in g.essential_retainer_nodes(w) {
                    if !leftover.contains(v as usize) && rules.allows(g, v, w) {
                        consider(num[v as usize]);
                    }
                }
            }
            semi[i as usize] = s;
            ancestor[i as usize] = parent[i as usize];
            if i.is_multiple_of(1 << 20) {
                progress.step("dominators: semidominators", (n as u32 - i) as u64, total)?;
            }
        }
        drop(ancestor);
        drop(path);
        drop(label);

        progress.step("dominators: idom", 0, total)?;
        // Immediate dominators (by number), in place over `parent`.
        let idom_num = &mut parent;
        for i in 2..=n {
            let mut d = idom_num[i];
            while d > semi[i] {
                d = idom_num[d as usize];
            }
            idom_num[i] = d;
        }
        drop(semi);

        // Back to node indices, then retained sizes bottom-up in reverse preorder.
        let mut idom = num;
        for i in 1..=n {
            let v = vertex[i] as usize;
            idom[v] = if i == 1 {
                root
            } else {
                vertex[idom_num[i] as usize]
            };
        }
        drop(parent);
        progress.step("retained sizes", 0, 1)?;
        let mut retained: Vec<u64> = (0..n as NodeIx).map(&self_size).collect();
        for i in (2..=n).rev() {
            let v = vertex[i];
            retained[idom[v as usize] as usize] += retained[v as usize];
        }

        Ok(Self {
            idom: idom.into(),
            retained: retained.into(),
            children: OnceLock::new(),
        })
    }

    /// A tree from its columns (as read back from an index file).
    pub fn from_parts(idom: Column<NodeIx>, retained: Column<u64>) -> Self {
        Self {
            idom,
            retained,
            children: OnceLock::new(),
        }
    }

    /// Child lists of the dominator tree (built on first use, 8 bytes a node).
    pub fn children(&self) -> &DominatedChildren {
        self.children.get_or_init(|| {
            let n = self.idom.len();
            let mut first = vec![0u32; n + 1];
            for (v, &d) in self.idom.iter().enumerate() {
                if d as usize != v {
                    first[d as usize + 1] += 1;
                }
            }
            for i in 0..n {
                first[i + 1] += first[i];
            }
            let mut fill = first.clone();
            let mut list = vec![0u32; first[n] as usize];
            for (v, &d) in self.idom.iter().enumerate() {
                if d as usize != v {
                    list[fill[d as usize] as usize] = v as NodeIx;
                    fill[d as usize] += 1;
                }
            }
            DominatedChildren { first, list }
        })
    }

    /// Nodes `n` immediately dominates, largest retained size first (ties by index).
    pub fn sorted_children(&self, n: NodeIx) -> Vec<NodeIx> {
        let mut kids = self.children().of(n).to_vec();
        kids.sort_by(|&a, &b| {
            self.retained[b as usize]
                .cmp(&self.retained[a as usize])
                .then(a.cmp(&b))
        });
        kids
    }

    /// The chain of dominators from `n` up to the root (starting with `n`'s idom).
    pub fn chain(&self, n: NodeIx) -> Vec<NodeIx> {
        let mut out = Vec::new();
        let mut v = n;
        while self.idom[v as usize] != v {
            v = self.idom[v as usize];
            out.push(v);
            if out.len() > self.idom.len() {
                break;
            }
        }
        out
    }
}

/// Link-eval's `eval` with iterative path compression.
#[inline]
fn eval(v: u32, ancestor: &mut [u32], label: &mut [u32], semi: &[u32], path: &mut Vec<u32>) -> u32 {
    if ancestor[v as usize] == 0 {
        return v;
    }
    let mut x = v;
    path.clear();
    while ancestor[ancestor[x as usize] as usize] != 0 {
        path.push(x);
        x = ancestor[x as usize];
    }
    while let Some(y) = path.pop() {
        let a = ancestor[y as usize];
        if semi[label[a as usize] as usize] < semi[label[y as usize] as usize] {
            label[y as usize] = label[a as usize];
        }
        ancestor[y as usize] = ancestor[a as usize];
    }
    label[v as usize]
}
