//! Shared by the sweep tests: the binaries, generated data, running commands.
#![allow(dead_code)]
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub const SWEEP: &str = env!("CARGO_BIN_EXE_sweep");
pub const EXP: &str = "resnet-cifar-degradation";

/// The experiment binary the sweeps run: beside `sweep` (built by
/// `cargo test --workspace`), or `REPRO_SWEEP_EXP_BIN`.
pub fn exp_bin() -> PathBuf {
    let p = std::env::var_os("REPRO_SWEEP_EXP_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(SWEEP).with_file_name(EXP));
    assert!(
        p.is_file(),
        "{} missing: run `cargo build --release -p {EXP}` (cargo test --workspace builds it)",
        p.display()
    );
    p
}

/// A tiny generated CIFAR-10 (random pixels) under `dir`.
pub fn data(dir: &Path) -> PathBuf {
    records::testing::tiny_cifar(&dir.join("data"), 200, 200).expect("generate data")
}

pub fn run(cmd: &str, args: &[&str]) -> Output {
    let o = Command::new(cmd).args(args).output().expect("runs");
    eprintln!(
        "$ {cmd} {}\n{}",
        args.join(" "),
        String::from_utf8_lossy(&o.stderr)
    );
    o
}

/// The flags naming a sweep's inputs and outputs: the experiment binary, the
/// generated data, its decode cache and the results directory.
pub fn io_args<'a>(bin: &'a Path, data: &'a Path, cache: &'a Path, out: &'a Path) -> Vec<&'a str> {
    let s = |p: &'a Path| p.to_str().expect("UTF-8 path");
    vec![
        "--bin",
        s(bin),
        "--data",
        s(data),
        "--data-dir",
        s(cache),
        "--out",
        s(out),
    ]
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}

#[allow(unused_imports)]
pub use records::testing::snapshot;

/// Asserts each file of `before` still has its bytes.
pub fn assert_intact(before: &[(PathBuf, Vec<u8>)]) {
    for (p, bytes) in before {
        let now = std::fs::read(p).unwrap_or_else(|e| panic!("{} lost: {e}", p.display()));
        assert!(now == *bytes, "{} changed", p.display());
    }
}

/// A failure reported the project's way: non-zero exit, one `error:` line naming `what`, no panic.
pub fn assert_one_line_error(o: &Output, what: &str) -> String {
    let e = stderr(o);
    assert!(!o.status.success(), "should fail: {e}");
    assert!(!e.contains("panicked"), "{e}");
    let errors: Vec<&str> = e.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(errors.len(), 1, "one error line: {e}");
    let last = e.lines().rfind(|l| !l.trim().is_empty()).unwrap_or("");
    assert!(
        last.starts_with("error:"),
        "the error is the last line: {e}"
    );
    assert!(last.contains(what), "the error should name {what}: {last}");
    last.to_string()
}

/// Whether `var` is set to a non-empty value other than 0.
pub fn required(var: &str) -> bool {
    std::env::var(var).is_ok_and(|v| !v.is_empty() && v != "0")
}

/// A local CPU sweep of the smoke `plain-20` run into `out`, on data
/// generated under `tmp` (decode cache `tmp/cache`).
pub fn smoke_sweep_args(tmp: &Path, out: &Path) -> Vec<String> {
    let data = data(tmp);
    let bin = exp_bin();
    let cache = tmp.join("cache");
    let mut args: Vec<String> = [
        EXP,
        "--local",
        "--device",
        "cpu",
        "--profile",
        "smoke",
        "--runs",
        "plain-20",
    ]
    .map(String::from)
    .to_vec();
    args.extend(
        io_args(&bin, &data, &cache, out)
            .into_iter()
            .map(String::from),
    );
    args
}

/// Trains the smoke `plain-20` run (with `extra` flags) into `out` and merges it.
pub fn finished_sweep(tmp: &Path, out: &Path, extra: &[&str]) {
    let mut args = smoke_sweep_args(tmp, out);
    args.extend(extra.iter().map(|s| s.to_string()));
    let r = run(SWEEP, &args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(r.status.success(), "{}", stderr(&r));
}

/// Flags that make the smoke runs train far longer than a test waits (so a
/// signal finds them training) and stop at a signal within 5 iterations.
pub const LONG_RUN: [&str; 6] = [
    "--set",
    "train.iterations=100000",
    "--set",
    "train.eval_every=1000",
    "--set",
    "train.checkpoint_every=1000",
];

/// Waits until `path` contains `text` `times` times (panics after 5 minutes).
pub fn wait_for_text(path: &Path, text: &str, times: usize) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(300);
    loop {
        let now = std::fs::read_to_string(path).unwrap_or_default();
        if now.matches(text).count() >= times {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{} never said `{text}` {times} time(s):\n{now}",
            path.display()
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

/// Waits for `child` to exit (kills it and panics after 5 minutes).
pub fn wait_exit(child: &mut std::process::Child) -> std::process::ExitStatus {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(300);
    loop {
        if let Some(s) = child.try_wait().expect("wait") {
            return s;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("process {} did not exit", child.id());
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

/// Sends `sig` to process `pid` (a negative pid: to its process group).
pub fn signal(pid: i32, sig: i32) {
    // SAFETY: kill(2) touches no memory of this process.
    let r = unsafe { libc::kill(pid, sig) };
    assert_eq!(r, 0, "kill({pid}, {sig})");
}

/// The processes whose parent is `pid` (from /proc).
pub fn children_of(pid: u32) -> Vec<u32> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").expect("/proc").flatten() {
        let Ok(stat) = std::fs::read_to_string(e.path().join("stat")) else {
            continue;
        };
        // `pid (comm) state ppid ...`; comm may hold spaces and parentheses.
        let Some(rest) = stat.rfind(')').map(|i| &stat[i + 1..]) else {
            continue;
        };
        let ppid = rest.split_whitespace().nth(1).and_then(|p| p.parse().ok());
        if ppid == Some(pid) {
            if let Some(p) = e.file_name().to_str().and_then(|s| s.parse().ok()) {
                out.push(p);
            }
        }
    }
    out
}

/// Stderr of a process, sent to a file: the file.
pub fn stderr_file(dir: &Path, name: &str) -> (PathBuf, std::fs::File) {
    let p = dir.join(name);
    let f = std::fs::File::create(&p).expect("stderr file");
    (p, f)
}
