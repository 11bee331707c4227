//! Szegedy et al. 2014 ("Going Deeper with Convolutions", arXiv:1409.4842):
//! GoogLeNet as Table 1 gives it, with the ablations of Sec. 4-5 as knobs.
//!
//! ImageNet shape (224x224, Table 1): conv 7x7/2 64, max-pool 3x3/2, LRN,
//! conv 1x1 64 (the "#3x3 reduce" of the conv2 row), conv 3x3 192, LRN,
//! max-pool 3x3/2; inception 3a, 3b; max-pool 3x3/2; 4a-4e; max-pool 3x3/2;
//! 5a, 5b; average pool 7x7; dropout 40%; linear; every conv followed by ReLU
//! ("All the convolutions, including those inside the Inception modules, use
//! rectified linear activation", Sec. 5). Max-pools round the output size up
//! (Caffe's pooling, as in BVLC's bvlc_googlenet), unpadded: 112 -> 56 -> 28 ->
//! 14 -> 7.
//!
//! Inception module (`reductions = true`, Fig. 2(b)): 1x1; 1x1 reduce -> 3x3;
//! 1x1 reduce -> 5x5; 3x3 max-pool (stride 1, pad 1) -> 1x1 pool projection;
//! the four outputs concatenated along channels. The naive module
//! (`reductions = false`, Fig. 2(a)) applies the 1x1, 3x3 and 5x5 convolutions
//! (Table 1's #1x1, #3x3, #5x5 widths) directly to the input and concatenates
//! the 3x3 max-pool of the input itself: with no pool projection the pool branch
//! passes all input channels through, so a module outputs #1x1 + #3x3 + #5x5 +
//! its input channels and the width grows from module to module (the "blow-up"
//! Sec. 4 warns of): 3a gives 64 + 128 + 32 + 192 = 416 channels, 5b 4944.
//!
//! Auxiliary classifiers (Sec. 5), on the outputs of 4a and 4d, used in training
//! only (`Network::forward_aux`, loss weight 0.3 each): average pooling 5x5/3
//! (14x14 -> 4x4), conv 1x1 128 + ReLU, fc 1024 + ReLU, dropout 70%, linear.
//!
//! CIFAR shape (32x32; this crate's analogue, not in the paper): the stem is
//! one conv 3x3 192 (pad 1) + ReLU, with no downsampling and no LRN, so inception
//! 3a receives 32x32x192 as it receives 28x28x192 on ImageNet; then the same
//! inception stack 3a-5b with the same two max-pools between stages
//! (32 -> 16 -> 8) and global average pooling over the final 8x8 map. The
//! auxiliary classifiers pool their 16x16 input adaptively to 4x4 (the map they
//! see on ImageNet) instead of 5x5/3.
//!
//! Head (`head`): "avg-pool" is Table 1's global average pooling -> dropout ->
//! linear; "fc" is Sec. 5's comparison point, the last feature map (7x7x1024,
//! CIFAR 8x8x1024) flattened into fc 1024 + ReLU, dropout, linear. The fc head
//! needs the training input size.
//!
//! Initialisation: the paper gives none. We follow BVLC's replication
//! (models/bvlc_googlenet/train_val.prototxt in BVLC/caffe, whose readme says it
//! uses "xavier" instead of the paper's "gaussian"): Caffe's "xavier" filler for
//! every conv and fc weight, which with its default `variance_norm: FAN_IN` is
//! U(-a, a), a = sqrt(3 / fan_in) (not Glorot's sqrt(6 / (fan_in + fan_out)));
//! biases constant 0.2 for the convolutions and hidden fc layers and 0 for the
//! classifiers, as in that file.
use super::counter::{self, Conv, LayerRecord, Linear};
use super::layers::Lrn;
use super::Network;
use serde::{Deserialize, Serialize};
use tch::nn::{self, Init};
use tch::Tensor;

/// One row of Table 1: the filters of an inception module's branches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InceptionRow {
    /// `3a` ... `5b`.
    pub name: &'static str,
    pub n1x1: i64,
    pub n3x3_reduce: i64,
    pub n3x3: i64,
    pub n5x5_reduce: i64,
    pub n5x5: i64,
    pub pool_proj: i64,
}

const fn row(name: &'static str, w: [i64; 6]) -> InceptionRow {
    InceptionRow {
        name,
        n1x1: w[0],
        n3x3_reduce: w[1],
        n3x3: w[2],
        n5x5_reduce: w[3],
        n5x5: w[4],
        pool_proj: w[5],
    }
}

