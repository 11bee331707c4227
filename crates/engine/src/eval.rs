//! Evaluation, one module for every test protocol the papers use:
//! - the single original view (CIFAR; a centre crop of an image folder),
//! - AlexNet's ten-crop test (ImageNet; ResNet Tables 2-3): the softmax
//!   averaged over the views of each image,
//! - VGG's multi-scale dense evaluation (Sec. 3.2/4.2): the net applied to the
//!   image at each test scale Q, the softmax averaged over the scales,
//! - VGG's flip-averaged test (Sec. 3.2, `data.test_flip`): every view also
//!   mirrored, the softmax averaged over both.
//!
//! A dataset (`data::TrainData::eval_batches`) says which views of which
//! images; here the network runs over them and the loss and error are summed on
//! the device, with one host read per split.
use crate::config::RunConfig;
use crate::data::{EvalBatch, Split, TrainData};
use crate::error::{Error, Result};
use crate::layout::Layout;
use crate::models::Network;
use crate::precision;
use tch::{Device, Kind, Reduction, Tensor};

/// Mean cross-entropy loss and error rate (a fraction) over a split.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LossError {
    pub loss: f64,
    pub error: f64,
}

/// One evaluation of one run: the validation split (when held out) and the test split.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Evaluation {
    pub validation: Option<LossError>,
    pub test: LossError,
    /// The training images of `data.train_eval_images` in evaluation mode.
    pub train: Option<LossError>,
}

/// Evaluates `seeds_fused` networks (1, or K fused seeds: the output [N, K, classes]) in
/// eval mode, without augmentation, on the validation and test splits (and the
/// training images of `data.train_eval_images`).
pub fn evaluate(
    net: &dyn Network,
    data: &dyn TrainData,
    cfg: &RunConfig,
    layout: Layout,
    seeds_fused: i64,
) -> Result<Vec<Evaluation>> {
    let split = |split| evaluate_split(net, data, split, cfg, layout, seeds_fused);
    let validation = data
        .has_validation()
        .then(|| split(Split::Validation))
        .transpose()?;
    let test = split(Split::Test)?;
    let train = (cfg.data.train_eval_images > 0)
        .then(|| split(Split::TrainEval))
        .transpose()?;
    Ok((0..seeds_fused as usize)
        .map(|i| Evaluation {
            validation: validation.as_ref().map(|v| v[i]),
            test: test[i],
            train: train.as_ref().map(|t| t[i]),
        })
        .collect())
}

/// Mean loss and error of each of the `seeds_fused` networks on one split.
pub fn evaluate_split(
    net: &dyn Network,
    data: &dyn TrainData,
    split: Split,
    cfg: &RunConfig,
    layout: Layout,
    seeds_fused: i64,
) -> Result<Vec<LossError>> {
    let mut sums: Option<Tensor> = None;
    let mut images = 0i64;
    data.eval_batches(split, cfg, &mut |batch| {
        let s = tch::no_grad(|| batch_sums(net, &batch, cfg, layout, seeds_fused))?;
        images += batch.labels.size()[0];
        sums = Some(match sums.take() {
            Some(acc) => acc + s,
            None => s,
        });
        Ok(())
    })?;
    let n = images.max(1) as f64;
    let v: Vec<f64> = match sums {
        Some(s) => Vec::try_from(s.to_device(Device::Cpu).view([-1]))?,
        None => vec![f64::NAN; 2 * seeds_fused as usize],
    };
    Ok(v.chunks(2)
        .map(|s| LossError {
            loss: s[0] / n,
            error: s[1] / n,
        })
        .collect())
}

/// Summed loss and error count of each run over one batch, [seeds_fused, 2] in f64.
fn batch_sums(
    net: &dyn Network,
    batch: &EvalBatch,
    cfg: &RunConfig,
    layout: Layout,
    seeds_fused: i64,
) -> Result<Tensor> {
    let forward =
        |x: &Tensor| precision::forward(net, &layout.apply(x), false, cfg.train.precision);
    let y = &batch.labels;
    // VGG Sec. 3.2: the mirrored images are further inputs whose softmax is
    // averaged with the originals' (with the views' and scales').
    let flipped: Vec<Tensor>;
    let inputs = if cfg.data.test_flip {
        flipped = batch
            .inputs
            .iter()
            .flat_map(|x| [x.shallow_clone(), x.flip([3])])
            .collect();
        flipped.as_slice()
    } else {
        batch.inputs.as_slice()
    };
    let (loss, err) = match inputs {
        [x] if batch.views == 1 && seeds_fused > 1 => {
            fused_sums(&forward(&x.repeat([1, seeds_fused, 1, 1])), y, seeds_fused)
        }
        [x] if batch.views == 1 => {
            let logits = forward(x);
            let loss = logits.cross_entropy_loss::<Tensor>(y, None, Reduction::Sum, -100, 0.0);
            (
                loss.view([1]),
                logits
                    .argmax(-1, false)
                    .ne_tensor(y)
                    .sum(Kind::Double)
                    .view([1]),
            )
        }
        _ if seeds_fused > 1 => {
            return Err(Error::Config(format!(
                "run `{}`: fused seeds have no multi-view or multi-scale evaluation",
                cfg.name
            )))
        }
        inputs => {
            let n = y.size()[0];
            let p = averaged_posteriors(inputs, batch.views, n, &forward);
            let loss =
                p.clamp_min(1e-12)
                    .log()
                    .nll_loss_nd::<Tensor>(y, None, Reduction::Sum, -100);
            (
                loss.view([1]),
                p.argmax(-1, false).ne_tensor(y).sum(Kind::Double).view([1]),
            )
        }
    };
    Ok(Tensor::stack(
        &[loss.to_kind(Kind::Double), err.to_kind(Kind::Double)],
        -1,
    ))
}

/// K fused seeds, every run seeing the same images: logits [N, K, classes].
fn fused_sums(logits: &Tensor, y: &Tensor, seeds_fused: i64) -> (Tensor, Tensor) {
    let len = y.size()[0];
    let yk = y.unsqueeze(1).expand([len, seeds_fused], false);
    let loss = logits
        .log_softmax(-1, Kind::Float)
        .gather(2, &yk.unsqueeze(-1), false)
        .neg()
        .sum_dim_intlist(&[0i64, 2][..], false, Kind::Float);
    let err = logits
        .argmax(-1, false)
        .ne_tensor(&yk)
        .sum_dim_intlist(0, false, Kind::Double);
    (loss, err)
}

/// The class posteriors of each image: softmax averaged over its `views`
/// consecutive views within each input, then over the inputs (scales).
fn averaged_posteriors(
    inputs: &[Tensor],
    views: i64,
    n: i64,
    forward: &dyn Fn(&Tensor) -> Tensor,
) -> Tensor {
    inputs
        .iter()
        .map(|x| {
            forward(x)
                .softmax(-1, Kind::Float)
                .view([n, views, -1])
                .mean_dim(1, false, Kind::Float)
        })
        .reduce(|a, b| a + b)
        .map(|p| p / inputs.len() as f64)
        .unwrap_or_else(|| Tensor::zeros([n, 1], (Kind::Float, Device::Cpu)))
}
