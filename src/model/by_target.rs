//! The edges grouped by target (the retainer lists' CSR), by a counting sort in two stages so
//! that no stage writes at random across the whole heap. First the edges are dealt into
//! buckets of consecutive targets, each bucket a run of the final list written in order (a
//! thousand-odd write streams a thread, whose ends stay in the cache); then each bucket is
//! sorted by target within its own run, which fits the cache. A one-stage sort writes each
//! edge at random into a list of 4 bytes an edge and reads and writes a cursor at random in
//! an array of 4 bytes a node, both far bigger than the cache: a miss or two an edge. On the
//! 1.6 GB document store the build took 0.70–0.84 CPU-seconds, against 1.07–1.26 (see
//! docs/performance.md), and 2 bytes an edge for a while instead of 8 bytes a node.
//!
//! The sort is stable: a target's entries come in the order of the sources, and of each
//! source's edges.

use std::ops::Range;
use std::sync::atomic::Ordering;

use super::graph::EdgeArrays;
use super::NodeIx;

/// Targets a bucket: `1 << BUCKET_SHIFT` consecutive nodes. A bucket's counters (64 KiB) and
/// its run of the list (some 50,000 entries on the document store) then fit in a core's
/// cache, and a target's place in its bucket fits in a `u16`. (12 to 16 measured the same,
/// within the machine's noise.)
pub(crate) const BUCKET_SHIFT: u32 = 14;

