//! cuda-convnet's CIFAR-10 networks (the code behind AlexNet's CIFAR-10
//! statements) as one builder. "layers-80sec", "layers-18pct" and the
//! "conv-local" nets are data in `experiments/*.toml`, not code: filters,
//! pooling, LRN, locally-connected layers, hidden fc layers, activation, init.
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
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ConvnetInit {
    /// cuda-convnet: weights ~ N(0, initW^2) per layer (`init_w`), biases 0.
    CudaConvnet,
    /// PyTorch's defaults (Kaiming-uniform with a = sqrt(5), uniform biases): the "modern" option.
    Pytorch,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConvnetConfig {
    #[serde(default = "default_name")]
    pub name: String,
    /// Filters of each convolutional layer; each is followed by the activation,
    /// LRN (first two, when on) and a pooling layer.
    pub conv_filters: Vec<i64>,
    #[serde(default = "default_kernel")]
    pub conv_kernel: i64,
    /// Pooling after each conv layer (cuda-convnet: max, avg, avg).
    pub pools: Vec<PoolKind>,
    /// AlexNet Sec. 3.4: z = 3, s = 2 overlaps; z = s = 2 does not.
    pub pool_size: i64,
    pub pool_stride: i64,
    /// AlexNet Sec. 3.3: LRN after the activation of the first two conv layers, before pooling.
    #[serde(default)]
    pub lrn: bool,
    /// Filters of locally-connected 3x3 layers (unshared weights) after the conv stack.
    #[serde(default)]
    pub local_filters: Vec<i64>,
    /// Hidden fully connected layers before the 10-way output.
    #[serde(default)]
    pub fc_hidden: Vec<i64>,
    /// Dropout probability on the hidden fc layers' outputs (AlexNet Sec. 4.2: 0.5).
    #[serde(default)]
    pub dropout: f64,
    /// Groups of the conv layers after the first (AlexNet's two towers: 2).
    #[serde(default = "default_groups")]
    pub groups: i64,
    pub activation: Activation,
    pub init: ConvnetInit,
    /// cuda-convnet `initW` per weight layer (convs, locals, hidden fcs, output).
    #[serde(default)]
    pub init_w: Vec<f64>,
    #[serde(default = "default_classes")]
    pub classes: i64,
}

fn default_name() -> String {
    "convnet".into()
}
fn default_kernel() -> i64 {
    5
}
fn default_groups() -> i64 {
    1
}
fn default_classes() -> i64 {
    10
}

impl ConvnetConfig {
    fn weight_layers(&self) -> usize {
        self.conv_filters.len() + self.local_filters.len() + self.fc_hidden.len() + 1
    }

    /// Err names the key.
    pub fn validate(&self) -> Result<(), String> {
        if self.conv_filters.is_empty() {
            return Err("conv_filters: at least one conv layer".into());
        }
        if self.pools.len() != self.conv_filters.len() {
            return Err(format!(
                "pools: one per conv layer ({}), got {}",
                self.conv_filters.len(),
                self.pools.len()
            ));
        }
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
        if !(0.0..1.0).contains(&self.dropout) {
            return Err(format!("dropout: must be in [0, 1), got {}", self.dropout));
        }
        if self.groups < 1
            || self
                .conv_filters
                .iter()
                .skip(1)
                .chain(&self.conv_filters[..self.conv_filters.len().saturating_sub(1)])
                .any(|f| f % self.groups != 0)
        {
            return Err(format!(
                "groups: {} must divide the filters of grouped layers",
                self.groups
            ));
        }
        if self.init == ConvnetInit::CudaConvnet && self.init_w.len() != self.weight_layers() {
            return Err(format!(
                "init_w: one std per weight layer ({}), got {}",
                self.weight_layers(),
                self.init_w.len()
            ));
        }
        let mut s = 32;
        for _ in &self.pools {
            s = pool_out(s, self.pool_size, self.pool_stride);
            if s < 1 {
                return Err("pool_size: the maps shrink below 1x1".into());
            }
        }
        if !self.local_filters.is_empty() && s < 3 {
            return Err("local_filters: maps too small for 3x3 locally-connected layers".into());
        }
        Ok(())
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
    convs: Vec<Conv>,
    locals: Vec<LocallyConnected>,
    fcs: Vec<Linear>,
}

impl Convnet {
    pub fn new(vs: &nn::Path, cfg: &ConvnetConfig) -> Self {
        let mut layer = 0usize;
        let mut init = |fan_in: i64| -> (Init, Init) {
            let r = match cfg.init {
                ConvnetInit::CudaConvnet => (
                    Init::Randn {
                        mean: 0.0,
                        stdev: cfg.init_w.get(layer).copied().unwrap_or(0.01),
                    },
                    Init::Const(0.0),
                ),
                ConvnetInit::Pytorch => {
                    let b = 1.0 / (fan_in as f64).sqrt();
                    (
                        Init::Uniform { lo: -b, up: b },
                        Init::Uniform { lo: -b, up: b },
                    )
                }
            };
            layer += 1;
            r
        };
        let mut c = 3;
        let mut s = 32;
        let mut convs = Vec::new();
        for (i, &f) in cfg.conv_filters.iter().enumerate() {
            let k = cfg.conv_kernel;
            let groups = if i == 0 { 1 } else { cfg.groups };
            let (w, b) = init(c / groups * k * k);
            convs.push(Conv::with(
                &(vs / format!("conv{}", i + 1)),
                c,
                f,
                k,
                1,
                k / 2,
                groups,
                true,
                w,
                b,
            ));
            c = f;
            s = pool_out(s, cfg.pool_size, cfg.pool_stride);
        }
        let mut locals = Vec::new();
        for (i, &f) in cfg.local_filters.iter().enumerate() {
            let (w, _) = init(c * 9);
            locals.push(LocallyConnected::new(
                &(vs / format!("local{}", i + 1)),
                c,
                f,
                (s, s),
                3,
                1,
                w,
            ));
            c = f;
        }
        let mut fcs = Vec::new();
        let mut d = c * s * s;
        for (i, &h) in cfg
            .fc_hidden
            .iter()
            .chain(std::iter::once(&cfg.classes))
            .enumerate()
        {
            let (w, b) = init(d);
            fcs.push(Linear::with(&(vs / format!("fc{}", i + 1)), d, h, w, b));
            d = h;
        }
        Self {
            cfg: cfg.clone(),
            convs,
            locals,
            fcs,
        }
    }
}

impl Network for Convnet {
    fn forward_t(&self, x: &Tensor, train: bool) -> Tensor {
        let cfg = &self.cfg;
        let act = cfg.activation;
        let mut h = x.shallow_clone();
        for (i, conv) in self.convs.iter().enumerate() {
            h = act.apply(&conv.forward(&h));
            if cfg.lrn && i < 2 {
                h = Lrn::ALEXNET.forward(&h);
            }
            let (z, st) = (cfg.pool_size, cfg.pool_stride);
            let p = match cfg.pools[i] {
                PoolKind::Max => h.max_pool2d([z, z], [st, st], [0, 0], [1, 1], true),
                PoolKind::Avg => h.avg_pool2d([z, z], [st, st], [0, 0], true, true, None),
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
