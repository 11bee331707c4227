//! The combined table of a profile (`all_runs.parquet`): every run's rows
//! (the per-run schema) and, per row, what a reader needs to load many
//! experiments' tables in one line and group them: a key unique across
//! experiments, the commit that trained the run, a hash of its recipe alone,
//! and the model's knobs as typed columns. Columns that no row fills (the
//! validation columns of a profile without a validation split) are left out.
use super::{to_frame, MetricRow};
use crate::error::{Error, Result};
use crate::io::write_atomic;
use polars::prelude::*;
use std::collections::BTreeMap;
use std::path::Path;

/// A model knob's value (`knob_<name>` column), typed as the config has it.
#[derive(Debug, Clone, PartialEq)]
pub enum Knob {
    Bool(bool),
    Int(i64),
    Float(f64),
    Text(String),
}

impl Knob {
    /// A scalar of a model config's JSON; None for tables and arrays.
    pub fn from_json(v: &serde_json::Value) -> Option<Self> {
        match v {
            serde_json::Value::Bool(b) => Some(Knob::Bool(*b)),
            serde_json::Value::Number(n) => n
                .as_i64()
                .map(Knob::Int)
                .or_else(|| n.as_f64().map(Knob::Float)),
            serde_json::Value::String(s) => Some(Knob::Text(s.clone())),
            _ => None,
        }
    }

    fn text(&self) -> String {
        match self {
            Knob::Bool(b) => b.to_string(),
            Knob::Int(i) => i.to_string(),
            Knob::Float(f) => f.to_string(),
            Knob::Text(s) => s.clone(),
        }
    }
}

/// What the combined table adds to one run's rows.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunColumns {
    /// The commits whose binaries trained the run (`Provenance::trained_at`,
    /// space-separated), "unknown" where not recorded.
    pub commit: String,
    /// A short SHA-256 of the run's recipe alone (its model, data and train
    /// tables): one recipe, one hash, whatever experiment, profile, run name
    /// or seed it trained under (`config_hash` also covers those names).
    pub recipe_hash: String,
    /// The model config's scalar knobs (activation, lrn, shortcut, depth, ...).
    pub knobs: BTreeMap<String, Knob>,
}

/// The `device` text of a row in typed parts, as `engine::runtime::device_name`
/// writes it: `cpu (<model>, <n> threads)` or `cuda:<i> (<GPU name>)`.
#[derive(Debug, Clone, PartialEq)]
pub struct Device<'a> {
    /// `cpu` or `cuda` (the text before `:` or ` (`); the whole text where
    /// it has neither.
    pub kind: &'a str,
    /// The CPU model or GPU name; empty where the text names none.
    pub model: &'a str,
    /// The CPU threads training used; None on a GPU or where not written.
    pub threads: Option<i64>,
}

impl<'a> Device<'a> {
    pub fn parse(text: &'a str) -> Self {
        let (head, inner) = match text.split_once(" (") {
            Some((h, rest)) => (h, rest.strip_suffix(')').unwrap_or(rest)),
            None => (text, ""),
        };
        let kind = head.split(':').next().unwrap_or(head);
        let (model, threads) = match inner.rsplit_once(", ") {
            Some((m, t)) if t.ends_with(" threads") => {
                (m, t.trim_end_matches(" threads").parse().ok())
            }
            _ => (inner, None),
        };
        Device {
            kind,
            model,
            threads,
        }
    }
}

/// `<experiment>/<profile>/<run id>/<kind>/<iteration>`: unique across every
/// experiment's combined table (`run_id` alone is not: `plain-20-s1` trains
/// in two experiments).
pub fn row_key(r: &MetricRow) -> String {
    format!(
        "{}/{}/{}/{}/{}",
        r.experiment,
        r.profile,
        r.run_id,
        r.kind.as_str(),
        r.iteration
    )
}

