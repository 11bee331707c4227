//! VGG (Simonyan & Zisserman 2014): Table 1's configurations and Table 2's
//! parameter counts, dense evaluation (Sec. 3.2), the initialisation from net A
//! (Sec. 3.1), scale jittering, and receptive fields (VGG-16 and ResNet-20 by hand).
use repro::data::rescale_crop_flip;
use repro::models::counter::trace;
use repro::models::layers::count_parameters;
use repro::models::receptive::{of_network, receptive_fields, RfRow};
use repro::models::resnet::{ResNet, ResNetSpec};
use repro::models::vgg::{InitLayers, Vgg, VggConfig, VggInit, VggName, VggShape};
use repro::models::Network;
use repro::models::{BlockKind, ShortcutOption};
use repro::testing::rng_lock;
use repro::train::transfer;
use tch::nn::VarStore;
use tch::{Device, Kind, Tensor};

fn cfg(name: VggName, shape: VggShape) -> VggConfig {
    VggConfig {
        config: name,
        shape,
        width_divisor: 1,
        fc_hidden: None,
        dropout: 0.5,
        init: VggInit::Glorot,
        init_from: None,
        init_layers: InitLayers::NetA,
        classes: None,
    }
}

fn build(c: &VggConfig) -> (VarStore, Vgg) {
    let vs = VarStore::new(Device::Cpu);
    let net = Vgg::new(&vs.root(), c);
    (vs, net)
}

/// Table 2 ("Number of parameters (in millions)"): 133, 133, 134, 138, 144.
/// Exact counts by hand: conv stacks (3x3xCinxCout + Cout per layer) plus
/// fc6 25088x4096 + 4096, fc7 4096x4096 + 4096, fc8 4096x1000 + 1000 = 123,642,856.
/// A: conv 9,220,480; B: 9,404,992; C: 9,996,096; D: 14,714,688; E: 20,024,384.
#[test]
fn table2_parameter_counts() {
    let _g = rng_lock();
    let fc = 25_088 * 4096 + 4096 + 4096 * 4096 + 4096 + 4096 * 1000 + 1000;
    assert_eq!(fc, 123_642_856);
    for (name, conv, paper_m) in [
        (VggName::A, 9_220_480i64, 133),
        (VggName::ALrn, 9_220_480, 133),
        (VggName::B, 9_404_992, 133),
        (VggName::C, 9_996_096, 134),
        (VggName::D, 14_714_688, 138),
        (VggName::E, 20_024_384, 144),
    ] {
        let (vs, _) = build(&cfg(name, VggShape::Imagenet));
        let n = count_parameters(&vs);
        assert_eq!(n, conv + fc, "config {name:?}");
        assert_eq!((n as f64 / 1e6).round() as i64, paper_m, "config {name:?}");
    }
    // Weight layers: 11, 11, 13, 16, 16, 19.
    let layers: Vec<usize> = VggName::ALL.iter().map(|n| n.weight_layers()).collect();
    assert_eq!(layers, vec![11, 11, 13, 16, 16, 19]);
}

#[test]
fn cifar_shape_keeps_the_conv_stacks() {
    let _g = rng_lock();
    let c = cfg(VggName::D, VggShape::Cifar);
    let (vs, net) = build(&c);
    // Conv stacks as ImageNet's D; classifier 512 -> 512 -> 512 -> 10.
    let fc = 512 * 512 + 512 + 512 * 512 + 512 + 512 * 10 + 10;
    assert_eq!(count_parameters(&vs), 14_714_688 + fc);
    let x = Tensor::zeros([2, 3, 32, 32], (Kind::Float, Device::Cpu));
    assert_eq!(net.forward_t(&x, false).size(), vec![2, 10]);
    // Width divisor 4: every conv stage a quarter as wide.
    let mut q = c.clone();
    q.width_divisor = 4;
    let (_, small) = build(&q);
    let (_, recs) = tch::no_grad(|| trace(|| small.forward_t(&x, false)));
    let widths: Vec<i64> = recs
        .iter()
        .filter(|r| r.kind == "conv")
        .map(|r| r.out_shape[1])
        .collect();
    assert_eq!(
        widths,
        vec![16, 16, 32, 32, 64, 64, 64, 128, 128, 128, 128, 128, 128]
    );
}

