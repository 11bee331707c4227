//! SGD with momentum and L2 weight decay, written here so that its state goes
//! into checkpoints and its velocity convention is a knob.
//!
//! All trainable parameters live in one flat buffer (each parameter a view into
//! it) and gradients are gathered into one flat tensor, so an update is a handful
//! of kernels for the whole model instead of several per parameter.
use crate::config::{RunConfig, Velocity};
use crate::layout::Layout;
use crate::models::ModelConfig;
use tch::nn::VarStore;
use tch::{Kind, Tensor};

pub use crate::config::DecayOn;

/// How one parameter tensor is updated: its learning rate is
/// `lr * lr_scaled + lr_fixed` for the schedule's `lr`, then momentum and
/// weight decay as `Sgd::apply` writes them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ParamRule {
    pub lr_scaled: f64,
    pub lr_fixed: f64,
    pub momentum: f64,
    pub decay: f64,
}

/// Per-element rules in the flat buffer's order.
#[derive(Debug)]
struct Rules {
    lr_scaled: Tensor,
    lr_fixed: Tensor,
    momentum: Tensor,
    decay: Tensor,
}

#[derive(Debug)]
pub struct Sgd {
    /// Views into `flat`, in `VarStore::trainable_variables` order.
    params: Vec<Tensor>,
    flat: Tensor,
    velocity: Tensor,
    pub momentum: f64,
    pub weight_decay: f64,
    pub convention: Velocity,
    /// Steps taken (checkpointed).
    pub steps: i64,
    layout: Layout,
    /// Per-parameter rules (`set_rules`); None: `momentum` and `weight_decay` for all.
    rules: Option<Rules>,
}

/// A parameter (or its gradient) as a 1-d tensor in the flat buffer's order.
fn flatten(t: &Tensor, layout: Layout) -> Tensor {
    if layout.is_channels_last() && t.dim() == 4 {
        t.permute([0, 2, 3, 1]).reshape([-1])
    } else {
        t.reshape([-1])
    }
}

/// Per-parameter tensors of `shapes` viewing a flat buffer laid out as `Sgd`
/// lays out its parameters (NHWC inside the buffer for 4-d ones with
/// `Layout::ChannelsLast`). The caller checks that `flat` has the right length.
pub fn split_flat(flat: &Tensor, shapes: &[Vec<i64>], layout: Layout) -> Vec<Tensor> {
    let mut off = 0;
    shapes
        .iter()
        .map(|size| {
            let n: i64 = size.iter().product();
            let view = match (layout, size.as_slice()) {
                (Layout::ChannelsLast, &[o, i, h, w]) => flat
                    .narrow(0, off, n)
                    .view([o, h, w, i])
                    .permute([0, 3, 1, 2]),
                _ => flat.narrow(0, off, n).view(size.as_slice()),
            };
            off += n;
            view
        })
        .collect()
}

/// The inverse of `split_flat`: per-parameter tensors into one flat buffer.
pub fn join_flat(parts: &[Tensor], layout: Layout) -> Tensor {
    let parts: Vec<Tensor> = parts.iter().map(|p| flatten(p, layout)).collect();
    Tensor::cat(&parts, 0)
}

impl Sgd {
    /// Moves every trainable variable of `vs` into one flat buffer (values unchanged).
    /// With `Layout::ChannelsLast`, 4-d weights are laid out NHWC inside the buffer (same
    /// values, same maths; oneDNN's convolutions are faster in that layout on CPUs).
    pub fn new(
        vs: &VarStore,
        momentum: f64,
        weight_decay: f64,
        convention: Velocity,
        layout: Layout,
    ) -> Self {
        let mut params = vs.trainable_variables();
        let flat = tch::no_grad(|| {
            let parts: Vec<Tensor> = params
                .iter()
                .map(|p| flatten(&p.detach(), layout))
                .collect();
            if parts.is_empty() {
                Tensor::zeros([0], (Kind::Float, vs.device()))
            } else {
                Tensor::cat(&parts, 0)
            }
        });
        let shapes: Vec<Vec<i64>> = params.iter().map(|p| p.size()).collect();
        for (p, view) in params.iter_mut().zip(split_flat(&flat, &shapes, layout)) {
            // Re-points the variable (shared by the layers holding it) at the flat storage.
            p.set_data(&view);
        }
        let velocity = flat.zeros_like();
        Self {
            params,
            flat,
            velocity,
            momentum,
            weight_decay,
            convention,
            steps: 0,
            layout,
            rules: None,
        }
    }

