//! One ResNet builder for the whole paper: CIFAR (Sec. 4.2) and ImageNet
//! (Table 1) shapes, plain or residual, shortcut options A/B/C, basic or
//! bottleneck blocks. Every ablation of the paper is a knob here.
//!
//! Fused seeds (`ResNetSpec::seeds_fused` = K > 1): K networks of the same shape as
//! one, every layer stacked along the channel axis. Convolutions have K times
//! the channels and K groups, batch norm K times the channels (per-channel
//! statistics are per-run statistics), the classifier is K independent linear
//! maps; the input is the K seeds_fused' batches stacked along channels ([N, 3K, H, W])
//! and the output is [N, K, classes]. Variables keep the names of the K = 1 net
//! and are the K seeds_fused' variables concatenated along dim 0 (`models::fuse`).
use super::counter::{self, Conv};
use super::layers::{batch_norm, he_normal, torch_linear};
use super::Network;
use serde::{Deserialize, Serialize};
use tch::nn::{self, ModuleT};
use tch::Tensor;

#[derive(Debug)]
enum Shortcut {
    Identity,
    /// Option A where dimensions grow: subsample by `stride`, zero-pad `extra` channels.
    PadSubsample {
        stride: i64,
        extra: i64,
        /// Fused seeds_fused: the padding goes at the end of each run's channel group.
        seeds_fused: i64,
    },
    /// Options B/C: 1x1 conv (with stride) + BN.
    Projection {
        conv: Box<Conv>,
        bn: Box<nn::BatchNorm>,
    },
}

impl Shortcut {
    /// `in_c`/`out_c` are one run's channels.
    fn new(
        vs: &nn::Path,
        option: ShortcutOption,
        in_c: i64,
        out_c: i64,
        stride: i64,
        seeds_fused: i64,
    ) -> Self {
        let grows = stride != 1 || in_c != out_c;
        match (option, grows) {
            (ShortcutOption::A, false) | (ShortcutOption::B, false) => Shortcut::Identity,
            (ShortcutOption::A, true) => Shortcut::PadSubsample {
                stride,
                extra: out_c - in_c,
                seeds_fused,
            },
            (ShortcutOption::B, true) | (ShortcutOption::C, _) => Shortcut::Projection {
                conv: Box::new(grouped_conv(
                    &(vs / "conv"),
                    in_c,
                    out_c,
                    1,
                    stride,
                    0,
                    seeds_fused,
                )),
                bn: Box::new(batch_norm(&(vs / "bn"), seeds_fused * out_c)),
            },
        }
    }

    fn forward(&self, x: &Tensor, train: bool) -> Tensor {
        match self {
            Shortcut::Identity => x.shallow_clone(),
            Shortcut::PadSubsample {
                stride,
                extra,
                seeds_fused,
            } => {
                let s = if *stride > 1 {
                    x.slice(2, 0, None, *stride).slice(3, 0, None, *stride)
                } else {
                    x.shallow_clone()
                };
                // Zero entries for the new channels (Sec. 3.3, option A).
                if *seeds_fused == 1 {
                    s.constant_pad_nd([0, 0, 0, 0, 0, *extra])
                } else {
                    // Per run: [N, K, C, H, W], pad C, back to [N, K (C + extra), H, W].
                    let [n, c, h, w] = s.size()[..] else {
                        unreachable!("ResNet activations are NCHW")
                    };
                    s.reshape([n, *seeds_fused, c / seeds_fused, h, w])
                        .constant_pad_nd([0, 0, 0, 0, 0, *extra])
                        .reshape([n, c + seeds_fused * extra, h, w])
                }
            }
            Shortcut::Projection { conv, bn } => bn.forward_t(&conv.forward(x), train),
        }
    }

    fn parameters_free(&self) -> bool {
        !matches!(self, Shortcut::Projection { .. })
    }
}

/// A residual unit (or its plain counterpart when `residual` is false).
#[derive(Debug)]
struct Block {
    layers: Vec<(Conv, nn::BatchNorm)>,
    shortcut: Shortcut,
    residual: bool,
}

