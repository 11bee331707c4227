//! cuda-convnet's CIFAR-10 networks (the code behind AlexNet's CIFAR-10
//! statements) as one builder. "layers-80sec", "layers-18pct" and the
//! "conv-local" nets are data in `experiments/*.toml`, not code: filters,
//! pooling, LRN, locally-connected layers, hidden fc layers, activation, init.
//! Per-layer kernels, strides, paddings and groups make the full ImageNet AlexNet
//! (Sec. 3.5, Fig. 2) data too: `ConvnetConfig::alexnet_imagenet`.
use super::counter::{self, Conv, Linear};
use super::layers::{Activation, LocallyConnected, Lrn};
use super::Network;
use serde::{Deserialize, Serialize};
use tch::nn::{self, Init};
use tch::Tensor;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PoolKind {
    Max,
    Avg,
    /// No pooling after this conv layer (AlexNet's conv3 and conv4, Sec. 3.5).
    None,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ConvnetInit {
    /// cuda-convnet: weights ~ N(0, initW^2) per layer (`init_w`), biases 0.
    CudaConvnet,
    /// PyTorch's defaults (Kaiming-uniform with a = sqrt(5), uniform biases): the "modern" option.
    Pytorch,
    /// AlexNet Sec. 5: weights ~ N(0, 0.01^2) in every layer (`init_w` per layer
    /// when given); biases 1 in the second, fourth and fifth conv layers and in the
    /// hidden fc layers ("provides the ReLUs with positive inputs"), 0 elsewhere.
    Alexnet,
}

/// A cuda-convnet-style network as data. Read from TOML through `ConvnetToml`
/// (flat keys, unknown keys rejected); the knobs added for the ImageNet AlexNet
/// live in the boxed `layout` so that `ModelConfig` stays small.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(from = "ConvnetToml", into = "ConvnetToml")]
pub struct ConvnetConfig {
    pub name: String,
    /// Input size, per-layer conv geometry and groups, LRN extent (boxed: rarely set).
    pub layout: Box<ConvLayout>,
    /// Filters of each convolutional layer; each is followed by the activation,
    /// LRN (the first `lrn_after`, when on) and its entry of `pools`.
    pub conv_filters: Vec<i64>,
    /// Kernel of every conv layer unless `conv_kernels` says otherwise.
    pub conv_kernel: i64,
    /// Pooling after each conv layer (cuda-convnet: max, avg, avg; `none`: no pooling).
    pub pools: Vec<PoolKind>,
    /// AlexNet Sec. 3.4: z = 3, s = 2 overlaps; z = s = 2 does not.
    pub pool_size: i64,
    pub pool_stride: i64,
    /// AlexNet Sec. 3.3: LRN after the activation of the first two conv layers
    /// (`layout.lrn_after`), before pooling.
    pub lrn: bool,
    /// Filters of locally-connected 3x3 layers (unshared weights) after the conv stack.
    pub local_filters: Vec<i64>,
    /// Hidden fully connected layers before the `classes`-way output.
    pub fc_hidden: Vec<i64>,
    /// Dropout probability on the hidden fc layers' outputs (AlexNet Sec. 4.2: 0.5).
    pub dropout: f64,
    /// Towers (AlexNet's two GPUs, Sec. 3.2: 2). The groups of the conv layers
    /// after the first unless `conv_groups` is given; LRN normalises within each
    /// tower, as each GPU's response-normalisation layer saw only its own maps.
    pub groups: i64,
    pub activation: Activation,
    pub init: ConvnetInit,
    /// cuda-convnet `initW` per weight layer (convs, locals, hidden fcs, output).
    pub init_w: Vec<f64>,
    pub classes: i64,
}

/// The knobs that make the full ImageNet AlexNet expressible; each defaults to
/// the behaviour of the CIFAR-10 builder. TOML keys are flat (`input_size = 224`).
#[derive(Debug, Clone, PartialEq)]
pub struct ConvLayout {
    /// Side of the square input images: 32 for cuda-convnet's CIFAR-10 nets,
    /// 224 for the ImageNet AlexNet (see `ConvnetConfig::alexnet_imagenet`).
    pub input_size: i64,
    /// Kernel of each conv layer (AlexNet: 11, 5, 3, 3, 3); empty: `conv_kernel` for all.
    pub conv_kernels: Vec<i64>,
    /// Stride of each conv layer (AlexNet: 4 for conv1, Sec. 3.5); empty: 1 for all.
    pub conv_strides: Vec<i64>,
    /// Zero padding of each conv layer; empty: kernel / 2 ("same" maps at stride 1).
    pub conv_paddings: Vec<i64>,
    /// Groups of each conv layer; empty: 1 for the first layer, `groups` for the
    /// rest. AlexNet's two towers (Sec. 3.2): conv2, conv4, conv5 take input only
    /// from the maps on their own GPU (groups 2), conv3 from both (groups 1).
    pub conv_groups: Vec<i64>,
    /// How many of the first conv layers LRN follows when `lrn` is on (AlexNet: 2).
    pub lrn_after: usize,
    /// Conv layers (1-based) removed from the net: their convolution,
    /// activation and LRN are gone, their pooling stays. AlexNet Sec. 7 removes
    /// a layer, not the map-size reduction after it, so the depth ablation must
    /// not also change the size of the maps the classifier sees.
    pub removed_convs: Vec<usize>,
}

impl Default for ConvLayout {
    fn default() -> Self {
        Self {
            input_size: default_input_size(),
            conv_kernels: vec![],
            conv_strides: vec![],
            conv_paddings: vec![],
            conv_groups: vec![],
            lrn_after: default_lrn_after(),
            removed_convs: vec![],
        }
    }
}

/// The TOML/serde form of `ConvnetConfig`: every key flat, as the experiment
/// files write it. Keys added for the ImageNet AlexNet are not serialised at
/// their defaults, so existing configs keep their config hash.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConvnetToml {
    #[serde(default = "default_name")]
    name: String,
    #[serde(
        default = "default_input_size",
        skip_serializing_if = "is_default_input_size"
    )]
    input_size: i64,
    conv_filters: Vec<i64>,
    #[serde(default = "default_kernel")]
    conv_kernel: i64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    conv_kernels: Vec<i64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    conv_strides: Vec<i64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    conv_paddings: Vec<i64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    conv_groups: Vec<i64>,
    pools: Vec<PoolKind>,
    pool_size: i64,
    pool_stride: i64,
    #[serde(default)]
    lrn: bool,
    #[serde(
        default = "default_lrn_after",
        skip_serializing_if = "is_default_lrn_after"
    )]
    lrn_after: usize,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    removed_convs: Vec<usize>,
    #[serde(default)]
    local_filters: Vec<i64>,
    #[serde(default)]
    fc_hidden: Vec<i64>,
    #[serde(default)]
    dropout: f64,
    #[serde(default = "default_groups")]
    groups: i64,
    activation: Activation,
    init: ConvnetInit,
    #[serde(default)]
    init_w: Vec<f64>,
    #[serde(default = "default_classes")]
    classes: i64,
}

