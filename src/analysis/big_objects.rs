//! Objects whose retained size grows: where the memory a program adds piles up when it adds
//! no object of its own. A string built by `log += line` is a new string each time (strings
//! are V8's own), and an array of numbers or a `Set` of small numbers grows by replacing its
//! element store; the object that holds them is old, and its retained size grows.
//!
//! **Recorded per snapshot** ([`BigObjects`], about [`MAX_HOLDERS`] × 16 bytes): the objects
//! (and closure scopes) that retain at least [`MIN_RETAINED`], the biggest first, each with the
//! id of its nearest recorded dominator, and what it retains without V8's compiled code and
//! shapes.
//!
//! **Reported**: an object that was in every snapshot (matched by id), whose retained size
//! grew, and whose growth is not mostly that of one recorded object it dominates
//! ([`not_mostly_below`]: that one is reported instead, nearer to where the memory is added,
//! the Map whose entries each grow, not the scope that holds the Map). `heapsight trend`
//! follows them over a series (`crate::analysis::trend`); `leaks` lists those that grew since
//! the baseline without new objects under them ([`grown_since_baseline`]), not counted.

use std::sync::Arc;

use serde::Serialize;

use crate::analysis::retainers::slot_names_unsorted;
use crate::analysis::AnalyzedSnapshot;
use crate::model::v8_rules::{is_system_name, CONTEXT};
use crate::model::{FxHashMap, NodeIx, NodeKind};

/// Objects retaining less than this are not recorded (in that snapshot the series reads this
/// value: what it retained is known to be no more).
pub const MIN_RETAINED: u64 = 4096;

/// The most objects recorded per snapshot, the biggest first.
pub const MAX_HOLDERS: usize = 100_000;

/// Recorded objects retaining at least this get their names (what holds them) too.
const NAMED_FROM: u64 = 16 * 1024;

/// The most names kept for an object (as for a trend's collections).
const NAMES: usize = 2;

/// How many dominators up a recorded object's parent is looked for.
const PARENT_STEPS: usize = 4096;

/// How many dominators up the object holding a piece of compiled code is looked for (there
/// are many such pieces; code deeper than this below any recorded object counts as data).
const CODE_STEPS: usize = 64;

/// One recorded object in one snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeldBytes {
    /// Its id.
    pub id: u32,
    /// The id of its nearest dominator that is recorded too (0: none).
    pub parent: u32,
    /// Its retained size.
    pub retained: u64,
}

/// The objects one snapshot records ([`HeldBytes`]), sorted by id.
#[derive(Debug, Clone, Default)]
pub struct BigObjects {
    /// The recorded objects, by id.
    pub rows: Vec<HeldBytes>,
    /// What an object of the snapshot that is not recorded retains at most.
    floor: u64,
    /// Class of each row (same order as `rows`; empty when not described).
    classes: Vec<Arc<str>>,
    /// What the program calls the biggest rows (see [`names_of`]), by id; sorted by id.
    names: Vec<(u32, Vec<String>)>,
}

/// Can `n` be where a program's memory piles up: one of its objects or functions, or a
/// closure's scope (its variables)?
fn is_holder_kind(s: &AnalyzedSnapshot, n: NodeIx) -> bool {
    let g = s.graph();
    let name = g.name(n);
    match g.kind(n) {
        // V8 writes closure scopes as objects or as hidden nodes, by version.
        NodeKind::Object | NodeKind::Closure => !is_system_name(name) || name == CONTEXT,
        NodeKind::Hidden => name == CONTEXT,
        _ => false,
    }
}

/// What the program calls `n`. A closure's scope is named by the variable in it that retains
/// the most (`closure variable log`); anything else by the slots that hold it.
fn names_of(s: &AnalyzedSnapshot, n: NodeIx) -> Vec<String> {
    let g = s.graph();
    let a = &s.analysis;
    if g.name(n) == CONTEXT {
        let biggest = g
            .edges(n)
            .filter(|e| e.kind == crate::model::EdgeKind::Context && a.dominator(e.to) == n)
            .max_by_key(|e| a.retained_size(e.to));
        return biggest.map_or_else(Vec::new, |e| slot_names_unsorted(s, e.to, 1));
    }
    slot_names_unsorted(s, n, NAMES)
}

