//! The size cap on every tool result: a result's text is cut into pages of whole lines that
//! each fit in [`MAX_RESULT_BYTES`]; a page that is not the last ends with a line naming the
//! `cursor` that fetches the next one. Over-long lines are cut, so one line never breaks the cap.

/// The most bytes of text (UTF-8) one tool call returns, footer included.
pub const MAX_RESULT_BYTES: usize = 16 * 1024;

/// The most bytes of one line; longer lines (huge node names, long paths) end with `…`.
pub const MAX_LINE_BYTES: usize = 600;

/// Room kept for the "more" footer.
const FOOTER_BYTES: usize = 200;

/// The page of `text` starting at line `cursor` (0 for the first page), at most
/// [`MAX_RESULT_BYTES`] long.
pub fn page(text: &str, cursor: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let total = lines.len();
    let start = cursor.min(total);
    let mut out = String::new();
    let mut end = start;
    for line in &lines[start..] {
        let line = cut(line, MAX_LINE_BYTES);
        if out.len() + line.len() + 1 > MAX_RESULT_BYTES - FOOTER_BYTES {
            break;
        }
        out.push_str(&line);
        out.push('\n');
        end += 1;
    }
    if cursor > 0 && start == total {
        out.push_str(&format!(
            "(nothing past line {total}: the result has {total} lines)\n"
        ));
    } else if end < total {
        out.push_str(&format!(
            "… more: lines {}-{} of {total} shown; call again with \"cursor\": {end} for the next page\n",
            start + 1,
            end
        ));
    }
    out
}

/// `s` cut to at most `max` bytes on a character boundary, with `…` when cut.
pub fn cut(s: &str, max: usize) -> std::borrow::Cow<'_, str> {
    if s.len() <= max {
        return s.into();
    }
    let mut end = max.saturating_sub('…'.len_utf8());
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end]).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_fit_and_chain() {
        let text: String = (0..5000)
            .map(|i| format!("row {i} {}\n", "x".repeat(i % 50)))
            .collect();
        let mut cursor = 0;
        let mut seen = 0;
        loop {
            let p = page(&text, cursor);
            assert!(p.len() <= MAX_RESULT_BYTES, "{} bytes", p.len());
            seen += p.lines().filter(|l| l.starts_with("row ")).count();
            match p.rsplit_once("\"cursor\": ") {
                Some((_, rest)) => {
                    cursor = rest.split_whitespace().next().unwrap().parse().unwrap()
                }
                None => break,
            }
        }
        assert_eq!(seen, 5000);
    }

    #[test]
    fn long_lines_are_cut_on_char_boundaries() {
        let long = "é".repeat(2000);
        let p = page(&long, 0);
        assert!(p.len() <= MAX_LINE_BYTES + 1);
        assert!(p.trim_end().ends_with('…'));
        assert_eq!(
            page("a\nb\n", 9),
            "(nothing past line 2: the result has 2 lines)\n"
        );
    }
}
