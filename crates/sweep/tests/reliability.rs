//! Failures that must not lose results: a corrupted per-run Parquet file in a
//! merge, an output directory on a full disk, a read-only output directory.
mod common;
use common::*;
use std::path::{Path, PathBuf};
use std::process::Command;

#[test]
fn a_truncated_run_parquet_stops_the_merge_and_keeps_the_merged_outputs() {
    let tmp = tempfile::tempdir().expect("tmp");
    let out = tmp.path().join("out");
    finished_sweep(tmp.path(), &out, &[]);
    let dir = out.join("smoke");
    let merged: Vec<_> = [
        "all_runs.parquet",
        "report.md",
        "claims.json",
        "fig6.svg",
        "fig6.png",
    ]
    .iter()
    .map(|f| {
        (
            dir.join(f),
            std::fs::read(dir.join(f)).expect("merged output"),
        )
    })
    .collect();
    let bad = dir.join("runs/plain-20-s1/metrics.parquet");
    let len = std::fs::metadata(&bad).expect("parquet").len();
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(&bad)
        .expect("open");
    f.set_len(len / 2).expect("truncate");
    drop(f);
    let bin = exp_bin();
    let o = out.to_str().unwrap();
    let r = run(
        SWEEP,
        &[
            "merge",
            EXP,
            "--profile",
            "smoke",
            "--bin",
            bin.to_str().unwrap(),
            "--out",
            o,
        ],
    );
    assert_one_line_error(&r, bad.to_str().unwrap());
    assert_intact(&merged);
    // The experiment binary's own redraw says the same.
    let r = run(
        bin.to_str().unwrap(),
        &["--profile", "smoke", "--out", o, "--plot-only"],
    );
    assert_one_line_error(&r, bad.to_str().unwrap());
    assert_intact(&merged);
}

/// A tmpfs mounted on `dir` (root only), unmounted on drop.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(dir: &Path, size: &str) -> Option<Tmpfs> {
        std::fs::create_dir_all(dir).expect("mkdir");
        let r = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .output();
        match r {
            Ok(o) if o.status.success() => Some(Tmpfs(dir.to_path_buf())),
            other => {
                let why = match other {
                    Ok(o) => String::from_utf8_lossy(&o.stderr).trim().to_string(),
                    Err(e) => e.to_string(),
                };
                assert!(
                    !required("REPRO_REQUIRE_TMPFS"),
                    "REPRO_REQUIRE_TMPFS is set but `mount -t tmpfs` failed: {why}"
                );
                eprintln!("skipping: cannot mount a tmpfs ({why}); needs root (scripts/test requires it with REPRO_REQUIRE_TMPFS=1)");
                None
            }
        }
    }

    fn remount_ro(&self) {
        let o = Command::new("mount")
            .args(["-o", "remount,ro"])
            .arg(&self.0)
            .output()
            .expect("mount");
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// Fills the file system of `path` with one file, leaving `leave` bytes free.
fn fill(path: &Path, leave: u64) {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .expect("filler");
    let block = vec![0u8; 64 * 1024];
    loop {
        if let Err(e) = f.write_all(&block) {
            assert_eq!(e.raw_os_error(), Some(28), "ENOSPC expected: {e}");
            break;
        }
    }
    let _ = f.sync_all();
    let len = f.metadata().expect("len").len();
    f.set_len(len.saturating_sub(leave)).expect("truncate");
}

/// The binary with `args` fails on the full disk mounted at `mnt`, naming
/// it, with the `earlier` files intact: with 256 KB left (enough to start, not
/// for a checkpoint: it fails during training), then with none (it stops
/// before training).
fn refused_on_a_full_disk(mnt: &Path, bin: &Path, args: &[&str], earlier: &[(PathBuf, Vec<u8>)]) {
    let mnt_s = mnt.to_str().unwrap();
    for leave in [256 * 1024, 0] {
        fill(&mnt.join("filler"), leave);
        let r = run(bin.to_str().unwrap(), args);
        let e = assert_one_line_error(&r, mnt_s);
        assert!(e.contains("No space left on device"), "{e}");
        assert_intact(earlier);
    }
}

#[test]
fn a_full_or_read_only_output_directory_fails_clearly_and_keeps_earlier_results() {
    let tmp = tempfile::tempdir().expect("tmp");
    // A finished run to pre-fill the small disk with (checkpoints every 10 iterations:
    // the run trained on the full disk then writes a ~2 MB checkpoint early on).
    let sets = ["--set", "train.checkpoint_every=10"];
    let base = tmp.path().join("base");
    finished_sweep(tmp.path(), &base, &sets);
    let mnt = tmp.path().join("small-disk");
    let Some(fs) = Tmpfs::mount(&mnt, "16m") else {
        return;
    };
    let out = mnt.join("results");
    let o = Command::new("cp")
        .arg("-a")
        .arg(&base)
        .arg(&out)
        .status()
        .expect("cp");
    assert!(o.success());
    let earlier = snapshot(&out);
    let bin = exp_bin();
    let data = tmp.path().join("data");
    let cache = tmp.path().join("cache");
    let args = [
        "--profile",
        "smoke",
        "--no-estimate",
        "--device",
        "cpu",
        "--data",
        data.to_str().unwrap(),
        "--data-dir",
        cache.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        sets[0],
        sets[1],
    ];
    let mnt_s = mnt.to_str().unwrap();
    refused_on_a_full_disk(&mnt, &bin, &args, &earlier);

    // Space again: the interrupted run completes, the earlier one is still skipped.
    std::fs::remove_file(mnt.join("filler")).expect("rm filler");
    let r = run(bin.to_str().unwrap(), &args);
    assert!(r.status.success(), "{}", stderr(&r));
    assert!(stderr(&r).contains("1 to train"), "{}", stderr(&r));
    let owned: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    let profile_dir = records::testing::profile_dir_of(bin.to_str().expect("utf-8 path"), &owned);
    let earlier = snapshot(&profile_dir.join("runs"));

    // Read-only (root writes through chmod 555, not through a read-only mount).
    fs.remount_ro();
    let ro_args: Vec<&str> = args
        .iter()
        .copied()
        .chain(["--fresh", "--runs", "resnet-20"])
        .collect();
    let r = run(bin.to_str().unwrap(), &ro_args);
    let e = assert_one_line_error(&r, mnt_s);
    assert!(e.contains("Read-only file system"), "{e}");
    assert_intact(&earlier);
    // A sweep on it fails the same way, before starting any task.
    let r = run(
        SWEEP,
        &[
            EXP,
            "--local",
            "--profile",
            "smoke",
            "--bin",
            bin.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--set",
            "train.iterations=31",
        ],
    );
    let e = assert_one_line_error(&r, mnt_s);
    assert!(e.contains("Read-only file system"), "{e}");
    assert_intact(&earlier);
}
