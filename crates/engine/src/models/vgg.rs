//! Simonyan & Zisserman 2014 ("Very Deep Convolutional Networks"), Table 1:
//! the configurations A, A-LRN, B, C, D, E as one builder driven by that table.
//!
//! Every configuration is five stages of 3x3 (C: some 1x1) stride-1 convolutions
//! with "same" padding and ReLU, each stage followed by 2x2 max pooling with
//! stride 2 (Sec. 2.1); then FC-4096, FC-4096, FC-1000 with dropout 0.5 after
//! the first two (Sec. 3.1). The CIFAR-10 shape keeps the conv stacks and adapts
//! the classifier to the 1x1x512 map left after five poolings of a 32x32 input.
//!
//! Dense evaluation (Sec. 3.2): at test time the fully connected layers act as
//! convolutions (the first as a 7x7 (ImageNet) or 1x1 (CIFAR) conv, the others
//! as 1x1 convs) on the whole image, and the class score map is averaged over
//! positions. The builder does exactly this whenever the final feature map is
//! larger than the training one, so any input size at least the training size
//! works; at the training size it is the plain fully connected path.
use super::counter::{self, Conv, Linear};
use super::layers::Lrn;
use super::Network;
use serde::{Deserialize, Serialize};
use tch::nn::{self, Init};
use tch::Tensor;

/// The columns of Table 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Hash)]
pub enum VggName {
    A,
    #[serde(rename = "A-LRN")]
    ALrn,
    B,
    C,
    D,
    E,
}

impl VggName {
    pub const ALL: [VggName; 6] = [
        VggName::A,
        VggName::ALrn,
        VggName::B,
        VggName::C,
        VggName::D,
        VggName::E,
    ];

    /// Kernel sizes of the conv layers of each of the five stages (Table 1).
    /// Filters per stage are `STAGE_FILTERS`.
    pub fn stages(self) -> [&'static [i64]; 5] {
        match self {
            VggName::A | VggName::ALrn => [&[3], &[3], &[3, 3], &[3, 3], &[3, 3]],
            VggName::B => [&[3, 3], &[3, 3], &[3, 3], &[3, 3], &[3, 3]],
            // C: a 1x1 conv ends stages 3-5 ("conv1-256", "conv1-512").
            VggName::C => [&[3, 3], &[3, 3], &[3, 3, 1], &[3, 3, 1], &[3, 3, 1]],
            VggName::D => [&[3, 3], &[3, 3], &[3, 3, 3], &[3, 3, 3], &[3, 3, 3]],
            VggName::E => [
                &[3, 3],
                &[3, 3],
                &[3, 3, 3, 3],
                &[3, 3, 3, 3],
                &[3, 3, 3, 3],
            ],
        }
    }

    /// Weight layers (conv + fc): 11, 11, 13, 16, 16, 19.
    pub fn weight_layers(self) -> usize {
        self.stages().iter().map(|s| s.len()).sum::<usize>() + 3
    }

    pub fn label(self) -> &'static str {
        match self {
            VggName::A => "A",
            VggName::ALrn => "A-LRN",
            VggName::B => "B",
            VggName::C => "C",
            VggName::D => "D",
            VggName::E => "E",
        }
    }
}

