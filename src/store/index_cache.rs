//! The index cache: after a heap snapshot is loaded and analysed once, its graph, strings and
//! per-node results are written to a compact binary index in the user's cache folder; opening
//! the same file again maps that index (no parsing, no analysis, no copy of the big arrays).
//!
//! Layout (all integers little-endian, sections 8-byte aligned):
//!
//! ```text
//! 0   magic "HSIDX\0\r\n"      8   format version (u32)   12  section count S (u32)
//! 16  file length (u64)         24  checksum of bytes 0..24 and the section table (u64)
//! 32  section table: S × { id u32, element size u32, offset u64, count u64, checksum u64 }
//! …   sections, zero padding between them
//! ```
//!
//! An index is trusted only when its key (heapsight version, canonical path, size, mtime, a
//! hash of the file's first and last MiB, rules and load options) equals the file's, its length
//! matches, every section's checksum matches, padding is zero, every value that is used as
//! an index is in range and the sizes add up to no more than a loaded heap may hold. Anything
//! else is a miss: the snapshot is loaded again and the index rewritten. Writers write a
//! private temp file and rename it into place, so readers never see a torn file. Allocation
//! profiles (DHAT, heaptrack, pprof, sampling profiles) are not cached: they load fast and
//! their profile tables are not part of the index.

