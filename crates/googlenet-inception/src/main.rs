//! Szegedy et al. (2014), "Going Deeper with Convolutions": the Inception
//! module with 1x1 reductions against the naive module (Fig. 2), the auxiliary
//! classifiers (Sec. 5) and the average-pooling head (Sec. 5), on CIFAR-10 as
//! the analogue of the paper's ImageNet experiments; Table 1 as built beside
//! the paper's.
use repro::driver::{Experiment, Results};
use repro::figures::Figure;
use repro::models::{self, counter, ModelConfig};
use repro::plot::{arm_panel, curves_figure, epoch_panel, CurveKey};
use repro::report::{arm_table, pct_stats, Measured, Table};
use std::collections::BTreeMap;

/// Table 1's rows as built here, with their keys in
/// `experiments/papers/googlenet-2014.csv` (`table1.<key>.params` in thousands
/// of weights, `.ops` in millions of multiply-adds per 224x224 image).
const TABLE1: [(&str, &str); 12] = [
    ("conv 7x7/2", "conv1"),
    ("conv 3x3/1 (with its 1x1 reduce)", "conv2"),
    ("3a", "3a"),
    ("3b", "3b"),
    ("4a", "4a"),
    ("4b", "4b"),
    ("4c", "4c"),
    ("4d", "4d"),
    ("4e", "4e"),
    ("5a", "5a"),
    ("5b", "5b"),
    ("linear", "linear"),
];

struct Inception;

/// Parameters and multiply-adds per image of a model as built here.
fn cost(model: &ModelConfig) -> Option<(i64, i64)> {
    let vs = tch::nn::VarStore::new(tch::Device::Cpu);
    let net = models::build(&vs.root(), model).ok()?;
    let params = models::layers::count_parameters(&vs);
    let [c, h, w] = models::input_shape(model);
    Some((params, counter::forward_macs(net.as_ref(), &[1, c, h, w])))
}

