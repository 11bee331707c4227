//! Fusing K networks of one architecture into one network that trains them side
//! by side, and taking it apart again.
//!
//! The stacking rule (which the fused ResNet builder follows): the fused network
//! has the same variable names as one run's network, and each fused variable is
//! the K seeds_fused' variables concatenated along dim 0 (output channels of a conv,
//! channels of a batch norm, rows of a classifier). 0-d variables, if any, are
//! shared and must agree. Nothing here knows about layers: any builder that
//! follows the rule can be fused.
use crate::error::{Error, Result};
use tch::nn::VarStore;
use tch::Tensor;

fn mismatch(msg: String) -> Error {
    Error::Other(format!("fusing networks: {msg}"))
}

/// Copies the variables of `seeds_fused` (one VarStore per run, same architecture) into
/// `fused`, run k's variables becoming the k-th slice along dim 0.
pub fn fuse_into(fused: &VarStore, seeds_fused: &[&VarStore]) -> Result<()> {
    let named: Vec<_> = seeds_fused.iter().map(|vs| vs.variables()).collect();
    let k = seeds_fused.len() as i64;
    for (name, mut var) in fused.variables() {
        let parts = named
            .iter()
            .enumerate()
            .map(|(r, vars)| {
                vars.get(name.as_str())
                    .map(|t| t.detach().to_device(var.device()))
                    .ok_or_else(|| mismatch(format!("run {r} has no variable `{name}`")))
            })
            .collect::<Result<Vec<Tensor>>>()?;
        let value = if var.dim() == 0 {
            parts[0].shallow_clone()
        } else {
            Tensor::cat(&parts, 0)
        };
        if value.size() != var.size() {
            return Err(mismatch(format!(
                "`{name}`: {k} seeds_fused stack to {:?}, the fused variable is {:?}",
                value.size(),
                var.size()
            )));
        }
        tch::no_grad(|| var.copy_(&value));
    }
    Ok(())
}

/// Run `run`'s slice of a fused variable (`seeds_fused` seeds_fused stacked along dim 0).
pub fn run_slice(t: &Tensor, seeds_fused: i64, run: i64) -> Tensor {
    if t.dim() == 0 || seeds_fused == 1 {
        return t.shallow_clone();
    }
    let n = t.size()[0] / seeds_fused;
    t.narrow(0, run * n, n)
}

/// The variables of run `run` out of `seeds_fused` fused in `fused`, sorted by name,
/// as contiguous copies (the shapes of one run's network).
pub fn defuse(fused: &VarStore, seeds_fused: i64, run: i64) -> Vec<(String, Tensor)> {
    let mut v: Vec<(String, Tensor)> = fused
        .variables()
        .into_iter()
        .map(|(n, t)| (n, run_slice(&t.detach(), seeds_fused, run).copy()))
        .collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

/// Sets the variables of `vs` (one run's network) from `(name, tensor)` pairs;
/// every variable must be given, with its shape.
pub fn load_named(vs: &VarStore, tensors: &[(String, Tensor)]) -> Result<()> {
    let vars = vs.variables();
    if tensors.len() != vars.len() {
        return Err(mismatch(format!(
            "{} tensors for {} variables",
            tensors.len(),
            vars.len()
        )));
    }
    for (name, t) in tensors {
        let mut var = vars
            .get(name)
            .ok_or_else(|| mismatch(format!("unknown variable `{name}`")))?
            .shallow_clone();
        if var.size() != t.size() {
            return Err(mismatch(format!(
                "`{name}` has shape {:?}, expected {:?}",
                t.size(),
                var.size()
            )));
        }
        tch::no_grad(|| var.copy_(t));
    }
    Ok(())
}
