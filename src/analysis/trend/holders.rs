//! The series of the objects whose retained size grows ([`crate::analysis::big_objects`]):
//! one per object of the last snapshot that was in every one and grew, where the growth is its
//! own, not mostly that of an object it dominates.

use super::extract::SnapshotPart;
use super::{Series, SeriesKind};
use crate::analysis::big_objects::not_mostly_below;
use crate::model::FxHashSet;

/// The series of the objects whose retained size grew by at least `min_bytes` and never fell
/// (in every step, or in a staircase). `born` is, per id of the last snapshot (in id order), the step
/// its presence began (0: in every snapshot); `followed` the ids that have a series already
/// (collections, buffer holders).
pub(super) fn holder_series(
    parts: &[SnapshotPart],
    born: &[u16],
    followed: &FxHashSet<u32>,
    min_bytes: u64,
) -> Vec<Series> {
    let last = &parts[parts.len() - 1].big_objects;
    // Which rows of the last snapshot were in every snapshot (both lists are in id order).
    let mut ids = parts[parts.len() - 1].ids.iter().zip(born).peekable();
    let series: Vec<Option<Series>> = last
        .rows
        .iter()
        .map(|r| {
            while ids.next_if(|&(id, _)| id < r.id).is_some() {}
            let old = ids.peek().is_some_and(|&(id, &b)| id == r.id && b == 0);
            old.then(|| {
                let bytes: Vec<u64> = parts.iter().map(|p| p.big_objects.retained(r.id)).collect();
                Series::new(
                    SeriesKind::Holder,
                    String::new(),
                    Some(r.id),
                    bytes.clone(),
                    bytes,
                )
            })
        })
        .collect();
    let growth: Vec<Option<i64>> = series
        .iter()
        .map(|s| s.as_ref().map(|s| s.bytes_added))
        .collect();
    let own = not_mostly_below(&last.rows, &growth);
    let mut out = Vec::new();
    for (i, s) in series.into_iter().enumerate() {
        let Some(mut s) = s else { continue };
        let id = last.rows[i].id;
        // Grew and never fell (`grows in steps` included).
        let climbs = s.verdict.is_growth();
        if !own[i] || !climbs || s.bytes_added < min_bytes as i64 || followed.contains(&id) {
            continue;
        }
        s.class = last.class(i).to_string();
        s.held_as = last.names(id);
        out.push(s);
    }
    out
}
