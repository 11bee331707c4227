//! cuda-convnet's own CIFAR-10 networks, built from its layer-definition and
//! layer-parameter files, so that the recipe is exactly those files by
//! construction. Krizhevsky et al. 2012, Sec. 3.3 (footnote): the CIFAR-10 net
//! behind "13% test error without normalization and 11% with" is "specified
//! precisely by the code and parameter files provided here:
//! http://code.google.com/p/cuda-convnet/". Those are `layers-conv-local-13pct`
//! and `layers-conv-local-11pct` with their `layer-params-*` files, committed
//! unchanged under `experiments/cuda-convnet/` (BSD 2-Clause, origin in their
//! headers) and embedded here at compile time.
//!
//! Semantics follow cuda-convnet's code (github.com/dnouri/cuda-convnet,
//! commit e4ac0c1f, a mirror of the Google Code trunk):
//! - `conv`/`local`: output side `1 + ceil((2 padding + img - filterSize) / stride)`
//!   (layer.py, `LocalLayerParser.parse`); weights ~ `initW * randn`, biases
//!   `initB` = 0 (layer.py `make_weights`, `make_biases`); `local` has unshared
//!   weights and one bias per (filter, position) (`LocalUnsharedLayerParser`).
//! - `neuron=relu` on a weight layer applies after it.
//! - `pool`: `outputsX = ceil((img - start - sizeX) / stride) + 1` (layer.py
//!   `PoolLayerParser`), windows clipped at the image edge (conv_util.cuh
//!   `kLocalPool`: `loopEndX = MIN(imgSize, startImgPxX + subsX)`).
//! - `cmrnorm`: see `cmrnorm`.
//! - `softmax` + `cost.logreg`: mean cross-entropy (the gradient of the log
//!   probability times `coeff`, scaled by `eps / numCases`, layer.cu).
use super::counter::{Conv, Linear};
use super::layers::LocallyConnected;
use super::layers::Lrn;
use super::Network;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use tch::nn::{self, Init};
use tch::Tensor;

/// The committed files, by net name: (layer definitions, layer parameters).
pub const NETS: [(&str, &str, &str); 2] = [
    (
        "conv-local-13pct",
        include_str!("../../../../experiments/cuda-convnet/layers-conv-local-13pct.cfg"),
        include_str!("../../../../experiments/cuda-convnet/layer-params-conv-local-13pct.cfg"),
    ),
    (
        "conv-local-11pct",
        include_str!("../../../../experiments/cuda-convnet/layers-conv-local-11pct.cfg"),
        include_str!("../../../../experiments/cuda-convnet/layer-params-conv-local-11pct.cfg"),
    ),
];

/// The `model` table of a run on one of the committed nets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CfgNetConfig {
    /// One of `NETS`: `conv-local-13pct` or `conv-local-11pct`.
    pub net: String,
    /// Side of the (cropped) input: cuda-convnet's `--crop-border=4` on 32x32
    /// CIFAR-10 gives 24 (convdata.py `CroppedCIFARDataProvider`).
    pub input_size: i64,
}

impl CfgNetConfig {
    pub fn def(&self) -> Result<NetDef, String> {
        let (_, layers, params) =
            NETS.iter()
                .find(|(n, _, _)| *n == self.net)
                .ok_or_else(|| {
                    let known: Vec<&str> = NETS.iter().map(|(n, _, _)| *n).collect();
                    format!(
                        "net: unknown cuda-convnet net `{}` (one of {known:?})",
                        self.net
                    )
                })?;
        NetDef::parse(layers, params).map_err(|e| format!("net: `{}`: {e}", self.net))
    }

    pub fn validate(&self) -> Result<(), String> {
        let def = self.def()?;
        def.shapes(self.input_size).map(|_| ())
    }

    /// Per weight layer (by name) its learning rates, momenta and weight cost.
    pub fn hypers(&self) -> Result<BTreeMap<String, LayerHyper>, String> {
        Ok(self.def()?.hypers)
    }
}

/// One section of a cuda-convnet config file: `[name]` then `key=value` lines.
pub type Section = (String, Vec<(String, String)>);

