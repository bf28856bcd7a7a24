//! Writing an index: the sections in file order, each checksummed as it streams out, then the
//! header and section table over the zeros left for them at the start.

use std::fs::File;
use std::io::{BufWriter, Seek, SeekFrom, Write};
use std::path::Path;

use super::checksum::{checksum, Checksum};
use super::meta::write_meta;
use super::{header_sum, Entry, Sec, ALL_SECS, ENTRY_LEN, FORMAT_VERSION, HEADER_LEN, MAGIC};
use crate::analysis::AnalyzedSnapshot;
use crate::model::column::Pod;
use crate::model::Column;

/// The index file being written: where the next section starts, and the table so far.
struct IndexWriter {
    w: BufWriter<File>,
    pos: u64,
    entries: Vec<Entry>,
}

impl IndexWriter {
    fn pad(&mut self) -> std::io::Result<()> {
        let pad = (8 - (self.pos % 8) as usize) % 8;
        self.w.write_all(&[0u8; 8][..pad])?;
        self.pos += pad as u64;
        Ok(())
    }

    fn bytes(&mut self, id: Sec, b: &[u8]) -> std::io::Result<()> {
        self.pad()?;
        self.w.write_all(b)?;
        self.entries.push(Entry {
            id: id as u32,
            elem: 1,
            offset: self.pos,
            count: b.len() as u64,
            sum: checksum(b),
        });
        self.pos += b.len() as u64;
        Ok(())
    }

    /// A column of integers, in little-endian bytes. Only a little-endian host writes an
    /// index (see [`IndexCache::store`]), so those are the bytes in memory.
    fn column<T: Pod>(&mut self, id: Sec, v: &[T]) -> std::io::Result<()> {
        self.column_in_slices(id, v, |_| {})
    }

    /// A graph column that may be spilled (see `model::spill`): its pages are handed back as
    /// soon as they are written, so writing the index does not bring the whole file back.
    fn graph_column<T: Pod>(&mut self, id: Sec, c: &Column<T>) -> std::io::Result<()> {
        self.column_in_slices(id, c, |written| c.release_range(written))
    }

    /// [`column`](Self::column), in slices of `WRITE_PIECE` bytes (bigger writes filled the
    /// page cache much slower on the machine measured), calling `written` after each.
    #[cfg(target_endian = "little")]
    fn column_in_slices<T: Pod>(
        &mut self,
        id: Sec,
        v: &[T],
        written: impl Fn(std::ops::Range<usize>),
    ) -> std::io::Result<()> {
        self.pad()?;
        let offset = self.pos;
        let mut sum = Checksum::new();
        let per_slice = crate::model::column::WRITE_PIECE / std::mem::size_of::<T>();
        for start in (0..v.len()).step_by(per_slice) {
            let end = (start + per_slice).min(v.len());
            // Slices are whole multiples of 8 bytes but the last, as `Checksum` needs.
            let bytes = crate::model::column::le_bytes(&v[start..end]);
            self.w.write_all(bytes)?;
            sum.update(bytes);
            written(start..end);
        }
        self.pos += std::mem::size_of_val(v) as u64;
        self.entries.push(Entry {
            id: id as u32,
            elem: std::mem::size_of::<T>() as u32,
            offset,
            count: v.len() as u64,
            sum: sum.finish(),
        });
        Ok(())
    }

    /// Big-endian hosts write no index.
    #[cfg(not(target_endian = "little"))]
    fn column_in_slices<T: Pod>(
        &mut self,
        _: Sec,
        _: &[T],
        _: impl Fn(std::ops::Range<usize>),
    ) -> std::io::Result<()> {
        Err(std::io::Error::other(
            "index files are written on little-endian hosts only",
        ))
    }
}