/// Sec. 3.2: at the training size the dense (convolutional) classifier is the
/// fully connected one; larger inputs give a class score map that is averaged.
#[test]
fn dense_evaluation_equals_fc_at_training_size() {
    let _g = rng_lock();
    tch::manual_seed(3);
    let mut c = cfg(VggName::A, VggShape::Cifar);
    c.width_divisor = 8;
    c.fc_hidden = Some(32);
    // In f64: the claim is that the two classifiers are the same function, which
    // fp32 kernels (a matrix product vs a convolution) would blur by their rounding.
    let (mut vs, net) = build(&c);
    vs.double();
    let x = Tensor::randn([4, 3, 32, 32], (Kind::Double, Device::Cpu));
    let fc = net.forward_t(&x, false);
    let dense = net.dense_classifier(&net.features(&x));
    assert!(fc.allclose(&dense, 1e-9, 1e-12, false));
    // 64x64: a 2x2 score map, averaged; equals the mean of the fc outputs at the
    // four positions of the final 2x2 feature map.
    let big = Tensor::randn([2, 3, 64, 64], (Kind::Double, Device::Cpu));
    let out = net.forward_t(&big, false);
    assert_eq!(out.size(), vec![2, 10]);
    let f = net.features(&big);
    assert_eq!(f.size()[2..], [2, 2]);
    let mut sum = Tensor::zeros([2, 10], (Kind::Double, Device::Cpu));
    for i in 0..2 {
        for j in 0..2 {
            let cell = f.narrow(2, i, 1).narrow(3, j, 1);
            sum += net.dense_classifier(&cell);
        }
    }
    assert!(out.allclose(&(sum / 4.0), 1e-9, 1e-12, false));
    // The ImageNet shape: 7x7 conv form of fc6. 256x256 gives a 2x2 map.
    let mut im = cfg(VggName::A, VggShape::Imagenet);
    im.width_divisor = 16;
    im.fc_hidden = Some(16);
    im.classes = Some(5);
    let (mut vs, net) = build(&im);
    vs.double();
    let x = Tensor::randn([1, 3, 224, 224], (Kind::Double, Device::Cpu));
    let dense = net.dense_classifier(&net.features(&x));
    assert!(net
        .forward_t(&x, false)
        .allclose(&dense, 1e-9, 1e-12, false));
    let x = Tensor::randn([1, 3, 256, 256], (Kind::Double, Device::Cpu));
    assert_eq!(net.forward_t(&x, false).size(), vec![1, 5]);
}

/// Sec. 3.1: the first four conv layers and the three fc layers of net A are
/// copied into the deeper net; the others keep their random init.
#[test]
fn initialisation_from_net_a() {
    let _g = rng_lock();
    let dir = tempfile::tempdir().unwrap();
    tch::manual_seed(1);
    let mut a = cfg(VggName::A, VggShape::Cifar);
    a.width_divisor = 8;
    let (vs_a, _) = build(&a);
    let path = transfer::save_final(&vs_a, dir.path()).unwrap();
    tch::manual_seed(2);
    let mut d = a.clone();
    d.config = VggName::D;
    let (vs_d, _) = build(&d);
    let before = vs_d.variables();
    let before: std::collections::HashMap<_, _> =
        before.iter().map(|(k, v)| (k.clone(), v.copy())).collect();
    let copied = transfer::init_from(&vs_d, &path, Some(VggConfig::transferred_layers())).unwrap();
    assert_eq!(copied, 14);
    let va = vs_a.variables();
    for (name, t) in vs_d.variables() {
        let layer = name.split('.').next().unwrap();
        if VggConfig::transferred_layers().contains(&layer) {
            assert!(t.equal(&va[&name]), "{name} not copied from A");
        } else {
            assert!(t.equal(&before[&name]), "{name} changed");
        }
    }
    // conv1_2 exists in D but not in A: it keeps its own init.
    assert!(vs_d.variables().contains_key("conv1_2.weight"));
    // A missing source file is an error naming it.
    let err = transfer::init_from(&vs_d, &dir.path().join("nope.safetensors"), Some(&["fc6"]))
        .unwrap_err()
        .to_string();
    assert!(err.contains("nope.safetensors"), "{err}");
}

