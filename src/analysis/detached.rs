//! Detached DOM: DOM nodes no longer in a document but kept alive from JS. Detached nodes come
//! from V8's `detachedness` field (2 = detached, propagated as DevTools does), or from the
//! `Detached ` name prefix of older snapshots. Other embedder objects the embedder marks (Node
//! marks some of its own `Node / …` binding objects) are told apart by their names.

use serde::Serialize;

use super::retainers::{holder_name, left_out_note, PathStep, ShownPaths};
use super::AnalyzedSnapshot;
use crate::model::v8_rules::is_detached;
use crate::model::{EdgeKind, FxHashMap, NodeIx};

// Re-exported where it was defined before the V8 rules had a module of their own.
pub use crate::model::v8_rules::is_dom_like;

/// One detached DOM tree: its topmost detached node, and what hangs below.
#[derive(Debug, Clone, Serialize)]
pub struct DetachedTree {
    /// Id of the tree's root node (its topmost detached node).
    pub root_id: u32,
    /// Class name of the root (e.g. `Detached <ul>`).
    pub root_class: String,
    /// Detached DOM nodes in the tree (the root included).
    pub node_count: u64,
    /// Bytes the whole tree retains: every member's retained size, counting each byte once
    /// (members dominated by another member are inside that member's size).
    pub retained_size: u64,
    /// Members by class, most first (`Detached <li>` × 500, `Detached Text` × 1000, …).
    pub by_class: Vec<ClassCount>,
    /// What keeps the tree alive: the path from a GC root to the tree's member closest to the
    /// roots (where JS holds it).
    pub retainer_path: Vec<PathText>,
    /// Every way JS holds members of the tree, most members first (at most 10): a tree held by
    /// its rows in one array and by its buttons' click handlers in another shows both.
    pub held_through: Vec<TreeHolder>,
    /// The root (node index).
    #[serde(skip)]
    pub root: NodeIx,
}

/// One way JS holds members of a detached tree: edges of one kind, from holders of one class.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct TreeHolder {
    /// The nearest named slot on the way: a property, as `Class.property` (`LeakyCache.rows`),
    /// or a closure's variable above the member's own slot (`closure variable lastSeenRows`);
    /// else the holder's class and the edge (`Context.button`).
    pub via: String,
    /// Class of the objects holding members directly (`Array`, `system / Context`).
    pub holder_class: String,
    /// Members held this way.
    pub count: u64,
    /// The path from a GC root to one member held this way.
    pub retainer_path: Vec<PathText>,
}

/// How many members of a detached tree have one class.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, Hash)]
pub struct ClassCount {
    /// Class name.
    pub class: String,
    /// Members of that class.
    pub count: u64,
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
    /// Steps of a long path left out just before this one (see `retainers::SHOWN_HEAD`).
    #[serde(skip_serializing_if = "is_zero")]
    pub left_out_before: usize,
}

/// For `skip_serializing_if`: a step count that says nothing.
pub(crate) fn is_zero(n: &usize) -> bool {
    *n == 0
}

impl PathText {
    /// Step `st` of a path in `s`, with `left_out_before` steps left out just before it.
    pub fn of(s: &AnalyzedSnapshot, left_out_before: usize, st: &PathStep) -> Self {
        let g = s.graph();
        let e = st.edge.index as usize;
        PathText {
            edge_name: g.edge_label(e),
            edge_type: g.edge_type_name(e).to_string(),
            node_class: s.path_label(st.edge.to).to_string(),
            node_id: g.id(st.edge.to),
            left_out_before,
        }
    }

