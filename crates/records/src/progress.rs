//! Progress of a training group, watchable three ways: on a terminal an
//! indicatif bar with ETA; off a terminal (Slurm, CI, nohup) plain lines on
//! stderr, each with a UTC timestamp, iteration/total, lr, training error,
//! images/s and ETA; and, always, every run's own lines appended to
//! `train.log` in its run directory (`tail -f` it, or read it after a crash).
use indicatif::{ProgressBar, ProgressStyle};
use std::fs::File;
use std::io::{IsTerminal, Write};
use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// `eprintln!` for everything a run says while it trains: a closed or full
/// stderr (`... 2>&1 | head`, a terminal gone with its SSH session) drops the
/// line instead of panicking, as `eprintln!` does, and so never ends a run.
/// Its results go to files; stderr is only a view of them.
#[macro_export]
macro_rules! say {
    ($($arg:tt)*) => {
        $crate::progress::say_line(::std::format_args!($($arg)*))
    };
}

/// The line `say!` writes: an `info` event of `tracing` (so `-q`, `-v` and
/// `RUST_LOG` filter it), shown as the bare line by the subscriber
/// [`Verbosity::init`] installs. Before any subscriber is installed (library
/// use, unit tests) it goes straight to stderr. Write errors are ignored
/// either way (see [`say!`]).
pub fn say_line(args: std::fmt::Arguments) {
    if !tracing::dispatcher::has_been_set() {
        let _ = writeln!(std::io::stderr().lock(), "{args}");
        return;
    }
    let line = args.to_string();
    match level_of(&line) {
        tracing::Level::ERROR => tracing::error!(target: "repro", "{line}"),
        tracing::Level::WARN => tracing::warn!(target: "repro", "{line}"),
        _ => tracing::info!(target: "repro", "{line}"),
    }
}

/// The level of a line as the project writes them: `error: ...` an error,
/// `warning: ...` and `NOTE: ...` (a long job, a mismatch the user should
/// see) warnings, anything else information; `-q` keeps the first two.
pub fn level_of(line: &str) -> tracing::Level {
    let l = line.trim_start();
    if l.starts_with("error:") {
        tracing::Level::ERROR
    } else if l.starts_with("warning:") || l.starts_with("NOTE:") {
        tracing::Level::WARN
    } else {
        tracing::Level::INFO
    }
}

/// `-q` / `-v`, the same in every binary: how much a binary says on stderr.
/// `RUST_LOG` (e.g. `RUST_LOG=warn`, `RUST_LOG=repro=debug`) overrides both.
/// Errors are always printed (`exit::finish`), and results go to files
/// whatever the level.
#[derive(clap::Args, Debug, Clone, Copy, Default)]
pub struct Verbosity {
    /// Say only warnings and errors (no progress lines).
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Say more: `-v` debug messages, `-vv` everything.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

impl Verbosity {
    /// The level filter these flags (or `RUST_LOG` where set) give.
    pub fn filter(self, rust_log: Option<&str>) -> String {
        match rust_log.map(str::trim).filter(|s| !s.is_empty()) {
            Some(r) => r.to_string(),
            None if self.quiet => "warn".into(),
            None => match self.verbose {
                0 => "info",
                1 => "debug",
                _ => "trace",
            }
            .into(),
        }
    }

