//! The meta section: the small structured values kept beside the big arrays (the graph's
//! type tables, the snapshot's info and allocation traces, the Summary and Statistics), as a
//! little-endian byte stream whose every count is checked before anything is allocated.

use super::Why;
use crate::analysis::{AnalyzedSnapshot, ClassRow, RuleSet, Statistics, Summary};
use crate::model::graph::MAX_HEAP_BYTES;
use crate::model::{
    AllocationTraces, EdgeKind, FieldTable, FxHashMap, Location, NodeKind, SnapshotInfo, TraceNode,
};

/// Writes the meta section: little-endian integers, and strings and lists after their length.
#[derive(Default)]
pub(super) struct MetaWriter(pub(super) Vec<u8>);

impl MetaWriter {
    pub(super) fn u8(&mut self, v: u8) {
        self.0.push(v);
    }
    pub(super) fn u32(&mut self, v: u32) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    pub(super) fn u64(&mut self, v: u64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    pub(super) fn len(&mut self, n: usize) {
        self.u64(n as u64);
    }
    pub(super) fn str(&mut self, s: &str) {
        self.len(s.len());
        self.0.extend_from_slice(s.as_bytes());
    }
    pub(super) fn strs(&mut self, v: &[String]) {
        self.len(v.len());
        v.iter().for_each(|s| self.str(s));
    }
    pub(super) fn opt_u64(&mut self, v: Option<u64>) {
        self.u8(v.is_some() as u8);
        self.u64(v.unwrap_or(0));
    }
    pub(super) fn pairs<'a>(&mut self, it: impl ExactSizeIterator<Item = (&'a u32, &'a u64)>) {
        let mut v: Vec<(u32, u64)> = it.map(|(&a, &b)| (a, b)).collect();
        // Sorted, so equal data writes equal bytes.
        v.sort_unstable();
        self.len(v.len());
        for (a, b) in v {
            self.u32(a);
            self.u64(b);
        }
    }
    pub(super) fn field_table(&mut self, t: &FieldTable) {
        self.strs(&t.fields);
        self.len(t.values.len());
        t.values.iter().for_each(|&v| self.u64(v as u64));
    }
}

/// Reads what [`MetaWriter`] wrote; every length is checked against the bytes left before
/// anything is allocated.
pub(super) struct MetaReader<'a> {
    b: &'a [u8],
}

impl<'a> MetaReader<'a> {
    pub(super) fn new(b: &'a [u8]) -> Self {
        Self { b }
    }
    pub(super) fn take(&mut self, n: usize) -> Result<&'a [u8], Why> {
        if n > self.b.len() {
            return Err("meta section ends early".into());
        }
        let (a, rest) = self.b.split_at(n);
        self.b = rest;
        Ok(a)
    }
    pub(super) fn u8(&mut self) -> Result<u8, Why> {
        Ok(self.take(1)?[0])
    }
    pub(super) fn u32(&mut self) -> Result<u32, Why> {
        let mut x = [0u8; 4];
        x.copy_from_slice(self.take(4)?);
        Ok(u32::from_le_bytes(x))
    }
    pub(super) fn u64(&mut self) -> Result<u64, Why> {
        let mut x = [0u8; 8];
        x.copy_from_slice(self.take(8)?);
        Ok(u64::from_le_bytes(x))
    }
    /// A count of items of at least `min_size` bytes each that must fit in what is left.
    pub(super) fn len(&mut self, min_size: usize) -> Result<usize, Why> {
        let n = self.u64()?;
        if n.saturating_mul(min_size.max(1) as u64) > self.b.len() as u64 {
            return Err(format!("meta count {n} is larger than the section"));
        }
        Ok(n as usize)
    }
    pub(super) fn str(&mut self) -> Result<String, Why> {
        let n = self.len(1)?;
        let b = self.take(n)?;
        String::from_utf8(b.to_vec()).map_err(|_| "meta string is not UTF-8".into())
    }
    pub(super) fn strs(&mut self) -> Result<Vec<String>, Why> {
        let n = self.len(8)?;
        (0..n).map(|_| self.str()).collect()
    }
    pub(super) fn opt_u64(&mut self) -> Result<Option<u64>, Why> {
        let some = self.u8()? != 0;
        let v = self.u64()?;
        Ok(some.then_some(v))
    }
    pub(super) fn pairs(&mut self) -> Result<FxHashMap<u32, u64>, Why> {
        let n = self.len(12)?;
        let mut m = FxHashMap::default();
        for _ in 0..n {
            let k = self.u32()?;
            m.insert(k, self.u64()?);
        }
        Ok(m)
    }
    pub(super) fn field_table(&mut self) -> Result<FieldTable, Why> {
        let fields = self.strs()?;
        let n = self.len(8)?;
        let values = (0..n)
            .map(|_| self.u64().map(|v| v as i64))
            .collect::<Result<_, _>>()?;
        Ok(FieldTable { fields, values })
    }
}

