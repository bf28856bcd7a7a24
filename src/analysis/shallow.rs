//! DevTools' shallow sizes: the self size of internal storage (hidden and array nodes, and
//! external string data) is moved to the one JS object that owns it, when there is exactly one.
//! So a `Map` shows the size of its backing tables as its own, as in the DevTools Summary.

use fixedbitset::FixedBitSet;

use crate::error::Result;
use crate::model::v8_rules::{is_user_root, EXTERNAL_STRING_DATA};
use crate::model::{HeapGraph, NodeIx, NodeKind, SizeColumn};
use crate::progress::Progress;

const NO_OWNER: u32 = u32::MAX;
const MANY_OWNERS: u32 = u32::MAX - 1;

/// Storage nodes whose size goes to their owner.
fn is_owned_kind(g: &HeapGraph, n: NodeIx) -> bool {
    match g.kind(n) {
        NodeKind::Hidden | NodeKind::Array => true,
        NodeKind::Native => g.name(n) == EXTERNAL_STRING_DATA,
        _ => false,
    }
}

/// Self sizes as DevTools shows them. Only snapshots with user roots are re-attributed (as in
/// DevTools); otherwise these are the file's sizes.
pub fn devtools_sizes(g: &HeapGraph, progress: Progress<'_>) -> Result<SizeColumn> {
    let n = g.node_count();
    let mut sizes = g.self_sizes();
    let root = g.root();
    if !g.edges(root).any(|e| is_user_root(g, e.to)) {
        return Ok(sizes);
    }
    let mut owned = FixedBitSet::with_capacity(n);
    for v in 0..n as NodeIx {
        if is_owned_kind(g, v) {
            owned.insert(v as usize);
        }
    }
    // Each owned node ends with no owner, one owner, or "many": a node is revisited at most
    // twice (none → one → many), so this is linear.
    let mut owner = vec![NO_OWNER; n];
    let mut stack: Vec<NodeIx> = Vec::new();
    // Slices taken once, and which edge types are weak: the loop runs once an edge.
    let (edges, weak) = (g.edge_arrays(), g.weak_edge_types());
    for s in 0..n as NodeIx {
        if owned.contains(s as usize) {
            continue;
        }
        if s.is_multiple_of(1 << 20) {
            progress.step("shallow sizes", s as u64, n as u64)?;
        }
        stack.push(s);
        while let Some(v) = stack.pop() {
            for e in edges.range(v) {
                if weak[edges.types[e] as usize] {
                    continue;
                }
                let t = edges.to[e];
                if !owned.contains(t as usize) {
                    continue;
                }
                let o = &mut owner[t as usize];
                let next = match *o {
                    NO_OWNER => s,
                    x if x == s || x == MANY_OWNERS => continue,
                    _ => MANY_OWNERS,
                };
                *o = next;
                stack.push(t);
            }
        }
    }
    for (x, &o) in owner.iter().enumerate() {
        if o == NO_OWNER || o == MANY_OWNERS || o == root || g.kind(o) == NodeKind::Synthetic {
            continue;
        }
        let moved = sizes.get(x as NodeIx);
        sizes.set(o, sizes.get(o) + moved);
        sizes.set(x as NodeIx, 0);
    }
    Ok(sizes)
}
