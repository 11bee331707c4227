//! The queue file (`experiments/queues/*.toml`): paper-budget runs as data,
//! ordered by value, each entry one invocation of an experiment binary
//! (its runs and seeds, so that seeds can train fused).
//!
//! ```toml
//! [queue]
//! description = "..."
//! fuse_seeds = "auto"          # default of every entry
//!
//! [[entry]]
//! experiment = "resnet-cifar-degradation"
//! profile = "paper"
//! runs = ["resnet-20"]
//! seeds = [1, 2, 3]
//! why = "Table 6's ResNet-20 row"
//! # optional: fuse_seeds = "on" | "off" | "auto", fuse_max = 2, set = ["key=value"]
//! ```
use records::exit::BadInput;
use serde::Deserialize;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    queue: Header,
    #[serde(default, rename = "entry")]
    entries: Vec<Entry>,
}

/// `[queue]`: what the queue is for, and the defaults of its entries.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Header {
    pub description: String,
    /// `--fuse-seeds` of entries that do not say (`auto`: fused on a GPU where
    /// the driver's timing probe shows a gain).
    #[serde(default = "auto")]
    pub fuse_seeds: String,
}

fn auto() -> String {
    "auto".into()
}

/// `[[entry]]`: one invocation of an experiment binary.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    pub experiment: String,
    pub profile: String,
    /// Run names of the profile (a trailing `*` matches a prefix, as `--runs`).
    pub runs: Vec<String>,
    pub seeds: Vec<u64>,
    /// Why it is in the queue, and at this place.
    pub why: String,
    /// `--set` overrides (the runs then go to a profile directory of their own).
    #[serde(default)]
    pub set: Vec<String>,
    #[serde(default)]
    pub fuse_seeds: Option<String>,
    #[serde(default)]
    pub fuse_max: Option<usize>,
}

impl Entry {
    /// `--runs` as the binary takes it.
    pub fn runs_arg(&self) -> String {
        self.runs.join(",")
    }

    pub fn seeds_arg(&self) -> String {
        self.seeds
            .iter()
            .map(u64::to_string)
            .collect::<Vec<_>>()
            .join(",")
    }

    /// `resnet-cifar-degradation paper resnet-20 seeds 1,2,3`.
    pub fn label(&self) -> String {
        format!(
            "{} {} {} seeds {}",
            self.experiment,
            self.profile,
            self.runs_arg(),
            self.seeds_arg()
        )
    }
}

/// A parsed and checked queue file.
#[derive(Debug, Clone)]
pub struct Queue {
    pub path: PathBuf,
    pub header: Header,
    pub entries: Vec<Entry>,
}

const FUSE_MODES: [&str; 3] = ["auto", "on", "off"];

fn bad(path: &Path, msg: String) -> anyhow::Error {
    BadInput(format!("{}: {msg}", path.display())).into()
}

/// A name that goes into paths and onto command lines as one word.
fn plain(s: &str) -> bool {
    !s.is_empty()
        && !s.starts_with('.')
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.*".contains(c))
}

impl Queue {
    pub fn load(path: &Path) -> anyhow::Result<Queue> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| bad(path, format!("cannot read the queue file: {e}")))?;
        Self::parse(&text, path)
    }

    pub fn parse(text: &str, path: &Path) -> anyhow::Result<Queue> {
        let raw: Raw = toml::from_str(text).map_err(|e| bad(path, e.message().to_string()))?;
        if raw.entries.is_empty() {
            return Err(bad(path, "no [[entry]]: the queue is empty".into()));
        }
        if !FUSE_MODES.contains(&raw.queue.fuse_seeds.as_str()) {
            return Err(bad(
                path,
                format!(
                    "[queue] fuse_seeds = \"{}\": one of auto, on, off",
                    raw.queue.fuse_seeds
                ),
            ));
        }
        for (i, e) in raw.entries.iter().enumerate() {
            check_entry(e)
                .map_err(|m| bad(path, format!("entry {} ({}): {m}", i + 1, e.experiment)))?;
        }
        Ok(Queue {
            path: path.to_path_buf(),
            header: raw.queue,
            entries: raw.entries,
        })
    }

    /// `--fuse-seeds` of an entry: its own, else the queue's.
    pub fn fuse_seeds<'a>(&'a self, e: &'a Entry) -> &'a str {
        e.fuse_seeds.as_deref().unwrap_or(&self.header.fuse_seeds)
    }

    /// Each entry against the experiment files under `root/experiments`: the
    /// file exists, has the profile, and the profile has the runs. Checked
    /// before anything trains, so that a typo costs no GPU time.
    pub fn check_against(&self, root: &Path) -> anyhow::Result<()> {
        for (i, e) in self.entries.iter().enumerate() {
            check_in_experiment_file(e, root).map_err(|m| {
                bad(
                    &self.path,
                    format!("entry {} ({}): {m}", i + 1, e.experiment),
                )
            })?;
        }
        Ok(())
    }
}