/// The combined table: `rows` with the columns of `runs` (by run id).
pub fn combined_frame(
    rows: &[MetricRow],
    runs: &BTreeMap<String, RunColumns>,
) -> Result<DataFrame> {
    let mut df = to_frame(rows)?;
    for c in ["val_loss", "val_error"] {
        let empty = df.column(c).is_ok_and(|s| s.null_count() == df.height());
        if empty {
            df = df
                .drop(c)
                .map_err(|e| Error::Metrics(format!("dropping {c}: {e}")))?;
        }
    }
    let of = |r: &MetricRow| runs.get(&r.run_id);
    let text = |name: &str, f: &dyn Fn(&MetricRow) -> String| {
        Column::new(name.into(), rows.iter().map(f).collect::<Vec<_>>())
    };
    let mut extra = vec![
        text("row_key", &row_key),
        text("commit", &|r| {
            of(r).map_or_else(|| "unknown".into(), |c| c.commit.clone())
        }),
        text("recipe_hash", &|r| {
            of(r).map(|c| c.recipe_hash.clone()).unwrap_or_default()
        }),
        text("device_kind", &|r| {
            Device::parse(&r.device).kind.to_string()
        }),
        text("device_model", &|r| {
            Device::parse(&r.device).model.to_string()
        }),
        Column::new(
            "device_threads".into(),
            rows.iter()
                .map(|r| Device::parse(&r.device).threads)
                .collect::<Vec<_>>(),
        ),
    ];
    extra.extend(knob_columns(rows, runs));
    for c in extra {
        df.with_column(c)
            .map_err(|e| Error::Metrics(format!("adding a column: {e}")))?;
    }
    Ok(df)
}

/// One `knob_<name>` column per knob any run has, typed by its values (text
/// where runs disagree on the type), null where a run lacks it.
fn knob_columns(rows: &[MetricRow], runs: &BTreeMap<String, RunColumns>) -> Vec<Column> {
    let mut kinds: BTreeMap<&str, std::mem::Discriminant<Knob>> = BTreeMap::new();
    let mut mixed = std::collections::BTreeSet::new();
    for (name, k) in runs.values().flat_map(|c| &c.knobs) {
        let d = std::mem::discriminant(k);
        if *kinds.entry(name).or_insert(d) != d {
            mixed.insert(name.as_str());
        }
    }
    kinds
        .keys()
        .map(|name| {
            let get = |r: &MetricRow| runs.get(&r.run_id).and_then(|c| c.knobs.get(*name));
            let col = format!("knob_{name}");
            let vals = rows.iter().map(get);
            match vals.clone().flatten().next() {
                _ if mixed.contains(name) => Column::new(
                    col.into(),
                    vals.map(|v| v.map(Knob::text)).collect::<Vec<_>>(),
                ),
                Some(Knob::Bool(_)) => Column::new(
                    col.into(),
                    vals.map(|v| match v {
                        Some(Knob::Bool(b)) => Some(*b),
                        _ => None,
                    })
                    .collect::<Vec<_>>(),
                ),
                Some(Knob::Int(_)) => Column::new(
                    col.into(),
                    vals.map(|v| match v {
                        Some(Knob::Int(i)) => Some(*i),
                        _ => None,
                    })
                    .collect::<Vec<_>>(),
                ),
                Some(Knob::Float(_)) => Column::new(
                    col.into(),
                    vals.map(|v| match v {
                        Some(Knob::Float(f)) => Some(*f),
                        _ => None,
                    })
                    .collect::<Vec<_>>(),
                ),
                _ => Column::new(
                    col.into(),
                    vals.map(|v| v.map(Knob::text)).collect::<Vec<_>>(),
                ),
            }
        })
        .collect()
}

