//! A tiny document model (headings, paragraphs, tables, bar charts, paths) that the reports are
//! built in once, then rendered as Markdown or as one self-contained HTML page.

use std::fmt::Write;

/// One block of a report.
#[derive(Debug, Clone)]
pub enum Block {
    /// A heading of level 1–3.
    Heading(u8, String),
    /// A paragraph of plain text.
    Paragraph(String),
    /// A table; `numeric[i]` right-aligns column `i`.
    Table {
        /// Column titles.
        head: Vec<String>,
        /// Cells.
        rows: Vec<Vec<String>>,
        /// Right-aligned columns.
        numeric: Vec<bool>,
    },
    /// Horizontal bars: (label, value, value text), drawn relative to `total`.
    Bars {
        /// Bars.
        items: Vec<(String, u64, String)>,
        /// 100 %.
        total: u64,
    },
    /// A retainer path, one step per line, root first.
    Path(Vec<String>),
}

impl Block {
    /// A table with these column titles; `numeric` says which columns are right-aligned.
    pub fn table(head: &[&str], numeric: &[bool], rows: Vec<Vec<String>>) -> Self {
        Block::Table {
            head: head.iter().map(|h| h.to_string()).collect(),
            rows,
            numeric: numeric.to_vec(),
        }
    }
}

