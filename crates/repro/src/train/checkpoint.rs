//! Checkpoints: everything needed to continue a run exactly where it stopped.
//!
//! `checkpoint-<iteration>.ot` holds the model's variables (parameters and BN
//! statistics) and the SGD velocity; `checkpoint.json` holds the scalar state,
//! the metrics rows so far and the sha256 of the tensor file. The tensor file is
//! written first under a new name, then the JSON is replaced atomically, then
//! older tensor files are removed: a kill at any moment leaves either the old or
//! the new checkpoint complete. A checksum mismatch is reported, never trusted.
use super::schedule::LrState;
use crate::error::{Error, IoContext, Result};
use crate::io::{sha256_file, write_bytes_atomic};
use crate::metrics::MetricRow;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use tch::Tensor;

const VERSION: u32 = 1;
pub const META_FILE: &str = "checkpoint.json";
pub const VELOCITY: &str = "__sgd_velocity";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CheckpointMeta {
    pub version: u32,
    pub config_hash: String,
    pub seed: u64,
    /// Iterations completed.
    pub iteration: i64,
    pub lr_state: LrState,
    pub wall_time_s: f64,
    pub rows: Vec<MetricRow>,
    /// Sums over the current epoch so far: loss sum, error count, images.
    pub epoch_acc: [f64; 3],
    pub tensors_file: String,
    pub tensors_sha256: String,
    /// The memory layout the run trains in (true: channels-last). A resume
    /// under `--layout auto` keeps it, so the resumed run rounds exactly as the
    /// uninterrupted one would (the layout changes no maths, but the order of
    /// floating-point sums).
    #[serde(default)]
    pub channels_last: Option<bool>,
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

/// Saves tensors + meta; `tensors` are (name, tensor) pairs.
pub fn save(dir: &Path, mut meta: CheckpointMeta, tensors: &[(String, Tensor)]) -> Result<()> {
    std::fs::create_dir_all(dir).at(dir)?;
    let name = format!("checkpoint-{:010}.ot", meta.iteration);
    let path = dir.join(&name);
    // libtorch reports a failed file write (a full disk) by throwing from a
    // destructor, which aborts the process with a C++ backtrace. Serialise to
    // memory (one checkpoint's size, transiently) and write the bytes ourselves:
    // a full disk is then an ordinary error naming the file.
    let buf = SharedBuf::default();
    Tensor::save_multi_to_stream(tensors, buf.clone()).map_err(|e| Error::Checkpoint {
        path: path.clone(),
        msg: format!("cannot serialise: {e}"),
    })?;
    let bytes = buf.0.take();
    write_bytes_atomic(&path, &bytes)?;
    meta.version = VERSION;
    meta.tensors_file = name.clone();
    meta.tensors_sha256 = crate::io::sha256_hex(&bytes);
    let json = serde_json::to_vec(&meta).map_err(|e| Error::Checkpoint {
        path: dir.join(META_FILE),
        msg: e.to_string(),
    })?;
    write_bytes_atomic(&dir.join(META_FILE), &json)?;
    // Older tensor files are no longer referenced.
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let n = e.file_name().to_string_lossy().to_string();
            if n.starts_with("checkpoint-") && n.ends_with(".ot") && n != name {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
    Ok(())
}

/// A checkpoint as loaded: its meta and its named tensors.
pub type Loaded = (CheckpointMeta, Vec<(String, Tensor)>);

/// Loads the checkpoint in `dir`, if there is one. Corruption is an error naming the file.
pub fn load(dir: &Path) -> Result<Option<Loaded>> {
    let meta_path = dir.join(META_FILE);
    if !meta_path.exists() {
        return Ok(None);
    }
    let corrupt = |path: PathBuf, msg: String| Error::Checkpoint {
        path,
        msg: format!("{msg}; rerun with --fresh to start this run over"),
    };
    let bytes = std::fs::read(&meta_path).at(&meta_path)?;
    let meta: CheckpointMeta = serde_json::from_slice(&bytes)
        .map_err(|e| corrupt(meta_path.clone(), format!("unreadable ({e})")))?;
    if meta.version != VERSION {
        return Err(corrupt(
            meta_path,
            format!("version {} (expected {VERSION})", meta.version),
        ));
    }
    let tpath = dir.join(&meta.tensors_file);
    if !tpath.exists() {
        return Err(corrupt(tpath, "missing tensor file".into()));
    }
    let sha = sha256_file(&tpath)?;
    if sha != meta.tensors_sha256 {
        return Err(corrupt(
            tpath,
            format!(
                "checksum mismatch (expected {}, found {sha})",
                meta.tensors_sha256
            ),
        ));
    }
    let tensors = Tensor::load_multi(&tpath)
        .map_err(|e| corrupt(tpath.clone(), format!("cannot load: {e}")))?;
    Ok(Some((meta, tensors)))
}

/// Removes a run's checkpoint files (after completion, or with --fresh).
pub fn remove(dir: &Path) {
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let n = e.file_name().to_string_lossy().to_string();
            if n == META_FILE || (n.starts_with("checkpoint-") && n.ends_with(".ot")) {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
}
