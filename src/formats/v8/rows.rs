//! Storing the rows of a V8 snapshot's `nodes` and `edges` arrays in the graph's columns. Rows
//! come a batch at a time ([`JsonReader::read_int_row_batches`]) and are taken in blocks: a
//! block is tested at once and stored a column at a time, in loops with no branch a row to
//! mispredict. A block the test finds anything unusual in (a bad value, a self size past
//! 32 bits, a trace id) is stored row by row, with every check and its exact error.

use crate::error::Result;
use crate::formats::json_reader::{BatchResult, JsonReader};
use crate::model::column::Pod;
use crate::model::column_writer::ColumnWriter;
use crate::model::graph::{HeapGraph, MAX_EDGES, MAX_HEAP_BYTES, MAX_NODES};
use crate::model::spill::SpillDir;
use crate::model::NodeIx;
use std::collections::HashMap;

/// Rows a block: small enough that a block's columns stay in the first-level cache.
const BLOCK: usize = 1024;

/// A column with room for `cap` values, or with `spill` one written to a file there (kept in
/// memory when the file can't be made).
fn writer<T: Pod>(cap: usize, spill: Option<&SpillDir>) -> ColumnWriter<T> {
    match spill.map(SpillDir::new_file) {
        Some(Ok(file)) => ColumnWriter::to_file(file),
        _ => ColumnWriter::in_memory(cap),
    }
}

/// Where each field the loader uses sits in a row.
pub(super) struct NodeLayout {
    pub width: usize,
    pub type_: usize,
    pub name: usize,
    pub id: usize,
    pub self_size: usize,
    pub edge_count: usize,
    pub trace_node_id: Option<usize>,
    pub detachedness: Option<usize>,
    /// How many node types `snapshot.meta` names.
    pub type_count: usize,
}

/// The node columns as they fill.
pub(super) struct NodeRows {
    layout: NodeLayout,
    pub types: Vec<u8>,
    /// Names and ids go straight to spill files for a big heap, as the edges do.
    pub names: ColumnWriter<u32>,
    pub ids: ColumnWriter<u32>,
    pub self_sizes: Vec<u32>,
    pub detachedness: Vec<u8>,
    /// One more than the nodes: the counts become the edge offsets in place.
    pub edge_counts: Vec<u32>,
    /// Empty until a node has a trace id (most snapshots have none).
    pub trace_ids: Vec<u32>,
    /// Self sizes of 2^32 − 1 bytes and more (the column holds `u32::MAX` for them).
    pub big_self_sizes: HashMap<NodeIx, u64>,
    pub count: u64,
    pub max_name: u32,
    /// The self sizes so far, checked as they add up (each is at most ~2^63).
    heap_bytes: u64,
}

impl NodeRows {
    /// Empty columns with room for `cap` nodes; with `spill`, names and ids are written to
    /// files there.
    pub fn new(layout: NodeLayout, cap: usize, spill: Option<&SpillDir>) -> Self {
        let det_cap = if layout.detachedness.is_some() {
            cap
        } else {
            0
        };
        Self {
            layout,
            types: Vec::with_capacity(cap),
            names: writer(cap, spill),
            ids: writer(cap, spill),
            self_sizes: Vec::with_capacity(cap),
            detachedness: Vec::with_capacity(det_cap),
            edge_counts: Vec::with_capacity(cap + 1),
            trace_ids: Vec::new(),
            big_self_sizes: HashMap::new(),
            count: 0,
            max_name: 0,
            heap_bytes: 0,
        }
    }

    /// Store whole rows; a failing row gives its index in `rows`.
    pub fn push(&mut self, r: &JsonReader<'_>, rows: &[i64]) -> BatchResult {
        let width = self.layout.width;
        for (b, block) in rows.chunks(BLOCK * width).enumerate() {
            match self.plain_block_bytes(block) {
                Some(bytes) => self.push_plain_block(block, bytes),
                None => {
                    for (k, row) in block.chunks_exact(width).enumerate() {
                        self.push_row(r, row).map_err(|e| (b * BLOCK + k, e))?;
                    }
                }
            }
        }
        Ok(())
    }

