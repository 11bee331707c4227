//! Simonyan & Zisserman (2014), Table 3 (and Table 4's multi-scale testing) on
//! CIFAR-10: configurations A-E of one builder, trained with the paper's recipe.
use repro::config::RunConfig;
use repro::data::Dataset;
use repro::data::Split;
use repro::driver::{Experiment, Results};
use repro::figures::Figure;
use repro::layout::Layout;
use repro::metrics::{read_f64_table, write_f64_table};
use repro::models::Network;
use repro::plot::{arm_panel, epoch_panel, CurveKey};
use repro::report::{arm_table, pct_stats, stats, Measured, Table};
use std::collections::BTreeMap;
use std::path::Path;

/// Per-run multi-scale test errors (Table 4 analogue), written after training.
const MULTISCALE: &str = "multiscale.parquet";

/// Table 3's rows by run: `table3.<run>.top1` in `experiments/papers/vgg-2014.csv`
/// (top-1 val. error at a single test scale), and the jittered D.
fn table3_key(run: &str) -> String {
    match run {
        "vgg-d-jitter" => "table3.vgg-d-jittered.top1".into(),
        "vgg-d-s54" => "table3.vgg-d-s384.top1".into(),
        r => format!("table3.{r}.top1"),
    }
}

/// The width of the fc layers the profile's nets have, as every VGG result
/// must say (the CIFAR-shaped classifier is 512 wide, the paper's 4096).
fn fc_width(res: &Results) -> String {
    let width = res.configs.values().find_map(|c| match &c.model {
        repro::models::ModelConfig::Vgg(v) => Some(v.fc_hidden()),
        _ => None,
    });
    match width {
        Some(w) => format!("fc layers {w} wide (4096 in the paper)"),
        None => "fc layers: no VGG run in this profile".into(),
    }
}

/// Side of the class score map of dense evaluation at test scale `q`: the
/// final feature map (q / 32 after five 2x2 poolings) less the training map
/// (1 on CIFAR, 7 on ImageNet) plus 1. At 1 the "dense" net is the plain one.
fn score_map_side(cfg: &RunConfig, q: i64) -> i64 {
    let train_map = repro::models::input_shape(&cfg.model)[1] / 32;
    q / 32 - train_map + 1
}

struct VggDepth;

impl VggDepth {
    /// Test-scale sets of Sec. 4.2: for fixed S, Q in {S - 4, S, S + 4} (the
    /// analogue of {S - 32, S, S + 32} at 224); for jittered S, Q in
    /// {S_min, (S_min + S_max) / 2, S_max}. On CIFAR only Q >= 64 gives a
    /// score map larger than 1x1 (`score_map_side`): of these sets, the
    /// jittered net's S_max = 72 (a 2x2 map); at the others the dense net is
    /// the plain net on the rescaled image, as it is at Q = 224 on ImageNet.
    fn scale_sets(cfg: &RunConfig) -> Vec<i64> {
        match cfg.data.scale_range {
            Some([lo, hi]) if lo == hi => vec![(lo - 4).max(32), lo, lo + 4],
            Some([lo, hi]) => vec![lo, (lo + hi) / 2, hi],
            None => vec![32, 36, 40],
        }
    }

    /// (single-scale errors at each Q, multi-scale error) per seed of a run.
    fn multiscale(res: &Results, run: &str) -> Vec<(Vec<(f64, f64)>, f64)> {
        res.configs
            .values()
            .filter(|c| c.name == run)
            .filter_map(|c| read_f64_table(&res.run_dir(&c.run_id()).join(MULTISCALE)).ok())
            .filter_map(|t| {
                let (q, e) = (t.get("q")?, t.get("test_error")?);
                let single: Vec<(f64, f64)> = q
                    .iter()
                    .zip(e)
                    .filter(|(q, _)| **q > 0.0)
                    .map(|(q, e)| (*q, *e))
                    .collect();
                let multi = q.iter().zip(e).find(|(q, _)| **q == 0.0)?.1;
                Some((single, *multi))
            })
            .collect()
    }