impl Block {
    /// Channel counts are one run's.
    #[allow(clippy::too_many_arguments)]
    fn new(
        vs: &nn::Path,
        kind: BlockKind,
        in_c: i64,
        planes: i64,
        stride: i64,
        residual: bool,
        option: ShortcutOption,
        seeds_fused: i64,
    ) -> Self {
        // (kernel, out channels, stride) per layer. Bottleneck: the stride sits on
        // the first 1x1 layer, as in the paper's Caffe models (3.8 GFLOPs for ResNet-50).
        let spec: Vec<(i64, i64, i64)> = match kind {
            BlockKind::Basic => vec![(3, planes, stride), (3, planes, 1)],
            BlockKind::Bottleneck => vec![(1, planes, stride), (3, planes, 1), (1, planes * 4, 1)],
        };
        let out_c = spec.last().map(|s| s.1).unwrap_or(planes);
        let mut layers = Vec::new();
        let mut c = in_c;
        for (i, (k, o, s)) in spec.into_iter().enumerate() {
            let conv = grouped_conv(&(vs / format!("conv{i}")), c, o, k, s, k / 2, seeds_fused);
            let bn = batch_norm(&(vs / format!("bn{i}")), seeds_fused * o);
            layers.push((conv, bn));
            c = o;
        }
        let shortcut = if residual {
            Shortcut::new(&(vs / "shortcut"), option, in_c, out_c, stride, seeds_fused)
        } else {
            Shortcut::Identity
        };
        Self {
            layers,
            shortcut,
            residual,
        }
    }

    /// One run's output channels.
    fn out_channels(&self) -> i64 {
        self.layers
            .last()
            .map(|l| l.0.out_channels / l.0.groups)
            .unwrap_or(0)
    }

    /// Returns the output and pushes each 3x3 layer's response (after BN,
    /// before ReLU/addition; Fig. 7) into `responses` when given.
    fn forward(&self, x: &Tensor, train: bool, mut responses: Option<&mut Vec<Tensor>>) -> Tensor {
        let mut h = x.shallow_clone();
        let last = self.layers.len() - 1;
        for (i, (conv, bn)) in self.layers.iter().enumerate() {
            h = bn.forward_t(&conv.forward(&h), train);
            if let Some(r) = responses.as_deref_mut() {
                if conv.kernel == 3 {
                    r.push(h.shallow_clone());
                }
            }
            if i < last {
                h = h.relu();
            }
        }
        if self.residual {
            h += self.shortcut.forward(x, train);
        }
        h.relu()
    }
}

/// Shape of the network around the stages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// 3x3 conv with `width` filters, stages on 32/16/8 maps (Sec. 4.2).
    Cifar,
    /// 7x7/2 conv with 64 filters, 3x3/2 max pool, stages on 56/28/14/7 maps (Table 1).
    Imagenet,
}

/// A conv of one run's geometry (`i` -> `o` channels), K seeds_fused side by side.
/// K = 1 is `Conv::new` itself (same variables, same init draws).
fn grouped_conv(
    vs: &nn::Path,
    i: i64,
    o: i64,
    k: i64,
    stride: i64,
    pad: i64,
    seeds_fused: i64,
) -> Conv {
    if seeds_fused == 1 {
        Conv::new(vs, i, o, k, stride, pad)
    } else {
        Conv::with(
            vs,
            seeds_fused * i,
            seeds_fused * o,
            k,
            stride,
            pad,
            seeds_fused,
            false,
            he_normal(),
            nn::Init::Const(0.0),
        )
    }
}

/// The classifier: one linear map per run.
#[derive(Debug)]
enum Classifier {
    Single(counter::Linear),
    /// K seeds_fused: `weight` [K classes, C] and `bias` [K classes], the K seeds_fused'
    /// `fc.weight`/`fc.bias` stacked; applied as a batched matmul on [K, N, C].
    Fused {
        weight: Tensor,
        bias: Tensor,
        seeds_fused: i64,
        classes: i64,
    },
}

impl Classifier {
    fn forward(&self, x: &Tensor) -> Tensor {
        match self {
            Classifier::Single(fc) => fc.forward(x),
            Classifier::Fused {
                weight,
                bias,
                seeds_fused,
                classes,
            } => {
                let n = x.size()[0];
                // [N, K C] -> [K, N, C] x [K, C, classes] -> [N, K, classes].
                let h = x.view([n, *seeds_fused, -1]).transpose(0, 1);
                let w = weight.view([*seeds_fused, *classes, -1]).transpose(1, 2);
                h.bmm(&w).transpose(0, 1) + bias.view([*seeds_fused, *classes])
            }
        }
    }
}

