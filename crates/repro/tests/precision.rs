//! The bf16 autocast switch: it turns libtorch's autocast on only while asked,
//! restores the previous state, computes convolutions in bf16 with fp32
//! weights and gradients, and stays close to fp32.
use repro::config::Precision;
use repro::models;
use repro::models::ModelConfig;
use repro::precision::{autocast_enabled, forward, Autocast};
use repro::testing::rng_lock;
use tch::nn::VarStore;
use tch::{Device, Kind, Tensor};

#[test]
fn autocast_is_on_only_inside_the_guard_and_nests() {
    let cpu = Device::Cpu;
    let x = Tensor::randn([2, 3, 8, 8], (Kind::Float, cpu));
    let w = Tensor::randn([4, 3, 3, 3], (Kind::Float, cpu));
    let conv = || {
        x.conv2d(&w, None::<Tensor>, [1, 1], [1, 1], [1, 1], 1)
            .kind()
    };
    assert!(!autocast_enabled(cpu));
    assert!(Autocast::enter(Precision::Fp32, cpu).is_none());
    assert_eq!(conv(), Kind::Float);
    {
        let _outer = Autocast::enter(Precision::Bf16Autocast, cpu);
        assert!(autocast_enabled(cpu));
        assert_eq!(conv(), Kind::BFloat16, "convolutions run in bf16");
        {
            let _inner = Autocast::enter(Precision::Bf16Autocast, cpu);
            assert_eq!(conv(), Kind::BFloat16);
        }
        assert!(
            autocast_enabled(cpu),
            "the inner exit restores the outer state"
        );
        assert_eq!(conv(), Kind::BFloat16);
    }
    assert!(!autocast_enabled(cpu));
    assert_eq!(conv(), Kind::Float, "fp32 again after the guard");
}

#[test]
fn bf16_forward_keeps_fp32_weights_and_gradients_and_stays_close_to_fp32() {
    let _g = rng_lock();
    tch::manual_seed(7);
    let vs = VarStore::new(Device::Cpu);
    let cfg: ModelConfig =
        toml::from_str("family = \"cifar-resnet\"\ndepth = 8\nresidual = true\nwidth = 8")
            .expect("model");
    let net = models::build(&vs.root(), &cfg).expect("build");
    let x = Tensor::randn([16, 3, 32, 32], (Kind::Float, Device::Cpu));
    let y = Tensor::arange(16, (Kind::Int64, Device::Cpu)).remainder(10);

    let fp32 = forward(net.as_ref(), &x, true, Precision::Fp32);
    let bf16 = forward(net.as_ref(), &x, true, Precision::Bf16Autocast);
    assert_eq!(fp32.kind(), Kind::Float);
    assert_eq!(bf16.kind(), Kind::Float, "logits come back as fp32");
    let diff = (&fp32 - &bf16).abs().max().double_value(&[]);
    let scale = fp32.abs().max().double_value(&[]);
    eprintln!("max |fp32 - bf16| = {diff:.4} (max |logit| {scale:.3})");
    assert!(
        diff > 0.0,
        "bf16 autocast changed nothing: it did not take effect"
    );
    assert!(
        diff < 0.05 * scale.max(1.0),
        "bf16 far from fp32: {diff} vs {scale}"
    );

    let loss = bf16.cross_entropy_for_logits(&y);
    loss.backward();
    for (name, p) in vs.variables() {
        assert_eq!(p.kind(), Kind::Float, "{name} stays fp32");
        let g = p.grad();
        if g.defined() {
            assert_eq!(g.kind(), Kind::Float, "gradient of {name} is fp32");
            assert!(
                g.isfinite().all().int64_value(&[]) == 1,
                "gradient of {name} finite"
            );
        }
    }
}

#[test]
fn fp32_runs_turn_cudas_default_tf32_off_and_tf32_runs_turn_it_on() {
    use repro::precision::{cuda_conv_tf32, set_cuda_numerics};
    // libtorch's default lets cuDNN convolutions use TF32; the papers' fp32 does not.
    set_cuda_numerics(Precision::Fp32);
    assert!(!cuda_conv_tf32());
    set_cuda_numerics(Precision::Tf32);
    assert!(cuda_conv_tf32());
    set_cuda_numerics(Precision::Bf16Autocast);
    assert!(
        !cuda_conv_tf32(),
        "the fp32 parts of a bf16 run stay strict fp32"
    );
    set_cuda_numerics(Precision::Fp32);
    assert!(!cuda_conv_tf32());
}
