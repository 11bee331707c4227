//! The numerics of a run: fp32 as in the papers, or one of two explicit,
//! labelled speed switches: TF32 products on CUDA (`train.precision = "tf32"`,
//! `--tf32`) and bf16 autocast (`train.precision = "bf16-autocast"`, `--bf16`).
//!
//! fp32 is strict on CUDA too: libtorch lets cuDNN convolutions use TF32 by
//! default, and `set_cuda_numerics` turns that off for fp32 runs.
//!
//! Under bf16 autocast libtorch runs convolutions and matrix products in bf16
//! and keeps reductions, softmax and losses in fp32; the weights, their
//! gradients and the optimizer state stay fp32 (the casts are recorded by
//! autograd). bf16 keeps fp32's exponent range, so no loss scaling is needed.
//! It is the recipe of `torch.autocast(device, dtype=torch.bfloat16)`.
use crate::config::Precision;
use crate::models::Network;
use tch::{Device, Kind, Tensor};

extern "C" {
    fn repro_autocast_bf16_enter(cuda: i32, prev_enabled: *mut i32, prev_dtype: *mut i32);
    fn repro_autocast_exit(cuda: i32, prev_enabled: i32, prev_dtype: i32);
    fn repro_autocast_is_enabled(cuda: i32) -> i32;
    fn repro_set_cuda_tf32(on: i32);
    fn repro_cuda_conv_tf32() -> i32;
}

/// Sets the process-wide CUDA numerics for `precision`: TF32 convolutions and
/// matrix products only for `Tf32`; strict fp32 otherwise (the fp32 parts of a
/// bf16 autocast run included). Harmless without a GPU.
pub fn set_cuda_numerics(precision: Precision) {
    let on = precision == Precision::Tf32;
    // SAFETY: sets two flags of libtorch's global context.
    unsafe { repro_set_cuda_tf32(i32::from(on)) };
}

/// Whether cuDNN convolutions may use TF32 now (libtorch's global context).
pub fn cuda_conv_tf32() -> bool {
    // SAFETY: reads a flag of libtorch's global context.
    unsafe { repro_cuda_conv_tf32() != 0 }
}

/// bf16 autocast on `device`'s type for this thread while the guard lives; the
/// previous state comes back on drop (guards nest).
pub struct Autocast {
    cuda: i32,
    prev_enabled: i32,
    prev_dtype: i32,
}

impl Autocast {
    /// None for fp32 (nothing to switch).
    pub fn enter(precision: Precision, device: Device) -> Option<Autocast> {
        match precision {
            Precision::Fp32 | Precision::Tf32 => None,
            Precision::Bf16Autocast => {
                let cuda = i32::from(device.is_cuda());
                let (mut prev_enabled, mut prev_dtype) = (0, 0);
                // SAFETY: the shim only reads and writes libtorch's thread-local
                // autocast flags; the pointers are to live locals.
                unsafe { repro_autocast_bf16_enter(cuda, &mut prev_enabled, &mut prev_dtype) };
                Some(Autocast {
                    cuda,
                    prev_enabled,
                    prev_dtype,
                })
            }
        }
    }
}

impl Drop for Autocast {
    fn drop(&mut self) {
        // SAFETY: as in `enter`; restores what `enter` read.
        unsafe { repro_autocast_exit(self.cuda, self.prev_enabled, self.prev_dtype) };
    }
}

/// Whether autocast is on for `device`'s type on this thread.
pub fn autocast_enabled(device: Device) -> bool {
    // SAFETY: reads a thread-local flag.
    unsafe { repro_autocast_is_enabled(i32::from(device.is_cuda())) != 0 }
}

/// `net`'s forward pass in the run's precision; logits come back as fp32, so
/// losses, softmax and error counts are fp32 whatever the precision.
pub fn forward(net: &dyn Network, x: &Tensor, train: bool, precision: Precision) -> Tensor {
    let logits = {
        let _autocast = Autocast::enter(precision, x.device());
        net.forward_t(x, train)
    };
    logits.to_kind(Kind::Float)
}

/// `net.forward_aux` in the run's precision, like `forward`: the main logits
/// and the auxiliary classifiers' (with their loss weights) come back as fp32.
pub fn forward_aux(
    net: &dyn Network,
    x: &Tensor,
    train: bool,
    precision: Precision,
) -> (Tensor, Vec<(f64, Tensor)>) {
    let (logits, aux) = {
        let _autocast = Autocast::enter(precision, x.device());
        net.forward_aux(x, train)
    };
    let aux = aux
        .into_iter()
        .map(|(w, t)| (w, t.to_kind(Kind::Float)))
        .collect();
    (logits.to_kind(Kind::Float), aux)
}

/// The label written into every metrics row (`precision` column) and report.
pub fn label(precision: Precision) -> &'static str {
    match precision {
        Precision::Fp32 => "fp32",
        Precision::Tf32 => "tf32",
        Precision::Bf16Autocast => "bf16-autocast",
    }
}

/// The suffix of a results directory for runs in `precision` (`quick-bf16/`);
/// None for the papers' fp32.
pub fn dir_suffix(precision: Precision) -> Option<&'static str> {
    match precision {
        Precision::Fp32 => None,
        Precision::Tf32 => Some("tf32"),
        Precision::Bf16Autocast => Some("bf16"),
    }
}
