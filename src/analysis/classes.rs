//! Class names as the DevTools Summary shows them, and the detached state they depend on.
//!
//! Objects and native nodes are named by their constructor (`<div id=…>` shortened to `<div>`,
//! detached DOM nodes prefixed `Detached `); closures are `Function`, regexps `RegExp`, hidden
//! nodes `(system)`, code `(compiled code)`, everything else `(type)`. Plain `Object`s are named
//! by the shapes that recur in the heap, such as `{id, name}`, as DevTools does.

use crate::model::v8_rules::{
    has_detached_prefix, type_class_name, ATTACHED, DETACHED_PREFIX, PLAIN_OBJECT_NAME, PROTO_EDGE,
};
use crate::model::{EdgeKind, FxHashMap, HeapGraph, Location, NameIds, NodeIx, NodeKind, StrId};

// Re-exported where they were defined before the V8 rules had a module of their own.
pub use crate::model::v8_rules::{is_detached, DETACHED};

/// Effective detachedness after DevTools' propagation: attached and detached state flows from
/// marked native nodes to the native nodes they reference (never through JS objects).
/// Empty when the snapshot has no `detachedness` field.
pub fn propagate_detachedness(g: &HeapGraph) -> Vec<u8> {
    if !g.has_detachedness() {
        return Vec::new();
    }
    let n = g.node_count();
    let mut state: Vec<u8> = (0..n as NodeIx).map(|v| g.detachedness(v)).collect();
    let mut visited = vec![false; n];
    let mut attached: Vec<NodeIx> = Vec::new();
    let mut detached: Vec<NodeIx> = Vec::new();
    let mut process = |v: NodeIx,
                       s: u8,
                       state: &mut Vec<u8>,
                       attached: &mut Vec<NodeIx>,
                       detached: &mut Vec<NodeIx>| {
        let i = v as usize;
        if visited[i] {
            return;
        }
        visited[i] = true;
        if g.kind(v) != NodeKind::Native {
            return;
        }
        state[i] = s;
        match s {
            ATTACHED => attached.push(v),
            DETACHED => detached.push(v),
            _ => {}
        }
    };
    for v in 0..n as NodeIx {
        let s = g.detachedness(v);
        if s != 0 {
            process(v, s, &mut state, &mut attached, &mut detached);
        }
    }
    let follows = |e: usize| !matches!(g.edge_kind(e), EdgeKind::Hidden | EdgeKind::Weak);
    while let Some(v) = attached.pop() {
        for e in g.edge_range(v) {
            if follows(e) {
                process(
                    g.edge_target(e),
                    ATTACHED,
                    &mut state,
                    &mut attached,
                    &mut detached,
                );
            }
        }
    }
    while let Some(v) = detached.pop() {
        if state[v as usize] == ATTACHED {
            continue;
        }
        for e in g.edge_range(v) {
            if follows(e) {
                process(
                    g.edge_target(e),
                    DETACHED,
                    &mut state,
                    &mut attached,
                    &mut detached,
                );
            }
        }
    }
    state
}

/// Shorten `<div id="a" class="b">` to `<div>`; other names are returned unchanged.
fn shorten_tag(name: &str) -> &str {
    // Behind the `Detached ` prefix the tag's `<` is no space, so the search can start at it.
    let start = match name.strip_prefix(DETACHED_PREFIX) {
        Some(tag) if tag.starts_with('<') => DETACHED_PREFIX.len(),
        _ if name.starts_with('<') => 0,
        _ => return name,
    };
    match name[start..].find(' ') {
        Some(sp) => &name[..start + sp],
        None => name,
    }
}

/// Class name of a node, given its effective detached state. (The `{a, b}` names of plain
/// objects come from [`PlainObjectNames`].)
pub fn base_class_name(g: &HeapGraph, detached: &[u8], n: NodeIx) -> String {
    match g.kind(n) {
        NodeKind::Object | NodeKind::Native => {
            let name = g.name(n);
            let detached_prefix = g.kind(n) == NodeKind::Native
                && detached.get(n as usize) == Some(&DETACHED)
                && !has_detached_prefix(name);
            if detached_prefix {
                let full = format!("{DETACHED_PREFIX}{name}");
                let short = shorten_tag(&full);
                if short.len() < full.len() {
                    format!("{short}>")
                } else {
                    full
                }
            } else {
                let short = shorten_tag(name);
                if short.len() < name.len() {
                    format!("{short}>")
                } else {
                    name.to_string()
                }
            }
        }
        kind => type_class_name(kind, g.type_name(n)),
    }
}

