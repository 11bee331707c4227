//! Numbers typed by hand that a program measured (or that date the text).
//!
//! What counts, in running text, code and tables alike:
//! - **history**: a date (`2026-12-03`), an issue reference (`issue 18`,
//!   `#18`), a commit-like hash (7 to 40 hex digits with at least one digit
//!   and one letter, e.g. `0284fa1`; the hex of a checksum counts too);
//! - **measured**: a number followed (after at most one space or hyphen) by
//!   a unit of time (`31 minutes`, `26 min`, `4.7 h`, `22 days`, `30 s`), of
//!   size (`4.7 GB`), of throughput (`518 img/s`), a percentage (`4.5%`,
//!   unless it is one of the papers' own numbers of `experiments/papers/*.csv`,
//!   such as Fig. 1's `25%`), percentage points (`1.2 points`), a factor
//!   (`1.63x`, unless a paper's `x` number), a p-value (`p = 0.045`), or a
//!   test count (`357 tests`, `192 test functions`).
//!
//! Not counted: versions (`1.89`, `2.13.0`), numbers inside names
//! (`ResNet-56`, `cu130`, `fp32`), shapes (`3x3`), and bare numbers.
use crate::markdown::paragraphs;
use std::path::Path;

/// What a flagged number is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Date,
    Issue,
    Hash,
    Duration,
    Size,
    Throughput,
    Percent,
    Points,
    Factor,
    PValue,
    TestCount,
}

impl Kind {
    /// History dates the text: never allowed in the README or in docs/.
    pub fn is_history(self) -> bool {
        matches!(self, Kind::Date | Kind::Issue | Kind::Hash)
    }
}

/// A flagged number: its kind and the number as written.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    pub kind: Kind,
    pub number: String,
}

/// The papers' own numbers (`experiments/papers/*.csv`: value and unit), which
/// may be quoted as percentages or factors.
#[derive(Debug, Clone, Default)]
pub struct PaperNumbers(pub Vec<(f64, String)>);

impl PaperNumbers {
    /// Every `value,unit` of the CSV files in `dir`.
    pub fn load(dir: &Path) -> Result<Self, String> {
        let mut out = Vec::new();
        let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        for path in entries.filter_map(|e| e.ok().map(|e| e.path())) {
            if path.extension().is_none_or(|x| x != "csv") {
                continue;
            }
            let mut r =
                csv::Reader::from_path(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            for rec in r.records() {
                let rec = rec.map_err(|e| format!("{}: {e}", path.display()))?;
                if let (Some(v), Some(u)) = (rec.get(2).and_then(|v| v.parse().ok()), rec.get(3)) {
                    out.push((v, u.to_string()));
                }
            }
        }
        Ok(Self(out))
    }

    fn has(&self, number: &str, unit: &str) -> bool {
        value(number).is_some_and(|v| {
            self.0
                .iter()
                .any(|(p, u)| u == unit && (p - v).abs() < 1e-9)
        })
    }
}

const DURATION: &[&str] = &[
    "ms", "s", "sec", "secs", "second", "seconds", "min", "mins", "minute", "minutes", "h", "hr",
    "hrs", "hour", "hours", "day", "days", "week", "weeks",
];
const SIZE: &[&str] = &["B", "KB", "MB", "GB", "TB", "KiB", "MiB", "GiB", "TiB"];
const THROUGHPUT: &[&str] = &[
    "img/s",
    "images/s",
    "it/s",
    "samples/s",
    "TFLOP/s",
    "GFLOP/s",
];

/// The flagged numbers of one line.
pub fn scan(line: &str, paper: &PaperNumbers) -> Vec<Finding> {
    let mut out = Vec::new();
    let b = line.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if !b[i].is_ascii_digit() || (i > 0 && is_word_byte(b[i - 1])) {
            i += 1;
            continue;
        }
        let end = number_end(b, i);
        if let Some(f) = classify(line, i, end, paper) {
            out.push(f);
        }
        i = end.max(i + 1);
    }
    out.extend(p_values(line));
    out.extend(issue_refs(line));
    out.extend(hashes(line));
    out
}

