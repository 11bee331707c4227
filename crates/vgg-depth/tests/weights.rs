//! Runs initialised from net A's saved weights (Sec. 3.1) start only from the
//! weights net A wrote: a changed file, or one whose digest was never
//! recorded, is refused before the run's directory is written.
use std::path::Path;
use std::process::{Command, Output};

/// The binary on generated data in the smoke profile, training only `runs`.
fn run(tmp: &Path, data: &Path, runs: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vgg-depth"))
        .args([
            "--profile",
            "smoke",
            "--no-estimate",
            "--no-report",
            "--runs",
            runs,
        ])
        .arg("--data")
        .arg(data)
        .arg("--data-dir")
        .arg(tmp.join("cache"))
        .arg("--out")
        .arg(tmp.join("out"))
        .output()
        .expect("the binary runs")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn runs_from_net_a_refuse_weights_changed_or_unverifiable() {
    let tmp = tempfile::tempdir().expect("tmp");
    let data = repro::testing::tiny_cifar(&tmp.path().join("data"), 200, 200).expect("data");
    let a = run(tmp.path(), &data, "vgg-a");
    assert!(a.status.success(), "vgg-a:\n{}", stderr(&a));
    let runs = tmp.path().join("out/smoke/runs");
    let a_dir = runs.join("vgg-a-s1");
    let weights = a_dir.join("final-weights.safetensors");
    let status_path = a_dir.join("status.json");
    let (good_weights, good_status) = (
        std::fs::read(&weights).expect("weights"),
        std::fs::read(&status_path).expect("status"),
    );
    let status: serde_json::Value = serde_json::from_slice(&good_status).expect("json");
    let written = repro::io::sha256_hex(&good_weights);

    // 4 bytes of the last tensor changed: the file still parses.
    let mut bad = good_weights.clone();
    let n = bad.len();
    for b in &mut bad[n - 8..n - 4] {
        *b ^= 0x5a;
    }
    std::fs::write(&weights, &bad).expect("write");
    let found = repro::io::sha256_hex(&bad);
    let c = run(tmp.path(), &data, "vgg-c");
    let err = stderr(&c);
    assert!(
        !c.status.success(),
        "vgg-c trained from changed weights:\n{err}"
    );
    assert!(
        err.contains(&weights.display().to_string())
            && err.contains(&written)
            && err.contains(&found),
        "{err}"
    );
    assert!(
        !runs.join("vgg-c-s1").exists(),
        "the refused run was written"
    );
    // Net A recorded the digest of its weights as it wrote them.
    assert_eq!(status["final_weights_sha256"], written.as_str());

    // The weights as written, but no digest recorded (an older run).
    std::fs::write(&weights, &good_weights).expect("write");
    let mut older = status.clone();
    older
        .as_object_mut()
        .expect("an object")
        .remove("final_weights_sha256");
    std::fs::write(&status_path, older.to_string()).expect("write");
    let c = run(tmp.path(), &data, "vgg-c");
    let err = stderr(&c);
    assert!(
        !c.status.success(),
        "vgg-c trained from unverifiable weights:\n{err}"
    );
    assert!(
        err.contains("cannot be verified") && err.contains("--runs vgg-a --fresh"),
        "{err}"
    );
    assert!(
        !runs.join("vgg-c-s1").exists(),
        "the refused run was written"
    );

    // As net A wrote them: C trains from them.
    std::fs::write(&status_path, &good_status).expect("write");
    let c = run(tmp.path(), &data, "vgg-c");
    assert!(c.status.success(), "vgg-c:\n{}", stderr(&c));
    assert!(runs.join("vgg-c-s1/status.json").is_file());
}
