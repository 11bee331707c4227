//! The nightly binary on hand-made results (no training: `--compare-only`,
//! or stand-in experiment binaries from `--bin-dir` that copy prepared
//! results): every baseline file is checked before anything trains, a
//! baseline on other data is refused unless `--cross-dataset` labels the
//! comparison, and a closed stderr loses no output.
mod common;
use common::{write_results, JPEG, OFFICIAL};
use nightly::state::State;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const NIGHTLY: &str = env!("CARGO_BIN_EXE_nightly");
const EXPERIMENTS: [&str; 2] = ["alexnet-lrn", "resnet-cifar-degradation"];
const RUNS: [(&str, u64, f64); 2] = [("a", 1, 30.0), ("b", 1, 40.0)];
const CLAIMS: [(&str, &str, f64, f64, u32); 1] = [("1", "pass", 10.0, 0.0, 1)];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn nightly(args: &[&str], dirs: &[(&str, &Path)]) -> Command {
    let mut c = Command::new(NIGHTLY);
    c.args(["--profile", "quick"]).args(args);
    for (flag, dir) in dirs {
        c.arg(flag).arg(dir);
    }
    c.current_dir(root()).env_remove("GITHUB_STEP_SUMMARY");
    c
}

fn run(mut c: Command) -> Output {
    let o = c.output().expect("nightly runs");
    eprintln!("{}", String::from_utf8_lossy(&o.stderr));
    o
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// A finished nightly directory of `experiments` (what --compare-only reads).
fn nightly_dir(dir: &Path, experiments: &[&str]) {
    std::fs::create_dir_all(dir).expect("mkdir");
    let st = State {
        commit: "abc".into(),
        profile: "quick".into(),
        baseline: "b".into(),
        experiments: experiments.iter().map(|e| e.to_string()).collect(),
        started_unix: 0,
        finished: true,
        exit_code: Some(0),
        seconds: Default::default(),
        cross_dataset: Vec::new(),
    };
    st.write(dir).expect("nightly.json");
}

/// Stand-in experiment binaries in `<t>/bin`: each records that it ran (in
/// `<t>/ran/`) and copies `<t>/template/<experiment>/` into its `--out`.
fn stand_ins(t: &Path) -> PathBuf {
    let bin = t.join("bin");
    std::fs::create_dir_all(&bin).expect("mkdir");
    std::fs::create_dir_all(t.join("ran")).expect("mkdir");
    for e in EXPERIMENTS {
        let script = format!(
            "#!/bin/sh\ntouch '{ran}/{e}'\nout=''; profile=''\nwhile [ $# -gt 0 ]; do case \"$1\" in --out) out=$2; shift;; --profile) profile=$2; shift;; esac; shift; done\nmkdir -p \"$out/$profile\" && cp -R '{tpl}/{e}/.' \"$out/$profile/\"\n",
            ran = t.join("ran").display(),
            tpl = t.join("template").display(),
        );
        let p = bin.join(e);
        std::fs::write(&p, script).expect("write");
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }
    bin
}

fn ran(t: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(t.join("ran"))
        .expect("ran/")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn a_closed_stderr_loses_no_output() {
    let t = tempfile::tempdir().expect("tmp");
    let (b, f) = (t.path().join("b"), t.path().join("f"));
    write_results(&b.join("alexnet-lrn/quick"), JPEG, &RUNS, &CLAIMS);
    write_results(&f.join("alexnet-lrn/quick"), JPEG, &RUNS, &CLAIMS);
    nightly_dir(&f, &["alexnet-lrn"]);
    // `nightly ... 2>&1 | head -2` once head has exited: every write fails.
    let (reader, writer) = std::io::pipe().expect("pipe");
    drop(reader);
    let mut c = nightly(&["--compare-only"], &[("--baseline", &b), ("--out", &f)]);
    c.stdout(writer.try_clone().expect("dup")).stderr(writer);
    let status = c.status().expect("nightly runs");
    assert_eq!(status.code(), Some(0), "{status}");
    let st = State::read(&f).expect("nightly.json");
    assert!(st.finished && st.exit_code == Some(0), "{st:?}");
    assert!(read(&f.join("comparison.json")).contains("\"compared\""));
    assert!(read(&f.join("SUMMARY.md")).contains("| alexnet-lrn | held ("));
}

#[test]
fn a_baseline_on_other_data_exits_2_unless_compared_across_datasets() {
    let t = tempfile::tempdir().expect("tmp");
    let (b, f) = (t.path().join("b"), t.path().join("f"));
    // The committed baselines' copy against the official release (the CI
    // job without ../shared), numbers equal.
    write_results(&b.join("alexnet-lrn/quick"), JPEG, &RUNS, &CLAIMS);
    write_results(&f.join("alexnet-lrn/quick"), OFFICIAL, &RUNS, &CLAIMS);
    nightly_dir(&f, &["alexnet-lrn"]);
    let dirs = [("--baseline", b.as_path()), ("--out", f.as_path())];
    let o = run(nightly(&["--compare-only"], &dirs));
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("OTHER DATA") && err.contains(JPEG.0) && err.contains(OFFICIAL.1),
        "{err}"
    );
    let st = State::read(&f).expect("nightly.json");
    assert!(st.finished && st.exit_code == Some(2) && st.cross_dataset.is_empty());
    // Only the baseline's sha256 edited: refused as well.
    write_results(
        &b.join("alexnet-lrn/quick"),
        (OFFICIAL.0, JPEG.1),
        &RUNS,
        &CLAIMS,
    );
    let o = run(nightly(&["--compare-only"], &dirs));
    assert_eq!(o.status.code(), Some(2));
    // --cross-dataset: compared and labelled in nightly.json,
    // comparison.json, SUMMARY.md and on stderr.
    write_results(&b.join("alexnet-lrn/quick"), JPEG, &RUNS, &CLAIMS);
    let o = run(nightly(&["--compare-only", "--cross-dataset"], &dirs));
    assert_eq!(o.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&o.stderr).contains("CROSS-DATASET comparison"));
    let st = State::read(&f).expect("nightly.json");
    assert_eq!(st.cross_dataset, ["alexnet-lrn"]);
    let cmp: serde_json::Value =
        serde_json::from_str(&read(&f.join("comparison.json"))).expect("json");
    assert_eq!(cmp[0]["cross_dataset"]["baseline"]["names"][0], JPEG.0);
    let summary = read(&f.join("SUMMARY.md"));
    assert!(
        summary.contains("**CROSS-DATASET comparison**")
            && summary.contains("**CROSS-DATASET**: baseline on"),
        "{summary}"
    );
}

