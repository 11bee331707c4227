//! Every non-shortened profile trains for the length its source states,
//! computed here in epochs from its resolved iterations, batch size and
//! training-set size (so that a schedule given in iterations cannot silently
//! be half the paper's, as AlexNet's ImageNet profiles once were).
use repro::config::{DatasetKind, ExperimentFile, Fidelity};
use std::path::Path;

/// Training images per epoch: CIFAR-10's 50,000 less the validation split;
/// ImageNet's 1.2 million as the AlexNet paper counts them (Sec. 5: "the
/// training set of 1.2 million images"; 1,281,167 in ILSVRC-2012).
fn train_images(kind: DatasetKind, validation: usize) -> f64 {
    match kind {
        DatasetKind::ImagenetFolder => 1_281_167.0,
        _ => (50_000 - validation) as f64,
    }
}

/// (experiment, profile, epochs, source). CIFAR analogues of an ImageNet
/// recipe state their own length in the profile description.
const LENGTHS: &[(&str, &str, f64, &str)] = &[
    // He et al. 2015, Sec. 4.2: "terminate training at 64k iterations" of batch 128 on 50k images.
    (
        "resnet-cifar-degradation",
        "paper",
        163.84,
        "ResNet Sec. 4.2: 64k iterations x 128 / 50k",
    ),
    (
        "resnet-shortcut-options",
        "paper",
        163.84,
        "ResNet Sec. 4.2: 64k iterations x 128 / 50k",
    ),
    // He et al. 2015, Sec. 3.4: "the models are trained for up to 60 x 10^4 iterations", batch 256.
    (
        "resnet-shortcut-options",
        "imagenet",
        119.9,
        "ResNet Sec. 3.4: 600k iterations x 256 / 1.28M",
    ),
    // Krizhevsky et al. 2012, Sec. 5: "roughly 90 cycles through the training set of 1.2 million images".
    (
        "alexnet-depth",
        "imagenet",
        84.3,
        "AlexNet Sec. 5: 90 x 1.2M / 128 iterations, over 1.28M images",
    ),
    (
        "alexnet-two-tower",
        "imagenet",
        84.3,
        "AlexNet Sec. 5: 90 x 1.2M / 128 iterations, over 1.28M images",
    ),
    // Krizhevsky et al. 2012, Fig. 1: the curves run to about 40 epochs.
    (
        "alexnet-relu-vs-tanh",
        "paper",
        39.94,
        "AlexNet Fig. 1: 40 epochs (15,600 x 128 / 50k)",
    ),
    // CIFAR-10 analogues of AlexNet's recipe: "up to 100 epochs" on the 45k split.
    (
        "alexnet-lrn",
        "paper",
        99.84,
        "profile: up to 100 epochs on 45k",
    ),
    (
        "alexnet-overlapping-pooling",
        "paper",
        99.84,
        "profile: up to 100 epochs on 45k",
    ),
    (
        "alexnet-dropout",
        "paper",
        99.84,
        "profile: up to 100 epochs on 45k",
    ),
    (
        "alexnet-augmentation",
        "paper",
        99.84,
        "profile: up to 100 epochs on 45k",
    ),
    (
        "alexnet-depth",
        "paper",
        99.84,
        "profile: up to 100 epochs on 45k",
    ),
    (
        "alexnet-two-tower",
        "paper",
        99.84,
        "profile: up to 100 epochs on 45k",
    ),
    // Simonyan & Zisserman 2014, Sec. 3.1: "stopped after 370K iterations (74 epochs)".
    (
        "vgg-depth",
        "paper",
        73.67,
        "VGG Sec. 3.1: 74 epochs (12,950 x 256 / 45k)",
    ),
    // Szegedy et al. 2014, Sec. 6 with BVLC's solver: 60 epochs.
    (
        "googlenet-inception",
        "imagenet",
        60.0,
        "GoogLeNet Sec. 6 / BVLC solver: 60 epochs",
    ),
    (
        "googlenet-inception",
        "paper",
        59.9,
        "profile: 60 epochs on 50k",
    ),
];

#[test]
fn every_full_length_profile_trains_as_long_as_its_source_says() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../experiments");
    let mut checked = 0;
    for e in std::fs::read_dir(&root).expect("experiments/") {
        let path = e.expect("entry").path();
        if path.extension().is_none_or(|x| x != "toml") {
            continue;
        }
        let f = ExperimentFile::load(&path).expect("loads");
        for (name, profile) in &f.profiles {
            if profile.fidelity == Fidelity::Shortened {
                continue;
            }
            let (_, _, want, source) = LENGTHS
                .iter()
                .find(|(e, p, _, _)| *e == f.name && p == name)
                .unwrap_or_else(|| {
                    panic!(
                        "{}: profile `{name}` has no stated length in LENGTHS",
                        f.name
                    )
                });
            for run in &profile.runs {
                let c = f.resolve(name, run, 1, &[]).expect("resolves");
                let epochs = c.train.iterations as f64 * c.train.batch_size as f64
                    / train_images(c.data.dataset, c.data.validation);
                assert!(
                    (epochs - want).abs() <= 0.01 * want,
                    "{}/{name}/{run}: {epochs:.2} epochs, the source says {want} ({source})",
                    f.name
                );
            }
            checked += 1;
        }
    }
    assert!(checked >= LENGTHS.len(), "{checked} profiles checked");
}