impl From<ConvnetToml> for ConvnetConfig {
    fn from(t: ConvnetToml) -> Self {
        Self {
            layout: Box::new(ConvLayout {
                input_size: t.input_size,
                conv_kernels: t.conv_kernels,
                conv_strides: t.conv_strides,
                conv_paddings: t.conv_paddings,
                conv_groups: t.conv_groups,
                lrn_after: t.lrn_after,
                removed_convs: t.removed_convs,
            }),
            name: t.name,
            conv_filters: t.conv_filters,
            conv_kernel: t.conv_kernel,
            pools: t.pools,
            pool_size: t.pool_size,
            pool_stride: t.pool_stride,
            lrn: t.lrn,
            local_filters: t.local_filters,
            fc_hidden: t.fc_hidden,
            dropout: t.dropout,
            groups: t.groups,
            activation: t.activation,
            init: t.init,
            init_w: t.init_w,
            classes: t.classes,
        }
    }
}

impl From<ConvnetConfig> for ConvnetToml {
    fn from(c: ConvnetConfig) -> Self {
        let l = *c.layout;
        Self {
            input_size: l.input_size,
            conv_kernels: l.conv_kernels,
            conv_strides: l.conv_strides,
            conv_paddings: l.conv_paddings,
            conv_groups: l.conv_groups,
            lrn_after: l.lrn_after,
            removed_convs: l.removed_convs,
            name: c.name,
            conv_filters: c.conv_filters,
            conv_kernel: c.conv_kernel,
            pools: c.pools,
            pool_size: c.pool_size,
            pool_stride: c.pool_stride,
            lrn: c.lrn,
            local_filters: c.local_filters,
            fc_hidden: c.fc_hidden,
            dropout: c.dropout,
            groups: c.groups,
            activation: c.activation,
            init: c.init,
            init_w: c.init_w,
            classes: c.classes,
        }
    }
}

