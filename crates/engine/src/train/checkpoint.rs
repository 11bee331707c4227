//! Checkpoints: everything needed to continue a run exactly where it stopped.
//!
//! Three files per checkpoint:
//! - `checkpoint-<iteration>-<digest>.ot`: the model's variables (parameters
//!   and BN statistics) and the SGD velocity;
//! - `checkpoint-<iteration>-<digest>.state.json`: the scalar state and the
//!   metrics rows so far, every float also stored as its bit pattern, since
//!   serde_json's default decimal parser may read a float back 1 ulp off and
//!   a resumed run must write the same `metrics.parquet` as an uninterrupted one;
//! - `checkpoint.json`: the manifest, naming both files with their sha256.
//!
//! The two data files are written first under new names (the digest in the
//! name keeps a rewrite at the same iteration from touching the files the
//! current manifest names), then the manifest is replaced atomically, then
//! the files it no longer names are removed: a kill at any moment leaves the
//! old or the new checkpoint complete. A checksum mismatch in either file
//! (an edited iteration, edited rows, a flipped bit) is refused, never trusted;
//! so is a state whose iteration disagrees with its own rows or with the
//! iteration its files were named for (an edit with its checksum recomputed).
use super::schedule::LrState;
use crate::error::{Error, IoContext, Result};
use records::io::{sha256_hex, write_bytes_atomic};
use records::metrics::MetricRow;
use records::provenance::DataIdentity;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::path::Path;
use tch::Tensor;

/// 2: the manifest covers the state file too (1 checksummed only the tensors).
const VERSION: u32 = 2;
/// The manifest; its presence is what makes a run directory resumable.
pub use records::run_dir::CHECKPOINT_MANIFEST as META_FILE;
use records::run_dir::{
    is_checkpoint_file, CHECKPOINT_PREFIX as PREFIX, CHECKPOINT_STATE_EXT as STATE_EXT,
    CHECKPOINT_TENSORS_EXT as TENSORS_EXT,
};
pub const VELOCITY: &str = "__sgd_velocity";

/// The state of a run at a checkpoint (the `.state.json` file).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CheckpointMeta {
    pub config_hash: String,
    pub seed: u64,
    /// Iterations completed.
    pub iteration: i64,
    pub lr_state: LrState,
    pub wall_time_s: f64,
    pub rows: Vec<MetricRow>,
    /// Sums over the current epoch so far: loss sum, error count, images.
    pub epoch_acc: [f64; 3],
    /// The memory layout the run trains in (true: channels-last). A resume
    /// under `--layout auto` keeps it, so the resumed run rounds exactly as the
    /// uninterrupted one would (the layout changes no maths, but the order of
    /// floating-point sums).
    #[serde(default)]
    pub channels_last: Option<bool>,
    /// The data the run trains on: a resume on other data is refused (the
    /// run would be trained on two datasets). None in older checkpoints.
    #[serde(default)]
    pub data: Option<DataIdentity>,
    /// libtorch's intra-op thread count when saved: the order of the float
    /// sums, so a resume keeps it to stay bit-identical. None in older
    /// checkpoints.
    #[serde(default)]
    pub threads: Option<i32>,
}

/// `checkpoint.json`: which files make the checkpoint, and their digests.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
struct Manifest {
    version: u32,
    /// A copy of the state's layout, read by [`recorded_layout`] before the
    /// checkpoint is loaded (a hint: the verified state decides on resume).
    #[serde(default)]
    channels_last: Option<bool>,
    state_file: String,
    state_sha256: String,
    tensors_file: String,
    tensors_sha256: String,
}

/// The layout recorded in `dir`'s checkpoint, if it has one that says.
pub fn recorded_layout(dir: &Path) -> Option<crate::layout::Layout> {
    #[derive(Deserialize)]
    struct LayoutOnly {
        #[serde(default)]
        channels_last: Option<bool>,
    }
    let bytes = std::fs::read(dir.join(META_FILE)).ok()?;
    serde_json::from_slice::<LayoutOnly>(&bytes)
        .ok()?
        .channels_last
        .map(crate::layout::Layout::from_channels_last)
}

/// A `Write` into memory that libtorch's stream writer can own (it needs `'static`).
#[derive(Clone, Default)]
struct SharedBuf(std::rc::Rc<std::cell::RefCell<Vec<u8>>>);

