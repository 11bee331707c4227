//! Metrics rows and their Parquet files.
//!
//! One Parquet file per run (`runs/<run-id>/metrics.parquet`) and one combined
//! table per experiment and profile (`metrics.parquet`), written atomically
//! (temp file in the same directory, fsync, rename) so a crash never leaves a
//! truncated file. Schema (one row per logging window, `kind = "window"`, and
//! per epoch, `kind = "epoch"`; errors are fractions in [0, 1]):
//!
//! | column | type | meaning |
//! |---|---|---|
//! | experiment, profile | str | e.g. `resnet-cifar-degradation`, `quick` |
//! | fidelity | str | `paper`, `analogue` or `shortened` (the profile's label, lowered by overrides, stand-in data, reduced precision); files written before it existed read as `shortened` unless `faithful` |
//! | faithful | bool | `fidelity == "paper"` (kept for older readers) |
//! | run_id, run_name | str | `resnet-56-s1`, `resnet-56` |
//! | config_hash | str | sha256 prefix of the resolved config without the seed |
//! | seed | i64 | |
//! | model | str | `plain-20`, `resnet-110`, `convnet-...` |
//! | depth | i64 (null) | weight layers, where defined |
//! | knobs | str | the model config as JSON (activation, lrn, shortcut, ...) |
//! | kind | str | `window` or `epoch` |
//! | iteration | i64 | iterations done at the end of the window/epoch |
//! | epoch | f64 | iteration / iterations per epoch |
//! | lr | f64 | learning rate of the last step |
//! | train_loss, train_error | f64 | mean over the window's (augmented) mini-batches, training mode |
//! | val_loss, val_error, test_loss, test_error | f64 (null) | where evaluated (eval mode, single central view) |
//! | images_per_sec | f64 | training throughput over the window |
//! | wall_time_s | f64 | training time since the run's start (resumes add up) |
//! | device, dataset, precision | str | e.g. `cpu (2 threads, ...)`, `CIFAR-10 (JPEG q75 copy)`, `fp32` |
//! | diverged | bool | true on the row where the loss became NaN/inf |
use crate::config::Fidelity;
use crate::error::{Error, IoContext, Result};
use crate::io::write_atomic;
use polars::prelude::*;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// What a metrics row summarises.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RowKind {
    /// One logging window: the training loss and error of its steps.
    Window,
    /// One whole epoch (the papers' curves are per epoch).
    Epoch,
}

