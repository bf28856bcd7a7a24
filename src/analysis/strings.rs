//! Duplicated strings (the same text stored many times) and collections that grow across
//! snapshots.

use serde::Serialize;

use super::AnalyzedSnapshot;
use crate::model::v8_rules::{
    is_backing_store_edge, map_table_entries, table_slot, PROTO_EDGE, TABLE_EDGE,
};
use crate::model::{EdgeKind, FxHashMap, HeapGraph, NodeIx, NodeKind};

/// One text stored more than once.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct DuplicatedString {
    /// The text (up to 200 characters).
    pub content: String,
    /// Number of copies.
    pub count: u64,
    /// Bytes of all copies.
    pub total_size: u64,
    /// Bytes beyond one copy: what de-duplication would save.
    pub wasted_size: u64,
}

/// Strings whose content occurs more than once, most wasted bytes first.
pub fn duplicated_strings(s: &AnalyzedSnapshot, top: usize) -> Vec<DuplicatedString> {
    let g = s.graph();
    // V8's string table holds each text once, so equal names mean equal content. Only flat
    // strings: V8 names every concatenated string "(concatenated string)", whatever its text.
    let mut by_name: FxHashMap<u32, (u64, u64, u64)> = FxHashMap::default();
    for n in 0..g.node_count() as NodeIx {
        if g.kind(n) != NodeKind::String {
            continue;
        }
        let size = s.analysis.shallow_size(n);
        let e = by_name.entry(g.name_id(n)).or_insert((0, 0, u64::MAX));
        e.0 += 1;
        e.1 += size;
        e.2 = e.2.min(size);
    }
    let mut out: Vec<DuplicatedString> = by_name
        .into_iter()
        .filter(|(_, (count, _, _))| *count > 1)
        .map(|(name, (count, total, min))| DuplicatedString {
            content: g.strings().get(name).chars().take(200).collect(),
            count,
            total_size: total,
            wasted_size: total - min,
        })
        .collect();
    out.sort_by(|a, b| {
        b.wasted_size
            .cmp(&a.wasted_size)
            .then(b.count.cmp(&a.count))
    });
    out.truncate(top);
    out
}

/// A collection whose entry count grew in every snapshot.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct GrowingCollection {
    /// Object id (the same in every snapshot).
    pub node_id: u32,
    /// Class name.
    pub class: String,
    /// Entry count in each snapshot, oldest first.
    pub entries: Vec<u64>,
    /// Retained size in the last snapshot.
    pub retained_size: u64,
}

const COLLECTIONS: [&str; 6] = ["Map", "Set", "Array", "Object", "WeakMap", "WeakSet"];

/// Entries of a collection: its own element/property edges plus those of its backing store
/// (`table` of a Map or Set, `elements` and `properties` of arrays and objects). A `Map`'s
/// table counts its entries, not its slots ([`map_table_entries`]).
pub fn entry_count(g: &HeapGraph, n: NodeIx) -> u64 {
    let mut count = 0u64;
    for e in g.edges(n) {
        match e.kind {
            EdgeKind::Element => count += 1,
            EdgeKind::Property if g.strings().get(e.name_or_index) != PROTO_EDGE => count += 1,
            EdgeKind::Internal => {
                let name = g.strings().get(e.name_or_index);
                if name == TABLE_EDGE && g.name(n) == "Map" {
                    let slots = g.edges(e.to).filter_map(|x| table_slot(g, &x));
                    count += u64::from(map_table_entries(slots));
                } else if is_backing_store_edge(name) {
                    count += g
                        .edges(e.to)
                        .filter(|x| {
                            !matches!(x.kind, EdgeKind::Weak | EdgeKind::Internal)
                                || name == TABLE_EDGE
                        })
                        .count() as u64;
                }
            }
            _ => {}
        }
    }
    count
}

/// Collections (Map, Set, Array, object) present in every snapshot whose entry count grows
/// from each snapshot to the next, by at least `min_growth` overall; largest growth first.
pub fn growing_collections(snaps: &[&AnalyzedSnapshot], min_growth: u64) -> Vec<GrowingCollection> {
    let Some(last) = snaps.last() else {
        return Vec::new();
    };
    if snaps.len() < 2 {
        return Vec::new();
    }
    let id_maps: Vec<FxHashMap<u32, NodeIx>> = snaps[..snaps.len() - 1]
        .iter()
        .map(|s| {
            let g = s.graph();
            (0..g.node_count() as NodeIx)
                .filter(|&n| g.kind(n) == NodeKind::Object && COLLECTIONS.contains(&g.name(n)))
                .map(|n| (g.id(n), n))
                .collect()
        })
        .collect();
    let g = last.graph();
    let mut out = Vec::new();
    'nodes: for n in 0..g.node_count() as NodeIx {
        if g.kind(n) != NodeKind::Object || !COLLECTIONS.contains(&g.name(n)) {
            continue;
        }
        let mut entries = Vec::with_capacity(snaps.len());
        for (s, ids) in snaps.iter().zip(&id_maps) {
            let Some(&m) = ids.get(&g.id(n)) else {
                continue 'nodes;
            };
            entries.push(entry_count(s.graph(), m));
        }
        entries.push(entry_count(g, n));
        let grows = entries.windows(2).all(|w| w[1] > w[0]);
        if grows && entries[entries.len() - 1] - entries[0] >= min_growth {
            out.push(GrowingCollection {
                node_id: g.id(n),
                class: last.class_name(n).to_string(),
                entries,
                retained_size: last.analysis.retained_size(n),
            });
        }
    }
    out.sort_by_key(|c| std::cmp::Reverse(c.entries[c.entries.len() - 1] - c.entries[0]));
    out
}