    /// The line a writer prints before this step: where a long path's middle was left out.
    pub fn gap(&self) -> Option<String> {
        (self.left_out_before > 0).then(|| left_out_note(self.left_out_before))
    }
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

/// Turn the shortest path to `n` into report steps (the middle of a long one left out).
/// `paths` keeps what the paths asked before found out, so the paths of a listing that share a
/// long stretch (objects under one deep list) cost their shown steps each.
pub fn path_text(s: &AnalyzedSnapshot, paths: &mut ShownPaths, n: NodeIx) -> Vec<PathText> {
    paths
        .shown(n)
        .map(|p| {
            p.iter()
                .map(|(left_out, st)| PathText::of(s, *left_out, st))
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
        let mut paths = ShownPaths::new(g, a);
        let mut kept = KeptByDom::default();
        let mut members: FxHashMap<u32, Vec<NodeIx>> = FxHashMap::default();
        for v in 0..n as NodeIx {
            if dom[v as usize] {
                let r = find(&mut parent, v);
                members.entry(r).or_default().push(v);
            }
        }
        let mut out: Vec<DetachedTree> = members
            .into_values()
            .map(|group| {
                let root = topmost(s, &dom, &group);
                // Where JS holds the tree: the member closest to the GC roots.
                let entry = group
                    .iter()
                    .copied()
                    .min_by_key(|&v| (a.distances[v as usize], v))
                    .unwrap_or(root);
                DetachedTree {
                    root_id: g.id(root),
                    root_class: s.class_name(root).to_string(),
                    node_count: group.len() as u64,
                    retained_size: tree_retained_size(s, &group),
                    by_class: class_counts(s, &group),
                    retainer_path: path_text(s, &mut paths, entry),
                    held_through: held_through(s, &mut paths, &mut kept, &dom, &group),
                    root,
                }
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

/// Detached trees alike: the same root class, the same members by class and the same ways JS
/// holds them. A list whose removed rows are kept one by one makes a thousand such trees, read
/// better as one line than as a thousand.
#[derive(Debug, Clone)]
pub struct TreeGroup {
    /// How many trees are alike.
    pub trees: u64,
    /// The group's first tree (the one retaining the most), with its counts and sizes summed
    /// over the group: node and member counts, retained size and members held each way.
    pub total: DetachedTree,
}

impl DetachedDom {
    /// The trees in groups of alike ones, in the order of their first (largest) tree.
    pub fn groups(&self) -> Vec<TreeGroup> {
        type Key<'t> = (&'t str, &'t [ClassCount], Vec<&'t str>);
        let mut index: FxHashMap<Key, usize> = FxHashMap::default();
        let mut out: Vec<TreeGroup> = Vec::new();
        for t in &self.trees {
            let vias = t.held_through.iter().map(|h| h.via.as_str()).collect();
            let key = (t.root_class.as_str(), t.by_class.as_slice(), vias);
            match index.get(&key) {
                Some(&i) => {
                    out[i].trees += 1;
                    let g = &mut out[i].total;
                    g.node_count += t.node_count;
                    g.retained_size += t.retained_size;
                    for (sum, c) in g.by_class.iter_mut().zip(&t.by_class) {
                        sum.count += c.count;
                    }
                    for (sum, h) in g.held_through.iter_mut().zip(&t.held_through) {
                        sum.count += h.count;
                    }
                }
                None => {
                    index.insert(key, out.len());
                    out.push(TreeGroup {
                        trees: 1,
                        total: t.clone(),
                    });
                }
            }
        }
        out
    }
}

/// The topmost node of a detached DOM tree (`group`, its detached DOM nodes), from the shape of
/// Blink's links alone, whose edges are unnamed (`element [i]`): every node links to its parent,
/// a parent to its first child only, and siblings to each other both ways. So a link one way only
/// goes from a child up to its parent; a first child's parent is the node its siblings link to
/// one way. Following those links up gives a forest; a root of it whose one link both ways goes
/// to a lone node (an only child and its parent) is joined under that node unless it is a Text or
/// Comment node, which have no children. The biggest tree left is the DOM tree's top. A tree
/// with a window in it (a removed frame's) is topped by the window.
fn topmost(s: &AnalyzedSnapshot, dom: &[bool], group: &[NodeIx]) -> NodeIx {
    let g = s.graph();
    // A removed frame's window holds its document, which holds the rest.
    let is_window =
        |v: NodeIx| crate::model::v8_rules::without_detached_prefix(g.name(v)) == "Window";
    if let Some(&w) = group.iter().find(|&&v| is_window(v)) {
        return w;
    }
    let links = |v: NodeIx| {
        let mut out: Vec<NodeIx> = g
            .edge_range(v)
            .filter(|&e| g.edge_kind(e) != EdgeKind::Weak)
            .map(|e| g.edge_target(e))
            .filter(|&w| w != v && dom[w as usize])
            .collect();
        out.sort_unstable();
        out.dedup();
        out
    };
    let index: FxHashMap<NodeIx, usize> = group.iter().enumerate().map(|(i, &v)| (v, i)).collect();
    let out: Vec<Vec<NodeIx>> = group.iter().map(|&v| links(v)).collect();
    let links_to = |i: usize, w: NodeIx| out[i].binary_search(&w).is_ok();
    let both_ways = |i: usize| -> Vec<usize> {
        out[i]
            .iter()
            .filter_map(|w| index.get(w).copied())
            .filter(|&j| links_to(j, group[i]))
            .collect()
    };
    let mut up: Vec<Option<usize>> = vec![None; group.len()];
    for i in 0..group.len() {
        // A one-way link: to the parent.
        up[i] = out[i]
            .iter()
            .filter_map(|w| index.get(w).copied())
            .find(|&j| !links_to(j, group[i]));
        if up[i].is_none() {
            // A first child: the parent is the two-way neighbour its siblings link to one way.
            let mutual = both_ways(i);
            up[i] = mutual.iter().copied().find(|&p| {
                mutual
                    .iter()
                    .any(|&sib| sib != p && links_to(sib, group[p]) && !links_to(p, group[sib]))
            });
        }
    }
    break_cycles(&mut up);
    let is_leaf_kind = |v: NodeIx| {
        let name = crate::model::v8_rules::without_detached_prefix(g.name(v));
        name == "Text" || name == "Comment"
    };
    // Only children: a forest root linked both ways to another root that is alone. Chains of
    // only children are joined one level a round, 64 levels at most.
    for round in 0.. {
        let mut size = vec![0usize; group.len()];
        for r in roots(&up) {
            size[r] += 1;
        }
        let joined = (0..group.len()).find_map(|r| {
            if up[r].is_some() {
                return None;
            }
            both_ways(r)
                .into_iter()
                .find(|&p| {
                    up[p].is_none()
                        && p != r
                        && size[p] == 1
                        && size[r] > 1
                        && !is_leaf_kind(group[p])
                })
                .map(|p| (r, p))
                .or_else(|| {
                    // Two lone nodes: the one that can have children is the parent.
                    both_ways(r)
                        .into_iter()
                        .find(|&p| {
                            up[p].is_none()
                                && size[p] == 1
                                && size[r] == 1
                                && is_leaf_kind(group[r])
                                && !is_leaf_kind(group[p])
                        })
                        .map(|p| (r, p))
                })
        });
        match joined {
            Some((child, parent)) if round < 64 => up[child] = Some(parent),
            _ => {
                let best = (0..group.len())
                    .filter(|&r| up[r].is_none())
                    .max_by_key(|&r| (size[r], s.analysis.retained_size(group[r]), group[r]));
                return best.map_or(group[0], |r| group[r]);
            }
        }
    }
    group[0]
}

/// Break any cycle the guesses of [`topmost`] made, keeping the forest a forest: for each node
/// in order whose way up runs into a cycle, the cycle is cut where a walk from that node, of as
/// many steps as there are nodes, ends (the link into the node itself when it is on the cycle).
/// Each node is walked over once: a 45,000-node tree nested 15,000 deep took 3 s when every
/// node's way up was walked whole.
fn break_cycles(up: &mut [Option<usize>]) {
    const NEW: u8 = 0;
    const ON_WALK: u8 = 1;
    const ENDS_AT_ROOT: u8 = 2;
    let mut state = vec![NEW; up.len()];
    let mut walk = Vec::new();
    for i in 0..up.len() {
        walk.clear();
        let mut x = i;
        loop {
            match state[x] {
                ENDS_AT_ROOT => break,
                ON_WALK => {
                    let tail = walk.iter().position(|&w| w == x).unwrap_or(0);
                    let cycle = walk.len() - tail;
                    let cut = if tail == 0 {
                        walk[walk.len() - 1]
                    } else {
                        walk[tail + (up.len() - tail) % cycle]
                    };
                    up[cut] = None;
                    break;
                }
                _ => {
                    state[x] = ON_WALK;
                    walk.push(x);
                    match up[x] {
                        Some(p) => x = p,
                        None => break,
                    }
                }
            }
        }
        for &w in &walk {
            state[w] = ENDS_AT_ROOT;
        }
    }
}

/// The root of each node's tree in the forest `up`, each node walked over once.
fn roots(up: &[Option<usize>]) -> Vec<usize> {
    const UNKNOWN: usize = usize::MAX;
    let mut root = vec![UNKNOWN; up.len()];
    let mut walk = Vec::new();
    for i in 0..up.len() {
        let mut x = i;
        while root[x] == UNKNOWN {
            walk.push(x);
            match up[x] {
                Some(p) => x = p,
                None => {
                    root[x] = x;
                    break;
                }
            }
        }
        let r = root[x];
        for w in walk.drain(..) {
            root[w] = r;
        }
    }
    root
}

/// Bytes a set of nodes retains together: the retained sizes of members no other member
/// dominates (a member's dominator chain is followed up to 64 steps).
fn tree_retained_size(s: &AnalyzedSnapshot, group: &[NodeIx]) -> u64 {
    let a = &s.analysis;
    let root = s.graph().root();
    let members: crate::model::FxHashSet<NodeIx> = group.iter().copied().collect();
    group
        .iter()
        .filter(|&&v| {
            let mut x = a.dominator(v);
            for _ in 0..64 {
                if members.contains(&x) {
                    return false;
                }
                if x == root {
                    break;
                }
                x = a.dominator(x);
            }
            true
        })
        .map(|&v| a.retained_size(v))
        .sum()
}

/// Members of a tree by class, most first.
fn class_counts(s: &AnalyzedSnapshot, group: &[NodeIx]) -> Vec<ClassCount> {
    let mut counts: FxHashMap<&str, u64> = FxHashMap::default();
    for &v in group {
        *counts.entry(s.class_name(v)).or_default() += 1;
    }
    let mut v: Vec<ClassCount> = counts
        .into_iter()
        .map(|(class, count)| ClassCount {
            class: class.to_string(),
            count,
        })
        .collect();
    v.sort_by(|x, y| y.count.cmp(&x.count).then_with(|| x.class.cmp(&y.class)));
    v
}

/// For each object asked about, the nearest detached DOM node on its dominator chain, if any:
/// an object that a tree's member dominates lives only because the tree does (a removed frame's
/// global object, which names its window `globalThis`). Kept across the trees of a listing, so
/// that trees under one long chain walk it once.
#[derive(Default)]
struct KeptByDom {
    memo: FxHashMap<NodeIx, Option<NodeIx>>,
}

impl KeptByDom {
    /// The nearest detached DOM node that dominates `u` (not `u` itself).
    fn dominating_member(
        &mut self,
        s: &AnalyzedSnapshot,
        dom: &[bool],
        u: NodeIx,
    ) -> Option<NodeIx> {
        let a = &s.analysis;
        let mut walked = Vec::new();
        let mut x = u;
        let found = loop {
            let d = a.dominator(x);
            if d == x {
                break None;
            }
            if dom[d as usize] {
                break Some(d);
            }
            if let Some(&known) = self.memo.get(&d) {
                break known;
            }
            walked.push(d);
            x = d;
        };
        self.memo.insert(u, found);
        for w in walked {
            self.memo.insert(w, found);
        }
        found
    }
}

/// The ways JS holds members of a tree: edges into members from reachable JS objects outside
/// the tree (not native, not weak, not kept alive by the tree itself: see [`KeptByDom`]), named
/// by the nearest named slot on the way from the GC roots (see [`TreeHolder::via`]); each way
/// counts the members it holds once.
fn held_through(
    s: &AnalyzedSnapshot,
    paths: &mut ShownPaths,
    kept: &mut KeptByDom,
    dom: &[bool],
    group: &[NodeIx],
) -> Vec<TreeHolder> {
    let g = s.graph();
    let a = &s.analysis;
    // Holders of one class through edges of one name lead the same way: one path per such key.
    let mut via_of: FxHashMap<(&str, String), usize> = FxHashMap::default();
    let mut ways: Vec<TreeHolder> = Vec::new();
    for &v in group {
        let mut counted: Vec<usize> = Vec::new();
        for e in g.retainer_edges(v) {
            let u = e.from;
            if dom[u as usize]
                || e.kind == EdgeKind::Weak
                || g.kind(u) == crate::model::NodeKind::Native
                || a.distance(u).is_none()
                || kept
                    .dominating_member(s, dom, u)
                    .is_some_and(|m| group.binary_search(&m).is_ok())
            {
                continue;
            }
            let label = g.edge_label(e.index as usize);
            let name = match e.kind {
                EdgeKind::Element | EdgeKind::Hidden => "[]".to_string(),
                _ if label.bytes().all(|b| b.is_ascii_digit()) => "[]".to_string(),
                _ => label,
            };
            let class = s.class_name(u);
            let way = *via_of.entry((class, name.clone())).or_insert_with(|| {
                let mut path = path_text(s, paths, u);
                path.push(PathText::of(s, 0, &PathStep { edge: e }));
                let via = nearest_named_slot(&path).unwrap_or_else(|| format!("{class}.{name}"));
                match ways.iter().position(|w| w.via == via) {
                    Some(i) => i,
                    None => {
                        ways.push(TreeHolder {
                            via,
                            holder_class: class.to_string(),
                            count: 0,
                            retainer_path: path,
                        });
                        ways.len() - 1
                    }
                }
            });
            if !counted.contains(&way) {
                counted.push(way);
                ways[way].count += 1;
            }
        }
    }
    ways.sort_by(|x, y| y.count.cmp(&x.count).then_with(|| x.via.cmp(&y.via)));
    ways.truncate(10);
    ways
}

/// The nearest named slot on a path to a tree member (see [`TreeHolder::via`]): a property
/// (its holder is the step before it, on the path, not across a left-out middle), or a
/// closure's variable that is not the member's own slot (a click handler's `button` says less
/// than the handlers' list above it; a `lastSeenRows` list under `app.run` says more than
/// `run`). The member's own slot is named too when the property above holds the closure itself,
/// not a list of them: a module's `let currentTooltip` reached through one of its exports reads
/// `closure variable currentTooltip (in Object.show)`.
fn nearest_named_slot(path: &[PathText]) -> Option<String> {
    let last = path.len() - 1;
    let (i, step) = (1..path.len())
        .rev()
        .filter(|&i| path[i].left_out_before == 0)
        .map(|i| (i, &path[i]))
        .find(|(i, p)| p.edge_type == "property" || (p.edge_type == "context" && *i < last))?;
    if step.edge_type == "context" {
        return Some(format!("closure variable {}", step.edge_name));
    }
    // A page's global reads `Window.lastItem`, without its URL.
    let holder = holder_name(&path[i - 1].node_class);
    let property = format!("{holder}.{}", step.edge_name);
    let own = &path[last];
    let through_a_list = path[i + 1..]
        .iter()
        .any(|p| p.edge_type == "element" || p.edge_type == "hidden" || p.left_out_before > 0);
    Some(
        if own.edge_type == "context" && i < last && !through_a_list {
            format!("closure variable {} (in {property})", own.edge_name)
        } else {
            property
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The rule [`break_cycles`] keeps, walked the slow way: from each node in order, as many
    /// steps as there are nodes.
    fn break_cycles_walking(up: &mut [Option<usize>]) {
        for i in 0..up.len() {
            let (mut seen, mut x) = (0, i);
            while let Some(p) = up[x] {
                seen += 1;
                if p == i || seen > up.len() {
                    up[x] = None;
                    break;
                }
                x = p;
            }
        }
    }

    #[test]
    fn cycles_are_cut_where_a_whole_walk_would_cut_them() {
        let mut next = crate::test_rng::xorshift(5);
        for round in 0..2000 {
            let n = 1 + (next() % if round < 1000 { 8 } else { 60 }) as usize;
            // Random guesses: most nodes point up somewhere, which makes cycles of every
            // length, with tails into them.
            let mut up: Vec<Option<usize>> = (0..n)
                .map(|_| (!next().is_multiple_of(5)).then(|| (next() % n as u64) as usize))
                .collect();
            let mut want = up.clone();
            break_cycles_walking(&mut want);
            break_cycles(&mut up);
            assert_eq!(up, want, "round {round}");
            let want_roots: Vec<usize> = (0..n)
                .map(|mut x| {
                    while let Some(p) = up[x] {
                        x = p;
                    }
                    x
                })
                .collect();
            assert_eq!(roots(&up), want_roots, "round {round}");
        }
    }
}