/// Names for plain `Object`s inferred from the property sets that recur in the heap.
pub struct PlainObjectNames {
    /// Each definition: its display name and its property string ids (sorted).
    definitions: Vec<(String, Vec<StrId>)>,
    /// The ids of the string `Object` (compared by id: a string read a node misses the cache).
    object_names: NameIds,
}

/// DevTools stops adding property names to an inferred class name past this many characters.
/// Measured in UTF-16 code units, as JavaScript's `length`; the first property always goes in.
const MAX_INTERFACE_NAME: usize = 120;
/// A shape names a class only when at least this many plain objects have it.
const MIN_OBJECTS_PER_INTERFACE: u32 = 2;
/// … and at least one in this many of all plain objects (a real ratio, never rounded).
const MIN_OBJECT_PROPORTION: usize = 1000;

fn format_property(name: &str) -> String {
    if name.contains([',', '\'', '"', '{', '}']) {
        serde_json::to_string(name).unwrap_or_else(|_| name.to_string())
    } else {
        name.to_string()
    }
}

/// Plain objects counted by their leading property ids, over a range of nodes: a list's count
/// and the order it was first seen in.
struct ShapeCounts {
    counts: FxHashMap<Vec<StrId>, (u32, usize)>,
    /// Plain objects seen.
    total: usize,
}

impl ShapeCounts {
    /// Count the plain objects among `nodes`. Objects are counted by their leading property
    /// ids, and the names are written once a list (a string a property and a map keyed by
    /// text would cost more than the rest of the pass). Each property name's width (UTF-16
    /// units, as DevTools measures the name) is worked out once; `__proto__` is left out.
    fn of(g: &HeapGraph, object_names: &NameIds, nodes: std::ops::Range<NodeIx>) -> Self {
        const PROTO: u32 = u32::MAX;
        let mut widths: FxHashMap<StrId, u32> = FxHashMap::default();
        let mut counts: FxHashMap<Vec<StrId>, (u32, usize)> = FxHashMap::default();
        let mut props: Vec<StrId> = Vec::new();
        let mut total = 0usize;
        for v in nodes {
            if !is_plain_object(g, object_names, v) {
                continue;
            }
            total += 1;
            props.clear();
            let mut text_units = 1usize; // the `{`
            for e in g.edge_range(v) {
                if g.edge_kind(e) != EdgeKind::Property {
                    continue;
                }
                let id = g.edge_name_or_index(e);
                let width = *widths.entry(id).or_insert_with(|| {
                    let raw = g.strings().get(id);
                    if raw == PROTO_EDGE {
                        PROTO
                    } else {
                        format_property(raw).encode_utf16().count() as u32
                    }
                });
                if width == PROTO {
                    continue;
                }
                let width = width as usize;
                if !props.is_empty() && text_units + width > MAX_INTERFACE_NAME {
                    break;
                }
                if !props.is_empty() {
                    text_units += 2; // the `, `
                }
                text_units += width;
                props.push(id);
            }
            if props.is_empty() {
                continue;
            }
            let next = counts.len();
            match counts.get_mut(props.as_slice()) {
                Some(entry) => entry.0 += 1,
                None => {
                    counts.insert(props.clone(), (1, next));
                }
            }
        }
        Self { counts, total }
    }
}

impl PlainObjectNames {
    /// Infer the recurring shapes: a shape names a class when at least
    /// max(2, plain objects / 1000) objects have exactly that leading property list. The
    /// proportion is a real number, not rounded down: with 2 500 plain objects a shape needs
    /// 3 objects, not 2 (§3.2 of `docs/devtools-rules.md`).
    pub fn infer(g: &HeapGraph) -> Self {
        Self::infer_in(g, &NodePieces::of(g))
    }

