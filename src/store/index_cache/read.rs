//! Reading an index: the header, section table, key and meta first, then one streaming pass
//! (on two threads) over every big section's checksum and values, and only then a mapping.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;
use std::sync::Arc;

use super::checksum::{checksum, Checksum};
use super::meta::read_meta;
use super::{
    header_sum, Entry, Sec, Why, ALL_SECS, ENTRY_LEN, FORMAT_VERSION, HEADER_LEN, MAGIC,
    MAX_SECTIONS,
};
use crate::analysis::{Analysis, AnalyzedSnapshot, ClassIndex, DominatorTree, Totals};
use crate::model::column::Pod;
use crate::model::graph::MAX_HEAP_BYTES;
use crate::model::{Column, HeapGraph, SizeColumn, Snapshot, StringTable};

pub(super) fn parse_header(h: &[u8], file_len: u64) -> Result<(usize, u64), Why> {
    if h.len() < HEADER_LEN || &h[..8] != MAGIC {
        return Err("not a heapsight index".into());
    }
    let u32_at = |i: usize| u32::from_le_bytes([h[i], h[i + 1], h[i + 2], h[i + 3]]);
    let version = u32_at(8);
    if version != FORMAT_VERSION {
        return Err(format!("index format {version}, expected {FORMAT_VERSION}"));
    }
    let count = u32_at(12) as usize;
    if count > MAX_SECTIONS {
        return Err(format!("{count} sections"));
    }
    let mut len = [0u8; 8];
    len.copy_from_slice(&h[16..24]);
    let len = u64::from_le_bytes(len);
    if file_len != u64::MAX && len != file_len {
        return Err(format!(
            "index is {file_len} bytes, its header says {len} (truncated?)"
        ));
    }
    Ok((count, len))
}

pub(super) fn parse_table(t: &[u8]) -> Result<Vec<Entry>, Why> {
    let rd32 = |b: &[u8]| u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
    let rd64 = |b: &[u8]| {
        let mut x = [0u8; 8];
        x.copy_from_slice(&b[..8]);
        u64::from_le_bytes(x)
    };
    Ok(t.chunks_exact(ENTRY_LEN)
        .map(|e| Entry {
            id: rd32(&e[0..]),
            elem: rd32(&e[4..]),
            offset: rd64(&e[8..]),
            count: rd64(&e[16..]),
            sum: rd64(&e[24..]),
        })
        .collect())
}

/// A check of a section's values, run while it streams through the checksum.
#[derive(Debug, Clone, Copy)]
enum Check {
    None,
    /// Every `u8` below the limit.
    U8Below(u32),
    /// Every `u32` below the limit (or equal to the sentinel).
    U32Below(u32, Option<u32>),
    /// `u32` with the high flag bit cleared below the limit (retainers).
    U32MaskedBelow(u32),
    /// Non-decreasing `u32`, starting at 0, ending at the limit.
    Offsets(u32),
    /// UTF-8 text.
    Utf8,
    /// Sizes in bytes as `u32`: any values, but adding up to at most [`MAX_HEAP_BYTES`].
    SizesU32,
    /// Sizes in bytes as `u64`, adding up to at most [`MAX_HEAP_BYTES`]. For retained sizes
    /// that bounds every sum of some of them, so no total the views add up can overflow (a
    /// real index is far below it: the sum counts each byte once per dominator above it).
    SizesU64,
}

struct Scan {
    check: Check,
    last: Option<u32>,
    carry: Vec<u8>,
    /// Sum of the sizes so far (saturating).
    sum: u64,
    ok: bool,
}

impl Scan {
    fn new(check: Check) -> Self {
        Self {
            check,
            last: None,
            carry: Vec::new(),
            sum: 0,
            ok: true,
        }
    }

