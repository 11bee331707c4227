//! Metrics rows and their Parquet files.
//!
//! One Parquet file per run (`runs/<run-id>/metrics.parquet`, [`RUN_FILE`]),
//! rewritten at every evaluation while the run trains, and one combined table
//! per experiment and profile (`all_runs.parquet`, [`COMBINED_FILE`]: its own
//! name, so that a glob over `**/metrics.parquet` reads every row once), all
//! written atomically (temp file in the same directory, fsync, rename) so a
//! crash never leaves a truncated file and a reader never sees half a file.
//! Schema (one row per logging window, `kind = "window"`, and per epoch,
//! `kind = "epoch"`; errors are fractions in [0, 1]):
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
//! | family | str | the model family (`cifar-resnet`, `cuda-convnet`, `vgg`, ...) |
//! | lr_base | f64 (null) | the configured base learning rate (`train.lr`; `lr` is the one in effect) |
//! | batch_size | i64 (null) | `train.batch_size` |
//! | momentum, weight_decay | f64 (null) | `train.momentum`, `train.weight_decay` |
//! | schedule | str | the lr schedule in short: `constant`, `step@32000,48000x0.1`, `plateau(p=3,f=0.1,max=3)`, with `+warmup(lr=0.01,until<0.8)` where there is one |
//! | augment | str | `data.augment` (`none`, `pad4-crop-flip`, `flip`, ...) |
//! | kind | str | `window` or `epoch` |
//! | iteration | i64 | iterations done at the end of the window/epoch |
//! | epoch | f64 | iteration / iterations per epoch |
//! | lr | f64 | learning rate of the last step |
//! | train_loss, train_error | f64 | mean over the window's (augmented) mini-batches, training mode |
//! | val_loss, val_error, test_loss, test_error | f64 (null) | where evaluated (eval mode, single central view) |
//! | train_eval_loss, train_eval_error | f64 (null) | where evaluated and `data.train_eval_images` > 0: training images in eval mode (no dropout, no augmentation) |
//! | images_per_sec | f64 | training throughput over the window |
//! | wall_time_s | f64 | training time since the run's start (resumes add up) |
//! | device, dataset, precision | str | e.g. `cpu (2 threads, ...)`, `CIFAR-10 (JPEG q75 copy)`, `fp32` |
//! | diverged | bool | true on the row where the loss became NaN/inf |
//!
//! The combined table (`all_runs.parquet`) adds, per row ([`combined`]):
//!
//! | column | type | meaning |
//! |---|---|---|
//! | row_key | str | `<experiment>/<profile>/<run_id>/<kind>/<iteration>`: unique across experiments |
//! | commit | str | the commit that trained the run (its provenance's), `unknown` where not recorded |
//! | recipe_hash | str | sha256 prefix of the run's model, data and train tables alone (no experiment, profile, run name or seed) |
//! | knob_<name> | bool, i64, f64 or str (null) | each scalar of the model config (`knob_activation`, `knob_lrn`, `knob_residual`, `knob_shortcut`, `knob_depth`, ...), typed as the config has it |
//!
//! It leaves out `val_loss` and `val_error` where no row has them (a profile
//! without a validation split).
//!
//! The hyperparameter columns (`family` to `augment`) let readers group runs
//! without parsing `knobs` or the run's `config.toml`. Files written before
//! they existed read with them null (numbers) or empty (text), as a glob
//! reader sees them too (DuckDB: `union_by_name = true`).
use crate::error::{Error, IoContext, Result};
use crate::fidelity::Fidelity;
use crate::io::write_atomic;
use crate::recipe::{DataConfig, Schedule, TrainConfig};
use polars::prelude::*;
use serde::{Deserialize, Serialize};
use std::path::Path;

pub mod combined;
pub use combined::{write_combined, Knob, RunColumns};

/// A run's metrics file, in its run directory.
pub const RUN_FILE: &str = "metrics.parquet";
/// The profile's combined table of all its runs, in the profile directory.
pub const COMBINED_FILE: &str = "all_runs.parquet";