#[test]
fn the_nightly_trains_no_further_experiment_after_one_on_other_data() {
    let t = tempfile::tempdir().expect("tmp");
    let b = t.path().join("b");
    for e in EXPERIMENTS {
        write_results(&b.join(e).join("quick"), JPEG, &RUNS, &CLAIMS);
        write_results(&t.path().join("template").join(e), OFFICIAL, &RUNS, &CLAIMS);
    }
    let bin = stand_ins(t.path());
    let out = t.path().join("n");
    let only = EXPERIMENTS.join(",");
    let o = run(nightly(
        &["--only", &only],
        &[("--baseline", &b), ("--out", &out), ("--bin-dir", &bin)],
    ));
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(ran(t.path()), [EXPERIMENTS[0]]);
    let summary = read(&out.join("SUMMARY.md"));
    assert!(
        summary.contains("**OTHER DATA**") && summary.contains("**NOT RUN**"),
        "{summary}"
    );
    // With --cross-dataset both train and compare.
    let out = t.path().join("n2");
    let o = run(nightly(
        &["--only", &only, "--cross-dataset"],
        &[("--baseline", &b), ("--out", &out), ("--bin-dir", &bin)],
    ));
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(State::read(&out).expect("state").cross_dataset, EXPERIMENTS);
}

#[test]
fn a_bad_baseline_file_stops_the_nightly_before_anything_trains() {
    let t = tempfile::tempdir().expect("tmp");
    let b = t.path().join("b");
    for e in EXPERIMENTS {
        write_results(&b.join(e).join("quick"), JPEG, &RUNS, &CLAIMS);
        write_results(&t.path().join("template").join(e), JPEG, &RUNS, &CLAIMS);
    }
    let bin = stand_ins(t.path());
    let only = EXPERIMENTS.join(",");
    let out = t.path().join("n");
    let dirs = [
        ("--baseline", b.as_path()),
        ("--out", &out),
        ("--bin-dir", &bin),
    ];
    // The second experiment's claims.json cut short; then a run's provenance gone.
    let claims = b.join(EXPERIMENTS[1]).join("quick/claims.json");
    let text = read(&claims);
    std::fs::write(&claims, &text[..text.len() / 2]).expect("write");
    let prov = b
        .join(EXPERIMENTS[0])
        .join("quick/runs/a-s1/provenance.json");
    let refused = |bad: &Path| {
        let o = run(nightly(&["--only", &only], &dirs));
        assert_eq!(o.status.code(), Some(2));
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(&bad.display().to_string()), "{err}");
        assert!(ran(t.path()).is_empty(), "trained: {:?}", ran(t.path()));
        assert!(!out.exists(), "the nightly's directory was created");
    };
    refused(&claims);
    std::fs::write(&claims, &text).expect("restore");
    std::fs::remove_file(&prov).expect("rm");
    refused(&prov);
    // Restored, it trains both.
    write_results(&b.join(EXPERIMENTS[0]).join("quick"), JPEG, &RUNS, &CLAIMS);
    let o = run(nightly(&["--only", &only], &dirs));
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(ran(t.path()), EXPERIMENTS);
}