    /// Check `b`, the next bytes of the section (whole elements: pieces start 8-aligned).
    fn feed(&mut self, b: &[u8]) {
        let u32s = || {
            b.chunks_exact(4)
                .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        };
        self.ok &= match self.check {
            Check::None => true,
            Check::U8Below(limit) => b.iter().all(|&x| (x as u32) < limit),
            Check::U32Below(limit, sentinel) => u32s().all(|x| x < limit || Some(x) == sentinel),
            Check::U32MaskedBelow(limit) => {
                u32s().all(|x| x & !crate::model::graph::NON_ESSENTIAL < limit)
            }
            Check::Offsets(limit) => {
                let mut ok = true;
                for x in u32s() {
                    let prev = self.last.unwrap_or(0);
                    ok &= x >= prev && x <= limit && (self.last.is_some() || x == 0);
                    self.last = Some(x);
                }
                ok
            }
            Check::Utf8 => {
                let joined;
                let data = if self.carry.is_empty() {
                    b
                } else {
                    joined = [std::mem::take(&mut self.carry).as_slice(), b].concat();
                    &joined[..]
                };
                match std::str::from_utf8(data) {
                    Ok(_) => true,
                    // A character cut at the piece's end: finish it with the next piece.
                    Err(e) if e.error_len().is_none() => {
                        self.carry = data[e.valid_up_to()..].to_vec();
                        true
                    }
                    Err(_) => false,
                }
            }
            Check::SizesU32 => {
                self.sum = u32s().fold(self.sum, |s, x| s.saturating_add(x as u64));
                self.sum <= MAX_HEAP_BYTES
            }
            Check::SizesU64 => {
                let u64s = b
                    .chunks_exact(8)
                    .map(|c| u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]));
                self.sum = u64s.fold(self.sum, |s, x| s.saturating_add(x));
                self.sum <= MAX_HEAP_BYTES
            }
        };
    }

    fn finish(&self) -> bool {
        let end_ok = match self.check {
            Check::Offsets(limit) => self.last == Some(limit),
            Check::Utf8 => self.carry.is_empty(),
            _ => true,
        };
        self.ok && end_ok
    }
}

/// Read and verify the index file at `path` with every check [`IndexCache::lookup`] makes
/// except the comparison of its key with a snapshot's (the key section is checksummed but its
/// contents are taken as they are), then map it. For tools that inspect index files and for
/// fuzzing the reader; the error says why the index would be rejected.
pub fn read_unkeyed(path: &Path) -> Result<AnalyzedSnapshot, String> {
    let file = File::open(path).map_err(|e| format!("{}: cannot open: {e}", path.display()))?;
    read_index(file, None).map_err(|why| format!("{}: {why}", path.display()))
}

/// Recompute the checksums of an index held in memory, in place: every section's that lies
/// inside `index`, then the header's. Lets tests and fuzzers build indexes whose checksums
/// pass, so that the checks behind them are reached. Does nothing to bytes without an index
/// header; other damage (a wrong length, sections out of place) is left as it is.
pub fn reseal(index: &mut [u8]) {
    if index.len() < HEADER_LEN || &index[..8] != MAGIC {
        return;
    }
    let count = (u32::from_le_bytes([index[12], index[13], index[14], index[15]]) as usize)
        .min(MAX_SECTIONS)
        .min((index.len() - HEADER_LEN) / ENTRY_LEN);
    let table_end = HEADER_LEN + count * ENTRY_LEN;
    for at in (HEADER_LEN..table_end).step_by(ENTRY_LEN) {
        let Some(e) = parse_table(&index[at..at + ENTRY_LEN])
            .ok()
            .and_then(|v| v.first().copied())
        else {
            continue;
        };
        let end = e
            .count
            .checked_mul(e.elem as u64)
            .and_then(|b| e.offset.checked_add(b))
            .filter(|&end| end <= index.len() as u64);
        if let Some(end) = end {
            let sum = checksum(&index[e.offset as usize..end as usize]);
            index[at + 24..at + 32].copy_from_slice(&sum.to_le_bytes());
        }
    }
    let sum = header_sum(&index[..table_end]);
    index[24..32].copy_from_slice(&sum.to_le_bytes());
}

