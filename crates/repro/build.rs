//! Links libtorch (rpath, libtorch_cuda) and records the versions that go into
//! every run's provenance.
fn main() {
    torch_link::emit();
    let manifest =
        std::path::PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default());
    let lock = manifest.join("../../Cargo.lock");
    println!("cargo:rerun-if-changed={}", lock.display());
    let text = std::fs::read_to_string(&lock).unwrap_or_default();
    let mut versions = Vec::new();
    let mut name = None;
    for line in text.lines() {
        if let Some(n) = line.strip_prefix("name = ") {
            name = Some(n.trim_matches('"').to_string());
        } else if let (Some(v), Some(n)) = (line.strip_prefix("version = "), name.as_ref()) {
            if ["tch", "torch-sys", "polars", "plotters"].contains(&n.as_str()) {
                versions.push(format!("{n} {}", v.trim_matches('"')));
            }
            name = None;
        }
    }
    println!(
        "cargo:rustc-env=REPRO_DEP_VERSIONS=repro {}, {}",
        env!("CARGO_PKG_VERSION"),
        versions.join(", ")
    );
    // libtorch's version as its Python package states it (torch/version.py beside lib/).
    let lib = std::env::var("DEP_TCH_LIBTORCH_LIB").unwrap_or_default();
    let version_py = std::path::Path::new(&lib).join("../version.py");
    let v = std::fs::read_to_string(&version_py)
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("__version__"))
                .and_then(|l| l.split('\'').nth(1).map(str::to_string))
        })
        .unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=REPRO_LIBTORCH_VERSION={v}");

    // The bf16 autocast switch (`train::precision`): tch exposes autocast only for
    // CUDA and only with fp16.
    torch_link::compile_shim("csrc/autocast.cpp", "repro_autocast");
}