use std::fs::File;
use std::io::{BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::analysis::{
    Analysis, AnalyzedSnapshot, ClassIndex, ClassRow, DominatorTree, RuleSet, Statistics, Summary,
    Totals,
};
use crate::formats::LoadOptions;
use crate::model::column::Pod;
use crate::model::graph::MAX_HEAP_BYTES;
use crate::model::{
    AllocationTraces, Column, EdgeKind, FieldTable, FxHashMap, HeapGraph, Location, NodeKind,
    SizeColumn, Snapshot, SnapshotInfo, StringTable, TraceNode,
};

const MAGIC: &[u8; 8] = b"HSIDX\0\r\n";
/// Bumped whenever the layout or the meaning of a section changes.
const FORMAT_VERSION: u32 = 2;
const HEADER_LEN: usize = 32;
const ENTRY_LEN: usize = 32;
/// Index files in the cache folder end with this.
pub const INDEX_EXT: &str = "hsidx";
/// Default size cap of the cache folder.
pub const DEFAULT_MAX_BYTES: u64 = 4 << 30;
/// Bytes hashed at each end of the snapshot for its key.
const END_BYTES: u64 = 1 << 20;
/// Sections a well-formed index has at most (a bigger count is a corrupt header).
const MAX_SECTIONS: usize = 64;

/// Section ids, in file order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
enum Sec {
    Key = 1,
    Meta,
    NodeType,
    NodeName,
    NodeId,
    NodeSelfSize,
    NodeTraceId,
    NodeDetachedness,
    FirstEdge,
    EdgeType,
    EdgeName,
    EdgeTo,
    FirstRetainer,
    Retainers,
    StrBytes,
    StrEnds,
    Shallow,
    Idom,
    Retained,
    Distances,
    Detached,
    Parents,
    ClassOf,
}

const ALL_SECS: [Sec; 23] = [
    Sec::Key,
    Sec::Meta,
    Sec::NodeType,
    Sec::NodeName,
    Sec::NodeId,
    Sec::NodeSelfSize,
    Sec::NodeTraceId,
    Sec::NodeDetachedness,
    Sec::FirstEdge,
    Sec::EdgeType,
    Sec::EdgeName,
    Sec::EdgeTo,
    Sec::FirstRetainer,
    Sec::Retainers,
    Sec::StrBytes,
    Sec::StrEnds,
    Sec::Shallow,
    Sec::Idom,
    Sec::Retained,
    Sec::Distances,
    Sec::Detached,
    Sec::Parents,
    Sec::ClassOf,
];

// ---------------------------------------------------------------------------------------------
// Checksum

/// A 64-bit checksum over 8-byte words in four independent lanes (so it runs at memory speed).
/// Each step is a bijection of the lane state, so changing any one word — any byte flip —
/// always changes the result.
#[derive(Clone)]
struct Checksum {
    lanes: [u64; 4],
    words: u64,
    len: u64,
}

const K: u64 = 0x9E37_79B9_7F4A_7C15;

impl Checksum {
    fn new() -> Self {
        Self {
            lanes: [
                0x243F_6A88_85A3_08D3,
                0x1319_8A2E_0370_7344,
                0xA409_3822_299F_31D0,
                0x082E_FA98_EC4E_6C89,
            ],
            words: 0,
            len: 0,
        }
    }

    #[inline]
    fn word(&mut self, w: u64) {
        let l = &mut self.lanes[(self.words & 3) as usize];
        *l = (*l ^ w).wrapping_mul(K).rotate_left(29);
        self.words += 1;
    }

    /// Add `bytes`; every call but the last must pass a multiple of 8 bytes.
    fn update(&mut self, bytes: &[u8]) {
        self.len += bytes.len() as u64;
        let w = |s: &[u8], i: usize| {
            let mut x = [0u8; 8];
            x.copy_from_slice(&s[i..i + 8]);
            u64::from_le_bytes(x)
        };
        let whole = bytes.len() / 8 * 8;
        let mut i = 0;
        // Single words until lane 0 is next, then four at a time.
        while self.words & 3 != 0 && i < whole {
            self.word(w(bytes, i));
            i += 8;
        }
        let blocks_end = i + (whole - i) / 32 * 32;
        let [mut a, mut b, mut c, mut d] = self.lanes;
        while i < blocks_end {
            a = (a ^ w(bytes, i)).wrapping_mul(K).rotate_left(29);
            b = (b ^ w(bytes, i + 8)).wrapping_mul(K).rotate_left(29);
            c = (c ^ w(bytes, i + 16)).wrapping_mul(K).rotate_left(29);
            d = (d ^ w(bytes, i + 24)).wrapping_mul(K).rotate_left(29);
            self.words += 4;
            i += 32;
        }
        self.lanes = [a, b, c, d];
        while i < whole {
            self.word(w(bytes, i));
            i += 8;
        }
        if i < bytes.len() {
            let mut x = [0u8; 8];
            x[..bytes.len() - i].copy_from_slice(&bytes[i..]);
            self.word(u64::from_le_bytes(x));
        }
    }

    fn finish(&self) -> u64 {
        let mut h = self.len;
        for l in self.lanes {
            h = (h ^ l).wrapping_mul(K);
            h ^= h >> 29;
        }
        h
    }
}

/// Whether `name` is one of the temp files [`IndexCache::store`] writes before renaming.
fn is_temp_name(name: &str) -> bool {
    name.starts_with('.') && name.ends_with(".tmp") && name.contains(INDEX_EXT)
}

/// Checksum of one buffer.
fn checksum(bytes: &[u8]) -> u64 {
    let mut c = Checksum::new();
    c.update(bytes);
    c.finish()
}

// ---------------------------------------------------------------------------------------------
// The cache folder

/// Where indexes are kept, and how much room they may take.
#[derive(Debug, Clone)]
pub struct IndexCache {
    dir: PathBuf,
    max_bytes: u64,
}

/// One index file in the cache folder.
#[derive(Debug, Clone)]
pub struct CacheEntry {
    /// The index file.
    pub path: PathBuf,
    /// Its size in bytes.
    pub size: u64,
    /// When it was last written or used.
    pub last_used: SystemTime,
    /// The snapshot it indexes, when its key can be read.
    pub source: Option<String>,
}

/// What a lookup found.
pub enum Lookup {
    /// A valid index.
    Hit(Box<AnalyzedSnapshot>),
    /// No index for this file and these options.
    Miss,
    /// An index that is stale, truncated, corrupt or of another version (it will be replaced).
    Rejected(String),
}

impl IndexCache {
    /// The cache in `dir`, keeping at most `max_bytes` of indexes.
    pub fn at(dir: impl Into<PathBuf>, max_bytes: u64) -> Self {
        Self {
            dir: dir.into(),
            max_bytes,
        }
    }

    /// The user's cache: `$HEAPSIGHT_CACHE_DIR`, else `$XDG_CACHE_HOME/heapsight`, else
    /// `~/.cache/heapsight`; capped by `$HEAPSIGHT_CACHE_MAX` (bytes, or with a K/M/G suffix)
    /// or [`DEFAULT_MAX_BYTES`]. `None` when no folder can be found or `$HEAPSIGHT_NO_CACHE`
    /// is set (what `--no-cache` does).
    pub fn from_env() -> Option<Self> {
        if std::env::var_os("HEAPSIGHT_NO_CACHE").is_some_and(|v| !v.is_empty()) {
            return None;
        }
        let dir = crate::model::spill::user_cache_dir()?;
        let max = std::env::var("HEAPSIGHT_CACHE_MAX")
            .ok()
            .and_then(|s| parse_size(&s))
            .unwrap_or(DEFAULT_MAX_BYTES);
        Some(Self::at(dir, max))
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The size cap in bytes.
    pub fn max_bytes(&self) -> u64 {
        self.max_bytes
    }

    /// The index file for `path` under `rules` and `options` (one file per combination: a
    /// newer index of the same file replaces the older).
    fn entry_path(&self, source: &Path, rules: RuleSet, options: &LoadOptions) -> PathBuf {
        let id = format!("{}\n{:?}\n{:?}", source.display(), rules, options);
        self.dir
            .join(format!("{:016x}.{INDEX_EXT}", checksum(id.as_bytes())))
    }

    /// Look `source` up. Never fails: anything wrong with the index is a [`Lookup::Rejected`].
    pub fn lookup(&self, source: &Path, rules: RuleSet, options: &LoadOptions) -> Lookup {
        let Ok(canon) = std::fs::canonicalize(source) else {
            return Lookup::Miss;
        };
        let Ok(key) = source_key(&canon, rules, options) else {
            return Lookup::Miss;
        };
        let index = self.entry_path(&canon, rules, options);
        let file = match File::open(&index) {
            Ok(f) => f,
            Err(_) => return Lookup::Miss,
        };
        match read_index(file, Some(&key)) {
            Ok(data) => {
                // Last use decides eviction order.
                if let Ok(f) = File::options().write(true).open(&index) {
                    let _ = f.set_modified(SystemTime::now());
                }
                Lookup::Hit(Box::new(data))
            }
            Err(why) => Lookup::Rejected(format!("{}: {why}", index.display())),
        }
    }

    /// Write the index of `data`, loaded from `source` with `options`, then evict the least
    /// recently used indexes beyond the cap. Allocation profiles are not cached (`Ok(None)`).
    pub fn store(
        &self,
        source: &Path,
        options: &LoadOptions,
        data: &AnalyzedSnapshot,
    ) -> crate::Result<Option<PathBuf>> {
        if data.snapshot.alloc.is_some() || cfg!(target_endian = "big") {
            return Ok(None);
        }
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| crate::Error::Io { path, source }
        };
        let canon = std::fs::canonicalize(source).map_err(io(source))?;
        let rules = data.analysis.rules;
        let key = source_key(&canon, rules, options).map_err(io(source))?;
        std::fs::create_dir_all(&self.dir).map_err(io(&self.dir))?;
        let target = self.entry_path(&canon, rules, options);
        // A private temp file per writer, renamed into place: concurrent writers each rename a
        // whole file, and a reader holding the old one keeps reading it.
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos();
        let tmp = self.dir.join(format!(
            ".{}.{}.{nanos}.tmp",
            target.file_name().unwrap_or_default().to_string_lossy(),
            std::process::id()
        ));
        let written = write_index(&tmp, &key, data).and_then(|len| {
            if len > self.max_bytes {
                return Err(std::io::Error::other(format!(
                    "index of {len} bytes is over the cache cap of {} bytes",
                    self.max_bytes
                )));
            }
            std::fs::rename(&tmp, &target)
        });
        if let Err(e) = written {
            let _ = std::fs::remove_file(&tmp);
            return Err(io(&target)(e));
        }
        self.evict(Some(&target));
        Ok(Some(target))
    }

    /// The index files, least recently used first.
    pub fn entries(&self) -> Vec<CacheEntry> {
        let Ok(rd) = std::fs::read_dir(&self.dir) else {
            return Vec::new();
        };
        let mut out: Vec<CacheEntry> = rd
            .flatten()
            .filter(|e| e.path().extension().is_some_and(|x| x == INDEX_EXT))
            .filter_map(|e| {
                let m = e.metadata().ok()?;
                m.is_file().then(|| CacheEntry {
                    path: e.path(),
                    size: m.len(),
                    last_used: m.modified().unwrap_or(UNIX_EPOCH),
                    source: read_source_of(&e.path()),
                })
            })
            .collect();
        out.sort_by(|a, b| a.last_used.cmp(&b.last_used).then(a.path.cmp(&b.path)));
        out
    }

    /// Remove least recently used indexes until the total is within the cap; `keep` (the index
    /// just written) goes last. Returns how many were removed.
    pub fn evict(&self, keep: Option<&Path>) -> usize {
        self.remove_stale_temp_files();
        let mut entries = self.entries();
        // `keep` last in line, whatever its time stamp.
        entries.sort_by_key(|e| Some(e.path.as_path()) == keep);
        let mut total: u64 = entries.iter().map(|e| e.size).sum();
        let mut removed = 0;
        for e in entries {
            if total <= self.max_bytes {
                break;
            }
            if std::fs::remove_file(&e.path).is_ok() {
                total -= e.size;
                removed += 1;
            }
        }
        removed
    }

    /// Remove temp files no writer has touched for an hour: left by a process that stopped
    /// while writing (a live writer's file changes all the time, so its mtime stays fresh).
    fn remove_stale_temp_files(&self) {
        const STALE: Duration = Duration::from_secs(60 * 60);
        let Ok(rd) = std::fs::read_dir(&self.dir) else {
            return;
        };
        for e in rd.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let age = e
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.elapsed().ok());
            if is_temp_name(&name) && age.is_some_and(|a| a > STALE) {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }

    /// Remove every index and leftover temp file; returns the bytes freed.
    pub fn clear(&self) -> crate::Result<u64> {
        let rd = match std::fs::read_dir(&self.dir) {
            Ok(rd) => rd,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
            Err(source) => {
                return Err(crate::Error::Io {
                    path: self.dir.clone(),
                    source,
                })
            }
        };
        let mut freed = 0;
        for e in rd.flatten() {
            let p = e.path();
            let name = e.file_name().to_string_lossy().into_owned();
            let ours = p.extension().is_some_and(|x| x == INDEX_EXT) || is_temp_name(&name);
            if ours {
                let size = e.metadata().map(|m| m.len()).unwrap_or(0);
                std::fs::remove_file(&p).map_err(|source| crate::Error::Io {
                    path: p.clone(),
                    source,
                })?;
                freed += size;
            }
        }
        Ok(freed)
    }
}

/// `123`, `64K`, `512M`, `4G` (powers of 1024).
pub fn parse_size(s: &str) -> Option<u64> {
    let s = s.trim();
    let (num, mul) = match s.char_indices().last()? {
        (i, 'k' | 'K') => (&s[..i], 1u64 << 10),
        (i, 'm' | 'M') => (&s[..i], 1 << 20),
        (i, 'g' | 'G') => (&s[..i], 1 << 30),
        (i, 't' | 'T') => (&s[..i], 1 << 40),
        _ => (s, 1),
    };
    num.trim().parse::<u64>().ok()?.checked_mul(mul)
}

/// The key of `source` (canonical): what must be equal for an index to describe it.
fn source_key(source: &Path, rules: RuleSet, options: &LoadOptions) -> std::io::Result<Vec<u8>> {
    let mut f = File::open(source)?;
    let meta = f.metadata()?;
    let size = meta.len();
    let mtime = meta
        .modified()?
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO);
    // The ends catch rewrites that keep size and time stamp (copies with preserved mtime).
    let mut ends = Checksum::new();
    let mut buf = vec![0u8; END_BYTES.min(size) as usize];
    f.read_exact(&mut buf)?;
    ends.update(&buf);
    if size > END_BYTES {
        let start = size.saturating_sub(END_BYTES).max(END_BYTES);
        f.seek(SeekFrom::Start(start))?;
        buf.clear();
        f.take(END_BYTES).read_to_end(&mut buf)?;
        let mut tail = Checksum::new();
        tail.update(&buf);
        ends.update(&tail.finish().to_le_bytes());
    }
    let mut m = MetaWriter::default();
    m.str(env!("CARGO_PKG_VERSION"));
    m.str(&source.to_string_lossy());
    m.u64(size);
    m.u64(mtime.as_secs());
    m.u32(mtime.subsec_nanos());
    m.u64(ends.finish());
    m.str(&format!("{rules:?}"));
    m.str(&format!("{options:?}"));
    Ok(m.0)
}

