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
//! immediate dominators. The semidominator pass gets the retainers that count as DFS numbers
//! from the other core, which reads them a chunk of vertices ahead in the pass's order (see
//! `RetainerSource`). Leaves held by a single edge (see `SingleRetainers`) stay out of both
//! passes and get their idom from that edge; other nodes with a single retainer are searched,
//! but the pass reads no retainers of theirs (their DFS parent is their semidominator).
//! Temporary memory: two bits a node (lone leaves, single retainers) throughout; 8 bytes a
//! node during the search (vertices, parents) plus its stack, then 8 (numbers, vertices) plus
//! one 16-byte slot of working state per searched vertex, a few chunks of numbered retainers
//! and 4 bytes a lone leaf for its idom; the graph's own retainers are read in the pass's
//! order, so a spilled graph's are all resident until it ends.

use std::borrow::Cow;
use std::sync::OnceLock;

use fixedbitset::FixedBitSet;

use crate::error::Result;
use crate::model::graph::{EdgeArrays, RetainerArrays};
use crate::model::v8_rules::is_page_entry_edge;
use crate::model::{Column, EdgeKind, FxHashSet, HeapGraph, NodeIx};
use crate::prefault::collect_helped;
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
    /// The child lists of the tree `idom` describes (the root is its own idom), by a counting
    /// sort over the idoms.
    pub(crate) fn of_idoms(idom: &[NodeIx]) -> Self {
        let n = idom.len();
        // A counting sort. `first[d]` counts d's children, then holds where the next one
        // goes, then (shifted up by one) where d's run starts: no second array needed.
        let mut first = vec![0u32; n + 1];
        for (v, &d) in idom.iter().enumerate() {
            if d as usize != v {
                first[d as usize] += 1;
            }
        }
        let total = counts_to_starts(&mut first[..n]);
        let mut list = vec![0u32; total as usize];
        for (v, &d) in idom.iter().enumerate() {
            if d as usize != v {
                list[first[d as usize] as usize] = v as NodeIx;
                first[d as usize] += 1;
            }
        }
        first.copy_within(0..n, 1);
        first[0] = 0;
        DominatedChildren { first, list }
    }

    /// Nodes `n` immediately dominates, in node order.
    pub fn of(&self, n: NodeIx) -> &[NodeIx] {
        &self.list[self.first[n as usize] as usize..self.first[n as usize + 1] as usize]
    }

    /// Ask the CPU for where `n`'s list starts, for a walk that will get to `n` soon.
    #[inline]
    pub(crate) fn prefetch_of(&self, n: NodeIx) {
        if let Some(x) = self.first.get(n as usize) {
            prefetch(x);
        }
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
    /// Whether `page_owned` has any node (most Node heaps have none): skips two bit tests an
    /// edge, which miss the cache on big heaps.
    any_page_owned: bool,
    /// The WeakMap table edges, which DevTools does not let retain.
    weakmap: WeakMapTables,
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
        // The two are apart: one on each core.
        let (weakmap, ()) = crate::parallel::beside(
            || match set {
                RuleSet::DevTools => WeakMapTables::find(g),
                RuleSet::Memlab => WeakMapTables::default(),
            },
            || reach_along_strong_edges(g, &mut page, queue),
        );
        Self {
            set,
            any_page_owned: !page.is_clear(),
            page_owned: page,
            weakmap,
        }
    }

    /// Rules with no page-owned set and no WeakMap edges (for hand-made graphs).
    pub fn plain(g: &HeapGraph) -> Self {
        Self {
            set: RuleSet::DevTools,
            page_owned: FixedBitSet::with_capacity(g.node_count()),
            any_page_owned: false,
            weakmap: WeakMapTables::default(),
        }
    }

    /// Does the retainer `from → to` (already essential by kind) retain `to`?
    #[inline]
    fn allows(&self, g: &HeapGraph, from: NodeIx, to: NodeIx) -> bool {
        self.allows_into(g, to)(from)
    }

    /// [`allows`](Self::allows) for the retainers of one node `to`, with the test on `to`
    /// made once.
    #[inline]
    fn allows_into(&self, g: &HeapGraph, to: NodeIx) -> impl Fn(NodeIx) -> bool + '_ {
        let (root, into_page, weakmap_value) = (
            g.root(),
            self.any_page_owned && self.page_owned.contains(to as usize),
            self.weakmap.values.contains(to as usize),
        );
        move |from| {
            (!into_page || from == root || self.page_owned.contains(from as usize))
                && (!weakmap_value || !self.weakmap.pairs.contains(&(from, to)))
        }
    }

    /// Ask the CPU for what [`allows_into`](Self::allows_into) reads of `to`, for a pass
    /// that will get to it soon.
    #[inline]
    fn prefetch_into(&self, to: NodeIx) {
        if self.any_page_owned {
            prefetch_bit(&self.page_owned, to);
        }
    }

    /// Does forward edge `e` from `from` to `to`, whose kind counts (see
    /// [`HeapGraph::essential_edge_types`]), retain `to`? Whether `from` is a WeakMap table is
    /// worked out once for all its edges.
    #[inline(always)]
    fn essential_edge_retains(
        &self,
        g: &HeapGraph,
        from: NodeIx,
        from_is_table: bool,
        e: usize,
        to: NodeIx,
    ) -> bool {
        (!from_is_table || !is_weakmap_table_edge(g, from, e)) && self.page_allows(g, from, to)
    }

    /// The page-owned rule alone: an edge into the page-owned set retains only from the root
    /// or from inside the set.
    #[inline]
    fn page_allows(&self, g: &HeapGraph, from: NodeIx, to: NodeIx) -> bool {
        !self.any_page_owned
            || from == g.root()
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

/// Mark in `reached` every node that `queue`'s nodes (marked already) reach along edges that
/// are not weak. On a Node heap whose data hangs off `global` this is most of the heap, so it is
/// breadth-first, asking for each node's data a few places ahead in the queue as the distances do
/// (`prefetch_queued`): a depth-first walk would wait on memory at every node. (The set is the
/// same in any order.)
fn reach_along_strong_edges(g: &HeapGraph, reached: &mut FixedBitSet, mut queue: Vec<NodeIx>) {
    let (edges, weak) = (g.edge_arrays(), g.weak_edge_types());
    let mut next = 0;
    while let Some(&v) = queue.get(next) {
        crate::analysis::distances::prefetch_queued(
            edges,
            |k| queue.get(next + k).copied(),
            8,
            |t| prefetch_bit(reached, t),
        );
        next += 1;
        for e in edges.range(v) {
            if weak[edges.types[e] as usize] {
                continue;
            }
            let t = edges.to[e];
            if !reached.put(t as usize) {
                queue.push(t);
            }
        }
    }
}

/// The WeakMap tables' own internal edges to their values (see [`is_weakmap_table_edge`]).
#[derive(Default)]
struct WeakMapTables {
    /// `(table, value)` pairs joined by such an edge.
    pairs: FxHashSet<(NodeIx, NodeIx)>,
    /// The tables: the search tests the edges of these only by name. No capacity (so every
    /// test is false) on a heap without WeakMap edge names.
    tables: FixedBitSet,
    /// The values: the semidominator pass looks up the retainers of these only in `pairs`.
    /// No capacity on a heap without WeakMap edge names.
    values: FixedBitSet,
}

impl WeakMapTables {
    /// The tables are the nodes whose ids the edge names give (`… (table @789)`): only their
    /// edges are read, not every edge's name (a heap with a million WeakMap entries has a
    /// million such names, and half its edges are internal ones).
    fn find(g: &HeapGraph) -> Self {
        let mut found = Self::default();
        let names = g.ephemeron_names();
        if names.is_empty() {
            return found;
        }
        let table_ids: FxHashSet<u32> = names.values().map(|&(_, table)| table).collect();
        let (low, high) = table_ids
            .iter()
            .fold((u32::MAX, 0), |(lo, hi), &id| (lo.min(id), hi.max(id)));
        let n = g.node_count();
        found.tables.grow(n);
        found.values.grow(n);
        for v in 0..n as NodeIx {
            let id = g.id(v);
            if id < low || id > high || !table_ids.contains(&id) {
                continue;
            }
            for e in g.edge_range(v) {
                if is_weakmap_table_edge(g, v, e) {
                    let to = g.edge_target(e);
                    found.pairs.insert((v, to));
                    found.tables.insert(v as usize);
                    found.values.insert(to as usize);
                }
            }
        }
        found
    }
}

/// Is edge `e` from `from` a WeakMap table's own internal edge to a value (its name says it is
/// the pair's edge in table `from`)? DevTools does not let it retain.
fn is_weakmap_table_edge(g: &HeapGraph, from: NodeIx, e: usize) -> bool {
    g.edge_kind(e) == EdgeKind::Internal
        && g.ephemeron_names()
            .get(&g.edge_name_or_index(e))
            .map(|&(_, table)| table)
            == Some(g.id(from))
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
        Self::compute_unsized(g, rules, progress)?.with_sizes(self_size, progress)
    }

    /// The first part of [`compute`](Self::compute): immediate dominators without sizes, so
    /// the self sizes can be worked out at the same time on another thread.
    pub fn compute_unsized(
        g: &HeapGraph,
        rules: &RetentionRules,
        progress: Progress<'_>,
    ) -> Result<UnsizedDominators> {
        Self::compute_unsized_then(g, rules, || (), progress).map(|(tree, ())| tree)
    }

    /// [`compute_unsized`](Self::compute_unsized), running `search_done` once the search is
    /// over and before the forward edges (and node names) are handed back. A caller whose
    /// other thread reads them too waits there for it: pages handed back while that thread
    /// still reads come back in, and stay for the passes after the search, which hold the
    /// most memory.
    pub fn compute_unsized_then<T>(
        g: &HeapGraph,
        rules: &RetentionRules,
        search_done: impl FnOnce() -> T,
        progress: Progress<'_>,
    ) -> Result<(UnsizedDominators, T)> {
        let n = g.node_count();
        let total = n as u64;
        let root = g.root();
        // Numbering is 1-based by DFS preorder; 0 means "none". The search needs a vertex
        // and a parent a number (8 bytes) plus a stack of (number, next edge) pairs;
        // what the passes after it need of a vertex then sits in one 16-byte slot, so
        // following a link costs one cache miss, not four. The slots are made only once the
        // search is done and its forward edges handed back, so the two never add up.
        // Whether the search has reached a node is a bit of its own, tested once an edge: a
        // bit a node stays in the CPU's cache, where a number a node (4 bytes, read at
        // random) would wait on memory at most edges. Leaves held by one edge stay out of
        // the search (see `SingleRetainers`): they start out marked, so the search passes
        // them by.
        let single = SingleRetainers::find(g);
        let mut seen = single.leaves.clone();
        let mut vertex = vec![0u32; n + 1];
        let mut parent = vec![0u32; n + 1];
        let mut stack: Vec<(u32, u32)> = Vec::new();
        // The numbers of the vertices hung off the root (orphans and leftovers, below): the
        // passes after the search read this in number order.
        let mut off_root = FixedBitSet::with_capacity(n + 1);
        let mut count = 0u32;
        // Slices and tables taken once: the loop below runs once an edge.
        let edges = g.edge_arrays();
        let essential_types = [g.essential_edge_types(false), g.essential_edge_types(true)];

        let mut visit_from = |start: NodeIx,
                              parent_num: u32,
                              seen: &mut FixedBitSet,
                              vertex: &mut Vec<u32>,
                              parent: &mut Vec<u32>|
         -> Result<u32> {
            // The vertex just reached and its DFS parent (the start's is given).
            let mut reached = Some((start, parent_num));
            let first = count + 1;
            loop {
                if let Some((t, from)) = reached.take() {
                    count += 1;
                    seen.insert(t as usize);
                    vertex[count as usize] = t;
                    parent[count as usize] = from;
                    prefetch_targets(edges, t, seen);
                    stack.push((count, edges.first[t as usize]));
                    if count.is_multiple_of(1 << 20) {
                        progress.step("dominators: search", count as u64, total)?;
                    }
                }
                let Some(&(top, mut e)) = stack.last() else {
                    return Ok(first);
                };
                let v = vertex[top as usize];
                let end = edges.first[v as usize + 1];
                let counts = &essential_types[(v == root) as usize];
                let is_table = rules.weakmap.tables.contains(v as usize);
                while e < end {
                    let ei = e as usize;
                    e += 1;
                    // The first eight targets were asked for when `v` was reached; a node
                    // with more (an array, a table) keeps the window eight edges ahead.
                    let ahead = ei + 8;
                    if ahead < end as usize {
                        prefetch_bit(seen, edges.to[ahead]);
                    }
                    let t = edges.to[ei];
                    if !seen.contains(t as usize)
                        && counts[edges.types[ei] as usize]
                        && rules.essential_edge_retains(g, v, is_table, ei, t)
                    {
                        reached = Some((t, top));
                        prefetch_siblings(edges, ei + 1..end as usize, seen);
                        break;
                    }
                }
                if let Some(last) = stack.last_mut() {
                    last.1 = e;
                }
                if reached.is_none() {
                    stack.pop();
                }
            }
        };

        progress.step("dominators: search", 0, total)?;
        visit_from(root, 0, &mut seen, &mut vertex, &mut parent)?;
        // Orphans (no retaining edge at all) hang off the root, with their subgraphs.
        for v in 0..n as NodeIx {
            if !seen.contains(v as usize) && rules.is_orphan(g, v) {
                let first = visit_from(v, 1, &mut seen, &mut vertex, &mut parent)?;
                off_root.insert(first as usize);
            }
        }
        drop(stack);
        // Leftovers (cycles held only by each other, or by unreached nodes) hang off the root
        // one by one: each is dominated by the root alone and retains only itself. They are
        // numbered last, so a number tells one.
        let first_leftover = count + 1;
        for v in 0..n as NodeIx {
            if !seen.contains(v as usize) {
                count += 1;
                vertex[count as usize] = v;
                parent[count as usize] = 1;
            }
        }
        off_root.insert_range(first_leftover as usize..count as usize + 1);
        drop(seen);
        // The leaves come after, numbered in node order: they have no slot, and their idoms
        // are found with the retainers below.
        let numbered = count as usize;
        for w in single.leaves.ones() {
            count += 1;
            vertex[count as usize] = w as NodeIx;
        }
        debug_assert_eq!(count as usize, n);
        // The passes below read retainers only: spilled forward edges (and the node names
        // the distance search beside may have read) can leave memory.
        let after_search = search_done();
        g.release_forward_edges();
        g.release_node_labels();
        // A node's number, for the retainers below. The search leaves it out: one write a
        // vertex at random would wait on memory in its serial loop, where this pass streams.
        // (Made after `search_done`, not in the time it may wait for the other core: made
        // before, the 384 MB store's peak reached 1.00-1.01 × the file in 8 runs of 36, most
        // likely because the array then no longer reuses a big block the other core's passes
        // free meanwhile; made after, 0.91-0.96 × in all of 8.)
        let mut num = vec![0u32; n];
        for (i, &v) in vertex.iter().enumerate().skip(1) {
            num[v as usize] = i as u32;
        }

        // Semidominators, in reverse preorder, with a path-compressed link-eval forest.
        // (New memory, made while the other core is idle: it faults the pages in meanwhile.)
        progress.step("dominators: semidominators", 0, total)?;
        let mut slots: Vec<Slot> = collect_helped(numbered + 1, |i| Slot {
            semi: i as u32,
            label: i as u32,
            ancestor: 0,
            parent: parent[i],
        });
        drop(parent);
        let mut path: Vec<u32> = Vec::new();
        // The retainers that count come as DFS numbers, a chunk of vertices at a time in this
        // pass's order, from the other core (and from this one, when the next chunk is not
        // ready: then it makes a later one); the other core works out the lone leaves' idoms
        // while the pass ends.
        let source = RetainerSource {
            g,
            retainers: g.retainer_arrays(),
            rules,
            num: &num,
            vertex: &vertex,
            numbered,
            first_leftover,
            off_root: &off_root,
            single: &single.all,
        };
        let leaf_idoms = crate::parallel::stream(
            RetainerChunk::count(numbered),
            |c, old| source.chunk(c, old),
            || source.leaf_idoms(),
            |chunk| {
                for i in chunk.numbers() {
                    chunk.prefetch_slots(i, &slots);
                    let parent = slots[i as usize].parent;
                    // Hung off the root: no semidominator is less than the root's 1.
                    let mut s = 1;
                    if !off_root.contains(i as usize) {
                        // The DFS parent retains `i` and is not linked yet (it comes later in
                        // reverse preorder), so it is its own `eval` and counts with its own
                        // number: no walk for the commonest retainer, and none at all for a
                        // vertex with no other (whose list is left empty).
                        s = parent;
                        for &u in chunk.of(i) {
                            if u != parent {
                                let x = eval(u, &mut slots, &mut path);
                                s = s.min(slots[x as usize].semi);
                            }
                        }
                    }
                    slots[i as usize].semi = s;
                    slots[i as usize].ancestor = parent;
                    if i.is_multiple_of(1 << 20) {
                        progress.step(
                            "dominators: semidominators",
                            (numbered as u32 - i) as u64,
                            total,
                        )?;
                    }
                }
                Ok(())
            },
        )?;
        drop(path);
        // Nothing below needs a node's number or its retainers.
        drop(num);
        g.release_retainers();

        progress.step("dominators: idom", 0, total)?;
        // Immediate dominators (by number), in place over `parent`.
        for i in 2..=numbered {
            let mut d = slots[i].parent;
            while d > slots[i].semi {
                d = slots[d as usize].parent;
            }
            slots[i].parent = d;
        }

        // Back to node indices (the retained sizes come later, bottom-up in reverse
        // preorder): a write at random a node, by both cores, each for half the numbers (the
        // other core is idle otherwise; the vertices are a permutation, so no node is written
        // twice).
        let mut idom = collect_helped(n, |_| 0);
        {
            let cells = crate::parallel::atomic_u32s(&mut idom);
            let (slots, vertex, leaf_idoms) = (&slots, &vertex, &leaf_idoms);
            let back = |numbers: std::ops::Range<usize>| {
                for i in numbers {
                    let d = if i == 1 {
                        root
                    } else if i <= numbered {
                        vertex[slots[i].parent as usize]
                    } else {
                        leaf_idoms[i - numbered - 1]
                    };
                    cells[vertex[i] as usize].store(d, std::sync::atomic::Ordering::Relaxed);
                }
            };
            let mid = n.div_ceil(2).max(1);
            crate::parallel::beside(|| back(mid + 1..n + 1), || back(1..mid + 1));
        }
        drop(slots);
        Ok((UnsizedDominators { idom, vertex }, after_search))
    }

    /// A tree from its columns (as read back from an index file).
    pub fn from_parts(idom: Column<NodeIx>, retained: Column<u64>) -> Self {
        Self {
            idom,
            retained,
            children: OnceLock::new(),
        }
    }

    /// Child lists of the dominator tree (built on first use and kept, 8 bytes a node).
    pub fn children(&self) -> &DominatedChildren {
        self.children
            .get_or_init(|| DominatedChildren::of_idoms(&self.idom))
    }

    /// The child lists kept by [`children`](Self::children) if built, else built for the
    /// caller alone and dropped with it: for one walk of the tree (the Summary's) that should
    /// not leave 8 bytes a node behind when no view of the tree is open.
    pub fn children_for_once(&self) -> Cow<'_, DominatedChildren> {
        match self.children.get() {
            Some(c) => Cow::Borrowed(c),
            None => Cow::Owned(DominatedChildren::of_idoms(&self.idom)),
        }
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

/// Immediate dominators still without retained sizes (see
/// [`DominatorTree::compute_unsized`]).
pub struct UnsizedDominators {
    idom: Vec<NodeIx>,
    /// Nodes in DFS preorder, from index 1 (idoms come before the nodes they dominate).
    vertex: Vec<u32>,
}

impl UnsizedDominators {
    /// Retained sizes bottom-up in reverse preorder, from `self_size`.
    pub fn with_sizes(
        self,
        self_size: impl Fn(NodeIx) -> u64,
        progress: Progress<'_>,
    ) -> Result<DominatorTree> {
        progress.step("retained sizes", 0, 1)?;
        let retained = self.retained_sizes(self_size);
        Ok(self.into_tree(retained))
    }

    /// [`with_sizes`](Self::with_sizes), with the tree's child lists made on the other core
    /// meanwhile: for a caller about to walk the tree once, such as the class summary (the
    /// tree does not keep them).
    pub fn with_sizes_and_children(
        self,
        self_size: impl Fn(NodeIx) -> u64,
        progress: Progress<'_>,
    ) -> Result<(DominatorTree, DominatedChildren)> {
        progress.step("retained sizes", 0, 1)?;
        let (children, retained) = crate::parallel::beside(
            || DominatedChildren::of_idoms(&self.idom),
            || self.retained_sizes(self_size),
        );
        Ok((self.into_tree(retained), children))
    }

    fn into_tree(self, retained: Vec<u64>) -> DominatorTree {
        DominatorTree {
            idom: self.idom.into(),
            retained: retained.into(),
            children: OnceLock::new(),
        }
    }

    fn retained_sizes(&self, self_size: impl Fn(NodeIx) -> u64) -> Vec<u64> {
        let (idom, vertex) = (&self.idom, &self.vertex);
        let mut retained: Vec<u64> = collect_helped(idom.len(), |v| self_size(v as NodeIx));
        for &v in vertex[2..].iter().rev() {
            retained[idom[v as usize] as usize] += retained[v as usize];
        }
        retained
    }
}

/// One DFS-numbered vertex's working state in the dominator search.
#[derive(Debug, Clone, Copy, Default)]
#[repr(C, align(16))]
struct Slot {
    /// Semidominator (a number).
    semi: u32,
    /// Link-eval label: the vertex with the least semidominator on the compressed path.
    label: u32,
    /// Link-eval forest parent; 0 while unlinked.
    ancestor: u32,
    /// DFS tree parent; after the idom pass, the immediate dominator (both numbers).
    parent: u32,
}

/// Where the semidominator pass's retainers come from: the graph's retainer lists, with what
/// the search found. The pass goes down the DFS numbers; over the graph's lists it would wait
/// on memory at every vertex (the offsets, the list, then each retainer's number, all
/// scattered), so another core reads them a few thousand vertices ahead, asking for each
/// stage's memory some vertices before it needs it, and hands them over in chunks.
struct RetainerSource<'a> {
    g: &'a HeapGraph,
    /// The graph's retainer lists (slices taken once: read once a retainer).
    retainers: RetainerArrays<'a>,
    rules: &'a RetentionRules,
    /// Each node's DFS number.
    num: &'a [u32],
    /// The node of each number.
    vertex: &'a [u32],
    /// How many are searched: the numbers above are lone leaves (see [`SingleRetainers`]).
    numbered: usize,
    /// The first number of the nodes left over by the search (see `compute_unsized_then`):
    /// they count as no one's retainers.
    first_leftover: u32,
    /// The numbers hung off the root (orphans and leftovers): the pass reads no retainers of
    /// theirs.
    off_root: &'a FixedBitSet,
    /// The nodes with a single retainer (see [`SingleRetainers`]): the pass reads none of
    /// theirs.
    single: &'a FixedBitSet,
}

