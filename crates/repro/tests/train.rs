//! The training core: device-side augmentation, bit-identical resume,
//! divergence, atomic metrics files, Parquet readable by other tools.
use repro::config::{Augment, Colour, DataConfig, Normalize, RunConfig};
use repro::data::{pad_crop_flip, Dataset};
use repro::io::write_atomic;
use repro::layout::Layout;
use repro::metrics::{read_parquet, write_parquet};
use repro::models;
use repro::testing::{rng_lock, synthetic, test_context, tiny_run};
use repro::train::{self, RunStatus};
use std::path::Path;
use tch::nn::VarStore;
use tch::{Device, Kind, Tensor};

fn config(overrides: &[&str]) -> RunConfig {
    tiny_run(3, overrides)
}

fn train(
    cfg: &RunConfig,
    data: &Dataset,
    dir: &Path,
    stop: Option<i64>,
) -> (train::RunOutcome, Vec<Tensor>) {
    train::seed_init(cfg.seed);
    let vs = VarStore::new(Device::Cpu);
    let net = models::build(&vs.root(), &cfg.model).expect("model");
    let ctx = test_context(data, dir, Layout::ChannelsLast, stop);
    let out = train::train_run(cfg, net.as_ref(), &vs, &ctx).expect("trains");
    let mut vars: Vec<(String, Tensor)> = vs.variables().into_iter().collect();
    vars.sort_by(|a, b| a.0.cmp(&b.0));
    (out, vars.into_iter().map(|v| v.1.detach().copy()).collect())
}

fn strip_timing(rows: &[repro::metrics::MetricRow]) -> Vec<repro::metrics::MetricRow> {
    rows.iter()
        .map(|r| {
            let mut r = r.clone();
            r.wall_time_s = 0.0;
            r.images_per_sec = 0.0;
            r
        })
        .collect()
}

#[test]
fn resume_after_interruption_is_bit_identical() {
    let _rng = rng_lock();
    let raw = synthetic(256, 64);
    let cfg = config(&[]);
    let data = Dataset::new(&raw, &cfg.data, Device::Cpu).expect("dataset");
    let a = tempfile::tempdir().expect("tmp");
    let (full, full_params) = train(&cfg, &data, a.path(), None);
    assert_eq!(full.status, RunStatus::Completed);

    let b = tempfile::tempdir().expect("tmp");
    let (part, _) = train(&cfg, &data, b.path(), Some(15));
    assert_eq!(part.status, RunStatus::Interrupted { iteration: 20 });
    assert!(b.path().join("checkpoint.json").exists());
    let (resumed, resumed_params) = train(&cfg, &data, b.path(), None);
    assert_eq!(resumed.resumed_from, 20);
    assert_eq!(resumed.status, RunStatus::Completed);
    assert_eq!(
        strip_timing(&resumed.rows),
        strip_timing(&full.rows),
        "metrics differ after resume"
    );
    assert_eq!(full_params.len(), resumed_params.len());
    for (p, q) in full_params.iter().zip(&resumed_params) {
        assert!(p.equal(q), "parameters differ after resume");
    }
    // The training loss moved (the test would pass vacuously on a frozen net otherwise).
    let first = full.rows.first().expect("rows").train_loss;
    assert!(full
        .rows
        .iter()
        .any(|r| (r.train_loss - first).abs() > 1e-4));
}

#[test]
fn corrupted_checkpoint_is_an_error_naming_the_file() {
    let _rng = rng_lock();
    let raw = synthetic(128, 32);
    let cfg = config(&[]);
    let data = Dataset::new(&raw, &cfg.data, Device::Cpu).expect("dataset");
    let dir = tempfile::tempdir().expect("tmp");
    let _ = train(&cfg, &data, dir.path(), Some(5));
    let ot = std::fs::read_dir(dir.path())
        .expect("dir")
        .flatten()
        .find(|e| e.file_name().to_string_lossy().ends_with(".ot"))
        .expect("checkpoint tensor file");
    let mut bytes = std::fs::read(ot.path()).expect("read");
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0xff;
    std::fs::write(ot.path(), bytes).expect("write");
    train::seed_init(cfg.seed);
    let vs = VarStore::new(Device::Cpu);
    let net = models::build(&vs.root(), &cfg.model).expect("model");
    let ctx = test_context(&data, dir.path(), Layout::Nchw, None);
    let e = train::train_run(&cfg, net.as_ref(), &vs, &ctx)
        .unwrap_err()
        .to_string();
    assert!(e.contains("checksum") && e.contains(".ot"), "{e}");
}

