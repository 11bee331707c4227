//! Learning-rate schedules by iteration, and the flat SGD against the per-parameter one.
use repro::config::{Schedule, TrainConfig, Velocity, Warmup};
use repro::layout::Layout;
use repro::testing::rng_lock;
use repro::train::schedule::{learning_rate, observe_eval_error, observe_train_error, LrState};
use repro::train::sgd::{PerParameterSgd, Sgd};
use tch::nn::{self, Module, VarStore};
use tch::{Device, Kind, Tensor};

fn resnet_recipe(warmup: bool) -> TrainConfig {
    TrainConfig {
        batch_size: 128,
        iterations: 64_000,
        lr: 0.1,
        schedule: Schedule::Step {
            lr_drops_at: vec![32_000, 48_000],
            factor: 0.1,
        },
        warmup: warmup.then_some(Warmup {
            lr: 0.01,
            until_train_error_below: 0.8,
        }),
        momentum: 0.9,
        weight_decay: 1e-4,
        velocity: Velocity::LrInside,
        log_every: 100,
        eval_every: 1000,
        checkpoint_every: 2000,
        eval_each_epoch: false,
        stop_at_train_error_below: None,
        precision: repro::config::Precision::Fp32,
        weight_decay_on: Default::default(),
    }
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-12
}

#[test]
fn resnet_step_schedule_at_the_papers_iterations() {
    let _rng = rng_lock();
    let cfg = resnet_recipe(false);
    let s = LrState::default();
    for (it, want) in [
        (0, 0.1),
        (400, 0.1),
        (31_999, 0.1),
        (32_000, 0.01),
        (47_999, 0.01),
        (48_000, 0.001),
        (64_000, 0.001),
    ] {
        let got = learning_rate(&cfg, it, &s);
        assert!(close(got, want), "iteration {it}: {got} vs {want}");
    }
}

#[test]
fn warmup_holds_until_training_error_below_80_percent() {
    let _rng = rng_lock();
    let cfg = resnet_recipe(true);
    let mut s = LrState::default();
    assert!(close(learning_rate(&cfg, 0, &s), 0.01));
    observe_train_error(&cfg, 300, 0.85, &mut s);
    assert!(close(learning_rate(&cfg, 300, &s), 0.01), "still above 80%");
    observe_train_error(&cfg, 400, 0.79, &mut s);
    assert_eq!(s.warmup_ended_at, Some(400));
    assert!(close(learning_rate(&cfg, 400, &s), 0.1), "back to 0.1");
    // Later windows above the threshold do not re-enter warm-up.
    observe_train_error(&cfg, 500, 0.9, &mut s);
    assert!(close(learning_rate(&cfg, 500, &s), 0.1));
    assert!(close(learning_rate(&cfg, 32_000, &s), 0.01));
}

#[test]
fn plateau_divides_by_ten_when_validation_error_stops_improving() {
    let _rng = rng_lock();
    let mut cfg = resnet_recipe(false);
    cfg.schedule = Schedule::Plateau {
        factor: 0.1,
        patience: 2,
        max_drops: 2,
    };
    let mut s = LrState::default();
    for e in [0.5, 0.4, 0.3] {
        observe_eval_error(&cfg, e, &mut s);
    }
    assert!(close(learning_rate(&cfg, 0, &s), 0.1));
    observe_eval_error(&cfg, 0.31, &mut s);
    assert!(
        close(learning_rate(&cfg, 0, &s), 0.1),
        "one bad evaluation is within patience"
    );
    observe_eval_error(&cfg, 0.30, &mut s);
    assert!(
        close(learning_rate(&cfg, 0, &s), 0.01),
        "two without improvement: drop"
    );
    for _ in 0..10 {
        observe_eval_error(&cfg, 0.9, &mut s);
    }
    assert!(
        close(learning_rate(&cfg, 0, &s), 0.001),
        "at most max_drops"
    );
}

fn model(vs: &nn::Path) -> nn::Sequential {
    nn::seq()
        .add(nn::linear(vs / "l1", 6, 8, Default::default()))
        .add_fn(|x| x.tanh())
        .add(nn::linear(vs / "l2", 8, 3, Default::default()))
}

fn params(vs: &VarStore) -> Vec<Tensor> {
    vs.trainable_variables()
        .iter()
        .map(|t| t.detach().copy())
        .collect()
}

fn run(convention: Velocity, flat: bool) -> Vec<Tensor> {
    tch::manual_seed(7);
    let vs = VarStore::new(Device::Cpu);
    let net = model(&vs.root());
    let x = Tensor::randn([16, 6], (Kind::Float, Device::Cpu));
    let y = Tensor::randint(3, [16], (Kind::Int64, Device::Cpu));
    let lrs = [0.1, 0.1, 0.1, 0.01, 0.01, 0.001];
    if flat {
        let mut opt = Sgd::new(&vs, 0.9, 1e-2, convention, Layout::Nchw);
        for lr in lrs {
            let loss = net.forward(&x).cross_entropy_for_logits(&y);
            opt.step(&loss, lr);
        }
    } else {
        let mut opt = PerParameterSgd::new(&vs, 0.9, 1e-2, convention);
        for lr in lrs {
            let loss = net.forward(&x).cross_entropy_for_logits(&y);
            opt.step(&loss, lr);
        }
    }
    params(&vs)
}

