//! Building blocks the papers use that libtorch lacks or that need the papers' exact conventions.
use tch::nn::{self, Init};
use tch::Tensor;

/// Local response normalisation across channels (AlexNet Sec. 3.3):
/// b^i = a^i / (k + alpha * sum_{j in window(i)} (a^j)^2)^beta.
/// One layer for both conventions the papers' code uses, as knobs: the
/// constants (`k`, `alpha`, `beta`) and the channel `window`.
/// Note: PyTorch's `LocalResponseNorm` divides alpha by n; this does not
/// (cuda-convnet's files do, see `Lrn::cuda_convnet`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Lrn {
    pub size: i64,
    pub k: f64,
    pub alpha: f64,
    pub beta: f64,
    pub window: LrnWindow,
}

/// Which channels normalise channel i (clipped to the channels present).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LrnWindow {
    /// The paper's sum from max(0, i - n/2) to min(N - 1, i + n/2): n channels
    /// for odd n (n + 1 for even n).
    Centred,
    /// cuda-convnet's `kFCNorm` (conv_util.cu): `startF = -sizeF/2 + filterIdx`,
    /// `loopEndF = MIN(numFilters, startF + sizeF)`, i.e. [i - n/2, i - n/2 + n):
    /// n channels always; the same as `Centred` for odd n.
    CudaConvnet,
}

impl Lrn {
    /// AlexNet Sec. 3.3: k = 2, n = 5, alpha = 1e-4, beta = 0.75.
    pub const ALEXNET: Lrn = Lrn {
        size: 5,
        k: 2.0,
        alpha: 1e-4,
        beta: 0.75,
        window: LrnWindow::Centred,
    };

    /// cuda-convnet's cross-map normalisation (`cmrnorm`) from its files'
    /// `size`, `scale` and `pow`:
    /// - constant term 1, not the paper's k = 2 (conv_util.cu `kFCNorm`:
    ///   `prod[i] = 1 + addScale * prod[i]`);
    /// - alpha = `scale / size` (layer.py `NormLayerParser.add_params`:
    ///   `dic['scale'] /= dic['size']` for cross-map norm), so the files'
    ///   `scale=0.001`, `size=9` give 0.001/9, not the paper's ImageNet 1e-4 over 5 maps;
    /// - its window (`LrnWindow::CudaConvnet`).
    pub fn cuda_convnet(size: i64, scale: f64, pow: f64) -> Lrn {
        Lrn {
            size,
            k: 1.0,
            alpha: scale / size as f64,
            beta: pow,
            window: LrnWindow::CudaConvnet,
        }
    }

    pub fn forward(&self, a: &Tensor) -> Tensor {
        let c = a.size()[1];
        // Channel j is in i's window where j - i is in [-lo, hi].
        let (lo, hi) = match self.window {
            LrnWindow::Centred => (self.size / 2, self.size / 2),
            LrnWindow::CudaConvnet => (self.size / 2, self.size - 1 - self.size / 2),
        };
        // Sum of squares over the channel window as a 1x1 convolution with a
        // fixed band matrix: one fast kernel forwards and backwards, exact
        // edges (channels beyond the ends are absent).
        let band = Tensor::ones([c, c], (a.kind(), a.device()))
            .triu(-lo)
            .tril(hi)
            .view([c, c, 1, 1]);
        let window_sum = a
            .square()
            .conv2d(&band, None::<Tensor>, [1, 1], [0, 0], [1, 1], 1);
        let d = window_sum * self.alpha + self.k;
        // d^-beta; beta = 3/4 (the paper's) as rsqrt(d) * rsqrt(sqrt(d)): the same
        // value without a general power, which is the slowest op here on CPUs.
        if self.beta == 0.75 {
            let r = d.rsqrt();
            a * &r * r.sqrt()
        } else {
            a * d.pow_tensor_scalar(-self.beta)
        }
    }
}

/// A locally-connected layer (cuda-convnet's `local`): a convolution whose
/// weights are not shared across positions. Weight [L, out, in*k*k] for L output positions.
#[derive(Debug)]
pub struct LocallyConnected {
    pub weight: Tensor,
    pub bias: Tensor,
    pub kernel: i64,
    pub padding: i64,
    pub out_hw: (i64, i64),
    pub out_channels: i64,
}