/// What a metrics row summarises.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
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
    /// Model family (`ModelConfig`'s tag); empty in files written before it existed.
    #[serde(default)]
    pub family: String,
    /// `train.lr`, the configured base learning rate.
    #[serde(default)]
    pub lr_base: Option<f64>,
    #[serde(default)]
    pub batch_size: Option<i64>,
    #[serde(default)]
    pub momentum: Option<f64>,
    #[serde(default)]
    pub weight_decay: Option<f64>,
    /// The schedule in short (`schedule_text`).
    #[serde(default)]
    pub schedule: String,
    /// `data.augment`.
    #[serde(default)]
    pub augment: String,
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
    /// Training error in evaluation mode (`data.train_eval_images`); null
    /// where not measured, and in files written before it existed.
    #[serde(default)]
    pub train_eval_loss: Option<f64>,
    #[serde(default)]
    pub train_eval_error: Option<f64>,
    pub images_per_sec: f64,
    pub wall_time_s: f64,
    pub device: String,
    pub dataset: String,
    pub precision: String,
    pub diverged: bool,
}

/// The values of the hyperparameter columns for one run, from its config.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Hyperparameters {
    pub family: String,
    pub lr_base: Option<f64>,
    pub batch_size: Option<i64>,
    pub momentum: Option<f64>,
    pub weight_decay: Option<f64>,
    pub schedule: String,
    pub augment: String,
}

impl Hyperparameters {
    /// From a run's three config tables (`model` is the engine's model config).
    pub fn of(model: &impl Serialize, data: &DataConfig, t: &TrainConfig) -> Self {
        // The serde names, as the experiment files spell them.
        let tag = |v: serde_json::Value| v.as_str().map(str::to_string).unwrap_or_default();
        Self {
            family: serde_json::to_value(model)
                .map(|v| tag(v["family"].clone()))
                .unwrap_or_default(),
            lr_base: Some(t.lr),
            batch_size: Some(t.batch_size),
            momentum: Some(t.momentum),
            weight_decay: Some(t.weight_decay),
            schedule: schedule_text(t),
            augment: serde_json::to_value(data.augment)
                .map(tag)
                .unwrap_or_default(),
        }
    }
}

/// The schedule in short, for the `schedule` column: `constant`,
/// `step@32000,48000x0.1`, `plateau(p=3,f=0.1,max=3)`, with
/// `+warmup(lr=0.01,until<0.8)` when the run warms up.
pub fn schedule_text(cfg: &TrainConfig) -> String {
    let mut s = match &cfg.schedule {
        Schedule::Constant => "constant".to_string(),
        Schedule::Step {
            lr_drops_at,
            factor,
        } => {
            let at: Vec<String> = lr_drops_at.iter().map(|i| i.to_string()).collect();
            format!("step@{}x{factor}", at.join(","))
        }
        Schedule::Plateau {
            factor,
            patience,
            max_drops,
        } => format!("plateau(p={patience},f={factor},max={max_drops})"),
    };
    if let Some(w) = &cfg.warmup {
        s.push_str(&format!(
            "+warmup(lr={},until<{})",
            w.lr, w.until_train_error_below
        ));
    }
    s
}

impl MetricRow {
    /// Sets the row's hyperparameter columns.
    pub fn set_hyperparameters(&mut self, h: &Hyperparameters) {
        self.family.clone_from(&h.family);
        self.lr_base = h.lr_base;
        self.batch_size = h.batch_size;
        self.momentum = h.momentum;
        self.weight_decay = h.weight_decay;
        self.schedule.clone_from(&h.schedule);
        self.augment.clone_from(&h.augment);
    }

