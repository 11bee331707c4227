//! Receptive fields of any network the core crate builds, read off a traced
//! forward pass (`counter::trace`): per layer of the main path, the kernel,
//! stride, output size, jump (the input pixels between neighbouring units) and
//! receptive field. Using the recurrence from a unit back to the input,
//! r_in = (r_out - 1) * stride + kernel, applied from the layer down to the
//! first one (starting at r = 1), and jump = product of the strides.
//!
//! Shortcut projections (ResNet options B/C) are branches beside the main
//! path whose field is never larger, so they are left out; so are GoogLeNet's
//! inception branches other than the 5x5 one, whose field is the largest of a
//! module's, and its auxiliary classifiers (`googlenet::beside_main_path`).
use super::counter::{trace, LayerRecord};
use super::googlenet;
use super::Network;
use tch::{Device, Kind, Tensor};

#[derive(Debug, Clone, PartialEq)]
pub struct RfRow {
    /// `conv5_3`, `pool`, `fc8`.
    pub layer: String,
    pub kind: &'static str,
    pub kernel: i64,
    pub stride: i64,
    /// Side of the output map (1 for fc layers).
    pub out_size: i64,
    /// Input pixels between adjacent output units (product of strides so far).
    pub jump: i64,
    /// Side of the input window a unit sees; `None` for fully connected layers (all of it).
    pub receptive_field: Option<i64>,
}

/// Rows for the main path of `records` (a traced forward pass).
pub fn receptive_fields(records: &[LayerRecord]) -> Vec<RfRow> {
    let mut path: Vec<(i64, i64)> = Vec::new();
    let mut rows = Vec::new();
    let mut dense = false;
    for r in records {
        if r.name.contains("shortcut") || googlenet::beside_main_path(r) {
            continue;
        }
        if r.kind == "fc" {
            dense = true;
        }
        let out_size = if r.out_shape.len() == 4 {
            r.out_shape[3]
        } else {
            1
        };
        if r.kind != "fc" {
            path.push((r.kernel, r.stride));
        }
        let rf = path
            .iter()
            .rev()
            .fold(1i64, |r_out, &(k, s)| (r_out - 1) * s + k);
        let pools = rows
            .iter()
            .filter(|x: &&RfRow| x.kind != "conv" && x.kind != "fc")
            .count();
        rows.push(RfRow {
            layer: if r.name.is_empty() {
                format!("{}{}", r.kind, pools + 1)
            } else {
                r.name.clone()
            },
            kind: r.kind,
            kernel: r.kernel,
            stride: r.stride,
            out_size,
            jump: path.iter().map(|p| p.1).product(),
            receptive_field: if dense { None } else { Some(rf) },
        });
    }
    rows
}

/// Traces `net` on one zero image of shape [C, H, W] and returns its rows.
pub fn of_network(net: &dyn Network, input: [i64; 3]) -> Vec<RfRow> {
    let x = Tensor::zeros(
        [1, input[0], input[1], input[2]],
        (Kind::Float, Device::Cpu),
    );
    let (_, records) = tch::no_grad(|| trace(|| net.forward_t(&x, false)));
    receptive_fields(&records)
}

/// A plain-text table of the rows.
pub fn format_table(rows: &[RfRow]) -> String {
    let mut s = format!(
        "{:<24} {:>7} {:>7} {:>7} {:>6} {:>9}\n",
        "layer", "kernel", "stride", "output", "jump", "rf"
    );
    for r in rows {
        s += &format!(
            "{:<24} {:>7} {:>7} {:>7} {:>6} {:>9}\n",
            r.layer,
            r.kernel,
            r.stride,
            format!("{0}x{0}", r.out_size),
            r.jump,
            r.receptive_field
                .map(|v| v.to_string())
                .unwrap_or_else(|| "all".into())
        );
    }
    s
}
