//! Every writer over analysis results: text, JSON (schemas in docs/json-schema.md), Markdown,
//! HTML, CSV and TSV, one module per subject. One result, several outputs; the CLI and the app
//! only choose, and show the same headlines from the same functions.

pub mod alloc_text;
pub mod csv;
pub mod diff;
pub mod document;
pub mod json;
pub mod leak_report;
pub mod leaks;
pub mod node;
pub mod text;
pub mod tsv;

pub use leak_report::SITE_DIFF_COLUMNS;

/// Bytes as a person reads them: `812 B`, `14.2 KiB`, `3.40 MiB`, `1.25 GiB`.
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if v >= 100.0 {
        format!("{v:.0} {}", UNITS[u])
    } else if v >= 10.0 {
        format!("{v:.1} {}", UNITS[u])
    } else {
        format!("{v:.2} {}", UNITS[u])
    }
}

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

/// A size change with its sign: `+1.50 KiB`, `−812 B`.
pub fn signed_bytes(delta: i64) -> String {
    let sign = if delta < 0 { "\u{2212}" } else { "+" };
    format!("{sign}{}", human_bytes(delta.unsigned_abs()))
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
    format!("{n} bytes ({})", human_bytes(n))
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
