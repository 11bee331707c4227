//! Called from the build script of every crate that links libtorch (the core
//! library for its tests, each experiment binary).
//!
//! Two known problems of linking libtorch from Rust (tch-rs issues on rpath and
//! on `Cuda::is_available() == false`):
//! * the binaries need libtorch's `lib/` at run time: an rpath avoids asking
//!   users to set `LD_LIBRARY_PATH`;
//! * the linker's default `--as-needed` drops `libtorch_cuda.so`, since no Rust
//!   symbol references it, and CUDA is then silently unavailable. Linking
//!   `-ltorch` (which itself needs `libtorch_cuda.so`) after `--no-as-needed` keeps it.
use std::path::PathBuf;

/// Emits the link arguments. The libtorch `lib` directory comes from torch-sys
/// (`DEP_TCH_LIBTORCH_LIB`, available because the calling crate depends on
/// torch-sys directly), falling back to `$LIBTORCH/lib`.
pub fn emit() {
    println!("cargo:rerun-if-env-changed=DEP_TCH_LIBTORCH_LIB");
    println!("cargo:rerun-if-env-changed=LIBTORCH");
    let lib = std::env::var("DEP_TCH_LIBTORCH_LIB")
        .map(PathBuf::from)
        .or_else(|_| std::env::var("LIBTORCH").map(|p| PathBuf::from(p).join("lib")));
    let Ok(lib) = lib else {
        println!("cargo:warning=libtorch location unknown: run scripts/setup first");
        return;
    };
    let target_os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    if target_os == "linux" || target_os == "macos" {
        println!("cargo:rustc-link-arg=-Wl,-rpath,{}", lib.display());
    }
    if target_os == "linux" {
        println!("cargo:rustc-link-arg=-Wl,--no-as-needed");
        for name in ["torch_cuda", "torch"] {
            if lib.join(format!("lib{name}.so")).exists() {
                println!("cargo:rustc-link-arg=-l{name}");
            }
        }
        println!("cargo:rustc-link-arg=-Wl,--as-needed");
    }
}

/// Compiles `file` (C++ against libtorch's headers, for what tch does not expose)
/// into the static library `name`, linked into the calling crate, as tch
/// compiles its own wrapper. The headers come from the libtorch `emit` links.
pub fn compile_shim(file: &str, name: &str) {
    println!("cargo:rerun-if-changed={file}");
    let lib = std::env::var("DEP_TCH_LIBTORCH_LIB").unwrap_or_default();
    cc::Build::new()
        .cpp(true)
        .pic(true)
        .warnings(false)
        .include(PathBuf::from(lib).join("../include"))
        .flag("-std=c++17")
        .file(file)
        .compile(name);
}