impl RetainerSource<'_> {
    /// Retainers of `w` that count, with their numbers.
    #[inline]
    fn counted(&self, w: NodeIx) -> impl Iterator<Item = (NodeIx, u32)> + '_ {
        self.retainers
            .essential(w)
            .filter({
                let allows = self.rules.allows_into(self.g, w);
                move |&v| allows(v)
            })
            .map(|v| (v, self.num[v as usize]))
            .filter(|&(_, i)| i < self.first_leftover)
    }

    /// Chunk `c` (in the pass's order), filled into `old`'s buffers when given.
    fn chunk(&self, c: usize, old: Option<RetainerChunk>) -> RetainerChunk {
        // The graph's retainers are read in the pass's order, not theirs, so a spilled
        // graph's would all stay resident until the pass ends. Handed back every so often,
        // few stay where the DFS order follows the nodes' (a big regular heap); where it
        // does not, reading them again costs little (a fault maps 16 pages at a time).
        const RELEASE_EVERY: usize = 32;
        if c > 0 && c.is_multiple_of(RELEASE_EVERY) {
            self.g.release_retainers();
        }
        let mut chunk = old.unwrap_or_default();
        chunk.first.clear();
        chunk.list.clear();
        chunk.top = (self.numbered - c * RetainerChunk::VERTICES) as u32;
        let bottom = chunk
            .top
            .saturating_sub(RetainerChunk::VERTICES as u32 - 1)
            .max(2);
        let retainers = self.retainers;
        // How many vertices ahead each stage's memory is asked for: where the retainers
        // start, then the list, then the retainers' numbers (each needs the one before).
        const OFFSETS: u32 = 32;
        const LIST: u32 = 16;
        const NUMBERS: u32 = 6;
        chunk.first.push(0);
        let read = |w: NodeIx| !self.single.contains(w as usize);
        for i in (bottom..=chunk.top).rev() {
            // The vertex `k` places on, if its retainers are read.
            let ahead = |k: u32| {
                (i > k)
                    .then(|| self.vertex[(i - k) as usize])
                    .filter(|&w| read(w))
            };
            if let Some(w) = ahead(OFFSETS) {
                prefetch(&retainers.first[w as usize]);
            }
            if let Some(w) = ahead(LIST) {
                if let Some(x) = retainers.list.get(retainers.first[w as usize] as usize) {
                    prefetch(x);
                }
                self.rules.prefetch_into(w);
            }
            if let Some(w) = ahead(NUMBERS) {
                for v in retainers.essential(w).take(8) {
                    prefetch(&self.num[v as usize]);
                }
            }
            let w = self.vertex[i as usize];
            if !self.off_root.contains(i as usize) && read(w) {
                chunk.list.extend(self.counted(w).map(|(_, number)| number));
            }
            // At most one entry an edge, and edges fit a u32 (`MAX_EDGES`).
            chunk.first.push(chunk.list.len() as u32);
        }
        chunk
    }

    /// The lone leaves' idoms, in number order: the leaf's one retainer if that counts, else
    /// the root.
    fn leaf_idoms(&self) -> Vec<NodeIx> {
        self.vertex[self.numbered + 1..]
            .iter()
            .map(|&w| self.counted(w).next().map_or(self.g.root(), |(v, _)| v))
            .collect()
    }
}

