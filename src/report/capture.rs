//! What `heapsight capture` prints when it is done: the saved files on stdout (one per line,
//! for scripts), and on stderr why the series ended early and what to run next.

use crate::capture::{CaptureError, CaptureKind, CaptureOutcome};

/// The saved files, one per line.
pub fn saved_files(outcome: &CaptureOutcome) -> String {
    let mut out = String::new();
    for p in &outcome.saved {
        out.push_str(&p.display().to_string());
        out.push('\n');
    }
    out
}

/// Notes for stderr: how the series ended when it ended early, and, after several snapshots,
/// the command that compares them. Empty when there is nothing to say.
pub fn notes(outcome: &CaptureOutcome, kind: CaptureKind) -> String {
    let mut out = String::new();
    let (saved, requested) = (outcome.saved.len(), outcome.requested);
    if let Some(stop) = outcome.stopped.as_ref().filter(|e| e.ends_cleanly()) {
        let why = match stop {
            CaptureError::Cancelled => "stopped by the user".to_string(),
            e => e.to_string(),
        };
        out.push_str(&format!(
            "capture ended after {saved} of {requested} {}: {why}\n",
            files_word(requested)
        ));
    }
    if saved > 1 && kind != CaptureKind::Sampling {
        let files: Vec<String> = outcome
            .saved
            .iter()
            .map(|p| shell_word(&p.display().to_string()))
            .collect();
        out.push_str(&format!(
            "to see how the heap grew: heapsight trend {}\n",
            files.join(" ")
        ));
    }
    out
}

/// The error line for a series that failed (not a target going away, not the user stopping it)
/// after saving some files; `None` otherwise.
pub fn failure(outcome: &CaptureOutcome) -> Option<String> {
    let e = outcome.stopped.as_ref().filter(|e| !e.ends_cleanly())?;
    Some(format!(
        "{e} (capture failed after saving {} of {} {})",
        outcome.saved.len(),
        outcome.requested,
        files_word(outcome.requested)
    ))
}

/// The error line when nothing was saved.
pub fn nothing_saved(error: &CaptureError) -> String {
    match error {
        CaptureError::Cancelled => "capture stopped by the user; nothing was saved".to_string(),
        e if e.ends_cleanly() => format!("{e}; nothing was saved"),
        e => e.to_string(),
    }
}

fn files_word(n: u32) -> &'static str {
    if n == 1 {
        "file"
    } else {
        "files"
    }
}

/// A path as one shell word: quoted when it holds anything but plain characters.
fn shell_word(s: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "-_./:+=@%,".contains(c);
    if !s.is_empty() && s.chars().all(plain) {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    #[test]
    fn notes_say_why_and_what_next() {
        let outcome = CaptureOutcome {
            saved: vec![
                PathBuf::from("out/capture-001.heapsnapshot"),
                PathBuf::from("my dir/c-2"),
            ],
            requested: 5,
            stopped: Some(CaptureError::Disconnected {
                endpoint: "127.0.0.1:9229".into(),
            }),
        };
        assert_eq!(
            saved_files(&outcome),
            "out/capture-001.heapsnapshot\nmy dir/c-2\n"
        );
        let text = notes(&outcome, CaptureKind::Snapshot);
        assert!(text.starts_with(
            "capture ended after 2 of 5 files: the connection to 127.0.0.1:9229 was lost"
        ));
        assert!(text.contains("heapsight trend out/capture-001.heapsnapshot 'my dir/c-2'\n"));
        let one = CaptureOutcome {
            saved: vec![PathBuf::from("a")],
            requested: 1,
            stopped: None,
        };
        assert_eq!(notes(&one, CaptureKind::Snapshot), "");
    }
}