fn is_word_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c == b'.'
}

/// The end of the number starting at `i`: digits, `,ddd` groups, one `.d+`.
fn number_end(b: &[u8], i: usize) -> usize {
    let digits = |mut j: usize| {
        while j < b.len() && b[j].is_ascii_digit() {
            j += 1;
        }
        j
    };
    let mut j = digits(i);
    while j + 3 < b.len() && b[j] == b',' && b[j + 1..j + 4].iter().all(u8::is_ascii_digit) {
        j += 4;
    }
    if j + 1 < b.len() && b[j] == b'.' && b[j + 1].is_ascii_digit() {
        j = digits(j + 1);
    }
    j
}

/// What the number `line[start..end]` is, from what follows it.
fn classify(line: &str, start: usize, end: usize, paper: &PaperNumbers) -> Option<Finding> {
    let number = &line[start..end];
    let rest = &line[end..];
    let found = |kind| {
        Some(Finding {
            kind,
            number: number.to_string(),
        })
    };
    // A version (`2.13.0`) or a name (`cu130`, `3x3`): not a quantity.
    if rest.starts_with('.') && rest[1..].starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    if is_date(number, rest) {
        return found(Kind::Date);
    }
    if let Some(after_x) = rest.strip_prefix('x').or_else(|| rest.strip_prefix('×')) {
        let standalone = !after_x.starts_with(|c: char| c.is_alphanumeric());
        return (standalone && !paper.has(number, "x")).then_some(Finding {
            kind: Kind::Factor,
            number: number.to_string(),
        });
    }
    let unit_text = rest
        .strip_prefix(' ')
        .or_else(|| rest.strip_prefix('-'))
        .unwrap_or(rest);
    if unit_text.starts_with('%') || unit_text.starts_with("percent") {
        return (!paper.has(number, "%")).then_some(Finding {
            kind: Kind::Percent,
            number: number.to_string(),
        });
    }
    let word: String = unit_text
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '/')
        .collect();
    let next_word = unit_text[word.len()..]
        .split_whitespace()
        .next()
        .unwrap_or("");
    let kind = match word.as_str() {
        w if DURATION.contains(&w) => Kind::Duration,
        w if SIZE.contains(&w) => Kind::Size,
        w if THROUGHPUT.contains(&w) => Kind::Throughput,
        "point" | "points" | "pp" => Kind::Points,
        "tests" => Kind::TestCount,
        "test" if next_word.starts_with("function") => Kind::TestCount,
        _ => return None,
    };
    found(kind)
}

/// `2026-12-03`: four digits, then `-dd-dd`.
fn is_date(number: &str, rest: &str) -> bool {
    let r = rest.as_bytes();
    number.len() == 4
        && number.bytes().all(|c| c.is_ascii_digit())
        && r.len() >= 6
        && r[0] == b'-'
        && r[1..3].iter().all(u8::is_ascii_digit)
        && r[3] == b'-'
        && r[4..6].iter().all(u8::is_ascii_digit)
}

/// `p = 0.045`, `p < 0.05`, `p=0.1`: a p-value written down.
fn p_values(line: &str) -> Vec<Finding> {
    let mut out = Vec::new();
    for (i, _) in line.match_indices('p') {
        let before_ok = line[..i]
            .chars()
            .next_back()
            .is_none_or(|c| !c.is_alphanumeric());
        let rest = line[i + 1..].trim_start();
        let Some(rel) = rest.strip_prefix(['=', '<', '>', '≤', '≥']) else {
            continue;
        };
        let value: String = rel
            .trim_start()
            .chars()
            .take_while(|c| c.is_ascii_digit() || *c == '.')
            .collect();
        // A probability: `plateau(p=3, ...)` is a patience, not a p-value.
        let probability = value.parse::<f64>().is_ok_and(|v| v <= 1.0);
        if before_ok && probability {
            out.push(Finding {
                kind: Kind::PValue,
                number: value,
            });
        }
    }
    out
}