    /// Gives each parameter (in `parameters()` order) its own rule.
    pub fn set_rules(&mut self, rules: &[ParamRule]) -> Result<(), String> {
        if rules.len() != self.params.len() {
            return Err(format!(
                "{} parameter rules for {} parameters",
                rules.len(),
                self.params.len()
            ));
        }
        let (kind, dev) = (Kind::Float, self.flat.device());
        let field = |f: fn(&ParamRule) -> f64| {
            let parts: Vec<Tensor> = rules
                .iter()
                .zip(&self.params)
                .map(|(r, p)| Tensor::full([p.numel() as i64], f(r), (kind, dev)))
                .collect();
            if parts.is_empty() {
                Tensor::zeros([0], (kind, dev))
            } else {
                Tensor::cat(&parts, 0)
            }
        };
        self.rules = Some(Rules {
            lr_scaled: field(|r| r.lr_scaled),
            lr_fixed: field(|r| r.lr_fixed),
            momentum: field(|r| r.momentum),
            decay: field(|r| r.decay),
        });
        Ok(())
    }

    /// Gradients of `loss` with respect to the parameters, as one flat tensor in
    /// the buffer's layout. (`run_backward` returns them without accumulating
    /// into `.grad`, so nothing needs zeroing.)
    pub fn flat_grad(&self, loss: &Tensor) -> Tensor {
        let grads = Tensor::run_backward(&[loss], &self.params, false, false);
        // A parameter the loss does not reach (e.g. an auxiliary classifier in
        // a pass without it) has an undefined gradient: zero, so that only
        // weight decay and momentum move it, as in Caffe.
        let parts: Vec<Tensor> = grads
            .iter()
            .zip(&self.params)
            .map(|(g, p)| {
                if g.defined() {
                    flatten(g, self.layout)
                } else {
                    flatten(&p.zeros_like(), self.layout)
                }
            })
            .collect();
        Tensor::cat(&parts, 0)
    }

    /// One step on `loss` at learning rate `lr`.
    pub fn step(&mut self, loss: &Tensor, lr: f64) {
        let g = self.flat_grad(loss);
        self.apply(&g, lr);
    }

    /// The update itself, from a flat gradient.
    pub fn apply(&mut self, g: &Tensor, lr: f64) {
        if let Some(r) = &self.rules {
            tch::no_grad(|| {
                let lr = &r.lr_scaled * lr + &r.lr_fixed;
                let g = g + &self.flat * &r.decay;
                match self.convention {
                    Velocity::LrInside => {
                        // v = m v - lr (g + wd w); w += v. cuda-convnet (weights.cuh
                        // `Weights::update`, layer.cu `scaleGrad = eps / numCases`):
                        // inc = mom inc + eps grad(log p) / N - wc eps W; W += inc.
                        let _ = self.velocity.g_mul_(&r.momentum);
                        let _ = self.velocity.g_sub_(&(g * lr));
                        let _ = self.flat.g_add_(&self.velocity);
                    }
                    Velocity::LrOutside => {
                        let _ = self.velocity.g_mul_(&r.momentum);
                        let _ = self.velocity.g_add_(&g);
                        let _ = self.flat.g_sub_(&(&self.velocity * lr));
                    }
                }
            });
            self.steps += 1;
            return;
        }
        tch::no_grad(|| {
            let g = if self.weight_decay != 0.0 {
                g + &self.flat * self.weight_decay
            } else {
                g.shallow_clone()
            };
            match self.convention {
                Velocity::LrInside => {
                    // v = m v - lr (g + wd w); w += v
                    let _ = self.velocity.g_mul_scalar_(self.momentum);
                    let _ = self.velocity.g_sub_(&(g * lr));
                    let _ = self.flat.g_add_(&self.velocity);
                }
                Velocity::LrOutside => {
                    // v = m v + (g + wd w); w -= lr v
                    let _ = self.velocity.g_mul_scalar_(self.momentum);
                    let _ = self.velocity.g_add_(&g);
                    let _ = self.flat.g_sub_(&(&self.velocity * lr));
                }
            }
        });
        self.steps += 1;
    }

    pub fn velocity(&self) -> &Tensor {
        &self.velocity
    }

    /// Restores the velocity from a checkpoint.
    pub fn set_velocity(&mut self, v: &Tensor) -> Result<(), tch::TchError> {
        if v.size() != self.velocity.size() {
            return Err(tch::TchError::Shape(format!(
                "velocity has {:?} elements, the model {:?}",
                v.size(),
                self.velocity.size()
            )));
        }
        tch::no_grad(|| self.velocity.f_copy_(v))
    }

    pub fn parameters(&self) -> &[Tensor] {
        &self.params
    }

    /// Shapes of the parameters, in the flat buffer's order.
    pub fn parameter_shapes(&self) -> Vec<Vec<i64>> {
        self.params.iter().map(|p| p.size()).collect()
    }

    /// How 4-d parameters are laid out inside the flat buffers.
    pub fn layout(&self) -> Layout {
        self.layout
    }

    /// The velocity of each parameter (views into the flat velocity), in the
    /// flat buffer's order: what fused training takes apart per run.
    pub fn velocity_views(&self) -> Vec<Tensor> {
        split_flat(&self.velocity, &self.parameter_shapes(), self.layout)
    }
}