/// Parses cuda-convnet's INI-like format (Python's ConfigParser): `[section]`
/// headers, `key=value` (or `key: value`) lines, `#`/`;` comment lines. Err names the line.
pub fn parse_cfg(text: &str) -> Result<Vec<Section>, String> {
    let mut sections: Vec<Section> = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            if sections.iter().any(|(n, _)| n == name.trim()) {
                return Err(format!("line {}: section [{}] appears twice", i + 1, name));
            }
            sections.push((name.trim().to_string(), Vec::new()));
            continue;
        }
        let Some((k, v)) = line.split_once(['=', ':']) else {
            return Err(format!(
                "line {}: expected `key=value`, got `{line}`",
                i + 1
            ));
        };
        let Some((_, kv)) = sections.last_mut() else {
            return Err(format!("line {}: `{line}` before any [section]", i + 1));
        };
        kv.push((k.trim().to_string(), v.trim().to_string()));
    }
    Ok(sections)
}

/// A layer's learning rates, momenta and weight cost (layer-params file):
/// epsW, epsB, momW, momB, wc (cuda-convnet weights.cuh `Weights::update`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LayerHyper {
    pub eps_w: f64,
    pub eps_b: f64,
    pub mom_w: f64,
    pub mom_b: f64,
    pub wc: f64,
}

/// One layer of a layer-definition file, its parameters resolved.
#[derive(Debug, Clone, PartialEq)]
pub enum LayerDef {
    /// `conv` (shared weights, `sharedBiases=1`) or `local` (unshared).
    Weights {
        name: String,
        local: bool,
        channels: i64,
        filters: i64,
        padding: i64,
        stride: i64,
        filter_size: i64,
        init_w: f64,
        relu: bool,
    },
    Pool {
        max: bool,
        start: i64,
        size: i64,
        stride: i64,
    },
    CmrNorm {
        size: i64,
        scale: f64,
        pow: f64,
    },
    Fc {
        name: String,
        outputs: i64,
        init_w: f64,
        relu: bool,
    },
}

/// A whole net: its layers in order and each weight layer's hyperparameters.
#[derive(Debug, Clone, PartialEq)]
pub struct NetDef {
    pub layers: Vec<LayerDef>,
    pub hypers: BTreeMap<String, LayerHyper>,
}

/// Key lookup within a section; Err names the section and key.
struct Keys<'a> {
    section: &'a str,
    kv: &'a [(String, String)],
}

impl Keys<'_> {
    fn raw(&self, key: &str) -> Option<&str> {
        self.kv
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
    fn get<T: std::str::FromStr>(&self, key: &str) -> Result<T, String> {
        let v = self
            .raw(key)
            .ok_or_else(|| format!("[{}]: missing key `{key}`", self.section))?;
        v.parse()
            .map_err(|_| format!("[{}]: `{key}={v}` is not a valid number", self.section))
    }
    fn get_or<T: std::str::FromStr>(&self, key: &str, default: T) -> Result<T, String> {
        match self.raw(key) {
            None => Ok(default),
            Some(_) => self.get(key),
        }
    }
    /// `neuron=relu` or absent/`ident`; other neurons are not used by these nets.
    fn relu(&self) -> Result<bool, String> {
        match self.raw("neuron") {
            None | Some("ident") => Ok(false),
            Some("relu") => Ok(true),
            Some(n) => Err(format!("[{}]: neuron `{n}` is not supported", self.section)),
        }
    }
}

impl NetDef {
    /// Builds the net of a layer-definition file and its layer-parameter file.
    /// The layers must form a chain from `data` (each layer's `inputs` the previous one).
    pub fn parse(layers_text: &str, params_text: &str) -> Result<NetDef, String> {
        let defs = parse_cfg(layers_text)?;
        let params = parse_cfg(params_text)?;
        let mut layers = Vec::new();
        let mut hypers = BTreeMap::new();
        let mut prev = String::from("data");
        for (name, kv) in &defs {
            let keys = Keys { section: name, kv };
            let kind = keys.raw("type").unwrap_or_default();
            if kind == "data" || kind == "cost.logreg" {
                continue;
            }
            let inputs = keys.raw("inputs").unwrap_or_default();
            if inputs != prev {
                return Err(format!("[{name}]: inputs={inputs}, expected the previous layer `{prev}` (only chains are supported)"));
            }
            prev = name.clone();
            if let Some(layer) = Self::layer(name, kind, &keys, &params)? {
                if let LayerDef::Weights { .. } | LayerDef::Fc { .. } = layer {
                    hypers.insert(name.clone(), Self::hyper(name, &params)?);
                }
                layers.push(layer);
            }
        }
        Ok(NetDef { layers, hypers })
    }