fn default_name() -> String {
    "convnet".into()
}
fn default_input_size() -> i64 {
    32
}
fn is_default_input_size(s: &i64) -> bool {
    *s == default_input_size()
}
fn default_kernel() -> i64 {
    5
}
fn default_lrn_after() -> usize {
    2
}
fn is_default_lrn_after(n: &usize) -> bool {
    *n == default_lrn_after()
}
fn default_groups() -> i64 {
    1
}
fn default_classes() -> i64 {
    10
}

/// cuda-convnet's layers-18pct CIFAR-10 net without LRN (conv 32-32-64 5x5,
/// pools max/avg/avg 3/2, fc 10, its initW): the shipped experiments' defaults.
/// The knobs added for the ImageNet AlexNet are at their defaults.
impl Default for ConvnetConfig {
    fn default() -> Self {
        Self {
            layout: Box::default(),
            name: "conv32-32-64".into(),
            conv_filters: vec![32, 32, 64],
            conv_kernel: default_kernel(),
            pools: vec![PoolKind::Max, PoolKind::Avg, PoolKind::Avg],
            pool_size: 3,
            pool_stride: 2,
            lrn: false,
            local_filters: vec![],
            fc_hidden: vec![],
            dropout: 0.0,
            groups: default_groups(),
            activation: Activation::Relu,
            init: ConvnetInit::CudaConvnet,
            init_w: vec![1e-4, 1e-2, 1e-2, 1e-2],
            classes: default_classes(),
        }
    }
}

/// One conv layer as the builder makes it, the per-layer knobs resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConvLayer {
    pub in_channels: i64,
    pub filters: i64,
    pub kernel: i64,
    pub stride: i64,
    pub padding: i64,
    pub groups: i64,
    pub pool: PoolKind,
    /// Removed (`removed_convs`): no weights, the maps pass to its pooling.
    pub removed: bool,
    /// Side of the maps after the conv and after its pooling.
    pub conv_size: i64,
    pub out_size: i64,
}

/// Output side of a convolution (floor, as torch).
fn conv_out(s: i64, k: i64, stride: i64, pad: i64) -> i64 {
    (s + 2 * pad - k).div_euclid(stride) + 1
}

impl ConvnetConfig {
    fn weight_layers(&self) -> usize {
        self.conv_filters.len() - self.layout.removed_convs.len()
            + self.local_filters.len()
            + self.fc_hidden.len()
            + 1
    }

    /// Whether conv layer `i` (0-based) is removed.
    pub fn is_removed(&self, i: usize) -> bool {
        self.layout.removed_convs.contains(&(i + 1))
    }

    /// Input shape [C, H, W] the net expects.
    pub fn input_shape(&self) -> [i64; 3] {
        [3, self.layout.input_size, self.layout.input_size]
    }