/// The retainers that count of a run of DFS-numbered vertices, as numbers, from the run's
/// highest number down (CSR): what the semidominator pass reads of one stretch.
#[derive(Default)]
struct RetainerChunk {
    /// The run's highest number.
    top: u32,
    /// `first[k]..first[k + 1]` is vertex `top - k`'s run in `list`.
    first: Vec<u32>,
    list: Vec<u32>,
}

impl RetainerChunk {
    /// Vertices a chunk.
    const VERTICES: usize = 1 << 16;

    /// How many chunks cover the vertices `2..=numbered` (the root, 1, has no
    /// semidominator).
    fn count(numbered: usize) -> usize {
        numbered.saturating_sub(1).div_ceil(Self::VERTICES)
    }

    /// The chunk's numbers, highest first.
    fn numbers(&self) -> impl Iterator<Item = u32> {
        let len = self.first.len().saturating_sub(1) as u32;
        (self.top + 1 - len..=self.top).rev()
    }

    /// Vertex `i`'s retainers that count, as numbers.
    #[inline]
    fn of(&self, i: u32) -> &[u32] {
        let k = (self.top - i) as usize;
        &self.list[self.first[k] as usize..self.first[k + 1] as usize]
    }

    /// Ask the CPU for the slots a vertex a few steps below `i` (the pass goes down) will
    /// read, so they are in cache when it gets there.
    #[inline]
    fn prefetch_slots(&self, i: u32, slots: &[Slot]) {
        const AHEAD: u32 = 4;
        if (self.top - i) as usize + (AHEAD as usize) < self.first.len() - 1 {
            for &u in self.of(i - AHEAD).iter().take(8) {
                prefetch(&slots[u as usize]);
            }
        }
    }
}