/// What is kept in the meta section besides the big arrays.
pub(super) fn write_meta(d: &AnalyzedSnapshot) -> Vec<u8> {
    let g = &d.snapshot.graph;
    let mut m = MetaWriter::default();
    m.len(g.node_count());
    m.len(g.edge_count());
    m.u32(g.root);
    m.u32(g.node_field_count);
    m.u32(g.max_node_name);
    m.u32(g.max_edge_name);
    m.strs(&g.node_type_names);
    m.len(g.node_kinds.len());
    g.node_kinds.iter().for_each(|k| m.str(k.v8_name()));
    m.strs(&g.edge_type_names);
    m.len(g.edge_kinds.len());
    g.edge_kinds.iter().for_each(|k| m.str(k.v8_name()));
    m.pairs(g.big_self_sizes.iter());
    let info = &d.snapshot.info;
    m.u8(info.title.is_some() as u8);
    m.str(info.title.as_deref().unwrap_or(""));
    m.opt_u64(info.extra_native_bytes);
    m.u64(info.declared_node_count);
    m.u64(info.declared_edge_count);
    let t = &d.snapshot.traces;
    m.field_table(&t.function_infos);
    m.len(t.tree.len());
    for n in &t.tree {
        m.u32(n.id);
        m.u32(n.function_info_index);
        m.u32(n.count);
        m.u64(n.size);
        m.u32(n.parent);
    }
    m.field_table(&t.samples);
    m.len(t.locations.len());
    for l in &t.locations {
        m.u32(l.node);
        m.u32(l.script_id);
        m.u32(l.line);
        m.u32(l.column);
    }
    let a = &d.analysis;
    m.u8(match a.rules {
        RuleSet::DevTools => 0,
        RuleSet::Memlab => 1,
    });
    m.pairs(a.shallow.raw_parts().1.iter());
    m.strs(&d.classes.names);
    // The Summary and Statistics, so a reopened snapshot prints them without a pass over it.
    let summary = d.summary();
    m.u64(summary.node_count);
    m.u64(summary.edge_count);
    m.u64(summary.total_size);
    m.len(summary.classes.len());
    for row in &summary.classes {
        m.u32(row.class_id);
        m.u64(row.count);
        m.u64(row.shallow_size);
        m.u64(row.retained_size);
        m.u64(row.distance.map_or(u64::MAX, u64::from));
    }
    let st = d.statistics();
    for x in [
        st.total,
        st.code,
        st.strings,
        st.js_arrays,
        st.typed_arrays,
        st.system,
        st.native,
        st.other,
    ] {
        m.u64(x);
    }
    m.0
}

/// The meta section read back, with the counts the arrays are checked against.
pub(super) struct Meta {
    pub(super) nodes: usize,
    pub(super) edges: usize,
    pub(super) root: u32,
    pub(super) node_field_count: u32,
    pub(super) max_node_name: u32,
    pub(super) max_edge_name: u32,
    pub(super) node_type_names: Vec<String>,
    pub(super) node_kinds: Vec<NodeKind>,
    pub(super) edge_type_names: Vec<String>,
    pub(super) edge_kinds: Vec<EdgeKind>,
    pub(super) big_self_sizes: FxHashMap<u32, u64>,
    pub(super) info: SnapshotInfo,
    pub(super) traces: AllocationTraces,
    pub(super) rules: RuleSet,
    pub(super) shallow_big: FxHashMap<u32, u64>,
    pub(super) class_names: Vec<String>,
    pub(super) summary: Summary,
    pub(super) statistics: Statistics,
}