/// The nearest dominator of `n` (not `n` itself, nor the root), at most `steps` up, that
/// `found` gives a value for.
fn nearest_dominator<T>(
    s: &AnalyzedSnapshot,
    n: NodeIx,
    steps: usize,
    found: impl Fn(NodeIx) -> Option<T>,
) -> Option<T> {
    let (a, root) = (&s.analysis, s.graph().root());
    let mut d = n;
    for _ in 0..steps {
        let up = a.dominator(d);
        if up == d || up == root {
            return None;
        }
        if let Some(x) = found(up) {
            return Some(x);
        }
        d = up;
    }
    None
}

/// The recorded nodes and their dominator tree: each one's nearest recorded dominator.
struct RecordedTree {
    /// Row of each recorded node.
    row_of: FxHashMap<NodeIx, u32>,
    /// Per row, the row of its nearest recorded dominator ([`NONE`] when there is none within
    /// [`PARENT_STEPS`]).
    up: Vec<u32>,
}

/// No row.
const NONE: u32 = u32::MAX;

impl RecordedTree {
    fn new(s: &AnalyzedSnapshot, nodes: &[NodeIx]) -> Self {
        let row_of: FxHashMap<NodeIx, u32> = nodes
            .iter()
            .enumerate()
            .map(|(i, &n)| (n, i as u32))
            .collect();
        let mut t = Self {
            row_of,
            up: Vec::new(),
        };
        t.up = nodes
            .iter()
            .map(|&n| t.nearest(s, n, PARENT_STEPS))
            .collect();
        t
    }

    /// The row of `n`'s nearest recorded dominator (not `n` itself), at most `steps` up.
    fn nearest(&self, s: &AnalyzedSnapshot, n: NodeIx, steps: usize) -> u32 {
        nearest_dominator(s, n, steps, |d| self.row_of.get(&d).copied()).unwrap_or(NONE)
    }

    /// Per row, the bytes of V8's compiled code and shapes among what it retains. Functions
    /// are compiled lazily and optimised as they get hot, and the code hangs under the
    /// closures and scopes that hold them, so a clean program's module scope grows for a
    /// while with nothing of the program's in it: the growth followed is of the rest. Each
    /// such node's size goes to its nearest recorded dominator, and each row's sum then to
    /// the rows above it, the deepest first.
    fn engine_bytes(&self, s: &AnalyzedSnapshot) -> Vec<u64> {
        let (g, a) = (s.graph(), &s.analysis);
        let mut total = vec![0u64; self.up.len()];
        for n in 0..g.node_count() as NodeIx {
            if matches!(g.kind(n), NodeKind::Code | NodeKind::ObjectShape) {
                let size = a.shallow_size(n);
                let row = if size > 0 {
                    self.nearest(s, n, CODE_STEPS)
                } else {
                    NONE
                };
                if row != NONE {
                    total[row as usize] += size;
                }
            }
        }
        let depth = self.depths();
        let mut deepest_first: Vec<u32> = (0..self.up.len() as u32).collect();
        deepest_first.sort_unstable_by_key(|&r| std::cmp::Reverse(depth[r as usize]));
        for r in deepest_first {
            let up = self.up[r as usize];
            if up != NONE {
                total[up as usize] += total[r as usize];
            }
        }
        total
    }

    /// Per row, how many recorded dominators are above it.
    fn depths(&self) -> Vec<u32> {
        let mut depth = vec![NONE; self.up.len()];
        let mut path = Vec::new();
        for r in 0..self.up.len() {
            let mut x = r as u32;
            while x != NONE && depth[x as usize] == NONE {
                path.push(x);
                x = self.up[x as usize];
            }
            let mut d = if x == NONE { 0 } else { depth[x as usize] + 1 };
            while let Some(y) = path.pop() {
                depth[y as usize] = d;
                d += 1;
            }
        }
        depth
    }
}