/// The nodes with a single retainer (not the root), and the lone leaves among them.
struct SingleRetainers {
    /// Every node with a single retainer, leaf or not. A searched one was reached by that
    /// retainer's edge, so its DFS parent is its semidominator: the semidominator pass reads
    /// no retainers of theirs.
    all: FixedBitSet,
    /// The lone leaves: those with no edges of their own either (a typed array's backing
    /// store, an array of numbers' elements). Such a leaf is on no path to any other node, so
    /// it changes no other node's dominator, and its own is its retainer when that edge
    /// retains and the retainer is reached, else the root (it is an orphan or a leftover).
    /// The search and the semidominator pass leave them out: they are numbered after every
    /// searched node (so that `vertex` still lists each node once, dominators first) and
    /// have no slot.
    leaves: FixedBitSet,
}

impl SingleRetainers {
    fn find(g: &HeapGraph) -> Self {
        let n = g.node_count();
        let (edges, retainers) = (g.edge_arrays(), g.retainer_arrays());
        let root = g.root() as usize;
        let mut all = FixedBitSet::with_capacity(n);
        let mut leaves = FixedBitSet::with_capacity(n);
        for v in 0..n {
            if retainers.first[v + 1] - retainers.first[v] == 1 && v != root {
                all.insert(v);
                if edges.first[v] == edges.first[v + 1] {
                    leaves.insert(v);
                }
            }
        }
        // Spilled retainer offsets read here are not needed again until the search is done.
        g.release_retainers();
        Self { all, leaves }
    }
}

