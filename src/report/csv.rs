//! The class table as CSV (`summary --csv`, File → Export → class table).

use super::document::to_csv;
use crate::analysis::ClassRow;

/// `rows` of the class table as CSV, one class per line.
pub fn classes(rows: &[ClassRow]) -> String {
    to_csv(
        &[
            "class",
            "count",
            "shallow_size",
            "retained_size",
            "distance",
        ]
        .map(String::from),
        &rows
            .iter()
            .map(|r| {
                vec![
                    r.name.clone(),
                    r.count.to_string(),
                    r.shallow_size.to_string(),
                    r.retained_size.to_string(),
                    r.distance.map(|d| d.to_string()).unwrap_or_default(),
                ]
            })
            .collect::<Vec<_>>(),
    )
}