/// Table 1 of Szegedy et al. 2014, the inception rows: #1x1, #3x3 reduce, #3x3,
/// #5x5 reduce, #5x5, pool proj.
pub const TABLE1: [InceptionRow; 9] = [
    row("3a", [64, 96, 128, 16, 32, 32]),
    row("3b", [128, 128, 192, 32, 96, 64]),
    row("4a", [192, 96, 208, 16, 48, 64]),
    row("4b", [160, 112, 224, 24, 64, 64]),
    row("4c", [128, 128, 256, 24, 64, 64]),
    row("4d", [112, 144, 288, 32, 64, 64]),
    row("4e", [256, 160, 320, 32, 128, 128]),
    row("5a", [256, 160, 320, 32, 128, 128]),
    row("5b", [384, 192, 384, 48, 128, 128]),
];

/// Table 1's stem filters: conv1 7x7/2 64, conv2's 1x1 reduce 64 and 3x3 192.
pub const STEM_FILTERS: [i64; 3] = [64, 64, 192];
/// Table 1: a 3x3/2 max-pool follows these modules.
const POOL_AFTER: [&str; 2] = ["3b", "4e"];
/// Sec. 5: the auxiliary classifiers sit on the outputs of these modules.
pub const AUX_AFTER: [&str; 2] = ["4a", "4d"];
/// Sec. 5: "their loss gets added to the total loss of the network with a discount weight (0.3)".
pub const AUX_LOSS_WEIGHT: f64 = 0.3;
/// Sec. 5: dropout with 70% ratio in the auxiliary classifiers.
pub const AUX_DROPOUT: f64 = 0.7;
/// Sec. 5: the auxiliary classifiers' 1x1 conv filters and fc units.
pub const AUX_CONV_FILTERS: i64 = 128;
/// Units of the hidden fc layer of the auxiliary classifiers (Sec. 5) and of `head = "fc"`.
pub const HIDDEN_FC: i64 = 1024;
/// The `kind` of the pooling branch inside inception modules in a trace (beside the main path).
pub const INCEPTION_POOL: &str = "inception-pool";

