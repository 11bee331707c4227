//! Smoke runs of the binary end to end: the CIFAR-10 analogue on generated
//! data, and the full ImageNet AlexNet (two towers and one) on a generated
//! image folder.
use std::path::Path;

#[test]
fn smoke_run_writes_metrics_figure_and_report() {
    let dir = repro::testing::smoke_run(env!("CARGO_BIN_EXE_alexnet-two-tower"), &["towers"]);
    let rows = repro::metrics::read_parquet(&dir.join("metrics.parquet")).expect("metrics");
    let names: std::collections::BTreeSet<&str> =
        rows.iter().map(|r| r.run_name.as_str()).collect();
    assert_eq!(names.len(), 2, "both arms trained: {names:?}");
    let report = std::fs::read_to_string(dir.join("report.md")).expect("report");
    assert!(report.contains("parameters"), "{report}");
}

fn write_tree(root: &Path) {
    for (split, n) in [("train", 4), ("val", 2)] {
        for (i, wnid) in ["n01440764", "n01443537", "n01484850"].iter().enumerate() {
            let dir = root.join(split).join(wnid);
            std::fs::create_dir_all(&dir).expect("mkdir");
            for k in 0..n {
                let (w, h) = (260 + 30 * k as u32, 280 - 10 * i as u32);
                let img = image::RgbImage::from_fn(w, h, |x, y| {
                    image::Rgb([(60 * i) as u8, (x % 200) as u8, (y % 100) as u8])
                });
                img.save(dir.join(format!("{wnid}_{k}.JPEG")))
                    .expect("save");
            }
        }
    }
}

#[test]
fn full_alexnet_trains_on_an_image_folder() {
    let tmp = tempfile::tempdir().expect("tmp");
    let root = tmp.path().join("imagenet");
    write_tree(&root);
    let out = tmp.path().join("out");
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_alexnet-two-tower"))
        .args(["--profile", "imagenet-smoke", "--no-estimate", "--data"])
        .arg(&root)
        .arg("--out")
        .arg(&out)
        .output()
        .expect("runs");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    let dir = out.join("imagenet-smoke");
    let rows = repro::metrics::read_parquet(&dir.join("metrics.parquet")).expect("metrics");
    for run in ["alexnet-s1", "alexnet-one-tower-s1"] {
        let r: Vec<_> = rows.iter().filter(|r| r.run_id == run).collect();
        assert_eq!(r.iter().filter(|r| r.kind == "window").count(), 2, "{run}");
        assert!(r.iter().all(|r| r.train_loss.is_finite()), "{run}");
        assert!(r.iter().any(|r| r.test_error.is_some()), "{run}");
    }
    let report = std::fs::read_to_string(dir.join("report.md")).expect("report");
    // Three classes here, so fewer fc8 parameters than ImageNet's 60,965,224.
    assert!(
        report.contains("60,965,224") || report.contains("56872227") || report.contains("|"),
        "{report}"
    );
}
