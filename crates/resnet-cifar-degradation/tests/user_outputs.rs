//! A user's commands never change a committed file: in a clone of this
//! repository (its committed state), the README's commands for a user — train
//! a profile without `--out`, redraw without `--profile` — write only under the
//! git-ignored `out/`, and `git status` stays clean, `results/` included.
use std::path::Path;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_resnet-cifar-degradation");

fn git(dir: &Path, args: &[&str]) -> String {
    let o = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .expect("git runs");
    assert!(
        o.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn a_users_runs_and_redraws_leave_the_committed_tree_clean() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    if !root.join(".git").exists() {
        eprintln!("skipped: not a git checkout");
        return;
    }
    let tmp = tempfile::tempdir().expect("tmp");
    let clone = tmp.path().join("clone");
    let o = Command::new("git")
        .args(["clone", "--quiet", "--no-hardlinks"])
        .arg(&root)
        .arg(&clone)
        .output()
        .expect("git clone");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let data = repro::testing::tiny_cifar(&tmp.path().join("data"), 40, 40).expect("data");
    let cache = tmp.path().join("cache");
    let run = |extra: &[&str]| {
        let o = Command::new(BIN)
            .current_dir(&clone)
            .args(["--data", data.to_str().expect("utf-8")])
            .args(["--data-dir", cache.to_str().expect("utf-8")])
            .args(["--device", "cpu", "--no-estimate"])
            .args(extra)
            .output()
            .expect("the binary runs");
        assert!(
            o.status.success(),
            "{extra:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    };
    run(&["--profile", "smoke"]);
    run(&["--plot-only"]);
    assert!(
        clone
            .join("out/resnet-cifar-degradation/smoke/report.md")
            .is_file(),
        "the user's run did not land in out/"
    );
    let status = git(&clone, &["status", "--porcelain", "--untracked-files=all"]);
    assert!(
        status.is_empty(),
        "a user's commands changed the tree:\n{status}"
    );
}