/// Table 1: conv filters of the five stages.
pub const STAGE_FILTERS: [i64; 5] = [64, 128, 256, 512, 512];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum VggShape {
    /// 224x224 input, 7x7x512 before the classifier, FC-4096, FC-4096, FC-1000.
    #[default]
    Imagenet,
    /// 32x32 input, 1x1x512 before the classifier (same conv stacks).
    Cifar,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum VggInit {
    /// Sec. 3.1: weights ~ N(0, 10^-2), biases 0 (how net A was trained).
    Normal,
    /// Sec. 3.1, last paragraph: Glorot & Bengio (2010) initialisation, which the
    /// authors found makes pre-training unnecessary. Uniform, biases 0.
    Glorot,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VggConfig {
    /// Column of Table 1: "A", "A-LRN", "B", "C", "D", "E".
    pub config: VggName,
    #[serde(default)]
    pub shape: VggShape,
    /// Divide every conv layer's filters by this (1 = the paper's widths). A
    /// labelled speed knob for shortened CPU profiles.
    #[serde(default = "one")]
    pub width_divisor: i64,
    /// Units of the two hidden fc layers (paper: 4096). Default: 4096 for the
    /// ImageNet shape, 512 for the CIFAR shape.
    #[serde(default)]
    pub fc_hidden: Option<i64>,
    /// Sec. 3.1: dropout ratio 0.5 on the first two fc layers.
    #[serde(default = "half")]
    pub dropout: f64,
    pub init: VggInit,
    /// Sec. 3.1: initialise the first four conv layers and the last three fc
    /// layers from the trained net of this run (net A), the rest as `init`.
    /// The run must come earlier in the profile's run list.
    #[serde(default)]
    pub init_from: Option<String>,
    /// Which layers `init_from` copies. Default: Sec. 3.1's seven layers of net A.
    #[serde(default, skip_serializing_if = "InitLayers::is_net_a")]
    pub init_layers: InitLayers,
    #[serde(default)]
    pub classes: Option<i64>,
}

/// The layers a run copies from the run it starts from (`init_from`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum InitLayers {
    /// Sec. 3.1: "we initialised the first four convolutional layers and the
    /// last three fully-connected layers with the layers of net A" (the
    /// intermediate layers from `init`).
    #[default]
    NetA,
    /// Every layer: Sec. 3.1's fine-tuning. "To speed-up training of the
    /// S = 384 network, it was initialised with the weights pre-trained with
    /// S = 256", and "we trained multi-scale models by fine-tuning all layers of
    /// a single-scale model with the same configuration, pre-trained with fixed
    /// S = 384". The source must have this run's configuration.
    All,
}

impl InitLayers {
    /// The default, left out of saved configs so that earlier ones keep their hashes.
    pub fn is_net_a(&self) -> bool {
        *self == InitLayers::NetA
    }
}

fn one() -> i64 {
    1
}
fn half() -> f64 {
    0.5
}

impl VggConfig {
    pub fn input_size(&self) -> i64 {
        match self.shape {
            VggShape::Imagenet => 224,
            VggShape::Cifar => 32,
        }
    }
    pub fn classes(&self) -> i64 {
        self.classes.unwrap_or(match self.shape {
            VggShape::Imagenet => 1000,
            VggShape::Cifar => 10,
        })
    }
    pub fn fc_hidden(&self) -> i64 {
        self.fc_hidden.unwrap_or(match self.shape {
            VggShape::Imagenet => 4096,
            VggShape::Cifar => 512,
        })
    }
    pub fn name(&self) -> String {
        format!("vgg-{}", self.config.label())
    }

    /// Err names the key.
    pub fn validate(&self) -> Result<(), String> {
        if self.width_divisor < 1 || STAGE_FILTERS.iter().any(|f| f % self.width_divisor != 0) {
            return Err(format!(
                "width_divisor: must divide 64 (the narrowest stage), got {}",
                self.width_divisor
            ));
        }
        if self.fc_hidden() < 1 {
            return Err(format!(
                "fc_hidden: must be positive, got {}",
                self.fc_hidden()
            ));
        }
        if self.classes() < 2 {
            return Err(format!("classes: at least 2, got {}", self.classes()));
        }
        if self.init_layers == InitLayers::All && self.init_from.is_none() {
            return Err(
                "model.init_layers: \"all\" copies from another run; set model.init_from".into(),
            );
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return Err(format!("dropout: must be in [0, 1), got {}", self.dropout));
        }
        Ok(())
    }

    /// Names of the variables (`<layer>.weight`/`<layer>.bias`) that Sec. 3.1's
    /// initialisation copies from net A: the first four conv layers of A
    /// (conv1_1, conv2_1, conv3_1, conv3_2; every deeper net has layers of those
    /// names and shapes) and the three fc layers.
    pub fn transferred_layers() -> &'static [&'static str] {
        &[
            "conv1_1", "conv2_1", "conv3_1", "conv3_2", "fc6", "fc7", "fc8",
        ]
    }

    /// The layers `init_from` copies; None: every variable of the net.
    pub fn copied_layers(&self) -> Option<&'static [&'static str]> {
        match self.init_layers {
            InitLayers::NetA => Some(Self::transferred_layers()),
            InitLayers::All => None,
        }
    }
}