/// The snapshot path recorded in an index's key (for `cache info`); reads only the head.
fn read_source_of(index: &Path) -> Option<String> {
    let mut f = File::open(index).ok()?;
    let mut head = [0u8; HEADER_LEN];
    f.read_exact(&mut head).ok()?;
    let (count, _) = parse_header(&head, u64::MAX).ok()?;
    let mut table = vec![0u8; count.checked_mul(ENTRY_LEN)?];
    f.read_exact(&mut table).ok()?;
    let sections = parse_table(&table).ok()?;
    let key = sections.iter().find(|s| s.id == Sec::Key as u32)?;
    if key.count > 1 << 16 {
        return None;
    }
    f.seek(SeekFrom::Start(key.offset)).ok()?;
    let mut bytes = vec![0u8; key.count as usize];
    f.read_exact(&mut bytes).ok()?;
    let mut r = MetaReader::new(&bytes);
    r.str().ok()?;
    r.str().ok()
}

// ---------------------------------------------------------------------------------------------
// Small structured values ("meta"): a little-endian byte stream

#[derive(Default)]
struct MetaWriter(Vec<u8>);

impl MetaWriter {
    fn u8(&mut self, v: u8) {
        self.0.push(v);
    }
    fn u32(&mut self, v: u32) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn u64(&mut self, v: u64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn len(&mut self, n: usize) {
        self.u64(n as u64);
    }
    fn str(&mut self, s: &str) {
        self.len(s.len());
        self.0.extend_from_slice(s.as_bytes());
    }
    fn strs(&mut self, v: &[String]) {
        self.len(v.len());
        v.iter().for_each(|s| self.str(s));
    }
    fn opt_u64(&mut self, v: Option<u64>) {
        self.u8(v.is_some() as u8);
        self.u64(v.unwrap_or(0));
    }
    fn pairs<'a>(&mut self, it: impl ExactSizeIterator<Item = (&'a u32, &'a u64)>) {
        let mut v: Vec<(u32, u64)> = it.map(|(&a, &b)| (a, b)).collect();
        // Sorted, so equal data writes equal bytes.
        v.sort_unstable();
        self.len(v.len());
        for (a, b) in v {
            self.u32(a);
            self.u64(b);
        }
    }
    fn field_table(&mut self, t: &FieldTable) {
        self.strs(&t.fields);
        self.len(t.values.len());
        t.values.iter().for_each(|&v| self.u64(v as u64));
    }
}