    /// The self sizes of `block` added up, if the block is plain: every value in range, no
    /// big self size, no trace id, and room for its nodes and bytes.
    fn plain_block_bytes(&self, block: &[i64]) -> Option<u64> {
        let l = &self.layout;
        let rows = (block.len() / l.width) as u64;
        if self.count + rows > MAX_NODES || !self.trace_ids.is_empty() {
            return None;
        }
        // Values are never negative here (the array is read without signs): as u64, one
        // comparison each tests the range.
        let over_u32 = |v: i64| v as u64 > u32::MAX as u64;
        let (mut odd, mut bytes) = (false, 0u64);
        for row in block.chunks_exact(l.width) {
            odd |= (row[l.type_] as u64 >= l.type_count as u64)
                | over_u32(row[l.name])
                | over_u32(row[l.id])
                | over_u32(row[l.edge_count])
                | (row[l.self_size] as u64 >= u32::MAX as u64)
                | l.trace_node_id.is_some_and(|f| row[f] != 0);
            bytes += row[l.self_size] as u64 & u32::MAX as u64;
        }
        let total = self.heap_bytes + bytes;
        (!odd && total <= MAX_HEAP_BYTES).then_some(bytes)
    }

    /// Store a block [`plain_block_bytes`](Self::plain_block_bytes) passed, a column at a time.
    fn push_plain_block(&mut self, block: &[i64], bytes: u64) {
        let l = &self.layout;
        let column = |f: usize| block.chunks_exact(l.width).map(move |row| row[f]);
        self.types.extend(column(l.type_).map(|v| v as u8));
        self.names.extend(column(l.name).map(|v| v as u32));
        self.ids.extend(column(l.id).map(|v| v as u32));
        self.self_sizes
            .extend(column(l.self_size).map(|v| v as u32));
        self.edge_counts
            .extend(column(l.edge_count).map(|v| v as u32));
        if let Some(f) = l.detachedness {
            self.detachedness
                .extend(column(f).map(|v| v.clamp(0, 255) as u8));
        }
        self.max_name = column(l.name).fold(self.max_name, |m, v| m.max(v as u32));
        self.heap_bytes += bytes;
        self.count += (block.len() / l.width) as u64;
    }

    /// Store one row, with every check.
    fn push_row(&mut self, r: &JsonReader<'_>, row: &[i64]) -> Result<()> {
        let l = &self.layout;
        let node = self.count;
        let too_big =
            |what: &str, v: i64| r.error(format!("{what} of node {node} is out of range ({v})"));
        if node >= MAX_NODES {
            return Err(r.error(format!("more than {MAX_NODES} nodes: too many to index")));
        }
        if row[l.type_] >= l.type_count as i64 {
            return Err(r.error(format!("node {node} has unknown type {}", row[l.type_])));
        }
        for (what, f) in [("name", l.name), ("id", l.id), ("edge_count", l.edge_count)] {
            if row[f] > u32::MAX as i64 {
                return Err(too_big(what, row[f]));
            }
        }
        let size = row[l.self_size];
        self.heap_bytes = self.heap_bytes.saturating_add(size.max(0) as u64);
        if self.heap_bytes > MAX_HEAP_BYTES {
            return Err(r.error(format!(
                "the self sizes of nodes 0 to {node} add up to more than any heap holds \
                 ({MAX_HEAP_BYTES} bytes)"
            )));
        }
        if let Some(f) = l.trace_node_id {
            let trace = row[f];
            if trace > u32::MAX as i64 {
                return Err(too_big("trace_node_id", trace));
            }
            // Make the column only once a node really has a trace.
            if trace != 0 && self.trace_ids.is_empty() {
                self.trace_ids.resize(node as usize, 0);
            }
            if !self.trace_ids.is_empty() {
                self.trace_ids.push(trace as u32);
            }
        }
        self.max_name = self.max_name.max(row[l.name] as u32);
        self.types.push(row[l.type_] as u8);
        self.names.push(row[l.name] as u32);
        self.ids.push(row[l.id] as u32);
        self.edge_counts.push(row[l.edge_count] as u32);
        if size >= u32::MAX as i64 {
            self.big_self_sizes.insert(node as NodeIx, size as u64);
            self.self_sizes.push(u32::MAX);
        } else {
            self.self_sizes.push(size as u32);
        }
        if let Some(f) = l.detachedness {
            self.detachedness.push(row[f].clamp(0, 255) as u8);
        }
        self.count += 1;
        Ok(())
    }

