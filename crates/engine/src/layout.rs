//! The memory layout of activations and conv weights. Both layouts compute the
//! same maths; only speed differs, and which is faster depends on the device
//! and the model (oneDNN's CPU convolutions are NHWC-native, cuDNN's fp32
//! default is NCHW), so the driver can time both (`--layout auto`).
use serde::{Deserialize, Serialize};
use tch::{Device, Tensor};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Layout {
    /// PyTorch's default `contiguous_format`.
    Nchw,
    /// PyTorch's `channels_last`: NHWC strides for 4-d tensors.
    ChannelsLast,
}

impl Layout {
    /// The layout a device usually trains faster in: channels-last on CPUs,
    /// NCHW on CUDA.
    pub fn device_default(device: Device) -> Self {
        if device.is_cuda() {
            Layout::Nchw
        } else {
            Layout::ChannelsLast
        }
    }

    pub fn is_channels_last(self) -> bool {
        self == Layout::ChannelsLast
    }

    /// From a recorded `channels_last` flag (checkpoints store it so).
    pub fn from_channels_last(channels_last: bool) -> Self {
        if channels_last {
            Layout::ChannelsLast
        } else {
            Layout::Nchw
        }
    }

    /// For messages: `NCHW` or `channels-last`.
    pub fn label(self) -> &'static str {
        match self {
            Layout::Nchw => "NCHW",
            Layout::ChannelsLast => "channels-last",
        }
    }

    /// A 4-d input batch in this layout (same values).
    pub fn apply(self, x: &Tensor) -> Tensor {
        match self {
            Layout::ChannelsLast if x.dim() == 4 => to_channels_last(x),
            _ => x.shallow_clone(),
        }
    }
}

/// The same values with NHWC strides (PyTorch's `channels_last` memory format).
pub fn to_channels_last(x: &Tensor) -> Tensor {
    x.permute([0, 2, 3, 1]).contiguous().permute([0, 3, 1, 2])
}