impl RowKind {
    /// The `kind` column's value.
    pub fn as_str(self) -> &'static str {
        match self {
            RowKind::Window => "window",
            RowKind::Epoch => "epoch",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        [RowKind::Window, RowKind::Epoch]
            .into_iter()
            .find(|k| k.as_str() == s)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricRow {
    pub experiment: String,
    pub profile: String,
    pub fidelity: Fidelity,
    pub faithful: bool,
    pub run_id: String,
    pub run_name: String,
    pub config_hash: String,
    pub seed: i64,
    pub model: String,
    pub depth: Option<i64>,
    pub knobs: String,
    pub kind: RowKind,
    pub iteration: i64,
    pub epoch: f64,
    pub lr: f64,
    pub train_loss: f64,
    pub train_error: f64,
    pub val_loss: Option<f64>,
    pub val_error: Option<f64>,
    pub test_loss: Option<f64>,
    pub test_error: Option<f64>,
    pub images_per_sec: f64,
    pub wall_time_s: f64,
    pub device: String,
    pub dataset: String,
    pub precision: String,
    pub diverged: bool,
}

fn col_str(name: &str, rows: &[MetricRow], f: impl Fn(&MetricRow) -> &str) -> Column {
    Column::new(name.into(), rows.iter().map(f).collect::<Vec<_>>())
}
fn col_f64(name: &str, rows: &[MetricRow], f: impl Fn(&MetricRow) -> f64) -> Column {
    Column::new(name.into(), rows.iter().map(f).collect::<Vec<_>>())
}
fn col_opt(name: &str, rows: &[MetricRow], f: impl Fn(&MetricRow) -> Option<f64>) -> Column {
    Column::new(name.into(), rows.iter().map(f).collect::<Vec<_>>())
}

/// Rows -> DataFrame with the documented schema.
pub fn to_frame(rows: &[MetricRow]) -> Result<DataFrame> {
    let cols = vec![
        col_str("experiment", rows, |r| &r.experiment),
        col_str("profile", rows, |r| &r.profile),
        col_str("fidelity", rows, |r| r.fidelity.as_str()),
        Column::new(
            "faithful".into(),
            rows.iter().map(|r| r.faithful).collect::<Vec<_>>(),
        ),
        col_str("run_id", rows, |r| &r.run_id),
        col_str("run_name", rows, |r| &r.run_name),
        col_str("config_hash", rows, |r| &r.config_hash),
        Column::new(
            "seed".into(),
            rows.iter().map(|r| r.seed).collect::<Vec<_>>(),
        ),
        col_str("model", rows, |r| &r.model),
        Column::new(
            "depth".into(),
            rows.iter().map(|r| r.depth).collect::<Vec<_>>(),
        ),
        col_str("knobs", rows, |r| &r.knobs),
        col_str("kind", rows, |r| r.kind.as_str()),
        Column::new(
            "iteration".into(),
            rows.iter().map(|r| r.iteration).collect::<Vec<_>>(),
        ),
        col_f64("epoch", rows, |r| r.epoch),
        col_f64("lr", rows, |r| r.lr),
        col_f64("train_loss", rows, |r| r.train_loss),
        col_f64("train_error", rows, |r| r.train_error),
        col_opt("val_loss", rows, |r| r.val_loss),
        col_opt("val_error", rows, |r| r.val_error),
        col_opt("test_loss", rows, |r| r.test_loss),
        col_opt("test_error", rows, |r| r.test_error),
        col_f64("images_per_sec", rows, |r| r.images_per_sec),
        col_f64("wall_time_s", rows, |r| r.wall_time_s),
        col_str("device", rows, |r| &r.device),
        col_str("dataset", rows, |r| &r.dataset),
        col_str("precision", rows, |r| &r.precision),
        Column::new(
            "diverged".into(),
            rows.iter().map(|r| r.diverged).collect::<Vec<_>>(),
        ),
    ];
    DataFrame::new_infer_height(cols)
        .map_err(|e| Error::Metrics(format!("building the table: {e}")))
}

/// Typed access to a metrics table's columns; a missing column or a wrong
/// type is an error naming the file and the column.
struct Columns<'a> {
    df: &'a DataFrame,
    origin: &'a Path,
}

impl Columns<'_> {
    fn bad(&self, c: &str, msg: impl std::fmt::Display) -> Error {
        Error::File {
            path: self.origin.to_path_buf(),
            msg: format!("column `{c}`: {msg}"),
        }
    }
    fn column(&self, c: &str) -> Result<&Column> {
        self.df.column(c).map_err(|e| self.bad(c, e))
    }
    fn str(&self, c: &str) -> Result<Vec<String>> {
        let ca = self.column(c)?.str().map_err(|e| self.bad(c, e))?;
        Ok(ca
            .iter()
            .map(|v| v.unwrap_or_default().to_string())
            .collect())
    }
    fn f64(&self, c: &str) -> Result<Vec<Option<f64>>> {
        let ca = self.column(c)?.f64().map_err(|e| self.bad(c, e))?;
        Ok(ca.iter().collect())
    }
    fn i64(&self, c: &str) -> Result<Vec<Option<i64>>> {
        let ca = self.column(c)?.i64().map_err(|e| self.bad(c, e))?;
        Ok(ca.iter().collect())
    }
    fn bool(&self, c: &str) -> Result<Vec<bool>> {
        let ca = self.column(c)?.bool().map_err(|e| self.bad(c, e))?;
        Ok(ca.iter().map(|v| v.unwrap_or(false)).collect())
    }
    /// The `fidelity` column; files written before it existed carry only
    /// `faithful`, read conservatively: never `paper` (their label ignored the
    /// dataset), `analogue` where faithful, else `shortened`.
    fn fidelity(&self, faithful: &[bool]) -> Result<Vec<Fidelity>> {
        if self.df.column("fidelity").is_err() {
            return Ok(faithful
                .iter()
                .map(|&f| {
                    if f {
                        Fidelity::Analogue
                    } else {
                        Fidelity::Shortened
                    }
                })
                .collect());
        }
        self.str("fidelity")?
            .iter()
            .map(|v| {
                Fidelity::parse(v).ok_or_else(|| {
                    self.bad(
                        "fidelity",
                        format!("expected paper, analogue or shortened, got `{v}`"),
                    )
                })
            })
            .collect()
    }
    fn kind(&self, c: &str) -> Result<Vec<RowKind>> {
        self.str(c)?
            .iter()
            .map(|k| {
                RowKind::parse(k)
                    .ok_or_else(|| self.bad(c, format!("expected window or epoch, got `{k}`")))
            })
            .collect()
    }
}