    fn layer(
        name: &str,
        kind: &str,
        keys: &Keys,
        params: &[Section],
    ) -> Result<Option<LayerDef>, String> {
        Ok(Some(match kind {
            "conv" | "local" => LayerDef::Weights {
                name: name.into(),
                local: kind == "local",
                channels: keys.get("channels")?,
                filters: keys.get("filters")?,
                padding: keys.get_or("padding", 0)?,
                stride: keys.get_or("stride", 1)?,
                filter_size: keys.get("filterSize")?,
                init_w: keys.get("initW")?,
                relu: keys.relu()?,
            },
            "pool" => LayerDef::Pool {
                max: match keys.raw("pool") {
                    Some("max") => true,
                    Some("avg") => false,
                    other => return Err(format!("[{name}]: pool={other:?}, expected max or avg")),
                },
                start: keys.get_or("start", 0)?,
                size: keys.get("sizeX")?,
                stride: keys.get("stride")?,
            },
            "cmrnorm" => {
                let p = section(params, name)?;
                LayerDef::CmrNorm {
                    size: keys.get("size")?,
                    scale: p.get("scale")?,
                    pow: p.get("pow")?,
                }
            }
            "fc" => LayerDef::Fc {
                name: name.into(),
                outputs: keys.get("outputs")?,
                init_w: keys.get("initW")?,
                relu: keys.relu()?,
            },
            // The logreg cost applies its own softmax (mean cross-entropy of logits).
            "softmax" => return Ok(None),
            other => return Err(format!("[{name}]: layer type `{other}` is not supported")),
        }))
    }

    fn hyper(name: &str, params: &[Section]) -> Result<LayerHyper, String> {
        let p = section(params, name)?;
        Ok(LayerHyper {
            eps_w: p.get("epsW")?,
            eps_b: p.get("epsB")?,
            mom_w: p.get("momW")?,
            mom_b: p.get("momB")?,
            wc: p.get("wc")?,
        })
    }

    /// (channels, side) after each layer for a `side` x `side` input; Err names the layer.
    pub fn shapes(&self, side: i64) -> Result<Vec<(i64, i64)>, String> {
        let (mut c, mut s) = (3, side);
        let mut out = Vec::new();
        for l in &self.layers {
            match l {
                LayerDef::Weights {
                    name,
                    local,
                    channels,
                    filters,
                    padding,
                    stride,
                    filter_size,
                    ..
                } => {
                    if *channels != c || *stride < 1 || (*local && *stride != 1) {
                        return Err(format!("[{name}]: channels={channels} stride={stride} on {c} input maps (local layers: stride 1)"));
                    }
                    if 2 * padding + s < *filter_size {
                        return Err(format!("[{name}]: filterSize {filter_size} exceeds the {s}x{s} input padded by {padding}"));
                    }
                    // layer.py: modulesX = 1 + ceil((2 padding + imgSize - filterSize) / stride).
                    s = 1 + (2 * padding + s - filter_size + stride - 1) / stride;
                    c = *filters;
                }
                LayerDef::Pool {
                    start,
                    size,
                    stride,
                    ..
                } => {
                    if *start != 0 || *size > s || *stride < 1 || stride > size {
                        return Err(format!("pool: start={start} sizeX={size} stride={stride} on {s}x{s} maps (start 0 only)"));
                    }
                    s = cuda_convnet_pool_out(s, *size, *stride);
                }
                LayerDef::CmrNorm { size, .. } if *size < 1 || *size > c => {
                    return Err(format!("cmrnorm: size {size} on {c} maps"));
                }
                LayerDef::CmrNorm { .. } => {}
                LayerDef::Fc { outputs, .. } => {
                    c = *outputs;
                    s = 1;
                }
            }
            out.push((c, s));
        }
        Ok(out)
    }
}

fn section<'a>(params: &'a [Section], name: &'a str) -> Result<Keys<'a>, String> {
    params
        .iter()
        .find(|(n, _)| n == name)
        .map(|(n, kv)| Keys { section: n, kv })
        .ok_or_else(|| format!("layer-params file: no section [{name}]"))
}

/// layer.py `PoolLayerParser`: `outputsX = ceil((imgSize - start - sizeX) / stride) + 1` (start 0).
pub fn cuda_convnet_pool_out(s: i64, size: i64, stride: i64) -> i64 {
    (s - size + stride - 1) / stride + 1
}

