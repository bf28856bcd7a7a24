//! Every writer over analysis results: text, JSON (schemas in docs/json-schema.md), Markdown,
//! HTML, CSV and TSV, one module per subject. One result, several outputs; the CLI and the app
//! only choose, and show the same headlines from the same functions.

pub mod alloc_text;
pub mod allocation_stacks;
pub mod capture;
pub mod command;
pub mod csv;
pub mod diff;
pub mod document;
pub mod json;
pub mod junit;
pub mod leak_gate;
pub mod leak_report;
pub mod leaks;
pub mod memory;
pub mod node;
pub mod text;
pub mod trend;
pub mod tsv;

pub use leak_report::SITE_DIFF_COLUMNS;

pub use crate::units::{human_bytes, signed_bytes};

/// Write `contents` to `path` atomically: a temporary file next to it, then a rename, so a
/// reader never sees half a report.
pub fn write_atomically(path: &std::path::Path, contents: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(contents)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// A node name fit for one table cell: control characters become spaces, at most `max` chars.
pub fn one_line(name: &str, max: usize) -> String {
    name.chars()
        .take(max)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// Exact bytes with the readable size beside them: `1536 bytes (1.50 KiB)`.
pub fn bytes_exact(n: u64) -> String {
    format!("{n} bytes ({})", crate::units::rounded_bytes(n))
}

/// `1 block`, `3 blocks`.
pub fn blocks_text(n: u64) -> String {
    if n == 1 {
        "1 block".to_string()
    } else {
        format!("{n} blocks")
    }
}

/// An allocation metric's value as text: bytes human-readable, counts as plain numbers.
pub fn metric_value(m: crate::model::alloc::Metric, v: u64) -> String {
    if m.is_bytes() {
        human_bytes(v)
    } else {
        v.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes() {
        assert_eq!(human_bytes(0), "0 B");
        assert_eq!(human_bytes(1023), "1023 B");
        assert_eq!(human_bytes(1536), "1.50 KiB");
        assert_eq!(human_bytes(15 * 1024 * 1024), "15.0 MiB");
        assert_eq!(one_line("a\tb\nc", 3), "a b");
    }
}
