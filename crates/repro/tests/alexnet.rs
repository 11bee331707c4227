//! AlexNet (Krizhevsky et al. 2012): the full ImageNet net and its one-tower
//! variant from the cuda-convnet builder, checked against hand computations;
//! the CIFAR-10 configs the experiments use are unchanged; PCA colour augmentation.
use repro::config::{ExperimentFile, ModelConfig, RunConfig};
use repro::models::layers::count_parameters;
use std::path::Path;
use tch::nn::VarStore;
use tch::{Device, Kind, Tensor};

/// libtorch's generator is global and tests run on parallel threads: tests that
/// seed it take this lock so their random streams are not interleaved.
static RNG: std::sync::Mutex<()> = std::sync::Mutex::new(());
fn rng_lock() -> std::sync::MutexGuard<'static, ()> {
    RNG.lock().unwrap_or_else(|e| e.into_inner())
}

/// One run (profile `paper`, seed 1) of a shipped experiment file.
fn resolved(file: &str, run: &str) -> RunConfig {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../experiments")
        .join(file);
    let f = ExperimentFile::load(&path).unwrap_or_else(|e| panic!("{e}"));
    f.resolve("paper", run, 1, &[])
        .unwrap_or_else(|e| panic!("{e}"))
}

/// (parameters, a fingerprint of the seeded weights: sum of |w| and the first
/// value of every variable, in name order).
fn built(cfg: &ModelConfig, seed: i64) -> (i64, Vec<(String, f64, f64)>) {
    tch::manual_seed(seed);
    let vs = VarStore::new(Device::Cpu);
    repro::models::build(&vs.root(), cfg).expect("builds");
    let mut vars: Vec<_> = vs.variables().into_iter().collect();
    vars.sort_by(|a, b| a.0.cmp(&b.0));
    let fp = vars
        .iter()
        .map(|(n, t)| {
            (
                n.clone(),
                t.abs().sum(Kind::Double).double_value(&[]),
                t.flatten(0, -1).double_value(&[0]),
            )
        })
        .collect();
    (count_parameters(&vs), fp)
}

/// The CIFAR-10 nets of the shipped experiments build exactly as before the
/// builder was generalised: the same parameters, the same variables in the same
/// init order (so a seed gives the same weights), the same forward pass and the
/// same config hash (new keys at their defaults are not serialised). The numbers
/// were printed by the builder before the change (commit d2edc00).
#[test]
fn shipped_cifar_configs_are_unchanged() {
    let _rng = rng_lock();
    type Fingerprint = &'static [(&'static str, f64, f64)];
    let conv32: Fingerprint = &[
        ("conv1.bias", 0.0, 0.0),
        ("conv1.weight", 1.9319309366187554e-1, -8.201345190173015e-5),
        ("conv2.bias", 0.0, 0.0),
        ("conv2.weight", 2.0346066892762747e2, -1.1340662837028503e-2),
        ("conv3.bias", 0.0, 0.0),
        ("conv3.weight", 4.073228531594068e2, -1.7145609483122826e-2),
        ("fc1.bias", 0.0, 0.0),
        ("fc1.weight", 8.204641928019683e1, 1.7641013255342841e-3),
    ];
    let conv_local: Fingerprint = &[
        ("conv1.bias", 0.0, 0.0),
        ("conv1.weight", 3.8741369437058104e-1, -8.201345190173015e-5),
        ("conv2.bias", 0.0, 0.0),
        ("conv2.weight", 8.163555974737108e2, 2.1003998816013336e-2),
        ("fc1.bias", 0.0, 0.0),
        ("fc1.weight", 1.6325537392401966e2, -9.920877404510975e-3),
        ("local1.bias", 0.0, 0.0),
        ("local1.weight", 3.767166135972996e4, 4.837983101606369e-2),
        ("local2.bias", 0.0, 0.0),
        ("local2.weight", 1.8812940095611662e4, 8.707734942436218e-2),
    ];
    let cases: [(&str, &str, i64, &str, [f64; 4], Fingerprint); 3] = [
        // conv 32-32-64 5x5, pools max/avg/avg 3/2, fc 10:
        // 3*32*25+32 + 32*32*25+32 + 32*64*25+64 + 64*4*4*10+10.
        (
            "alexnet-lrn.toml",
            "lrn",
            2432 + 25632 + 51264 + 10250,
            "fdf4e7eb50df57bd",
            [
                3.462123277131468e-5,
                -0.00023212519590742886,
                0.00021611372358165681,
                7.124605326680467e-5,
            ],
            conv32,
        ),
        // conv 64-64 5x5, pools max/max 3/2 (32 -> 16 -> 8), two 3x3 locally-connected
        // layers of 32 (padding 1, unshared weights and biases over 8x8 positions), fc 10:
        // 4,864 + 102,464 + (64*32*576 + 32*64) + (64*32*288 + 32*64) + (32*8*8*10 + 10).
        (
            "alexnet-lrn.toml",
            "conv-local-lrn",
            4_864 + 102_464 + 1_181_696 + 591_872 + 20_490,
            "0ca61132a2d391df",
            [
                -4.879420157521963e-5,
                0.0003199552884325385,
                0.0002869968884624541,
                -0.0017954390496015549,
            ],
            conv_local,
        ),
        // Non-overlapping 2/2 pooling gives the same 16, 8, 4 maps.
        (
            "alexnet-overlapping-pooling.toml",
            "non-overlapping",
            89_578,
            "a4eedef5ba85daad",
            [
                -7.465008820872754e-6,
                -0.0006432437221519649,
                0.00041443377267569304,
                7.592462497996166e-5,
            ],
            conv32,
        ),
    ];
    for (file, run, params, hash, out, fingerprint) in cases {
        let rc = resolved(file, run);
        assert_eq!(rc.config_hash(), hash, "{file} {run}: config hash");
        let (n, fp) = built(&rc.model, 7);
        assert_eq!(n, params, "{file} {run}: parameters");
        assert_eq!(fp.len(), fingerprint.len(), "{file} {run}: variables");
        for ((name, s, first), (want_name, want_s, want_first)) in fp.iter().zip(fingerprint) {
            assert_eq!(name, want_name);
            assert!(
                (s - want_s).abs() <= 1e-9 * want_s.abs() && first == want_first,
                "{file} {run}: {name} ({s}, {first}) vs ({want_s}, {want_first})"
            );
        }
        tch::manual_seed(7);
        let vs = VarStore::new(Device::Cpu);
        let net = repro::models::build(&vs.root(), &rc.model).expect("builds");
        tch::manual_seed(11);
        let x = Tensor::randn([2, 3, 32, 32], (Kind::Float, Device::Cpu)) * 50.0;
        let y = net.forward_t(&x, false);
        assert_eq!(y.size(), vec![2, 10]);
        let got: Vec<f64> = Vec::try_from(y.flatten(0, -1).to_kind(Kind::Double)).expect("f64");
        for (g, w) in got.iter().zip(out) {
            assert!(
                (g - w).abs() <= 1e-5 * w.abs(),
                "{file} {run}: output {g} vs {w}"
            );
        }
    }
}