/// Reads what [`MetaWriter`] wrote; every length is checked against the bytes left before
/// anything is allocated.
struct MetaReader<'a> {
    b: &'a [u8],
}

type Why = String;

impl<'a> MetaReader<'a> {
    fn new(b: &'a [u8]) -> Self {
        Self { b }
    }
    fn take(&mut self, n: usize) -> Result<&'a [u8], Why> {
        if n > self.b.len() {
            return Err("meta section ends early".into());
        }
        let (a, rest) = self.b.split_at(n);
        self.b = rest;
        Ok(a)
    }
    fn u8(&mut self) -> Result<u8, Why> {
        Ok(self.take(1)?[0])
    }
    fn u32(&mut self) -> Result<u32, Why> {
        let mut x = [0u8; 4];
        x.copy_from_slice(self.take(4)?);
        Ok(u32::from_le_bytes(x))
    }
    fn u64(&mut self) -> Result<u64, Why> {
        let mut x = [0u8; 8];
        x.copy_from_slice(self.take(8)?);
        Ok(u64::from_le_bytes(x))
    }
    /// A count of items of at least `min_size` bytes each that must fit in what is left.
    fn len(&mut self, min_size: usize) -> Result<usize, Why> {
        let n = self.u64()?;
        if n.saturating_mul(min_size.max(1) as u64) > self.b.len() as u64 {
            return Err(format!("meta count {n} is larger than the section"));
        }
        Ok(n as usize)
    }
    fn str(&mut self) -> Result<String, Why> {
        let n = self.len(1)?;
        let b = self.take(n)?;
        String::from_utf8(b.to_vec()).map_err(|_| "meta string is not UTF-8".into())
    }
    fn strs(&mut self) -> Result<Vec<String>, Why> {
        let n = self.len(8)?;
        (0..n).map(|_| self.str()).collect()
    }
    fn opt_u64(&mut self) -> Result<Option<u64>, Why> {
        let some = self.u8()? != 0;
        let v = self.u64()?;
        Ok(some.then_some(v))
    }
    fn pairs(&mut self) -> Result<FxHashMap<u32, u64>, Why> {
        let n = self.len(12)?;
        let mut m = FxHashMap::default();
        for _ in 0..n {
            let k = self.u32()?;
            m.insert(k, self.u64()?);
        }
        Ok(m)
    }
    fn field_table(&mut self) -> Result<FieldTable, Why> {
        let fields = self.strs()?;
        let n = self.len(8)?;
        let values = (0..n)
            .map(|_| self.u64().map(|v| v as i64))
            .collect::<Result<_, _>>()?;
        Ok(FieldTable { fields, values })
    }
}