#[derive(Debug)]
pub struct ResNet {
    pub shape: Shape,
    stem: (Conv, nn::BatchNorm),
    stages: Vec<Vec<Block>>,
    fc: Classifier,
    /// Fused seeds_fused (K); 1 for an ordinary network.
    pub seeds_fused: i64,
}

/// He et al. 2015, Sec. 3.3 and Table 3: how a shortcut crosses a change of dimensions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default, Hash)]
pub enum ShortcutOption {
    /// Identity; where dimensions grow, stride-2 subsampling and zero-padded channels (no parameters).
    #[default]
    A,
    /// Projection (1x1 conv + BN) only where dimensions grow, identity elsewhere.
    B,
    /// Projection on every shortcut.
    C,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum BlockKind {
    /// Two 3x3 convs (Fig. 5 left).
    #[default]
    Basic,
    /// 1x1 reduce, 3x3, 1x1 expand x4 (Fig. 5 right).
    Bottleneck,
}

impl BlockKind {
    /// Weight layers per residual unit of three stages: 6n+2 (basic), 9n+2 (bottleneck).
    fn layers_per_stage_unit(self) -> i64 {
        match self {
            BlockKind::Basic => 6,
            BlockKind::Bottleneck => 9,
        }
    }
}

/// He et al. 2015, Sec. 4.2: the CIFAR-10 ResNets, 6n+2 layers on 32x32 inputs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CifarResnetConfig {
    pub depth: i64,
    /// false: the "plain" counterpart, same stacks without shortcuts.
    pub residual: bool,
    #[serde(default)]
    pub shortcut: ShortcutOption,
    #[serde(default)]
    pub block: BlockKind,
    /// Filters of the first stage (16 in the paper); doubles per stage.
    #[serde(default = "default_cifar_width")]
    pub width: i64,
    #[serde(default = "default_cifar_classes")]
    pub classes: i64,
}

fn default_cifar_width() -> i64 {
    16
}
fn default_cifar_classes() -> i64 {
    10
}

impl CifarResnetConfig {
    /// Err names the key.
    pub fn validate(&self) -> Result<(), String> {
        let per = self.block.layers_per_stage_unit();
        if self.depth < per + 2 || (self.depth - 2) % per != 0 {
            return Err(format!(
                "depth: a CIFAR ResNet with {:?} blocks has {per}n+2 layers (20, 32, 44, 56, 110, 1202 for basic); got {}",
                self.block, self.depth
            ));
        }
        if self.width <= 0 {
            return Err(format!("width: must be positive, got {}", self.width));
        }
        if self.classes < 2 {
            return Err(format!("classes: at least 2, got {}", self.classes));
        }
        Ok(())
    }

    /// A lower bound on the memory of one training step at `batch` images,
    /// in bytes, counted from the architecture (Sec. 4.2) without building
    /// it: fp32 weights, gradients and momentum (3 x the parameters of the
    /// stacked 3x3 convolutions), and for each conv layer two activations
    /// kept for the backward pass (its output and its BN output). A depth
    /// typed by mistake (`model.depth=1202000`) is then refused with a clear
    /// error instead of an out-of-memory abort inside libtorch.
    pub fn min_training_bytes(&self, batch: i64) -> u128 {
        let per = self.block.layers_per_stage_unit() as u128;
        let n = (self.depth.max(2) as u128 - 2) / per;
        // Conv layers per stage: n units of 2 (basic) or 3 (bottleneck) layers.
        let layers = n.saturating_mul(per / 3);
        let w = self.width.max(1) as u128;
        let (mut params, mut acts) = (27 * w, 2 * w * 1024);
        for stage in 0..3u32 {
            let c = w << stage;
            let hw = 1024u128 >> (2 * stage);
            // A basic unit's 3x3 convs have 9c^2 weights each; a bottleneck's
            // 1x1 and 3x3 at least c^2.
            let weights = if per == 6 { 9 * c * c } else { c * c };
            params = params.saturating_add(layers.saturating_mul(weights));
            acts = acts.saturating_add(layers.saturating_mul(2 * c * hw));
        }
        let floats = params
            .saturating_mul(3)
            .saturating_add(acts.saturating_mul(batch.max(1) as u128));
        floats.saturating_mul(4)
    }