/// BVLC's bvlc_googlenet: constant 0.2 biases for convolutions and hidden fc layers.
const BIAS: f64 = 0.2;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum GoogLeNetShape {
    /// 224x224 input, Table 1 exactly.
    Imagenet,
    /// 32x32 input: one-conv stem, the same inception stack (module doc).
    Cifar,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum GoogLeNetHead {
    /// Table 1: global average pooling, dropout, linear.
    #[default]
    AvgPool,
    /// Sec. 5's comparison: the final feature map flattened into fc 1024 + ReLU, dropout, linear.
    Fc,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GoogLeNetConfig {
    /// "imagenet" (224x224, Table 1) or "cifar" (32x32 analogue). Required.
    pub shape: GoogLeNetShape,
    /// true: Fig. 2(b), 1x1 reductions before the 3x3 and 5x5 convs and a pool
    /// projection; false: the naive module of Fig. 2(a).
    #[serde(default = "yes")]
    pub reductions: bool,
    /// Sec. 5: the two auxiliary classifiers (training only).
    #[serde(default = "yes")]
    pub aux_classifiers: bool,
    /// "avg-pool" (Table 1) or "fc" (Sec. 5's comparison).
    #[serde(default)]
    pub head: GoogLeNetHead,
    /// Dropout ratio before the main classifier (Table 1: 40%). The auxiliary
    /// classifiers' 70% is fixed (`AUX_DROPOUT`).
    #[serde(default = "default_dropout")]
    pub dropout: f64,
    /// Divide every conv's filters and every hidden fc layer's units by this
    /// (1 = the paper's widths); must divide 8, the greatest common divisor of
    /// Table 1's counts, so every branch shrinks by the same factor. A labelled
    /// speed knob for shortened CPU profiles.
    #[serde(default = "one")]
    pub width_divisor: i64,
    /// Table 1's LRN after the first max-pool and after conv2 (ImageNet shape;
    /// the CIFAR stem has none, so it is ignored there). The paper does not give
    /// its LRN constants: AlexNet's (`Lrn::ALEXNET`) are used.
    #[serde(default = "yes")]
    pub lrn: bool,
    /// Default 1000 (ImageNet shape) or 10 (CIFAR shape).
    #[serde(default)]
    pub classes: Option<i64>,
}

fn yes() -> bool {
    true
}
fn one() -> i64 {
    1
}
fn default_dropout() -> f64 {
    0.4
}

fn gcd(a: i64, b: i64) -> i64 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

/// The greatest common divisor of every filter and hidden-unit count of Table 1
/// and Sec. 5 (8: 16, 24 and 208 among them); `width_divisor` must divide it.
pub fn width_gcd() -> i64 {
    TABLE1
        .iter()
        .flat_map(|r| {
            [
                r.n1x1,
                r.n3x3_reduce,
                r.n3x3,
                r.n5x5_reduce,
                r.n5x5,
                r.pool_proj,
            ]
        })
        .chain(STEM_FILTERS)
        .chain([AUX_CONV_FILTERS, HIDDEN_FC])
        .fold(0, gcd)
}

impl GoogLeNetConfig {
    /// The paper's network for `shape` (every knob at its default).
    pub fn paper(shape: GoogLeNetShape) -> Self {
        Self {
            shape,
            reductions: true,
            aux_classifiers: true,
            head: GoogLeNetHead::AvgPool,
            dropout: default_dropout(),
            width_divisor: 1,
            lrn: true,
            classes: None,
        }
    }

    pub fn input_size(&self) -> i64 {
        match self.shape {
            GoogLeNetShape::Imagenet => 224,
            GoogLeNetShape::Cifar => 32,
        }
    }

    /// Side of the map inception 5b outputs at the input size: 7 or 8.
    pub fn final_map(&self) -> i64 {
        match self.shape {
            GoogLeNetShape::Imagenet => 7,
            GoogLeNetShape::Cifar => 8,
        }
    }

    pub fn classes(&self) -> i64 {
        self.classes.unwrap_or(match self.shape {
            GoogLeNetShape::Imagenet => 1000,
            GoogLeNetShape::Cifar => 10,
        })
    }

    /// `googlenet`, with `-naive`, `-noaux`, `-fc`, `-nolrn` where a knob
    /// differs from the paper's network.
    pub fn name(&self) -> String {
        let mut s = String::from("googlenet");
        if !self.reductions {
            s += "-naive";
        }
        if !self.aux_classifiers {
            s += "-noaux";
        }
        if self.head == GoogLeNetHead::Fc {
            s += "-fc";
        }
        if !self.lrn && self.shape == GoogLeNetShape::Imagenet {
            s += "-nolrn";
        }
        s
    }

    /// Layers with parameters on the deepest path, the paper's count (22 for
    /// Table 1's net: conv1, conv2 reduce, conv2, two per inception module, the
    /// classifier). The naive module counts one, the CIFAR stem one, the fc head two.
    pub fn weight_layers(&self) -> i64 {
        let stem = match self.shape {
            GoogLeNetShape::Imagenet => 3,
            GoogLeNetShape::Cifar => 1,
        };
        let per_module = if self.reductions { 2 } else { 1 };
        let head = match self.head {
            GoogLeNetHead::AvgPool => 1,
            GoogLeNetHead::Fc => 2,
        };
        stem + per_module * TABLE1.len() as i64 + head
    }

    /// Err names the key.
    pub fn validate(&self) -> Result<(), String> {
        let g = width_gcd();
        if self.width_divisor < 1 || g % self.width_divisor != 0 {
            return Err(format!(
                "width_divisor: must divide {g} (the greatest common divisor of Table 1's filter counts): 1, 2, 4 or 8; got {}",
                self.width_divisor
            ));
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return Err(format!("dropout: must be in [0, 1), got {}", self.dropout));
        }
        if self.classes() < 2 {
            return Err(format!("classes: at least 2, got {}", self.classes()));
        }
        Ok(())
    }
}

/// Caffe's "xavier" filler with its default `variance_norm: FAN_IN`:
/// U(-sqrt(3 / fan_in), sqrt(3 / fan_in)).
pub fn caffe_xavier(fan_in: i64) -> Init {
    let a = (3.0 / fan_in as f64).sqrt();
    Init::Uniform { lo: -a, up: a }
}

fn conv(vs: &nn::Path, i: i64, o: i64, k: i64, stride: i64, padding: i64) -> Conv {
    let (w, b) = (caffe_xavier(i * k * k), Init::Const(BIAS));
    Conv::with(vs, i, o, k, stride, padding, 1, true, w, b)
}

fn linear(vs: &nn::Path, i: i64, o: i64, bias: f64) -> Linear {
    Linear::with(vs, i, o, caffe_xavier(i), Init::Const(bias))
}

fn relu_conv(c: &Conv, x: &Tensor) -> Tensor {
    c.forward(x).relu()
}

/// Table 1's 3x3/2 max-pool, rounding up as Caffe does (112 -> 56, 56 -> 28, 28 -> 14, 14 -> 7; 32 -> 16 -> 8).
fn max_pool(h: &Tensor) -> Tensor {
    let p = h.max_pool2d([3, 3], [2, 2], [0, 0], [1, 1], true);
    counter::record_pool("pool", 3, 2, 0, h, &p);
    p
}

/// Whether a traced layer of GoogLeNet is beside its main path for receptive
/// fields (`receptive`): every inception branch but the 5x5 one (whose field is
/// the largest: 5x5 adds 4 jumps, the 3x3 and the 3x3 pool 2), the pooling
/// branch, and the auxiliary classifiers.
pub fn beside_main_path(r: &LayerRecord) -> bool {
    if r.kind == INCEPTION_POOL {
        return true;
    }
    let parts: Vec<&str> = r.name.split('.').collect();
    parts.iter().any(|p| p.starts_with("aux"))
        || parts
            .windows(2)
            .any(|w| w[0].starts_with("inception_") && !matches!(w[1], "5x5_reduce" | "5x5"))
}

/// An inception module (Fig. 2): its variables are `<path>.1x1`, `.3x3_reduce`,
/// `.3x3`, `.5x5_reduce`, `.5x5`, `.pool_proj` (Caffe's names), the reductions
/// and the projection absent in the naive module.
#[derive(Debug)]
pub struct Inception {
    /// `inception_3a`.
    pub name: String,
    b1x1: Conv,
    b3x3_reduce: Option<Conv>,
    b3x3: Conv,
    b5x5_reduce: Option<Conv>,
    b5x5: Conv,
    pool_proj: Option<Conv>,
    pub in_channels: i64,
    pub out_channels: i64,
}

impl Inception {
    /// The module of `row` on `in_channels` inputs, every width divided by `width_divisor`.
    pub fn new(
        vs: &nn::Path,
        in_channels: i64,
        row: &InceptionRow,
        reductions: bool,
        width_divisor: i64,
    ) -> Self {
        let w = |n: i64| n / width_divisor;
        let c = |name: &str, i: i64, o: i64, k: i64| conv(&(vs / name), i, o, k, 1, k / 2);
        let reduce = |name: &str, n: i64| reductions.then(|| c(name, in_channels, w(n), 1));
        let b3x3_reduce = reduce("3x3_reduce", row.n3x3_reduce);
        let b5x5_reduce = reduce("5x5_reduce", row.n5x5_reduce);
        let input_of = |r: &Option<Conv>| r.as_ref().map_or(in_channels, |r| r.out_channels);
        let b3x3 = c("3x3", input_of(&b3x3_reduce), w(row.n3x3), 3);
        let b5x5 = c("5x5", input_of(&b5x5_reduce), w(row.n5x5), 5);
        let pool_proj = reductions.then(|| c("pool_proj", in_channels, w(row.pool_proj), 1));
        let pool_out = pool_proj.as_ref().map_or(in_channels, |p| p.out_channels);
        Self {
            name: format!("inception_{}", row.name),
            b1x1: c("1x1", in_channels, w(row.n1x1), 1),
            out_channels: w(row.n1x1) + b3x3.out_channels + b5x5.out_channels + pool_out,
            b3x3_reduce,
            b3x3,
            b5x5_reduce,
            b5x5,
            pool_proj,
            in_channels,
        }
    }

    /// The four branches concatenated along channels: 1x1, 3x3, 5x5, pool.
    pub fn forward(&self, x: &Tensor) -> Tensor {
        let branch = |reduce: &Option<Conv>, c: &Conv| match reduce {
            Some(r) => relu_conv(c, &relu_conv(r, x)),
            None => relu_conv(c, x),
        };
        let b1 = relu_conv(&self.b1x1, x);
        let b3 = branch(&self.b3x3_reduce, &self.b3x3);
        let b5 = branch(&self.b5x5_reduce, &self.b5x5);
        let p = x.max_pool2d([3, 3], [1, 1], [1, 1], [1, 1], false);
        counter::record_pool(INCEPTION_POOL, 3, 1, 1, x, &p);
        let pool = match &self.pool_proj {
            Some(proj) => relu_conv(proj, &p),
            None => p,
        };
        Tensor::cat(&[b1, b3, b5, pool], 1)
    }
}

/// Sec. 5's auxiliary classifier.
#[derive(Debug)]
struct AuxHead {
    /// Index into `TABLE1` of the module whose output it reads.
    after: usize,
    conv: Conv,
    fc: Linear,
    classifier: Linear,
}

impl AuxHead {
    fn new(vs: &nn::Path, after: usize, in_channels: i64, cfg: &GoogLeNetConfig) -> Self {
        let d = cfg.width_divisor;
        let conv = conv(&(vs / "conv"), in_channels, AUX_CONV_FILTERS / d, 1, 1, 0);
        // A 4x4 map after the pooling, as on ImageNet (14x14, 5x5/3).
        let fc = linear(&(vs / "fc"), conv.out_channels * 16, HIDDEN_FC / d, BIAS);
        let classifier = linear(&(vs / "classifier"), fc.out_features, cfg.classes(), 0.0);
        Self {
            after,
            conv,
            fc,
            classifier,
        }
    }

    fn forward(&self, x: &Tensor, shape: GoogLeNetShape, train: bool) -> Tensor {
        let p = match shape {
            // Sec. 5: 5x5 average pooling with stride 3 (Caffe rounds up, here exact: 14 -> 4).
            GoogLeNetShape::Imagenet => x.avg_pool2d([5, 5], [3, 3], [0, 0], true, true, None),
            // The CIFAR analogue: 16x16 -> 4x4.
            GoogLeNetShape::Cifar => x.adaptive_avg_pool2d([4, 4]),
        };
        let h = relu_conv(&self.conv, &p).flatten(1, -1);
        let h = self.fc.forward(&h).relu().dropout(AUX_DROPOUT, train);
        self.classifier.forward(&h)
    }
}

/// Collects the shape of each stage's output when asked (`GoogLeNet::output_shapes`).
struct Tap<'a>(Option<&'a mut Vec<(String, Vec<i64>)>>);

impl Tap<'_> {
    fn see(&mut self, name: &str, t: &Tensor) {
        if let Some(v) = self.0.as_deref_mut() {
            v.push((name.to_string(), t.size()));
        }
    }
}

