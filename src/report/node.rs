//! One node in detail (edges, retainers, dominator chain), its retainer paths, and the dominator
//! tree as JSON.

use std::fmt::Write as _;

use serde::Serialize;

use super::json::{to_json, DominatorJson, EdgeJson, NodeJson, PathJson};
use super::{one_line, text};
use crate::analysis::retainers::{left_out_note, shown_steps};
use crate::analysis::retainers::{sorted_retainers, RetainerPath};
use crate::analysis::AnalyzedSnapshot;
use crate::error::Result;
use crate::model::{EdgeRef, NodeIx};

/// `heapsight node`: the node, its first `limit` edges and retainers (weak and root edges not
/// listed), and its dominator chain, as text or JSON.
pub fn node(s: &AnalyzedSnapshot, n: NodeIx, limit: usize, json: bool) -> Result<String> {
    let g = s.graph();
    let edges: Vec<_> = g.edges(n).take(limit).collect();
    let retainers: Vec<_> = sorted_retainers(g, &s.analysis, n)
        .into_iter()
        .take(limit)
        .collect();
    let chain = s.analysis.dominators.chain(n);
    if json {
        #[derive(Serialize)]
        struct Out {
            node: NodeJson,
            edge_count: usize,
            edges: Vec<EdgeJson>,
            retainer_count: usize,
            retainers: Vec<EdgeJson>,
            dominator_chain_length: usize,
            dominator_chain: Vec<NodeJson>,
        }
        let edge_json = |e: &EdgeRef, other: NodeIx| EdgeJson {
            edge_type: g.edge_type_name(e.index as usize).to_string(),
            edge_name: g.edge_label(e.index as usize),
            node: NodeJson::new(s, other),
        };
        return to_json(&Out {
            node: NodeJson::new(s, n),
            edge_count: g.edge_range(n).len(),
            edges: edges.iter().map(|e| edge_json(e, e.to)).collect(),
            retainer_count: g.retainer_count(n),
            retainers: retainers.iter().map(|e| edge_json(e, e.from)).collect(),
            dominator_chain_length: chain.len(),
            // A chain as long as the path is cut like one (see `retainers::SHOWN_HEAD`).
            dominator_chain: shown_steps(chain.len())
                .map(|(i, _)| NodeJson::new(s, chain[i]))
                .collect(),
        });
    }
    let mut out = String::new();
    let _ = writeln!(out, "{}", text::node_line(s, n));
    let _ = writeln!(
        out,
        "type {}, name {:?}",
        g.type_name(n),
        one_line(g.name(n), 200)
    );
    let _ = writeln!(out, "\nedges ({} in all):", g.edge_range(n).len());
    for e in &edges {
        let i = e.index as usize;
        let _ = writeln!(
            out,
            "  --{} {}--> {}",
            g.edge_type_name(i),
            one_line(&g.edge_label(i), 50),
            text::node_line(s, e.to)
        );
    }
    let _ = writeln!(
        out,
        "\nretainers ({} in all; weak and root edges not listed):",
        g.retainer_count(n)
    );
    for e in &retainers {
        let i = e.index as usize;
        let _ = writeln!(
            out,
            "  {} --{} {}-->",
            text::node_line(s, e.from),
            g.edge_type_name(i),
            one_line(&g.edge_label(i), 50)
        );
    }
    let _ = writeln!(out, "\ndominator chain:");
    for (i, left_out) in shown_steps(chain.len()) {
        if left_out > 0 {
            let _ = writeln!(out, "  {}", left_out_note(left_out));
        }
        let _ = writeln!(out, "  {}", text::node_line(s, chain[i]));
    }
    Ok(out)
}

/// `heapsight retainers`: the node and the retainer paths found, as text or JSON.
pub fn retainers(
    s: &AnalyzedSnapshot,
    n: NodeIx,
    found: &[RetainerPath],
    json: bool,
) -> Result<String> {
    if json {
        #[derive(Serialize)]
        struct Out {
            node: NodeJson,
            paths: Vec<PathJson>,
        }
        return to_json(&Out {
            node: NodeJson::new(s, n),
            paths: found.iter().map(|p| PathJson::new(s, p)).collect(),
        });
    }
    let mut out = text::node_line(s, n);
    out.push('\n');
    if found.is_empty() {
        out.push_str(
            "no retainer path: the node is not reachable from the GC roots without weak edges\n",
        );
    }
    text::paths(&mut out, s, found);
    Ok(out)
}

/// The dominator subtree under `n`, `depth` levels of at most `top` children each, with each
/// node's share of `total`.
pub fn dominator_tree(
    s: &AnalyzedSnapshot,
    n: NodeIx,
    total: u64,
    depth: usize,
    top: usize,
) -> DominatorJson {
    let kids = s.analysis.dominators.sorted_children(n);
    DominatorJson {
        node: NodeJson::new(s, n),
        share: if total == 0 {
            0.0
        } else {
            s.analysis.retained_size(n) as f64 / total as f64
        },
        child_count: kids.len(),
        children: if depth == 0 {
            Vec::new()
        } else {
            kids.iter()
                .take(top)
                .map(|&c| dominator_tree(s, c, total, depth - 1, top))
                .collect()
        },
    }
}