impl std::io::Write for SharedBuf {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.borrow_mut().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Every float of `v`, in document order (the order the file is written
/// and read back in).
fn floats_mut<'a>(v: &'a mut Value, out: &mut Vec<&'a mut Value>) {
    if v.is_f64() {
        out.push(v);
        return;
    }
    match v {
        Value::Array(a) => a.iter_mut().for_each(|x| floats_mut(x, out)),
        Value::Object(o) => o.values_mut().for_each(|x| floats_mut(x, out)),
        _ => {}
    }
}

/// The state as JSON: readable decimals, and beside them `float_bits`, each
/// float's IEEE-754 bit pattern in document order, which is what is read back.
fn state_json(meta: &CheckpointMeta) -> std::result::Result<Vec<u8>, serde_json::Error> {
    let mut state = serde_json::to_value(meta)?;
    let mut floats = Vec::new();
    floats_mut(&mut state, &mut floats);
    let bits: Vec<u64> = floats
        .iter()
        .map(|f| f.as_f64().unwrap_or(f64::NAN).to_bits())
        .collect();
    serde_json::to_vec_pretty(&serde_json::json!({ "state": state, "float_bits": bits }))
}

/// Reads back what [`state_json`] wrote, every float exactly.
fn parse_state(bytes: &[u8]) -> std::result::Result<CheckpointMeta, String> {
    let mut doc: Value = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
    let bits: Vec<u64> = serde_json::from_value(doc["float_bits"].take())
        .map_err(|e| format!("`float_bits`: {e}"))?;
    let mut state = doc["state"].take();
    let mut floats = Vec::new();
    floats_mut(&mut state, &mut floats);
    if floats.len() != bits.len() {
        return Err(format!(
            "{} floats but {} bit patterns",
            floats.len(),
            bits.len()
        ));
    }
    for (f, b) in floats.into_iter().zip(bits) {
        let exact = serde_json::Number::from_f64(f64::from_bits(b))
            .ok_or_else(|| format!("bit pattern {b:#x} is not a finite float"))?;
        *f = Value::Number(exact);
    }
    serde_json::from_value(state).map_err(|e| e.to_string())
}

/// `checkpoint-<iteration>-<first 12 hex digits of the digest><ext>`.
fn file_name(iteration: i64, sha: &str, ext: &str) -> String {
    format!("{PREFIX}{iteration:010}-{}{ext}", &sha[..12.min(sha.len())])
}

/// Saves tensors + state; `tensors` are (name, tensor) pairs.
pub fn save(dir: &Path, meta: CheckpointMeta, tensors: &[(String, Tensor)]) -> Result<()> {
    std::fs::create_dir_all(dir).at(dir)?;
    let manifest_path = dir.join(META_FILE);
    let fail = |path: &Path, msg: String| Error::Checkpoint {
        path: path.to_path_buf(),
        msg,
    };
    // libtorch reports a failed file write (a full disk) by throwing from a
    // destructor, which aborts the process with a C++ backtrace. Serialise to
    // memory (one checkpoint's size, transiently) and write the bytes ourselves:
    // a full disk is then an ordinary error naming the file.
    let buf = SharedBuf::default();
    Tensor::save_multi_to_stream(tensors, buf.clone())
        .map_err(|e| fail(dir, format!("cannot serialise the tensors: {e}")))?;
    let tensor_bytes = buf.0.take();
    let state_bytes =
        state_json(&meta).map_err(|e| fail(dir, format!("cannot serialise the state: {e}")))?;
    let (tensors_sha256, state_sha256) = (sha256_hex(&tensor_bytes), sha256_hex(&state_bytes));
    let manifest = Manifest {
        version: VERSION,
        channels_last: meta.channels_last,
        tensors_file: file_name(meta.iteration, &tensors_sha256, TENSORS_EXT),
        state_file: file_name(meta.iteration, &state_sha256, STATE_EXT),
        tensors_sha256,
        state_sha256,
    };
    write_bytes_atomic(&dir.join(&manifest.tensors_file), &tensor_bytes)?;
    write_bytes_atomic(&dir.join(&manifest.state_file), &state_bytes)?;
    let json =
        serde_json::to_vec_pretty(&manifest).map_err(|e| fail(&manifest_path, e.to_string()))?;
    write_bytes_atomic(&manifest_path, &json)?;
    // Files of older checkpoints are no longer referenced.
    remove_files(dir, |n| {
        is_checkpoint_file(n) && n != manifest.tensors_file && n != manifest.state_file
    });
    Ok(())
}

/// A checkpoint as loaded: its state and its named tensors.
pub type Loaded = (CheckpointMeta, Vec<(String, Tensor)>);

/// `path`'s contents, checked against the manifest's digest.
fn verified(path: &Path, sha256: &str, what: &str) -> Result<Vec<u8>> {
    if !path.exists() {
        return Err(corrupt(path, format!("missing {what} file")));
    }
    let bytes = std::fs::read(path).at(path)?;
    let found = sha256_hex(&bytes);
    if found != sha256 {
        return Err(corrupt(
            path,
            format!("checksum mismatch (expected {sha256}, found {found}): the file was changed after it was written"),
        ));
    }
    Ok(bytes)
}

fn corrupt(path: &Path, msg: String) -> Error {
    Error::Checkpoint {
        path: path.to_path_buf(),
        msg: format!("{msg}; rerun with --fresh to start this run over"),
    }
}

/// Loads the checkpoint in `dir`, if there is one. A file that does not match
/// the manifest's digest, or a missing or unreadable one, is an error naming it.
pub fn load(dir: &Path) -> Result<Option<Loaded>> {
    let Some((manifest, meta)) = read_manifest_and_state(dir)? else {
        return Ok(None);
    };
    let tpath = dir.join(&manifest.tensors_file);
    verified(&tpath, &manifest.tensors_sha256, "tensor")?;
    let tensors =
        Tensor::load_multi(&tpath).map_err(|e| corrupt(&tpath, format!("cannot load: {e}")))?;
    Ok(Some((meta, tensors)))
}

/// The state of the checkpoint in `dir`, if there is one, checked as [`load`]
/// checks it but without reading the tensors: what a driver reads before
/// resuming a run (its data, its thread count).
pub fn read_state(dir: &Path) -> Result<Option<CheckpointMeta>> {
    Ok(read_manifest_and_state(dir)?.map(|(_, meta)| meta))
}

/// The manifest and the verified, consistent state of `dir`'s checkpoint.
fn read_manifest_and_state(dir: &Path) -> Result<Option<(Manifest, CheckpointMeta)>> {
    let manifest_path = dir.join(META_FILE);
    if !manifest_path.exists() {
        return Ok(None);
    }
    let bytes = std::fs::read(&manifest_path).at(&manifest_path)?;
    let version = serde_json::from_slice::<Value>(&bytes)
        .map_err(|e| corrupt(&manifest_path, format!("unreadable ({e})")))?
        .get("version")
        .and_then(Value::as_u64);
    if version != Some(u64::from(VERSION)) {
        let v = version.map_or_else(|| "none".to_string(), |v| v.to_string());
        return Err(corrupt(
            &manifest_path,
            format!("version {v} (expected {VERSION})"),
        ));
    }
    let manifest: Manifest = serde_json::from_slice(&bytes)
        .map_err(|e| corrupt(&manifest_path, format!("unreadable ({e})")))?;
    let state_path = dir.join(&manifest.state_file);
    let state = verified(&state_path, &manifest.state_sha256, "state")?;
    let meta =
        parse_state(&state).map_err(|e| corrupt(&state_path, format!("unreadable ({e})")))?;
    consistent(&manifest, &meta).map_err(|msg| corrupt(&state_path, msg))?;
    Ok(Some((manifest, meta)))
}

/// Checks that cost nothing and that a genuine checkpoint always passes: the
/// checksums only show that the files are the ones the manifest names, and a
/// hand edit can recompute them. A checkpoint is written at the end of a
/// logging window, so its last row is at its iteration; its files are named
/// for that iteration; every row is the run's (its config hash and seed).
fn consistent(manifest: &Manifest, meta: &CheckpointMeta) -> std::result::Result<(), String> {
    let it = meta.iteration;
    let edited = "the state was edited (and the manifest's checksum recomputed) or is damaged";
    for name in [&manifest.state_file, &manifest.tensors_file] {
        let named = name
            .strip_prefix(PREFIX)
            .and_then(|r| r.split('-').next())
            .and_then(|n| n.parse::<i64>().ok());
        if named != Some(it) {
            return Err(format!(
                "the state says iteration {it}, but its file {name} was written at {}: {edited}",
                named.map_or_else(
                    || "an unknown iteration".into(),
                    |n| format!("iteration {n}")
                )
            ));
        }
    }
    let last = meta.rows.last().map(|r| r.iteration);
    if last != Some(it) {
        return Err(format!(
            "the state says iteration {it}, but its last metrics row is {}: {edited}",
            last.map_or_else(|| "missing".into(), |l| format!("at iteration {l}"))
        ));
    }
    if let Some(r) = meta
        .rows
        .iter()
        .find(|r| r.config_hash != meta.config_hash || r.seed != meta.seed as i64)
    {
        return Err(format!(
            "a metrics row at iteration {} is of config {} seed {}, the state of config {} seed {}: {edited}",
            r.iteration, r.config_hash, r.seed, meta.config_hash, meta.seed
        ));
    }
    Ok(())
}

/// Removes a run's checkpoint files (after completion, or with --fresh): the
/// manifest first, so that no manifest ever names a removed file.
pub fn remove(dir: &Path) {
    records::run_dir::remove_checkpoint(dir);
}

/// Removes the files of `dir` whose names `remove_this` selects (best effort).
fn remove_files(dir: &Path, remove_this: impl Fn(&str) -> bool) {
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            if remove_this(&e.file_name().to_string_lossy()) {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
}