    /// [`infer`](Self::infer), the nodes shared out in `pieces`.
    fn infer_in(g: &HeapGraph, pieces: &NodePieces) -> Self {
        let object_names = g.strings().ids_of(PLAIN_OBJECT_NAME);
        // Counted in pieces of the nodes, on both cores; each piece's lists come after the
        // earlier pieces' in the order they were first seen, as in one pass.
        let mut counts: FxHashMap<Vec<StrId>, (u32, usize)> = FxHashMap::default();
        let mut total = 0;
        for piece in crate::parallel::pieces(pieces.count(), |i| {
            ShapeCounts::of(g, &object_names, pieces.range(i))
        }) {
            let before = counts.len();
            for (props, (count, order)) in piece.counts {
                counts
                    .entry(props)
                    .and_modify(|e| e.0 += count)
                    .or_insert((count, before + order));
            }
            total += piece.total;
        }
        // By name: two lists can read the same when the string table holds a name twice; the
        // shape is then the one seen first, counted for both.
        let mut by_text: FxHashMap<String, (u32, usize, Vec<StrId>)> = FxHashMap::default();
        for (props, (count, order)) in counts {
            let names: Vec<String> = props
                .iter()
                .map(|&id| format_property(g.strings().get(id)))
                .collect();
            let text = format!("{{{}}}", names.join(", "));
            let entry = by_text.entry(text).or_insert((0, order, Vec::new()));
            entry.0 += count;
            if order <= entry.1 {
                entry.1 = order;
                entry.2 = props;
            }
        }
        let mut candidates: Vec<(String, u32, usize, Vec<StrId>)> = by_text
            .into_iter()
            .map(|(k, (c, o, p))| (k, c, o, p))
            .collect();
        candidates.sort_by(|a, b| b.1.cmp(&a.1).then(a.2.cmp(&b.2)));
        // `count >= total / 1000` over the reals, kept in integers: `count * 1000 >= total`.
        let popular = |count: u32| {
            count >= MIN_OBJECTS_PER_INTERFACE && count as usize * MIN_OBJECT_PROPORTION >= total
        };
        let definitions = candidates
            .into_iter()
            .take_while(|c| popular(c.1))
            .map(|(name, _, _, mut props)| {
                props.sort_by(|a, b| cmp_utf16(g.strings().get(*a), g.strings().get(*b)));
                (name, props)
            })
            .collect();
        Self {
            definitions,
            object_names,
        }
    }

    /// Index of the definition naming plain object `n`: the largest property set contained in
    /// the object's properties (earlier definitions win ties).
    pub fn definition_of(&self, g: &HeapGraph, n: NodeIx) -> Option<usize> {
        self.definition_with(g, n, &mut Vec::new())
    }

    /// [`definition_of`](Self::definition_of) with a buffer the caller keeps between nodes.
    fn definition_with(&self, g: &HeapGraph, n: NodeIx, props: &mut Vec<StrId>) -> Option<usize> {
        if self.definitions.is_empty() || !is_plain_object(g, &self.object_names, n) {
            return None;
        }
        props.clear();
        props.extend(
            g.edge_range(n)
                .filter(|&e| g.edge_kind(e) == EdgeKind::Property)
                .map(|e| g.edge_name_or_index(e)),
        );
        props.sort_unstable();
        let mut best: Option<(usize, usize)> = None;
        for (i, (_, def)) in self.definitions.iter().enumerate() {
            if def.len() <= best.map_or(0, |b| b.1) {
                continue;
            }
            if def.iter().all(|p| props.binary_search(p).is_ok()) {
                best = Some((i, def.len()));
            }
        }
        best.map(|b| b.0)
    }

    /// Display name of definition `i`.
    pub fn name(&self, i: usize) -> &str {
        &self.definitions[i].0
    }
}

/// JavaScript's default string order (UTF-16 code units).
fn cmp_utf16(a: &str, b: &str) -> std::cmp::Ordering {
    a.encode_utf16().cmp(b.encode_utf16())
}

/// Is `n` a plain `Object` (`object_names` are the ids of that string)?
#[inline]
fn is_plain_object(g: &HeapGraph, object_names: &NameIds, n: NodeIx) -> bool {
    g.kind(n) == NodeKind::Object && object_names.contains(g.name_id(n))
}

/// The nodes cut into runs of equal length, for passes that share them out between cores.
struct NodePieces {
    /// Nodes a piece (the last may have fewer).
    len: usize,
    nodes: usize,
}