/// The same maths one parameter at a time, as textbooks (and PyTorch's
/// non-foreach SGD) write it. Kept as the reference the flat version is tested against.
#[derive(Debug)]
pub struct PerParameterSgd {
    params: Vec<Tensor>,
    velocity: Vec<Tensor>,
    pub momentum: f64,
    pub weight_decay: f64,
    pub convention: Velocity,
}

impl PerParameterSgd {
    pub fn new(vs: &VarStore, momentum: f64, weight_decay: f64, convention: Velocity) -> Self {
        let params = vs.trainable_variables();
        let velocity = params.iter().map(|p| p.zeros_like()).collect();
        Self {
            params,
            velocity,
            momentum,
            weight_decay,
            convention,
        }
    }

    pub fn step(&mut self, loss: &Tensor, lr: f64) {
        let grads = Tensor::run_backward(&[loss], &self.params, false, false);
        tch::no_grad(|| {
            for ((p, v), g) in self
                .params
                .iter_mut()
                .zip(self.velocity.iter_mut())
                .zip(grads)
            {
                let g = g + &*p * self.weight_decay;
                match self.convention {
                    Velocity::LrInside => {
                        *v = &*v * self.momentum - g * lr;
                        let _ = p.g_add_(v);
                    }
                    Velocity::LrOutside => {
                        *v = &*v * self.momentum + g;
                        let _ = p.g_sub_(&(&*v * lr));
                    }
                }
            }
        });
    }
}

/// The name of each trainable variable of `vs`, in `trainable_variables` order.
pub fn parameter_names(vs: &VarStore) -> Vec<String> {
    let named = vs.variables();
    vs.trainable_variables()
        .iter()
        .map(|p| {
            named
                .iter()
                .find(|(_, t)| t.data_ptr() == p.data_ptr() && t.size() == p.size())
                .map(|(n, _)| n.clone())
                .unwrap_or_default()
        })
        .collect()
}

fn is_bias_or_bn(name: &str, shape: &[i64]) -> bool {
    name.ends_with("bias") || shape.len() <= 1
}

/// The rules `cfg` asks for, per parameter of `vs` (trainable order); None when
/// one momentum and weight decay for all (the plain `Sgd::new` update) is it.
/// cuda-convnet nets (`model.family = "cuda-convnet-cfg"`) take each layer's
/// epsW/epsB/momW/momB/wc from the layer-params file: the schedule scales epsW
/// only, as its Methodology lowers "all learning rates (the epsW parameters)"
/// by 10 and keeps epsB (cuda-convnet wiki, Methodology, steps 4-5).
pub fn rules_for(cfg: &RunConfig, vs: &VarStore) -> Result<Option<Vec<ParamRule>>, String> {
    let t = &cfg.train;
    let names = parameter_names(vs);
    let shapes: Vec<Vec<i64>> = vs.trainable_variables().iter().map(|p| p.size()).collect();
    if let ModelConfig::CudaConvnetCfg(net) = &cfg.model {
        let hypers = net.hypers().map_err(|e| format!("model.{e}"))?;
        if t.weight_decay != 0.0 || !t.weight_decay_on.is_default() || t.lr <= 0.0 || t.lr.is_nan()
        {
            return Err("train.weight_decay: cuda-convnet nets take each layer's weight cost (wc) from its layer-params file; set train.weight_decay = 0, leave weight_decay_on, and train.lr > 0 (the files' epsW, which the schedule scales)".into());
        }
        if let Some((l, h)) = hypers
            .iter()
            .find(|(_, h)| h.mom_w != t.momentum || h.mom_b != t.momentum)
        {
            return Err(format!("train.momentum: {} differs from layer {l}'s momW {} / momB {} in the layer-params file", t.momentum, h.mom_w, h.mom_b));
        }
        let rules = names.iter().zip(&shapes).map(|(n, s)| {
            let layer = n.split('.').next().unwrap_or_default();
            let h = hypers.get(layer).ok_or_else(|| {
                format!("model: parameter `{n}` belongs to no layer of the layer-params file")
            })?;
            Ok(if is_bias_or_bn(n, s) {
                ParamRule {
                    lr_scaled: 0.0,
                    lr_fixed: h.eps_b,
                    momentum: h.mom_b,
                    decay: 0.0,
                }
            } else {
                ParamRule {
                    lr_scaled: h.eps_w / t.lr,
                    lr_fixed: 0.0,
                    momentum: h.mom_w,
                    decay: h.wc,
                }
            })
        });
        return rules.collect::<Result<Vec<_>, String>>().map(Some);
    }
    if t.weight_decay_on.is_default() {
        return Ok(None);
    }
    Ok(Some(
        names
            .iter()
            .zip(&shapes)
            .map(|(n, s)| ParamRule {
                lr_scaled: 1.0,
                lr_fixed: 0.0,
                momentum: t.momentum,
                decay: if is_bias_or_bn(n, s) {
                    0.0
                } else {
                    t.weight_decay
                },
            })
            .collect(),
    ))
}
