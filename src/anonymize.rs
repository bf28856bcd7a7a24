//! Anonymise a V8 heap snapshot: rewrite it with the text of its strings replaced, so a team
//! can share a leak without sharing the data the heap held.
//!
//! What is kept and what is replaced is decided from how each entry of the `strings` table is
//! used by the other sections:
//!
//! - **kept** (names): the names of nodes whose name is a class or a code identifier (objects,
//!   closures, natives, hidden and system nodes, code, arrays, symbols, …; V8 names its Script
//!   objects, `code` nodes, by their path or URL, and heapsight's leak rules read that name),
//!   the names of string-named edges (properties, context variables, internal and weak edges,
//!   shortcuts), function and script names in `trace_function_infos`, variable names in
//!   Chromium's `scope_context_vars`, V8's fixed placeholders (`(concatenated string)`,
//!   `(sliced string)`, `heap number`), and whatever the caller asks to keep
//!   ([`AnonymizeOptions::keep`]). A text used in any kept role is kept everywhere, whatever
//!   else uses it: it is visible as a name anyway, and equal texts must stay equal.
//! - **replaced** (contents): the names of `string`, `concatenated string`, `sliced string`,
//!   `regexp` (the pattern) and `number` nodes, and strings nothing refers to.
//!
//! A replacement has the original's length in UTF-16 code units and is a fixed-width numeral
//! in `a`–`z`, `A`–`Z`, `0`–`9` (then in Latin letters `À`–`ɏ` when a length runs out of ASCII
//! numerals, as V8's table of one-character strings does). It is the same for equal texts,
//! different for different texts of one length (while the length has numerals left), and never
//! equals a kept text. So duplicated-string counts, class names and every size heapsight or
//! DevTools computes are the same on the output as on the input.
//!
//! The file is streamed: every section but `strings` is copied through byte for byte, and
//! memory is bounded by the strings table. The output is written next to its final path and
//! renamed into place when complete; a `.gz` or `.zst` output name compresses it.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use fixedbitset::FixedBitSet;
use serde::Serialize;
use serde_json::Value;

use crate::error::{Error, Result};
use crate::formats::json_reader::{EchoSink, JsonReader};
use crate::formats::v8::{for_each_section, read_snapshot_value};
use crate::model::kinds::{EdgeKind, NodeKind};
use crate::progress::Progress;

/// What to keep besides names.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AnonymizeOptions {
    /// Texts kept wherever they occur (exact, whole-string matches).
    pub keep: Vec<String>,
}

impl AnonymizeOptions {
    /// Add the lines of `path` (one text per line, line ends removed) to [`Self::keep`].
    pub fn keep_lines_of(&mut self, path: &Path) -> Result<()> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })?;
        self.keep.extend(
            text.lines()
                .map(|l| l.strip_suffix('\r').unwrap_or(l).to_string()),
        );
        Ok(())
    }
}

/// What [`anonymize_file`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct AnonymizeReport {
    /// Entries in the strings table.
    pub strings: u64,
    /// Entries kept because they name something (class, property, edge, function, variable).
    pub kept_names: u64,
    /// Entries kept only because the options asked for them.
    pub kept_by_request: u64,
    /// Entries whose text was replaced (the empty string counts as kept).
    pub replaced: u64,
    /// Of the replaced entries, those no node, edge or table refers to.
    pub unreferenced: u64,
    /// Bytes written to the output (before compression).
    pub bytes_written: u64,
}

/// V8's fixed names for nodes of content kinds: they say what the node is, not what it holds.
const PLACEHOLDERS: [&str; 3] = ["(concatenated string)", "(sliced string)", "heap number"];

/// Which entries of a snapshot's `strings` table are names (kept) and which are referenced at
/// all, collected while the other sections stream past.
#[derive(Debug, Default)]
struct StringRoles {
    names: FixedBitSet,
    referenced: FixedBitSet,
    /// The largest index anything names, to check against the table's length.
    max_index: Option<(u64, &'static str)>,
    /// More strings than this can't fit in the file: larger indexes are only remembered for
    /// the error, never given bits (a corrupt index must not allocate gigabytes).
    limit: u64,
}

impl StringRoles {
    /// Roles for a file of at most `max_bytes` (decompressed): each string takes 3 or more.
    fn new(max_bytes: u64) -> Self {
        Self {
            limit: max_bytes / 3 + 1,
            ..Self::default()
        }
    }