impl NodePieces {
    fn of(g: &HeapGraph) -> Self {
        // Enough pieces that the two cores come out even; few enough that each piece's own
        // tables cost nothing.
        let nodes = g.node_count();
        let count = (nodes >> 16).clamp(1, 64);
        Self::of_len(g, nodes.div_ceil(count))
    }

    /// Pieces of `len` nodes.
    fn of_len(g: &HeapGraph, len: usize) -> Self {
        let nodes = g.node_count();
        let len = len.max(1);
        Self { len, nodes }
    }

    /// How many pieces there are.
    fn count(&self) -> usize {
        self.nodes.div_ceil(self.len)
    }

    fn range(&self, i: usize) -> std::ops::Range<NodeIx> {
        let start = (i * self.len).min(self.nodes);
        let end = (start + self.len).min(self.nodes);
        start as NodeIx..end as NodeIx
    }
}

/// A node's source location, when classes are told apart by it.
type Loc = Option<(u32, u32, u32)>;

/// Classes of a run of nodes, with ids of its own (see [`ClassIndex::build`]).
struct Classifier<'a> {
    g: &'a HeapGraph,
    detached: &'a [u8],
    plain: &'a PlainObjectNames,
}

impl Classifier<'_> {
    /// Class ids of nodes `start..start + out.len()` into `out`; returns each id's name and
    /// location. `locations` are those of these nodes, sorted by node.
    fn run(&self, out: &mut [u32], start: NodeIx, locations: &[Location]) -> Vec<(String, Loc)> {
        let g = self.g;
        // Key: what decides the class without building its name — (type, name string,
        // detached, inferred shape, location).
        type Key = (u8, StrId, bool, u32, Loc);
        let mut by_key: FxHashMap<Key, u32> = FxHashMap::default();
        // Most nodes have no shape and no location: their key (type, name, detached) packed
        // in one word, looked up first in a small direct-mapped table (64 KiB, in the core's
        // cache; a heap has a few hundred such keys), which costs a load and a compare where
        // the map's probe costs many steps. A word has no bit above 47: `u64::MAX` is free.
        const RECENT_BITS: u32 = 12;
        let mut recent: Vec<(u64, u32)> = vec![(u64::MAX, 0); 1 << RECENT_BITS];
        let slot = |w: u64| (w.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - RECENT_BITS)) as usize;
        let mut by_name: FxHashMap<(String, Loc), u32> = FxHashMap::default();
        let mut names: Vec<(String, Loc)> = Vec::new();
        let mut loc_iter = locations.iter().peekable();
        let mut props = Vec::new();
        for (v, class) in (start..).zip(out.iter_mut()) {
            let mut loc = None;
            while let Some(l) = loc_iter.peek() {
                if l.node > v {
                    break;
                }
                if l.node == v && g.kind(v) == NodeKind::Object {
                    loc = Some((l.script_id, l.line, l.column));
                }
                loc_iter.next();
            }
            let def = self.plain.definition_with(g, v, &mut props);
            let det = self.detached.get(v as usize) == Some(&DETACHED);
            // Only objects and native nodes are classed by name; the rest by type alone.
            let named = matches!(g.kind(v), NodeKind::Object | NodeKind::Native);
            let (ty, name) = (
                g.node_type[v as usize],
                if named { g.name_id(v) } else { u32::MAX },
            );
            let word = (def.is_none() && loc.is_none())
                .then_some((ty as u64) << 40 | (det as u64) << 32 | name as u64);
            if let Some(w) = word {
                let (seen, id) = recent[slot(w)];
                if seen == w {
                    *class = id;
                    continue;
                }
            }
            let key = (ty, name, det, def.map_or(u32::MAX, |d| d as u32), loc);
            *class = match by_key.get(&key) {
                Some(&id) => id,
                None => {
                    let name = match def {
                        Some(d) => self.plain.name(d).to_string(),
                        None => base_class_name(g, self.detached, v),
                    };
                    let id = *by_name.entry((name.clone(), loc)).or_insert_with(|| {
                        names.push((name, loc));
                        (names.len() - 1) as u32
                    });
                    by_key.insert(key, id);
                    id
                }
            };
            if let Some(w) = word {
                recent[slot(w)] = (w, *class);
            }
        }
        names
    }
}

