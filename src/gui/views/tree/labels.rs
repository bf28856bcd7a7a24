//! How a tree row names its node and edge, as coloured text and as plain (accessible) text.

use eframe::egui::{self, text::LayoutJob, Align, Color32, FontSelection, RichText};

use super::Child;
use crate::model::{EdgeKind, EdgeRef, HeapGraph, NodeIx, NodeKind};
use crate::report::one_line;
use crate::store::Document;

/// Longest node or edge name shown in a row, in characters.
const NAME_CHARS: usize = 80;

/// Colour of edge names.
fn edge_color(ui: &egui::Ui) -> Color32 {
    if ui.visuals().dark_mode {
        Color32::from_rgb(0xc5, 0x94, 0xf0)
    } else {
        Color32::from_rgb(0x88, 0x1e, 0xa8)
    }
}

/// A row's label, coloured: edge, joiner, class, name, `@id`, and a "weak" marker.
pub(super) fn row_job(ui: &egui::Ui, snap: &Document, c: &Child, joiner: &str) -> LayoutJob {
    let style = ui.style();
    let weak_color = ui.visuals().weak_text_color();
    let weak = c.weak();
    let mut job = LayoutJob::default();
    let mut add = |text: RichText| {
        let text = if weak { text.color(weak_color) } else { text };
        text.append_to(&mut job, style, FontSelection::Default, Align::Center);
    };
    let g = snap.data.graph();
    if let Some(e) = &c.edge {
        add(RichText::new(edge_text(g, e)).color(edge_color(ui)));
        add(RichText::new(joiner).color(weak_color));
    }
    let (title, name) = node_title(snap, c.node);
    add(RichText::new(title).color(ui.visuals().strong_text_color()));
    if !name.is_empty() {
        add(RichText::new(name).color(weak_color));
    }
    add(RichText::new(format!(" @{}", g.id(c.node))).color(weak_color));
    if weak {
        add(RichText::new(" weak").small().italics().color(weak_color));
    }
    job
}

/// A row's label as plain text (also the accessible label): `edge joiner Class name @id`.
pub fn row_text(snap: &Document, c: &Child, joiner: &str) -> String {
    let g = snap.data.graph();
    let mut s = String::new();
    if let Some(e) = &c.edge {
        s.push_str(&edge_text(g, e));
        s.push_str(joiner);
    }
    s.push_str(&node_label(snap, c.node));
    if c.weak() {
        s.push_str(" weak");
    }
    s
}

/// `Class name @id`, as the tree rows show a node.
pub fn node_label(snap: &Document, n: NodeIx) -> String {
    let (title, name) = node_title(snap, n);
    format!("{title}{name} @{}", snap.data.graph().id(n))
}

/// The short name of a node: its class, or a synthetic node's own name (`(GC roots)`).
pub fn node_short_name(snap: &Document, n: NodeIx) -> String {
    node_title(snap, n).0
}

/// A node's title (class, or the name of a synthetic node) and the rest of its name
/// (with a leading space, empty when it would repeat the class).
fn node_title(snap: &Document, n: NodeIx) -> (String, String) {
    let g = snap.data.graph();
    let class = snap.data.class_name(n);
    let name = one_line(g.name(n), NAME_CHARS);
    match g.kind(n) {
        NodeKind::Synthetic if n == g.root() && name.is_empty() => ("(root)".into(), String::new()),
        NodeKind::Synthetic if !name.is_empty() => (name, String::new()),
        k if k.is_string() => (class.to_string(), format!(" \"{name}\"")),
        NodeKind::Closure if !name.is_empty() => (class.to_string(), format!(" {name}()")),
        _ if name.is_empty() || name == class => (class.to_string(), String::new()),
        _ => (class.to_string(), format!(" {name}")),
    }
}

/// An edge's name as DevTools writes it: property `.name` (`["a b"]` with a space), element
/// `[i]`, context `->name`, weak `[[name]]`, internal and hidden `{name}`, shortcut like a
/// property (or `[i]` when numeric).
pub fn edge_text(g: &HeapGraph, e: &EdgeRef) -> String {
    let name = || one_line(g.strings().get(e.name_or_index), NAME_CHARS);
    let property = |name: String| {
        if name.contains(' ') {
            format!("[\"{name}\"]")
        } else {
            format!(".{name}")
        }
    };
    match e.kind {
        EdgeKind::Element => format!("[{}]", e.name_or_index),
        EdgeKind::Hidden => format!("{{{}}}", e.name_or_index),
        EdgeKind::Property => property(name()),
        EdgeKind::Shortcut => {
            let name = name();
            if !name.is_empty() && name.bytes().all(|b| b.is_ascii_digit()) {
                format!("[{name}]")
            } else {
                property(name)
            }
        }
        EdgeKind::Context => format!("->{}", name()),
        EdgeKind::Weak => format!("[[{}]]", name()),
        EdgeKind::Internal => format!("{{{}}}", name()),
        EdgeKind::Other => name(),
    }
}