    /// Installs the subscriber every binary logs through: each event on
    /// stderr as its bare message (the lines read as before: timestamps are
    /// in the progress lines themselves), filtered by [`Verbosity::filter`].
    /// A bad `RUST_LOG` is named and the flags' level used instead.
    pub fn init(self) {
        let rust_log = std::env::var("RUST_LOG").ok();
        let filter = tracing_subscriber::EnvFilter::try_new(self.filter(rust_log.as_deref()))
            .unwrap_or_else(|e| {
                let _ = writeln!(
                    std::io::stderr(),
                    "warning: RUST_LOG={}: {e}; using the flags' level",
                    rust_log.unwrap_or_default()
                );
                tracing_subscriber::EnvFilter::new(self.filter(None))
            });
        let _ = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .without_time()
            .with_level(false)
            .with_target(false)
            .with_ansi(false)
            // A closed stderr (`... 2>&1 | head`) drops the line, as `say!`
            // always has: tracing-subscriber would report the failed write
            // with `eprintln!`, which panics on that same stderr.
            .log_internal_errors(false)
            .try_init();
    }
}

/// Whether progress (the bar, plain lines) is shown: at the `info` level, or
/// where no subscriber is installed (`-q` hides it).
pub fn progress_shown() -> bool {
    !tracing::dispatcher::has_been_set() || tracing::enabled!(target: "repro", tracing::Level::INFO)
}

/// The log every run appends its progress to, in its run directory.
pub const LOG_FILE: &str = "train.log";

/// Off a terminal, a window's line goes to stderr at most this often (epoch
/// ends, evaluations and messages always); `train.log` gets every window.
const PLAIN_EVERY: Duration = Duration::from_secs(30);

/// One logging window as progress shows it. Per-run values are in the
/// group's run order.
#[derive(Debug, Clone, Copy)]
pub struct Tick<'a> {
    pub iteration: u64,
    /// Iterations / iterations per epoch.
    pub epoch: f64,
    pub lr: f64,
    /// Training error of the window, per run (fractions).
    pub train_error: &'a [f64],
    /// Test error where the window ended in an evaluation, per run (empty: none).
    pub test_error: &'a [Option<f64>],
    /// Each run's own training images per second over the window.
    pub images_per_sec: f64,
    /// The window ends an epoch (its line is then always printed).
    pub epoch_end: bool,
}

pub struct Progress {
    bar: Option<ProgressBar>,
    /// Plain lines on stderr (shown, and stderr is not a terminal).
    plain: bool,
    label: String,
    total: u64,
    start: u64,
    started: Instant,
    last_plain: Mutex<Option<Instant>>,
    /// Each run's id and its `train.log` (None where it could not be opened).
    logs: Vec<(String, Option<File>)>,
}

