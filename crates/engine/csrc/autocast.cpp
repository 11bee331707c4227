// Mixed-precision switch for the training loop: libtorch's autocast state for
// one device type with bf16 as its lower precision.
//
// tch 0.26 exposes autocast for CUDA only, with libtorch's default lower
// precision there (fp16, which needs loss scaling). bf16 has fp32's exponent
// range, so it needs none; and CPU autocast lets the switch be tested on
// machines without a GPU.
//
// The autocast declarations below are those of <ATen/autocast_mode.h>; that
// header pulls in all of ATen, which would add a minute to every build on two
// cores, for seven function declarations. A signature change in libtorch fails
// at link time.
#include <ATen/Context.h>
#include <c10/core/DeviceType.h>
#include <c10/core/ScalarType.h>

namespace at::autocast {
bool is_autocast_enabled(c10::DeviceType device_type);
void set_autocast_enabled(c10::DeviceType device_type, bool enabled);
c10::ScalarType get_autocast_dtype(c10::DeviceType device_type);
void set_autocast_dtype(c10::DeviceType device_type, c10::ScalarType dtype);
void clear_cache();
int increment_nesting();
int decrement_nesting();
}  // namespace at::autocast

namespace {
c10::DeviceType device_type(int cuda) {
  return cuda ? c10::DeviceType::CUDA : c10::DeviceType::CPU;
}
}  // namespace

extern "C" {

// Turns bf16 autocast on for CPU (cuda = 0) or CUDA (cuda = 1) on this thread;
// the previous state goes to *prev_enabled and *prev_dtype for the exit.
void repro_autocast_bf16_enter(int cuda, int* prev_enabled, int* prev_dtype) {
  auto d = device_type(cuda);
  *prev_enabled = at::autocast::is_autocast_enabled(d) ? 1 : 0;
  *prev_dtype = static_cast<int>(at::autocast::get_autocast_dtype(d));
  at::autocast::set_autocast_dtype(d, c10::ScalarType::BFloat16);
  at::autocast::set_autocast_enabled(d, true);
  at::autocast::increment_nesting();
}

// Restores the state saved by the matching enter; the outermost exit frees the
// cache of weights cast to bf16 (as torch.autocast's __exit__ does).
void repro_autocast_exit(int cuda, int prev_enabled, int prev_dtype) {
  auto d = device_type(cuda);
  if (at::autocast::decrement_nesting() == 0) {
    at::autocast::clear_cache();
  }
  at::autocast::set_autocast_enabled(d, prev_enabled != 0);
  at::autocast::set_autocast_dtype(d, static_cast<c10::ScalarType>(prev_dtype));
}

int repro_autocast_is_enabled(int cuda) {
  return at::autocast::is_autocast_enabled(device_type(cuda)) ? 1 : 0;
}

// TF32 for CUDA convolutions (cuDNN) and matrix products (cuBLAS). libtorch
// turns it on for cuDNN by default; fp32 runs turn it off, so that they compute
// in the papers' fp32. The flags are process-wide and need no GPU to be set.
void repro_set_cuda_tf32(int on) {
  at::globalContext().setAllowTF32CuDNN(on != 0);
  at::globalContext().setAllowTF32CuBLAS(on != 0);
}

int repro_cuda_conv_tf32() {
  return at::globalContext().allowTF32CuDNN() ? 1 : 0;
}

}  // extern "C"