/// Class of every node, as ids into a list of class names.
pub struct ClassIndex {
    /// Class id per node.
    pub class_of: crate::model::Column<u32>,
    /// Class names by id.
    pub names: Vec<String>,
}

impl ClassIndex {
    /// Classify every node. Objects with a known source location are keyed by it too, so two
    /// constructors with one name in different files stay apart (as in DevTools).
    /// `locations` must be sorted by node.
    pub fn build(g: &HeapGraph, detached: &[u8], locations: &[Location]) -> Self {
        Self::build_in(g, detached, locations, &NodePieces::of(g))
    }

    /// [`build`](Self::build), the nodes shared out in `pieces`.
    fn build_in(
        g: &HeapGraph,
        detached: &[u8],
        locations: &[Location],
        pieces: &NodePieces,
    ) -> Self {
        let plain = PlainObjectNames::infer_in(g, pieces);
        // Pieces of the nodes, on both cores, each with its own class ids; each piece's are
        // then renumbered after the earlier pieces', in the order they were first seen, which
        // gives the ids one pass would.
        let mut class_of = vec![0u32; g.node_count()];
        let outs: Vec<std::sync::Mutex<Option<&mut [u32]>>> = class_of
            .chunks_mut(pieces.len)
            .map(|out| std::sync::Mutex::new(Some(out)))
            .collect();
        let classifier = Classifier {
            g,
            detached,
            plain: &plain,
        };
        let found = crate::parallel::pieces(outs.len(), |i| {
            let nodes = pieces.range(i);
            let out = outs[i].lock().map(|mut o| o.take()).ok().flatten();
            let from = locations.partition_point(|l| l.node < nodes.start);
            let to = locations.partition_point(|l| l.node < nodes.end);
            out.map_or_else(Vec::new, |out| {
                classifier.run(out, nodes.start, &locations[from..to])
            })
        });
        drop(outs);
        let mut names: Vec<(String, Loc)> = Vec::new();
        let mut by_name: FxHashMap<(String, Loc), u32> = FxHashMap::default();
        for (i, piece) in found.into_iter().enumerate() {
            let renumber: Vec<u32> = piece
                .into_iter()
                .map(|key| {
                    *by_name.entry(key.clone()).or_insert_with(|| {
                        names.push(key);
                        (names.len() - 1) as u32
                    })
                })
                .collect();
            let nodes = pieces.range(i);
            for id in &mut class_of[nodes.start as usize..nodes.end as usize] {
                *id = renumber[*id as usize];
            }
        }
        Self {
            class_of: class_of.into(),
            names: names.into_iter().map(|(name, _)| name).collect(),
        }
    }

    /// Class name of node `n`.
    pub fn name_of(&self, n: NodeIx) -> &str {
        &self.names[self.class_of[n as usize] as usize]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The classes come out the same however the nodes are shared out: ids in the order
    /// one pass gives them, plain objects named by the shapes counted over all pieces.
    #[test]
    fn classes_do_not_depend_on_the_pieces() {
        let snap = crate::formats::load_sample("node-leak/target.heapsnapshot");
        let g = &snap.graph;
        let detached = propagate_detachedness(g);
        let locations = &snap.traces.locations;
        let whole =
            ClassIndex::build_in(g, &detached, locations, &NodePieces::of_len(g, usize::MAX));
        assert!(
            whole.names.iter().any(|n| n.starts_with('{')),
            "{:?}",
            whole.names
        );
        for len in [1, 7, 1000, g.node_count() / 2 + 1] {
            let cut = ClassIndex::build_in(g, &detached, locations, &NodePieces::of_len(g, len));
            assert_eq!(cut.names, whole.names, "pieces of {len}");
            assert_eq!(&cut.class_of[..], &whole.class_of[..], "pieces of {len}");
        }
    }

    #[test]
    fn tag_names_are_shortened() {
        assert_eq!(shorten_tag("<div id=\"a\">"), "<div");
        assert_eq!(shorten_tag("<br>"), "<br>");
        assert_eq!(shorten_tag("Detached <li class=x>"), "Detached <li");
        assert_eq!(shorten_tag("system / Context"), "system / Context");
    }
}