    /// Claims 5 and 5b, per seed of `run`: the multi-scale test error and
    /// the one at the single scale Q = S (the middle of the scale set: S for
    /// a fixed S, (S_min + S_max) / 2 for a jittered one, Table 3's settings),
    /// in %, two evaluations of the same trained net.
    fn multiscale_pairs(res: &Results, id: &str, run: &str) -> Measured {
        let (mut multi, mut single) = (BTreeMap::new(), BTreeMap::new());
        for c in res.configs.values().filter(|c| c.name == run) {
            let Ok(t) = read_f64_table(&res.run_dir(&c.run_id()).join(MULTISCALE)) else {
                continue;
            };
            let (Some(q), Some(e)) = (t.get("q"), t.get("test_error")) else {
                continue;
            };
            let at = |x: f64| {
                q.iter()
                    .zip(e)
                    .find(|(q, _)| **q == x)
                    .map(|(_, e)| 100.0 * e)
            };
            let q_s = Self::scale_sets(c)[1] as f64;
            if let (Some(m), Some(s)) = (at(0.0), at(q_s)) {
                multi.insert(c.seed as i64, m);
                single.insert(c.seed as i64, s);
            }
        }
        if multi.is_empty() {
            return Measured::missing(id, format!("{run}: no multi-scale evaluation saved"));
        }
        Measured::arms(id, vec![multi, single])
    }
}

