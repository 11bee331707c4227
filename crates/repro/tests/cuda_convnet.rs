//! cuda-convnet's own CIFAR-10 nets (AlexNet Sec. 3.3's 13% / 11%): the files'
//! parser and values, the builder's shapes, cmrnorm as cuda-convnet computes
//! it, per-layer hyperparameters reaching the optimizer, the weight-decay knob
//! and the cropped data provider.
use repro::config::{ExperimentFile, RunConfig, Velocity};
use repro::data::crop::{test_views, train_crops, CropTest, CudaConvnetCrop};
use repro::layout::Layout;
use repro::models::cuda_convnet::{cmrnorm, parse_cfg, CfgNetConfig, LayerDef, LayerHyper, NETS};
use repro::train::sgd::{rules_for, DecayOn, ParamRule, Sgd};
use std::path::Path;
use tch::nn::{self, VarStore};
use tch::{Device, Kind, Tensor};

fn resolved(profile: &str, run: &str) -> RunConfig {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../experiments/alexnet-lrn.toml");
    let f = ExperimentFile::load(&path).unwrap_or_else(|e| panic!("{e}"));
    f.resolve(profile, run, 1, &[])
        .unwrap_or_else(|e| panic!("{e}"))
}

fn net(name: &str) -> CfgNetConfig {
    CfgNetConfig {
        net: name.into(),
        input_size: 24,
    }
}

/// Values from the committed layer-params files (experiments/cuda-convnet/).
#[test]
fn parsed_files_give_the_published_per_layer_settings() {
    let h = |eps_w, wc| LayerHyper {
        eps_w,
        eps_b: 0.002,
        mom_w: 0.9,
        mom_b: 0.9,
        wc,
    };
    let d11 = net("conv-local-11pct").def().expect("11pct parses");
    let d13 = net("conv-local-13pct").def().expect("13pct parses");
    // layer-params-conv-local-11pct.cfg: wc 0 on conv1-2, 0.004 on local3-4, 0.01 on fc10.
    for (l, wc) in [
        ("conv1", 0.0),
        ("conv2", 0.0),
        ("local3", 0.004),
        ("local4", 0.004),
        ("fc10", 0.01),
    ] {
        assert_eq!(d11.hypers[l], h(0.001, wc), "11pct {l}");
    }
    // layer-params-conv-local-13pct.cfg: the same but fc10 wc 0.004.
    assert_eq!(d13.hypers["fc10"], h(0.001, 0.004));
    assert_eq!(d13.hypers.len(), 5);
    // layers-conv-local-11pct.cfg [rnorm1]/[rnorm2] size 9; params scale 0.001, pow 0.75.
    let norms: Vec<&LayerDef> = d11
        .layers
        .iter()
        .filter(|l| matches!(l, LayerDef::CmrNorm { .. }))
        .collect();
    assert_eq!(
        norms,
        vec![
            &LayerDef::CmrNorm {
                size: 9,
                scale: 0.001,
                pow: 0.75
            };
            2
        ]
    );
    assert!(!d13
        .layers
        .iter()
        .any(|l| matches!(l, LayerDef::CmrNorm { .. })));
    // (channels, side) per layer on 24x24 crops: conv1 64x24, pool1 12, rnorm1,
    // conv2, rnorm2, pool2 6 (ceil((12 - 3) / 2) + 1), local3 64, local4 32, fc10.
    assert_eq!(
        d11.shapes(24).expect("shapes"),
        vec![
            (64, 24),
            (64, 12),
            (64, 12),
            (64, 12),
            (64, 12),
            (64, 6),
            (64, 6),
            (32, 6),
            (10, 1)
        ]
    );
    assert_eq!(
        d13.shapes(24).expect("shapes"),
        vec![
            (64, 24),
            (64, 12),
            (64, 12),
            (64, 6),
            (32, 6),
            (32, 6),
            (10, 1)
        ]
    );
    assert_eq!(NETS.len(), 2);
}

