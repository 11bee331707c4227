//! Model builders with the papers' knobs. `build` turns a `ModelConfig` into a network.
pub mod convnet;
pub mod counter;
pub mod fuse;
pub mod layers;
pub mod receptive;
pub mod resnet;
pub mod vgg;

use crate::config::ModelConfig;
use tch::nn;
use tch::Tensor;

/// What the training loop needs of a network.
pub trait Network: std::fmt::Debug + Send {
    fn forward_t(&self, x: &Tensor, train: bool) -> Tensor;
    /// Responses of each 3x3 layer after BN, before ReLU/addition (ResNet Fig. 7); empty where not defined.
    fn layer_responses(&self, _x: &Tensor) -> Vec<Tensor> {
        Vec::new()
    }
}

/// Builds the network a config describes, its variables under `vs`.
pub fn build(vs: &nn::Path, cfg: &ModelConfig) -> crate::Result<Box<dyn Network>> {
    Ok(match cfg {
        ModelConfig::CifarResnet {
            depth,
            residual,
            shortcut,
            block,
            width,
            classes,
        } => Box::new(resnet::ResNet::new(
            vs,
            &resnet::ResNetSpec::cifar(*depth, *block, *residual, *shortcut, *width, *classes),
        )),
        ModelConfig::ImagenetResnet {
            depth,
            residual,
            shortcut,
            classes,
        } => {
            let spec = resnet::ResNetSpec::imagenet(*depth, *residual, *shortcut, *classes).ok_or_else(|| {
                crate::Error::Config(format!("model.depth: ImageNet ResNets have 18, 34, 50, 101 or 152 layers; got {depth}"))
            })?;
            Box::new(resnet::ResNet::new(vs, &spec))
        }
        ModelConfig::CudaConvnet(c) => Box::new(convnet::Convnet::new(vs, c)),
        ModelConfig::Vgg(v) => Box::new(vgg::Vgg::new(vs, v)),
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

/// The network of `runs` seeds of `cfg` fused side by side (`models::fuse`).
/// Its initial values are meaningless: fill it with `fuse::fuse_into`.
pub fn build_fused(vs: &nn::Path, cfg: &ModelConfig, runs: i64) -> crate::Result<Box<dyn Network>> {
    if let Some(why) = fusion_unsupported(cfg) {
        return Err(crate::Error::Config(why));
    }
    match cfg {
        ModelConfig::CifarResnet {
            depth,
            residual,
            shortcut,
            block,
            width,
            classes,
        } => Ok(Box::new(resnet::ResNet::new(
            vs,
            &resnet::ResNetSpec::cifar(*depth, *block, *residual, *shortcut, *width, *classes)
                .fused(runs),
        ))),
        _ => build(vs, cfg),
    }
}

/// Where a run's initial weights come from, beyond its builder's random init.
pub enum InitFrom<'a> {
    Random,
    /// The final weights of another run of the same experiment, profile and seed.
    Run(&'a str),
}

pub fn init_from(cfg: &ModelConfig) -> InitFrom<'_> {
    match cfg {
        ModelConfig::Vgg(v) => match &v.init_from {
            Some(r) => InitFrom::Run(r),
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
        ModelConfig::CudaConvnet(c) => c.input_shape(),
        ModelConfig::CifarResnet { .. } => [3, 32, 32],
    }
}