/// Cross-map response normalisation exactly as cuda-convnet computes it:
/// `out_f = x_f * (1 + (scale / size) * sum_{g in window(f)} x_g^2)^(-pow)`,
/// the shared LRN layer with cuda-convnet's constants and window
/// (`Lrn::cuda_convnet`, where each is cited).
pub fn cmrnorm(x: &Tensor, size: i64, scale: f64, pow: f64) -> Tensor {
    Lrn::cuda_convnet(size, scale, pow).forward(x)
}

/// A layer as built.
#[derive(Debug)]
enum Op {
    Conv(Conv, bool),
    Local(LocallyConnected, bool),
    Pool { max: bool, size: i64, stride: i64 },
    Norm { size: i64, scale: f64, pow: f64 },
    Fc(Linear, bool),
}

/// A net built from cuda-convnet's files; variables are named after its layers
/// (`conv1.weight`, `local3.bias`, `fc10.weight`), which is how the optimizer
/// finds each layer's hyperparameters (`hypers`).
#[derive(Debug)]
pub struct CfgNet {
    ops: Vec<Op>,
}

impl CfgNet {
    pub fn new(vs: &nn::Path, cfg: &CfgNetConfig) -> Result<Self, String> {
        let def = cfg.def()?;
        let shapes = def.shapes(cfg.input_size)?;
        let mut ops = Vec::new();
        let (mut c, mut s) = (3, cfg.input_size);
        for (l, &(oc, os)) in def.layers.iter().zip(&shapes) {
            ops.push(Self::op(vs, l, c, s));
            (c, s) = (oc, os);
        }
        Ok(Self { ops })
    }

    fn op(vs: &nn::Path, l: &LayerDef, c: i64, s: i64) -> Op {
        let gauss = |std: f64| Init::Randn {
            mean: 0.0,
            stdev: std,
        };
        match l {
            LayerDef::Weights {
                name,
                local: false,
                filters,
                padding,
                stride,
                filter_size,
                init_w,
                relu,
                ..
            } => Op::Conv(
                Conv::with(
                    &(vs / name.as_str()),
                    c,
                    *filters,
                    *filter_size,
                    *stride,
                    *padding,
                    1,
                    true,
                    gauss(*init_w),
                    Init::Const(0.0),
                ),
                *relu,
            ),
            LayerDef::Weights {
                name,
                filters,
                padding,
                filter_size,
                init_w,
                relu,
                ..
            } => Op::Local(
                LocallyConnected::new(
                    &(vs / name.as_str()),
                    c,
                    *filters,
                    (s, s),
                    *filter_size,
                    *padding,
                    gauss(*init_w),
                ),
                *relu,
            ),
            LayerDef::Pool {
                max, size, stride, ..
            } => Op::Pool {
                max: *max,
                size: *size,
                stride: *stride,
            },
            LayerDef::CmrNorm { size, scale, pow } => Op::Norm {
                size: *size,
                scale: *scale,
                pow: *pow,
            },
            LayerDef::Fc {
                name,
                outputs,
                init_w,
                relu,
            } => Op::Fc(
                Linear::with(
                    &(vs / name.as_str()),
                    c * s * s,
                    *outputs,
                    gauss(*init_w),
                    Init::Const(0.0),
                ),
                *relu,
            ),
        }
    }
}

fn relu_if(x: Tensor, relu: bool) -> Tensor {
    if relu {
        x.relu()
    } else {
        x
    }
}

impl Network for CfgNet {
    fn forward_t(&self, x: &Tensor, _train: bool) -> Tensor {
        let mut h = x.shallow_clone();
        for op in &self.ops {
            h = match op {
                Op::Conv(conv, relu) => relu_if(conv.forward(&h), *relu),
                Op::Local(l, relu) => relu_if(l.forward(&h), *relu),
                // Ceil mode without padding: cuda-convnet's outputsX with windows
                // clipped at the edge (every window starts inside the image
                // whenever stride <= sizeX, which `shapes` checks).
                Op::Pool { max, size, stride } => {
                    let (z, st) = (*size, *stride);
                    if *max {
                        h.max_pool2d([z, z], [st, st], [0, 0], [1, 1], true)
                    } else {
                        // cuda-convnet's AvgPooler divides by the clipped region's size.
                        h.avg_pool2d([z, z], [st, st], [0, 0], true, false, None)
                    }
                }
                Op::Norm { size, scale, pow } => cmrnorm(&h, *size, *scale, *pow),
                Op::Fc(fc, relu) => relu_if(fc.forward(&h.flatten(1, -1)), *relu),
            };
        }
        h
    }
}
