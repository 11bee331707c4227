//! `scripts/gpu-queue --package`: what it refuses and what it assembles,
//! with stand-in binaries (copies of a small executable) instead of the
//! torch 2.11 build, so that nothing here needs that hour-long build.
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    records::repo_root()
}

/// The binaries the repository's GPU queue needs: sweep, gpu-check and each
/// experiment its entries name.
fn needed() -> Vec<String> {
    let text = std::fs::read_to_string(root().join("experiments/queues/gpu.toml")).expect("queue");
    let mut exps: Vec<String> = text
        .lines()
        .filter_map(|l| l.strip_prefix("experiment = \""))
        .filter_map(|l| l.split('"').next())
        .map(String::from)
        .collect();
    exps.sort();
    exps.dedup();
    assert!(exps.len() >= 3, "{exps:?}");
    let mut all = vec!["sweep".to_string(), "gpu-check".to_string()];
    all.extend(exps);
    all
}

/// A folder of stand-ins for `names` (each a copy of `true`, a real ELF file
/// that `strip` accepts) and the build's `source-commit`.
fn stand_ins(dir: &Path, names: &[String]) -> PathBuf {
    let bins = dir.join("bins");
    std::fs::create_dir_all(&bins).expect("mkdir");
    let tru = ["/bin/true", "/usr/bin/true"]
        .into_iter()
        .find(|p| Path::new(p).is_file())
        .expect("a `true` binary");
    for n in names {
        std::fs::copy(tru, bins.join(n)).expect("stand-in");
    }
    std::fs::write(bins.join("source-commit"), "0123456789abcdef+dirty\n").expect("commit");
    bins
}

fn package(pkg: &Path, bins: &Path, data: &Path) -> Output {
    let o = Command::new("bash")
        .arg(root().join("scripts/gpu-queue"))
        .arg("--package")
        .arg(pkg)
        .arg("--bin-dir")
        .arg(bins)
        .arg("--data")
        .arg(data)
        .output()
        .expect("bash runs");
    eprintln!("{}", String::from_utf8_lossy(&o.stderr));
    o
}

fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn packaging_refuses_missing_binaries_naming_each_and_writes_nothing() {
    let tmp = tempfile::tempdir().expect("tmp");
    let names = needed();
    // Two missing: the GPU check and the last experiment.
    let present: Vec<String> = names
        .iter()
        .filter(|n| *n != "gpu-check" && Some(*n) != names.last())
        .cloned()
        .collect();
    let bins = stand_ins(tmp.path(), &present);
    let data = tmp.path().join("cifar.tar.gz");
    std::fs::write(&data, b"stand-in").expect("data");
    let pkg = tmp.path().join("pkg");
    let o = package(&pkg, &bins, &data);
    assert_eq!(o.status.code(), Some(1), "{}", err(&o));
    let e = err(&o);
    let last = names.last().expect("names");
    assert!(
        e.contains(&format!("missing in {}: gpu-check {last}", bins.display())),
        "{e}"
    );
    assert!(e.contains("scripts/build-torch211"), "{e}");
    assert!(!pkg.exists());
}

#[test]
fn a_package_holds_what_the_machine_runs_and_its_size_is_checked() {
    let tmp = tempfile::tempdir().expect("tmp");
    let names = needed();
    let bins = stand_ins(tmp.path(), &names);
    let data = tmp.path().join("cifar.tar.gz");
    std::fs::write(&data, vec![7u8; 100_000]).expect("data");
    let pkg = tmp.path().join("pkg");
    let o = package(&pkg, &bins, &data);
    assert!(o.status.success(), "{}", err(&o));
    assert!(
        err(&o).contains("MiB left for the carried output folder"),
        "{}",
        err(&o)
    );
    for f in [
        "run.sh",
        "bin.tar.xz",
        "package.json",
        "Cargo.toml",
        "cifar-10-jpeg.tar.gz",
        "reference.py",
        "experiments/queues/gpu.toml",
        "experiments/resnet-cifar-degradation.toml",
        "experiments/papers/resnet-2015.csv",
        "experiments/cuda-convnet/layers-conv-local-13pct.cfg",
    ] {
        assert!(pkg.join(f).is_file(), "{f} missing");
    }
    let listed = Command::new("tar")
        .arg("-tJf")
        .arg(pkg.join("bin.tar.xz"))
        .output()
        .expect("tar");
    let listed = String::from_utf8_lossy(&listed.stdout);
    let mut got: Vec<&str> = listed.lines().collect();
    got.sort();
    let mut want: Vec<&str> = names.iter().map(String::as_str).collect();
    want.sort();
    assert_eq!(got, want);
    let json = std::fs::read_to_string(pkg.join("package.json")).expect("package.json");
    let v: serde_json::Value = serde_json::from_str(&json).expect("JSON");
    assert_eq!(v["source_commit"], "0123456789abcdef+dirty");
    assert_eq!(v["limit_mib"], 64);
    let syntax = Command::new("bash")
        .arg("-n")
        .arg(pkg.join("run.sh"))
        .status()
        .expect("bash");
    assert!(syntax.success(), "run.sh does not parse");

    // Data that makes the package larger than what may be carried: refused,
    // naming the total and each part, and the earlier package left as it was.
    let big = tmp.path().join("big.tar.gz");
    let f = std::fs::File::create(&big).expect("big");
    f.set_len(70 * 1024 * 1024).expect("sparse file");
    let before = records::testing::snapshot(&pkg);
    let o = package(&pkg, &bins, &big);
    assert_eq!(o.status.code(), Some(1), "{}", err(&o));
    let e = err(&o);
    assert!(e.contains("over the 64 MiB carried to the machine"), "{e}");
    assert!(e.contains("cifar-10-jpeg.tar.gz 70.0 MiB"), "{e}");
    assert!(e.contains("bin.tar.xz "), "{e}");
    assert_eq!(records::testing::snapshot(&pkg), before);
    let leftovers: Vec<_> = std::fs::read_dir(tmp.path())
        .expect("tmp")
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().contains(".tmp."))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}
