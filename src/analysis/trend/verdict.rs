//! The shape of one series: the verdict, the longest run of growing steps, the slope.

use serde::Serialize;

/// How a series moved over the snapshots, judged on its main metric (objects for a class,
/// entries for a collection, bytes for buffers and WebAssembly memory); exact, no tolerance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Strictly larger in every step.
    Grows,
    /// Grew (never fell), then stayed equal in the last step or steps.
    GrowsThenPlateaus,
    /// Never fell, and grew with flat steps in between: a staircase, as a store grown by a
    /// factor climbs, or a WebAssembly memory grown in chunks.
    GrowsInSteps,
    /// Equal in every snapshot.
    Stable,
    /// Never grew, and ended smaller.
    Shrinks,
    /// Anything else: it rose and fell.
    Fluctuates,
}

impl Verdict {
    /// Words for tables: `grows`, `grows then plateaus`, …
    pub fn label(self) -> &'static str {
        match self {
            Verdict::Grows => "grows",
            Verdict::GrowsThenPlateaus => "grows then plateaus",
            Verdict::GrowsInSteps => "grows in steps",
            Verdict::Stable => "stable",
            Verdict::Shrinks => "shrinks",
            Verdict::Fluctuates => "fluctuates",
        }
    }

    /// Did it grow at all (the verdicts a user chasing a leak looks at)?
    pub fn is_growth(self) -> bool {
        matches!(
            self,
            Verdict::Grows | Verdict::GrowsThenPlateaus | Verdict::GrowsInSteps
        )
    }
}

/// The verdict over `v` (one value per snapshot, at least two).
pub fn verdict(v: &[u64]) -> Verdict {
    let steps: Vec<std::cmp::Ordering> = v.windows(2).map(|w| w[1].cmp(&w[0])).collect();
    use std::cmp::Ordering::*;
    if steps.iter().all(|&s| s == Greater) {
        return Verdict::Grows;
    }
    if steps.iter().all(|&s| s == Equal) {
        return Verdict::Stable;
    }
    if steps.iter().all(|&s| s != Greater) {
        return Verdict::Shrinks;
    }
    // Grew without falling, then flat to the end: the flat tail is at least one step, and
    // every step before it grew.
    let flat_tail = steps.iter().rev().take_while(|&&s| s == Equal).count();
    let head = &steps[..steps.len() - flat_tail];
    if flat_tail > 0 && !head.is_empty() && head.iter().all(|&s| s == Greater) {
        return Verdict::GrowsThenPlateaus;
    }
    if !steps.contains(&Less) {
        return Verdict::GrowsInSteps;
    }
    Verdict::Fluctuates
}

/// The longest run of consecutive steps in which `v` grew.
pub fn longest_growth(v: &[u64]) -> usize {
    let (mut best, mut run) = (0, 0);
    for w in v.windows(2) {
        if w[1] > w[0] {
            run += 1;
            best = best.max(run);
        } else {
            run = 0;
        }
    }
    best
}

/// The most steps in which `v` grew within any `window` consecutive steps.
pub fn most_growth_in_window(v: &[u64], window: usize) -> usize {
    let grew: Vec<bool> = v.windows(2).map(|w| w[1] > w[0]).collect();
    if window == 0 || grew.len() < window {
        return 0;
    }
    grew.windows(window)
        .map(|w| w.iter().filter(|&&g| g).count())
        .max()
        .unwrap_or(0)
}

/// The most steps in which `v` grew within any `window` consecutive steps in which it never
/// shrank: a staircase, as a store grown by a factor climbs (an array's elements, a string
/// built by concatenation, a hash table), its flat steps lengthening as it gets bigger.
pub fn most_growth_in_staircase(v: &[u64], window: usize) -> usize {
    let steps: Vec<std::cmp::Ordering> = v.windows(2).map(|w| w[1].cmp(&w[0])).collect();
    if window == 0 || steps.len() < window {
        return 0;
    }
    steps
        .windows(window)
        .filter(|w| !w.contains(&std::cmp::Ordering::Less))
        .map(|w| {
            w.iter()
                .filter(|&&s| s == std::cmp::Ordering::Greater)
                .count()
        })
        .max()
        .unwrap_or(0)
}

