//! The leak gate as JUnit XML, so CI systems show leaks as failed tests: one `<testsuite
//! name="heapsight leaks">`, one `<testcase>` per leak cluster (named by its class; a second
//! cluster of the same class gets ` (2)`), with a `<failure>` carrying the retainer trace when the
//! cluster trips the gate, `<skipped>` naming the rule when an ignore file left it out, and
//! nothing inside when it stays under its limits.

use std::fmt::Write;

use super::human_bytes;
use super::leak_gate::GatedLeaks;
use super::leaks::trace_lines;
use crate::analysis::leak_gate::{trace_text, ClusterStatus};
use crate::analysis::leaks::LeakCluster;

/// Escape text for XML attributes and character data; characters XML 1.0 cannot hold (control
/// characters other than tab and line breaks) become spaces.
pub fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// What a cluster is, in one line: `1000 × RequestContext retaining 375 KiB`.
fn what(c: &LeakCluster) -> String {
    format!(
        "{} × {} retaining {}{}",
        c.count,
        c.class,
        human_bytes(c.retained_size),
        super::leaks::reached_through_note(c)
    )
}

/// The JUnit XML document for a leak search that could not be made (`why`): one test case in
/// error, so that a CI job reading the file fails there too rather than finding it missing.
pub fn error_junit(why: &str) -> String {
    let counts = "tests=\"1\" failures=\"0\" errors=\"1\" skipped=\"0\"";
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <testsuites name=\"heapsight\" {counts}>\n\
         \x20 <testsuite name=\"heapsight leaks\" {counts}>\n\
         \x20   <testcase classname=\"heapsight.leaks\" name=\"leak detection\">\n\
         \x20     <error message=\"{}\"/>\n\
         \x20   </testcase>\n\
         \x20 </testsuite>\n\
         </testsuites>\n",
        xml_escape(why)
    )
}

/// The JUnit XML document for a gated leak search.
pub fn to_junit(g: &GatedLeaks) -> String {
    let clusters = &g.report.clusters;
    let statuses = &g.verdict.statuses;
    let failures = g.verdict.tripped(g.report).len();
    let skipped = g.verdict.ignored_count();
    let counts = format!(
        "tests=\"{}\" failures=\"{failures}\" errors=\"0\" skipped=\"{skipped}\"",
        clusters.len()
    );
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(out, "<testsuites name=\"heapsight\" {counts}>");
    let _ = writeln!(out, "  <testsuite name=\"heapsight leaks\" {counts}>");
    if let Some(file) = &g.rules.source {
        let _ = writeln!(
            out,
            "    <properties>\n      <property name=\"ignore_file\" value=\"{}\"/>\n    </properties>",
            xml_escape(&file.display().to_string())
        );
    }
    let mut seen: Vec<&str> = Vec::new();
    for (c, status) in clusters.iter().zip(statuses) {
        let nth = seen.iter().filter(|s| **s == c.class).count() + 1;
        seen.push(&c.class);
        let name = if nth == 1 {
            c.class.clone()
        } else {
            format!("{} ({nth})", c.class)
        };
        let _ = write!(
            out,
            "    <testcase classname=\"heapsight.leaks\" name=\"{}\"",
            xml_escape(&name)
        );
        match status {
            ClusterStatus::Passed { .. } => out.push_str("/>\n"),
            ClusterStatus::Ignored { line, rule } => {
                let _ = writeln!(
                    out,
                    ">\n      <skipped message=\"{}\"/>\n    </testcase>",
                    xml_escape(&format!("ignored by line {line} ({rule}): {}", what(c)))
                );
            }
            ClusterStatus::Tripped { limits } => {
                let message = format!(
                    "leak: {} (limits: at least {} object(s) and {} held)",
                    what(c),
                    limits.min_count,
                    human_bytes(limits.min_bytes)
                );
                let mut body = what(c);
                if let Some(holder) = super::leaks::named_holder(c) {
                    let _ = write!(body, "\nHeld by {holder}");
                }
                if let Some(chain) = super::leaks::chain_line(c) {
                    let _ = write!(body, "\nThey are {chain}");
                }
                body.push_str("\n\nRetainer trace of one of them, from the GC roots:\n");
                for (d, line) in trace_lines(&c.trace).iter().enumerate() {
                    let _ = writeln!(body, "{}{}", "  ".repeat(d), line);
                }
                let _ = writeln!(body, "\nAs a path: {}", trace_text(&c.trace));
                let ids: Vec<String> = c.example_ids.iter().map(|i| format!("@{i}")).collect();
                let _ = writeln!(body, "Example objects: {}", ids.join(" "));
                let _ = writeln!(
                    out,
                    ">\n      <failure type=\"leak\" message=\"{}\">{}</failure>\n    </testcase>",
                    xml_escape(&message),
                    xml_escape(&body)
                );
            }
        }
    }
    out.push_str("  </testsuite>\n</testsuites>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_quotes_and_control_characters() {
        assert_eq!(
            xml_escape("Detached <ul> & \"x\" 'y'\u{1}\n"),
            "Detached &lt;ul&gt; &amp; &quot;x&quot; &apos;y&apos; \n"
        );
    }
}
