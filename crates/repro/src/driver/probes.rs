//! Short timing probes on this device, before training: which memory layout
//! each model trains faster in (`--layout auto`), how long the runs will take
//! (printed, with a plain warning for jobs over a day), and the per-step times
//! that decide seed fusion on a GPU.
use super::cli::LayoutMode;
use super::run_dir::RunDir;
use crate::config::{Precision, RunConfig};
use crate::layout::Layout;
use crate::models;
use crate::precision;
use crate::train;
use std::collections::BTreeMap;
use std::path::Path;
use tch::nn::VarStore;
use tch::{Device, Tensor};

/// Each run's layout, by run id.
pub type Layouts = BTreeMap<String, Layout>;

/// Under `--layout auto`, runs shorter than this take the device's default
/// layout: timing both layouts (a few steps each) would cost about as much as
/// the faster one could save.
const LAYOUT_PROBE_MIN_ITERATIONS: i64 = 1_000;

/// What decides a run's layout: its model, batch and numerics.
fn layout_key(cfg: &RunConfig) -> String {
    format!(
        "{}/{}/{:?}",
        serde_json::to_string(&cfg.model).unwrap_or_default(),
        cfg.train.batch_size,
        cfg.train.precision
    )
}

/// Each run's layout without timing anything.
pub fn default_layouts(todo: &[&RunConfig], mode: LayoutMode, device: Device) -> Layouts {
    let layout = match mode {
        LayoutMode::Nchw => Layout::Nchw,
        LayoutMode::ChannelsLast => Layout::ChannelsLast,
        LayoutMode::Auto => Layout::device_default(device),
    };
    todo.iter().map(|c| (c.run_id(), layout)).collect()
}

/// Each run's layout. `auto` times a few training steps of each distinct model
/// in both layouts on this device and takes the faster (which layout wins
/// depends on the model and the machine). Short runs take the device default,
/// and a run resuming from a checkpoint keeps the layout it started in
/// (bit-identical resume).
pub fn choose_layouts(
    todo: &[&RunConfig],
    mode: LayoutMode,
    device: Device,
    profile_dir: &Path,
) -> Layouts {
    let mut layouts = default_layouts(todo, mode, device);
    if mode != LayoutMode::Auto {
        return layouts;
    }
    let mut probed: BTreeMap<String, Option<Layout>> = BTreeMap::new();
    for cfg in todo {
        let run_dir = RunDir::new(profile_dir, &cfg.run_id());
        if let Some(recorded) = train::checkpoint::recorded_layout(run_dir.path()) {
            layouts.insert(cfg.run_id(), recorded);
            continue;
        }
        if cfg.train.iterations < LAYOUT_PROBE_MIN_ITERATIONS {
            continue;
        }
        let chosen = *probed
            .entry(layout_key(cfg))
            .or_insert_with(|| probe_layout(cfg, device));
        if let Some(layout) = chosen {
            layouts.insert(cfg.run_id(), layout);
        }
    }
    layouts
}

/// Times `cfg`'s model in both layouts and returns the faster.
fn probe_layout(cfg: &RunConfig, device: Device) -> Option<Layout> {
    // Two interleaved rounds of 3 steps, the faster of each kept: some
    // robustness to a machine shared with other work.
    let both = [Layout::Nchw, Layout::ChannelsLast];
    let mut best = [f64::INFINITY; 2];
    for _ in 0..2 {
        for (i, layout) in both.into_iter().enumerate() {
            if let Ok(t) = time_steps(cfg, device, 3, layout) {
                best[i] = best[i].min(t);
            }
        }
    }
    if !(best[0].is_finite() && best[1].is_finite()) {
        return None;
    }
    let faster = if best[1] < best[0] { both[1] } else { both[0] };
    crate::say!(
        "layout auto: `{}` {:.3} s/step NCHW, {:.3} s/step channels-last: {}",
        cfg.name,
        best[0],
        best[1],
        faster.label()
    );
    Some(faster)
}

/// Times a few steps of each distinct model, prints the expected cost of each
/// run and their total, and says plainly when the total exceeds a day on this
/// device (the `paper` profiles on a CPU: days, ResNet-1202 alone far more).
/// Returns the total in seconds (NaN where a model could not be timed).
pub fn estimate_costs(
    todo: &[&RunConfig],
    device: Device,
    layouts: &Layouts,
    profile: &str,
) -> f64 {
    let mut per_model: BTreeMap<String, f64> = BTreeMap::new();
    crate::say!("expected cost (timed on 2 steps of each model on this device):");
    let mut total = 0.0;
    for cfg in todo {
        let key = format!(
            "{}/{}",
            serde_json::to_string(&cfg.model).unwrap_or_default(),
            cfg.train.batch_size
        );
        let secs = *per_model.entry(key).or_insert_with(|| {
            let layout = layouts.get(&cfg.run_id()).copied().unwrap_or(Layout::Nchw);
            time_steps(cfg, device, 2, layout).unwrap_or(f64::NAN)
        });
        let run_total = secs * cfg.train.iterations as f64;
        total += run_total;
        crate::say!(
            "  {:<24} {:>8} iterations x {:>7.3} s = {}",
            cfg.run_id(),
            cfg.train.iterations,
            secs,
            human_time(run_total)
        );
    }
    crate::say!("  total: {} on {device:?}", human_time(total));
    if let Some(warning) = long_job_warning(total, device, profile) {
        crate::say!("{warning}");
    }
    total
}

