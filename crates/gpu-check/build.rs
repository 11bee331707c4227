//! Links libtorch (rpath, libtorch_cuda) and compiles the cuDNN-version shim.
fn main() {
    torch_link::emit();
    // tch has no call for the cuDNN version; ATen's CUDA hooks have one.
    torch_link::compile_shim("csrc/cuda_versions.cpp", "gpu_check_cuda_versions");
}