fn check_entry(e: &Entry) -> Result<(), String> {
    for (key, v) in [("experiment", &e.experiment), ("profile", &e.profile)] {
        if !plain(v) || v.contains('*') {
            return Err(format!("{key} = \"{v}\": a plain name"));
        }
    }
    if e.runs.is_empty() {
        return Err("runs = []: name at least one run".into());
    }
    if let Some(r) = e.runs.iter().find(|r| !plain(r)) {
        return Err(format!("runs: \"{r}\" is not a run name"));
    }
    if e.seeds.is_empty() {
        return Err("seeds = []: give at least one seed".into());
    }
    if let Some(s) = e
        .seeds
        .iter()
        .enumerate()
        .find_map(|(i, s)| e.seeds[..i].contains(s).then_some(s))
    {
        return Err(format!("seeds: {s} is given twice"));
    }
    if let Some(f) = e.fuse_seeds.as_deref().filter(|f| !FUSE_MODES.contains(f)) {
        return Err(format!("fuse_seeds = \"{f}\": one of auto, on, off"));
    }
    if e.fuse_max == Some(0) {
        return Err("fuse_max = 0: at least 1".into());
    }
    if let Some(s) = e.set.iter().find(|s| !s.contains('=')) {
        return Err(format!("set: \"{s}\" is not KEY=VALUE"));
    }
    if e.why.trim().is_empty() {
        return Err("why = \"\": say why it is queued".into());
    }
    Ok(())
}