#[test]
fn divergence_stops_the_run_and_is_recorded() {
    let _rng = rng_lock();
    let raw = synthetic(128, 32);
    let cfg = config(&["train.lr=1e12", "data.augment=\"none\""]);
    let data = Dataset::new(&raw, &cfg.data, Device::Cpu).expect("dataset");
    let dir = tempfile::tempdir().expect("tmp");
    let (out, _) = train(&cfg, &data, dir.path(), None);
    let RunStatus::Diverged { iteration } = out.status else {
        panic!("expected divergence, got {:?}", out.status)
    };
    assert!(iteration < 40);
    let last = out.rows.last().expect("a row");
    assert!(last.diverged && !last.train_loss.is_finite());
    assert!(out.rows[..out.rows.len() - 1].iter().all(|r| !r.diverged));
}

#[test]
fn pad_crop_flip_makes_crops_of_the_padded_image() {
    let _rng = rng_lock();
    tch::manual_seed(0);
    let b = 64;
    let x = Tensor::randn([b, 3, 8, 8], (Kind::Float, Device::Cpu));
    let y = pad_crop_flip(&x, 2);
    assert_eq!(y.size(), vec![b, 3, 8, 8]);
    let p = x.constant_pad_nd([2, 2, 2, 2]);
    let mut offsets = std::collections::BTreeSet::new();
    let mut flips = 0;
    for i in 0..b {
        let yi = y.get(i);
        let mut found = None;
        'search: for oy in 0..5 {
            for ox in 0..5 {
                let crop = p.get(i).narrow(1, oy, 8).narrow(2, ox, 8);
                for flip in [false, true] {
                    let c = if flip {
                        crop.flip([2])
                    } else {
                        crop.shallow_clone()
                    };
                    if c.equal(&yi) {
                        found = Some((oy, ox, flip));
                        break 'search;
                    }
                }
            }
        }
        let (oy, ox, flip) = found.unwrap_or_else(|| panic!("image {i} is not a (flipped) crop"));
        offsets.insert((oy, ox));
        flips += flip as i32;
    }
    // Independent per image: many offsets, some flipped, some not.
    assert!(offsets.len() > 10, "{} distinct offsets", offsets.len());
    assert!(flips > 10 && flips < 54, "{flips} flips of {b}");
}