/// Turn counts into where each run starts (an exclusive prefix sum, in place); returns the
/// total. The caller knows the total fits a `u32`.
fn counts_to_starts(counts: &mut [u32]) -> u32 {
    let mut start = 0;
    for c in counts {
        (*c, start) = (start, start + *c);
    }
    start
}

/// A hint to bring `x`'s cache line in; no effect on results.
#[inline(always)]
pub(crate) fn prefetch<T>(x: &T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch is only a hint; the pointer comes from a live reference.
    unsafe {
        std::arch::x86_64::_mm_prefetch(
            (x as *const T).cast::<i8>(),
            std::arch::x86_64::_MM_HINT_T0,
        )
    };
    #[cfg(not(target_arch = "x86_64"))]
    let _ = x;
}

/// Ask the CPU to fetch the DFS numbers of `v`'s first targets while the search goes on:
/// they are scattered across the heap, and most vertices have only a few edges.
#[inline]
fn prefetch_targets(edges: EdgeArrays<'_>, v: NodeIx, seen: &FixedBitSet) {
    let range = edges.range(v);
    // The edges' types, which the search tests next: in another array, so a miss of its own
    // that can overlap the targets' below.
    if let Some(ty) = edges.types.get(range.start) {
        prefetch(ty);
    }
    for &t in edges.to[range].iter().take(8) {
        if let Some(first) = edges.first.get(t as usize) {
            prefetch_bit(seen, t);
            // Where the target's edges start, for when the search goes down to it.
            prefetch(first);
        }
    }
}

