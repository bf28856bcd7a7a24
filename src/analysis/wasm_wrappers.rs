//! JS objects that point into WebAssembly linear memory the way wasm-bindgen's classes do, by
//! class: how many, how many still hold a pointer and how many were `free()`d (their pointer
//! zeroed) but are still reachable, and what holds them.
//!
//! The rule (docs/wasm-rules.md): an object is a wrapper when it has an own property
//! `__wbg_ptr`, or an own property `ptr` and a `free` method on its prototype (older
//! wasm-bindgen). The property is found as a property edge or, because V8 writes no edge for a
//! field holding a small integer, as a key of the object's map's descriptor array. Its value is
//! known when the snapshot records numbers (Node's `exposeNumericValues`, the DevTools
//! protocol's `captureNumericValue`): 0 is freed, anything else live. Without numbers a pointer
//! stored as a heap number (2 GiB and up) is still live; a small one is unknown.
//!
//! Cost: one pass over the nodes and their edges; a byte per map for its answer.

use std::collections::HashMap;

use serde::Serialize;

use super::buffer_holders::nearest_holder;
use super::detached::{path_text, PathText};
use super::retainers::ShownPaths;
use super::AnalyzedSnapshot;
use crate::model::v8_rules::{
    map_descriptor_keys, number_value, prototype_has_free, LEGACY_PTR_FIELD, SMI_NUMBER,
    WBG_PTR_FIELD,
};
use crate::model::{EdgeKind, HeapGraph, NameIds, NodeIx, NodeKind, StrId};

/// What a wrapper's pointer says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PointerState {
    /// Non-zero: the wrapper owns memory in the module.
    Live,
    /// Zero: `free()` ran, but the wrapper is still reachable.
    Freed,
    /// The snapshot does not record the value.
    Unknown,
}

/// One object that holds the wrappers of a class, with how many.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct WrapperHolder {
    /// Its class.
    pub class: String,
    /// Its snapshot id.
    pub id: u32,
    /// The holder's edge towards them (`registry`), when a property, element or variable.
    pub via: String,
    /// Wrappers of the class it holds (nearest user-level owner on their dominator chain).
    pub count: u64,
    /// Shortest retainer path from the root to the holder.
    pub retainer_path: Vec<PathText>,
    /// The holder (node index).
    #[serde(skip)]
    pub node: NodeIx,
}

/// The wrappers of one class.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct WrapperClass {
    /// The class (`WasmTensor`).
    pub class: String,
    /// The field that holds the pointer: `__wbg_ptr` or `ptr`.
    pub field: &'static str,
    /// Wrappers in the snapshot.
    pub count: u64,
    /// Wrappers whose pointer is non-zero.
    pub live: u64,
    /// Wrappers whose pointer is zero: freed on the WASM side, still held on the JS side.
    pub freed: u64,
    /// Wrappers whose pointer value the snapshot does not record.
    pub unknown: u64,
    /// Their own JS heap bytes (shallow sizes).
    pub js_bytes: u64,
    /// Who holds them, most wrappers first (at most [`MAX_HOLDERS`]).
    pub holders: Vec<WrapperHolder>,
    /// Shortest retainer path to one of them (the one with the lowest id).
    pub example_path: Vec<PathText>,
}

/// Holders listed per class.
pub const MAX_HOLDERS: usize = 5;

/// All wrappers of a snapshot.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct WasmWrappers {
    /// Does the snapshot record numeric values (so freed and live can be told apart)?
    pub numeric_values: bool,
    /// Classes, most wrappers first.
    pub classes: Vec<WrapperClass>,
}

impl WasmWrappers {
    /// Find the wrappers of `s`.
    pub fn build(s: &AnalyzedSnapshot) -> Self {
        let g = s.graph();
        let names = FieldNames::of(g);
        let smi_names = g.strings().ids_of(SMI_NUMBER);
        let numeric_values = !smi_names.is_empty()
            && (0..g.node_count() as NodeIx)
                .any(|n| g.kind(n) == NodeKind::Number && smi_names.contains(g.name_id(n)));
        if names.is_empty() {
            return Self {
                numeric_values,
                classes: Vec::new(),
            };
        }
        // Per map node: its descriptor field and whether its prototype has `free`.
        let mut by_map: HashMap<NodeIx, MapFacts> = HashMap::new();
        let mut found: HashMap<(&str, &'static str), Vec<(NodeIx, PointerState)>> = HashMap::new();
        for n in 0..g.node_count() as NodeIx {
            if g.kind(n) != NodeKind::Object {
                continue;
            }
            let Some((field, state)) = wrapper_field(g, &names, &mut by_map, numeric_values, n)
            else {
                continue;
            };
            found
                .entry((s.class_name(n), field))
                .or_default()
                .push((n, state));
        }
        let mut shown = ShownPaths::new(g, &s.analysis);
        let mut classes: Vec<WrapperClass> = found
            .into_iter()
            .map(|((class, field), members)| class_row(s, &mut shown, class, field, &members))
            .collect();
        classes.sort_by(|a, b| b.count.cmp(&a.count).then(a.class.cmp(&b.class)));
        Self {
            numeric_values,
            classes,
        }
    }

    /// Wrappers in all classes.
    pub fn total(&self) -> u64 {
        self.classes.iter().map(|c| c.count).sum()
    }
}

/// The edge from an object to its hidden class.
const MAP_EDGE: &str = "map";

/// String ids of the pointer fields' names and of `map` (a snapshot may hold a name more than
/// once), so the pass over every object compares integers.
struct FieldNames {
    wbg: NameIds,
    legacy: NameIds,
    map: NameIds,
}

impl FieldNames {
    fn of(g: &HeapGraph) -> Self {
        let strings = g.strings();
        Self {
            wbg: strings.ids_of(WBG_PTR_FIELD),
            legacy: strings.ids_of(LEGACY_PTR_FIELD),
            map: strings.ids_of(MAP_EDGE),
        }
    }