#[test]
fn validation_split_and_normalisation() {
    let _rng = rng_lock();
    let raw = synthetic(200, 50);
    let cfg = DataConfig {
        dataset: Default::default(),
        test_views: Default::default(),
        normalize: Normalize::PerPixelMean,
        augment: Augment::None,
        validation: 40,
        train_subset: 0,
        test_subset: 20,
        colour: Colour::None,
        scale_range: None,
        test_scales: Vec::new(),
        test_flip: false,
        train_eval_images: 0,
        crop: None,
    };
    let d = Dataset::new(&raw, &cfg, Device::Cpu).expect("dataset");
    assert!(d.rgb_pca.is_none(), "PCA only when asked for");
    // AlexNet's PCA colour augmentation: one offset per image, the same at every
    // pixel, in the normalised scale; nothing without it.
    let pca_cfg = DataConfig {
        colour: Colour::Pca,
        ..cfg.clone()
    };
    let dp = Dataset::new(&raw, &pca_cfg, Device::Cpu).expect("dataset");
    let x = dp.normalize(&dp.train.images.narrow(0, 0, 8), Normalize::PerPixelMean);
    tch::manual_seed(4);
    let shifted = dp.colour_augment(&x, &pca_cfg);
    let offset = &shifted - &x;
    let per_image = offset.amax(&[2i64, 3][..], false) - offset.amin(&[2i64, 3][..], false);
    assert!(per_image.abs().max().double_value(&[]) < 1e-3);
    assert!(offset.abs().max().double_value(&[]) > 1e-3, "offsets drawn");
    assert!(d.colour_augment(&x, &cfg).equal(&x));
    assert_eq!(
        (
            d.train.len(),
            d.validation.as_ref().map(|v| v.len()),
            d.test.len()
        ),
        (160, Some(40), 20)
    );
    let x = d.normalize(&d.train.images, Normalize::PerPixelMean);
    let m = x
        .mean_dim(0, false, Kind::Float)
        .abs()
        .max()
        .double_value(&[]);
    assert!(
        m < 1e-3,
        "per-pixel mean of the normalised training split: {m}"
    );
    let bad = DataConfig {
        validation: 200,
        ..cfg
    };
    assert!(Dataset::new(&raw, &bad, Device::Cpu)
        .unwrap_err()
        .to_string()
        .contains("data.validation"));
}

#[test]
fn metrics_files_are_written_atomically_and_read_by_pyarrow() {
    let _rng = rng_lock();
    let raw = synthetic(128, 32);
    let cfg = config(&["train.iterations=10"]);
    let data = Dataset::new(&raw, &cfg.data, Device::Cpu).expect("dataset");
    let dir = tempfile::tempdir().expect("tmp");
    let (out, _) = train(&cfg, &data, dir.path(), None);
    let path = dir.path().join("metrics.parquet");
    write_parquet(&path, &out.rows).expect("write");
    assert_eq!(read_parquet(&path).expect("read back"), out.rows);
    let before = std::fs::read(&path).expect("bytes");
    // A writer that fails half-way: the old file stays whole and no temp file is left.
    let r = write_atomic(&path, |f| {
        use std::io::Write;
        f.write_all(b"PAR1 half a file")?;
        Err(std::io::Error::other("disk full"))
    });
    assert!(r.unwrap_err().to_string().contains("metrics.parquet"));
    assert_eq!(std::fs::read(&path).expect("bytes"), before);
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .expect("dir")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().to_string())
        .collect();
    assert!(names.iter().all(|n| !n.ends_with(".tmp")), "{names:?}");
    // Other tools read it: pyarrow from the project's environment.
    let py = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/python");
    let outp = std::process::Command::new(&py)
        .args([
            "-c",
            "import sys, pyarrow.parquet as pq; t = pq.read_table(sys.argv[1]); print(t.num_rows, ','.join(t.schema.names))",
        ])
        .arg(&path)
        .output()
        .unwrap_or_else(|e| panic!("{}: {e} (run scripts/setup)", py.display()));
    assert!(
        outp.status.success(),
        "{}",
        String::from_utf8_lossy(&outp.stderr)
    );
    let text = String::from_utf8_lossy(&outp.stdout);
    assert!(text.starts_with(&format!("{} ", out.rows.len())), "{text}");
    for col in [
        "config_hash",
        "seed",
        "train_error",
        "test_error",
        "dataset",
        "device",
    ] {
        assert!(text.contains(col), "{col} missing: {text}");
    }
}

