//! Model builders with the papers' knobs, each beside the config it reads.
//! `ModelConfig` (the `model` table of a run) says which family and knobs;
//! `build` turns it into a network. Each family validates its own config.
pub mod convnet;
pub mod counter;
pub mod cuda_convnet;
pub mod fuse;
pub mod googlenet;
pub mod layers;
pub mod receptive;
pub mod resnet;
pub mod vgg;

use serde::{Deserialize, Serialize};
use tch::nn;
use tch::Tensor;

pub use resnet::{BlockKind, CifarResnetConfig, ImagenetResnetConfig, ShortcutOption};

/// How the first-class knobs of a model are set: one builder per family, every
/// ablation a knob of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "family", rename_all = "kebab-case")]
pub enum ModelConfig {
    /// He et al. 2015, Sec. 4.2: 6n+2 layers on 32x32 inputs.
    CifarResnet(CifarResnetConfig),
    /// He et al. 2015, Table 1: ImageNet ResNet-18/34/50/101/152 (and plain).
    ImagenetResnet(ImagenetResnetConfig),
    /// cuda-convnet's CIFAR-10 networks (Krizhevsky et al. 2012's CIFAR statements).
    CudaConvnet(convnet::ConvnetConfig),
    /// cuda-convnet's own nets built from its committed layer/params files
    /// (`experiments/cuda-convnet/`): the exact CIFAR-10 nets of AlexNet Sec. 3.3.
    CudaConvnetCfg(cuda_convnet::CfgNetConfig),
    /// Simonyan & Zisserman 2014, Table 1: configurations A-E, ImageNet or CIFAR shape.
    Vgg(vgg::VggConfig),
    /// Szegedy et al. 2014, Table 1: GoogLeNet, ImageNet or CIFAR shape, with the
    /// naive module (Fig. 2(a)), auxiliary classifiers and fc head as knobs.
    Googlenet(googlenet::GoogLeNetConfig),
}

impl ModelConfig {
    /// A short name for tables: `plain-20`, `resnet-56`, `convnet`.
    pub fn short_name(&self) -> String {
        match self {
            ModelConfig::CifarResnet(CifarResnetConfig {
                depth, residual, ..
            })
            | ModelConfig::ImagenetResnet(ImagenetResnetConfig {
                depth, residual, ..
            }) => format!("{}-{}", if *residual { "resnet" } else { "plain" }, depth),
            ModelConfig::CudaConvnet(c) => c.name.clone(),
            ModelConfig::CudaConvnetCfg(c) => c.net.clone(),
            ModelConfig::Vgg(v) => v.name(),
            ModelConfig::Googlenet(g) => g.name(),
        }
    }

    /// Weight layers (ResNets, VGG; GoogLeNet: on its deepest path, 22 for the
    /// paper's net); None for the cuda-convnet nets.
    pub fn depth(&self) -> Option<i64> {
        match self {
            ModelConfig::CifarResnet(c) => Some(c.depth),
            ModelConfig::ImagenetResnet(c) => Some(c.depth),
            ModelConfig::CudaConvnet(_) | ModelConfig::CudaConvnetCfg(_) => None,
            ModelConfig::Vgg(v) => Some(v.config.weight_layers() as i64),
            ModelConfig::Googlenet(g) => Some(g.weight_layers()),
        }
    }

    /// Shortcuts of a residual net; None for plain nets and other families.
    pub fn shortcut(&self) -> Option<ShortcutOption> {
        match self {
            ModelConfig::CifarResnet(c) if c.residual => Some(c.shortcut),
            ModelConfig::ImagenetResnet(c) if c.residual => Some(c.shortcut),
            _ => None,
        }
    }

    /// Whether a ResNet has its shortcuts (false for the plain counterparts); None for other families.
    pub fn residual(&self) -> Option<bool> {
        match self {
            ModelConfig::CifarResnet(c) => Some(c.residual),
            ModelConfig::ImagenetResnet(c) => Some(c.residual),
            _ => None,
        }
    }

    /// The family's own checks; Err names the key under `model.`.
    pub fn validate(&self) -> Result<(), String> {
        match self {
            ModelConfig::CifarResnet(c) => c.validate(),
            ModelConfig::ImagenetResnet(c) => c.validate(),
            ModelConfig::CudaConvnet(c) => c.validate(),
            ModelConfig::CudaConvnetCfg(c) => c.validate(),
            ModelConfig::Vgg(v) => v.validate(),
            ModelConfig::Googlenet(g) => g.validate(),
        }
    }
}

