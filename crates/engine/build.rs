//! Links libtorch (rpath, libtorch_cuda), compiles the bf16 autocast shim and
//! records libtorch's version for provenance. The training-code hash over this
//! crate is computed by `records`' build script (torch-free tools need it too).
fn main() {
    torch_link::emit();
    // libtorch's version as its Python package states it (torch/version.py beside lib/).
    let lib = std::env::var("DEP_TCH_LIBTORCH_LIB").unwrap_or_default();
    let version_py = std::path::Path::new(&lib).join("../version.py");
    println!("cargo:rerun-if-changed={}", version_py.display());
    let v = std::fs::read_to_string(&version_py)
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("__version__"))
                .and_then(|l| l.split('\'').nth(1).map(str::to_string))
        })
        .unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=REPRO_LIBTORCH_VERSION={v}");
    // The bf16 autocast switch (`precision`): tch exposes autocast only for
    // CUDA and only with fp16.
    torch_link::compile_shim("csrc/autocast.cpp", "repro_autocast");
}
