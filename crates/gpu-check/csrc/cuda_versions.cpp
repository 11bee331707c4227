// CUDA library versions as libtorch sees them (tch exposes none of these).
// Without libtorch_cuda the CPU stub of the hooks throws: each call returns -1
// then, since an exception must not cross into Rust.
#include <ATen/detail/CUDAHooksInterface.h>

extern "C" long gpu_check_cudnn_version() {
  try {
    return at::detail::getCUDAHooks().versionCuDNN();
  } catch (...) {
    return -1;
  }
}

extern "C" long gpu_check_cuda_runtime_version() {
  try {
    return at::detail::getCUDAHooks().versionCUDART();
  } catch (...) {
    return -1;
  }
}