/// VGG Sec. 3.2: "the soft-max class posteriors of the original and flipped
/// images are averaged". The flip-averaged test equals that average computed
/// by hand, and differs from the plain test.
#[test]
fn flip_averaged_test_averages_each_images_posteriors_with_its_mirrors() {
    let _rng = rng_lock();
    let raw = synthetic(64, 40);
    let mut cfg = config(&[]);
    let data = Dataset::new(&raw, &cfg.data, Device::Cpu).expect("dataset");
    train::seed_init(cfg.seed);
    let vs = VarStore::new(Device::Cpu);
    let net = models::build(&vs.root(), &cfg.model).expect("model");
    let split = repro::data::Split::Test;
    let plain =
        repro::eval::evaluate_split(net.as_ref(), &data, split, &cfg, Layout::Nchw, 1).unwrap()[0];
    cfg.data.test_flip = true;
    let flipped =
        repro::eval::evaluate_split(net.as_ref(), &data, split, &cfg, Layout::Nchw, 1).unwrap()[0];
    let x = data.normalize(&data.test.images, cfg.data.normalize);
    let p = tch::no_grad(|| {
        (net.forward_t(&x, false).softmax(-1, Kind::Float)
            + net.forward_t(&x.flip([3]), false).softmax(-1, Kind::Float))
            / 2.0
    });
    let y = &data.test.labels;
    let loss = -p
        .gather(1, &y.unsqueeze(1), false)
        .clamp_min(1e-12) // as `eval` does: an untrained net's posteriors underflow
        .log()
        .mean(Kind::Double)
        .double_value(&[]);
    let error = p
        .argmax(-1, false)
        .ne_tensor(y)
        .to_kind(Kind::Double)
        .mean(Kind::Double)
        .double_value(&[]);
    assert!((flipped.loss - loss).abs() < 1e-5, "{flipped:?} vs {loss}");
    assert!(
        (flipped.error - error).abs() < 1e-9,
        "{flipped:?} vs {error}"
    );
    assert!(
        (plain.loss - flipped.loss).abs() > 1e-6,
        "the mirror changed nothing"
    );
    // Fused seeds have no flip-averaged evaluation: such runs train separately.
    assert!(train::fusion_blocker(&cfg)
        .unwrap()
        .contains("data.test_flip"));
}

/// `data.train_eval_images`: at every evaluation the training error is also
/// measured in evaluation mode on a fixed subset of the training images; the
/// row's value is that evaluation of the net as it was then.
#[test]
fn evaluation_mode_training_error_is_recorded_at_each_evaluation() {
    let _rng = rng_lock();
    let raw = synthetic(96, 32);
    let cfg = config(&[
        "data.train_eval_images=48",
        "train.iterations=10",
        "train.eval_every=5",
    ]);
    let data = Dataset::new(&raw, &cfg.data, Device::Cpu).expect("dataset");
    assert_eq!(data.train_eval.as_ref().map(|t| t.len()), Some(48));
    let dir = tempfile::tempdir().expect("tmp");
    train::seed_init(cfg.seed);
    let vs = VarStore::new(Device::Cpu);
    let net = models::build(&vs.root(), &cfg.model).expect("model");
    let ctx = test_context(&data, dir.path(), Layout::ChannelsLast, None);
    let out = train::train_run(&cfg, net.as_ref(), &vs, &ctx).expect("trains");
    let evaluated: Vec<_> = out.rows.iter().filter(|r| r.test_error.is_some()).collect();
    assert!(evaluated.len() >= 2, "{} evaluations", evaluated.len());
    assert!(evaluated.iter().all(|r| r.train_eval_error.is_some()));
    assert!(out
        .rows
        .iter()
        .filter(|r| r.test_error.is_none())
        .all(|r| r.train_eval_error.is_none()));
    // The last evaluation is of the final weights: evaluate them again.
    let last = evaluated.last().expect("a row");
    assert_eq!(last.iteration, 10);
    let again = repro::eval::evaluate_split(
        net.as_ref(),
        &data,
        repro::data::Split::TrainEval,
        &cfg,
        Layout::ChannelsLast,
        1,
    )
    .expect("evaluates")[0];
    assert_eq!(last.train_eval_error, Some(again.error));
    assert!((last.train_eval_loss.expect("loss") - again.loss).abs() < 1e-6);
    // Off by default: nothing measured, nothing recorded.
    let plain = config(&[]);
    assert!(Dataset::new(&raw, &plain.data, Device::Cpu)
        .expect("d")
        .train_eval
        .is_none());
}