    /// Move the columns into the graph (all but the edge counts, which are returned).
    pub fn into_graph(mut self, g: &mut HeapGraph) -> std::io::Result<Vec<u32>> {
        if !self.trace_ids.is_empty() {
            self.trace_ids.resize(self.count as usize, 0);
        }
        self.self_sizes.shrink_to_fit();
        self.types.shrink_to_fit();
        self.detachedness.shrink_to_fit();
        g.node_type = self.types.into();
        g.node_name = self.names.finish()?;
        g.node_id = self.ids.finish()?;
        g.node_self_size = self.self_sizes.into();
        g.node_detachedness = self.detachedness.into();
        g.node_trace_id = self.trace_ids.into();
        g.big_self_sizes = self.big_self_sizes;
        g.max_node_name = self.max_name;
        Ok(self.edge_counts)
    }
}

/// Where each field the loader uses sits in an edge's row.
pub(super) struct EdgeLayout {
    pub width: usize,
    pub type_: usize,
    pub name_or_index: usize,
    pub to_node: usize,
    /// How many edge types `snapshot.meta` names.
    pub type_count: usize,
    /// By edge type: whether `name_or_index` is a string (not an element index).
    pub named_by_string: Vec<bool>,
    pub nodes: NodeStarts,
}

/// The edge columns as they fill: in memory, or for a big heap straight into spill files.
pub(super) struct EdgeRows {
    layout: EdgeLayout,
    pub types: ColumnWriter<u8>,
    pub names: ColumnWriter<u32>,
    pub targets: ColumnWriter<u32>,
    pub count: u64,
    /// The largest string index an edge's name uses.
    pub max_name: u32,
}

impl EdgeRows {
    /// Empty columns with room for `cap` edges, or, with `spill`, written to files there
    /// (see [`ColumnWriter`]; a column whose file can't be made stays in memory).
    pub fn new(layout: EdgeLayout, cap: usize, spill: Option<&SpillDir>) -> Self {
        Self {
            layout,
            types: writer(cap, spill),
            names: writer(cap, spill),
            targets: writer(cap, spill),
            count: 0,
            max_name: 0,
        }
    }

    /// Store whole rows; a failing row gives its index in `rows`.
    pub fn push(&mut self, r: &JsonReader<'_>, rows: &[i64]) -> BatchResult {
        let l = &self.layout;
        // A block's rows go through these, so the block's test is done before it is stored.
        let (mut types, mut names, mut targets) = ([0u8; BLOCK], [0u32; BLOCK], [0u32; BLOCK]);
        for (b, block) in rows.chunks(BLOCK * l.width).enumerate() {
            let n = block.len() / l.width;
            let mut odd = self.count + n as u64 > MAX_EDGES;
            let mut max_name = self.max_name;
            // No branch a row: the edge types come mixed, and a branch on whether a type is
            // named would be mispredicted at many rows.
            for (i, row) in block.chunks_exact(l.width).enumerate() {
                // Never negative here (the array is read without signs).
                let (ty, name) = (row[l.type_] as u64, row[l.name_or_index] as u64);
                let (target, is_node) = l.nodes.quotient(row[l.to_node] as u64);
                odd |= (ty >= l.type_count as u64) | (name > u32::MAX as u64) | !is_node;
                types[i] = ty as u8;
                names[i] = name as u32;
                targets[i] = target as u32;
                let named = l.named_by_string.get(ty as usize).copied().unwrap_or(false);
                max_name = max_name.max(name as u32 & 0u32.wrapping_sub(named as u32));
            }
            if odd {
                for (k, row) in block.chunks_exact(l.width).enumerate() {
                    let edge = self.count + k as u64;
                    Self::check_row(l, r, edge, row).map_err(|e| (b * BLOCK + k, e))?;
                }
            }
            self.types.extend_from_slice(&types[..n]);
            self.names.extend_from_slice(&names[..n]);
            self.targets.extend_from_slice(&targets[..n]);
            self.max_name = max_name;
            self.count += n as u64;
        }
        Ok(())
    }

