//! JSON shapes of the CLI's outputs. Field names are part of the documented schema.

use serde::Serialize;

use crate::analysis::retainers::RetainerPath;
use crate::analysis::{AnalyzedSnapshot, ClassRow, Statistics};
use crate::error::{Error, Result};
use crate::model::NodeIx;

/// `v` as pretty JSON with a final newline, as every `--json` prints it.
pub fn to_json<T: Serialize>(v: &T) -> Result<String> {
    let mut s = serde_json::to_string_pretty(v).map_err(|e| Error::Request(e.to_string()))?;
    s.push('\n');
    Ok(s)
}

/// A node as JSON.
#[derive(Debug, Serialize)]
pub struct NodeJson {
    /// Snapshot id (`@id` in DevTools).
    pub id: u32,
    /// Node type (`object`, `closure`, …).
    #[serde(rename = "type")]
    pub kind: String,
    /// Class name as in the Summary.
    pub class: String,
    /// Node name (up to 200 characters).
    pub name: String,
    /// Shallow size (DevTools' attribution).
    pub self_size: u64,
    /// Retained size.
    pub retained_size: u64,
    /// Distance from the roots; null when unreachable.
    pub distance: Option<u32>,
    /// Immediate dominator's id.
    pub dominator_id: u32,
}

impl NodeJson {
    /// Describe node `n`.
    pub fn new(s: &AnalyzedSnapshot, n: NodeIx) -> Self {
        let g = s.graph();
        let a = &s.analysis;
        Self {
            id: g.id(n),
            kind: g.type_name(n).to_string(),
            class: s.class_name(n).to_string(),
            name: g.name(n).chars().take(200).collect(),
            self_size: a.shallow_size(n),
            retained_size: a.retained_size(n),
            distance: a.distance(n),
            dominator_id: g.id(a.dominator(n)),
        }
    }
}

/// Output of `heapsight summary --json`.
#[derive(Debug, Serialize)]
pub struct SummaryJson<'a> {
    /// The file analysed.
    pub file: String,
    /// Nodes in the snapshot.
    pub node_count: u64,
    /// Edges in the snapshot.
    pub edge_count: u64,
    /// Total size (root's retained size plus extra native bytes).
    pub total_size: u64,
    /// Size by category.
    pub statistics: &'a Statistics,
    /// Class rows, largest retained first (cut to --top).
    pub classes: &'a [ClassRow],
    /// Number of classes in all (before --top).
    pub class_count: usize,
}

/// A dominator tree node with its largest children, for `heapsight dominators --json`.
#[derive(Debug, Serialize)]
pub struct DominatorJson {
    /// The node.
    #[serde(flatten)]
    pub node: NodeJson,
    /// Share of the total size, 0..1.
    pub share: f64,
    /// Number of children in the dominator tree (all of them, not only those listed).
    pub child_count: usize,
    /// Largest children (cut to --top, down to --depth).
    pub children: Vec<DominatorJson>,
}

/// One edge of a retainer path.
#[derive(Debug, Serialize)]
pub struct StepJson {
    /// Edge type (`property`, `element`, `context`, `internal`, `hidden`, `shortcut`).
    pub edge_type: String,
    /// Edge name as DevTools prints it (`[3]` for elements).
    pub edge_name: String,
    /// The node the edge leads to.
    pub node: NodeJson,
    /// Steps of a long path left out just before this one (absent when none).
    #[serde(skip_serializing_if = "crate::analysis::detached::is_zero")]
    pub left_out_before: usize,
}

/// A retainer path, root first.
#[derive(Debug, Serialize)]
pub struct PathJson {
    /// Steps in the path, including any left out.
    pub length: usize,
    /// Steps from the root down to the node; a long path's middle is left out (see
    /// `retainers::SHOWN_HEAD`).
    pub steps: Vec<StepJson>,
}

impl PathJson {
    /// Convert a path.
    pub fn new(s: &AnalyzedSnapshot, p: &RetainerPath) -> Self {
        let g = s.graph();
        Self {
            length: p.steps.len(),
            steps: p
                .shown()
                .map(|(left_out_before, st)| StepJson {
                    edge_type: g.edge_type_name(st.edge.index as usize).to_string(),
                    edge_name: g.edge_label(st.edge.index as usize),
                    node: NodeJson::new(s, st.edge.to),
                    left_out_before,
                })
                .collect(),
        }
    }
}

/// An edge as listed by `heapsight node --json`.
#[derive(Debug, Serialize)]
pub struct EdgeJson {
    /// Edge type.
    pub edge_type: String,
    /// Edge name as DevTools prints it.
    pub edge_name: String,
    /// The node at the other end (target for edges, retainer for retainers).
    pub node: NodeJson,
}
