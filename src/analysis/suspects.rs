//! Leak suspects in one snapshot, after Eclipse MAT's idea: objects that retain a large share of
//! the heap, and accumulation points — where retained memory fans out into many objects of one
//! class (a Map, Set, Array or object holding thousands of same-class instances). Each suspect
//! comes with a plain-language explanation, its class breakdown and its path from the root.

use serde::Serialize;

use super::detached::{path_text, PathText};
use super::retainers::{slot_names, ShownPaths, HELD_AS};
use super::AnalyzedSnapshot;
use crate::model::v8_rules::{is_engine_class_name, is_system_name, is_user_root, CLOSURE_CLASS};
use crate::model::{FxHashMap, HeapGraph, NodeIx, NodeKind};
use crate::units::human_bytes;

/// Why an object is a suspect.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum SuspectKind {
    /// Retains at least the threshold share of the heap.
    LargeRetainer,
    /// Holds many instances of one class.
    Accumulation,
}

/// Instances of one class under a suspect.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ClassShare {
    /// Class name.
    pub class: String,
    /// How many (immediately dominated by the suspect or its storage).
    pub count: u64,
    /// Bytes they retain.
    pub retained_size: u64,
}

/// One leak suspect.
#[derive(Debug, Clone, Serialize)]
pub struct LeakSuspect {
    /// Why it is a suspect.
    pub kind: SuspectKind,
    /// The suspect object's id.
    pub node_id: u32,
    /// Its class.
    pub class: String,
    /// Bytes it retains.
    pub retained_size: u64,
    /// Share of the total heap, 0..1.
    pub share: f64,
    /// One or two sentences for humans.
    pub explanation: String,
    /// Largest classes among what it holds.
    pub breakdown: Vec<ClassShare>,
    /// What the program calls it: the named slots holding it (see
    /// [`slot_names`](super::retainers::slot_names)), at most [`HELD_AS`].
    pub held_as: Vec<String>,
    /// Path from a GC root to the suspect.
    pub path: Vec<PathText>,
    /// The suspect (node index).
    #[serde(skip)]
    pub node: NodeIx,
}

/// Settings for [`find_suspects`].
#[derive(Debug, Clone, Copy)]
pub struct SuspectOptions {
    /// Share of the heap an object must retain to be a large-retainer suspect (0..1).
    pub threshold: f64,
    /// Instances of one class that make an accumulation point.
    pub min_instances: u64,
}

impl Default for SuspectOptions {
    fn default() -> Self {
        Self {
            threshold: 0.10,
            min_instances: 100,
        }
    }
}

/// An object a user would recognise (not V8's internal storage or synthetic roots).
fn is_real_object(g: &HeapGraph, n: NodeIx) -> bool {
    match g.kind(n) {
        NodeKind::Object | NodeKind::Closure | NodeKind::Native | NodeKind::RegExp => {
            !is_system_name(g.name(n))
        }
        _ => false,
    }
}

/// The nearest real object at or above `n` in the dominator tree (internal storage is reported
/// as its owner).
fn owner_of(s: &AnalyzedSnapshot, mut n: NodeIx) -> NodeIx {
    let g = s.graph();
    let mut steps = 0;
    while !is_real_object(g, n) && n != g.root() && steps < 64 {
        n = s.analysis.dominator(n);
        steps += 1;
    }
    n
}

/// Class breakdown of the nodes `n` immediately dominates, largest retained first.
fn breakdown(s: &AnalyzedSnapshot, n: NodeIx, top: usize) -> Vec<ClassShare> {
    let mut by_class: FxHashMap<u32, (u64, u64)> = FxHashMap::default();
    let mut stack = vec![n];
    // Look through internal storage (a Map's table, an object's elements) to the entries.
    while let Some(v) = stack.pop() {
        for &c in s.analysis.dominators.children().of(v) {
            if !is_real_object(s.graph(), c) && c != n && is_storage(s.graph(), c) {
                stack.push(c);
                continue;
            }
            let e = by_class.entry(s.classes.class_of[c as usize]).or_default();
            e.0 += 1;
            e.1 += s.analysis.retained_size(c);
        }
    }
    let mut v: Vec<ClassShare> = by_class
        .into_iter()
        .map(|(c, (count, retained_size))| ClassShare {
            class: s.classes.names[c as usize].clone(),
            count,
            retained_size,
        })
        .collect();
    v.sort_by(|a, b| {
        b.retained_size
            .cmp(&a.retained_size)
            .then(b.count.cmp(&a.count))
    });
    v.truncate(top);
    v
}

/// Classes a program creates on purpose: not V8's `(string)`, `(compiled code)`, `system / …`,
/// nor functions (which pile up in every module scope).
fn is_user_class(name: &str) -> bool {
    !is_engine_class_name(name) && name != CLOSURE_CLASS
}

fn is_storage(g: &HeapGraph, n: NodeIx) -> bool {
    matches!(g.kind(n), NodeKind::Array | NodeKind::Hidden)
}

/// `Array @6157 (closure variable kept)`: the suspect's class, id and what the program calls
/// it.
fn describe(s: &AnalyzedSnapshot, n: NodeIx, held_as: &[String]) -> String {
    let g = s.graph();
    let mut text = format!("{} @{}", s.class_name(n), g.id(n));
    if !held_as.is_empty() {
        text.push_str(&format!(" ({})", held_as.join(", ")));
    }
    text
}

fn is_user_root_of(g: &HeapGraph, n: NodeIx) -> bool {
    g.retainer_nodes(n).any(|r| r == g.root()) && is_user_root(g, n)
}