/// Stream bytes `from..to` of an index through the checksums and value checks of `scans`,
/// the sections that lie there (in file order); what lies between them must be zero.
fn verify_span(
    file: &File,
    scans: &mut [(Entry, Checksum, Scan)],
    from: u64,
    to: u64,
) -> Result<(), Why> {
    let mut buf = vec![0u8; 8 << 20];
    let mut at = from;
    let mut i = 0;
    while at < to {
        // Pieces end 8-aligned, so a column's elements never straddle two of them.
        let want = ((to - at) as usize).min(buf.len() - (at % 8) as usize);
        let piece = &mut buf[..want];
        read_exact_at(file, piece, at).map_err(|e| format!("cannot read: {e}"))?;
        let (p_start, p_end) = (at, at + want as u64);
        let mut cur = p_start;
        while cur < p_end {
            // Padding up to the next section (or the end).
            let next = scans.get(i).map_or(to, |s| s.0.offset);
            if cur < next {
                let stop = next.min(p_end);
                let pad = &piece[(cur - p_start) as usize..(stop - p_start) as usize];
                if pad.iter().any(|&b| b != 0) {
                    return Err(format!("nonzero padding at byte {cur}"));
                }
                cur = stop;
                continue;
            }
            let (e, sum, scan) = &mut scans[i];
            let end = e.offset + e.count * e.elem as u64;
            let stop = end.min(p_end);
            let part = &piece[(cur - p_start) as usize..(stop - p_start) as usize];
            sum.update(part);
            scan.feed(part);
            cur = stop;
            if cur == end {
                if sum.finish() != e.sum {
                    return Err(format!("section {} checksum mismatch", e.id));
                }
                if !scan.finish() {
                    return Err(format!("section {} has values out of range", e.id));
                }
                i += 1;
            }
        }
        at = p_end;
    }
    if i != scans.len() {
        return Err("sections missing".into());
    }
    Ok(())
}

/// Read `buf.len()` bytes at offset `at`. On Unix this moves no shared cursor, so two threads
/// can read one file at once; elsewhere it seeks, and `read_index` reads on one thread.
fn read_exact_at(file: &File, buf: &mut [u8], at: u64) -> std::io::Result<()> {
    #[cfg(unix)]
    return std::os::unix::fs::FileExt::read_exact_at(file, buf, at);
    #[cfg(not(unix))]
    {
        let mut f = file;
        f.seek(SeekFrom::Start(at))?;
        f.read_exact(buf)
    }
}