    /// The full ImageNet AlexNet (Krizhevsky et al. 2012, Sec. 3.5 and Fig. 2):
    /// conv 96 11x11/4, LRN, max pool 3/2; conv 256 5x5, LRN, pool; conv 384
    /// 3x3; conv 384 3x3; conv 256 3x3, pool; fc 4096, 4096 (dropout 0.5), 1000.
    ///
    /// Input 224 with padding 2 in conv1, not 227 with padding 0: both give the
    /// 55x55 maps of Fig. 2 ((224 + 4 - 11) / 4 + 1 = 55, floor; the last padded
    /// column is never read), but 224 is the paper's stated input and the crop
    /// the project's ImageNet pipeline (`data::imagenet`) makes.
    ///
    /// `two_tower`: the two-GPU net, towers as grouped convolutions (Sec. 3.2):
    /// conv2, conv4 and conv5 see only their own tower's maps (groups 2), conv3
    /// sees both (groups 1); conv1's two halves see the same image, which groups
    /// 1 expresses exactly. Otherwise the one-GPU net of the Sec. 3.2 footnote:
    /// half the kernels in every conv layer but the last, full-size fc layers,
    /// "to make the two nets have approximately the same number of parameters".
    pub fn alexnet_imagenet(two_tower: bool) -> ConvnetConfig {
        let (name, conv_filters, conv_groups, groups) = if two_tower {
            (
                "alexnet",
                vec![96, 256, 384, 384, 256],
                vec![1, 2, 1, 2, 2],
                2,
            )
        } else {
            ("alexnet-one-tower", vec![48, 128, 192, 192, 256], vec![], 1)
        };
        ConvnetConfig {
            layout: Box::new(ConvLayout {
                input_size: 224,
                conv_kernels: vec![11, 5, 3, 3, 3],
                conv_strides: vec![4, 1, 1, 1, 1],
                conv_paddings: vec![2, 2, 1, 1, 1],
                conv_groups,
                lrn_after: 2,
                removed_convs: vec![],
            }),
            name: name.into(),
            conv_filters,
            conv_kernel: default_kernel(),
            pools: vec![
                PoolKind::Max,
                PoolKind::Max,
                PoolKind::None,
                PoolKind::None,
                PoolKind::Max,
            ],
            pool_size: 3,
            pool_stride: 2,
            lrn: true,
            local_filters: vec![],
            fc_hidden: vec![4096, 4096],
            dropout: 0.5,
            groups,
            activation: Activation::Relu,
            init: ConvnetInit::Alexnet,
            init_w: vec![],
            classes: 1000,
        }
    }

    /// The conv layers with their per-layer knobs resolved (defaults where a
    /// list is empty or short) and the map sizes they produce. Sizes are only
    /// meaningful for a config that `validate` accepts.
    pub fn conv_layers(&self) -> Vec<ConvLayer> {
        let mut c = 3;
        let mut s = self.layout.input_size;
        let mut layers = Vec::with_capacity(self.conv_filters.len());
        for (i, &filters) in self.conv_filters.iter().enumerate() {
            let kernel = self
                .layout
                .conv_kernels
                .get(i)
                .copied()
                .unwrap_or(self.conv_kernel);
            let stride = self.layout.conv_strides.get(i).copied().unwrap_or(1);
            let padding = self
                .layout
                .conv_paddings
                .get(i)
                .copied()
                .unwrap_or(kernel / 2);
            let groups = match self.layout.conv_groups.get(i) {
                Some(&g) => g,
                None if i == 0 => 1,
                None => self.groups,
            };
            let pool = self.pools.get(i).copied().unwrap_or(PoolKind::None);
            let removed = self.is_removed(i);
            // A removed layer passes its input maps on unchanged.
            let (filters, kernel, stride, padding, groups) = if removed {
                (c, 1, 1, 0, 1)
            } else {
                (filters, kernel, stride, padding, groups)
            };
            let conv_size = conv_out(s, kernel, stride.max(1), padding);
            let out_size = match pool {
                PoolKind::None => conv_size,
                _ => pool_out(conv_size, self.pool_size, self.pool_stride.max(1)),
            };
            layers.push(ConvLayer {
                in_channels: c,
                filters,
                kernel,
                stride,
                padding,
                groups,
                pool,
                removed,
                conv_size,
                out_size,
            });
            c = filters;
            s = out_size;
        }
        layers
    }

    /// Err names the key.
    pub fn validate(&self) -> Result<(), String> {
        self.check_lists()?;
        self.check_values()?;
        let maps = self.check_layers()?;
        self.check_init()?;
        if !self.local_filters.is_empty() && maps < 3 {
            return Err("local_filters: maps too small for 3x3 locally-connected layers".into());
        }
        Ok(())
    }