/// Ask the CPU for the first edges of the next few unreached targets among `edges.to[rest]`
/// (the siblings of the vertex the search goes down to): where their edges start was asked
/// for when their parent was reached, so it is at hand now, and the search comes back to
/// them once the sibling's subtree is done, which on most heaps is soon.
#[inline]
fn prefetch_siblings(edges: EdgeArrays<'_>, rest: std::ops::Range<usize>, seen: &FixedBitSet) {
    for &s in edges.to[rest].iter().take(3) {
        if !seen.contains(s as usize) {
            if let Some(&f) = edges.first.get(s as usize) {
                if let Some(t) = edges.to.get(f as usize) {
                    prefetch(t);
                }
                if let Some(ty) = edges.types.get(f as usize) {
                    prefetch(ty);
                }
            }
        }
    }
}

/// Ask the CPU for the word that holds node `t`'s bit in `bits`.
#[inline]
fn prefetch_bit(bits: &FixedBitSet, t: NodeIx) {
    if let Some(word) = bits.as_slice().get(t as usize / usize::BITS as usize) {
        prefetch(word);
    }
}

/// Link-eval's `eval` with iterative path compression.
#[inline]
fn eval(v: u32, slots: &mut [Slot], path: &mut Vec<u32>) -> u32 {
    if slots[v as usize].ancestor == 0 {
        return v;
    }
    let mut x = v;
    path.clear();
    while slots[slots[x as usize].ancestor as usize].ancestor != 0 {
        path.push(x);
        x = slots[x as usize].ancestor;
    }
    while let Some(y) = path.pop() {
        let a = slots[y as usize].ancestor;
        let (label_a, label_y) = (slots[a as usize].label, slots[y as usize].label);
        if slots[label_a as usize].semi < slots[label_y as usize].semi {
            slots[y as usize].label = label_a;
        }
        slots[y as usize].ancestor = slots[a as usize].ancestor;
    }
    slots[v as usize].label
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The counting sort gives each node its dominated nodes in node order, the same whether
    /// kept or built for one walk.
    #[test]
    fn child_lists_group_nodes_by_idom_in_node_order() {
        // A pseudo-random tree over 10 000 nodes: each node's idom is an earlier node.
        let n = 10_000u32;
        let mut random = crate::test_rng::xorshift(0x2545_f491);
        let idom: Vec<NodeIx> = (0..n)
            .map(|v| {
                let x = random();
                if v == 0 {
                    0
                } else {
                    (x % v as u64) as NodeIx
                }
            })
            .collect();
        let tree = DominatorTree::from_parts(idom.clone().into(), vec![0u64; n as usize].into());
        let once = tree.children_for_once();
        assert!(matches!(once, Cow::Owned(_)));
        for d in 0..n {
            let want: Vec<NodeIx> = (1..n).filter(|&v| idom[v as usize] == d).collect();
            assert_eq!(once.of(d), &want[..], "children of {d}");
            assert_eq!(tree.children().of(d), &want[..], "kept children of {d}");
        }
        assert!(matches!(tree.children_for_once(), Cow::Borrowed(_)));
    }
}
