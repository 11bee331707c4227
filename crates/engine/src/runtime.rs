//! What the libtorch this binary runs on says of itself, for provenance.
use records::provenance::{cpu_model, Runtime};
use std::process::Command;

/// libtorch's version as its Python package states it (`2.13.0+cu130`, `2.13.0+cpu`).
pub const LIBTORCH_VERSION: &str = env!("REPRO_LIBTORCH_VERSION");

/// This process's libtorch: version, CUDA, thread count.
pub fn here() -> Runtime {
    Runtime {
        libtorch_version: LIBTORCH_VERSION.to_string(),
        cuda_available: tch::Cuda::is_available(),
        threads: tch::get_num_threads(),
    }
}

/// "NVIDIA H200" or "cpu: <model>, N threads".
pub fn device_name(device: tch::Device) -> String {
    match device {
        tch::Device::Cuda(i) => {
            let name = Command::new("nvidia-smi")
                .args([
                    "--query-gpu=name",
                    "--format=csv,noheader",
                    &format!("--id={i}"),
                ])
                .output()
                .ok()
                .filter(|o| o.status.success())
                .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| "unknown GPU".into());
            format!("cuda:{i} ({name})")
        }
        _ => format!("cpu ({}, {} threads)", cpu_model(), tch::get_num_threads()),
    }
}
