//! A run's final weights, kept beside its results, and initialisation of a
//! later run from them (VGG Sec. 3.1: the deeper nets start from net A's first
//! four conv layers and three fc layers; the S = 384 and multi-scale nets are
//! fine-tuned from a trained net of the same configuration, every layer).
use crate::error::{Error, Result};
use std::path::{Path, PathBuf};
use tch::nn::VarStore;
use tch::Tensor;

pub use records::run_dir::FINAL_WEIGHTS;

/// Writes the model's variables to `<run_dir>/final-weights.safetensors`,
/// atomically (never half-written).
pub fn save_final(vs: &VarStore, run_dir: &Path) -> Result<PathBuf> {
    let path = run_dir.join(FINAL_WEIGHTS);
    let failed = |msg: String| Error::Checkpoint {
        path: path.clone(),
        msg: format!("cannot write final weights: {msg}"),
    };
    // Contiguous copies: the flat SGD buffer and channels-last strides make views.
    let mut vars: Vec<(String, Tensor)> = vs
        .variables()
        .into_iter()
        .map(|(k, v)| (k, v.contiguous()))
        .collect();
    vars.sort_by(|a, b| a.0.cmp(&b.0));
    // libtorch writes to a path: the temporary file's, renamed when complete.
    let file = fileio::AtomicFile::new(&path).map_err(|e| failed(e.to_string()))?;
    Tensor::write_safetensors(&vars, file.temp_path()).map_err(|e| failed(e.to_string()))?;
    file.commit().map_err(|e| failed(e.to_string()))?;
    Ok(path)
}

/// Copies the layers named in `layers` (`<layer>.weight`, `<layer>.bias`), or
/// with `None` every variable of `vs`, from the weights file into `vs`. Every
/// copied variable must be present in both with equal shapes; the error names
/// the file and the variable. Returns the number of variables copied.
pub fn init_from(vs: &VarStore, weights: &Path, layers: Option<&[&str]>) -> Result<usize> {
    let bad = |msg: String| Error::Checkpoint {
        path: weights.to_path_buf(),
        msg,
    };
    let source = Tensor::read_safetensors(weights)
        .map_err(|e| bad(format!("cannot read the weights to initialise from: {e}")))?;
    let source: std::collections::HashMap<String, Tensor> = source.into_iter().collect();
    let vars = vs.variables();
    let mut names: Vec<String> = match layers {
        Some(layers) => layers
            .iter()
            .flat_map(|l| [format!("{l}.weight"), format!("{l}.bias")])
            .collect(),
        None => vars.keys().cloned().collect(),
    };
    names.sort();
    let mut copied = 0;
    for name in names {
        let (Some(dst), Some(src)) = (vars.get(&name), source.get(&name)) else {
            return Err(bad(format!(
                "variable `{name}` missing in the source or the target model"
            )));
        };
        if dst.size() != src.size() {
            return Err(bad(format!(
                "`{name}` has shape {:?}, the target model needs {:?}",
                src.size(),
                dst.size()
            )));
        }
        let mut dst = dst.shallow_clone();
        tch::no_grad(|| dst.copy_(&src.to_device(dst.device())));
        copied += 1;
    }
    Ok(copied)
}