/// How many of `window` consecutive steps a WebAssembly memory must grow in to trip the gate:
/// all but one in four. Its allocator asks for memory in chunks (Emscripten's for a fifth more
/// than it has), so a steady leak inside it grows the memory in a staircase whose flat steps
/// lengthen as it gets bigger; a clean program's memory stops growing after its warm-up.
pub fn memory_steps_needed(window: usize) -> usize {
    window - window / 4
}

/// Last minus first, signed.
pub fn added(v: &[u64]) -> i64 {
    match (v.first(), v.last()) {
        (Some(&a), Some(&b)) => b as i64 - a as i64,
        _ => 0,
    }
}

/// Added per step: (last − first) / steps.
pub fn slope(v: &[u64]) -> f64 {
    if v.len() < 2 {
        return 0.0;
    }
    added(v) as f64 / (v.len() - 1) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdicts() {
        assert_eq!(verdict(&[1, 2, 3, 4]), Verdict::Grows);
        assert_eq!(verdict(&[0, 1000, 1000]), Verdict::GrowsThenPlateaus);
        assert_eq!(verdict(&[1, 2, 3, 3, 3]), Verdict::GrowsThenPlateaus);
        assert_eq!(verdict(&[5, 5, 5]), Verdict::Stable);
        assert_eq!(verdict(&[4, 3, 2, 1]), Verdict::Shrinks);
        assert_eq!(verdict(&[4, 4, 2]), Verdict::Shrinks);
        assert_eq!(verdict(&[0, 300, 0]), Verdict::Fluctuates);
        assert_eq!(verdict(&[1, 1, 2, 3]), Verdict::GrowsInSteps);
        assert_eq!(verdict(&[1, 2, 2, 3]), Verdict::GrowsInSteps);
        assert_eq!(verdict(&[1, 2, 3, 2]), Verdict::Fluctuates);
        assert_eq!(longest_growth(&[1, 2, 3, 3, 4, 5, 6]), 3);
        assert_eq!(longest_growth(&[3, 2]), 0);
        assert_eq!(added(&[10, 4]), -6);
        assert_eq!(slope(&[100, 200, 300, 400]), 100.0);
    }

    #[test]
    fn growth_in_a_staircase() {
        // An array's store growing by half each time it fills: flat steps in between.
        assert_eq!(most_growth_in_staircase(&[80, 120, 180, 180, 271], 4), 3);
        // A fall anywhere in the window breaks it.
        assert_eq!(most_growth_in_staircase(&[80, 120, 100, 180, 271], 4), 0);
        assert_eq!(most_growth_in_staircase(&[80, 120, 100, 180, 271], 2), 2);
        assert_eq!(most_growth_in_staircase(&[5, 5, 5], 2), 0);
        assert_eq!(most_growth_in_staircase(&[1, 2], 3), 0);
    }

    #[test]
    fn growth_in_a_window() {
        // ONNX Runtime Web leaking sessions: its memory's pages over five snapshots.
        let staircase = [533, 768, 922, 1107, 1107];
        assert_eq!(longest_growth(&staircase), 3);
        assert_eq!(most_growth_in_window(&staircase, 4), 3);
        assert_eq!(most_growth_in_window(&staircase, 2), 2);
        assert_eq!(most_growth_in_window(&[1, 2, 2, 2, 3, 3], 3), 1);
        assert_eq!(most_growth_in_window(&[1, 2], 2), 0);
        assert_eq!(memory_steps_needed(4), 3);
        assert_eq!(memory_steps_needed(3), 3);
        assert_eq!(memory_steps_needed(1), 1);
        assert_eq!(memory_steps_needed(8), 6);
    }
}
