//! Input formats. Each one reads a file into the common [`Snapshot`] model; the format is
//! recognised from the content (gzip or zstd magic, then each format's sniff in [`FORMATS`]
//! order), never from the file name.

pub mod dhat;
pub mod heapprofile;
pub mod heaptrack;
mod int_scan;
pub mod json_reader;
pub mod pprof;
mod prefetch;
pub mod v8;

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::model::alloc::{AllocProfile, Folding};
use crate::model::Snapshot;
use crate::progress::Progress;
use json_reader::{ChunkRead, CountingReader};

/// Deflate can't expand data more than about 1032:1; bounds capacities taken from gzipped files.
const MAX_GZIP_RATIO: u64 = 1032;

/// One input format: how users know it, how it is recognised and how it is loaded. Every format
/// module exposes one as `FORMAT`; [`FORMATS`] lists them, and detection, loading, the error for
/// an unknown file and the open dialog's filter all come from that list.
pub struct Format {
    /// Short name, for people: "V8 heap snapshot".
    pub name: &'static str,
    /// How the error for an unknown file names it (users' words: "DHAT JSON").
    pub known_as: &'static str,
    /// File-name extensions (no dot) of uncompressed files, for the open dialog; compressed
    /// ones are [`COMPRESSED_EXTENSIONS`] for every format.
    pub extensions: &'static [&'static str],
    /// True when the (decompressed) head of a file is this format. Sniffs are tried in
    /// [`FORMATS`] order and the first that says yes wins.
    pub sniff: fn(head: &[u8]) -> bool,
    /// Read the opened file into the common model.
    pub load: fn(
        path: &Path,
        input: Input,
        options: &LoadOptions,
        progress: Progress<'_>,
    ) -> Result<Snapshot>,
}

impl std::fmt::Debug for Format {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Format")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// Every format heapsight reads, in sniff order (the first whose sniff says yes loads the file),
/// which is also the order the error for an unknown file lists them in. Adding a format is one
/// file in `formats/` and one line here.
pub static FORMATS: &[&Format] = &[
    &v8::FORMAT,
    &heapprofile::FORMAT,
    &dhat::FORMAT,
    &heaptrack::FORMAT,
    &pprof::FORMAT,
];

/// Extensions of the compressed wrappers [`open`] undoes, which any format may come in.
pub const COMPRESSED_EXTENSIONS: &[&str] = &["gz", "zst"];

/// The format of a file from its (decompressed) head: the first in [`FORMATS`] whose sniff says
/// yes.
pub fn sniff(head: &[u8]) -> Option<&'static Format> {
    FORMATS.iter().copied().find(|f| (f.sniff)(head))
}

/// The head as text for the text formats' sniffs: its first 4 KiB, byte-order marks and leading
/// white space removed.
fn head_text(head: &[u8]) -> String {
    let text = String::from_utf8_lossy(&head[..head.len().min(4096)]);
    text.trim_start_matches('\u{feff}').trim_start().to_string()
}

/// True when the head holds nothing but byte-order marks and white space. Checked before any
/// sniff: pprof's sniff would take a leading newline for a protobuf tag, and no format reads a
/// blank head (the JSON ones need a `{` first).
fn is_blank(head: &[u8]) -> bool {
    String::from_utf8_lossy(head)
        .trim_start_matches('\u{feff}')
        .trim()
        .is_empty()
}

/// The error text for a file no format recognises, naming them all.
fn unknown_format_message() -> String {
    let names: Vec<&str> = FORMATS.iter().map(|f| f.known_as).collect();
    format!(
        "not a heap snapshot or allocation profile heapsight knows ({})",
        names.join(", ")
    )
}

/// The extensions for the open dialog's filter: every format's, then the compressed wrappers',
/// each once, in [`FORMATS`] order.
pub fn dialog_extensions() -> Vec<&'static str> {
    let mut extensions: Vec<&'static str> = Vec::new();
    let all = FORMATS.iter().flat_map(|f| f.extensions.iter());
    for ext in all.chain(COMPRESSED_EXTENSIONS) {
        if !extensions.contains(ext) {
            extensions.push(ext);
        }
    }
    extensions
}

