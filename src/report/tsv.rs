//! `nodes --tsv`: one row per node, streamed to a writer so millions of rows never pile up in
//! memory.

use std::fmt::Write as _;
use std::io::Write;

use super::one_line;
use crate::analysis::AnalyzedSnapshot;
use crate::model::NodeIx;

/// Write every node of `s` as a TSV row (id, type, name, self and retained size, dominator,
/// distance) under a header line.
pub fn nodes(s: &AnalyzedSnapshot, w: &mut impl Write) -> std::io::Result<()> {
    let g = s.graph();
    let a = &s.analysis;
    let mut line = String::new();
    writeln!(
        w,
        "id\ttype\tname\tself_size\tretained_size\tdominator_id\tdistance"
    )?;
    for n in 0..g.node_count() as NodeIx {
        line.clear();
        let name = one_line(g.name(n), 80);
        let _ = write!(
            line,
            "{}\t{}\t{}\t{}\t{}\t{}\t",
            g.id(n),
            g.type_name(n),
            name,
            a.shallow_size(n),
            a.retained_size(n),
            g.id(a.dominator(n))
        );
        if let Some(d) = a.distance(n) {
            let _ = write!(line, "{d}");
        }
        line.push('\n');
        w.write_all(line.as_bytes())?;
    }
    w.flush()
}