/// Writes the combined table atomically.
pub fn write_combined(
    path: &Path,
    rows: &[MetricRow],
    runs: &BTreeMap<String, RunColumns>,
) -> Result<()> {
    let mut df = combined_frame(rows, runs)?;
    write_atomic(path, |file| {
        ParquetWriter::new(file)
            .finish(&mut df)
            .map(|_| ())
            .map_err(|e| std::io::Error::other(e.to_string()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::row_for_tests as row;

    #[test]
    fn the_combined_table_has_a_global_key_the_commit_the_recipe_and_typed_knobs() {
        let mut a = row("plain-20", 1, 10, 0.1, 0.5, Some(0.6));
        a.experiment = "resnet-cifar-degradation".into();
        let mut b = row("plain-20", 1, 10, 0.1, 0.5, Some(0.6));
        b.experiment = "resnet-shortcut-options".into();
        // A run the map does not know (each profile's table maps its own runs).
        b.run_id = "plain-56-s1".into();
        let knobs = |residual: bool| {
            BTreeMap::from([
                ("residual".to_string(), Knob::Bool(residual)),
                ("depth".to_string(), Knob::Int(20)),
                ("shortcut".to_string(), Knob::Text("a".into())),
            ])
        };
        let runs = BTreeMap::from([(
            a.run_id.clone(),
            RunColumns {
                commit: "abc".into(),
                recipe_hash: "r1".into(),
                knobs: knobs(false),
            },
        )]);
        let df = combined_frame(&[a.clone(), b], &runs).expect("frame");
        let keys: Vec<String> = df
            .column("row_key")
            .and_then(|c| c.str().cloned())
            .expect("row_key")
            .iter()
            .map(|k| k.unwrap_or_default().to_string())
            .collect();
        assert_eq!(keys[0], "resnet-cifar-degradation/p/plain-20-s1/window/10");
        assert_ne!(keys[0], keys[1], "the key is unique across experiments");
        assert_eq!(
            df.column("knob_residual").expect("col").dtype(),
            &DataType::Boolean
        );
        assert_eq!(
            df.column("knob_depth").expect("col").dtype(),
            &DataType::Int64
        );
        assert_eq!(
            df.column("knob_shortcut").expect("col").dtype(),
            &DataType::String
        );
        assert!(
            df.column("val_error").is_err(),
            "an all-null column is dropped"
        );
        assert!(df.column("test_error").is_ok());
        let commit = df
            .column("commit")
            .and_then(|c| c.str().cloned())
            .expect("commit");
        assert_eq!(commit.get(0), Some("abc"));
        assert_eq!(commit.get(1), Some("unknown"));
    }

    #[test]
    fn device_text_reads_as_kind_model_and_threads() {
        let cpu = Device::parse("cpu (AMD EPYC 7B13, 2 threads)");
        assert_eq!(
            cpu,
            Device {
                kind: "cpu",
                model: "AMD EPYC 7B13",
                threads: Some(2)
            }
        );
        let gpu = Device::parse("cuda:0 (NVIDIA H100 80GB HBM3)");
        assert_eq!(
            (gpu.kind, gpu.model, gpu.threads),
            ("cuda", "NVIDIA H100 80GB HBM3", None)
        );
        let bare = Device::parse("cpu");
        assert_eq!((bare.kind, bare.model, bare.threads), ("cpu", "", None));
    }

    #[test]
    fn a_knob_of_mixed_types_is_text() {
        let r = row("x", 1, 10, 0.1, 0.5, None);
        let mut s = row("y", 1, 10, 0.1, 0.5, None);
        s.run_id = "y-s1".into();
        let runs = BTreeMap::from([
            (
                r.run_id.clone(),
                RunColumns {
                    knobs: BTreeMap::from([("k".to_string(), Knob::Int(1))]),
                    ..Default::default()
                },
            ),
            (
                s.run_id.clone(),
                RunColumns {
                    knobs: BTreeMap::from([("k".to_string(), Knob::Text("v".into()))]),
                    ..Default::default()
                },
            ),
        ]);
        let df = combined_frame(&[r, s], &runs).expect("frame");
        assert_eq!(df.column("knob_k").expect("col").dtype(), &DataType::String);
    }

    #[test]
    fn the_combined_table_reads_back_as_its_rows() {
        let tmp = tempfile::tempdir().expect("tmp");
        let path = tmp.path().join("all_runs.parquet");
        let rows = vec![
            row("a", 1, 10, 0.1, 0.5, Some(0.6)),
            row("a", 1, 20, 0.1, 0.4, Some(0.5)),
        ];
        write_combined(&path, &rows, &BTreeMap::new()).expect("write");
        let back = crate::metrics::read_parquet(&path).expect("read without val columns");
        assert_eq!(back, rows);
    }
}