#[derive(Debug)]
pub struct GoogLeNet {
    cfg: GoogLeNetConfig,
    /// ImageNet: conv1, conv2_reduce, conv2; CIFAR: conv1.
    stem: Vec<Conv>,
    /// Table 1's nine modules, 3a ... 5b.
    pub modules: Vec<Inception>,
    aux: Vec<AuxHead>,
    /// The hidden fc layer of `head = "fc"`.
    fc: Option<Linear>,
    classifier: Linear,
}

impl GoogLeNet {
    pub fn new(vs: &nn::Path, cfg: &GoogLeNetConfig) -> Self {
        let d = cfg.width_divisor;
        let stem = match cfg.shape {
            GoogLeNetShape::Imagenet => {
                let [c1, c2r, c2] = STEM_FILTERS.map(|f| f / d);
                vec![
                    conv(&(vs / "conv1"), 3, c1, 7, 2, 3),
                    conv(&(vs / "conv2_reduce"), c1, c2r, 1, 1, 0),
                    conv(&(vs / "conv2"), c2r, c2, 3, 1, 1),
                ]
            }
            GoogLeNetShape::Cifar => vec![conv(&(vs / "conv1"), 3, STEM_FILTERS[2] / d, 3, 1, 1)],
        };
        let mut c = stem.last().map_or(3, |s| s.out_channels);
        let (mut modules, mut aux) = (Vec::new(), Vec::new());
        for (i, r) in TABLE1.iter().enumerate() {
            let path = vs / format!("inception_{}", r.name);
            let m = Inception::new(&path, c, r, cfg.reductions, d);
            c = m.out_channels;
            if let Some(k) = AUX_AFTER.iter().position(|a| *a == r.name) {
                if cfg.aux_classifiers {
                    aux.push(AuxHead::new(&(vs / format!("aux{}", k + 1)), i, c, cfg));
                }
            }
            modules.push(m);
        }
        let fc = (cfg.head == GoogLeNetHead::Fc).then(|| {
            linear(
                &(vs / "fc"),
                c * cfg.final_map().pow(2),
                HIDDEN_FC / d,
                BIAS,
            )
        });
        let features = fc.as_ref().map_or(c, |f| f.out_features);
        Self {
            cfg: cfg.clone(),
            stem,
            modules,
            aux,
            fc,
            classifier: linear(&(vs / "classifier"), features, cfg.classes(), 0.0),
        }
    }