/// Read, verify and map the index in `file` whose key must be `key` (any key when `None`).
pub(super) fn read_index(mut file: File, key: Option<&[u8]>) -> Result<AnalyzedSnapshot, Why> {
    let io = |e: std::io::Error| format!("cannot read: {e}");
    let file_len = file.metadata().map_err(io)?.len();
    let mut head = [0u8; HEADER_LEN];
    file.read_exact(&mut head)
        .map_err(|_| "shorter than a header".to_string())?;
    let (count, _) = parse_header(&head, file_len)?;
    let table_len = count * ENTRY_LEN;
    if (HEADER_LEN + table_len) as u64 > file_len {
        return Err("section table past the end".into());
    }
    let mut table = vec![0u8; table_len];
    file.read_exact(&mut table).map_err(io)?;
    let mut h = head.to_vec();
    h.extend_from_slice(&table);
    let stored = u64::from_le_bytes(head[24..32].try_into().unwrap_or_default());
    if header_sum(&h) != stored {
        return Err("header checksum mismatch".into());
    }
    let entries = parse_table(&table)?;
    if entries.len() != ALL_SECS.len()
        || entries.iter().zip(ALL_SECS).any(|(e, s)| e.id != s as u32)
    {
        return Err("unexpected sections".into());
    }
    // Sections in order, aligned, inside the file, not overlapping.
    let mut pos = (HEADER_LEN + table_len) as u64;
    for e in &entries {
        let bytes = e
            .count
            .checked_mul(e.elem as u64)
            .ok_or("section size overflows")?;
        let end = e.offset.checked_add(bytes).ok_or("section end overflows")?;
        if !matches!(e.elem, 1 | 4 | 8) || e.offset % 8 != 0 || e.offset < pos || end > file_len {
            return Err(format!("section {} out of place", e.id));
        }
        pos = end;
    }
    if file_len.div_ceil(8) != pos.div_ceil(8) {
        return Err("bytes after the last section".into());
    }
    let sec = |s: Sec| entries[ALL_SECS.iter().position(|&x| x == s).unwrap_or(0)];

    // Key and meta are small: read, check, decode them before trusting any count.
    let small = |file: &mut File, e: Entry, what: &str| -> Result<Vec<u8>, Why> {
        if e.elem != 1 || e.count > 1 << 30 {
            return Err(format!("{what} section too large"));
        }
        file.seek(SeekFrom::Start(e.offset)).map_err(io)?;
        let mut b = vec![0u8; e.count as usize];
        file.read_exact(&mut b).map_err(io)?;
        if checksum(&b) != e.sum {
            return Err(format!("{what} checksum mismatch"));
        }
        Ok(b)
    };
    let stored_key = small(&mut file, sec(Sec::Key), "key")?;
    if key.is_some_and(|key| key != stored_key) {
        return Err("stale: the snapshot, its options or heapsight changed".into());
    }
    let meta = read_meta(&small(&mut file, sec(Sec::Meta), "meta")?)?;
    let (n, m) = (meta.nodes as u64, meta.edges as u64);
    let n32 = meta.nodes as u32;
    let strings = sec(Sec::StrEnds).count;

    // Expected element size, count (None: either 0 or this) and value check per section.
    let spec = |s: Sec| -> (u32, u64, bool, Check) {
        match s {
            Sec::Key | Sec::Meta => (1, 0, false, Check::None),
            Sec::NodeType => (1, n, false, Check::U8Below(meta.node_kinds.len() as u32)),
            Sec::NodeName | Sec::NodeId => (4, n, false, Check::None),
            Sec::NodeSelfSize => (4, n, false, Check::SizesU32),
            Sec::NodeTraceId => (4, n, true, Check::None),
            Sec::NodeDetachedness => (1, n, true, Check::None),
            Sec::FirstEdge => (4, n + 1, false, Check::Offsets(m as u32)),
            Sec::EdgeType => (1, m, false, Check::U8Below(meta.edge_kinds.len() as u32)),
            Sec::EdgeName => (4, m, false, Check::None),
            Sec::EdgeTo => (4, m, false, Check::U32Below(n32, None)),
            Sec::FirstRetainer => (4, n + 1, false, Check::Offsets(m as u32)),
            Sec::Retainers => (4, m, false, Check::U32MaskedBelow(n32)),
            Sec::StrBytes => (1, sec(Sec::StrBytes).count, false, Check::Utf8),
            Sec::StrEnds => (4, strings, false, Check::None),
            Sec::Shallow => (4, n, false, Check::SizesU32),
            Sec::Distances => (4, n, false, Check::None),
            Sec::Idom => (4, n, false, Check::U32Below(n32, None)),
            Sec::Retained => (8, n, false, Check::SizesU64),
            Sec::Detached => (1, n, true, Check::None),
            Sec::Parents => (4, n, true, Check::U32Below(m as u32, Some(u32::MAX))),
            Sec::ClassOf => (
                4,
                n,
                false,
                Check::U32Below(meta.class_names.len() as u32, None),
            ),
        }
    };
    for (e, s) in entries.iter().zip(ALL_SECS) {
        let (elem, count, optional, _) = spec(s);
        let count_ok = count == 0 && e.elem == 1 || e.count == count || optional && e.count == 0;
        if e.elem != elem || !count_ok {
            return Err(format!(
                "section {} has {} × {} bytes",
                e.id, e.count, e.elem
            ));
        }
    }

    // One sequential pass over the big sections: checksums, zero padding and value checks.
    // Read, not mapped: pages read this way do not count towards the process's memory. Two
    // threads each take a run of whole sections, cut where about half the bytes lie before.
    let mut scans: Vec<(Entry, Checksum, Scan)> = entries
        .iter()
        .zip(ALL_SECS)
        .skip(2)
        .map(|(e, s)| (*e, Checksum::new(), Scan::new(spec(s).3)))
        .collect();
    let start = sec(Sec::Meta).offset + sec(Sec::Meta).count;
    let half = start + file_len.saturating_sub(start) / 2;
    // (Off Unix the reads seek a shared cursor: the first thread then takes every section.)
    let cut = if cfg!(unix) {
        scans.partition_point(|s| s.0.offset < half)
    } else {
        scans.len()
    };
    let (front, back) = scans.split_at_mut(cut);
    let mid = back.first().map_or(file_len, |s| s.0.offset);
    let (back_ok, front_ok) = crate::parallel::beside(
        || verify_span(&file, back, mid, file_len),
        || verify_span(&file, front, start, mid),
    );
    front_ok?;
    back_ok?;

    // Everything checked: map the file and point the columns at it.
    // SAFETY: the file is only ever replaced by rename, never written in place, so the mapping
    // stays as verified (a user editing the cache file in place is outside what we defend).
    let map = Arc::new(unsafe { memmap2::Mmap::map(&file) }.map_err(io)?);
    if map.len() as u64 != file_len {
        return Err("index changed while being read".into());
    }
    fn col<T: Pod>(map: &Arc<memmap2::Mmap>, e: Entry) -> Result<Column<T>, Why> {
        Column::mapped(Arc::clone(map), e.offset as usize, e.count as usize)
            .ok_or_else(|| format!("section {} cannot be mapped", e.id))
    }
    let c32 = |s: Sec| col::<u32>(&map, sec(s));
    let c8 = |s: Sec| col::<u8>(&map, sec(s));
    let str_bytes = c8(Sec::StrBytes)?;
    // SAFETY: the streaming pass checked the text is UTF-8 (`Check::Utf8`).
    let strings = unsafe { StringTable::from_raw_parts_unchecked(str_bytes, c32(Sec::StrEnds)?) };
    let graph = HeapGraph {
        node_type: c8(Sec::NodeType)?,
        node_name: c32(Sec::NodeName)?,
        node_id: c32(Sec::NodeId)?,
        node_self_size: c32(Sec::NodeSelfSize)?,
        big_self_sizes: meta.big_self_sizes.into_iter().collect(),
        node_trace_id: c32(Sec::NodeTraceId)?,
        node_detachedness: c8(Sec::NodeDetachedness)?,
        first_edge: c32(Sec::FirstEdge)?,
        edge_type: c8(Sec::EdgeType)?,
        edge_name: c32(Sec::EdgeName)?,
        edge_to: c32(Sec::EdgeTo)?,
        first_retainer: c32(Sec::FirstRetainer)?,
        retainers: c32(Sec::Retainers)?,
        node_type_names: meta.node_type_names,
        node_kinds: meta.node_kinds,
        edge_type_names: meta.edge_type_names,
        edge_kinds: meta.edge_kinds,
        strings,
        root: meta.root,
        node_field_count: meta.node_field_count,
        max_node_name: meta.max_node_name,
        max_edge_name: meta.max_edge_name,
        ephemeron_names: Default::default(),
    };
    let parents = c32(Sec::Parents)?;
    let idom = c32(Sec::Idom)?;
    if !dominator_chains_end(&idom) {
        return Err(format!(
            "section {} holds a dominator cycle",
            Sec::Idom as u32
        ));
    }
    let analysis = Analysis::from_parts(
        meta.rules,
        SizeColumn::from_raw_parts(c32(Sec::Shallow)?, meta.shallow_big),
        DominatorTree::from_parts(idom, col::<u64>(&map, sec(Sec::Retained))?),
        c32(Sec::Distances)?,
        c8(Sec::Detached)?,
        (!parents.is_empty()).then_some(parents),
    );
    let classes = ClassIndex {
        class_of: c32(Sec::ClassOf)?,
        names: meta.class_names,
    };
    Ok(AnalyzedSnapshot {
        snapshot: Snapshot {
            graph,
            info: meta.info,
            traces: meta.traces,
            alloc: None,
        },
        analysis,
        classes,
        totals: Totals::known(meta.summary, meta.statistics),
    })
}