    /// Edge `edge`'s row, with every check and its exact error.
    fn check_row(l: &EdgeLayout, r: &JsonReader<'_>, edge: u64, row: &[i64]) -> Result<()> {
        if edge >= MAX_EDGES {
            return Err(r.error(format!("more than {MAX_EDGES} edges: too many to index")));
        }
        let ty = row[l.type_];
        if ty >= l.type_count as i64 {
            return Err(r.error(format!("edge {edge} has unknown type {ty}")));
        }
        let name = row[l.name_or_index];
        if name > u32::MAX as i64 {
            return Err(r.error(format!(
                "name_or_index of edge {edge} is out of range ({name})"
            )));
        }
        if l.nodes.node_at(row[l.to_node]).is_none() {
            return Err(r.error(format!(
                "edge {edge} points to {}, which is not a node (nodes: {})",
                row[l.to_node], l.nodes.node_count
            )));
        }
        Ok(())
    }

    /// Move the columns into the graph.
    pub fn into_graph(self, g: &mut HeapGraph) -> std::io::Result<()> {
        g.edge_type = self.types.finish()?;
        g.edge_name = self.names.finish()?;
        g.edge_to = self.targets.finish()?;
        g.max_edge_name = self.max_name;
        Ok(())
    }
}

/// Which node an edge's `to_node` (the index of the node's first field in `nodes`) names.
/// This runs once an edge, so the division by the field count is a multiplication: by the
/// inverse of its odd part modulo 2^64, after shifting out its factors of two. An exact
/// multiple of the count comes out as its quotient; anything else comes out larger than any
/// quotient can be (or has low bits set), so one comparison tells both.
#[derive(Debug, Clone, Copy)]
pub(super) struct NodeStarts {
    /// The field count's factors of two, as a shift and as the low bits that must be zero.
    shift: u32,
    low_bits: u64,
    /// The inverse of the count's odd part modulo 2^64.
    odd_inverse: u64,
    node_count: u64,
}

impl NodeStarts {
    /// For `field_count` fields a node (at least 1) and `node_count` nodes.
    pub fn new(field_count: u64, node_count: u64) -> Self {
        let field_count = field_count.max(1);
        let shift = field_count.trailing_zeros();
        let odd = field_count >> shift;
        // Newton's iteration doubles the bits that are right each step: 3, 6, 12, 24, 48, 96.
        let mut inverse = odd;
        for _ in 0..5 {
            inverse = inverse.wrapping_mul(2u64.wrapping_sub(odd.wrapping_mul(inverse)));
        }
        Self {
            shift,
            low_bits: (1 << shift) - 1,
            odd_inverse: inverse,
            node_count,
        }
    }

    /// The node whose fields start at `to_node`, if one does.
    #[inline]
    pub fn node_at(&self, to_node: i64) -> Option<u32> {
        let (quotient, is_node) = self.quotient(u64::try_from(to_node).ok()?);
        is_node.then_some(quotient as u32)
    }

    /// `x` divided by the field count, and whether that is a node's index (`x` is an exact
    /// multiple, below the node count and within a `u32`, which `MAX_NODES` keeps node
    /// indices to), with no branch.
    #[inline]
    pub fn quotient(&self, x: u64) -> (u64, bool) {
        let quotient = (x >> self.shift).wrapping_mul(self.odd_inverse);
        (
            quotient,
            (x & self.low_bits == 0) & (quotient < self.node_count) & (quotient <= u32::MAX as u64),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::progress::Progress;
    use std::path::Path;

    fn reader() -> JsonReader<'static> {
        let empty: &'static [u8] = b"";
        JsonReader::new(
            Box::new(empty),
            Path::new("t.heapsnapshot"),
            Progress::default(),
            Box::new(|| 0),
            0,
        )
    }

    /// A small deterministic generator (xorshift), so failures repeat.
    struct Random(u64);

    impl Random {
        fn below(&mut self, n: u64) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0 % n
        }
    }

