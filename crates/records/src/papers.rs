//! The papers' own numbers, read from `experiments/papers/<paper>.csv`.
//!
//! Each paper number (Table 6's errors, AlexNet's 13 % / 11 %, the ~6x of
//! Fig. 1, ...) is written once, in a CSV file beside the experiment files,
//! with the table, figure or section it comes from. Experiments quote them
//! through [`PaperNumbers`]; reports and figures never carry a literal copy.
//!
//! Columns: `experiment` (the experiment that quotes the number), `key`
//! (unique within the file, e.g. `table6.resnet-56.error`), `value` (a number,
//! or empty for a claim the paper states without one), `unit` (`%`, `points`,
//! `x`, `M`, ...), `source` (table / figure / section), `quote` (the paper's
//! words, optional).
use crate::error::{Error, Result};
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// One number of a paper, with where it comes from.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct PaperNumber {
    pub experiment: String,
    pub key: String,
    /// `None` for a statement without a number (e.g. "substantial overfitting").
    pub value: Option<f64>,
    pub unit: String,
    pub source: String,
    #[serde(default)]
    pub quote: String,
}

impl PaperNumber {
    /// The value with its unit, as the paper prints it: "6.97%", "6x",
    /// "1.4 points", "0.27M"; "—" for a statement without a number.
    pub fn show(&self) -> String {
        match self.value {
            None => "—".into(),
            Some(v) => {
                let v = trim_number(v);
                match self.unit.as_str() {
                    "%" | "x" | "M" | "K" | "G" => format!("{v}{}", self.unit),
                    "" => v,
                    "points" if v == "1" => "1 point".into(),
                    u => format!("{v} {u}"),
                }
            }
        }
    }

    /// "6.97% (Table 6)".
    pub fn cite(&self) -> String {
        format!("{} ({})", self.show(), self.source)
    }
}

/// "6.97", "27.0" -> "27", "0.27": the shortest decimal that reads back as `v`.
fn trim_number(v: f64) -> String {
    let s = format!("{v}");
    if s.contains('e') {
        format!("{v:.3}")
    } else {
        s
    }
}

/// The numbers of one paper's CSV file.
#[derive(Debug, Default)]
pub struct PaperNumbers {
    /// The file they were read from (empty for [`PaperNumbers::default`]).
    pub path: PathBuf,
    by_key: BTreeMap<String, PaperNumber>,
    /// Keys looked up that the file lacks (a deleted or renamed row): each
    /// shows as "—" where it is quoted, and [`PaperNumbers::check_found`]
    /// then refuses the report, naming the file and the keys. A lock, not a
    /// `RefCell`: reports are drawn from a shared `&Results`.
    missing: Mutex<BTreeSet<String>>,
}

impl Clone for PaperNumbers {
    fn clone(&self) -> Self {
        Self {
            path: self.path.clone(),
            by_key: self.by_key.clone(),
            missing: Mutex::new(self.missing_keys().into_iter().collect()),
        }
    }
}

/// The same file's numbers (whatever was looked up in them).
impl PartialEq for PaperNumbers {
    fn eq(&self, other: &Self) -> bool {
        self.path == other.path && self.by_key == other.by_key
    }
}

impl PaperNumbers {
    /// Reads and checks one CSV file: every row parses, keys are unique and
    /// every value is finite. Errors name the file and the row.
    pub fn load(path: &Path) -> Result<Self> {
        let bad = |msg: String| Error::File {
            path: path.to_path_buf(),
            msg,
        };
        let mut reader = csv::Reader::from_path(path).map_err(|e| bad(e.to_string()))?;
        let mut by_key = BTreeMap::new();
        for (i, row) in reader.deserialize::<PaperNumber>().enumerate() {
            // Line 1 is the header.
            let line = i + 2;
            let n = row.map_err(|e| bad(format!("line {line}: {e}")))?;
            if n.key.trim().is_empty() || n.experiment.trim().is_empty() {
                return Err(bad(format!("line {line}: empty `experiment` or `key`")));
            }
            if n.value.is_some_and(|v| !v.is_finite()) {
                return Err(bad(format!("line {line}: `value` must be finite")));
            }
            if n.source.trim().is_empty() {
                return Err(bad(format!(
                    "line {line}: `{}` has no `source` (table, figure or section)",
                    n.key
                )));
            }
            if by_key.contains_key(&n.key) {
                return Err(bad(format!("line {line}: key `{}` appears twice", n.key)));
            }
            by_key.insert(n.key.clone(), n);
        }
        Ok(Self {
            path: path.to_path_buf(),
            by_key,
            missing: Mutex::default(),
        })
    }

    /// The number under `key`. A key missing from the file (a deleted row, a
    /// renamed key) is recorded: it shows as "—" where the report quotes it,
    /// never as a made-up number, and [`PaperNumbers::check_found`] refuses
    /// the report before it is written.
    pub fn get(&self, key: &str) -> Option<&PaperNumber> {
        let found = self.by_key.get(key);
        if found.is_none() {
            self.missing
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .insert(key.to_string());
        }
        found
    }

    /// The keys looked up so far that the file lacks, sorted.
    pub fn missing_keys(&self) -> Vec<String> {
        self.missing
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .iter()
            .cloned()
            .collect()
    }