    fn mark(&mut self, index: i64, name: bool, by: &'static str) {
        // Negative numbers are "none" in the optional tables; nodes and edges have none.
        let Ok(i) = usize::try_from(index) else {
            return;
        };
        if self.max_index.is_none_or(|(m, _)| i as u64 > m) {
            self.max_index = Some((i as u64, by));
        }
        if i as u64 > self.limit {
            return;
        }
        if name {
            self.names.grow_and_insert(i);
        }
        self.referenced.grow_and_insert(i);
    }

    /// True when entry `i` is used as a name.
    fn is_name(&self, i: usize) -> bool {
        self.names.contains(i)
    }

    /// True when anything refers to entry `i`.
    fn is_referenced(&self, i: usize) -> bool {
        self.referenced.contains(i)
    }
}

/// True when a node of this kind is named by what it holds rather than by its class.
pub fn names_content(kind: NodeKind) -> bool {
    matches!(
        kind,
        NodeKind::String
            | NodeKind::ConsString
            | NodeKind::SlicedString
            | NodeKind::RegExp
            | NodeKind::Number
    )
}

/// A section of rows of numbers, some of which are string indexes of names.
#[derive(Debug)]
struct NameTable {
    section: &'static str,
    width: usize,
    name_columns: Vec<usize>,
}

/// The parts of `snapshot.meta` the anonymiser needs.
#[derive(Debug)]
struct Meta {
    node_width: usize,
    node_type: usize,
    node_name: usize,
    node_edge_count: usize,
    /// Per node type: is its name content?
    content_kinds: Vec<bool>,
    edge_width: usize,
    edge_type: usize,
    edge_name: usize,
    edge_to: usize,
    /// Per edge type: is `name_or_index` a string index?
    string_named: Vec<bool>,
    /// Other sections whose rows hold names.
    name_tables: Vec<NameTable>,
}

fn names(v: Option<&Value>) -> Option<Vec<&str>> {
    v?.as_array()?.iter().map(Value::as_str).collect()
}

fn parse_meta(r: &JsonReader<'_>, snapshot: &Value) -> Result<Meta> {
    let meta = snapshot
        .get("meta")
        .ok_or_else(|| r.error("\"snapshot\" has no \"meta\" (not a heap snapshot?)"))?;
    let list = |name: &str| {
        names(meta.get(name)).ok_or_else(|| {
            r.error(format!(
                "snapshot.meta.{name} is missing or not a list of names"
            ))
        })
    };
    let node_fields = list("node_fields")?;
    let edge_fields = list("edge_fields")?;
    let types = |name: &str| {
        names(meta.get(name).and_then(|t| t.get(0))).ok_or_else(|| {
            r.error(format!(
                "snapshot.meta.{name}[0] is missing or not a list of names"
            ))
        })
    };
    let node_types = types("node_types")?;
    let edge_types = types("edge_types")?;
    let field = |fields: &[&str], list: &str, name: &str| {
        fields
            .iter()
            .position(|f| *f == name)
            .ok_or_else(|| r.error(format!("snapshot.meta.{list} has no \"{name}\"")))
    };
    if node_fields.len() > 64 || edge_fields.len() > 64 {
        return Err(r.error("snapshot.meta lists more than 64 node or edge fields"));
    }
    // Other sections with string indexes: functions' names, their scripts' names and scopes'
    // variable names are code identifiers. (V8 names each Script object, a `code` node, by
    // its path or URL too, and heapsight's leak rules read that name.)
    let mut name_tables = Vec::new();
    for (section, fields_key, name_fields) in [
        (
            "trace_function_infos",
            "trace_function_info_fields",
            &["name", "script_name"][..],
        ),
        (
            "scope_context_vars",
            "scope_context_var_fields",
            &["name"][..],
        ),
    ] {
        let Some(fields) = names(meta.get(fields_key)) else {
            continue;
        };
        if fields.is_empty() || fields.len() > 64 {
            continue;
        }
        name_tables.push(NameTable {
            section,
            width: fields.len(),
            name_columns: name_fields
                .iter()
                .filter_map(|name| fields.iter().position(|f| f == name))
                .collect(),
        });
    }
    Ok(Meta {
        node_width: node_fields.len(),
        node_type: field(&node_fields, "node_fields", "type")?,
        node_name: field(&node_fields, "node_fields", "name")?,
        node_edge_count: field(&node_fields, "node_fields", "edge_count")?,
        content_kinds: node_types
            .iter()
            .map(|t| names_content(NodeKind::from_v8_name(t)))
            .collect(),
        edge_width: edge_fields.len(),
        edge_type: field(&edge_fields, "edge_fields", "type")?,
        edge_name: field(&edge_fields, "edge_fields", "name_or_index")?,
        edge_to: field(&edge_fields, "edge_fields", "to_node")?,
        string_named: edge_types
            .iter()
            .map(|t| !EdgeKind::from_v8_name(t).named_by_index())
            .collect(),
        name_tables,
    })
}

/// The output file, possibly compressed (by its name's extension).
enum Output {
    Plain(BufWriter<File>),
    Gzip(flate2::write::GzEncoder<BufWriter<File>>),
    Zstd(zstd::stream::write::Encoder<'static, BufWriter<File>>),
}

impl Output {
    fn create(tmp: &Path, final_name: &Path) -> std::io::Result<Self> {
        let file = BufWriter::with_capacity(1 << 20, File::create(tmp)?);
        let ext = final_name.extension().and_then(|e| e.to_str());
        Ok(match ext {
            Some("gz") => Output::Gzip(flate2::write::GzEncoder::new(
                file,
                flate2::Compression::default(),
            )),
            Some("zst") => Output::Zstd(zstd::stream::write::Encoder::new(file, 3)?),
            _ => Output::Plain(file),
        })
    }
}

impl Write for Output {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Output::Plain(w) => w.write(buf),
            Output::Gzip(w) => w.write(buf),
            Output::Zstd(w) => w.write(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Output::Plain(w) => w.flush(),
            Output::Gzip(w) => w.flush(),
            Output::Zstd(w) => w.flush(),
        }
    }
}

impl EchoSink for Output {
    fn finish(self: Box<Self>) -> std::io::Result<()> {
        let file = match *self {
            Output::Plain(w) => w,
            Output::Gzip(w) => w.finish()?,
            Output::Zstd(w) => w.finish()?,
        };
        file.into_inner().map_err(|e| e.into_error())?.sync_all()
    }
}

/// Counts the bytes written through it (the report's `bytes_written`).
struct Counted {
    inner: Box<dyn EchoSink>,
    count: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl Write for Counted {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.count
            .fetch_add(n as u64, std::sync::atomic::Ordering::Relaxed);
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

impl EchoSink for Counted {
    fn finish(self: Box<Self>) -> std::io::Result<()> {
        self.inner.finish()
    }
}

/// The strings table, held as one text with the end of each entry.
#[derive(Default)]
struct Strings {
    text: String,
    ends: Vec<usize>,
}

impl Strings {
    fn len(&self) -> usize {
        self.ends.len()
    }

    fn get(&self, i: usize) -> &str {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.text[start..self.ends[i]]
    }
}

/// Write an anonymised copy of the V8 heap snapshot or timeline `input` to `output` (see the
/// module documentation for what is kept). `input` may be gzip- or zstd-compressed; `output`
/// is compressed when its name ends in `.gz` or `.zst`. `output` must not be `input`; it
/// appears only once complete.
pub fn anonymize_file(
    input: &Path,
    output: &Path,
    options: &AnonymizeOptions,
) -> Result<AnonymizeReport> {
    anonymize_file_with(input, output, options, Progress::default())
}

/// [`anonymize_file`] with progress reports and cancellation.
pub fn anonymize_file_with(
    input: &Path,
    output: &Path,
    options: &AnonymizeOptions,
    progress: Progress<'_>,
) -> Result<AnonymizeReport> {
    if same_file(input, output) {
        return Err(Error::Request(format!(
            "{}: the output would overwrite the input; choose another name",
            output.display()
        )));
    }
    let opened = crate::formats::open(input)?;
    // Other JSON goes on to the reader, whose errors say what is missing.
    if let Some(format) = crate::formats::sniff(&opened.head) {
        if !std::ptr::eq(format, &crate::formats::v8::FORMAT) {
            return Err(Error::format(
                input,
                format!(
                    "this is a {}; anonymize reads V8 heap snapshots and timelines only",
                    format.name
                ),
                0,
            ));
        }
    }
    let tmp = temp_path(output);
    let io_err = |source| Error::Io {
        path: output.to_path_buf(),
        source,
    };
    let out = Output::create(&tmp, output).map_err(io_err)?;
    let count = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let counted = Counted {
        inner: Box::new(out),
        count: count.clone(),
    };
    let mut reader = JsonReader::new(opened.stream, input, progress, opened.done, opened.total);
    reader.set_echo(Box::new(counted), output);
    let result = rewrite(&mut reader, options, opened.max_bytes).and_then(|mut report| {
        reader.finish_echo()?;
        std::fs::rename(&tmp, output).map_err(io_err)?;
        report.bytes_written = count.load(std::sync::atomic::Ordering::Relaxed);
        Ok(report)
    });
    if result.is_err() {
        drop(reader);
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// True when `a` and `b` name the same file (or the same path, for files not there yet).
fn same_file(a: &Path, b: &Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

/// A hidden name next to `output`, so the final rename stays on one file system.
fn temp_path(output: &Path) -> PathBuf {
    let dir = output
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = output
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    dir.join(format!(".{name}.{}.tmp", std::process::id()))
}

/// Stream the snapshot from `r` to its echo output: every value but `strings` copied as it is,
/// roles collected on the way, then the strings table rewritten (always last, where V8 and
/// DevTools put it).
fn rewrite(
    r: &mut JsonReader<'_>,
    options: &AnonymizeOptions,
    max_bytes: u64,
) -> Result<AnonymizeReport> {
    let mut meta: Option<Meta> = None;
    let mut roles = StringRoles::new(max_bytes);
    let mut strings: Option<Strings> = None;
    let mut copied_any = false;
    let mut have_nodes = false;
    let mut node_count = 0u64;
    let mut edges_declared = 0u64;
    let mut edge_rows: Option<u64> = None;
    r.write_out(b"{")?;
    for_each_section(r, |r, key| {
        if key == "strings" {
            strings = Some(read_strings(r)?);
        } else {
            let sep = if copied_any { "," } else { "" };
            copied_any = true;
            let head = format!("{sep}{}:", Value::String(key.to_string()));
            r.write_out(head.as_bytes())?;
            r.echo(true)?;
            match key {
                "snapshot" => {
                    let v = read_snapshot_value(r)?;
                    meta = Some(parse_meta(r, &v)?);
                }
                "nodes" => {
                    let m = meta_before(r, &meta, key)?;
                    let (width, t, nm, ec) =
                        (m.node_width, m.node_type, m.node_name, m.node_edge_count);
                    r.read_int_rows("\"nodes\"", width, false, |r, row| {
                        let Some(&content) = m.content_kinds.get(row[t] as usize) else {
                            return Err(
                                r.error(format!("node {node_count} has unknown type {}", row[t]))
                            );
                        };
                        roles.mark(row[nm], !content, "a node");
                        edges_declared += row[ec] as u64;
                        node_count += 1;
                        Ok(())
                    })?;
                    have_nodes = true;
                }
                "edges" => {
                    let m = meta_before(r, &meta, key)?;
                    if !have_nodes {
                        return Err(r.error("\"edges\" comes before \"nodes\""));
                    }
                    let (t, nm, to) = (m.edge_type, m.edge_name, m.edge_to);
                    let node_width = m.node_width as i64;
                    let mut edge = 0u64;
                    r.read_int_rows("\"edges\"", m.edge_width, false, |r, row| {
                        let Some(&by_string) = m.string_named.get(row[t] as usize) else {
                            return Err(r.error(format!("edge {edge} has unknown type {}", row[t])));
                        };
                        if row[to] % node_width != 0 || (row[to] / node_width) as u64 >= node_count
                        {
                            return Err(r.error(format!(
                                "edge {edge} points to {}, which is not a node (nodes: {node_count})",
                                row[to]
                            )));
                        }
                        if by_string {
                            roles.mark(row[nm], true, "an edge");
                        }
                        edge += 1;
                        Ok(())
                    })?;
                    edge_rows = Some(edge);
                }
                _ => {
                    let table = meta
                        .as_ref()
                        .and_then(|m| m.name_tables.iter().find(|t| t.section == key));
                    if let Some(table) = table {
                        let inside = format!("\"{key}\"");
                        r.read_int_rows(&inside, table.width, true, |_, row| {
                            for &field in &table.name_columns {
                                roles.mark(row[field], true, "a trace or scope entry");
                            }
                            Ok(())
                        })?;
                    } else {
                        r.skip_value(&format!("\"{key}\""))?;
                    }
                }
            }
            r.echo(false)?;
        }
        Ok(())
    })?;
    if meta.is_none() {
        return Err(r.error("not a heap snapshot: no \"snapshot\" section with meta"));
    }
    let Some(strings) = strings else {
        return Err(r.error("no \"strings\" section"));
    };
    match edge_rows {
        None => return Err(r.error("no \"edges\" section")),
        Some(rows) if rows != edges_declared => {
            return Err(r.error(format!(
            "nodes' edge_count fields add up to {edges_declared}, but \"edges\" holds {rows} edges"
        )))
        }
        Some(_) => {}
    }
    if let Some((max, by)) = roles.max_index {
        if max >= strings.len() as u64 {
            return Err(r.error(format!(
                "{by} names string {max}, but there are only {} strings",
                strings.len()
            )));
        }
    }
    let sep: &[u8] = if copied_any { b"," } else { b"" };
    r.write_out(sep)?;
    r.write_out(b"\"strings\":")?;
    let report = rewrite_strings(&strings, &roles, options, |bytes| r.write_out(bytes))?;
    r.write_out(b"}\n")?;
    Ok(report)
}

fn meta_before<'m>(r: &JsonReader<'_>, meta: &'m Option<Meta>, key: &str) -> Result<&'m Meta> {
    meta.as_ref().ok_or_else(|| {
        r.error(format!(
            "\"{key}\" comes before \"snapshot\" (no meta to read it with)"
        ))
    })
}

fn read_strings(r: &mut JsonReader<'_>) -> Result<Strings> {
    let mut out = Strings::default();
    let mut s = String::new();
    r.expect(b'[', "\"strings\"")?;
    if r.peek()? == Some(b']') {
        r.expect(b']', "\"strings\"")?;
        return Ok(out);
    }
    loop {
        r.read_string(&mut s, "\"strings\"")?;
        out.text.push_str(&s);
        out.ends.push(out.text.len());
        if !r.more(b']', "\"strings\"")? {
            return Ok(out);
        }
    }
}

/// Decide each entry's fate and write the new table as a JSON array through `emit`, a chunk
/// at a time.
fn rewrite_strings(
    strings: &Strings,
    roles: &StringRoles,
    options: &AnonymizeOptions,
    mut emit: impl FnMut(&[u8]) -> Result<()>,
) -> Result<AnonymizeReport> {
    const FLUSH_AT: usize = 1 << 20;
    let requested: HashSet<&str> = options.keep.iter().map(String::as_str).collect();
    // A text that names something anywhere is kept everywhere: equal texts must stay equal.
    let mut names: HashSet<&str> = PLACEHOLDERS.into_iter().chain([""]).collect();
    for i in 0..strings.len() {
        if roles.is_name(i) {
            names.insert(strings.get(i));
        }
    }
    let mut kept = names.clone();
    kept.extend(requested.iter().copied());
    let mut report = AnonymizeReport {
        strings: strings.len() as u64,
        ..AnonymizeReport::default()
    };
    let mut replacements = Replacements::new(&kept);
    let mut out = Vec::with_capacity(FLUSH_AT + 64);
    out.push(b'[');
    for i in 0..strings.len() {
        if i > 0 {
            out.push(b',');
        }
        let s = strings.get(i);
        if names.contains(s) {
            report.kept_names += 1;
            write_json_string(&mut out, s);
        } else if requested.contains(s) {
            report.kept_by_request += 1;
            write_json_string(&mut out, s);
        } else {
            report.replaced += 1;
            if !roles.is_referenced(i) {
                report.unreferenced += 1;
            }
            write_json_string(&mut out, &replacements.get(s));
        }
        if out.len() >= FLUSH_AT {
            emit(&out)?;
            out.clear();
        }
    }
    out.push(b']');
    emit(&out)?;
    Ok(report)
}

fn write_json_string(out: &mut Vec<u8>, s: &str) {
    // Serialising a &str into a Vec cannot fail.
    let _ = serde_json::to_writer(out, s);
}

/// Hands out replacement texts: per UTF-16 length, the next unused numeral.
struct Replacements<'s> {
    kept: &'s HashSet<&'s str>,
    /// Each replaced text's numeral (its length is the text's).
    given: HashMap<&'s str, u64>,
    next: HashMap<usize, u64>,
}

impl<'s> Replacements<'s> {
    fn new(kept: &'s HashSet<&'s str>) -> Self {
        Self {
            kept,
            given: HashMap::new(),
            next: HashMap::new(),
        }
    }

    fn get(&mut self, original: &'s str) -> String {
        let len = original.encode_utf16().count();
        if let Some(&n) = self.given.get(original) {
            return numeral(n, len);
        }
        let capacity = numeral_capacity(len);
        let next = self.next.entry(len).or_insert(0);
        let mut n = *next % capacity;
        // Skip texts kept elsewhere; once a length runs out, repeats are allowed.
        while self.kept.contains(numeral(n, len).as_str()) && *next < capacity {
            *next += 1;
            n = *next % capacity;
        }
        *next += 1;
        self.given.insert(original, n);
        numeral(n, len)
    }
}

/// The digits of replacement texts: readable ASCII first, then (for lengths with too few
/// ASCII numerals, such as V8's table of all one-character strings) Latin letters beyond
/// ASCII, each one UTF-16 code unit.
const ASCII_DIGITS: &[u8; 62] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
const WIDE_FIRST: u32 = 0xC0;
const WIDE_COUNT: u64 = 0x250 - 0xC0;

/// How many distinct numerals of `len` characters [`numeral`] makes.
fn numeral_capacity(len: usize) -> u64 {
    let len = len.min(64) as u32;
    (ASCII_DIGITS.len() as u64)
        .saturating_pow(len)
        .saturating_add(WIDE_COUNT.saturating_pow(len))
        .max(1)
}

/// The `n`-th text of `len` characters: a fixed-width ASCII numeral while those last, then
/// numerals made only of the wider digits (so the two kinds never meet).
fn numeral(n: u64, len: usize) -> String {
    let ascii = (ASCII_DIGITS.len() as u64).saturating_pow(len.min(64) as u32);
    let (mut n, base, digit): (u64, u64, fn(u64) -> char) = if n < ascii {
        (n, ASCII_DIGITS.len() as u64, |d| {
            ASCII_DIGITS[d as usize] as char
        })
    } else {
        (n - ascii, WIDE_COUNT, |d| {
            char::from_u32(WIDE_FIRST + d as u32).unwrap_or('\u{FFFD}')
        })
    };
    let mut out = vec![digit(0); len];
    for slot in out.iter_mut().rev() {
        if n == 0 {
            break;
        }
        *slot = digit(n % base);
        n /= base;
    }
    out.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numerals_are_fixed_width_and_distinct() {
        assert_eq!(numeral(0, 3), "aaa");
        assert_eq!(numeral(1, 3), "aab");
        assert_eq!(numeral(62, 3), "aba");
        assert_eq!(numeral(5, 0), "");
        assert_eq!(numeral(61, 1), "9");
        assert_eq!(numeral(62, 1), "\u{C0}");
        let one: HashSet<String> = (0..numeral_capacity(1)).map(|n| numeral(n, 1)).collect();
        assert_eq!(one.len() as u64, numeral_capacity(1));
        assert!(one.iter().all(|t| t.encode_utf16().count() == 1));
        let two: HashSet<String> = (3800..4000).map(|n| numeral(n, 2)).collect();
        assert_eq!(two.len(), 200);
    }

    #[test]
    fn replacements_keep_length_and_equality_and_avoid_kept_texts() {
        let kept: HashSet<&str> = ["aaaa", "aaab"].into_iter().collect();
        let mut r = Replacements::new(&kept);
        let a = r.get("hunter22");
        assert_eq!(a.len(), 8);
        assert_eq!(r.get("hunter22"), a);
        assert_ne!(r.get("hunter23"), a);
        let four = r.get("pass");
        assert_eq!(four, "aaac");
        // UTF-16 length: an astral character counts two.
        assert_eq!(r.get("é😀").len(), 3);
    }

    #[test]
    fn one_character_texts_stay_distinct_beyond_ascii() {
        let kept = HashSet::new();
        let originals: Vec<String> = (0..256u32)
            .filter_map(char::from_u32)
            .map(String::from)
            .collect();
        let mut r = Replacements::new(&kept);
        let texts: HashSet<String> = originals.iter().map(|o| r.get(o)).collect();
        assert_eq!(texts.len(), 256);
        assert!(texts.iter().all(|t| t.encode_utf16().count() == 1));
    }
}