/// A job the estimate puts beyond a day on this device starts only when the
/// user said so (`--yes`): a first command must not silently start weeks of
/// training. None: it may start.
pub fn long_job_refusal(total_s: f64, yes: bool, profile: &str) -> Option<String> {
    const DAY: f64 = 86_400.0;
    if yes || total_s.is_nan() || total_s <= DAY {
        return None;
    }
    Some(format!(
        "the `{profile}` profile would train for about {} on this device: rerun with --yes to \
         start it (a stopped run resumes from its checkpoint), or choose a shorter profile \
         (--list-profiles)",
        human_time(total_s)
    ))
}

/// Refuses bf16 autocast on a CPU that has no bf16 arithmetic: there oneDNN
/// emulates it, and training runs slower than in fp32, which defeats a speed switch.
/// `isa` is the CPU's features (`CpuIsa::this_cpu()`; tests pass each answer).
pub fn check_bf16_hardware(
    grid: &[RunConfig],
    on_cpu: bool,
    allow_slow: bool,
    isa: crate::provenance::CpuIsa,
) -> anyhow::Result<()> {
    let bf16 = grid
        .iter()
        .any(|c| c.train.precision == Precision::Bf16Autocast);
    if bf16 && on_cpu && !isa.bf16 && !allow_slow {
        anyhow::bail!(
            "--bf16 on this CPU ({}): it has no bf16 arithmetic (AVX512-BF16 or AMX-BF16), \
             so bf16 autocast is emulated and trains slower than fp32. Train in fp32 (drop \
             --bf16), use a GPU, or pass --allow-slow-bf16 to train it anyway",
            isa.label()
        );
    }
    Ok(())
}

/// The plain warning printed before a job of more than a day on this device.
pub fn long_job_warning(total_s: f64, device: Device, profile: &str) -> Option<String> {
    const DAY: f64 = 86_400.0;
    if total_s.is_nan() || total_s <= DAY {
        return None;
    }
    let mut msg = format!(
        "NOTE: the `{profile}` profile will train for about {} on this device ({device:?}).",
        human_time(total_s)
    );
    if profile != "quick" {
        msg.push_str(
            "\n      To see each effect in about half an hour on a CPU instead, stop now \
             (Ctrl-C) and rerun with `--profile quick` (a shortened recipe, labelled so).\n      \
             `--estimate-only` prints this estimate without training; interrupted runs resume.",
        );
    }
    Some(msg)
}

/// Seconds per training step of `cfg`'s model on random data (after one warm-up step).
pub fn time_steps(
    cfg: &RunConfig,
    device: Device,
    steps: usize,
    layout: Layout,
) -> crate::Result<f64> {
    time_group_steps(cfg, 1, device, steps, layout)
}

/// `time_steps` for `seeds_fused` seeds fused into one network (one step trains all of them).
pub fn time_group_steps(
    cfg: &RunConfig,
    seeds_fused: i64,
    device: Device,
    steps: usize,
    layout: Layout,
) -> crate::Result<f64> {
    // Time the numerics the run will train in.
    precision::set_cuda_numerics(cfg.train.precision);
    let vs = VarStore::new(device);
    let net = if seeds_fused == 1 {
        models::build(&vs.root(), &cfg.model)?
    } else {
        models::build_fused(&vs.root(), &cfg.model, seeds_fused)?
    };
    let t = &cfg.train;
    let mut sgd = train::sgd::Sgd::new(&vs, t.momentum, t.weight_decay, t.velocity, layout);
    let [c, h, w] = models::input_shape(&cfg.model);
    let b = t.batch_size;
    let x = layout.apply(&Tensor::randn(
        [b, seeds_fused * c, h, w],
        (tch::Kind::Float, device),
    ));
    let y = if seeds_fused == 1 {
        Tensor::zeros([b], (tch::Kind::Int64, device))
    } else {
        Tensor::zeros([b, seeds_fused], (tch::Kind::Int64, device))
    };
    let mut step = || {
        // The training step's own forward: auxiliary classifiers included.
        let (logits, aux) = precision::forward_aux(net.as_ref(), &x, true, t.precision);
        let loss = aux.iter().fold(
            train::group_loss(&logits, &y, seeds_fused).0,
            |loss, (weight, a)| loss + train::group_loss(a, &y, seeds_fused).0 * *weight,
        );
        sgd.step(&loss, 1e-6);
        let _ = f64::try_from(loss.detach().to_device(Device::Cpu));
    };
    step();
    let t0 = std::time::Instant::now();
    for _ in 0..steps {
        step();
    }
    Ok(t0.elapsed().as_secs_f64() / steps as f64)
}

pub fn human_time(s: f64) -> String {
    if !s.is_finite() {
        "?".into()
    } else if s < 120.0 {
        format!("{s:.0} s")
    } else if s < 7200.0 {
        format!("{:.1} min", s / 60.0)
    } else if s < 2.0 * 86_400.0 {
        format!("{:.1} h", s / 3600.0)
    } else {
        format!("{:.1} days", s / 86_400.0)
    }
}