/// Sec. 3.1's fine-tuning (the S = 384 net from the S = 256 one, the
/// multi-scale nets from the S = 384 one): `init_layers = "all"` copies every
/// variable of a net of the same configuration, and refuses another one.
#[test]
fn fine_tuning_copies_every_layer_of_the_same_configuration() {
    let _g = rng_lock();
    let dir = tempfile::tempdir().unwrap();
    tch::manual_seed(1);
    let mut d = cfg(VggName::D, VggShape::Cifar);
    d.width_divisor = 8;
    d.fc_hidden = Some(32);
    let (vs_src, _) = build(&d);
    let path = transfer::save_final(&vs_src, dir.path()).unwrap();
    tch::manual_seed(2);
    let mut tuned = d.clone();
    tuned.init_from = Some("vgg-d".into());
    tuned.init_layers = InitLayers::All;
    assert_eq!(tuned.copied_layers(), None);
    let (vs, _) = build(&tuned);
    let copied = transfer::init_from(&vs, &path, tuned.copied_layers()).unwrap();
    // D: 13 conv + 3 fc layers, a weight and a bias each.
    assert_eq!(copied, 32);
    let src = vs_src.variables();
    for (name, t) in vs.variables() {
        assert!(t.equal(&src[&name]), "{name} not copied");
    }
    // From net A (fewer layers) every layer cannot come: an error naming a variable.
    let mut a = d.clone();
    a.config = VggName::A;
    let (vs_a, _) = build(&a);
    let a_dir = tempfile::tempdir().unwrap();
    let a_path = transfer::save_final(&vs_a, a_dir.path()).unwrap();
    let err = transfer::init_from(&vs, &a_path, None)
        .unwrap_err()
        .to_string();
    assert!(err.contains("missing in the source"), "{err}");
    // "all" without a run to copy from is a config error naming the key.
    let mut orphan = d.clone();
    orphan.init_layers = InitLayers::All;
    assert!(orphan.validate().unwrap_err().contains("model.init_layers"));
}

/// The receptive-field rows of a chain, with the output sizes the trace saw.
fn rf_of(rows: &[RfRow], layer: &str) -> (i64, i64, i64) {
    let r = rows
        .iter()
        .find(|r| r.layer == layer)
        .unwrap_or_else(|| panic!("no layer {layer} in {rows:?}"));
    (r.receptive_field.unwrap_or(-1), r.jump, r.out_size)
}

/// VGG-16 (config D) at 224: by hand, r grows by 2 x jump per 3x3 conv and by
/// jump per 2x2/2 pool: 3, 5, 6 | 10, 14, 16 | 24, 32, 40, 44 | 60, 76, 92, 100 |
/// 132, 164, 196 (conv5_3), 212 after the last pool.
#[test]
fn vgg16_receptive_fields() {
    let _g = rng_lock();
    let mut d = cfg(VggName::D, VggShape::Imagenet);
    d.width_divisor = 16;
    d.fc_hidden = Some(8);
    let (_, net) = build(&d);
    let rows = of_network(&net, [3, 224, 224]);
    assert_eq!(rf_of(&rows, "conv1_1"), (3, 1, 224));
    assert_eq!(rf_of(&rows, "conv1_2"), (5, 1, 224));
    assert_eq!(rf_of(&rows, "pool1"), (6, 2, 112));
    assert_eq!(rf_of(&rows, "conv2_2"), (14, 2, 112));
    assert_eq!(rf_of(&rows, "conv3_3"), (40, 4, 56));
    assert_eq!(rf_of(&rows, "conv4_3"), (92, 8, 28));
    assert_eq!(rf_of(&rows, "conv5_3"), (196, 16, 14));
    assert_eq!(rf_of(&rows, "pool5"), (212, 32, 7));
    let fc8 = rows.iter().find(|r| r.layer == "fc8").unwrap();
    assert_eq!(fc8.receptive_field, None);
}