    /// The builder's spec (for a config that `validate` accepts).
    pub fn spec(&self) -> ResNetSpec {
        ResNetSpec::cifar(
            self.depth,
            self.block,
            self.residual,
            self.shortcut,
            self.width,
            self.classes,
        )
    }
}

/// He et al. 2015, Table 1: ImageNet ResNet-18/34/50/101/152 (and plain).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImagenetResnetConfig {
    pub depth: i64,
    pub residual: bool,
    /// Sec. 3.3: option B is the paper's default on ImageNet.
    #[serde(default = "default_imagenet_shortcut")]
    pub shortcut: ShortcutOption,
    #[serde(default = "default_imagenet_classes")]
    pub classes: i64,
}

fn default_imagenet_shortcut() -> ShortcutOption {
    ShortcutOption::B
}
fn default_imagenet_classes() -> i64 {
    1000
}

impl ImagenetResnetConfig {
    /// Err names the key.
    pub fn validate(&self) -> Result<(), String> {
        self.spec().map(|_| ()).ok_or_else(|| {
            format!(
                "depth: ImageNet ResNets have 18, 34, 50, 101 or 152 layers; got {}",
                self.depth
            )
        })?;
        if self.classes < 2 {
            return Err(format!("classes: at least 2, got {}", self.classes));
        }
        Ok(())
    }

    /// The builder's spec; None for a depth Table 1 does not have.
    pub fn spec(&self) -> Option<ResNetSpec> {
        ResNetSpec::imagenet(self.depth, self.residual, self.shortcut, self.classes)
    }
}

/// What to build.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ResNetSpec {
    pub shape: Shape,
    /// Residual units per stage.
    pub blocks_per_stage: [i64; 4],
    pub stages: usize,
    pub block: BlockKind,
    pub residual: bool,
    pub shortcut: ShortcutOption,
    pub width: i64,
    pub classes: i64,
    /// Runs trained side by side as one fused network (K); 1 for an ordinary one.
    pub seeds_fused: i64,
}

impl ResNetSpec {
    /// CIFAR: depth = 6n+2 (basic) or 9n+2 (bottleneck), three stages of n units.
    pub fn cifar(
        depth: i64,
        block: BlockKind,
        residual: bool,
        shortcut: ShortcutOption,
        width: i64,
        classes: i64,
    ) -> Self {
        let n = (depth - 2) / block.layers_per_stage_unit();
        Self {
            shape: Shape::Cifar,
            blocks_per_stage: [n, n, n, 0],
            stages: 3,
            block,
            residual,
            shortcut,
            width,
            classes,
            seeds_fused: 1,
        }
    }

    /// The same network for `seeds_fused` seeds fused side by side (see the module doc).
    pub fn fused(self, seeds_fused: i64) -> Self {
        Self {
            seeds_fused,
            ..self
        }
    }

    /// Table 1's ImageNet architectures; None for other depths.
    pub fn imagenet(
        depth: i64,
        residual: bool,
        shortcut: ShortcutOption,
        classes: i64,
    ) -> Option<Self> {
        let (blocks, block) = match depth {
            18 => ([2, 2, 2, 2], BlockKind::Basic),
            34 => ([3, 4, 6, 3], BlockKind::Basic),
            50 => ([3, 4, 6, 3], BlockKind::Bottleneck),
            101 => ([3, 4, 23, 3], BlockKind::Bottleneck),
            152 => ([3, 8, 36, 3], BlockKind::Bottleneck),
            _ => return None,
        };
        Some(Self {
            shape: Shape::Imagenet,
            blocks_per_stage: blocks,
            stages: 4,
            block,
            residual,
            shortcut,
            width: 64,
            classes,
            seeds_fused: 1,
        })
    }
}

