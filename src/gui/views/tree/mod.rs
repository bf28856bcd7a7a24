//! A lazy, virtualised tree-table, drawn by the dominator tree, containment and retainers views.
//!
//! The tree is a flat list of the rows shown (depth, node, edge, expanded…). Expanding or
//! collapsing splices that list, so the work is proportional to the rows that change, and
//! drawing lays out only the rows in view (`TableBuilder` body `rows`), so a 20 M node heap
//! scrolls like a small one. Children come a page at a time: a "… N more" row loads the next
//! page. Listing a node's children when there are very many runs on a background thread.
//!
//! What a node's children are is up to a [`TreeSource`]; the table only pages and draws them.

mod children;
mod labels;
mod rows;
mod ui;

use crate::gui::worker::BackgroundTask;
use crate::model::NodeIx;
use crate::store::Document;

pub use children::{Child, Children, PathMatch};
pub use labels::{edge_text, node_label, node_short_name, row_text};

/// Children shown per page: the first page when a node is expanded, then one per "more" click.
pub const PAGE: usize = 200;
/// A node whose child listing costs more than this (see [`TreeSource::work_hint`]) is listed
/// on a background thread when expanded by the user.
pub const BACKGROUND_WORK: usize = 20_000;

/// What a tree shows under each node. Implementations are small `Copy` markers so listing can
/// move to a background thread.
pub trait TreeSource: Copy + Send + 'static {
    /// The children of `n`, in display order.
    fn children(self, snap: &Document, n: NodeIx) -> Children;
    /// Cheap test whether `n` may have children (decides whether the row gets a toggle).
    fn may_have_children(self, snap: &Document, n: NodeIx) -> bool;
    /// Rough cost of [`TreeSource::children`] for `n` (e.g. how many children to sort).
    fn work_hint(self, snap: &Document, n: NodeIx) -> usize;
}

/// How a tree looks: its id, column set and wording.
#[derive(Debug, Clone, Copy)]
pub struct TreeStyle {
    /// Salt for the table's id (unique among the trees drawn in one frame).
    pub id_salt: &'static str,
    /// Header of the tree column.
    pub object_header: &'static str,
    /// Between a row's edge and its node: `" :: "` in containment, `" in "` in retainers.
    pub joiner: &'static str,
    /// Show a share-of-heap bar and percentage of the retained size.
    pub share: bool,
    /// A primary tree (the main view) takes the arrow keys unless a secondary tree (the
    /// retainers panel) was clicked more recently.
    pub primary: bool,
}

/// One row of a tree: a node, or a "… N more" row standing for its parent's unseen children.
#[derive(Debug, Clone)]
pub struct TreeRow {
    /// Nesting level (0 for the top rows).
    pub depth: u32,
    /// The node and edge shown (for a "more" row: its parent's node).
    pub child: Child,
    /// Children are shown below.
    pub expanded: bool,
    /// The row has (or may have) children.
    pub has_children: bool,
    /// For a "more" row, how many children are not shown yet; 0 for node rows.
    pub more: usize,
    /// All children while expanded (paged into rows `PAGE` at a time).
    kids: Children,
    /// How many of `kids` have rows.
    shown: usize,
    /// Stable identity (rows move when others are inserted above them).
    uid: u64,
}

impl TreeRow {
    /// True for a "… N more" row.
    pub fn is_more(&self) -> bool {
        self.more > 0
    }
}

/// What happened in a tree this frame.
#[derive(Debug, Clone, Copy, Default)]
pub struct TreeResponse {
    /// The tree changed `selection.node` (click or key).
    pub selection_changed: bool,
}

/// The state of one tree: the rows shown, the keyboard cursor and pending background listings.
#[derive(Default)]
pub struct TreeTable {
    rows: Vec<TreeRow>,
    roots: Children,
    roots_shown: usize,
    cursor: Option<usize>,
    /// The selection when the cursor was placed; the cursor counts only while it is unchanged.
    cursor_for: Option<NodeIx>,
    scroll_to: Option<usize>,
    pending: Vec<(u64, BackgroundTask<Children>)>,
    next_uid: u64,
}

/// Where a tree's rows start (`None`: the top level) for paging.
type Parent = Option<usize>;