/// The opened input: a decompressing, prefetching stream with its head available for sniffing.
pub struct Input {
    /// The decompressed bytes, head first.
    pub stream: Box<dyn ChunkRead>,
    /// The first bytes (also at the start of `stream`).
    pub head: Vec<u8>,
    /// The file's size on disk.
    pub total: u64,
    /// Bound on the decompressed size (for capacities taken from declared counts).
    pub max_bytes: u64,
    /// Bytes of the file read so far (by the read-ahead thread: up to a few chunks ahead of
    /// what the parser has consumed).
    pub done: Box<dyn Fn() -> u64 + Send>,
    /// True when the file is gzip- or zstd-compressed (`stream` is longer than `total`).
    pub compressed: bool,
}

/// Open `path` read-only, undo gzip or zstd compression, and read the head.
pub fn open(path: &Path) -> Result<Input> {
    let io_err = |source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    let file = File::open(path).map_err(io_err)?;
    let total = file.metadata().map_err(io_err)?.len();
    let mut magic = [0u8; 4];
    let got = (&file).read(&mut magic).map_err(io_err)?;
    let file = File::open(path).map_err(io_err)?;
    let counter = Arc::new(AtomicU64::new(0));
    let counting = CountingReader::new(file, counter.clone());
    let (src, max_bytes, compressed) =
        decompressing(Box::new(counting), &magic[..got], total).map_err(io_err)?;
    // Reading ahead on a thread overlaps disk and inflation with parsing.
    let stream: Box<dyn ChunkRead> = Box::new(prefetch::Prefetch::new(src));
    with_head(path, stream, total, max_bytes, counter, compressed)
}

impl Input {
    /// An input held in memory, as [`open`] would make it from a file with these bytes (gzip
    /// or zstd undone, the head read), without the read-ahead thread: for callers that have
    /// the bytes already (fuzzers, tests, data received over a socket). `path` only names the
    /// input in error messages.
    pub fn from_bytes(path: &Path, bytes: Vec<u8>) -> Result<Input> {
        let total = bytes.len() as u64;
        let magic: Vec<u8> = bytes.iter().take(4).copied().collect();
        let counter = Arc::new(AtomicU64::new(0));
        let counting = CountingReader::new(std::io::Cursor::new(bytes), counter.clone());
        let (stream, max_bytes, compressed) = decompressing(Box::new(counting), &magic, total)
            .map_err(|e| Error::format(path, format!("cannot decompress: {e}"), 0))?;
        with_head(
            path,
            Box::new(stream),
            total,
            max_bytes,
            counter,
            compressed,
        )
    }
}

/// `raw` (whose first bytes are `magic`, `total` bytes in all) with gzip or zstd undone when
/// the magic says so; also the bound on the decompressed size and whether it was compressed.
fn decompressing(
    raw: Box<dyn Read + Send>,
    magic: &[u8],
    total: u64,
) -> std::io::Result<(Box<dyn Read + Send>, u64, bool)> {
    let is_gzip = magic.len() >= 2 && magic[..2] == [0x1f, 0x8b];
    let is_zstd = magic == [0x28, 0xb5, 0x2f, 0xfd];
    Ok(if is_gzip {
        let buffered = BufReader::with_capacity(1 << 20, raw);
        (
            Box::new(flate2::read::MultiGzDecoder::new(buffered)),
            total.saturating_mul(MAX_GZIP_RATIO),
            true,
        )
    } else if is_zstd {
        let decoder = zstd::stream::read::Decoder::new(raw)?;
        // zstd's ratio is unbounded in principle; cap capacity hints at 64x the file.
        (Box::new(decoder), total.saturating_mul(64), true)
    } else {
        (raw, total, false)
    })
}

/// Read the head of `stream` and put it back in front: the [`Input`] the loaders take.
fn with_head(
    path: &Path,
    mut stream: Box<dyn ChunkRead>,
    total: u64,
    max_bytes: u64,
    counter: Arc<AtomicU64>,
    compressed: bool,
) -> Result<Input> {
    let mut head = vec![0u8; 4096];
    let mut filled = 0;
    while filled < head.len() {
        match stream.read(&mut head[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => {
                return Err(Error::format(
                    path,
                    format!("cannot read or decompress: {e}"),
                    0,
                ));
            }
        }
    }
    head.truncate(filled);
    let stream = Box::new(HeadThen {
        head: std::io::Cursor::new(head.clone()),
        rest: stream,
    });
    Ok(Input {
        stream,
        head,
        total,
        max_bytes,
        done: Box::new(move || counter.load(Ordering::Relaxed)),
        compressed,
    })
}

/// A stream's head, read for sniffing, put back in front of the rest.
struct HeadThen {
    head: std::io::Cursor<Vec<u8>>,
    rest: Box<dyn ChunkRead>,
}

impl HeadThen {
    fn head_left(&self) -> bool {
        (self.head.position() as usize) < self.head.get_ref().len()
    }
}

impl Read for HeadThen {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.head_left() {
            return self.head.read(buf);
        }
        self.rest.read(buf)
    }
}