    /// The per-layer lists: one entry per conv layer (or none).
    fn check_lists(&self) -> Result<(), String> {
        let n = self.conv_filters.len();
        if n == 0 {
            return Err("conv_filters: at least one conv layer".into());
        }
        if let Some(f) = self.conv_filters.iter().find(|&&f| f <= 0) {
            return Err(format!("conv_filters: must be positive, got {f}"));
        }
        if self.layout.input_size <= 0 {
            return Err(format!(
                "input_size: must be positive, got {}",
                self.layout.input_size
            ));
        }
        if self.pools.len() != n {
            return Err(format!(
                "pools: one per conv layer ({n}), got {}",
                self.pools.len()
            ));
        }
        let removed = &self.layout.removed_convs;
        if let Some(r) = removed.iter().find(|&&r| r == 0 || r > n) {
            return Err(format!(
                "removed_convs: conv layers are numbered 1..={n}, got {r}"
            ));
        }
        if removed.len() >= n || (1..removed.len()).any(|i| removed[..i].contains(&removed[i])) {
            return Err(format!(
                "removed_convs: {removed:?} must name distinct layers and leave at least one of {n}"
            ));
        }
        for (key, v) in [
            ("conv_kernels", &self.layout.conv_kernels),
            ("conv_strides", &self.layout.conv_strides),
            ("conv_paddings", &self.layout.conv_paddings),
            ("conv_groups", &self.layout.conv_groups),
        ] {
            if !v.is_empty() && v.len() != n {
                return Err(format!(
                    "{key}: one per conv layer ({n}) or none, got {}",
                    v.len()
                ));
            }
        }
        Ok(())
    }

    /// Sizes, strides, paddings, rates.
    fn check_values(&self) -> Result<(), String> {
        let n = self.conv_filters.len();
        if self.pool_size <= 0 || self.pool_stride <= 0 {
            return Err(format!(
                "pool_size/pool_stride: must be positive, got {}/{}",
                self.pool_size, self.pool_stride
            ));
        }
        if self.conv_kernel <= 0 || self.conv_kernel % 2 == 0 {
            return Err(format!(
                "conv_kernel: must be odd and positive, got {}",
                self.conv_kernel
            ));
        }
        if let Some(k) = self.layout.conv_kernels.iter().find(|&&k| k <= 0) {
            return Err(format!("conv_kernels: must be positive, got {k}"));
        }
        if self.layout.conv_paddings.is_empty() {
            if let Some(k) = self.layout.conv_kernels.iter().find(|&&k| k % 2 == 0) {
                return Err(format!(
                    "conv_kernels: an even kernel ({k}) needs explicit conv_paddings"
                ));
            }
        }
        if let Some(st) = self.layout.conv_strides.iter().find(|&&st| st <= 0) {
            return Err(format!("conv_strides: must be positive, got {st}"));
        }
        if let Some(p) = self.layout.conv_paddings.iter().find(|&&p| p < 0) {
            return Err(format!("conv_paddings: must be non-negative, got {p}"));
        }
        if self.layout.lrn_after > n {
            return Err(format!(
                "lrn_after: at most the number of conv layers ({n}), got {}",
                self.layout.lrn_after
            ));
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return Err(format!("dropout: must be in [0, 1), got {}", self.dropout));
        }
        if self.groups < 1 {
            return Err(format!("groups: must be positive, got {}", self.groups));
        }
        Ok(())
    }

    /// Each conv layer's groups, LRN towers, kernel and pooling fit its input;
    /// returns the side of the last conv layer's output maps.
    fn check_layers(&self) -> Result<i64, String> {
        let layers = self.conv_layers();
        // Per-layer groups come from `conv_groups` when given, else from `groups`.
        let groups_key = if self.layout.conv_groups.is_empty() {
            "groups"
        } else {
            "conv_groups"
        };
        let mut s = self.layout.input_size;
        for (i, l) in layers.iter().enumerate() {
            if l.removed {
                s = l.out_size;
                continue;
            }
            if l.groups < 1 || l.in_channels % l.groups != 0 || l.filters % l.groups != 0 {
                return Err(format!(
                    "{groups_key}: {} must divide the input ({}) and output ({}) maps of conv{}",
                    l.groups,
                    l.in_channels,
                    l.filters,
                    i + 1
                ));
            }
            if self.lrn && i < self.layout.lrn_after && l.filters % self.groups != 0 {
                return Err(format!(
                    "groups: LRN runs per tower; {} towers must divide the {} maps of conv{}",
                    self.groups,
                    l.filters,
                    i + 1
                ));
            }
            if s + 2 * l.padding < l.kernel || l.conv_size < 1 {
                return Err(format!(
                    "conv_kernels: the {}x{} kernel of conv{} exceeds its {s}x{s} (padded by {}) input (input_size {})",
                    l.kernel,
                    l.kernel,
                    i + 1,
                    l.padding,
                    self.layout.input_size
                ));
            }
            if l.pool != PoolKind::None && l.conv_size < self.pool_size {
                return Err(format!(
                    "pool_size: {} exceeds the {}x{} maps of conv{} (input_size {})",
                    self.pool_size,
                    l.conv_size,
                    l.conv_size,
                    i + 1,
                    self.layout.input_size
                ));
            }
            s = l.out_size;
        }
        Ok(s)
    }