#[derive(Debug)]
pub struct Vgg {
    cfg: VggConfig,
    /// Conv layers per stage.
    stages: Vec<Vec<Conv>>,
    fcs: [Linear; 3],
    /// Side of the final feature map at the training input size (7 or 1).
    map: i64,
}

fn glorot(fan_in: i64, fan_out: i64) -> Init {
    let b = (6.0 / (fan_in + fan_out) as f64).sqrt();
    Init::Uniform { lo: -b, up: b }
}

impl Vgg {
    pub fn new(vs: &nn::Path, cfg: &VggConfig) -> Self {
        let w_init = |fan_in: i64, fan_out: i64| match cfg.init {
            VggInit::Normal => Init::Randn {
                mean: 0.0,
                stdev: 0.01,
            },
            VggInit::Glorot => glorot(fan_in, fan_out),
        };
        let mut c = 3;
        let mut stages = Vec::new();
        for (s, kernels) in cfg.config.stages().iter().enumerate() {
            let f = STAGE_FILTERS[s] / cfg.width_divisor;
            let mut convs = Vec::new();
            for (j, &k) in kernels.iter().enumerate() {
                convs.push(Conv::with(
                    &(vs / format!("conv{}_{}", s + 1, j + 1)),
                    c,
                    f,
                    k,
                    1,
                    k / 2,
                    1,
                    true,
                    w_init(c * k * k, f * k * k),
                    Init::Const(0.0),
                ));
                c = f;
            }
            stages.push(convs);
        }
        let map = cfg.input_size() / 32;
        let h = cfg.fc_hidden();
        let d = c * map * map;
        let fc = |name: &str, i: i64, o: i64| {
            Linear::with(&(vs / name), i, o, w_init(i, o), Init::Const(0.0))
        };
        let fcs = [
            fc("fc6", d, h),
            fc("fc7", h, h),
            fc("fc8", h, cfg.classes()),
        ];
        Self {
            cfg: cfg.clone(),
            stages,
            fcs,
            map,
        }
    }

    /// The conv stacks: [N, 512, H/32, W/32].
    pub fn features(&self, x: &Tensor) -> Tensor {
        let mut h = x.shallow_clone();
        for (s, convs) in self.stages.iter().enumerate() {
            for (j, conv) in convs.iter().enumerate() {
                h = conv.forward(&h).relu();
                // Table 1: A-LRN has LRN after its first layer, with AlexNet's parameters (Sec. 2.1).
                if self.cfg.config == VggName::ALrn && s == 0 && j == 0 {
                    h = Lrn::ALEXNET.forward(&h);
                }
            }
            let p = h.max_pool2d([2, 2], [2, 2], [0, 0], [1, 1], false);
            counter::record_pool("pool", 2, 2, 0, &h, &p);
            h = p;
        }
        h
    }

    /// Sec. 3.2: the fc layers as convolutions over the whole feature map,
    /// the class score map averaged over positions.
    pub fn dense_classifier(&self, f: &Tensor) -> Tensor {
        let conv = |lin: &Linear, h: &Tensor, k: i64| {
            let w = lin.lin.ws.view([lin.out_features, -1, k, k]);
            h.conv2d(&w, lin.lin.bs.as_ref(), [1, 1], [0, 0], [1, 1], 1)
        };
        let h = conv(&self.fcs[0], f, self.map).relu();
        let h = conv(&self.fcs[1], &h, 1).relu();
        let scores = conv(&self.fcs[2], &h, 1);
        scores.mean_dim(&[2i64, 3][..], false, scores.kind())
    }
}

impl Network for Vgg {
    fn forward_t(&self, x: &Tensor, train: bool) -> Tensor {
        let f = self.features(x);
        let (fh, fw) = (f.size()[2], f.size()[3]);
        if !train && (fh != self.map || fw != self.map) {
            return self.dense_classifier(&f);
        }
        let mut h = f.flatten(1, -1);
        for (i, fc) in self.fcs.iter().enumerate() {
            h = fc.forward(&h);
            if i < 2 {
                h = h.relu().dropout(self.cfg.dropout, train);
            }
        }
        h
    }
}