    /// Whether the row was written before the hyperparameter columns existed.
    pub fn lacks_hyperparameters(&self) -> bool {
        self.family.is_empty() && self.lr_base.is_none()
    }
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

/// The hyperparameter columns, in the schema's order.
fn hyperparameter_columns(rows: &[MetricRow]) -> Vec<Column> {
    vec![
        col_str("family", rows, |r| &r.family),
        col_opt("lr_base", rows, |r| r.lr_base),
        Column::new(
            "batch_size".into(),
            rows.iter().map(|r| r.batch_size).collect::<Vec<_>>(),
        ),
        col_opt("momentum", rows, |r| r.momentum),
        col_opt("weight_decay", rows, |r| r.weight_decay),
        col_str("schedule", rows, |r| &r.schedule),
        col_str("augment", rows, |r| &r.augment),
    ]
}

/// Rows -> DataFrame with the documented schema.
pub fn to_frame(rows: &[MetricRow]) -> Result<DataFrame> {
    let mut cols = vec![
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
    ];
    cols.extend(hyperparameter_columns(rows));
    cols.extend([
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
        col_opt("train_eval_loss", rows, |r| r.train_eval_loss),
        col_opt("train_eval_error", rows, |r| r.train_eval_error),
        col_f64("images_per_sec", rows, |r| r.images_per_sec),
        col_f64("wall_time_s", rows, |r| r.wall_time_s),
        col_str("device", rows, |r| &r.device),
        col_str("dataset", rows, |r| &r.dataset),
        col_str("precision", rows, |r| &r.precision),
        Column::new(
            "diverged".into(),
            rows.iter().map(|r| r.diverged).collect::<Vec<_>>(),
        ),
    ]);
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
    /// Whether the file has column `c` (columns added to the schema later are
    /// missing from older files).
    fn has(&self, c: &str) -> bool {
        self.df.column(c).is_ok()
    }
    /// A text column added later: empty strings where the file lacks it.
    fn str_or_empty(&self, c: &str) -> Result<Vec<String>> {
        if self.has(c) {
            self.str(c)
        } else {
            Ok(vec![String::new(); self.df.height()])
        }
    }
    /// A number column added later: nulls where the file lacks it.
    fn f64_or_null(&self, c: &str) -> Result<Vec<Option<f64>>> {
        if self.has(c) {
            self.f64(c)
        } else {
            Ok(vec![None; self.df.height()])
        }
    }
    fn i64_or_null(&self, c: &str) -> Result<Vec<Option<i64>>> {
        if self.has(c) {
            self.i64(c)
        } else {
            Ok(vec![None; self.df.height()])
        }
    }
    fn bool(&self, c: &str) -> Result<Vec<bool>> {
        let ca = self.column(c)?.bool().map_err(|e| self.bad(c, e))?;
        Ok(ca.iter().map(|v| v.unwrap_or(false)).collect())
    }
    /// The `fidelity` column; files written before it existed carry only
    /// `faithful` (`Fidelity::from_legacy_faithful`).
    fn fidelity(&self, faithful: &[bool]) -> Result<Vec<Fidelity>> {
        if self.df.column("fidelity").is_err() {
            return Ok(faithful
                .iter()
                .map(|&f| Fidelity::from_legacy_faithful(f))
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
        // The combined table leaves them out where no row has them.
        c.f64_or_null("val_loss")?,
        c.f64_or_null("val_error")?,
        f("test_loss")?,
        f("test_error")?,
    );
    let (train_eval_loss, train_eval_error) = (
        c.f64_or_null("train_eval_loss")?,
        c.f64_or_null("train_eval_error")?,
    );
    let (ips, wall) = (f("images_per_sec")?, f("wall_time_s")?);
    let (device, dataset, precision, diverged) =
        (s("device")?, s("dataset")?, s("precision")?, b("diverged")?);
    let nan = f64::NAN;
    let mut rows: Vec<MetricRow> = (0..df.height())
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
            family: String::new(),
            lr_base: None,
            batch_size: None,
            momentum: None,
            weight_decay: None,
            schedule: String::new(),
            augment: String::new(),
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
            train_eval_loss: train_eval_loss[k],
            train_eval_error: train_eval_error[k],
            images_per_sec: ips[k].unwrap_or(nan),
            wall_time_s: wall[k].unwrap_or(nan),
            device: device[k].clone(),
            dataset: dataset[k].clone(),
            precision: precision[k].clone(),
            diverged: diverged[k],
        })
        .collect();
    read_hyperparameters(&c, &mut rows)?;
    Ok(rows)
}

/// The hyperparameter columns into `rows` (null or empty where the file
/// predates them).
fn read_hyperparameters(c: &Columns, rows: &mut [MetricRow]) -> Result<()> {
    let (mut family, mut schedule, mut augment) = (
        c.str_or_empty("family")?,
        c.str_or_empty("schedule")?,
        c.str_or_empty("augment")?,
    );
    let (lr_base, momentum, weight_decay, batch_size) = (
        c.f64_or_null("lr_base")?,
        c.f64_or_null("momentum")?,
        c.f64_or_null("weight_decay")?,
        c.i64_or_null("batch_size")?,
    );
    for (k, r) in rows.iter_mut().enumerate() {
        r.set_hyperparameters(&Hyperparameters {
            family: std::mem::take(&mut family[k]),
            lr_base: lr_base[k],
            batch_size: batch_size[k],
            momentum: momentum[k],
            weight_decay: weight_decay[k],
            schedule: std::mem::take(&mut schedule[k]),
            augment: std::mem::take(&mut augment[k]),
        });
    }
    Ok(())
}

/// The rows a run writes that `rows` lacks, as (kind, iteration), for a run
/// with training config `train` that ended at iteration `end`. The training
/// loop ends a logging window at every multiple of `log_every`, `eval_every`
/// and `checkpoint_every` (below `train.iterations`), at every epoch's end and
/// at the last iteration; each window writes a `window` row, each epoch's end
/// an `epoch` row too. A valid file with rows deleted in the middle would
/// otherwise be drawn (and merged) as if complete. Iterations per epoch come
/// from the rows' own `epoch` column (`iteration / per epoch`), since they
/// follow from the data's size, not from the config.
pub fn missing_rows(train: &TrainConfig, end: i64, rows: &[MetricRow]) -> Vec<(RowKind, i64)> {
    let per_epoch = rows
        .iter()
        .find(|r| r.epoch > 0.0 && r.iteration > 0)
        .map(|r| (r.iteration as f64 / r.epoch).round() as i64)
        .filter(|p| *p > 0);
    let every = |i: i64, n: i64| n > 0 && i % n == 0;
    let epoch_end = |i: i64| per_epoch.is_some_and(|p| every(i, p));
    let have: std::collections::HashSet<(RowKind, i64)> =
        rows.iter().map(|r| (r.kind, r.iteration)).collect();
    let mut missing = Vec::new();
    for i in 1..=end {
        let window = every(i, train.log_every)
            || every(i, train.eval_every)
            || (every(i, train.checkpoint_every) && i < train.iterations)
            || epoch_end(i)
            || i == train.iterations
            || i == end;
        if window && !have.contains(&(RowKind::Window, i)) {
            missing.push((RowKind::Window, i));
        }
        if epoch_end(i) && !have.contains(&(RowKind::Epoch, i)) {
            missing.push((RowKind::Epoch, i));
        }
    }
    missing
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::row_for_tests;

    const HYPERPARAMETERS: [&str; 7] = [
        "family",
        "lr_base",
        "batch_size",
        "momentum",
        "weight_decay",
        "schedule",
        "augment",
    ];

    #[test]
    fn hyperparameter_columns_round_trip() {
        let rows = vec![
            row_for_tests("a", 1, 10, 0.1, 0.5, Some(0.6)),
            row_for_tests("b", 2, 20, 0.01, 0.4, None),
        ];
        let tmp = tempfile::tempdir().expect("tmp");
        let path = tmp.path().join(RUN_FILE);
        write_parquet(&path, &rows).expect("write");
        assert_eq!(read_parquet(&path).expect("read"), rows);
        let df = to_frame(&rows).expect("frame");
        for c in HYPERPARAMETERS {
            assert!(df.column(c).is_ok(), "{c} missing");
        }
    }

    #[test]
    fn files_and_checkpoints_from_before_the_hyperparameter_columns_still_read() {
        let rows = vec![row_for_tests("a", 1, 10, 0.1, 0.5, Some(0.6))];
        let mut old = to_frame(&rows).expect("frame");
        for c in HYPERPARAMETERS {
            old = old.drop(c).expect("drop");
        }
        let tmp = tempfile::tempdir().expect("tmp");
        let path = tmp.path().join(RUN_FILE);
        write_atomic(&path, |f| {
            ParquetWriter::new(f)
                .finish(&mut old)
                .map(|_| ())
                .map_err(|e| std::io::Error::other(e.to_string()))
        })
        .expect("write");
        let read = read_parquet(&path).expect("an older file reads");
        let r = &read[0];
        assert!(r.lacks_hyperparameters());
        assert_eq!(
            (r.lr_base, r.batch_size, r.momentum, r.weight_decay),
            (None, None, None, None)
        );
        assert!(r.family.is_empty() && r.schedule.is_empty() && r.augment.is_empty());
        assert_eq!((r.run_id.as_str(), r.test_error), ("a-s1", Some(0.6)));
        // A checkpoint's rows (JSON) from before the columns.
        let mut json = serde_json::to_value(&rows[0]).expect("json");
        for c in HYPERPARAMETERS {
            json.as_object_mut().expect("object").remove(c);
        }
        let back: MetricRow = serde_json::from_value(json).expect("an older checkpoint row");
        assert!(back.lacks_hyperparameters());
    }
}
