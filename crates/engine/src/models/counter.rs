//! Conv and linear layers that can report what they compute.
//!
//! While `trace` runs a forward pass, every layer built from these types (and
//! every pooling step that calls `record_pool`) appends a record with its
//! geometry and multiply-adds. FLOP counts (ResNet Table 1) and receptive fields
//! are then computed from the built model itself, not from a table.
use std::cell::RefCell;
use tch::nn::{self, Init, Module};
use tch::Tensor;

#[derive(Debug, Clone, PartialEq)]
pub struct LayerRecord {
    pub kind: &'static str,
    /// The layer's variable path (`conv5_3`, `stages.1.0.conv1`); empty for pools.
    pub name: String,
    pub kernel: i64,
    pub stride: i64,
    pub padding: i64,
    pub in_shape: Vec<i64>,
    pub out_shape: Vec<i64>,
    /// Multiply-adds for one input image.
    pub macs: i64,
}

thread_local! {
    static TRACE: RefCell<Option<Vec<LayerRecord>>> = const { RefCell::new(None) };
}

/// Runs `f` (a forward pass) and returns the layers it went through, in order.
pub fn trace<T>(f: impl FnOnce() -> T) -> (T, Vec<LayerRecord>) {
    TRACE.with(|t| *t.borrow_mut() = Some(Vec::new()));
    let out = f();
    let records = TRACE.with(|t| t.borrow_mut().take()).unwrap_or_default();
    (out, records)
}

fn push(r: LayerRecord) {
    TRACE.with(|t| {
        if let Some(v) = t.borrow_mut().as_mut() {
            v.push(r);
        }
    });
}

fn tracing() -> bool {
    TRACE.with(|t| t.borrow().is_some())
}

pub fn record_pool(
    kind: &'static str,
    kernel: i64,
    stride: i64,
    padding: i64,
    x: &Tensor,
    y: &Tensor,
) {
    if tracing() {
        push(LayerRecord {
            kind,
            name: String::new(),
            kernel,
            stride,
            padding,
            in_shape: x.size(),
            out_shape: y.size(),
            macs: 0,
        });
    }
}

/// A 2-d convolution (square kernel) that knows its geometry.
#[derive(Debug)]
pub struct Conv {
    pub conv: nn::Conv2D,
    pub in_channels: i64,
    pub out_channels: i64,
    pub kernel: i64,
    pub stride: i64,
    pub padding: i64,
    pub groups: i64,
    pub name: String,
}

impl Conv {
    /// Bias-free conv with He init (a BN follows in the ResNets).
    pub fn new(vs: &nn::Path, i: i64, o: i64, k: i64, stride: i64, padding: i64) -> Self {
        Self::with(
            vs,
            i,
            o,
            k,
            stride,
            padding,
            1,
            false,
            super::layers::he_normal(),
            Init::Const(0.0),
        )
    }

    #[allow(clippy::too_many_arguments)]
    pub fn with(
        vs: &nn::Path,
        i: i64,
        o: i64,
        k: i64,
        stride: i64,
        padding: i64,
        groups: i64,
        bias: bool,
        ws_init: Init,
        bs_init: Init,
    ) -> Self {
        let conv = nn::conv2d(
            vs,
            i,
            o,
            k,
            nn::ConvConfig {
                stride,
                padding,
                groups,
                bias,
                ws_init,
                bs_init,
                ..Default::default()
            },
        );
        Self {
            conv,
            name: vs.components().collect::<Vec<_>>().join("."),
            in_channels: i,
            out_channels: o,
            kernel: k,
            stride,
            padding,
            groups,
        }
    }

    pub fn forward(&self, x: &Tensor) -> Tensor {
        let y = self.conv.forward(x);
        if tracing() {
            let out = y.size();
            let per_out = self.in_channels / self.groups * self.kernel * self.kernel;
            push(LayerRecord {
                kind: "conv",
                name: self.name.clone(),
                kernel: self.kernel,
                stride: self.stride,
                padding: self.padding,
                in_shape: x.size(),
                macs: out[1..].iter().product::<i64>() * per_out,
                out_shape: out,
            });
        }
        y
    }
}

/// A fully connected layer that knows its size.
#[derive(Debug)]
pub struct Linear {
    pub lin: nn::Linear,
    pub name: String,
    pub in_features: i64,
    pub out_features: i64,
}

impl Linear {
    pub fn new(vs: &nn::Path, i: i64, o: i64, ws_init: Init) -> Self {
        Self::with(vs, i, o, ws_init, Init::Const(0.0))
    }
    pub fn with(vs: &nn::Path, i: i64, o: i64, ws_init: Init, bs_init: Init) -> Self {
        let lin = nn::linear(
            vs,
            i,
            o,
            nn::LinearConfig {
                ws_init,
                bs_init: Some(bs_init),
                bias: true,
            },
        );
        Self {
            lin,
            name: vs.components().collect::<Vec<_>>().join("."),
            in_features: i,
            out_features: o,
        }
    }
    pub fn forward(&self, x: &Tensor) -> Tensor {
        let y = self.lin.forward(x);
        if tracing() {
            push(LayerRecord {
                kind: "fc",
                name: self.name.clone(),
                kernel: 1,
                stride: 1,
                padding: 0,
                in_shape: x.size(),
                out_shape: y.size(),
                macs: self.in_features * self.out_features,
            });
        }
        y
    }
}

/// Multiply-adds of one forward pass for one image of `input` shape [1, C, H, W].
pub fn forward_macs(net: &dyn super::Network, input: &[i64]) -> i64 {
    let x = Tensor::zeros(input, (tch::Kind::Float, tch::Device::Cpu));
    let (_, records) = tch::no_grad(|| trace(|| net.forward_t(&x, false)));
    records.iter().map(|r| r.macs).sum()
}