impl ResNet {
    pub fn new(vs: &nn::Path, spec: &ResNetSpec) -> Self {
        let seeds_fused = spec.seeds_fused.max(1);
        let stem_c = spec.width;
        let stem = match spec.shape {
            Shape::Cifar => grouped_conv(&(vs / "stem"), 3, stem_c, 3, 1, 1, seeds_fused),
            Shape::Imagenet => grouped_conv(&(vs / "stem"), 3, stem_c, 7, 2, 3, seeds_fused),
        };
        let stem_bn = batch_norm(&(vs / "stem_bn"), seeds_fused * stem_c);
        let mut stages = Vec::new();
        let mut c = stem_c;
        for s in 0..spec.stages {
            let planes = spec.width << s;
            let mut blocks = Vec::new();
            for b in 0..spec.blocks_per_stage[s] {
                let stride = if s > 0 && b == 0 { 2 } else { 1 };
                let block = Block::new(
                    &(vs / format!("stage{}", s + 1) / format!("unit{}", b + 1)),
                    spec.block,
                    c,
                    planes,
                    stride,
                    spec.residual,
                    spec.shortcut,
                    seeds_fused,
                );
                c = block.out_channels();
                blocks.push(block);
            }
            stages.push(blocks);
        }
        let fc = if seeds_fused == 1 {
            Classifier::Single(counter::Linear::new(
                &(vs / "fc"),
                c,
                spec.classes,
                torch_linear(c),
            ))
        } else {
            let fc = vs / "fc";
            // Bias before weight, as `nn::linear` creates them: the SGD's flat
            // buffer follows creation order, and a fused run's velocity is cut
            // into separate seeds_fused' flat buffers by that order.
            let bias = fc.var("bias", &[seeds_fused * spec.classes], nn::Init::Const(0.0));
            let weight = fc.var("weight", &[seeds_fused * spec.classes, c], torch_linear(c));
            Classifier::Fused {
                weight,
                bias,
                seeds_fused,
                classes: spec.classes,
            }
        };
        Self {
            shape: spec.shape,
            stem: (stem, stem_bn),
            stages,
            fc,
            seeds_fused,
        }
    }

    fn forward_impl(
        &self,
        x: &Tensor,
        train: bool,
        mut responses: Option<&mut Vec<Tensor>>,
    ) -> Tensor {
        let mut h = self.stem.1.forward_t(&self.stem.0.forward(x), train);
        if let Some(r) = responses.as_deref_mut() {
            if self.stem.0.kernel == 3 {
                r.push(h.shallow_clone());
            }
        }
        h = h.relu();
        if self.shape == Shape::Imagenet {
            let p = h.max_pool2d([3, 3], [2, 2], [1, 1], [1, 1], false);
            counter::record_pool("pool", 3, 2, 1, &h, &p);
            h = p;
        }
        for stage in &self.stages {
            for block in stage {
                h = block.forward(&h, train, responses.as_deref_mut());
            }
        }
        let p = h.adaptive_avg_pool2d([1, 1]);
        // Global average pooling: one window over the whole final map.
        counter::record_pool("global-avg-pool", h.size()[3], 1, 0, &h, &p);
        self.fc.forward(&p.flatten(1, -1))
    }

    /// True when no shortcut has parameters (option A, or a plain net).
    pub fn parameter_free_shortcuts(&self) -> bool {
        self.stages
            .iter()
            .flatten()
            .all(|b| b.shortcut.parameters_free())
    }

    /// Describes each unit's shortcut: (stage, unit, "identity" | "pad-subsample" | "projection").
    pub fn shortcut_kinds(&self) -> Vec<(usize, usize, &'static str)> {
        let mut v = Vec::new();
        for (s, stage) in self.stages.iter().enumerate() {
            for (u, b) in stage.iter().enumerate() {
                let k = if !b.residual {
                    "none"
                } else {
                    match b.shortcut {
                        Shortcut::Identity => "identity",
                        Shortcut::PadSubsample { .. } => "pad-subsample",
                        Shortcut::Projection { .. } => "projection",
                    }
                };
                v.push((s + 1, u + 1, k));
            }
        }
        v
    }
}

impl Network for ResNet {
    fn forward_t(&self, x: &Tensor, train: bool) -> Tensor {
        self.forward_impl(x, train, None)
    }
    fn layer_responses(&self, x: &Tensor) -> Vec<Tensor> {
        let mut r = Vec::new();
        let _ = self.forward_impl(x, false, Some(&mut r));
        r
    }
}
