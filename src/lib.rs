//! heapsight: find what holds the memory in V8 heap snapshots and Rust allocation dumps.
//!
//! The engine reads a file into a compact retention graph ([`model::HeapGraph`]), then runs
//! the analyses DevTools users know — distances, dominators, retained sizes, class summary,
//! retainer paths — with DevTools' rules, so the numbers match.
//!
//! ```no_run
//! let snap = heapsight::formats::load("app.heapsnapshot".as_ref(), Default::default())?;
//! let analysis =
//!     heapsight::analysis::Analysis::run(&snap.graph, Default::default(), Default::default())?;
//! println!("the heap holds {} bytes", analysis.retained_size(snap.graph.root()));
//! # Ok::<(), heapsight::Error>(())
//! ```
#![warn(missing_docs)]

pub mod analysis;
pub mod anonymize;
pub mod big_blocks;
pub mod capture;
pub mod cli;
pub mod error;
pub mod formats;
#[cfg(feature = "gui")]
pub mod gui;
#[cfg(feature = "mcp")]
pub mod mcp;
pub mod model;
pub mod parallel;
pub mod prefault;
pub mod process_memory;
pub mod progress;
pub mod report;
pub mod store;
#[cfg(test)]
mod test_rng;
mod thread_flag;
pub mod units;

pub use error::{Error, Result};