impl Progress {
    /// Progress of the group `label` (its runs `runs`: id and run directory)
    /// from iteration `start` to `total`. `show`: on stderr (a bar on a
    /// terminal, plain lines otherwise); the logs are written either way.
    pub fn new(label: &str, total: u64, start: u64, show: bool, runs: &[(String, &Path)]) -> Self {
        let terminal = std::io::stderr().is_terminal();
        let show = show && progress_shown();
        let bar = (show && terminal).then(|| {
            let b = ProgressBar::new(total);
            b.set_style(
                ProgressStyle::with_template(
                    "{prefix:>16} [{bar:30}] {pos}/{len} it  {msg}  eta {eta}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
            );
            b.set_prefix(label.to_string());
            b.set_position(start);
            b
        });
        let logs = runs
            .iter()
            .map(|(id, dir)| (id.clone(), open_log(&dir.join(LOG_FILE))))
            .collect();
        Self {
            bar,
            plain: show && !terminal,
            label: label.into(),
            total,
            start,
            started: Instant::now(),
            last_plain: Mutex::new(None),
            logs,
        }
    }

    /// Estimated time to the last iteration at the rate since this started.
    fn eta(&self, iteration: u64) -> String {
        let done = iteration.saturating_sub(self.start);
        if done == 0 {
            return "?".into();
        }
        let per_it = self.started.elapsed().as_secs_f64() / done as f64;
        human_duration(per_it * self.total.saturating_sub(iteration) as f64)
    }

    /// One logging window: the bar moves; off a terminal a line (at most every
    /// `PLAIN_EVERY`, always at an evaluation or an epoch's end); each run's
    /// line to its log.
    pub fn window(&self, t: &Tick) {
        let eta = self.eta(t.iteration);
        let head = format!(
            "it {}/{} ({:.1}%) epoch {:.2} lr {:.4}",
            t.iteration,
            self.total,
            100.0 * t.iteration as f64 / self.total.max(1) as f64,
            t.epoch,
            t.lr
        );
        for (i, (id, _)) in self.logs.iter().enumerate() {
            let train = t
                .train_error
                .get(i)
                .map(std::slice::from_ref)
                .unwrap_or(&[]);
            let test: Vec<f64> = t.test_error.get(i).copied().flatten().into_iter().collect();
            let ips = t.images_per_sec;
            let errs = errors(train, &test);
            self.log(i, &format!("[{id}] {head} {errs} {ips:.0} img/s eta {eta}"));
        }
        // The group's: its runs' errors side by side, its total throughput.
        let tests: Vec<f64> = t.test_error.iter().flatten().copied().collect();
        let errs = errors(t.train_error, &tests);
        let ips = t.train_error.len().max(1) as f64 * t.images_per_sec;
        if let Some(b) = &self.bar {
            b.set_position(t.iteration);
            b.set_message(format!("lr {:.4} {errs} {ips:.0} img/s", t.lr));
        } else if self.plain && self.plain_due(t.epoch_end || !tests.is_empty()) {
            say!(
                "{} [{}] {head} {errs} {ips:.0} img/s eta {eta}",
                timestamp(SystemTime::now()),
                self.label
            );
        }
    }

    /// Whether a plain line is due now (and if so, notes that it was printed).
    fn plain_due(&self, always: bool) -> bool {
        let mut last = self.last_plain.lock().unwrap_or_else(|e| e.into_inner());
        let due = always || last.is_none_or(|l| l.elapsed() >= PLAIN_EVERY);
        if due {
            *last = Some(Instant::now());
        }
        due
    }

    /// An epoch's end: one line per run to its log, the group's on stderr.
    pub fn epoch(&self, line: &str, per_run: &[String]) {
        for (i, run_line) in per_run.iter().enumerate() {
            let id = self.logs.get(i).map(|l| l.0.as_str()).unwrap_or("");
            self.log(i, &format!("[{id}] {run_line}"));
        }
        match &self.bar {
            Some(b) => b.set_message(line.to_string()),
            None if self.plain => {
                say!("{} [{}] {line}", timestamp(SystemTime::now()), self.label);
            }
            None => {}
        }
    }

    /// A message (a stop, a divergence): on stderr when shown, in every log.
    pub fn println(&self, line: &str) {
        for i in 0..self.logs.len() {
            self.log(i, line);
        }
        match &self.bar {
            Some(b) => b.println(line),
            None if self.plain => say!("{} {line}", timestamp(SystemTime::now())),
            None => {}
        }
    }

    /// A line for the logs only (how the run started).
    pub fn log_all(&self, line: &str) {
        for i in 0..self.logs.len() {
            self.log(i, line);
        }
    }

    fn log(&self, run: usize, line: &str) {
        if let Some((_, Some(f))) = self.logs.get(run) {
            write_line(f, line);
        }
    }

    pub fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}

/// `train err 12.5%/13.0% test err 20.1%/19.8%` (test part only where evaluated).
fn errors(train: &[f64], test: &[f64]) -> String {
    let join = |v: &[f64]| {
        v.iter()
            .map(|e| format!("{:.1}%", 100.0 * e))
            .collect::<Vec<_>>()
            .join("/")
    };
    if test.is_empty() {
        format!("train err {}", join(train))
    } else {
        format!("train err {} test err {}", join(train), join(test))
    }
}

fn open_log(path: &Path) -> Option<File> {
    if let Some(dir) = path.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    match std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
    {
        Ok(f) => Some(f),
        Err(e) => {
            say!(
                "warning: {}: {e}; training goes on without it",
                path.display()
            );
            None
        }
    }
}

/// Appends `<timestamp> <line>` as one write (whole lines even if two
/// processes append, which a run's lock prevents anyway).
fn write_line(mut f: &File, line: &str) {
    let text = format!("{} {line}\n", timestamp(SystemTime::now()));
    // A full disk must not stop training: the metrics and checkpoints report it.
    let _ = f.write_all(text.as_bytes());
}

/// Appends one timestamped line to the `train.log` in `run_dir`.
pub fn append_log(run_dir: &Path, line: &str) {
    if let Some(f) = open_log(&run_dir.join(LOG_FILE)) {
        write_line(&f, line);
    }
}

/// `t` as RFC 3339 in UTC to the second: `2025-03-01T14:05:09Z`.
pub fn timestamp(t: SystemTime) -> String {
    let secs = t
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let (days, s) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        s / 3600,
        s % 3600 / 60,
        s % 60
    )
}