    fn node_layout() -> NodeLayout {
        NodeLayout {
            width: 7,
            type_: 0,
            name: 1,
            id: 2,
            self_size: 3,
            edge_count: 4,
            trace_node_id: Some(5),
            detachedness: Some(6),
            type_count: 14,
        }
    }

    /// `count` plain node rows, with `odd` applied to a few of them.
    fn node_rows(count: usize, seed: u64, odd: &[(usize, usize, i64)]) -> Vec<i64> {
        let mut random = Random(seed);
        let mut rows: Vec<i64> = (0..count)
            .flat_map(|i| {
                let size = random.below(200) as i64;
                let det = random.below(3) as i64;
                [
                    i as i64 % 14,
                    i as i64 * 3,
                    2 * i as i64 + 1,
                    size,
                    i as i64 % 4,
                    0,
                    det,
                ]
            })
            .collect();
        for &(row, field, value) in odd {
            rows[row * 7 + field] = value;
        }
        rows
    }

    /// Rows pushed in batches of varied sizes equal the same rows pushed one at a time with
    /// every check: same columns, same first error, at the same row.
    fn nodes_agree(rows: &[i64], seed: u64) {
        let r = reader();
        let mut one = NodeRows::new(node_layout(), 0, None);
        let want = rows
            .chunks_exact(7)
            .enumerate()
            .find_map(|(k, row)| one.push_row(&r, row).err().map(|e| (k, e.to_string())));
        let mut batched = NodeRows::new(node_layout(), 0, None);
        let mut random = Random(seed);
        let (mut done, mut got) = (0, None);
        while done < rows.len() / 7 && got.is_none() {
            let n = (1 + random.below(3000) as usize).min(rows.len() / 7 - done);
            let batch = &rows[done * 7..(done + n) * 7];
            if let Err((k, e)) = batched.push(&r, batch) {
                got = Some((done + k, e.to_string()));
            }
            done += n;
        }
        assert_eq!(got, want);
        if want.is_none() {
            assert_eq!(batched.types, one.types);
            assert_eq!(
                batched.names.in_memory_values(),
                one.names.in_memory_values()
            );
            assert_eq!(batched.ids.in_memory_values(), one.ids.in_memory_values());
            assert_eq!(batched.self_sizes, one.self_sizes);
            assert_eq!(batched.edge_counts, one.edge_counts);
            assert_eq!(batched.detachedness, one.detachedness);
            assert_eq!(batched.trace_ids, one.trace_ids);
            assert_eq!(batched.big_self_sizes, one.big_self_sizes);
            assert_eq!((batched.count, batched.max_name), (one.count, one.max_name));
            assert_eq!(batched.heap_bytes, one.heap_bytes);
        }
    }

    #[test]
    fn node_blocks_equal_node_rows() {
        let big = u32::MAX as i64 + 5;
        let cases: Vec<Vec<(usize, usize, i64)>> = vec![
            vec![],
            // A big self size, trace ids from some row on, detachedness out of a byte's range.
            vec![(1500, 3, big), (2100, 5, 77), (2200, 5, 0), (4000, 6, 900)],
            // Errors in the middle of a block, in its first row and its last.
            vec![(2500, 0, 14)],
            vec![(1024, 1, u32::MAX as i64 + 1)],
            vec![(2047, 2, u32::MAX as i64 + 1)],
            vec![(3000, 4, u32::MAX as i64 + 1), (3001, 0, 99)],
            vec![(700, 5, 3), (3333, 5, u32::MAX as i64 + 1)],
            vec![(10, 3, 1 << 62), (11, 3, 1 << 62)],
        ];
        for (k, odd) in cases.iter().enumerate() {
            for seed in 1..4 {
                nodes_agree(&node_rows(5000, seed + k as u64, odd), seed);
            }
        }
    }