/// `issue 18`, `issues 6`, `#18`.
fn issue_refs(line: &str) -> Vec<Finding> {
    let lower = line.to_lowercase();
    let mut out = Vec::new();
    for pat in ["issue ", "issues ", "#"] {
        for (i, _) in lower.match_indices(pat) {
            let digits: String = lower[i + pat.len()..]
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            let word_start = lower[..i]
                .chars()
                .next_back()
                .is_none_or(|c| !c.is_alphanumeric());
            if !digits.is_empty() && (word_start || pat == "#") {
                out.push(Finding {
                    kind: Kind::Issue,
                    number: digits,
                });
            }
        }
    }
    out
}

/// Words of 7 to 40 hex digits with at least one digit and one letter.
fn hashes(line: &str) -> Vec<Finding> {
    line.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| (7..=40).contains(&w.len()))
        .filter(|w| {
            w.chars()
                .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
        })
        .filter(|w| {
            w.chars().any(|c| c.is_ascii_digit()) && w.chars().any(|c| c.is_ascii_alphabetic())
        })
        .map(|w| Finding {
            kind: Kind::Hash,
            number: w.to_string(),
        })
        .collect()
}

/// The README's problems: over `max_lines` lines, or any flagged number.
pub fn readme_problems(text: &str, paper: &PaperNumbers, max_lines: usize) -> Vec<String> {
    let mut out = Vec::new();
    let n = text.lines().count();
    if n > max_lines {
        out.push(format!("README.md has {n} lines, more than {max_lines}"));
    }
    for (i, line) in text.lines().enumerate() {
        for f in scan(line, paper) {
            out.push(format!(
                "README.md:{}: {:?} `{}` typed by hand: link the file it comes from (line: {line})",
                i + 1,
                f.kind,
                f.number
            ));
        }
    }
    out
}

/// A doc's problems: history anywhere; a measured number unless its
/// paragraph links a file that contains the same number.
pub fn doc_problems(root: &Path, doc: &Path, text: &str, paper: &PaperNumbers) -> Vec<String> {
    let dir = root.join(doc.parent().unwrap_or(Path::new("")));
    let mut out = Vec::new();
    for (line, para) in paragraphs(text) {
        let sources: Vec<String> = crate::links::links(&para)
            .into_iter()
            .filter(|l| !crate::links::is_external(&l.target))
            .filter_map(|l| {
                let path = l.target.split('#').next().unwrap_or("").to_string();
                std::fs::read_to_string(dir.join(path)).ok()
            })
            .collect();
        for f in para.lines().flat_map(|l| scan(l, paper)) {
            let tied =
                !f.kind.is_history() && sources.iter().any(|s| contains_number(s, &f.number));
            if !tied {
                out.push(format!(
                    "{}: paragraph at line {line}: {:?} `{}` {}",
                    doc.display(),
                    f.kind,
                    f.number,
                    if f.kind.is_history() {
                        "dates the text: drop it"
                    } else {
                        "is in no file this paragraph links: link its source or drop it"
                    }
                ));
            }
        }
    }
    out
}

/// Whether `number` occurs in `text` as a number of the same value
/// (`180` in `180.0` or `budget: 180`, `10,000` in `10000`; not `180` in
/// `1800` or `x180`).
pub fn contains_number(text: &str, number: &str) -> bool {
    let Some(want) = value(number) else {
        return false;
    };
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if !b[i].is_ascii_digit() || (i > 0 && is_word_byte(b[i - 1])) {
            i += 1;
            continue;
        }
        let end = number_end(b, i);
        if value(&text[i..end]) == Some(want) {
            return true;
        }
        i = end;
    }
    false
}

/// A number as written (`10,000`, `0.05`), as a value.
fn value(number: &str) -> Option<f64> {
    number.replace(',', "").parse().ok()
}

#[cfg(test)]
mod tests;