    fn is_empty(&self) -> bool {
        self.wbg.is_empty() && self.legacy.is_empty()
    }

    /// The field `name` names, if it is one.
    fn field(&self, name: StrId) -> Option<&'static str> {
        if self.wbg.contains(name) {
            Some(WBG_PTR_FIELD)
        } else if self.legacy.contains(name) {
            Some(LEGACY_PTR_FIELD)
        } else {
            None
        }
    }
}

/// What one map (hidden class) says about all its objects, worked out once per map.
#[derive(Clone, Copy)]
struct MapFacts {
    /// The pointer field its descriptor array names, if any.
    descriptor_field: Option<&'static str>,
    /// Its prototype has a `free` method.
    prototype_has_free: bool,
}

/// If `n` is a wrapper: its pointer field and the pointer's state.
fn wrapper_field(
    g: &HeapGraph,
    names: &FieldNames,
    by_map: &mut HashMap<NodeIx, MapFacts>,
    numeric_values: bool,
    n: NodeIx,
) -> Option<(&'static str, PointerState)> {
    // An edge for the field: a heap number always, a small integer only with numeric values.
    let mut by_edge = None;
    let mut map = None;
    for e in g.edges(n) {
        match e.kind {
            EdgeKind::Property if by_edge.is_none() => {
                by_edge = names.field(e.name_or_index).map(|f| (f, e.to));
            }
            EdgeKind::Internal if names.map.contains(e.name_or_index) => map = Some(e.to),
            _ => {}
        }
    }
    // Objects of one map share their prototype and descriptors: ask once per map.
    let facts = |by_map: &mut HashMap<NodeIx, MapFacts>| {
        let map = map?;
        Some(*by_map.entry(map).or_insert_with(|| MapFacts {
            descriptor_field: map_descriptor_keys(g, n).find_map(|k| names.field(g.name_id(k))),
            prototype_has_free: prototype_has_free(g, n),
        }))
    };
    let (field, state, facts) = match by_edge {
        Some((field, value)) => (field, pointer_state(g, value), facts(by_map)),
        // With numeric values every number has an edge: no edge, no pointer.
        None if numeric_values => return None,
        None => {
            let facts = facts(by_map)?;
            (facts.descriptor_field?, PointerState::Unknown, Some(facts))
        }
    };
    let has_free = match facts {
        Some(f) => f.prototype_has_free,
        None => prototype_has_free(g, n),
    };
    if field == LEGACY_PTR_FIELD && !has_free {
        return None;
    }
    Some((field, state))
}

/// Live, freed or unknown, from the node a pointer field points to.
fn pointer_state(g: &HeapGraph, value: NodeIx) -> PointerState {
    if g.kind(value) != NodeKind::Number {
        return PointerState::Unknown;
    }
    match number_value(g, value) {
        Some(0.0) => PointerState::Freed,
        Some(_) => PointerState::Live,
        // A boxed number is never the 0 `free()` stores.
        None if g.name(value) != SMI_NUMBER => PointerState::Live,
        None => PointerState::Unknown,
    }
}

/// Count, states, holders and an example path for one class's wrappers.
fn class_row(
    s: &AnalyzedSnapshot,
    shown: &mut ShownPaths,
    class: &str,
    field: &'static str,
    members: &[(NodeIx, PointerState)],
) -> WrapperClass {
    let g = s.graph();
    let a = &s.analysis;
    let count_of = |st: PointerState| members.iter().filter(|m| m.1 == st).count() as u64;
    let mut by_holder: HashMap<(NodeIx, String), u64> = HashMap::new();
    for &(n, _) in members {
        // From the wrapper itself, so that a wrapper a holder or a scope holds directly comes
        // with the slot's name; the wrapper's own class is never its holder.
        let holder = nearest_holder(s, n, |h| s.class_name(h) != class);
        *by_holder.entry(holder).or_default() += 1;
    }
    let mut holders: Vec<((NodeIx, String), u64)> = by_holder.into_iter().collect();
    holders.sort_by(|x, y| {
        y.1.cmp(&x.1)
            .then(g.id(x.0 .0).cmp(&g.id(y.0 .0)))
            .then(x.0 .1.cmp(&y.0 .1))
    });
    let example = members.iter().map(|m| m.0).min_by_key(|&n| g.id(n));
    WrapperClass {
        class: class.to_string(),
        field,
        count: members.len() as u64,
        live: count_of(PointerState::Live),
        freed: count_of(PointerState::Freed),
        unknown: count_of(PointerState::Unknown),
        js_bytes: members.iter().map(|m| a.shallow_size(m.0)).sum(),
        holders: holders
            .into_iter()
            .take(MAX_HOLDERS)
            .map(|((h, via), count)| WrapperHolder {
                class: s.path_label(h).to_string(),
                id: g.id(h),
                via,
                count,
                retainer_path: path_text(s, shown, h),
                node: h,
            })
            .collect(),
        example_path: example.map(|n| path_text(s, shown, n)).unwrap_or_default(),
    }
}
