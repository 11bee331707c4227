//! The ImageNet image-folder path end to end on a tiny generated tree:
//! scale augmentation, 224 crops, ImageNet ResNet-18 (plain and option A), 10-crop test.

#[test]
fn imagenet_folder_smoke_run() {
    let tmp = tempfile::tempdir().expect("tmp");
    let root = tmp.path().join("imagenet");
    imagefolder::testing::write_tree(&root).expect("image tree");
    let out = tmp.path().join("out");
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_resnet-shortcut-options"))
        .args(["--profile", "imagenet-smoke", "--no-estimate", "--data"])
        .arg(&root)
        .arg("--out")
        .arg(&out)
        .output()
        .expect("runs");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(
        err.contains("ImageNet image folder (3 classes, 12 train, 6 val)"),
        "{err}"
    );
    let dir = out.join("imagenet-smoke");
    let rows = repro::metrics::read_parquet(&dir.join("all_runs.parquet")).expect("metrics");
    for run in ["imagenet-plain-18-s1", "imagenet-resnet-18-A-s1"] {
        let r: Vec<_> = rows.iter().filter(|r| r.run_id == run).collect();
        assert_eq!(
            r.iter()
                .filter(|r| r.kind == repro::metrics::RowKind::Window)
                .count(),
            2,
            "{run}"
        );
        let test = r
            .iter()
            .rev()
            .find_map(|r| r.test_error)
            .expect("10-crop test error");
        assert!((0.0..=1.0).contains(&test));
        assert!(r
            .iter()
            .all(|r| r.dataset.starts_with("ImageNet image folder")));
        let cfg = std::fs::read_to_string(dir.join("runs").join(run).join("config.toml"))
            .expect("config");
        assert!(
            cfg.contains("imagenet-folder")
                && cfg.contains("ten-crop")
                && cfg.contains("scale-crop-flip"),
            "{cfg}"
        );
    }
    assert!(dir.join("options.png").exists() && dir.join("report.md").exists());
    // Without --data the path says what it needs.
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_resnet-shortcut-options"))
        .args(["--profile", "imagenet-smoke", "--no-estimate", "--out"])
        .arg(tmp.path().join("out2"))
        .output()
        .expect("runs");
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("--data /path/to/imagenet"));
}
