//! The Parquet columns that `docs/results-format.md` documents against the
//! schema table at the top of the metrics source (`crates/*/src/metrics.rs`,
//! whichever crate holds it: `//! | column | type | meaning |`).
use crate::markdown::{find_table, table_cells};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The header of both tables.
fn is_header(cells: &[String]) -> bool {
    cells.first().is_some_and(|c| c == "column")
        && cells.get(1).is_some_and(|c| c == "type")
        && cells.get(2).is_some_and(|c| c == "meaning")
}

/// The column names of a table's first cells: `` `a`, `b` `` or `a, b`.
fn names(rows: &[Vec<String>]) -> BTreeSet<String> {
    rows.iter()
        .flat_map(|r| {
            r[0].split(',')
                .map(|n| n.trim().trim_matches('`').to_string())
        })
        .filter(|n| !n.is_empty())
        .collect()
}

/// The columns of the code's schema table in `source` (a Rust file whose
/// `//!` doc comment holds it); None when it has none.
pub fn code_columns(source: &str) -> Option<BTreeSet<String>> {
    let doc: String = source
        .lines()
        .filter_map(|l| l.strip_prefix("//!"))
        .map(|l| format!("{}\n", l.trim()))
        .collect();
    let rows = find_table(&doc, is_header)?;
    Some(names(&rows))
}

/// The columns documented in a Markdown text's `| column | type | meaning |` table.
pub fn doc_columns(md: &str) -> Option<BTreeSet<String>> {
    Some(names(&find_table(md, is_header)?))
}

/// The metrics source files: `crates/*/src/metrics.rs` with a schema table.
pub fn metrics_sources(root: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(root.join("crates"))
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok().map(|e| e.path().join("src/metrics.rs")))
        .filter(|p| {
            std::fs::read_to_string(p).is_ok_and(|s| {
                s.lines().any(|l| {
                    l.strip_prefix("//!")
                        .and_then(table_cells)
                        .is_some_and(|c| is_header(&c))
                })
            })
        })
        .collect();
    out.sort();
    out
}

/// Columns the doc lacks and columns it has that the code does not.
pub fn differences(code: &BTreeSet<String>, doc: &BTreeSet<String>) -> Vec<String> {
    let missing = code
        .difference(doc)
        .map(|c| format!("column `{c}` is not documented"));
    let extra = doc
        .difference(code)
        .map(|c| format!("column `{c}` is documented but not in the code"));
    missing.chain(extra).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const CODE: &str = "//! Metrics.\n//!\n//! | column | type | meaning |\n//! |---|---|---|\n//! | experiment, profile | str | x |\n//! | seed | i64 | |\n//!\nuse x;\n";

    #[test]
    fn both_tables_are_read() {
        let code = code_columns(CODE).expect("table");
        assert_eq!(
            code.iter().collect::<Vec<_>>(),
            ["experiment", "profile", "seed"]
        );
        let doc = doc_columns("| column | type | meaning |\n|---|---|---|\n| `experiment`, `profile` | str | |\n| `seed` | i64 | |\n")
            .expect("table");
        assert_eq!(differences(&code, &doc), Vec::<String>::new());
    }

    #[test]
    fn a_missing_or_extra_column_is_reported() {
        let code = code_columns(CODE).expect("table");
        let doc = doc_columns("| column | type | meaning |\n|---|---|---|\n| `experiment`, `profile` | str | |\n| `commit` | str | |\n")
            .expect("table");
        let d = differences(&code, &doc);
        assert_eq!(
            d,
            [
                "column `seed` is not documented",
                "column `commit` is documented but not in the code"
            ]
        );
        assert!(code_columns("//! no table\n").is_none());
    }
}