/// An entry `from | flags_of(from)[type of e]` for every edge `e`, grouped by the edge's
/// target: `(first, list)` with target `t`'s entries at `list[first[t]..first[t + 1]]` (the
/// retainer lists, with their flags). The sources are dealt out in `halves` (two ranges that
/// cover the nodes in order; the second may be empty), each half's edges by a thread of its
/// own (see [`crate::parallel::beside`]); a target's entries from the first half come first,
/// so the order is the one-thread order. `shift` is [`BUCKET_SHIFT`] but in tests.
pub(crate) fn group_by_target<'f>(
    edges: EdgeArrays<'_>,
    halves: [Range<NodeIx>; 2],
    flags_of: impl Fn(NodeIx) -> &'f [u32] + Sync,
    shift: u32,
) -> (Vec<u32>, Vec<u32>) {
    assert!(shift <= 16, "a target's place in its bucket is a u16");
    let n = edges.first.len().saturating_sub(1);
    let m = edges.to.len();
    let buckets = (n >> shift) + 1;
    let edges_of = |h: &Range<NodeIx>| {
        if h.is_empty() {
            0..0
        } else {
            edges.first[h.start as usize] as usize..edges.first[h.end as usize] as usize
        }
    };

    // How many entries each half puts in each bucket.
    let bucket_sizes = |h: usize| {
        let mut c = vec![0u32; buckets];
        for &t in &edges.to[edges_of(&halves[h])] {
            c[(t >> shift) as usize] += 1;
        }
        c
    };
    let (high, low) = crate::parallel::beside(|| bucket_sizes(1), || bucket_sizes(0));
    let counts = [low, high];
    // Where each bucket's run starts, and where each half starts writing in it.
    let mut run_start = Vec::with_capacity(buckets + 1);
    let mut cursors = [vec![0u32; buckets], vec![0u32; buckets]];
    let mut at = 0u32;
    for b in 0..buckets {
        run_start.push(at);
        cursors[0][b] = at;
        at += counts[0][b];
        cursors[1][b] = at;
        at += counts[1][b];
    }
    run_start.push(at);
    debug_assert_eq!(at as usize, m);

    // Stage one: each edge's entry, and its target's place in the bucket, at the end of its
    // bucket's run. The halves write different places: relaxed stores are plain stores.
    // (Zeroed memory from the system, not zeroes written: the pages are cleared as they are
    // first written.)
    let mut list = vec![0u32; m];
    let mut place = vec![0u16; m];
    {
        let (list, place) = (
            crate::parallel::atomic_u32s(&mut list),
            crate::parallel::atomic_u16s(&mut place),
        );
        let mask = (1u32 << shift) - 1;
        let deal = |h: usize, mut cursor: Vec<u32>| {
            for from in halves[h].clone() {
                let flags = flags_of(from);
                let range = edges.range(from);
                for (&t, &ty) in edges.to[range.clone()].iter().zip(&edges.types[range]) {
                    let slot = &mut cursor[(t >> shift) as usize];
                    list[*slot as usize].store(from | flags[ty as usize], Ordering::Relaxed);
                    place[*slot as usize].store((t & mask) as u16, Ordering::Relaxed);
                    *slot += 1;
                }
            }
        };
        let [low, high] = cursors;
        crate::parallel::beside(|| deal(1, high), || deal(0, low));
    }

    // Stage two: each bucket sorted by target within its run, and its targets' offsets. The
    // buckets are shared out in two runs of about half the entries each (whether the sources
    // were split or not).
    let mut first = vec![0u32; n + 1];
    first[n] = m as u32;
    let mid = run_start
        .partition_point(|&s| (s as usize) < m / 2)
        .min(buckets);
    let mid_node = (mid << shift).min(n);
    let sort_buckets = |bs: Range<usize>, list: &mut [u32], first: &mut [u32]| {
        let (list_base, node_base) = (run_start[bs.start] as usize, bs.start << shift);
        let mut count = vec![0u32; 1 << shift];
        let mut scratch = Vec::new();
        for b in bs {
            let run = run_start[b] as usize..run_start[b + 1] as usize;
            let nodes = (b << shift)..((b + 1) << shift).min(n);
            let count = &mut count[..nodes.len()];
            count.fill(0);
            for &p in &place[run.clone()] {
                count[p as usize] += 1;
            }
            let mut at = run.start as u32;
            for (c, f) in count.iter_mut().zip(&mut first[nodes.start - node_base..]) {
                *f = at;
                (*c, at) = (at - run.start as u32, at + *c);
            }
            let out = &mut list[run.start - list_base..run.end - list_base];
            scratch.clear();
            scratch.extend_from_slice(out);
            for (&x, &p) in scratch.iter().zip(&place[run]) {
                let slot = &mut count[p as usize];
                out[*slot as usize] = x;
                *slot += 1;
            }
        }
    };
    {
        let (list_low, list_high) = list.split_at_mut(run_start[mid] as usize);
        let (first_low, first_high) = first[..n].split_at_mut(mid_node);
        crate::parallel::beside(
            || sort_buckets(mid..buckets, list_high, first_high),
            || sort_buckets(0..mid, list_low, first_low),
        );
    }
    (first, list)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Against a plain gathering (every source in order, its edges in order), with buckets of
    /// 1 to 2^16 targets, one half or two, and targets with no entries, many, or all.
    #[test]
    fn grouping_equals_gathering_in_source_order() {
        let n = 5_000usize;
        let mut random = crate::test_rng::xorshift(2463534242);
        let mut next = || (random() >> 32) as u32;
        let mut first = vec![0u32];
        let mut to = Vec::new();
        for v in 0..n as u32 {
            for _ in 0..next() % 7 {
                // A few hot targets, and the rest anywhere but the last hundred nodes.
                to.push(match next() % 10 {
                    0 => 3,
                    1 => v,
                    _ => next() % (n as u32 - 100),
                });
            }
            first.push(to.len() as u32);
        }
        let types: Vec<u8> = (0..to.len()).map(|e| (e % 3) as u8).collect();
        let edges = EdgeArrays {
            first: &first,
            to: &to,
            types: &types,
        };
        // The flags by type: three types, and a different set for every third source.
        let sets = [vec![0, 1 << 31, 0], vec![1 << 30, 0, 1 << 31]];
        let flags_of = |from: NodeIx| &sets[from.is_multiple_of(3) as usize][..];
        let value = |from: NodeIx, e: usize| from | flags_of(from)[types[e] as usize];
        let mut expected = vec![Vec::new(); n];
        for from in 0..n as u32 {
            for e in edges.range(from) {
                expected[to[e] as usize].push(value(from, e));
            }
        }
        for shift in [0, 3, 6, 10, 13, 16] {
            for split in [n as u32, 1, 1234, n as u32 - 1] {
                let halves = [0..split, split..n as u32];
                let (f, list) = group_by_target(edges, halves, flags_of, shift);
                assert_eq!(f.len(), n + 1);
                assert_eq!(f[n] as usize, to.len());
                for t in 0..n {
                    assert_eq!(
                        &list[f[t] as usize..f[t + 1] as usize],
                        &expected[t][..],
                        "target {t}, shift {shift}, split {split}"
                    );
                }
            }
        }
    }
}
