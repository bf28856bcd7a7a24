//! `anonymize`: a copy of a snapshot that a team can share, its strings' text replaced.

use std::path::PathBuf;

use rmcp::schemars::{self, JsonSchema};
use serde::Deserialize;

use super::ToolDef;
use crate::anonymize::{anonymize_file_with, AnonymizeOptions};
use crate::error::Result;
use crate::mcp::session::{resolve, Session};
use crate::progress::Progress;
use crate::report::text::anonymize_report;

#[derive(Deserialize, JsonSchema)]
struct AnonymizeArgs {
    /// The V8 heap snapshot to read (.heapsnapshot or .heaptimeline, gzip or zstd too).
    input: PathBuf,
    /// Where to write the copy (a .gz or .zst name compresses it); never the input itself.
    /// Written to a temporary file beside it, then renamed.
    output: PathBuf,
    /// Texts to keep as they are, besides the class, property and function names that are
    /// always kept.
    #[serde(default)]
    keep: Vec<String>,
}

pub(super) fn tool() -> ToolDef {
    super::tool(
        "anonymize",
        "Write a copy of a V8 heap snapshot with the text of its strings replaced (same lengths, \
         the graph, class, property and function names kept), to share a leak without its data. \
         Reads only `input`, writes only `output`; heapsight's numbers on the copy equal the \
         original's. Reports progress and can be cancelled.",
        anonymize,
    )
}

fn anonymize(_: &Session, a: AnonymizeArgs, progress: Progress<'_>) -> Result<String> {
    let (input, output) = (resolve(&a.input), resolve(&a.output));
    let options = AnonymizeOptions { keep: a.keep };
    let report = anonymize_file_with(&input, &output, &options, progress)?;
    Ok(format!(
        "read {}\n{}",
        input.display(),
        anonymize_report(&output, &report)
    ))
}