/// Escape text for Markdown prose: class names like `<div>` or `<symbol x>` would otherwise be
/// taken for HTML tags.
fn md_text(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Render as GitHub-flavoured Markdown.
pub fn to_markdown(blocks: &[Block]) -> String {
    let mut out = String::new();
    let cell = |s: &str| md_text(s).replace('|', "\\|").replace('\n', " ");
    for b in blocks {
        match b {
            Block::Heading(level, text) => {
                let _ = writeln!(out, "{} {}\n", "#".repeat(*level as usize), md_text(text));
            }
            Block::Paragraph(text) => {
                let _ = writeln!(out, "{}\n", md_text(text));
            }
            Block::Table {
                head,
                rows,
                numeric,
            } => {
                let _ = writeln!(
                    out,
                    "| {} |",
                    head.iter().map(|h| cell(h)).collect::<Vec<_>>().join(" | ")
                );
                let align: Vec<&str> = (0..head.len())
                    .map(|i| {
                        if numeric.get(i) == Some(&true) {
                            "---:"
                        } else {
                            "---"
                        }
                    })
                    .collect();
                let _ = writeln!(out, "| {} |", align.join(" | "));
                for r in rows {
                    let _ = writeln!(
                        out,
                        "| {} |",
                        r.iter().map(|c| cell(c)).collect::<Vec<_>>().join(" | ")
                    );
                }
                out.push('\n');
            }
            Block::Bars { items, total } => {
                for (label, value, text) in items {
                    let width = if *total == 0 {
                        0
                    } else {
                        (*value as f64 / *total as f64 * 30.0).round() as usize
                    };
                    let _ = writeln!(out, "    {:<28} {:<30} {}", label, "█".repeat(width), text);
                }
                out.push('\n');
            }
            Block::Path(steps) => {
                out.push_str("```text\n");
                for (i, s) in steps.iter().enumerate() {
                    let _ = writeln!(out, "{}{}", "  ".repeat(i), s);
                }
                out.push_str("```\n\n");
            }
        }
    }
    out
}

/// Escape text for HTML.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

const STYLE: &str = "
body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;margin:0;color:#1d2330;background:#f6f7f9}
main{max-width:1100px;margin:0 auto;padding:24px 32px 64px}
h1{font-size:26px;margin:8px 0 4px}h2{font-size:20px;margin:36px 0 8px;border-bottom:1px solid #d9dde3;padding-bottom:4px}
h3{font-size:16px;margin:22px 0 6px}p{margin:6px 0 10px}
table{border-collapse:collapse;width:100%;margin:8px 0 16px;background:#fff;box-shadow:0 1px 2px #0001}
th,td{padding:5px 10px;border-bottom:1px solid #eceef1;text-align:left;vertical-align:top}
th{background:#eef1f5;font-weight:600;position:sticky;top:0}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
tr:hover td{background:#f3f7ff}
.bars{background:#fff;padding:10px 14px;box-shadow:0 1px 2px #0001;margin:8px 0 16px}
.bar{display:grid;grid-template-columns:220px 1fr 120px;gap:10px;align-items:center;margin:3px 0}
.bar .l{overflow:hidden;text-overflow:ellipsis;white-space:nowrap}.bar .v{text-align:right;font-variant-numeric:tabular-nums}
ol.path{background:#fff;box-shadow:0 1px 2px #0001;padding:10px 14px 10px 40px;font:13px/1.5 ui-monospace,Menlo,Consolas,monospace;margin:6px 0 14px}
@media (prefers-color-scheme: dark){body{background:#16181d;color:#d8dde6}table,.bars,ol.path{background:#1f232b;box-shadow:none}
th{background:#272c36}td,th{border-color:#2c313b}tr:hover td{background:#232a36}h2{border-color:#2c313b}}
";

/// Render as one self-contained HTML page (inline CSS and SVG, no scripts, no network).
pub fn to_html(title: &str, blocks: &[Block]) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>{}</title><style>{STYLE}</style></head><body><main>\n",
        escape(title)
    );
    for b in blocks {
        match b {
            Block::Heading(level, text) => {
                let _ = writeln!(out, "<h{level}>{}</h{level}>", escape(text));
            }
            Block::Paragraph(text) => {
                let _ = writeln!(out, "<p>{}</p>", escape(text));
            }
            Block::Table {
                head,
                rows,
                numeric,
            } => {
                let class = |i: usize| {
                    if numeric.get(i) == Some(&true) {
                        " class=\"n\""
                    } else {
                        ""
                    }
                };
                out.push_str("<table><thead><tr>");
                for (i, h) in head.iter().enumerate() {
                    let _ = write!(out, "<th{}>{}</th>", class(i), escape(h));
                }
                out.push_str("</tr></thead><tbody>\n");
                for r in rows {
                    out.push_str("<tr>");
                    for (i, c) in r.iter().enumerate() {
                        let _ = write!(out, "<td{}>{}</td>", class(i), escape(c));
                    }
                    out.push_str("</tr>\n");
                }
                out.push_str("</tbody></table>\n");
            }
            Block::Bars { items, total } => {
                out.push_str("<div class=\"bars\">\n");
                for (label, value, text) in items {
                    let pct = if *total == 0 {
                        0.0
                    } else {
                        *value as f64 * 100.0 / *total as f64
                    };
                    let _ = writeln!(
                        out,
                        "<div class=\"bar\"><span class=\"l\" title=\"{l}\">{l}</span>\
                         <svg width=\"100%\" height=\"14\" role=\"img\" aria-label=\"{pct:.1} %\">\
                         <rect width=\"100%\" height=\"14\" rx=\"3\" fill=\"#8881\"/>\
                         <rect width=\"{pct:.2}%\" height=\"14\" rx=\"3\" fill=\"#3b7ddd\"/></svg>\
                         <span class=\"v\">{}</span></div>",
                        escape(text),
                        l = escape(label),
                    );
                }
                out.push_str("</div>\n");
            }
            Block::Path(steps) => {
                out.push_str("<ol class=\"path\">");
                for s in steps {
                    let _ = write!(out, "<li>{}</li>", escape(s));
                }
                out.push_str("</ol>\n");
            }
        }
    }
    out.push_str("</main></body></html>\n");
    out
}

/// Render rows as CSV (RFC 4180 quoting).
pub fn to_csv(head: &[String], rows: &[Vec<String>]) -> String {
    let field = |s: &str| {
        if s.contains([',', '"', '\n', '\r']) {
            format!("\"{}\"", s.replace('"', "\"\""))
        } else {
            s.to_string()
        }
    };
    let mut out = String::new();
    let line = |cells: &[String]| cells.iter().map(|c| field(c)).collect::<Vec<_>>().join(",");
    out.push_str(&line(head));
    out.push_str("\r\n");
    for r in rows {
        out.push_str(&line(r));
        out.push_str("\r\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_all_blocks() {
        let doc = vec![
            Block::Heading(1, "T <x>".into()),
            Block::Table {
                head: vec!["a".into(), "n".into()],
                rows: vec![vec!["x|y".into(), "3".into()]],
                numeric: vec![false, true],
            },
            Block::Bars {
                items: vec![("a".into(), 5, "5 B".into())],
                total: 10,
            },
            Block::Path(vec!["root".into(), "--x--> A".into()]),
        ];
        let md = to_markdown(&doc);
        assert!(md.contains("# T &lt;x&gt;") && md.contains("x\\|y") && md.contains("---:"));
        let html = to_html("t", &doc);
        assert!(
            html.contains("T &lt;x&gt;")
                && html.contains("width=\"50.00%\"")
                && !html.contains("http")
        );
        assert_eq!(
            to_csv(&["a".into()], &[vec!["x,\"y".into()]]),
            "a\r\n\"x,\"\"y\"\r\n"
        );
    }
}
