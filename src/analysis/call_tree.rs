//! Top-down and bottom-up call trees of an allocation profile, with every metric on every node.
//!
//! Top-down: the root's children are the outermost frames (`main`), each node's value is what
//! was allocated in calls through that stack prefix. Bottom-up: the root's children are the
//! allocating functions (after folding), each with its callers below it, so "who allocates,
//! and from where" reads from the top. Frames merge by function name, as in flame graphs: the
//! same function called from two lines of one caller is one node (its location is the first
//! seen). Recursion is not collapsed; a recursive function appears once per level.

use serde::Serialize;

use crate::model::alloc::{AllocMetrics, AllocProfile, Metric, StackTrie};

/// Which way a call tree hangs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Callers above callees: `main` at the top.
    #[default]
    TopDown,
    /// Allocating functions at the top, their callers below.
    BottomUp,
}

/// A call tree: node 0 is the root (all allocations); children in a compact list per node,
/// inclusive values in one column per metric the producer records (12 bytes per node plus 8
/// per recorded metric; children 4).
#[derive(Debug, Clone)]
pub struct CallTree {
    /// Which way it hangs.
    pub direction: Direction,
    /// Frame of each node (`u32::MAX` for the root): a frame of the profile.
    frame: Vec<u32>,
    parent: Vec<u32>,
    depth: Vec<u32>,
    /// The metrics kept, and for each a column of inclusive values per node.
    recorded: Vec<Metric>,
    columns: Vec<Vec<u64>>,
    /// Children of node `n`: `children[first_child[n]..first_child[n + 1]]`.
    first_child: Vec<u32>,
    children: Vec<u32>,
}

/// The root's index.
pub const ROOT: u32 = 0;

impl CallTree {
    /// Build the tree of `p`'s sites, their stacks folded by `p`'s folding and frames merged
    /// by function.
    pub fn build(p: &AllocProfile, direction: Direction) -> Self {
        let trie = p.stack_trie(direction == Direction::BottomUp, |f| {
            p.frames[f as usize].function
        });
        let recorded: Vec<Metric> = Metric::ALL.into_iter().filter(|&m| p.records(m)).collect();
        // Each site's values on the node its stack ends at, then summed up into the parents
        // (children come after their parents, so one backwards pass).
        let mut columns: Vec<Vec<u64>> = vec![vec![0; trie.len()]; recorded.len()];
        for (c, &m) in columns.iter_mut().zip(&recorded) {
            for (site, &leaf) in p.sites.iter().zip(&trie.leaf_of_site) {
                c[leaf as usize] += site.metrics.get(m);
            }
            for n in (1..trie.len()).rev() {
                c[trie.parent[n] as usize] += c[n];
            }
        }
        let StackTrie {
            frame,
            parent,
            depth,
            ..
        } = trie;
        // Children lists by counting sort on the parent (the root is its own parent: skip it).
        let n = frame.len();
        let mut first_child = vec![0u32; n + 1];
        for &par in &parent[1..] {
            first_child[par as usize + 1] += 1;
        }
        for i in 0..n {
            first_child[i + 1] += first_child[i];
        }
        let mut fill = first_child.clone();
        let mut children = vec![0u32; n - 1];
        for (child, &par) in parent.iter().enumerate().skip(1) {
            children[fill[par as usize] as usize] = child as u32;
            fill[par as usize] += 1;
        }
        Self {
            direction,
            frame,
            parent,
            depth,
            recorded,
            columns,
            first_child,
            children,
        }
    }

    /// Number of nodes, the root included.
    pub fn len(&self) -> usize {
        self.frame.len()
    }

    /// True when only the root is there (a profile without sites).
    pub fn is_empty(&self) -> bool {
        self.frame.len() <= 1
    }

    /// The profile frame of node `n` (`None` for the root).
    pub fn frame(&self, n: u32) -> Option<u32> {
        Some(self.frame[n as usize]).filter(|&f| f != u32::MAX)
    }

    /// The parent of `n` (the root's parent is the root).
    pub fn parent(&self, n: u32) -> u32 {
        self.parent[n as usize]
    }