impl LocallyConnected {
    pub fn new(
        vs: &nn::Path,
        in_c: i64,
        out_c: i64,
        in_hw: (i64, i64),
        kernel: i64,
        padding: i64,
        init: Init,
    ) -> Self {
        let oh = in_hw.0 + 2 * padding - kernel + 1;
        let ow = in_hw.1 + 2 * padding - kernel + 1;
        let weight = vs.var("weight", &[oh * ow, out_c, in_c * kernel * kernel], init);
        // cuda-convnet's local layers have unshared biases too.
        let bias = vs.var("bias", &[out_c, oh * ow], Init::Const(0.0));
        Self {
            weight,
            bias,
            kernel,
            padding,
            out_hw: (oh, ow),
            out_channels: out_c,
        }
    }

    pub fn forward(&self, x: &Tensor) -> Tensor {
        let n = x.size()[0];
        let cols = x.im2col(
            [self.kernel, self.kernel],
            [1, 1],
            [self.padding, self.padding],
            [1, 1],
        );
        let out = Tensor::einsum(
            "nkl,lok->nol",
            &[cols, self.weight.shallow_clone()],
            None::<i64>,
        ) + &self.bias;
        out.view([n, self.out_channels, self.out_hw.0, self.out_hw.1])
    }
}

/// The activation knob (AlexNet Sec. 3.1, Fig. 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Activation {
    Relu,
    Tanh,
}

impl Activation {
    pub fn apply(&self, x: &Tensor) -> Tensor {
        match self {
            Activation::Relu => x.relu(),
            Activation::Tanh => x.tanh(),
        }
    }
}

/// He initialisation (He et al. 2015, "Delving deep into rectifiers", the
/// ResNet paper's [13]): N(0, 2/n) with n = k*k*out_channels, as in the
/// reference re-implementations of the CIFAR experiments (fb.resnet.torch).
pub fn he_normal() -> Init {
    Init::Kaiming {
        dist: nn::init::NormalOrUniform::Normal,
        fan: nn::init::FanInOut::FanOut,
        non_linearity: nn::init::NonLinearity::ReLU,
    }
}

/// Torch7's default for linear layers: U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
pub fn torch_linear(fan_in: i64) -> Init {
    let b = 1.0 / (fan_in as f64).sqrt();
    Init::Uniform { lo: -b, up: b }
}

/// Conv without bias (a BN follows), He init.
pub fn conv_bn_conv(vs: &nn::Path, i: i64, o: i64, k: i64, stride: i64) -> nn::Conv2D {
    nn::conv2d(
        vs,
        i,
        o,
        k,
        nn::ConvConfig {
            stride,
            padding: k / 2,
            bias: false,
            ws_init: he_normal(),
            ..Default::default()
        },
    )
}

/// Batch normalisation as in Ioffe & Szegedy (2015) and He et al. (2015),
/// Sec. 3.4: scale gamma starts at 1, shift beta at 0.
///
/// Not tch's `BatchNormConfig::default()`, whose `ws_init` is U(0, 1): that is
/// Torch7's `BatchNormalization:reset()` (`self.weight:uniform()`), which early
/// PyTorch copied. PyTorch's `nn.BatchNorm2d` starts gamma at 1 (`init.ones_`),
/// Caffe's Scale layer (which carries gamma in He et al.'s models) fills its
/// scale with 1, and fb.resnet.torch, whose He initialisation
/// (`layers::he_normal`) the harness follows, overrides Torch7's default with
/// `BNInit` (`v.weight:fill(1)`). A U(0, 1) start scales every residual branch
/// by about one half and made ResNet-56 train much faster early on than the
/// paper's recipe does (issue 18, part 5).
pub fn batch_norm(vs: &nn::Path, c: i64) -> nn::BatchNorm {
    let config = nn::BatchNormConfig {
        ws_init: nn::Init::Const(1.0),
        bs_init: nn::Init::Const(0.0),
        ..Default::default()
    };
    nn::batch_norm2d(vs, c, config)
}

/// Total number of trainable parameters.
pub fn count_parameters(vs: &nn::VarStore) -> i64 {
    vs.trainable_variables()
        .iter()
        .map(|t| t.numel() as i64)
        .sum()
}
