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

mod checksum;
mod meta;
mod read;
mod write;

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::analysis::{AnalyzedSnapshot, RuleSet};
use crate::formats::LoadOptions;

use checksum::{checksum, Checksum};
use meta::{MetaReader, MetaWriter};
use read::{parse_header, parse_table, read_index};
pub use read::{read_unkeyed, reseal};
use write::write_index;

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

/// One section's table entry.
#[derive(Debug, Clone, Copy)]
struct Entry {
    id: u32,
    elem: u32,
    offset: u64,
    count: u64,
    sum: u64,
}

/// Checksum of the header and table, leaving out the checksum field itself.
fn header_sum(h: &[u8]) -> u64 {
    let mut c = Checksum::new();
    c.update(&h[..24]);
    c.update(&[0u8; 8]);
    c.update(&h[HEADER_LEN..]);
    c.finish()
}

/// Why an index is rejected.
type Why = String;

/// Whether `name` is one of the temp files [`IndexCache::store`] writes before renaming.
fn is_temp_name(name: &str) -> bool {
    name.starts_with('.') && name.ends_with(".tmp") && name.contains(INDEX_EXT)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse() {
        assert_eq!(parse_size("4G"), Some(4 << 30));
        assert_eq!(parse_size("100"), Some(100));
        assert_eq!(parse_size("2k"), Some(2048));
        assert_eq!(parse_size("x"), None);
    }
}