    fn edge_layout(node_count: u64) -> EdgeLayout {
        EdgeLayout {
            width: 3,
            type_: 0,
            name_or_index: 1,
            to_node: 2,
            type_count: 7,
            named_by_string: vec![false, true, true, true, false, true, false],
            nodes: NodeStarts::new(7, node_count),
        }
    }

    /// Edges pushed in batches equal the edges checked one at a time.
    #[test]
    fn edge_blocks_equal_edge_rows() {
        let r = reader();
        let nodes = 1000;
        let cases: [&[(usize, usize, i64)]; 6] = [
            &[],
            &[(2500, 0, 7)],
            &[(1024, 1, u32::MAX as i64 + 1)],
            &[(2047, 2, 7 * nodes as i64)],
            &[(3000, 2, 15), (2999, 0, 9)],
            &[(0, 2, 1)],
        ];
        for (k, odd) in cases.iter().enumerate() {
            let mut random = Random(k as u64 + 1);
            let mut rows: Vec<i64> = (0..5000)
                .flat_map(|_| {
                    let ty = random.below(7) as i64;
                    [
                        ty,
                        random.below(1 << 20) as i64,
                        7 * random.below(nodes) as i64,
                    ]
                })
                .collect();
            for &(row, field, value) in odd.iter() {
                rows[row * 3 + field] = value;
            }
            let layout = edge_layout(nodes);
            let want = rows.chunks_exact(3).enumerate().find_map(|(e, row)| {
                EdgeRows::check_row(&layout, &r, e as u64, row)
                    .err()
                    .map(|err| (e, err.to_string()))
            });
            let mut batched = EdgeRows::new(edge_layout(nodes), 0, None);
            let (mut done, mut got) = (0, None);
            while done < 5000 && got.is_none() {
                let n = (1 + random.below(3000) as usize).min(5000 - done);
                if let Err((e, err)) = batched.push(&r, &rows[done * 3..(done + n) * 3]) {
                    got = Some((done + e, err.to_string()));
                }
                done += n;
            }
            assert_eq!(got, want, "case {k}");
            if want.is_none() {
                let column = |f: usize| rows.chunks_exact(3).map(move |row| row[f]);
                let types: Vec<u8> = column(0).map(|v| v as u8).collect();
                let names: Vec<u32> = column(1).map(|v| v as u32).collect();
                let targets: Vec<u32> = column(2).map(|v| (v / 7) as u32).collect();
                let max_name = rows
                    .chunks_exact(3)
                    .filter(|row| layout.named_by_string[row[0] as usize])
                    .map(|row| row[1] as u32)
                    .max()
                    .unwrap_or(0);
                assert_eq!((batched.count, batched.max_name), (5000, max_name));
                assert_eq!(batched.types.finish().unwrap(), types);
                assert_eq!(batched.names.finish().unwrap(), names);
                assert_eq!(batched.targets.finish().unwrap(), targets);
            }
        }
    }

    /// An edge's target is found by multiplying, for every field count: exact multiples below
    /// the node count give their node, anything else none (as a division and a check would).
    #[test]
    fn node_starts_equal_dividing() {
        for fields in 1..=17u64 {
            for node_count in [0u64, 1, 2, 7, 1000] {
                let starts = NodeStarts::new(fields, node_count);
                let end = (fields * node_count + 2 * fields) as i64;
                for to_node in (-3..end).chain([i64::MAX, i64::MIN, u32::MAX as i64 * 17]) {
                    let want = (to_node >= 0
                        && (to_node as u64).is_multiple_of(fields)
                        && (to_node as u64 / fields) < node_count)
                        .then(|| (to_node as u64 / fields) as u32);
                    assert_eq!(
                        starts.node_at(to_node),
                        want,
                        "{fields} {node_count} {to_node}"
                    );
                }
            }
        }
        // Multiples far past the node count stay out, whatever their quotient wraps to.
        let starts = NodeStarts::new(7, 20_000_000);
        for k in [20_000_000u64, 1 << 32, 1 << 40, u64::MAX / 7 / 2] {
            assert_eq!(starts.node_at((k * 7) as i64), None, "{k}");
        }
        assert_eq!(starts.node_at(7 * 19_999_999), Some(19_999_999));
    }
}
