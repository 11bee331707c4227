//! Links libtorch (rpath, libtorch_cuda) and compiles the cuDNN-version shim.
fn main() {
    torch_link::emit();
    // tch has no call for the cuDNN version; ATen's CUDA hooks have one. A few
    // lines of C++ against libtorch's headers, compiled as repro compiles its shim.
    println!("cargo:rerun-if-changed=csrc/cuda_versions.cpp");
    let lib = std::env::var("DEP_TCH_LIBTORCH_LIB").unwrap_or_default();
    let include = std::path::Path::new(&lib).join("../include");
    cc::Build::new()
        .cpp(true)
        .pic(true)
        .warnings(false)
        .include(&include)
        .flag("-std=c++17")
        .file("csrc/cuda_versions.cpp")
        .compile("gpu_check_cuda_versions");
}