impl BigObjects {
    /// Record the snapshot's biggest holders; with `describe`, their classes and names too
    /// (for the snapshot whose objects are listed).
    pub fn record(s: &AnalyzedSnapshot, describe: bool) -> Self {
        let g = s.graph();
        let a = &s.analysis;
        let root = g.root();
        let mut big: Vec<(u64, NodeIx)> = (0..g.node_count() as NodeIx)
            .filter(|&n| n != root && a.retained_size(n) >= MIN_RETAINED && is_holder_kind(s, n))
            .map(|n| (a.retained_size(n), n))
            .collect();
        let mut floor = MIN_RETAINED;
        if big.len() > MAX_HOLDERS {
            big.select_nth_unstable_by(MAX_HOLDERS - 1, |x, y| y.0.cmp(&x.0));
            big.truncate(MAX_HOLDERS);
            floor = big.iter().map(|b| b.0).min().unwrap_or(MIN_RETAINED);
        }
        let nodes: Vec<NodeIx> = big.iter().map(|b| b.1).collect();
        let tree = RecordedTree::new(s, &nodes);
        let engine = tree.engine_bytes(s);
        let mut rows: Vec<(HeldBytes, NodeIx)> = big
            .iter()
            .enumerate()
            .map(|(i, &(retained, n))| {
                let up = tree.up[i];
                let row = HeldBytes {
                    id: g.id(n),
                    parent: if up == NONE {
                        0
                    } else {
                        g.id(nodes[up as usize])
                    },
                    retained: retained.saturating_sub(engine[i]),
                };
                (row, n)
            })
            .collect();
        rows.sort_by_key(|r| r.0.id);
        rows.dedup_by_key(|r| r.0.id);
        let mut out = Self {
            rows: rows.iter().map(|r| r.0).collect(),
            floor,
            ..Self::default()
        };
        if describe {
            // One allocation a class name, not one a row.
            let mut interned: FxHashMap<&str, Arc<str>> = FxHashMap::default();
            out.classes = rows
                .iter()
                .map(|&(_, n)| {
                    let name = s.classes.name_of(n);
                    Arc::clone(interned.entry(name).or_insert_with(|| Arc::from(name)))
                })
                .collect();
            out.names = rows
                .iter()
                .filter(|r| r.0.retained >= NAMED_FROM)
                .map(|&(r, n)| (r.id, names_of(s, n)))
                .filter(|x| !x.1.is_empty())
                .collect();
        }
        out
    }

    /// What object `id` retained in this snapshot: its row's figure, or the floor when it is
    /// not recorded (it retained no more than that).
    pub fn retained(&self, id: u32) -> u64 {
        self.row(id).map_or(self.floor, |i| self.rows[i].retained)
    }

    fn row(&self, id: u32) -> Option<usize> {
        self.rows.binary_search_by_key(&id, |r| r.id).ok()
    }

    /// The class of row `i` (recorded with `describe`).
    pub fn class(&self, i: usize) -> &Arc<str> {
        &self.classes[i]
    }

    /// What the program calls object `id` (see [`names_of`]): empty when nothing names it,
    /// when it retains less than 16 KiB, or after [`forget_names`](Self::forget_names).
    pub fn names(&self, id: u32) -> Vec<String> {
        self.names
            .binary_search_by_key(&id, |x| x.0)
            .map(|j| self.names[j].1.clone())
            .unwrap_or_default()
    }

    /// The row of the nearest recorded dominator of node `n` of the snapshot `s` these rows
    /// were recorded from (not `n` itself).
    fn nearest_row(&self, s: &AnalyzedSnapshot, n: NodeIx) -> Option<usize> {
        nearest_dominator(s, n, PARENT_STEPS, |d| self.row(s.graph().id(d)))
    }

    /// Its class names, shared with the trend's other names.
    pub fn share_names(&mut self, share: &mut impl FnMut(&mut Arc<str>)) {
        self.classes.iter_mut().for_each(share);
    }

    /// Drop the classes and names (kept only for the snapshot the trend ends with).
    pub fn forget_names(&mut self) {
        self.classes = Vec::new();
        self.names = Vec::new();
    }
}

/// Per row of `rows` (one snapshot's, by id), whether its growth (`None`: not followed) is
/// its own, not mostly (half or more) that of a followed row directly below it.
pub fn not_mostly_below(rows: &[HeldBytes], growth: &[Option<i64>]) -> Vec<bool> {
    let mut below: FxHashMap<u32, i64> = FxHashMap::default();
    for (r, g) in rows.iter().zip(growth) {
        if let (Some(g), true) = (g, r.parent != 0) {
            let m = below.entry(r.parent).or_insert(i64::MIN);
            *m = (*m).max(*g);
        }
    }
    rows.iter()
        .zip(growth)
        .map(|(r, g)| match (g, below.get(&r.id)) {
            (Some(g), Some(&b)) => b.saturating_mul(2) < *g,
            (Some(_), None) => true,
            (None, _) => false,
        })
        .collect()
}

