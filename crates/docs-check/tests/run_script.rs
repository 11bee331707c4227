//! `scripts/run`'s choice of profile when its command line names none: on a
//! machine without a GPU the `quick` profile (shortened), with one line saying
//! so and how to run `paper`; with a GPU the binary's default (`paper`). Both
//! branches through `--print-args`, which prints the command and stops before
//! any set-up or build, so that nothing here needs libtorch or a GPU.
use std::path::Path;
use std::process::Command;

/// `scripts/run --print-args ARGS` with `env` set (and REPRO_ASSUME_GPU and
/// CUDA_VISIBLE_DEVICES unset unless `env` sets them): (status, stdout, stderr).
fn run(args: &[&str], env: &[(&str, &str)], path: Option<&Path>) -> (i32, String, String) {
    let mut cmd = Command::new("bash");
    cmd.arg(docs_check::repo_root().join("scripts/run"))
        .arg("--print-args")
        .args(args)
        .env_remove("REPRO_ASSUME_GPU")
        .env_remove("CUDA_VISIBLE_DEVICES");
    for (k, v) in env {
        cmd.env(k, v);
    }
    if let Some(dir) = path {
        let old = std::env::var("PATH").unwrap_or_default();
        cmd.env("PATH", format!("{}:{old}", dir.display()));
    }
    let o = cmd.output().expect("bash scripts/run");
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (
        o.status.code().unwrap_or(-1),
        text(&o.stdout),
        text(&o.stderr),
    )
}

const BIN: &str = "target/release/resnet-cifar-degradation";

#[test]
fn without_a_gpu_it_runs_quick_and_says_how_to_run_paper() {
    let (status, out, err) = run(&[], &[("REPRO_ASSUME_GPU", "0")], None);
    assert_eq!(status, 0, "{err}");
    assert_eq!(out, format!("{BIN} --profile quick\n"));
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("quick") && err.contains("no GPU"), "{err}");
    assert!(
        err.contains("scripts/run resnet-cifar-degradation --profile paper"),
        "{err}"
    );
}

#[test]
fn with_a_gpu_it_keeps_the_binarys_default_paper() {
    let (status, out, err) = run(&[], &[("REPRO_ASSUME_GPU", "1")], None);
    assert_eq!(status, 0, "{err}");
    assert_eq!(out, format!("{BIN}\n"));
    assert!(
        err.contains("`paper`") && err.contains("--profile quick"),
        "{err}"
    );
}

#[test]
fn a_named_profile_or_device_cpu_decides() {
    for gpu in ["0", "1"] {
        let (_, out, err) = run(
            &["alexnet-lrn", "--profile", "paper"],
            &[("REPRO_ASSUME_GPU", gpu)],
            None,
        );
        assert_eq!(out, "target/release/alexnet-lrn --profile paper\n");
        assert_eq!(err, "");
        let (_, out, _) = run(&["--profile=smoke"], &[("REPRO_ASSUME_GPU", gpu)], None);
        assert_eq!(out, format!("{BIN} --profile=smoke\n"));
    }
    let (_, out, _) = run(&["--device", "cpu"], &[("REPRO_ASSUME_GPU", "1")], None);
    assert_eq!(out, format!("{BIN} --profile quick --device cpu\n"));
    let (status, _, err) = run(&[], &[("REPRO_ASSUME_GPU", "yes")], None);
    assert_eq!(status, 2, "{err}");
}

#[test]
fn the_gpu_is_detected_with_nvidia_smi() {
    let tmp = tempfile::tempdir().expect("tmp");
    let smi = tmp.path().join("nvidia-smi");
    let fake = |listing: &str| {
        std::fs::write(&smi, format!("#!/bin/sh\nprintf '{listing}'\n")).expect("write");
        let mut perm = std::fs::metadata(&smi).expect("meta").permissions();
        std::os::unix::fs::PermissionsExt::set_mode(&mut perm, 0o755);
        std::fs::set_permissions(&smi, perm).expect("chmod");
    };
    fake("GPU 0: NVIDIA H100 80GB HBM3 (UUID: GPU-0)\\n");
    let (_, out, _) = run(&[], &[], Some(tmp.path()));
    assert_eq!(out, format!("{BIN}\n"));
    let (_, out, _) = run(&[], &[("CUDA_VISIBLE_DEVICES", "")], Some(tmp.path()));
    assert_eq!(
        out,
        format!("{BIN} --profile quick\n"),
        "CUDA_VISIBLE_DEVICES hides every GPU"
    );
    fake("");
    let (_, out, _) = run(&[], &[], Some(tmp.path()));
    assert_eq!(out, format!("{BIN} --profile quick\n"));
}