/// True when every node's chain of immediate dominators ends at a node that is its own (the
/// root, or an unreachable node): the views walk these chains up, and a forged index whose
/// checksums were recomputed could make one loop forever. One pass, 1 byte a node.
fn dominator_chains_end(idom: &[u32]) -> bool {
    const UNSEEN: u8 = 0;
    const ON_WALK: u8 = 1;
    const ENDS: u8 = 2;
    let mut state = vec![UNSEEN; idom.len()];
    let mut walk = Vec::new();
    for start in 0..idom.len() {
        let mut v = start;
        while state[v] == UNSEEN {
            state[v] = ON_WALK;
            walk.push(v);
            let up = idom[v] as usize;
            if up == v {
                break;
            }
            v = up;
        }
        // Back onto this walk other than at its own end: a cycle.
        if state[v] == ON_WALK && idom[v] as usize != v {
            return false;
        }
        for w in walk.drain(..) {
            state[w] = ENDS;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dominator_chains_must_end_at_a_self_dominated_node() {
        // 0 is the root; 4 is unreachable (its own dominator).
        assert!(dominator_chains_end(&[0, 0, 1, 1, 4]));
        assert!(dominator_chains_end(&[]));
        // The root dominated by 1, 1 by the root: a cycle.
        assert!(!dominator_chains_end(&[1, 0, 1]));
        // A longer cycle below the root, reached from a chain that would end.
        assert!(!dominator_chains_end(&[0, 3, 1, 2, 1]));
    }
}