    /// Depth of `n` (root 0).
    pub fn depth(&self, n: u32) -> u32 {
        self.depth[n as usize]
    }

    /// The inclusive value of `m` at `n` (0 for a metric the producer doesn't record).
    pub fn value(&self, n: u32, m: Metric) -> u64 {
        self.recorded
            .iter()
            .position(|&r| r == m)
            .map_or(0, |c| self.columns[c][n as usize])
    }

    /// Inclusive metrics of `n`: everything allocated through it (lifetimes are not kept).
    pub fn metrics(&self, n: u32) -> AllocMetrics {
        let mut out = AllocMetrics::default();
        for (c, &m) in self.columns.iter().zip(&self.recorded) {
            out.set(m, c[n as usize]);
        }
        out
    }

    /// `m` of what `n` itself accounts for, beyond its children (see
    /// [`CallTree::self_metrics`]).
    pub fn self_value(&self, n: u32, m: Metric) -> u64 {
        let below: u64 = self.children(n).iter().map(|&c| self.value(c, m)).sum();
        self.value(n, m).saturating_sub(below)
    }

    /// What `n` itself accounts for, beyond its children: in a top-down tree, the
    /// allocations made directly in the function; in a bottom-up tree, stacks that end there.
    pub fn self_metrics(&self, n: u32) -> AllocMetrics {
        let mut below = AllocMetrics::default();
        for &c in self.children(n) {
            below.add(&self.metrics(c));
        }
        self.metrics(n).saturating_sub(&below)
    }

    /// Children of `n`, in build order.
    pub fn children(&self, n: u32) -> &[u32] {
        let (a, b) = (
            self.first_child[n as usize] as usize,
            self.first_child[n as usize + 1] as usize,
        );
        &self.children[a..b]
    }

    /// Children of `n`, largest first by `metric` (ties by function name).
    pub fn sorted_children(&self, p: &AllocProfile, n: u32, metric: Metric) -> Vec<u32> {
        let mut v: Vec<u32> = self.children(n).to_vec();
        v.sort_by(|&a, &b| {
            self.value(b, metric)
                .cmp(&self.value(a, metric))
                .then_with(|| self.function(p, a).cmp(self.function(p, b)))
        });
        v
    }

    /// The nodes below the root depth-first, siblings largest first by `metric`: a node's
    /// children are entered when `descend(node)` and kept when `keep(child)`; at most `limit`.
    pub fn walk(
        &self,
        p: &AllocProfile,
        metric: Metric,
        descend: impl Fn(u32) -> bool,
        keep: impl Fn(u32) -> bool,
        limit: usize,
    ) -> Vec<u32> {
        let mut out = Vec::new();
        let mut stack = vec![ROOT];
        while let Some(n) = stack.pop() {
            if n != ROOT {
                if out.len() >= limit {
                    break;
                }
                out.push(n);
            }
            if n == ROOT || descend(n) {
                let mut kids = self.sorted_children(p, n, metric);
                kids.retain(|&c| keep(c));
                kids.reverse();
                stack.extend(kids);
            }
        }
        out
    }

    /// Function name of `n` (`(all allocations)` for the root).
    pub fn function<'a>(&self, p: &'a AllocProfile, n: u32) -> &'a str {
        match self.frame(n) {
            Some(f) => p.function(f),
            None => "(all allocations)",
        }
    }

    /// Nodes from the root down to `n`, both included.
    pub fn path(&self, n: u32) -> Vec<u32> {
        let mut path = vec![n];
        let mut at = n;
        while at != ROOT {
            at = self.parent(at);
            path.push(at);
        }
        path.reverse();
        path
    }

    /// The deepest node's depth.
    pub fn max_depth(&self) -> u32 {
        self.depth.iter().copied().max().unwrap_or(0)
    }
}

/// One line of a call tree printed as JSON by `heapsight calltree --json`.
#[derive(Debug, Clone, Serialize)]
pub struct CallTreeRow {
    /// Depth below the root (1 for the root's children).
    pub depth: u32,
    /// Function name.
    pub function: String,
    /// `file:line` of the first frame merged into the node, or empty.
    pub location: String,
    /// Inclusive metrics.
    pub metrics: AllocMetrics,
    /// The node's own part (see [`CallTree::self_metrics`]).
    pub self_metrics: AllocMetrics,
}

