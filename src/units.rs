//! Byte counts as people read them. Below every other module, so the analyses can word their
//! explanations and the report writers their tables the same way (`report` re-exports these).

use std::cell::Cell;

thread_local! {
    /// Whether [`human_bytes`] adds the exact count on this thread ([`with_exact_bytes`]).
    static EXACT: Cell<bool> = const { Cell::new(false) };
}

/// Run `f` with every [`human_bytes`] on this thread followed by the exact count, as
/// `1.50 KiB (1536 B)`: for readers that need the exact figure beside the readable one (the
/// MCP server's tools), while the CLI's tables stay narrow.
pub fn with_exact_bytes<T>(f: impl FnOnce() -> T) -> T {
    crate::thread_flag::while_set(&EXACT, f)
}

/// Bytes as a person reads them: `812 B`, `14.2 KiB`, `3.40 MiB`, `1.25 GiB`; inside
/// [`with_exact_bytes`], with the exact count after a rounded one: `14.2 KiB (14540 B)`.
pub fn human_bytes(n: u64) -> String {
    let text = rounded_bytes(n);
    if n >= 1024 && EXACT.with(|e| e.get()) {
        format!("{text} ({n} B)")
    } else {
        text
    }
}

/// [`human_bytes`] without the exact count, whatever the thread asks.
pub fn rounded_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if v >= 100.0 {
        format!("{v:.0} {}", UNITS[u])
    } else if v >= 10.0 {
        format!("{v:.1} {}", UNITS[u])
    } else {
        format!("{v:.2} {}", UNITS[u])
    }
}

/// A size change with its sign: `+1.50 KiB`, `−812 B`.
pub fn signed_bytes(delta: i64) -> String {
    let sign = if delta < 0 { "\u{2212}" } else { "+" };
    format!("{sign}{}", human_bytes(delta.unsigned_abs()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_counts_only_where_asked() {
        assert_eq!(with_exact_bytes(|| human_bytes(1536)), "1.50 KiB (1536 B)");
        assert_eq!(with_exact_bytes(|| human_bytes(812)), "812 B");
        assert_eq!(human_bytes(1536), "1.50 KiB");
        assert_eq!(with_exact_bytes(|| rounded_bytes(1536)), "1.50 KiB");
    }

    #[test]
    fn units_and_precision() {
        assert_eq!(human_bytes(1024), "1.00 KiB");
        assert_eq!(human_bytes(100 * 1024), "100 KiB");
        assert_eq!(human_bytes(5 << 40), "5.00 TiB");
        assert_eq!(human_bytes(2048 << 40), "2048 TiB");
    }

    #[test]
    fn signs() {
        assert_eq!(signed_bytes(0), "+0 B");
        assert_eq!(signed_bytes(1536), "+1.50 KiB");
        assert_eq!(signed_bytes(-812), "\u{2212}812 B");
        assert_eq!(signed_bytes(i64::MIN), "\u{2212}8388608 TiB");
    }
}