impl ChunkRead for HeadThen {
    fn read_chunk(&mut self, buf: &mut Vec<u8>) -> std::io::Result<usize> {
        if self.head_left() {
            return self.head.read(buf);
        }
        self.rest.read_chunk(buf)
    }
}

/// How to load a file. Only allocation profiles have options today.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoadOptions {
    /// Which frames of allocation profiles are folded away as plumbing.
    pub folding: Folding,
    /// Other work holds memory beside this load (a trend finishes one snapshot while it reads
    /// the next): then the V8 loader doesn't have its arrays' pages faulted in ahead on the
    /// idle core (see [`crate::prefault`]), which would make them resident early, beside that
    /// work's, and raise the peak.
    pub beside_other_work: bool,
}

/// A snapshot of `sample-snapshots/` (`name` is its path there), for the library's tests.
#[cfg(test)]
pub(crate) fn load_sample(name: &str) -> Snapshot {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("sample-snapshots")
        .join(name);
    load(&path, Progress::default()).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Load any supported heap file: V8 snapshots, timelines and sampling heap profiles, DHAT
/// JSON, heaptrack data and pprof heap profiles (each possibly gzip- or zstd-compressed), with default options.
pub fn load(path: &Path, progress: Progress<'_>) -> Result<Snapshot> {
    load_with(path, &LoadOptions::default(), progress)
}

/// [`load`] with options.
pub fn load_with(path: &Path, options: &LoadOptions, progress: Progress<'_>) -> Result<Snapshot> {
    load_input(path, open(path)?, options, progress)
}

/// [`load_with`] on bytes already in memory (possibly gzip- or zstd-compressed): the same
/// detection and loaders, without touching the file system. `path` only names the input in
/// error messages.
pub fn load_bytes(
    path: &Path,
    bytes: Vec<u8>,
    options: &LoadOptions,
    progress: Progress<'_>,
) -> Result<Snapshot> {
    load_input(path, Input::from_bytes(path, bytes)?, options, progress)
}

/// Sniff the opened `input` and load it with its format's loader.
fn load_input(
    path: &Path,
    input: Input,
    options: &LoadOptions,
    progress: Progress<'_>,
) -> Result<Snapshot> {
    let total = input.total;
    if is_blank(&input.head) {
        return Err(Error::format(path, "the file is empty", 0));
    }
    let Some(format) = sniff(&input.head) else {
        return Err(Error::format(path, unknown_format_message(), 0));
    };
    let snapshot = (format.load)(path, input, options, progress)?;
    progress.report("loaded", total, total);
    Ok(snapshot)
}

/// The end of every allocation-profile format's `load` (its reader, then this): apply the
/// folding options and turn the profile into the common model.
fn profile_snapshot(mut profile: AllocProfile, options: &LoadOptions) -> Snapshot {
    profile.set_folding(options.folding.clone());
    profile.into_snapshot()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sniffed(head: &[u8]) -> Option<&'static str> {
        sniff(head).map(|f| f.name)
    }

    #[test]
    fn the_unknown_file_error_names_every_format_as_before() {
        assert_eq!(
            unknown_format_message(),
            "not a heap snapshot or allocation profile heapsight knows \
             (V8 .heapsnapshot/.heaptimeline, V8 .heapprofile, DHAT JSON, heaptrack, pprof)"
        );
    }

    #[test]
    fn sniffing_follows_the_table_order() {
        assert_eq!(sniffed(br#"{"dhatFileVersion":2}"#), Some("DHAT JSON"));
        assert_eq!(
            sniffed(b"\xef\xbb\xbf {\"dhatFileVersion\":2}"),
            Some("DHAT JSON")
        );
        assert_eq!(sniffed(br#"{"snapshot":{}}"#), Some("V8 heap snapshot"));
        assert_eq!(sniffed(b"{}"), Some("V8 heap snapshot"));
        assert_eq!(
            sniffed(br#"{"head":{"callFrame":{"functionName":"(root)"}}}"#),
            Some("V8 sampling heap profile")
        );
        assert_eq!(
            sniffed(b"\n {\"samples\":[],\"head\": {\"selfSize\":0,\"callFrame\":{}}}"),
            Some("V8 sampling heap profile")
        );
        // A CPU profile has call frames but no head; it gets the V8 loader's precise error.
        assert_eq!(
            sniffed(br#"{"nodes":[{"id":1,"callFrame":{}}]}"#),
            Some("V8 heap snapshot")
        );
        // A leading newline is also pprof's tag byte: the JSON and text formats come first.
        assert_eq!(sniffed(b"\n{}"), Some("V8 heap snapshot"));
        assert_eq!(sniffed(b"\nv 1 2"), Some("heaptrack data file"));
        assert_eq!(sniffed(b"X ./app\nv 1 2"), Some("heaptrack data file"));
        assert_eq!(sniffed(b"\x0a\x04"), Some("pprof heap profile"));
        assert_eq!(sniffed(b"\x12\x04"), Some("pprof heap profile"));
        assert_eq!(sniffed(b"hello"), None);
        assert_eq!(sniffed(b"[1,2,3]"), None);
        assert_eq!(sniffed(b""), None);
    }

    /// `load_with` checks for a blank file before sniffing; that only changes anything for
    /// formats after V8 and DHAT, because the JSON sniffs never take a blank head.
    #[test]
    fn a_blank_head_is_empty_and_no_json_format_claims_it() {
        let blank: [&[u8]; 6] = [
            b"",
            b" \t\r\n",
            b"\n\n",
            "\u{feff}".as_bytes(),
            "\u{feff}\u{feff} \n".as_bytes(),
            "\u{a0}\u{2003}".as_bytes(),
        ];
        for head in blank {
            assert!(is_blank(head), "{head:?}");
            assert!(!(v8::FORMAT.sniff)(head), "{head:?}");
            assert!(!(dhat::FORMAT.sniff)(head), "{head:?}");
            assert!(!(heapprofile::FORMAT.sniff)(head), "{head:?}");
        }
        assert!(!is_blank(" \u{feff}".as_bytes()));
        assert!(!is_blank(b" {"));
    }

    #[test]
    fn formats_have_distinct_names() {
        for (i, a) in FORMATS.iter().enumerate() {
            for b in &FORMATS[i + 1..] {
                assert_ne!(a.name, b.name);
                assert_ne!(a.known_as, b.known_as);
            }
        }
    }

    #[test]
    fn the_dialog_offers_every_format_and_compression() {
        let extensions = dialog_extensions();
        for ext in [
            "heapsnapshot",
            "heaptimeline",
            "heapprofile",
            "json",
            "pb",
            "gz",
            "zst",
        ] {
            assert!(
                extensions.contains(&ext),
                "{ext} missing from {extensions:?}"
            );
        }
        for (i, ext) in extensions.iter().enumerate() {
            assert!(!ext.starts_with('.'), "{ext}");
            assert!(!extensions[i + 1..].contains(ext), "{ext} twice");
        }
    }

    /// The README's section between `## title` and the next `## `.
    fn readme_section<'a>(readme: &'a str, title: &str) -> &'a str {
        let start = readme
            .find(&format!("\n## {title}\n"))
            .unwrap_or_else(|| panic!("README.md has no \"## {title}\" section"));
        let rest = &readme[start + 1..];
        let end = rest[3..].find("\n## ").map_or(rest.len(), |i| i + 3);
        &rest[..end]
    }

    /// The README's opening paragraph names every format in [`FORMATS`], and the intro or the
    /// "Rust allocation dumps" section shows each extension the open dialog offers.
    #[test]
    fn the_readme_lists_the_formats_of_the_table() {
        let readme = include_str!("../../README.md");
        let words = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
        let intro = words(&readme[..readme.find("\n## ").expect("a README with sections")]);
        for format in FORMATS {
            assert!(
                intro.contains(format.name),
                "README.md's intro does not name {:?}",
                format.name
            );
        }
        let documented = format!(
            "{intro}\n{}",
            readme_section(readme, "Rust allocation dumps")
        );
        for ext in dialog_extensions() {
            assert!(
                documented.contains(&format!(".{ext}")),
                "README.md's intro and \"Rust allocation dumps\" section never show a .{ext} file"
            );
        }
    }
}