    /// An error naming the file and every key looked up that it lacks: a
    /// report quoting them would show "—" where the paper's number belongs.
    pub fn check_found(&self) -> Result<()> {
        let missing = self.missing_keys();
        if missing.is_empty() {
            return Ok(());
        }
        let keys = missing
            .iter()
            .map(|k| format!("`{k}`"))
            .collect::<Vec<_>>()
            .join(", ");
        if self.path.as_os_str().is_empty() {
            return Err(Error::Config(format!(
                "the report quotes the paper's numbers {keys}, but the experiment file names no numbers file (`[experiment] numbers`)"
            )));
        }
        Err(Error::File {
            path: self.path.clone(),
            msg: format!(
                "no row with key {keys}, which the report quotes (a deleted or renamed row?): restore it; the report was not written"
            ),
        })
    }

    /// The value under `key`, NaN where there is none (a statement without a
    /// number; a missing key is also recorded, see [`PaperNumbers::get`]).
    pub fn value(&self, key: &str) -> f64 {
        self.get(key).and_then(|n| n.value).unwrap_or(f64::NAN)
    }

    /// The value under `key` as a fraction (for `%` numbers): 6.97 -> 0.0697.
    pub fn fraction(&self, key: &str) -> f64 {
        self.value(key) / 100.0
    }

    /// "6.97%", or "—" for a missing key.
    pub fn show(&self, key: &str) -> String {
        self.get(key)
            .map(PaperNumber::show)
            .unwrap_or_else(|| "—".into())
    }

    /// "6.97% (Table 6)", or "—" for a missing key.
    pub fn cite(&self, key: &str) -> String {
        self.get(key)
            .map(PaperNumber::cite)
            .unwrap_or_else(|| "—".into())
    }

    /// The source of `key` ("Table 6"), or "—".
    pub fn source(&self, key: &str) -> String {
        self.get(key)
            .map(|n| n.source.clone())
            .unwrap_or_else(|| "—".into())
    }

    /// The paper's words for `key`, quoted, or its cited value where the file
    /// has no quote.
    pub fn quote(&self, key: &str) -> String {
        match self.get(key) {
            Some(n) if !n.quote.is_empty() => format!("{}: \"{}\"", n.source, n.quote),
            Some(n) => n.cite(),
            None => "—".into(),
        }
    }

    /// The numbers an experiment quotes, in key order.
    pub fn of_experiment<'a>(
        &'a self,
        experiment: &'a str,
    ) -> impl Iterator<Item = &'a PaperNumber> {
        self.by_key
            .values()
            .filter(move |n| n.experiment == experiment)
    }

    pub fn iter(&self) -> impl Iterator<Item = &PaperNumber> {
        self.by_key.values()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<PaperNumbers> {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("p.csv");
        std::fs::write(&p, text).expect("write");
        PaperNumbers::load(&p)
    }

    const HEADER: &str = "experiment,key,value,unit,source,quote\n";

    #[test]
    fn reads_numbers_and_formats_them_as_printed() {
        let n = load(&format!(
            "{HEADER}e,t6.r56,6.97,%,Table 6,\ne,speed,6,x,Fig. 1,six times faster\ne,vgg,27.0,%,Table 3,\ne,words,,,Sec. 4.2,overfitting\n"
        ))
        .expect("valid");
        assert_eq!(n.show("t6.r56"), "6.97%");
        assert_eq!(n.cite("t6.r56"), "6.97% (Table 6)");
        assert_eq!(n.show("speed"), "6x");
        assert_eq!(n.show("vgg"), "27%");
        assert_eq!(n.quote("speed"), "Fig. 1: \"six times faster\"");
        assert!((n.fraction("t6.r56") - 0.0697).abs() < 1e-12);
        assert!(n.value("words").is_nan());
        assert_eq!(n.show("missing"), "—");
        assert_eq!(n.of_experiment("e").count(), 4);
    }

    #[test]
    fn a_missing_key_is_recorded_and_refused_naming_the_file_and_key() {
        let n = load(&format!(
            "{HEADER}e,here,1,%,T,\ne,words,,,Sec. 1,no number\n"
        ))
        .expect("valid");
        // Present keys, with or without a number, are no miss.
        assert_eq!(n.show("here"), "1%");
        assert!(n.value("words").is_nan());
        n.check_found().expect("nothing missing yet");
        // Each kind of lookup records a missing key.
        assert_eq!(n.cite("gone.a"), "—");
        assert!(n.value("gone.b").is_nan());
        assert_eq!(n.missing_keys(), ["gone.a", "gone.b"]);
        let e = n.check_found().expect_err("missing keys").to_string();
        assert!(
            e.contains("p.csv") && e.contains("`gone.a`, `gone.b`"),
            "{e}"
        );
        // Without a numbers file, any lookup is a miss.
        let none = PaperNumbers::default();
        assert_eq!(none.show("k"), "—");
        let e = none.check_found().expect_err("no file").to_string();
        assert!(e.contains("`k`") && e.contains("numbers"), "{e}");
    }

    #[test]
    fn bad_files_name_the_line() {
        let dup = load(&format!("{HEADER}e,k,1,%,T,\ne,k,2,%,T,\n")).unwrap_err();
        assert!(dup.to_string().contains("line 3") && dup.to_string().contains("twice"));
        let nan = load(&format!("{HEADER}e,k,abc,%,T,\n")).unwrap_err();
        assert!(nan.to_string().contains("line 2"), "{nan}");
        let nosrc = load(&format!("{HEADER}e,k,1,%,,\n")).unwrap_err();
        assert!(nosrc.to_string().contains("source"), "{nosrc}");
    }
}