#[test]
fn parser_reads_ini_sections_and_names_bad_lines() {
    let s = parse_cfg("# c\n[a]\nx=1\n; c\ny = two\n\n[b]\n").expect("parses");
    assert_eq!(
        s[0],
        (
            "a".into(),
            vec![("x".into(), "1".into()), ("y".into(), "two".into())]
        )
    );
    assert_eq!(s[1], ("b".into(), vec![]));
    assert!(parse_cfg("[a]\nnot a pair\n")
        .unwrap_err()
        .contains("line 2"));
    assert!(parse_cfg("x=1\n").unwrap_err().contains("before any"));
    let missing = repro::models::cuda_convnet::NetDef::parse(NETS[0].1, "[conv1]\nepsW=0.001\n");
    assert!(missing.unwrap_err().contains("epsB"));
}

#[test]
fn builder_makes_the_files_parameter_shapes() {
    let vs = VarStore::new(Device::Cpu);
    let n = repro::models::cuda_convnet::CfgNet::new(&vs.root(), &net("conv-local-11pct"))
        .expect("builds");
    let mut shapes: Vec<(String, Vec<i64>)> = vs
        .variables()
        .into_iter()
        .map(|(k, v)| (k, v.size()))
        .collect();
    shapes.sort();
    let want: Vec<(String, Vec<i64>)> = [
        ("conv1.bias", vec![64]),
        ("conv1.weight", vec![64, 3, 5, 5]),
        ("conv2.bias", vec![64]),
        ("conv2.weight", vec![64, 64, 5, 5]),
        ("fc10.bias", vec![10]),
        ("fc10.weight", vec![10, 6 * 6 * 32]),
        // Unshared weights and biases at each of the 6x6 positions.
        ("local3.bias", vec![64, 36]),
        ("local3.weight", vec![36, 64, 64 * 9]),
        ("local4.bias", vec![32, 36]),
        ("local4.weight", vec![36, 32, 64 * 9]),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    assert_eq!(shapes, want);
    // initW of the file: conv1 0.0001, local3 0.04.
    let std = |k: &str| vs.variables()[k].std(true).double_value(&[]);
    assert!((std("conv1.weight") / 1e-4 - 1.0).abs() < 0.1);
    assert!((std("local3.weight") / 0.04 - 1.0).abs() < 0.05);
    let y = repro::models::Network::forward_t(
        &n,
        &Tensor::randn([2, 3, 24, 24], (Kind::Float, Device::Cpu)),
        false,
    );
    assert_eq!(y.size(), vec![2, 10]);
}

/// conv_util.cu `kFCNorm`, one element at a time, in f64.
fn kfcnorm_loop(x: &[f64], c: usize, px: usize, size: i64, scale: f64, pow: f64) -> Vec<f64> {
    let add_scale = scale / size as f64; // layer.py: dic['scale'] /= dic['size']
    let mut out = vec![0.0; x.len()];
    for f in 0..c as i64 {
        let start = -size / 2 + f;
        for p in 0..px {
            let mut prod = 0.0;
            for g in start.max(0)..(c as i64).min(start + size) {
                prod += x[g as usize * px + p].powi(2);
            }
            let d = 1.0 + add_scale * prod;
            out[f as usize * px + p] = x[f as usize * px + p] * d.powf(-pow);
        }
    }
    out
}

#[test]
fn cmrnorm_matches_cuda_convnets_kernel() {
    let (c, px) = (6usize, 4usize);
    // Large values so that the constant 1 and alpha = scale / size both matter.
    let x = Tensor::randn([1, c as i64, 2, 2], (Kind::Double, Device::Cpu)) * 30.0;
    let xs: Vec<f64> = Vec::<f64>::try_from(x.flatten(0, -1)).expect("values");
    for size in [3, 4, 5] {
        let got: Vec<f64> =
            Vec::<f64>::try_from(cmrnorm(&x, size, 0.01, 0.75).flatten(0, -1)).expect("values");
        let want = kfcnorm_loop(&xs, c, px, size, 0.01, 0.75);
        for (g, w) in got.iter().zip(&want) {
            assert!(
                (g - w).abs() <= 1e-9 * w.abs().max(1.0),
                "size {size}: {g} vs {w}"
            );
        }
    }
}

#[test]
fn locally_connected_layer_matches_a_naive_loop() {
    let vs = VarStore::new(Device::Cpu);
    let init = nn::Init::Randn {
        mean: 0.0,
        stdev: 1.0,
    };
    let mut l = repro::models::layers::LocallyConnected::new(&vs.root(), 2, 3, (4, 4), 3, 1, init);
    tch::no_grad(|| {
        l.bias
            .copy_(&Tensor::randn([3, 16], (Kind::Float, Device::Cpu)))
    });
    let x = Tensor::randn([1, 2, 4, 4], (Kind::Float, Device::Cpu));
    let y = l.forward(&x);
    let xp = x.constant_pad_nd([1, 1, 1, 1]);
    for o in 0..3 {
        for (r, cc) in [(0, 0), (1, 2), (3, 3)] {
            let pos = r * 4 + cc;
            let mut acc = l.bias.double_value(&[o, pos]);
            for i in 0..2 {
                for ky in 0..3 {
                    for kx in 0..3 {
                        let w = l.weight.double_value(&[pos, o, i * 9 + ky * 3 + kx]);
                        acc += w * xp.double_value(&[0, i, r + ky, cc + kx]);
                    }
                }
            }
            let got = y.double_value(&[0, o, r, cc]);
            assert!(
                (got - acc).abs() < 1e-4 * acc.abs().max(1.0),
                "{got} vs {acc}"
            );
        }
    }
}

/// Two 1-d parameters `w` (named `*.weight`, 2-d) and `b` (`*.bias`) under `vs`.
fn two_params() -> (VarStore, Tensor, Tensor) {
    let vs = VarStore::new(Device::Cpu);
    let w = vs
        .root()
        .sub("fc10")
        .var("weight", &[2, 2], nn::Init::Const(1.0));
    let b = vs
        .root()
        .sub("fc10")
        .var("bias", &[2], nn::Init::Const(1.0));
    (vs, w, b)
}

#[test]
fn per_parameter_rules_set_each_layers_rate_momentum_and_decay() {
    let (vs, w, b) = two_params();
    let mut opt = Sgd::new(&vs, 0.9, 0.0, Velocity::LrInside, Layout::Nchw);
    // w: epsW 0.001 scaled by the schedule, wc 0.004; b: eps 0 (does not move).
    let rules = [
        ParamRule {
            lr_scaled: 1.0,
            lr_fixed: 0.0,
            momentum: 0.9,
            decay: 0.004,
        },
        ParamRule {
            lr_scaled: 0.0,
            lr_fixed: 0.0,
            momentum: 0.9,
            decay: 0.0,
        },
    ];
    let order: Vec<Vec<i64>> = opt.parameter_shapes();
    let rules: Vec<ParamRule> = if order[0] == vec![2, 2] {
        rules.to_vec()
    } else {
        vec![rules[1], rules[0]]
    };
    opt.set_rules(&rules).expect("rules");
    let loss = (&w * 3.0).sum(Kind::Float) + (&b * 5.0).sum(Kind::Float);
    opt.step(&loss, 0.001);
    // cuda-convnet: inc = -eps (g + wc w) = -0.001 (3 + 0.004); b unchanged.
    assert!((w.double_value(&[0, 0]) - (1.0 - 0.001 * 3.004)).abs() < 1e-7);
    assert_eq!(b.double_value(&[0]), 1.0);
}

#[test]
fn cuda_convnet_runs_take_the_files_settings_into_the_optimizer() {
    let cfg = resolved("paper", "11pct");
    let vs = VarStore::new(Device::Cpu);
    let repro::models::ModelConfig::CudaConvnetCfg(c) = &cfg.model else {
        panic!("cfg net")
    };
    let _n = repro::models::cuda_convnet::CfgNet::new(&vs.root(), c).expect("builds");
    let rules = rules_for(&cfg, &vs)
        .expect("rules")
        .expect("per-layer rules");
    let names = repro::train::sgd::parameter_names(&vs);
    let rule = |n: &str| rules[names.iter().position(|x| x == n).expect(n)];
    // epsW 0.001 = train.lr (scaled by the schedule), epsB 0.002 fixed, wc from the file.
    assert_eq!(
        rule("fc10.weight"),
        ParamRule {
            lr_scaled: 1.0,
            lr_fixed: 0.0,
            momentum: 0.9,
            decay: 0.01
        }
    );
    assert_eq!(rule("local3.weight").decay, 0.004);
    assert_eq!(rule("conv1.weight").decay, 0.0);
    assert_eq!(
        rule("local3.bias"),
        ParamRule {
            lr_scaled: 0.0,
            lr_fixed: 0.002,
            momentum: 0.9,
            decay: 0.0
        }
    );
    // A global weight decay on top of the files' wc is refused, naming the key.
    let mut bad = cfg.clone();
    bad.train.weight_decay = 5e-4;
    assert!(rules_for(&bad, &vs)
        .unwrap_err()
        .contains("train.weight_decay"));
}

#[test]
fn weight_decay_knob_leaves_biases_undecayed() {
    for (on, bias_moves) in [(DecayOn::All, true), (DecayOn::Weights, false)] {
        let (vs, w, b) = two_params();
        let mut cfg = resolved("analogue", "lrn");
        cfg.train.weight_decay = 0.1;
        cfg.train.weight_decay_on = on;
        let mut opt = Sgd::new(&vs, 0.0, 0.1, Velocity::LrInside, Layout::Nchw);
        if let Some(r) = rules_for(&cfg, &vs).expect("rules") {
            opt.set_rules(&r).expect("set");
        }
        // Zero gradient: only decay moves anything.
        let loss = (&w * 0.0).sum(Kind::Float) + (&b * 0.0).sum(Kind::Float);
        opt.step(&loss, 1.0);
        assert!((w.double_value(&[0, 0]) - 0.9).abs() < 1e-7, "{on:?}");
        assert_eq!(b.double_value(&[0]) != 1.0, bias_moves, "{on:?}");
    }
}

#[test]
fn cropped_provider_makes_cuda_convnets_training_and_test_views() {
    let imgs = Tensor::arange(2 * 3 * 32 * 32, (Kind::Float, Device::Cpu)).view([2, 3, 32, 32]);
    let mean = Tensor::ones([3, 32, 32], (Kind::Float, Device::Cpu)) * 0.5;
    tch::manual_seed(1);
    let x = train_crops(&imgs, &mean, 24);
    assert_eq!(x.size(), vec![2, 3, 24, 24]);
    // Each crop is a 24x24 window of its image (rows contiguous, columns possibly
    // reversed) with the mean's centre crop subtracted.
    for i in 0..2 {
        let top_left = x.double_value(&[i, 0, 0, 0]) + 0.5;
        let oy = ((top_left as i64) % 1024) / 32;
        assert!(
            oy <= 8,
            "row offset {oy} within the 4-pixel border on each side"
        );
        let step = x.double_value(&[i, 0, 0, 1]) - x.double_value(&[i, 0, 0, 0]);
        assert!(step == 1.0 || step == -1.0, "{step}");
    }
    for (test, views) in [(CropTest::Centre, 1), (CropTest::Multiview, 10)] {
        let (v, n) = test_views(&imgs, &mean, &CudaConvnetCrop { size: 24, test });
        assert_eq!((v.size(), n), (vec![2 * views, 3, 24, 24], views));
    }
    let (v, _) = test_views(
        &imgs,
        &mean,
        &CudaConvnetCrop {
            size: 24,
            test: CropTest::Multiview,
        },
    );
    let v = v.view([2, 10, 3, 24, 24]);
    // View 2 is the centre crop (offset 4, 4); view 5 is view 0 reflected.
    let centre = imgs.narrow(2, 4, 24).narrow(3, 4, 24) - 0.5;
    assert!(v.get(1).get(2).equal(&centre.get(1)));
    assert!(v.get(0).get(5).equal(&v.get(0).get(0).flip([2])));
    // Corner (0, 8): the top-right crop.
    assert_eq!(v.double_value(&[0, 1, 0, 0, 0]) + 0.5, 8.0);
}
