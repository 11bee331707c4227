//! The README's experiments table against `experiments/*.toml`.
//!
//! The table is the first one whose header has the cells `experiment` and
//! `profiles (fidelity)`. Its first cell names the experiment in backticks
//! (`` [`vgg-depth`](experiments/vgg-depth.toml) ``), its last lists every
//! profile with its label: `` `paper` (analogue), `quick` (shortened) ``.
use crate::markdown::find_table;
use std::collections::BTreeMap;
use std::path::Path;

/// Profile name -> fidelity label.
pub type Profiles = BTreeMap<String, String>;
/// Experiment name -> its profiles.
pub type Experiments = BTreeMap<String, Profiles>;

/// The header cell of the column of profiles.
pub const PROFILES_HEADER: &str = "profiles (fidelity)";

/// The experiments of every `*.toml` in `dir` (not in subdirectories): the
/// file stem, which must be the file's `[experiment] name`, and each
/// `[profiles.<name>]` with its `fidelity`.
pub fn from_tomls(dir: &Path) -> Result<Experiments, String> {
    let mut out = Experiments::new();
    let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    for path in entries.filter_map(|e| e.ok().map(|e| e.path())) {
        if path.extension().is_none_or(|x| x != "toml") {
            continue;
        }
        let stem = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default();
        let text =
            std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let profiles = profiles_of(stem, &text).map_err(|e| format!("{}: {e}", path.display()))?;
        out.insert(stem.to_string(), profiles);
    }
    Ok(out)
}

/// The profiles of one experiment file, checking that it names itself `name`.
pub fn profiles_of(name: &str, toml_text: &str) -> Result<Profiles, String> {
    let table: toml::Table = toml_text.parse().map_err(|e| format!("{e}"))?;
    let declared = table
        .get("experiment")
        .and_then(|e| e.get("name"))
        .and_then(|n| n.as_str());
    if declared != Some(name) {
        return Err(format!("[experiment] name is {declared:?}, not {name:?}"));
    }
    let profiles = table
        .get("profiles")
        .and_then(|p| p.as_table())
        .ok_or("no [profiles.*]")?;
    profiles
        .iter()
        .map(|(p, body)| {
            let fidelity = body
                .get("fidelity")
                .and_then(|f| f.as_str())
                .ok_or_else(|| format!("[profiles.{p}] has no fidelity"))?;
            Ok((p.clone(), fidelity.to_string()))
        })
        .collect()
}

/// The experiments the README's table lists.
pub fn from_readme(readme: &str) -> Result<Experiments, String> {
    let rows = find_table(readme, |h| {
        h.first().is_some_and(|c| c == "experiment") && h.iter().any(|c| c == PROFILES_HEADER)
    })
    .ok_or_else(|| format!("no table with the columns `experiment` and `{PROFILES_HEADER}`"))?;
    let mut out = Experiments::new();
    for row in rows {
        let name = first_code_span(&row[0])
            .ok_or_else(|| format!("row `{}`: no experiment name in backticks", row[0]))?;
        let profiles = parse_profiles(row.last().map_or("", String::as_str))
            .map_err(|e| format!("row {name}: {e}"))?;
        if out.insert(name.to_string(), profiles).is_some() {
            return Err(format!("{name} has two rows"));
        }
    }
    Ok(out)
}

/// `` `a` (x), `b` (y) `` -> {a: x, b: y}.
pub fn parse_profiles(cell: &str) -> Result<Profiles, String> {
    let mut out = Profiles::new();
    for item in cell.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let name = first_code_span(item).ok_or_else(|| format!("`{item}`: no `profile`"))?;
        let label = item
            .rsplit_once('(')
            .and_then(|(_, l)| l.strip_suffix(')'))
            .ok_or_else(|| format!("`{item}`: no (fidelity)"))?;
        if out
            .insert(name.to_string(), label.trim().to_string())
            .is_some()
        {
            return Err(format!("profile {name} twice"));
        }
    }
    Ok(out)
}

fn first_code_span(s: &str) -> Option<&str> {
    let start = s.find('`')? + 1;
    let len = s[start..].find('`')?;
    Some(&s[start..start + len])
}

/// Every difference between the README's table and the experiment files.
pub fn differences(readme: &Experiments, files: &Experiments) -> Vec<String> {
    let mut out = Vec::new();
    for (name, profiles) in files {
        let Some(listed) = readme.get(name) else {
            out.push(format!(
                "{name}: in experiments/ but not in the README's table"
            ));
            continue;
        };
        for (p, label) in profiles {
            match listed.get(p) {
                None => out.push(format!("{name}: profile `{p}` ({label}) is not listed")),
                Some(l) if l != label => out.push(format!(
                    "{name}: profile `{p}` is listed as ({l}), its file says ({label})"
                )),
                Some(_) => {}
            }
        }
        for p in listed.keys().filter(|p| !profiles.contains_key(*p)) {
            out.push(format!(
                "{name}: profile `{p}` is listed but not in its file"
            ));
        }
    }
    for name in readme.keys().filter(|n| !files.contains_key(*n)) {
        out.push(format!(
            "{name}: in the README's table but not in experiments/"
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const README: &str = "\
| experiment | paper | ablation | profiles (fidelity) |
|---|---|---|---|
| [`a`](experiments/a.toml) | P | x | `paper` (analogue), `quick` (shortened) |
";

    fn file(profiles: &[(&str, &str)]) -> Experiments {
        let p = profiles
            .iter()
            .map(|(n, f)| (n.to_string(), f.to_string()))
            .collect();
        [("a".to_string(), p)].into_iter().collect()
    }

    #[test]
    fn a_table_that_matches_has_no_differences() {
        let readme = from_readme(README).expect("table");
        let files = file(&[("paper", "analogue"), ("quick", "shortened")]);
        assert_eq!(differences(&readme, &files), Vec::<String>::new());
    }

    #[test]
    fn a_new_profile_a_changed_label_and_a_new_experiment_are_reported() {
        let readme = from_readme(README).expect("table");
        let mut files = file(&[
            ("paper", "paper"),
            ("quick", "shortened"),
            ("smoke", "shortened"),
        ]);
        files.insert("b".into(), Profiles::new());
        let d = differences(&readme, &files);
        assert_eq!(d.len(), 3, "{d:?}");
        assert!(d[0].contains("`paper` is listed as (analogue), its file says (paper)"));
        assert!(d[1].contains("`smoke` (shortened) is not listed"));
        assert!(d[2].contains("b: in experiments/ but not in the README"));
    }

    #[test]
    fn a_removed_profile_or_experiment_is_reported() {
        let readme = from_readme(README).expect("table");
        let d = differences(&readme, &file(&[("paper", "analogue")]));
        assert_eq!(d, ["a: profile `quick` is listed but not in its file"]);
        let d = differences(&readme, &Experiments::new());
        assert_eq!(d, ["a: in the README's table but not in experiments/"]);
    }

    #[test]
    fn profiles_come_from_the_toml_and_its_name_must_match() {
        let t = "[experiment]\nname = \"a\"\n[profiles.paper]\nfidelity = \"paper\"\n[profiles.quick]\nfidelity = \"shortened\"\n";
        let p = profiles_of("a", t).expect("profiles");
        assert_eq!(p["paper"], "paper");
        assert_eq!(p["quick"], "shortened");
        assert!(profiles_of("b", t).is_err());
        assert!(profiles_of("a", "[experiment]\nname = \"a\"\n[profiles.x]\n").is_err());
        assert!(from_readme("no table").is_err());
        assert!(parse_profiles("`paper` analogue").is_err());
    }
}