    pub fn config(&self) -> &GoogLeNetConfig {
        &self.cfg
    }

    /// The name and shape of each stage's output for `x` in eval mode: `conv1`,
    /// `pool1`, `conv2_reduce`, `conv2`, `pool2` (ImageNet stem; CIFAR: `conv1`),
    /// `inception_3a` ... `inception_5b` with `pool3` after 3b and `pool4` after
    /// 4e, then `pool5` (avg-pool head) or `fc`, and `classifier`.
    pub fn output_shapes(&self, x: &Tensor) -> Vec<(String, Vec<i64>)> {
        let mut v = Vec::new();
        let _ = self.forward_impl(x, false, false, &mut Tap(Some(&mut v)));
        v
    }

    fn stem_forward(&self, x: &Tensor, tap: &mut Tap) -> Tensor {
        let h = relu_conv(&self.stem[0], x);
        tap.see("conv1", &h);
        if self.cfg.shape == GoogLeNetShape::Cifar {
            return h;
        }
        let lrn = |h: Tensor| {
            if self.cfg.lrn {
                Lrn::ALEXNET.forward(&h)
            } else {
                h
            }
        };
        let h = max_pool(&h);
        tap.see("pool1", &h);
        let h = relu_conv(&self.stem[1], &lrn(h));
        tap.see("conv2_reduce", &h);
        let h = relu_conv(&self.stem[2], &h);
        tap.see("conv2", &h);
        let h = max_pool(&lrn(h));
        tap.see("pool2", &h);
        h
    }

