//! SGD with momentum and L2 weight decay, written here so that its state goes
//! into checkpoints and its velocity convention is a knob.
//!
//! All trainable parameters live in one flat buffer (each parameter a view into
//! it) and gradients are gathered into one flat tensor, so an update is a handful
//! of kernels for the whole model instead of several per parameter.
use crate::config::Velocity;
use crate::layout::Layout;
use tch::nn::VarStore;
use tch::{Kind, Tensor};

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
        }
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
