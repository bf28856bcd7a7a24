//! The allocation-profile parts of the leak-suspects report: a profile's totals and the sites
//! to act on, and two profiles compared by call stack.

use super::AllocDiffSection;
use crate::analysis::alloc::{access_text, AllocSummary, SiteRow};
use crate::report::document::Block;
use crate::report::{blocks_text, human_bytes};

/// Columns of a table of site diffs (the report's and the GUI's).
pub const SITE_DIFF_COLUMNS: [&str; 6] = [
    "Change",
    "Allocating function",
    "Peak before",
    "Peak after",
    "Allocated before",
    "Allocated after",
];

/// Innermost frames of an allocation stack shown in a report.
const STACK_FRAMES_SHOWN: usize = 6;

/// An allocation profile's part: totals, then the sites to act on, each list with the stacks
/// of its first entries.
pub fn alloc_blocks(file: &str, a: &AllocSummary) -> Vec<Block> {
    let t = &a.totals;
    let live_only = crate::model::alloc::is_live_only(&a.format);
    let mut totals = if live_only && t.total_bytes == 0 {
        // Nothing but what was live when the profile was taken is known.
        let blocks = if t.peak_blocks > 0 {
            format!(" in {} blocks", t.peak_blocks)
        } else {
            String::new()
        };
        format!(
            "{}. Live when taken: {}{blocks}",
            a.origin(),
            human_bytes(t.peak_bytes),
        )
    } else {
        format!(
            "{}. Allocated {} in {} blocks; at the peak {} in {} blocks live",
            a.origin(),
            human_bytes(t.total_bytes),
            t.total_blocks,
            human_bytes(t.peak_bytes),
            t.peak_blocks,
        )
    };
    if !live_only {
        totals.push_str(&format!(
            "; at exit {} in {} blocks still live (leaked)",
            human_bytes(t.end_bytes),
            t.end_blocks
        ));
    }
    if t.temporary_blocks > 0 {
        totals.push_str(&format!("; {} temporary allocations", t.temporary_blocks));
    }
    totals.push('.');
    let mut b = vec![
        Block::Heading(2, format!("Allocation profile {file}")),
        Block::Paragraph(totals),
    ];
    let mut list = |title: String, rows: &[SiteRow], value: &dyn Fn(&SiteRow) -> String| {
        if rows.is_empty() {
            return;
        }
        b.push(Block::Heading(3, title));
        b.push(Block::table(
            &["Allocating function", "Location", "Value"],
            &[false, false, true],
            rows.iter()
                .map(|r| vec![r.function.clone(), r.location.clone(), value(r)])
                .collect(),
        ));
        // The innermost frames say where; the runtime's prelude above `main` says nothing.
        for r in rows.iter().take(3) {
            let skip = r.stack.len().saturating_sub(STACK_FRAMES_SHOWN);
            let mut lines = Vec::with_capacity(STACK_FRAMES_SHOWN + 1);
            if skip > 0 {
                lines.push(format!("… {skip} outer frames"));
            }
            lines.extend(r.stack[skip..].iter().cloned());
            b.push(Block::Path(lines));
        }
    };
    let in_blocks =
        |bytes: u64, blocks: u64| format!("{} in {}", human_bytes(bytes), blocks_text(blocks));
    list("Leaked at exit".into(), &a.top_by_leaked, &|r| {
        in_blocks(r.metrics.end_bytes, r.metrics.end_blocks)
    });
    list("Largest at the peak".into(), &a.top_by_peak, &|r| {
        in_blocks(r.metrics.peak_bytes, r.metrics.peak_blocks)
    });
    list(
        "Temporary allocations (allocated and freed right away)".into(),
        &a.top_by_temporary,
        &|r| {
            format!(
                "{} of {}",
                r.metrics.temporary_blocks, r.metrics.total_blocks
            )
        },
    );
    if let Some(limit) = a.short_lived_threshold {
        list(
            format!(
                "Short-lived (average lifetime at most {limit} {})",
                a.time_unit
            ),
            &a.top_by_short_lived,
            &|r| format!("{} allocations", r.metrics.total_blocks),
        );
    }
    list(
        "Never read or never written".into(),
        &a.top_never_read_or_written,
        &|r| {
            let what = access_text(r.never_read, r.never_written);
            format!("{} {what}", human_bytes(r.metrics.total_bytes))
        },
    );
    b
}

/// Two allocation profiles compared by call stack.
pub fn alloc_diff_blocks(d: &AllocDiffSection) -> Vec<Block> {
    vec![
        Block::Heading(
            2,
            format!("Comparison: {} → {} (by call stack)", d.base, d.target),
        ),
        Block::Table {
            head: SITE_DIFF_COLUMNS.map(String::from).to_vec(),
            rows: d
                .sites
                .iter()
                .map(|s| {
                    vec![
                        format!("{:?}", s.change).to_lowercase(),
                        s.stack.last().cloned().unwrap_or_default(),
                        human_bytes(s.before.peak_bytes),
                        human_bytes(s.after.peak_bytes),
                        human_bytes(s.before.total_bytes),
                        human_bytes(s.after.total_bytes),
                    ]
                })
                .collect(),
            numeric: vec![false, false, true, true, true, true],
        },
    ]
}