/// An old object that retains more in the final snapshot than in the baseline with no new
/// object of the program's under it (see [`grown_since_baseline`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GrownHolder {
    /// Its node id (the same object in all three snapshots).
    pub id: u32,
    /// Its class (`system / Context` for a closure's scope).
    pub class: String,
    /// What the program calls it: the slots that hold it, or for a scope its variable that
    /// retains the most (`closure variable log`); may be empty.
    pub held_as: Vec<String>,
    /// What it retained in the baseline, the target and the final snapshot, without V8's
    /// compiled code and shapes.
    pub baseline_bytes: u64,
    /// In the target.
    pub target_bytes: u64,
    /// In the final snapshot.
    pub final_bytes: u64,
}

impl GrownHolder {
    /// Bytes added from the baseline to the final snapshot.
    pub fn grown_by(&self) -> u64 {
        self.final_bytes.saturating_sub(self.baseline_bytes)
    }

    /// `Array @11 (closure variable ids)`.
    pub fn label(&self) -> String {
        if self.held_as.is_empty() {
            format!("{} @{}", self.class, self.id)
        } else {
            format!("{} @{} ({})", self.class, self.id, self.held_as.join(", "))
        }
    }
}

/// The three snapshots of a leak trio, with a test of whether an id is in the baseline and in
/// the target.
pub struct Trio<'a, B: Fn(u32) -> bool, T: Fn(u32) -> bool> {
    /// The baseline.
    pub baseline: &'a AnalyzedSnapshot,
    /// The target.
    pub target: &'a AnalyzedSnapshot,
    /// The final snapshot.
    pub final_: &'a AnalyzedSnapshot,
    /// Is this id in the baseline?
    pub in_baseline: B,
    /// Is this id in the target?
    pub in_target: T,
}

/// The objects of a leak trio that grew since the baseline by at least `min_bytes`, in the
/// target and still in the final snapshot (keeping at least half of that), without any of
/// `counted` (the leaked objects, nodes of the final snapshot) under them: a string built by
/// `+=`, an array of numbers. Most bytes first. Three snapshots can't tell such growth from a
/// buffer filling up to its cap, so a trio lists them and counts nothing.
pub fn grown_since_baseline<B: Fn(u32) -> bool, T: Fn(u32) -> bool>(
    trio: Trio<'_, B, T>,
    counted: impl Iterator<Item = NodeIx>,
    min_bytes: u64,
) -> Vec<GrownHolder> {
    let Trio {
        baseline,
        target,
        final_,
        in_baseline,
        in_target,
    } = trio;
    let (b, t) = (
        BigObjects::record(baseline, false),
        BigObjects::record(target, false),
    );
    let f = BigObjects::record(final_, true);
    // Rows holding a counted object, and the rows above them.
    let mut holds_counted = vec![false; f.rows.len()];
    for v in counted {
        let mut at = f.nearest_row(final_, v);
        while let Some(i) = at.filter(|&i| !holds_counted[i]) {
            holds_counted[i] = true;
            at = f.row(f.rows[i].parent);
        }
    }
    let growth: Vec<Option<i64>> = f
        .rows
        .iter()
        .map(|r| {
            let old = in_baseline(r.id) && in_target(r.id);
            old.then(|| r.retained as i64 - b.retained(r.id) as i64)
        })
        .collect();
    let own = not_mostly_below(&f.rows, &growth);
    let mut out: Vec<GrownHolder> = f
        .rows
        .iter()
        .enumerate()
        .filter(|&(i, _)| own[i] && !holds_counted[i])
        .filter_map(|(i, r)| {
            let (bb, tb, fb) = (b.retained(r.id), t.retained(r.id), r.retained);
            let grew = fb.saturating_sub(bb);
            // Still at least half of what it had grown by in the target.
            let kept = grew * 2 >= tb.saturating_sub(bb);
            (grew >= min_bytes && tb > bb && kept).then(|| GrownHolder {
                id: r.id,
                class: f.class(i).to_string(),
                held_as: f.names(r.id),
                baseline_bytes: bb,
                target_bytes: tb,
                final_bytes: fb,
            })
        })
        .collect();
    out.sort_by_key(|h| (std::cmp::Reverse(h.grown_by()), h.id));
    out
}
