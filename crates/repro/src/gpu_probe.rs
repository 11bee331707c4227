//! Is a GPU that the machine has invisible to libtorch?
//!
//! The usual failure on a GPU machine is silent: `nvidia-smi` lists the GPUs,
//! libtorch reports no CUDA device, and everything trains on the CPU, a
//! hundred times slower. The causes (tch-rs issues on `Cuda::is_available()
//! == false`): a CPU-only libtorch, a libtorch built for a newer CUDA than the
//! driver supports, or `libtorch_cuda.so` dropped by the linker's
//! `--as-needed` (no Rust symbol references it; `torch-link` adds it back).
//! [`warn_if_gpu_invisible`] says which, from what this process has loaded.
use std::process::Command;
use std::sync::Once;

/// The GPUs `nvidia-smi -L` lists ("GPU 0: NVIDIA H200 (UUID: ...)"); empty
/// without `nvidia-smi` or a driver.
pub fn nvidia_smi_gpus() -> Vec<String> {
    Command::new("nvidia-smi")
        .arg("-L")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .filter(|l| l.starts_with("GPU "))
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// The NVIDIA driver's version (`nvidia-smi --query-gpu=driver_version`), None without one.
pub fn driver_version() -> Option<String> {
    Command::new("nvidia-smi")
        .args(["--query-gpu=driver_version", "--format=csv,noheader"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .next()
                .map(|l| l.trim().to_string())
        })
        .filter(|s| !s.is_empty())
}

/// Whether this process has `libtorch_cuda.so` loaded (Linux: /proc/self/maps;
/// None where that cannot be read).
pub fn libtorch_cuda_loaded() -> Option<bool> {
    std::fs::read_to_string("/proc/self/maps")
        .ok()
        .map(|m| m.contains("libtorch_cuda.so"))
}

/// The warning for `gpus` listed by nvidia-smi while libtorch sees `cuda_devices`
/// (None when there is nothing to warn about): what is wrong and the fix.
pub fn invisible_gpu_message(
    gpus: &[String],
    cuda_devices: i64,
    cuda_lib_loaded: Option<bool>,
) -> Option<String> {
    if gpus.is_empty() || cuda_devices > 0 {
        return None;
    }
    let cause = match cuda_lib_loaded {
        Some(false) => "libtorch_cuda.so is not loaded in this process: either the libtorch is a CPU-only build (reinstall with `scripts/setup`, without TORCH_INDEX_URL=.../whl/cpu) or the binary was linked without it (the linker's --as-needed drops it; `ldd <binary> | grep torch_cuda` prints nothing). Rebuild after `scripts/setup` so that torch-link's `--no-as-needed -ltorch_cuda` applies, or run a binary built against the CUDA libtorch",
        Some(true) => "libtorch_cuda.so is loaded but finds no device: usually the libtorch was built for a newer CUDA than this driver supports (PyPI's CUDA 13 wheels need driver 580+; `TORCH_INDEX_URL=https://download.pytorch.org/whl/cu128 scripts/setup` installs a CUDA 12.8 build), or CUDA_VISIBLE_DEVICES hides the GPUs",
        None => "usual causes: a CPU-only libtorch, a libtorch built for a newer CUDA than the driver supports, or libtorch_cuda.so not linked (`ldd <binary> | grep torch_cuda`)",
    };
    Some(format!(
        "warning: nvidia-smi lists {} GPU(s) ({}) but libtorch sees no CUDA device, so this runs on the CPU. {cause}.",
        gpus.len(),
        gpus[0]
    ))
}

/// Prints [`invisible_gpu_message`] for this machine to stderr, once per
/// process; returns whether there was something to warn about. Cheap when
/// libtorch sees a GPU (no `nvidia-smi` call).
pub fn warn_if_gpu_invisible() -> bool {
    static ONCE: Once = Once::new();
    if tch::Cuda::is_available() {
        return false;
    }
    let message = invisible_gpu_message(&nvidia_smi_gpus(), 0, libtorch_cuda_loaded());
    if let Some(m) = &message {
        ONCE.call_once(|| crate::say!("{m}"));
    }
    message.is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warns_only_when_listed_gpus_are_invisible() {
        let gpus = vec!["GPU 0: NVIDIA H200 (UUID: GPU-x)".to_string()];
        assert_eq!(invisible_gpu_message(&[], 0, Some(false)), None);
        assert_eq!(invisible_gpu_message(&gpus, 1, Some(true)), None);
        let m = invisible_gpu_message(&gpus, 0, Some(false)).expect("a warning");
        assert!(m.contains("1 GPU(s)") && m.contains("CPU-only") && m.contains("--no-as-needed"));
        let m = invisible_gpu_message(&gpus, 0, Some(true)).expect("a warning");
        assert!(m.contains("driver") && m.contains("cu128"));
    }
}