pub(super) fn read_meta(b: &[u8]) -> Result<Meta, Why> {
    let mut r = MetaReader::new(b);
    let nodes = r.u64()?;
    let edges = r.u64()?;
    if nodes == 0
        || nodes > crate::model::graph::MAX_NODES
        || edges > crate::model::graph::MAX_EDGES
    {
        return Err(format!("{nodes} nodes, {edges} edges is out of range"));
    }
    let (nodes, edges) = (nodes as usize, edges as usize);
    let root = r.u32()?;
    let node_field_count = r.u32()?;
    let max_node_name = r.u32()?;
    let max_edge_name = r.u32()?;
    let node_type_names = r.strs()?;
    let n = r.len(8)?;
    let node_kinds = (0..n)
        .map(|_| r.str().map(|s| NodeKind::from_v8_name(&s)))
        .collect::<Result<Vec<_>, _>>()?;
    let edge_type_names = r.strs()?;
    let n = r.len(8)?;
    let edge_kinds = (0..n)
        .map(|_| r.str().map(|s| EdgeKind::from_v8_name(&s)))
        .collect::<Result<Vec<_>, _>>()?;
    let big_self_sizes = r.pairs()?;
    let has_title = r.u8()? != 0;
    let title = r.str()?;
    let info = SnapshotInfo {
        title: has_title.then_some(title),
        extra_native_bytes: r.opt_u64()?,
        declared_node_count: r.u64()?,
        declared_edge_count: r.u64()?,
    };
    let function_infos = r.field_table()?;
    let n = r.len(24)?;
    let mut tree = Vec::with_capacity(n);
    for _ in 0..n {
        tree.push(TraceNode {
            id: r.u32()?,
            function_info_index: r.u32()?,
            count: r.u32()?,
            size: r.u64()?,
            parent: r.u32()?,
        });
    }
    let samples = r.field_table()?;
    let n = r.len(16)?;
    let mut locations = Vec::with_capacity(n);
    for _ in 0..n {
        locations.push(Location {
            node: r.u32()?,
            script_id: r.u32()?,
            line: r.u32()?,
            column: r.u32()?,
        });
    }
    let rules = match r.u8()? {
        0 => RuleSet::DevTools,
        1 => RuleSet::Memlab,
        x => return Err(format!("unknown rule set {x}")),
    };
    let shallow_big = r.pairs()?;
    let class_names = r.strs()?;
    let (node_count, edge_count, total_size) = (r.u64()?, r.u64()?, r.u64()?);
    let n = r.len(36)?;
    let mut rows = Vec::with_capacity(n);
    for _ in 0..n {
        let class_id = r.u32()?;
        let name = class_names
            .get(class_id as usize)
            .ok_or("summary names an unknown class")?
            .clone();
        let (count, shallow_size, retained_size, distance) =
            (r.u64()?, r.u64()?, r.u64()?, r.u64()?);
        if count > nodes as u64 || shallow_size > MAX_HEAP_BYTES || retained_size > MAX_HEAP_BYTES {
            return Err("summary row out of range".into());
        }
        rows.push(ClassRow {
            name,
            count,
            shallow_size,
            retained_size,
            distance: u32::try_from(distance).ok(),
            class_id,
        });
    }
    let summary = Summary {
        node_count,
        edge_count,
        total_size,
        classes: rows,
    };
    let mut st = [0u64; 8];
    for x in &mut st {
        *x = r.u64()?;
    }
    let [total, code, strings, js_arrays, typed_arrays, system, native, other] = st;
    let statistics = Statistics {
        total,
        code,
        strings,
        js_arrays,
        typed_arrays,
        system,
        native,
        other,
    };
    if node_count != nodes as u64
        || edge_count != edges as u64
        || st
            .iter()
            .chain([&total_size])
            .any(|&x| x > 2 * MAX_HEAP_BYTES)
    {
        return Err("summary totals out of range".into());
    }
    if !r.b.is_empty() {
        return Err("meta section has trailing bytes".into());
    }
    // Sizes the views add up: bounded like a loaded heap's, so their totals fit.
    let big_sum = |m: &FxHashMap<u32, u64>| m.values().fold(0u64, |s, &x| s.saturating_add(x));
    if big_sum(&big_self_sizes) > MAX_HEAP_BYTES
        || big_sum(&shallow_big) > MAX_HEAP_BYTES
        || info.extra_native_bytes.unwrap_or(0) > MAX_HEAP_BYTES
    {
        return Err("meta sizes add up to more than any heap holds".into());
    }
    // Values the analyses index with.
    if root as usize >= nodes
        || node_kinds.len() != node_type_names.len()
        || edge_kinds.len() != edge_type_names.len()
        || node_type_names.is_empty()
        || class_names.is_empty()
        || big_self_sizes.keys().any(|&k| k as usize >= nodes)
        || shallow_big.keys().any(|&k| k as usize >= nodes)
        || locations.iter().any(|l| l.node as usize >= nodes)
        || tree
            .iter()
            .any(|t| t.parent != u32::MAX && t.parent as usize >= tree.len())
    {
        return Err("meta values out of range".into());
    }
    Ok(Meta {
        nodes,
        edges,
        root,
        node_field_count,
        max_node_name,
        max_edge_name,
        node_type_names,
        node_kinds,
        edge_type_names,
        edge_kinds,
        big_self_sizes,
        info,
        traces: AllocationTraces {
            function_infos,
            tree,
            samples,
            locations,
        },
        rules,
        shallow_big,
        class_names,
        summary,
        statistics,
    })
}