#[test]
fn flat_sgd_equals_per_parameter_sgd() {
    let _rng = rng_lock();
    for conv in [Velocity::LrInside, Velocity::LrOutside] {
        let a = run(conv, true);
        let b = run(conv, false);
        assert_eq!(a.len(), b.len());
        for (p, q) in a.iter().zip(&b) {
            let d = (p - q).abs().max().double_value(&[]);
            assert!(d < 1e-6, "{conv:?}: max difference {d}");
        }
    }
    // And the parameters did move.
    tch::manual_seed(7);
    let vs = VarStore::new(Device::Cpu);
    let _ = model(&vs.root());
    let init = params(&vs);
    let trained = run(Velocity::LrInside, true);
    assert!((&init[0] - &trained[0]).abs().max().double_value(&[]) > 1e-3);
}

#[test]
fn velocity_conventions_differ_only_after_an_lr_change() {
    let _rng = rng_lock();
    // Same lr throughout: identical trajectories (v_in = -lr v_out).
    let same = |conv| {
        tch::manual_seed(7);
        let vs = VarStore::new(Device::Cpu);
        let net = model(&vs.root());
        let x = Tensor::randn([16, 6], (Kind::Float, Device::Cpu));
        let y = Tensor::randint(3, [16], (Kind::Int64, Device::Cpu));
        let mut opt = Sgd::new(&vs, 0.9, 1e-2, conv, Layout::Nchw);
        for _ in 0..4 {
            let loss = net.forward(&x).cross_entropy_for_logits(&y);
            opt.step(&loss, 0.1);
        }
        params(&vs)
    };
    let (a, b) = (same(Velocity::LrInside), same(Velocity::LrOutside));
    for (p, q) in a.iter().zip(&b) {
        assert!((p - q).abs().max().double_value(&[]) < 1e-6);
    }
    // With a drop 0.1 -> 0.01 mid-way: they differ.
    let (a, b) = (
        run(Velocity::LrInside, true),
        run(Velocity::LrOutside, true),
    );
    let d: f64 = a
        .iter()
        .zip(&b)
        .map(|(p, q)| (p - q).abs().max().double_value(&[]))
        .fold(0.0, f64::max);
    assert!(
        d > 1e-5,
        "conventions should differ after the lr drop, max diff {d}"
    );
}

#[test]
fn flat_buffer_aliases_the_model_variables() {
    let _rng = rng_lock();
    let vs = VarStore::new(Device::Cpu);
    let net = model(&vs.root());
    let x = Tensor::randn([4, 6], (Kind::Float, Device::Cpu));
    let before = net.forward(&x);
    let mut opt = Sgd::new(&vs, 0.0, 0.0, Velocity::LrInside, Layout::Nchw);
    assert!(
        (net.forward(&x) - &before).abs().max().double_value(&[]) < 1e-7,
        "values unchanged by flattening"
    );
    let loss = net.forward(&x).sum(Kind::Float);
    opt.step(&loss, 0.5);
    assert!(
        (net.forward(&x) - &before).abs().max().double_value(&[]) > 1e-3,
        "the layers see the update"
    );
}

#[test]
fn channels_last_flat_sgd_equals_per_parameter_sgd_on_a_resnet() {
    let _rng = rng_lock();
    use repro::models::resnet::{ResNet, ResNetSpec};
    use repro::models::Network;
    use repro::models::{BlockKind, ShortcutOption};
    let train = |layout: Option<Layout>| {
        tch::manual_seed(11);
        let vs = VarStore::new(Device::Cpu);
        let net = ResNet::new(
            &vs.root(),
            &ResNetSpec::cifar(8, BlockKind::Basic, true, ShortcutOption::A, 4, 10),
        );
        let x = Tensor::randn([8, 3, 32, 32], (Kind::Float, Device::Cpu));
        let y = Tensor::randint(10, [8], (Kind::Int64, Device::Cpu));
        match layout {
            Some(layout) => {
                let mut opt = Sgd::new(&vs, 0.9, 1e-4, Velocity::LrInside, layout);
                let x = layout.apply(&x);
                for lr in [0.1, 0.1, 0.01] {
                    let loss = net.forward_t(&x, true).cross_entropy_for_logits(&y);
                    opt.step(&loss, lr);
                }
            }
            None => {
                let mut opt = PerParameterSgd::new(&vs, 0.9, 1e-4, Velocity::LrInside);
                for lr in [0.1, 0.1, 0.01] {
                    let loss = net.forward_t(&x, true).cross_entropy_for_logits(&y);
                    opt.step(&loss, lr);
                }
            }
        }
        params(&vs)
    };
    let reference = train(None);
    for layout in [Layout::Nchw, Layout::ChannelsLast] {
        let got = train(Some(layout));
        for (p, q) in got.iter().zip(&reference) {
            let d = (p - q).abs().max().double_value(&[]);
            assert!(d < 1e-4, "{layout:?}: max difference {d}");
        }
    }
}