    fn check_init(&self) -> Result<(), String> {
        let weight_layers = self.weight_layers();
        match self.init {
            ConvnetInit::CudaConvnet if self.init_w.len() != weight_layers => Err(format!(
                "init_w: one std per weight layer ({weight_layers}), got {}",
                self.init_w.len()
            )),
            ConvnetInit::Alexnet
                if !self.init_w.is_empty() && self.init_w.len() != weight_layers =>
            {
                Err(format!(
                    "init_w: none (0.01 everywhere) or one std per weight layer ({weight_layers}), got {}",
                    self.init_w.len()
                ))
            }
            _ => Ok(()),
        }
    }
}

/// Output size of a ceil-mode pooling without padding (cuda-convnet's
/// `outputsX = ceil((imgSize - sizeX) / stride) + 1`, as torch's ceil_mode).
pub fn pool_out(s: i64, z: i64, st: i64) -> i64 {
    if s < z {
        return 1;
    }
    let mut o = (s - z + st - 1) / st + 1;
    if (o - 1) * st >= s {
        o -= 1;
    }
    o
}

#[derive(Debug)]
pub struct Convnet {
    cfg: ConvnetConfig,
    /// `None` for a removed layer (`removed_convs`).
    convs: Vec<Option<Conv>>,
    locals: Vec<LocallyConnected>,
    fcs: Vec<Linear>,
}

/// Which weight layer an init is for (AlexNet's bias rule depends on it).
#[derive(Clone, Copy)]
enum Role {
    /// 0-based index of the conv layer.
    Conv(usize),
    Local,
    HiddenFc,
    OutputFc,
}

/// The initialisers (weight, bias) of weight layer number `layer` (0-based,
/// in drawing order) with `role` and `fan_in`, as `cfg.init` says.
fn layer_init(cfg: &ConvnetConfig, layer: usize, role: Role, fan_in: i64) -> (Init, Init) {
    let std = cfg.init_w.get(layer).copied().unwrap_or(0.01);
    let normal = Init::Randn {
        mean: 0.0,
        stdev: std,
    };
    match cfg.init {
        ConvnetInit::CudaConvnet => (normal, Init::Const(0.0)),
        ConvnetInit::Pytorch => {
            let b = 1.0 / (fan_in as f64).sqrt();
            (
                Init::Uniform { lo: -b, up: b },
                Init::Uniform { lo: -b, up: b },
            )
        }
        ConvnetInit::Alexnet => {
            // Sec. 5: biases 1 in conv2, conv4, conv5 and the hidden fc layers.
            let one = matches!(role, Role::Conv(1 | 3 | 4) | Role::HiddenFc);
            (normal, Init::Const(if one { 1.0 } else { 0.0 }))
        }
    }
}

impl Convnet {
    /// Weight layers draw their weights in this order: convs, locals, fcs (the
    /// order of the shipped configs' `init_w` and of their seeded weights).
    pub fn new(vs: &nn::Path, cfg: &ConvnetConfig) -> Self {
        let mut layer = 0usize;
        let convs = Self::convs(vs, cfg, &mut layer);
        let layers = cfg.conv_layers();
        let c = layers.last().map_or(3, |l| l.filters);
        let s = layers.last().map_or(cfg.layout.input_size, |l| l.out_size);
        let (locals, c) = Self::locals(vs, cfg, c, s, &mut layer);
        let fcs = Self::fcs(vs, cfg, c * s * s, &mut layer);
        Self {
            cfg: cfg.clone(),
            convs,
            locals,
            fcs,
        }
    }