/// The proleptic Gregorian date of a day count since 1970-01-01 (H. Hinnant's
/// `civil_from_days`).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// `0:04:05`, `12:00:00`, `3d 04:05:06`; `?` when not finite.
pub fn human_duration(secs: f64) -> String {
    if !secs.is_finite() || secs < 0.0 {
        return "?".into();
    }
    let s = secs.round() as u64;
    let (d, h, m, s) = (s / 86_400, s % 86_400 / 3600, s % 3600 / 60, s % 60);
    if d > 0 {
        format!("{d}d {h:02}:{m:02}:{s:02}")
    } else {
        format!("{h}:{m:02}:{s:02}")
    }
}

#[cfg(test)]
mod verbosity_tests {
    use super::Verbosity;

    #[test]
    fn flags_give_the_level_and_rust_log_overrides_them() {
        let v = |quiet, verbose| Verbosity { quiet, verbose };
        assert_eq!(v(false, 0).filter(None), "info");
        assert_eq!(v(true, 0).filter(None), "warn");
        assert_eq!(v(false, 1).filter(None), "debug");
        assert_eq!(v(false, 3).filter(None), "trace");
        assert_eq!(v(true, 0).filter(Some("repro=debug")), "repro=debug");
        assert_eq!(
            v(true, 0).filter(Some("  ")),
            "warn",
            "an empty RUST_LOG is unset"
        );
    }

    #[test]
    fn errors_and_warnings_keep_their_level_under_quiet() {
        use tracing::Level;
        assert_eq!(super::level_of("error: bad key"), Level::ERROR);
        assert_eq!(super::level_of("warning: threads differ"), Level::WARN);
        assert_eq!(super::level_of("NOTE: the `paper` profile"), Level::WARN);
        assert_eq!(super::level_of("  total: 3 min on Cpu"), Level::INFO);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_utc_rfc3339() {
        let at = |s: u64| timestamp(UNIX_EPOCH + Duration::from_secs(s));
        assert_eq!(at(0), "1970-01-01T00:00:00Z");
        assert_eq!(at(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(at(1_700_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(at(4_107_542_399), "2100-02-28T23:59:59Z");
    }

    #[test]
    fn durations_read_as_clock_times() {
        assert_eq!(human_duration(245.0), "0:04:05");
        assert_eq!(human_duration(43_200.0), "12:00:00");
        assert_eq!(human_duration(3.0 * 86_400.0 + 14_706.0), "3d 04:05:06");
        assert_eq!(human_duration(f64::INFINITY), "?");
    }

    #[test]
    fn every_window_goes_to_each_runs_log() {
        let tmp = tempfile::tempdir().expect("tmp");
        let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
        std::fs::create_dir_all(&a).expect("mkdir");
        std::fs::create_dir_all(&b).expect("mkdir");
        let runs = [
            ("x-s1".to_string(), a.as_path()),
            ("x-s2".into(), b.as_path()),
        ];
        let p = Progress::new("x-s1+x-s2", 100, 0, false, &runs);
        p.log_all("start");
        for it in [10, 20] {
            p.window(&Tick {
                iteration: it,
                epoch: it as f64 / 50.0,
                lr: 0.1,
                train_error: &[0.5, 0.25],
                test_error: &[Some(0.6), Some(0.7)],
                images_per_sec: 1234.0,
                epoch_end: false,
            });
        }
        let log = std::fs::read_to_string(b.join(LOG_FILE)).expect("log");
        let lines: Vec<&str> = log.lines().collect();
        assert_eq!(lines.len(), 3, "{log}");
        assert!(lines[2].contains("[x-s2] it 20/100 (20.0%) epoch 0.40 lr 0.1000 train err 25.0% test err 70.0% 1234 img/s eta "), "{log}");
        assert!(lines
            .iter()
            .all(|l| l.as_bytes()[10] == b'T' && l[..20].ends_with('Z')));
    }
}