/// DataFrame -> rows; a missing column or wrong type is an error naming it.
pub fn from_frame(df: &DataFrame, origin: &Path) -> Result<Vec<MetricRow>> {
    let c = Columns { df, origin };
    let (s, f, i, b) = (
        |n: &str| c.str(n),
        |n: &str| c.f64(n),
        |n: &str| c.i64(n),
        |n: &str| c.bool(n),
    );
    let (experiment, profile, faithful) = (s("experiment")?, s("profile")?, b("faithful")?);
    let fidelity = c.fidelity(&faithful)?;
    let (run_id, run_name, config_hash) = (s("run_id")?, s("run_name")?, s("config_hash")?);
    let (seed, model, depth, knobs, kind) = (
        i("seed")?,
        s("model")?,
        i("depth")?,
        s("knobs")?,
        c.kind("kind")?,
    );
    let (iteration, epoch, lr) = (i("iteration")?, f("epoch")?, f("lr")?);
    let (train_loss, train_error) = (f("train_loss")?, f("train_error")?);
    let (val_loss, val_error, test_loss, test_error) = (
        f("val_loss")?,
        f("val_error")?,
        f("test_loss")?,
        f("test_error")?,
    );
    let (ips, wall) = (f("images_per_sec")?, f("wall_time_s")?);
    let (device, dataset, precision, diverged) =
        (s("device")?, s("dataset")?, s("precision")?, b("diverged")?);
    let nan = f64::NAN;
    Ok((0..df.height())
        .map(|k| MetricRow {
            experiment: experiment[k].clone(),
            profile: profile[k].clone(),
            fidelity: fidelity[k],
            faithful: faithful[k],
            run_id: run_id[k].clone(),
            run_name: run_name[k].clone(),
            config_hash: config_hash[k].clone(),
            seed: seed[k].unwrap_or(0),
            model: model[k].clone(),
            depth: depth[k],
            knobs: knobs[k].clone(),
            kind: kind[k],
            iteration: iteration[k].unwrap_or(0),
            epoch: epoch[k].unwrap_or(nan),
            lr: lr[k].unwrap_or(nan),
            train_loss: train_loss[k].unwrap_or(nan),
            train_error: train_error[k].unwrap_or(nan),
            val_loss: val_loss[k],
            val_error: val_error[k],
            test_loss: test_loss[k],
            test_error: test_error[k],
            images_per_sec: ips[k].unwrap_or(nan),
            wall_time_s: wall[k].unwrap_or(nan),
            device: device[k].clone(),
            dataset: dataset[k].clone(),
            precision: precision[k].clone(),
            diverged: diverged[k],
        })
        .collect())
}

/// Writes `rows` to `path` atomically.
pub fn write_parquet(path: &Path, rows: &[MetricRow]) -> Result<()> {
    let mut df = to_frame(rows)?;
    write_atomic(path, |file| {
        ParquetWriter::new(file)
            .finish(&mut df)
            .map(|_| ())
            .map_err(|e| std::io::Error::other(e.to_string()))
    })
}

/// Reads a metrics Parquet file; a corrupted file is an error naming it.
pub fn read_parquet(path: &Path) -> Result<Vec<MetricRow>> {
    let file = std::fs::File::open(path).at(path)?;
    let df = ParquetReader::new(file).finish().map_err(|e| Error::File {
        path: path.to_path_buf(),
        msg: format!("not a readable Parquet file: {e}"),
    })?;
    from_frame(&df, path)
}

/// A small table of named f64 columns (e.g. per-layer response statistics) as Parquet, atomically.
pub fn write_f64_table(path: &Path, columns: &[(&str, Vec<f64>)]) -> Result<()> {
    let cols: Vec<Column> = columns
        .iter()
        .map(|(n, v)| Column::new((*n).into(), v.clone()))
        .collect();
    let mut df = DataFrame::new_infer_height(cols)
        .map_err(|e| Error::Metrics(format!("{}: {e}", path.display())))?;
    write_atomic(path, |file| {
        ParquetWriter::new(file)
            .finish(&mut df)
            .map(|_| ())
            .map_err(|e| std::io::Error::other(e.to_string()))
    })
}

/// Reads a table written by `write_f64_table`.
pub fn read_f64_table(path: &Path) -> Result<std::collections::BTreeMap<String, Vec<f64>>> {
    let file = std::fs::File::open(path).at(path)?;
    let df = ParquetReader::new(file).finish().map_err(|e| Error::File {
        path: path.to_path_buf(),
        msg: format!("not a readable Parquet file: {e}"),
    })?;
    let mut out = std::collections::BTreeMap::new();
    for c in df.columns() {
        let ca = c.f64().map_err(|e| Error::File {
            path: path.to_path_buf(),
            msg: format!("column `{}`: {e}", c.name()),
        })?;
        out.insert(
            c.name().to_string(),
            ca.iter().map(|v| v.unwrap_or(f64::NAN)).collect(),
        );
    }
    Ok(out)
}

/// A window row of run `run` and `seed` with the given numbers, the rest
/// fixed: for unit tests of what is computed from rows.
#[cfg(test)]
pub(crate) fn row_for_tests(
    run: &str,
    seed: i64,
    iteration: i64,
    lr: f64,
    train_error: f64,
    test_error: Option<f64>,
) -> MetricRow {
    MetricRow {
        experiment: "e".into(),
        profile: "p".into(),
        fidelity: Fidelity::Shortened,
        faithful: false,
        run_id: format!("{run}-s{seed}"),
        run_name: run.into(),
        config_hash: "h".into(),
        seed,
        model: "m".into(),
        depth: None,
        knobs: "{}".into(),
        kind: RowKind::Window,
        iteration,
        epoch: iteration as f64 / 10.0,
        lr,
        train_loss: 1.0,
        train_error,
        val_loss: None,
        val_error: None,
        test_loss: None,
        test_error,
        images_per_sec: 1.0,
        wall_time_s: iteration as f64,
        device: "cpu".into(),
        dataset: "d".into(),
        precision: "fp32".into(),
        diverged: false,
    }
}