/// Find leak suspects in one snapshot.
pub fn find_suspects(s: &AnalyzedSnapshot, opts: SuspectOptions) -> Vec<LeakSuspect> {
    let g = s.graph();
    let a = &s.analysis;
    let total = a.retained_size(g.root()).max(1);
    let big = (opts.threshold * total as f64).ceil() as u64;
    let mut out: Vec<LeakSuspect> = Vec::new();
    let mut shown = ShownPaths::new(g, a);

    // Large retainers: walk down only into children above the threshold; a real object is a
    // suspect unless deeper suspects account for all but less than the threshold of it.
    let mut large: Vec<NodeIx> = Vec::new();
    let mut stack = vec![g.root()];
    while let Some(v) = stack.pop() {
        for &c in a.dominators.children().of(v) {
            if a.retained_size(c) >= big {
                stack.push(c);
                // The global object holds everything a program keeps; saying so helps nobody.
                let global = v == g.root() && is_user_root(g, c);
                if is_real_object(g, c) && !global {
                    large.push(c);
                }
            }
        }
    }
    // Deepest first: a node's excess is what its deeper suspects don't explain.
    large.reverse();
    let mut explained: FxHashMap<NodeIx, u64> = FxHashMap::default();
    let mut chosen: Vec<NodeIx> = Vec::new();
    for &v in &large {
        let below = explained.get(&v).copied().unwrap_or(0);
        let own = a.retained_size(v).saturating_sub(below);
        let pick = below == 0 || own >= big;
        // Pass what is explained up to the nearest large real-object ancestor.
        let mut d = a.dominator(v);
        while d != g.root() && !(is_real_object(g, d) && a.retained_size(d) >= big) {
            d = a.dominator(d);
        }
        if d != g.root() {
            *explained.entry(d).or_default() += if pick { a.retained_size(v) } else { below };
        }
        if pick {
            chosen.push(v);
        }
    }
    for v in chosen {
        let r = a.retained_size(v);
        let share = r as f64 / total as f64;
        let parts = breakdown(s, v, 5);
        let held_as = slot_names(s, v, HELD_AS);
        let mut text = format!(
            "{} retains {} ({:.1} % of the heap).",
            describe(s, v, &held_as),
            human_bytes(r),
            share * 100.0
        );
        if let Some(top) = parts.first() {
            text.push_str(&format!(
                " The largest part is {} {} object(s) retaining {}.",
                top.count,
                top.class,
                human_bytes(top.retained_size)
            ));
        }
        out.push(LeakSuspect {
            kind: SuspectKind::LargeRetainer,
            node_id: g.id(v),
            class: s.class_name(v).to_string(),
            retained_size: r,
            share,
            explanation: text,
            breakdown: parts,
            held_as,
            path: path_text(s, &mut shown, v),
            node: v,
        });
    }

    // Accumulation points: many same-class objects directly under one node (through storage).
    let children = a.dominators.children();
    let mut seen_owner: FxHashMap<NodeIx, ()> = FxHashMap::default();
    for v in 0..g.node_count() as NodeIx {
        if (children.of(v).len() as u64) < opts.min_instances || v == g.root() {
            continue;
        }
        let mut counts: FxHashMap<u32, (u64, u64)> = FxHashMap::default();
        for &c in children.of(v) {
            let e = counts.entry(s.classes.class_of[c as usize]).or_default();
            e.0 += 1;
            e.1 += a.retained_size(c);
        }
        let Some((&class, &(count, retained))) = counts
            .iter()
            .filter(|(&c, _)| is_user_class(&s.classes.names[c as usize]))
            .max_by_key(|(_, &(n, r))| (n, r))
        else {
            continue;
        };
        if count < opts.min_instances {
            continue;
        }
        let owner = owner_of(s, v);
        if owner == g.root() || is_user_root_of(g, owner) || seen_owner.insert(owner, ()).is_some()
        {
            continue;
        }
        let class_name = &s.classes.names[class as usize];
        let r = a.retained_size(owner);
        let via = if owner != v {
            format!(" (in its internal {} @{})", s.class_name(v), g.id(v))
        } else {
            String::new()
        };
        let holds = format!(
            "holds {} {} objects{} that retain {} ({:.1} % of the heap). \
             A collection that only grows is the classic leak: check what removes entries.",
            count,
            class_name,
            via,
            human_bytes(retained),
            retained as f64 * 100.0 / total as f64
        );
        // Already a large retainer: say what it accumulates instead of listing it twice.
        if let Some(existing) = out.iter_mut().find(|x| x.node == owner) {
            existing.kind = SuspectKind::Accumulation;
            existing.explanation = format!(
                "{} retains {} ({:.1} % of the heap). It {holds}",
                describe(s, owner, &existing.held_as),
                human_bytes(existing.retained_size),
                existing.share * 100.0,
            );
            continue;
        }
        let held_as = slot_names(s, owner, HELD_AS);
        out.push(LeakSuspect {
            kind: SuspectKind::Accumulation,
            node_id: g.id(owner),
            class: s.class_name(owner).to_string(),
            retained_size: r,
            share: r as f64 / total as f64,
            explanation: format!("{} {holds}", describe(s, owner, &held_as)),
            breakdown: breakdown(s, owner, 5),
            held_as,
            path: path_text(s, &mut shown, owner),
            node: owner,
        });
    }
    out.sort_by_key(|x| std::cmp::Reverse(x.retained_size));
    out
}