/// The tree flattened depth-first, children largest first by `metric` (those where it is zero
/// left out), down to `max_depth` levels and at most `limit` rows (the root itself too).
pub fn flatten(
    p: &AllocProfile,
    tree: &CallTree,
    metric: Metric,
    max_depth: u32,
    limit: usize,
) -> Vec<CallTreeRow> {
    tree.walk(
        p,
        metric,
        |n| tree.depth(n) < max_depth,
        |n| tree.value(n, metric) > 0,
        limit,
    )
    .into_iter()
    .map(|n| CallTreeRow {
        depth: tree.depth(n),
        function: tree.function(p, n).to_string(),
        location: tree
            .frame(n)
            .map(|f| p.location(f).to_string())
            .unwrap_or_default(),
        metrics: tree.metrics(n),
        self_metrics: tree.self_metrics(n),
    })
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::alloc::Folding;
    use crate::model::FxHashMap;

    /// main → a → alloc 10 bytes; main → a → b → alloc 5; main → b → alloc 7.
    fn profile() -> AllocProfile {
        let mut p = AllocProfile {
            folding: Folding::none(),
            ..Default::default()
        };
        let mut index = FxHashMap::default();
        let main = p.frame("main", "m.rs:1", &mut index);
        let a = p.frame("a", "a.rs:1", &mut index);
        let b = p.frame("b", "b.rs:1", &mut index);
        let b2 = p.frame("b", "b.rs:2", &mut index);
        for (frames, bytes) in [
            (vec![main, a], 10),
            (vec![main, a, b], 5),
            (vec![main, b2], 7),
        ] {
            p.push_site(
                &frames,
                AllocMetrics {
                    total_bytes: bytes,
                    total_blocks: 1,
                    ..Default::default()
                },
            );
        }
        p.strings.finish();
        p
    }

    fn named(p: &AllocProfile, t: &CallTree, n: u32) -> Vec<(String, u64)> {
        t.sorted_children(p, n, Metric::TotalBytes)
            .into_iter()
            .map(|c| (t.function(p, c).to_string(), t.metrics(c).total_bytes))
            .collect()
    }

    #[test]
    fn top_down() {
        let p = profile();
        let t = CallTree::build(&p, Direction::TopDown);
        assert_eq!(t.metrics(ROOT).total_bytes, 22);
        assert_eq!(named(&p, &t, ROOT), [("main".to_string(), 22)]);
        let main = t.children(ROOT)[0];
        assert_eq!(named(&p, &t, main), [("a".into(), 15), ("b".into(), 7)]);
        let a = t.sorted_children(&p, main, Metric::TotalBytes)[0];
        assert_eq!(t.self_metrics(a).total_bytes, 10);
        assert_eq!(t.self_metrics(main).total_bytes, 0);
        assert_eq!(t.path(a), [ROOT, main, a]);
        assert_eq!(t.max_depth(), 3);
    }

    #[test]
    fn bottom_up() {
        let p = profile();
        let t = CallTree::build(&p, Direction::BottomUp);
        // Allocating functions first: b (5 + 7, its two lines merged), then a.
        assert_eq!(named(&p, &t, ROOT), [("b".into(), 12), ("a".into(), 10)]);
        let b = t.sorted_children(&p, ROOT, Metric::TotalBytes)[0];
        assert_eq!(named(&p, &t, b), [("main".into(), 7), ("a".into(), 5)]);
        let rows = flatten(&p, &t, Metric::TotalBytes, 2, 100);
        let text: Vec<(u32, &str, u64)> = rows
            .iter()
            .map(|r| (r.depth, r.function.as_str(), r.metrics.total_bytes))
            .collect();
        assert_eq!(
            text,
            [
                (1, "b", 12),
                (2, "main", 7),
                (2, "a", 5),
                (1, "a", 10),
                (2, "main", 10)
            ]
        );
        assert_eq!(flatten(&p, &t, Metric::TotalBytes, 9, 3).len(), 3);
    }
}