fn header_bytes(entries: &[Entry], file_len: u64) -> Vec<u8> {
    let mut h = Vec::with_capacity(HEADER_LEN + entries.len() * ENTRY_LEN);
    h.extend_from_slice(MAGIC);
    h.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    h.extend_from_slice(&(entries.len() as u32).to_le_bytes());
    h.extend_from_slice(&file_len.to_le_bytes());
    h.extend_from_slice(&[0u8; 8]);
    for e in entries {
        h.extend_from_slice(&e.id.to_le_bytes());
        h.extend_from_slice(&e.elem.to_le_bytes());
        h.extend_from_slice(&e.offset.to_le_bytes());
        h.extend_from_slice(&e.count.to_le_bytes());
        h.extend_from_slice(&e.sum.to_le_bytes());
    }
    let sum = header_sum(&h);
    h[24..32].copy_from_slice(&sum.to_le_bytes());
    h
}
/// Write the index of `d` with `key` to `path`; returns its length.
pub(super) fn write_index(path: &Path, key: &[u8], d: &AnalyzedSnapshot) -> std::io::Result<u64> {
    let g = &d.snapshot.graph;
    let a = &d.analysis;
    let table_len = (HEADER_LEN + ALL_SECS.len() * ENTRY_LEN) as u64;
    let mut f = File::create(path)?;
    f.write_all(&vec![0u8; table_len as usize])?;
    let w = IndexWriter {
        // No bigger than a column's slices, which then go to the file as they are: the
        // buffer would join them into bigger writes (see `WRITE_PIECE`).
        w: BufWriter::with_capacity(crate::model::column::WRITE_PIECE, f),
        pos: table_len,
        entries: Vec::new(),
    };
    // The Summary and Statistics (in the meta section) first, so that the Summary's walk of the
    // dominator tree and the search below don't hold their working memory at the same time.
    d.summary_ref();
    d.statistics_ref();
    // The retainer-path parents (a search of the whole graph) are worked out on a second core
    // while the sections before theirs are written, if no one has asked for them yet.
    let ((), head) = crate::parallel::beside(
        || {
            a.parent_edges(g);
        },
        || -> std::io::Result<IndexWriter> {
            let mut w = w;
            w.bytes(Sec::Key, key)?;
            w.bytes(Sec::Meta, &write_meta(d))?;
            w.column(Sec::NodeType, &g.node_type)?;
            w.graph_column(Sec::NodeName, &g.node_name)?;
            w.graph_column(Sec::NodeId, &g.node_id)?;
            w.column(Sec::NodeSelfSize, &g.node_self_size)?;
            w.column(Sec::NodeTraceId, &g.node_trace_id)?;
            w.column(Sec::NodeDetachedness, &g.node_detachedness)?;
            w.graph_column(Sec::FirstEdge, &g.first_edge)?;
            w.graph_column(Sec::EdgeType, &g.edge_type)?;
            w.graph_column(Sec::EdgeName, &g.edge_name)?;
            w.graph_column(Sec::EdgeTo, &g.edge_to)?;
            w.graph_column(Sec::FirstRetainer, &g.first_retainer)?;
            w.graph_column(Sec::Retainers, &g.retainers)?;
            let (text, ends) = g.strings.raw_parts();
            w.column(Sec::StrBytes, text)?;
            w.column(Sec::StrEnds, ends)?;
            w.column(Sec::Shallow, a.shallow.raw_parts().0)?;
            w.column(Sec::Idom, &a.dominators.idom)?;
            w.column(Sec::Retained, &a.dominators.retained)?;
            w.column(Sec::Distances, &a.distances)?;
            w.column(Sec::Detached, &a.detached)?;
            Ok(w)
        },
    );
    let mut w = head?;
    g.release_spilled();
    w.column(Sec::Parents, a.parent_edges(g))?;
    w.column(Sec::ClassOf, &d.classes.class_of)?;
    w.pad()?;
    let len = w.pos;
    let entries = std::mem::take(&mut w.entries);
    let mut f = w.w.into_inner().map_err(|e| e.into_error())?;
    f.seek(SeekFrom::Start(0))?;
    f.write_all(&header_bytes(&entries, len))?;
    // No fsync: every read checks the length and every section's checksum, so a file cut
    // short or garbled by a crash is rejected and rewritten, never trusted. Forcing 2 GB to
    // disk would add a second or more to every first open for nothing.
    Ok(len)
}