impl Experiment for VggDepth {
    fn name(&self) -> &'static str {
        "vgg-depth"
    }

    fn after_run(
        &self,
        cfg: &RunConfig,
        net: &dyn Network,
        data: &Dataset,
        run_dir: &Path,
    ) -> repro::Result<()> {
        // Table 4: dense evaluation at several scales, each alone and the
        // softmax averaged over all of them (q = 0 in the table).
        let scales = Self::scale_sets(cfg);
        let mut sets: Vec<Vec<i64>> = scales.iter().map(|&q| vec![q]).collect();
        sets.push(scales.clone());
        let (mut q_col, mut err_col) = (Vec::new(), Vec::new());
        for set in sets {
            let mut c = cfg.clone();
            c.data.test_scales = set.clone();
            let test = repro::eval::evaluate_split(net, data, Split::Test, &c, Layout::Nchw, 1)?;
            q_col.push(if set.len() == 1 { set[0] as f64 } else { 0.0 });
            err_col.push(test.first().map_or(f64::NAN, |t| t.error));
        }
        Ok(write_f64_table(
            &run_dir.join(MULTISCALE),
            &[("q", q_col), ("test_error", err_col)],
        )?)
    }

    fn figures(&self, res: &Results) -> Vec<(String, Figure)> {
        let caption = format!("{} | {}", CurveKey::PLAIN.caption(res), fc_width(res));
        let depth: Vec<&str> = ["vgg-a", "vgg-a-lrn", "vgg-b", "vgg-c", "vgg-d", "vgg-e"]
            .into_iter()
            .filter(|r| res.in_profile(r))
            .collect();
        let d: Vec<&str> = ["vgg-d", "vgg-d-glorot", "vgg-d-s54", "vgg-d-jitter"]
            .into_iter()
            .filter(|r| res.in_profile(r))
            .collect();
        let mut panels = vec![epoch_panel(res, "Configurations A-E", &depth)];
        if d.len() > 1 {
            panels.push(epoch_panel(
                res,
                "D: init from A, Glorot, S = 54, scale jittering",
                &d,
            ));
        }
        let keys: Vec<String> = res.profile.runs.iter().map(|r| table3_key(r)).collect();
        let arms: Vec<(&str, Option<&str>)> = res
            .profile
            .runs
            .iter()
            .zip(&keys)
            .map(|(r, k)| (r.as_str(), Some(k.as_str())))
            .collect();
        vec![
            (
                "depth".into(),
                Figure::new("VGG depth study: error vs epochs", caption, panels).with_shared_y(),
            ),
            (
                "final".into(),
                Figure::new(
                    "VGG depth study: final test error per configuration",
                    format!(
                        "{} | diamonds: Table 3's ImageNet top-1 error of the same configuration (another dataset: compare the order, not the level) | {}",
                        res.header.caption(),
                        fc_width(res)
                    ),
                    vec![arm_panel(res, "CIFAR-10 test error", &arms)],
                ),
            ),
        ]
    }

    fn tables(&self, res: &Results) -> Vec<Table> {
        let arms: Vec<&str> = res.profile.runs.iter().map(String::as_str).collect();
        let mut t3 = arm_table(
            &res.runs,
            "Table 3 analogue: test error at the run's test scale",
            &arms,
            &format!(
                "Test error of the dense net at Q = S (single-scale training, S = 36 or 54) or Q = (S_min + S_max) / 2 (jittered), softmax averaged over each image and its mirror. CIFAR-shaped classifier: {}. Paper (ImageNet top-1, single scale, {}): {}; D with S = 384: {}; D with S in [256, 512]: {}.",
                fc_width(res),
                res.paper.source("table3.vgg-a.top1"),
                ["vgg-a", "vgg-a-lrn", "vgg-b", "vgg-c", "vgg-d", "vgg-e"]
                    .map(|r| format!("{} {}", res.label(r), res.paper.show(&table3_key(r))))
                    .join(", "),
                res.paper.show("table3.vgg-d-s384.top1"),
                res.paper.show("table3.vgg-d-jittered.top1"),
            ),
        );
        t3.header.push("paper top-1 (ImageNet)".into());
        for row in &mut t3.rows {
            row.push(res.paper.show(&table3_key(&row[0])));
        }
        let mut t4 = Table {
            title: "Table 4 analogue: dense evaluation at several test scales".into(),
            header: vec![
                "run".into(),
                "test scales Q (score map)".into(),
                "error at each Q (mean over seeds)".into(),
                "all Q, softmax averaged".into(),
            ],
            rows: Vec::new(),
            note: format!(
                "Dense evaluation: the fc layers applied as convolutions and the class score map averaged; the score map's side is given beside each Q (1x1: the plain net on the rescaled image; CIFAR needs Q >= 64 for 2x2). Each Q with the mirrored images averaged in. {}. Paper (ImageNet top-1, {}): D trained at S = 256 tested at Q in {{224, 256, 288}}: {} ({} single-scale); D at S = 384, Q in {{352, 384, 416}}: {} ({}); D jittered [256, 512] at Q in {{256, 384, 512}}: {} ({}).",
                fc_width(res),
                res.paper.source("table4.vgg-d.top1"),
                res.paper.show("table4.vgg-d.top1"),
                res.paper.show("table3.vgg-d.top1"),
                res.paper.show("table4.vgg-d-s384.top1"),
                res.paper.show("table3.vgg-d-s384.top1"),
                res.paper.show("table4.vgg-d-jittered.top1"),
                res.paper.show("table3.vgg-d-jittered.top1"),
            ),
        };
        for run in &arms {
            let m = Self::multiscale(res, run);
            let Some((first, _)) = m.first() else {
                continue;
            };
            let cfg = res.config_of(run);
            let qs: Vec<String> = first
                .iter()
                .map(|(q, _)| match &cfg {
                    Some(c) => {
                        let side = score_map_side(c, *q as i64);
                        format!("{q} ({side}x{side})")
                    }
                    None => format!("{q}"),
                })
                .collect();
            let per_q: Vec<String> = (0..first.len())
                .map(|i| {
                    let v: Vec<f64> = m
                        .iter()
                        .filter_map(|(s, _)| s.get(i).map(|x| x.1))
                        .collect();
                    format!("{}: {}", first[i].0, pct_stats(stats(&v)))
                })
                .collect();
            let multi: Vec<f64> = m.iter().map(|x| x.1).collect();
            t4.rows.push(vec![
                run.to_string(),
                qs.join(", "),
                per_q.join("; "),
                pct_stats(stats(&multi)),
            ]);
        }
        vec![t3, t4]
    }

    /// Final test errors of named runs, and for claims 5 and 5b the paired
    /// multi-scale and single-scale (Q = S) errors of the same nets; every
    /// VGG result says how wide its classifier was (Table 1: 4096).
    fn claims(&self, res: &Results) -> Vec<Measured> {
        let fc = fc_width(res);
        res.specs
            .iter()
            .map(|s| match s.id.as_str() {
                "5" => Self::multiscale_pairs(res, "5", "vgg-d"),
                "5b" => Self::multiscale_pairs(res, "5b", "vgg-d-jitter"),
                _ => res.runs.measure(s),
            })
            .map(|m| {
                let note = fc.clone();
                m.note(note)
            })
            .collect()
    }
}

fn main() -> std::process::ExitCode {
    repro::driver::main(VggDepth, env!("CARGO_PKG_NAME"))
}