/// What the training loop needs of a network.
pub trait Network: std::fmt::Debug + Send {
    fn forward_t(&self, x: &Tensor, train: bool) -> Tensor;
    /// Responses of each 3x3 layer after BN, before ReLU/addition (ResNet Fig. 7); empty where not defined.
    fn layer_responses(&self, _x: &Tensor) -> Vec<Tensor> {
        Vec::new()
    }
    /// Training-mode outputs of auxiliary classifiers with their loss weights (GoogLeNet Sec. 5: 0.3 each); empty for other nets.
    fn forward_aux(&self, x: &Tensor, train: bool) -> (Tensor, Vec<(f64, Tensor)>) {
        (self.forward_t(x, train), Vec::new())
    }
}

/// Builds the network a config describes, its variables under `vs`.
pub fn build(vs: &nn::Path, cfg: &ModelConfig) -> crate::Result<Box<dyn Network>> {
    Ok(match cfg {
        ModelConfig::CifarResnet(c) => Box::new(resnet::ResNet::new(vs, &c.spec())),
        ModelConfig::ImagenetResnet(c) => {
            let spec = c.spec().ok_or_else(|| {
                crate::Error::Config(format!("model.{}", c.validate().err().unwrap_or_default()))
            })?;
            Box::new(resnet::ResNet::new(vs, &spec))
        }
        ModelConfig::CudaConvnet(c) => Box::new(convnet::Convnet::new(vs, c)),
        ModelConfig::CudaConvnetCfg(c) => Box::new(
            cuda_convnet::CfgNet::new(vs, c)
                .map_err(|e| crate::Error::Config(format!("model.{e}")))?,
        ),
        ModelConfig::Vgg(v) => Box::new(vgg::Vgg::new(vs, v)),
        ModelConfig::Googlenet(g) => Box::new(googlenet::GoogLeNet::new(vs, g)),
    })
}

/// Why `cfg`'s model cannot be trained as fused seeds; None when it can.
/// Only the CIFAR ResNets have a fused builder.
pub fn fusion_unsupported(cfg: &ModelConfig) -> Option<String> {
    match cfg {
        ModelConfig::CifarResnet { .. } => None,
        other => Some(format!(
            "model.family = \"{}\": no fused builder (only cifar-resnet has one)",
            serde_json::to_value(other)
                .ok()
                .and_then(|v| v.get("family").and_then(|f| f.as_str().map(String::from)))
                .unwrap_or_else(|| other.short_name())
        )),
    }
}

/// The network of `seeds_fused` seeds of `cfg` fused side by side (`models::fuse`).
/// Its initial values are meaningless: fill it with `fuse::fuse_into`.
pub fn build_fused(
    vs: &nn::Path,
    cfg: &ModelConfig,
    seeds_fused: i64,
) -> crate::Result<Box<dyn Network>> {
    if let Some(why) = fusion_unsupported(cfg) {
        return Err(crate::Error::Config(why));
    }
    match cfg {
        ModelConfig::CifarResnet(c) => Ok(Box::new(resnet::ResNet::new(
            vs,
            &c.spec().fused(seeds_fused),
        ))),
        _ => build(vs, cfg),
    }
}

/// Where a run's initial weights come from, beyond its builder's random init.
pub enum InitFrom<'a> {
    Random,
    /// The final weights of another run of the same experiment, profile and
    /// seed: the named layers (`<layer>.weight`, `<layer>.bias`), or every
    /// variable (None).
    Run {
        run: &'a str,
        layers: Option<&'static [&'static str]>,
    },
}

pub fn init_from(cfg: &ModelConfig) -> InitFrom<'_> {
    match cfg {
        ModelConfig::Vgg(v) => match &v.init_from {
            Some(run) => InitFrom::Run {
                run,
                layers: v.copied_layers(),
            },
            None => InitFrom::Random,
        },
        _ => InitFrom::Random,
    }
}

/// Trainable parameters of the network a config describes (built on the CPU).
pub fn parameter_count(cfg: &ModelConfig) -> Option<i64> {
    let vs = nn::VarStore::new(tch::Device::Cpu);
    build(&vs.root(), cfg).ok()?;
    Some(layers::count_parameters(&vs))
}

/// Input shape [C, H, W] a config expects.
pub fn input_shape(cfg: &ModelConfig) -> [i64; 3] {
    match cfg {
        ModelConfig::ImagenetResnet { .. } => [3, 224, 224],
        ModelConfig::Vgg(v) => [3, v.input_size(), v.input_size()],
        ModelConfig::Googlenet(g) => [3, g.input_size(), g.input_size()],
        ModelConfig::CudaConvnet(c) => c.input_shape(),
        ModelConfig::CudaConvnetCfg(c) => [3, c.input_size, c.input_size],
        ModelConfig::CifarResnet { .. } => [3, 32, 32],
    }
}