    fn convs(vs: &nn::Path, cfg: &ConvnetConfig, layer: &mut usize) -> Vec<Option<Conv>> {
        let mut convs = Vec::new();
        for (i, l) in cfg.conv_layers().iter().enumerate() {
            if l.removed {
                // No weights: the remaining layers keep their names and inits.
                convs.push(None);
                continue;
            }
            let fan_in = l.in_channels / l.groups * l.kernel * l.kernel;
            let (w, b) = layer_init(cfg, *layer, Role::Conv(i), fan_in);
            *layer += 1;
            convs.push(Some(Conv::with(
                &(vs / format!("conv{}", i + 1)),
                l.in_channels,
                l.filters,
                l.kernel,
                l.stride,
                l.padding,
                l.groups,
                true,
                w,
                b,
            )));
        }
        convs
    }

    /// The locally-connected layers on `c` maps of side `s`; returns them and their output maps.
    fn locals(
        vs: &nn::Path,
        cfg: &ConvnetConfig,
        mut c: i64,
        s: i64,
        layer: &mut usize,
    ) -> (Vec<LocallyConnected>, i64) {
        let mut locals = Vec::new();
        for (i, &f) in cfg.local_filters.iter().enumerate() {
            let (w, _) = layer_init(cfg, *layer, Role::Local, c * 9);
            *layer += 1;
            let path = vs / format!("local{}", i + 1);
            locals.push(LocallyConnected::new(&path, c, f, (s, s), 3, 1, w));
            c = f;
        }
        (locals, c)
    }

    /// The hidden fc layers and the `classes`-way output on `d` inputs.
    fn fcs(vs: &nn::Path, cfg: &ConvnetConfig, mut d: i64, layer: &mut usize) -> Vec<Linear> {
        let hidden = cfg.fc_hidden.len();
        let widths = cfg.fc_hidden.iter().chain(std::iter::once(&cfg.classes));
        let mut fcs = Vec::new();
        for (i, &h) in widths.enumerate() {
            let role = if i < hidden {
                Role::HiddenFc
            } else {
                Role::OutputFc
            };
            let (w, b) = layer_init(cfg, *layer, role, d);
            *layer += 1;
            fcs.push(Linear::with(&(vs / format!("fc{}", i + 1)), d, h, w, b));
            d = h;
        }
        fcs
    }
}

/// AlexNet Sec. 3.3 LRN, within each of `towers` contiguous channel blocks:
/// on the two-GPU net each GPU normalised only the maps it held (Sec. 3.2).
fn lrn_per_tower(h: &Tensor, towers: i64) -> Tensor {
    if towers <= 1 {
        return Lrn::ALEXNET.forward(h);
    }
    let parts: Vec<Tensor> = h
        .chunk(towers, 1)
        .iter()
        .map(|t| Lrn::ALEXNET.forward(t))
        .collect();
    Tensor::cat(&parts, 1)
}

impl Network for Convnet {
    fn forward_t(&self, x: &Tensor, train: bool) -> Tensor {
        let cfg = &self.cfg;
        let act = cfg.activation;
        let mut h = x.shallow_clone();
        for (i, conv) in self.convs.iter().enumerate() {
            // A removed layer keeps only its pooling.
            if let Some(conv) = conv {
                h = act.apply(&conv.forward(&h));
                if cfg.lrn && i < cfg.layout.lrn_after {
                    h = lrn_per_tower(&h, cfg.groups);
                }
            }
            let (z, st) = (cfg.pool_size, cfg.pool_stride);
            let p = match cfg.pools[i] {
                PoolKind::Max => h.max_pool2d([z, z], [st, st], [0, 0], [1, 1], true),
                PoolKind::Avg => h.avg_pool2d([z, z], [st, st], [0, 0], true, true, None),
                PoolKind::None => continue,
            };
            counter::record_pool("pool", z, st, 0, &h, &p);
            h = p;
        }
        for l in &self.locals {
            h = act.apply(&l.forward(&h));
        }
        h = h.flatten(1, -1);
        let last = self.fcs.len() - 1;
        for (i, fc) in self.fcs.iter().enumerate() {
            h = fc.forward(&h);
            if i < last {
                h = act.apply(&h);
                if cfg.dropout > 0.0 {
                    h = h.dropout(cfg.dropout, train);
                }
            }
        }
        h
    }
}