/// What is kept in the meta section besides the big arrays.
fn write_meta(d: &AnalyzedSnapshot) -> Vec<u8> {
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
struct Meta {
    nodes: usize,
    edges: usize,
    root: u32,
    node_field_count: u32,
    max_node_name: u32,
    max_edge_name: u32,
    node_type_names: Vec<String>,
    node_kinds: Vec<NodeKind>,
    edge_type_names: Vec<String>,
    edge_kinds: Vec<EdgeKind>,
    big_self_sizes: FxHashMap<u32, u64>,
    info: SnapshotInfo,
    traces: AllocationTraces,
    rules: RuleSet,
    shallow_big: FxHashMap<u32, u64>,
    class_names: Vec<String>,
    summary: Summary,
    statistics: Statistics,
}

fn read_meta(b: &[u8]) -> Result<Meta, Why> {
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

// ---------------------------------------------------------------------------------------------
// Writing

/// One section's table entry.
#[derive(Debug, Clone, Copy)]
struct Entry {
    id: u32,
    elem: u32,
    offset: u64,
    count: u64,
    sum: u64,
}

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

    /// [`column`](Self::column), in slices of 8 MiB, calling `written` after each.
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
        let per_slice = (8 << 20) / std::mem::size_of::<T>();
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

/// Checksum of the header and table, leaving out the checksum field itself.
fn header_sum(h: &[u8]) -> u64 {
    let mut c = Checksum::new();
    c.update(&h[..24]);
    c.update(&[0u8; 8]);
    c.update(&h[HEADER_LEN..]);
    c.finish()
}

/// Write the index of `d` with `key` to `path`; returns its length.
fn write_index(path: &Path, key: &[u8], d: &AnalyzedSnapshot) -> std::io::Result<u64> {
    let g = &d.snapshot.graph;
    let a = &d.analysis;
    let table_len = (HEADER_LEN + ALL_SECS.len() * ENTRY_LEN) as u64;
    let mut f = File::create(path)?;
    f.write_all(&vec![0u8; table_len as usize])?;
    let w = IndexWriter {
        w: BufWriter::with_capacity(1 << 20, f),
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

// ---------------------------------------------------------------------------------------------
// Reading

fn parse_header(h: &[u8], file_len: u64) -> Result<(usize, u64), Why> {
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

fn parse_table(t: &[u8]) -> Result<Vec<Entry>, Why> {
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
fn read_index(mut file: File, key: Option<&[u8]>) -> Result<AnalyzedSnapshot, Why> {
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

    #[test]
    fn checksum_sees_every_byte_and_split_points() {
        let data: Vec<u8> = (0..1000u32).map(|i| (i * 7 % 251) as u8).collect();
        let whole = checksum(&data);
        for split in [8, 16, 40, 992] {
            let mut c = Checksum::new();
            c.update(&data[..split]);
            c.update(&data[split..]);
            assert_eq!(c.finish(), whole, "split at {split}");
        }
        for i in 0..data.len() {
            for bit in [0x01, 0x80] {
                let mut d = data.clone();
                d[i] ^= bit;
                assert_ne!(checksum(&d), whole, "flip at {i}");
            }
        }
        assert_ne!(checksum(&data[..999]), whole);
    }

    #[test]
    fn sizes_parse() {
        assert_eq!(parse_size("4G"), Some(4 << 30));
        assert_eq!(parse_size("100"), Some(100));
        assert_eq!(parse_size("2k"), Some(2048));
        assert_eq!(parse_size("x"), None);
    }
}