/// ResNet-20 (CIFAR, option B so that projections are in the trace and must be
/// left out): stem 3x3 r = 3; stage 1, six 3x3 convs at jump 1: 3 + 12 = 15;
/// stage 2's first conv has stride 2: 15 + 2 = 17, jump 2, then five convs
/// adding 4 each: 37; stage 3: 37 + 4 = 41, jump 4, five convs adding 8: 81;
/// global average pooling over the 8x8 map: 81 + 7 x 4 = 109.
#[test]
fn resnet20_receptive_fields_by_hand() {
    let _g = rng_lock();
    let vs = VarStore::new(Device::Cpu);
    let net = ResNet::new(
        &vs.root(),
        &ResNetSpec::cifar(20, BlockKind::Basic, true, ShortcutOption::B, 16, 10),
    );
    let x = Tensor::zeros([1, 3, 32, 32], (Kind::Float, Device::Cpu));
    let (_, records) = tch::no_grad(|| trace(|| net.forward_t(&x, false)));
    assert!(records.iter().any(|r| r.name.contains("shortcut")));
    let rows = receptive_fields(&records);
    let convs: Vec<&RfRow> = rows.iter().filter(|r| r.kind == "conv").collect();
    assert_eq!(convs.len(), 19);
    let rf: Vec<i64> = convs.iter().map(|r| r.receptive_field.unwrap()).collect();
    assert_eq!(
        rf,
        vec![3, 5, 7, 9, 11, 13, 15, 17, 21, 25, 29, 33, 37, 41, 49, 57, 65, 73, 81]
    );
    let jumps: Vec<i64> = convs.iter().map(|r| r.jump).collect();
    assert_eq!(jumps[..7], [1; 7]);
    assert_eq!(jumps[7..13], [2; 6]);
    assert_eq!(jumps[13..], [4; 6]);
    let gap = rows.iter().find(|r| r.kind == "global-avg-pool").unwrap();
    assert_eq!((gap.receptive_field, gap.out_size), (Some(109), 1));
}

/// Scale jittering on CIFAR: with S fixed at 32 the crop is the whole image,
/// exactly, or its mirror; with S in [32, 64] shapes hold and images differ.
#[test]
fn rescale_crop_flip_is_exact_at_the_native_scale() {
    let _g = rng_lock();
    tch::manual_seed(5);
    let x = Tensor::randn([64, 3, 32, 32], (Kind::Float, Device::Cpu));
    let y = rescale_crop_flip(&x, 32, 32);
    let mut flips = 0;
    for i in 0..64 {
        let (xi, yi) = (x.get(i), y.get(i));
        if yi.allclose(&xi, 1e-5, 1e-5, false) {
            continue;
        }
        assert!(yi.allclose(&xi.flip([2]), 1e-5, 1e-5, false), "image {i}");
        flips += 1;
    }
    assert!((16..=48).contains(&flips), "{flips} of 64 flipped");
    let z = rescale_crop_flip(&x, 32, 64);
    assert_eq!(z.size(), vec![64, 3, 32, 32]);
    let same = (0..64)
        .filter(|&i| z.get(i).allclose(&x.get(i), 1e-5, 1e-5, false))
        .count();
    assert!(same < 16, "{same} of 64 unchanged at S in [32, 64]");
}