    fn head_forward(&self, h: &Tensor, train: bool, tap: &mut Tap) -> Tensor {
        let features = match &self.fc {
            None => {
                let p = h.adaptive_avg_pool2d([1, 1]);
                // Global average pooling: one window over the whole final map (Table 1's 7x7).
                counter::record_pool("global-avg-pool", h.size()[3], 1, 0, h, &p);
                tap.see("pool5", &p);
                p.flatten(1, -1)
            }
            Some(fc) => {
                let f = fc.forward(&h.flatten(1, -1)).relu();
                tap.see("fc", &f);
                f
            }
        };
        let logits = self
            .classifier
            .forward(&features.dropout(self.cfg.dropout, train));
        tap.see("classifier", &logits);
        logits
    }

    /// Main logits, and the auxiliary classifiers' (weighted) when `with_aux`.
    fn forward_impl(
        &self,
        x: &Tensor,
        train: bool,
        with_aux: bool,
        tap: &mut Tap,
    ) -> (Tensor, Vec<(f64, Tensor)>) {
        let mut h = self.stem_forward(x, tap);
        let mut aux = Vec::new();
        for (i, m) in self.modules.iter().enumerate() {
            h = m.forward(&h);
            tap.see(&m.name, &h);
            if with_aux {
                for a in self.aux.iter().filter(|a| a.after == i) {
                    aux.push((AUX_LOSS_WEIGHT, a.forward(&h, self.cfg.shape, train)));
                }
            }
            if let Some(k) = POOL_AFTER.iter().position(|p| *p == TABLE1[i].name) {
                h = max_pool(&h);
                tap.see(&format!("pool{}", k + 3), &h);
            }
        }
        (self.head_forward(&h, train, tap), aux)
    }
}

impl Network for GoogLeNet {
    /// The main classifier only (no auxiliary computation).
    fn forward_t(&self, x: &Tensor, train: bool) -> Tensor {
        self.forward_impl(x, train, false, &mut Tap(None)).0
    }

    /// Sec. 5: in training, the two auxiliary classifiers' logits with weight 0.3
    /// each; at inference (and with `aux_classifiers = false`) none.
    fn forward_aux(&self, x: &Tensor, train: bool) -> (Tensor, Vec<(f64, Tensor)>) {
        self.forward_impl(x, train, train && !self.aux.is_empty(), &mut Tap(None))
    }
}