/// Mean images/s of a run's logging windows (its seeds together).
fn images_per_sec(res: &Results, run: &str) -> Option<f64> {
    let v: Vec<f64> = res
        .runs
        .seeds(run)
        .into_iter()
        .flatten()
        .map(|r| r.images_per_sec)
        .filter(|x| x.is_finite())
        .collect();
    (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
}

/// Table 1's network as built (ImageNet shape, no auxiliary classifiers):
/// weights (thousands) and multiply-adds (millions) per row beside the paper's.
fn table1(res: &Results) -> Table {
    let paper = &res.paper;
    let rows = match table1_built() {
        Some(built) => TABLE1
            .iter()
            .map(|(row, key)| {
                let (params, ops) = built.get(*row).copied().unwrap_or((f64::NAN, f64::NAN));
                vec![
                    row.to_string(),
                    paper.show(&format!("table1.{key}.params")),
                    format!("{params:.1}K"),
                    paper.show(&format!("table1.{key}.ops")),
                    format!("{ops:.1}M"),
                ]
            })
            .collect(),
        None => Vec::new(),
    };
    Table {
        title: "Table 1 (ImageNet GoogLeNet, 224x224): weights and multiply-adds per row, paper vs built here".into(),
        header: ["row", "params (paper)", "params (built)", "ops (paper)", "ops (built)"]
            .map(String::from)
            .to_vec(),
        rows,
        note: format!(
            "Built from `family = \"googlenet\", shape = \"imagenet\"` without the auxiliary classifiers. Weights exclude biases and are counted in units of 1024 (K), as the paper's appear to be; ops are the multiply-adds (M = 10^6) of the convolutions and the linear layer. Three of the paper's rows do not follow from its own widths: conv 7x7/2 ({} weights and {} ops, where a 7x7x3x64 convolution on 224x224 has 9.2K and 118M), 4c ({} against 497K) and 5a ({} and {} against 1018K and 51M).",
            paper.show("table1.conv1.params"),
            paper.show("table1.conv1.ops"),
            paper.show("table1.4c.params"),
            paper.show("table1.5a.params"),
            paper.show("table1.5a.ops"),
        ),
    }
}

/// Weights (thousands) and multiply-adds (millions) of the ImageNet net, by Table 1 row.
fn table1_built() -> Option<BTreeMap<String, (f64, f64)>> {
    let model: ModelConfig =
        toml::from_str("family = \"googlenet\"\nshape = \"imagenet\"\naux_classifiers = false")
            .ok()?;
    let vs = tch::nn::VarStore::new(tch::Device::Cpu);
    let net = models::build(&vs.root(), &model).ok()?;
    let x = tch::Tensor::zeros([1, 3, 224, 224], (tch::Kind::Float, tch::Device::Cpu));
    let (_, records) = counter::trace(|| tch::no_grad(|| net.forward_t(&x, false)));
    let mut built: BTreeMap<String, (f64, f64)> = BTreeMap::new();
    for (name, var) in vs.variables() {
        if name.ends_with(".weight") && var.dim() > 1 {
            // Table 1 counts weights in units of 1024.
            built.entry(table1_row(&name)).or_default().0 += var.numel() as f64 / 1024.0;
        }
    }
    for r in &records {
        built.entry(table1_row(&r.name)).or_default().1 += r.macs as f64 / 1e6;
    }
    Some(built)
}

/// The Table 1 row a variable or layer belongs to, from its path.
fn table1_row(path: &str) -> String {
    let top = path.split('.').next().unwrap_or(path);
    for m in ["3a", "3b", "4a", "4b", "4c", "4d", "4e", "5a", "5b"] {
        if top.ends_with(m) {
            return m.into();
        }
    }
    match top {
        "conv1" => "conv 7x7/2".into(),
        "conv2_reduce" | "conv2" => "conv 3x3/1 (with its 1x1 reduce)".into(),
        "fc" | "classifier" | "linear" => "linear".into(),
        other => other.into(),
    }
}

impl Experiment for Inception {
    fn name(&self) -> &'static str {
        "googlenet-inception"
    }

    fn figures(&self, res: &Results) -> Vec<(String, Figure)> {
        let panels = [
            ("Fig. 2: 1x1 reductions (b) vs naive (a)", "naive"),
            ("Sec. 5: auxiliary classifiers on/off", "no-aux"),
            ("Sec. 5: average-pool vs fully connected head", "fc-head"),
        ]
        .into_iter()
        .filter(|(_, arm)| res.runs.has(arm))
        .map(|(title, arm)| epoch_panel(res, title, &["inception", arm]))
        .collect();
        let arms: Vec<(&str, Option<&str>)> = ["inception", "naive", "no-aux", "fc-head"]
            .into_iter()
            .map(|a| (a, None))
            .collect();
        vec![
            (
                "inception".into(),
                curves_figure(
                    res,
                    "GoogLeNet's Inception variants on CIFAR-10 (analogue)",
                    CurveKey::PLAIN,
                    panels,
                )
                .with_shared_y(),
            ),
            (
                "final".into(),
                Figure::new(
                    "Inception variants: final test error per arm",
                    format!(
                        "{} | paper (ImageNet top-1): auxiliary classifiers {}, average-pool head {}; not drawn (another dataset)",
                        res.header.caption(),
                        res.paper.show("sec5.aux-effect"),
                        res.paper.show("sec5.avgpool-head-top1-gain"),
                    ),
                    vec![arm_panel(res, "CIFAR-10 test error", &arms)],
                ),
            ),
        ]
    }

    fn tables(&self, res: &Results) -> Vec<Table> {
        let arms = ["inception", "naive", "no-aux", "fc-head"];
        let rows = arms
            .iter()
            .filter(|a| res.in_profile(a))
            .map(|a| {
                let c = res.config_of(a).and_then(|c| cost(&c.model));
                vec![
                    a.to_string(),
                    c.map_or("—".into(), |c| format!("{:.3}M", c.0 as f64 / 1e6)),
                    c.map_or("—".into(), |c| format!("{:.1}M", c.1 as f64 / 1e6)),
                    images_per_sec(res, a).map_or("—".into(), |r| format!("{r:.0}")),
                    pct_stats(res.runs.arm(a).test_error),
                ]
            })
            .collect();
        vec![
            Table {
                title: "The variants as trained here: parameters, multiply-adds per image, training images/s, test error".into(),
                header: ["run", "parameters", "multiply-adds / image", "images/s (training)", "test error"]
                    .map(String::from)
                    .to_vec(),
                rows,
                note: format!(
                    "Parameters include the auxiliary classifiers where they are on (they are dropped at test time); images/s on this profile's device. The 1x1 reductions' saving (Sec. 4, Fig. 2) is the inception row against the naive one: a fact of the built networks, not a claim judged on seeds (paper, ImageNet: {} parameters in all, {}).",
                    res.paper.cite("table1.total.params"),
                    res.paper.quote("sec1.budget.ops"),
                ),
            },
            arm_table(
                &res.runs,
                "Test error and train-test gap",
                &arms,
                &format!(
                    "Paper (ImageNet): auxiliary classifiers about {}, average-pool head about {} top-1; the reductions keep the compute in check ({}: {} multiply-adds).",
                    res.paper.show("sec5.aux-effect"),
                    res.paper.show("sec5.avgpool-head-top1-gain"),
                    res.paper.source("sec1.budget.ops"),
                    res.paper.show("sec1.budget.ops"),
                ),
            ),
            table1(res),
        ]
    }

    /// Final test errors of named runs, as the claims file states. That the
    /// reductions cut parameters and compute is a fact of the built nets,
    /// shown in the first table, not a claim judged on seeds.
    fn claims(&self, res: &Results) -> Vec<Measured> {
        res.measure_all()
    }
}

fn main() -> std::process::ExitCode {
    repro::driver::main(Inception, env!("CARGO_PKG_NAME"))
}