fn check_in_experiment_file(e: &Entry, root: &Path) -> Result<(), String> {
    let file = root
        .join("experiments")
        .join(format!("{}.toml", e.experiment));
    let text =
        std::fs::read_to_string(&file).map_err(|err| format!("{}: {err}", file.display()))?;
    let table: toml::Table = text
        .parse()
        .map_err(|err: toml::de::Error| format!("{}: {}", file.display(), err.message()))?;
    let profile = table
        .get("profiles")
        .and_then(|p| p.get(&e.profile))
        .ok_or_else(|| format!("{}: no profile `{}`", file.display(), e.profile))?;
    let runs: Vec<&str> = profile
        .get("runs")
        .and_then(|r| r.as_array())
        .map(|a| a.iter().filter_map(|v| v.as_str()).collect())
        .unwrap_or_default();
    for r in &e.runs {
        let prefix = r.trim_end_matches('*');
        let found = if r.ends_with('*') {
            runs.iter().any(|x| x.starts_with(prefix))
        } else {
            runs.contains(&r.as_str())
        };
        if !found {
            return Err(format!(
                "{}: profile `{}` has no run `{r}` (runs: {})",
                file.display(),
                e.profile,
                runs.join(", ")
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const ONE: &str = r#"
[queue]
description = "test"
[[entry]]
experiment = "resnet-cifar-degradation"
profile = "smoke"
runs = ["plain-20", "resnet-20"]
seeds = [1, 2]
why = "test"
"#;

    fn parse(text: &str) -> anyhow::Result<Queue> {
        Queue::parse(text, Path::new("q.toml"))
    }

    fn err(text: &str) -> String {
        let e = parse(text).expect_err("refused");
        assert_eq!(records::exit::code_of(&e), records::exit::BAD_INPUT);
        format!("{e:#}")
    }

    #[test]
    fn an_entry_becomes_the_binarys_flags() {
        let q = parse(ONE).expect("parses");
        let e = &q.entries[0];
        assert_eq!(e.runs_arg(), "plain-20,resnet-20");
        assert_eq!(e.seeds_arg(), "1,2");
        assert_eq!(q.fuse_seeds(e), "auto");
        let off = ONE.replace("why = \"test\"", "why = \"test\"\nfuse_seeds = \"off\"");
        let q = parse(&off).expect("parses");
        assert_eq!(q.fuse_seeds(&q.entries[0]), "off");
    }

    #[test]
    fn bad_entries_are_refused_naming_the_file_entry_and_value() {
        let cases = [
            (
                ONE.replace("seeds = [1, 2]", "seeds = [1, 1]"),
                "seeds: 1 is given twice",
            ),
            (ONE.replace("seeds = [1, 2]", "seeds = []"), "seeds = []"),
            (
                ONE.replace("runs = [\"plain-20\", \"resnet-20\"]", "runs = []"),
                "runs = []",
            ),
            (
                ONE.replace("\"plain-20\",", "\"plain 20\","),
                "\"plain 20\" is not a run name",
            ),
            (
                ONE.replace("why = \"test\"", "why = \"test\"\nfuse_seeds = \"yes\""),
                "fuse_seeds = \"yes\"",
            ),
            (
                ONE.replace("why = \"test\"", "why = \"test\"\nfuse_max = 0"),
                "fuse_max = 0",
            ),
            (
                ONE.replace("why = \"test\"", "why = \"test\"\nset = [\"lr\"]"),
                "\"lr\" is not KEY=VALUE",
            ),
            (ONE.replace("why = \"test\"", "why = \" \""), "say why"),
            (
                ONE.replace("why = \"test\"", "why = \"test\"\nsede = [1]"),
                "unknown field `sede`",
            ),
            (
                ONE.replace("profile = \"smoke\"", "profile = \"../x\""),
                "profile = \"../x\"",
            ),
            (
                ONE.replace("profile = \"smoke\"", "profile = \"..\""),
                "profile = \"..\"",
            ),
        ];
        for (text, want) in cases {
            let e = err(&text);
            assert!(e.starts_with("q.toml: "), "{e}");
            assert!(e.contains(want), "{want}: {e}");
        }
        assert!(err("[queue]\ndescription = \"x\"\n").contains("the queue is empty"));
    }

    #[test]
    fn entries_are_checked_against_the_experiment_files() {
        let root = records::repo_root();
        parse(ONE)
            .expect("parses")
            .check_against(&root)
            .expect("smoke has both runs");
        for (from, to, want) in [
            (
                "\"plain-20\",",
                "\"plain-21\",",
                "profile `smoke` has no run `plain-21`",
            ),
            (
                "profile = \"smoke\"",
                "profile = \"smok\"",
                "no profile `smok`",
            ),
            (
                "experiment = \"resnet-cifar-degradation\"",
                "experiment = \"resnet\"",
                "resnet.toml",
            ),
        ] {
            let q = parse(&ONE.replace(from, to)).expect("parses");
            let e = format!("{:#}", q.check_against(&root).expect_err("refused"));
            assert!(e.contains(want) && e.contains("entry 1"), "{want}: {e}");
        }
        let q = parse(&ONE.replace("\"plain-20\",", "\"plain-*\",")).expect("parses");
        q.check_against(&root).expect("a prefix pattern");
    }

    /// The repository's GPU queue: every entry names a registered experiment,
    /// a profile it has and runs of that profile.
    #[test]
    fn the_repositorys_gpu_queue_is_valid() {
        let root = records::repo_root();
        let q = Queue::load(&root.join("experiments/queues/gpu.toml")).expect("the GPU queue");
        q.check_against(&root).expect("its entries");
        for e in &q.entries {
            records::registry::find(&root, &e.experiment).expect("a registered experiment");
        }
    }
}
