//! Relative links in Markdown: `[text](target)` and `![alt](target)` outside
//! code, resolved against the document's own directory. A link with a
//! scheme (`https:`, `mailto:`) is not checked; `#fragment` into a Markdown
//! file must name one of its headings.
use crate::markdown::{anchors, lines_with_fences, without_code_spans};
use std::path::Path;

/// One link: its line and its target as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    pub line: usize,
    pub target: String,
}

/// Every link of `text` outside code blocks and code spans.
pub fn links(text: &str) -> Vec<Link> {
    let mut out = Vec::new();
    for (n, line, code) in lines_with_fences(text) {
        if code {
            continue;
        }
        let line = without_code_spans(line);
        let mut rest = line.as_str();
        while let Some(i) = rest.find("](") {
            let after = &rest[i + 2..];
            let Some(end) = after.find(')') else { break };
            // `(path "title")`: the path alone.
            let target = after[..end].split_whitespace().next().unwrap_or("");
            out.push(Link {
                line: n,
                target: target.to_string(),
            });
            rest = &after[end..];
        }
    }
    out
}

/// Whether a link leaves the repository (a scheme such as `https:`).
pub fn is_external(target: &str) -> bool {
    target.split_once(':').is_some_and(|(scheme, _)| {
        !scheme.is_empty() && scheme.chars().all(|c| c.is_ascii_alphabetic())
    })
}

/// The relative links of `doc` (a path relative to `root`, with text `text`)
/// whose file, directory or heading does not exist, as messages.
pub fn broken(root: &Path, doc: &Path, text: &str) -> Vec<String> {
    let dir = doc.parent().unwrap_or(Path::new(""));
    let mut out = Vec::new();
    for link in links(text) {
        if is_external(&link.target) {
            continue;
        }
        let (path, fragment) = match link.target.split_once('#') {
            Some((p, f)) => (p, Some(f)),
            None => (link.target.as_str(), None),
        };
        let at = format!("{}:{}: `{}`", doc.display(), link.line, link.target);
        if link.target.is_empty() {
            out.push(format!("{at}: an empty link"));
            continue;
        }
        // `#fragment` alone: a heading of this document.
        let heading_of = if path.is_empty() {
            Some(text.to_string())
        } else {
            let file = root.join(dir).join(path);
            if !file.exists() {
                out.push(format!("{at}: no such file or directory"));
                continue;
            }
            file.extension()
                .is_some_and(|x| x == "md")
                .then(|| std::fs::read_to_string(&file).unwrap_or_default())
        };
        if let (Some(fragment), Some(target_text)) = (fragment, heading_of) {
            if !anchors(&target_text).iter().any(|a| a == fragment) {
                out.push(format!("{at}: no heading with the anchor #{fragment}"));
            }
        }
    }
    out
}

/// The files of `docs` (paths relative to the root, e.g. `docs/running.md`)
/// that the README (at the root) does not link to.
pub fn unlinked_docs(readme: &str, docs: &[std::path::PathBuf]) -> Vec<String> {
    let targets: Vec<String> = links(readme)
        .into_iter()
        .map(|l| {
            l.target
                .split('#')
                .next()
                .unwrap_or("")
                .trim_start_matches("./")
                .to_string()
        })
        .collect();
    docs.iter()
        .map(|d| d.to_string_lossy().replace('\\', "/"))
        .filter(|d| !targets.contains(d))
        .map(|d| format!("README.md does not link {d}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_outside_code_are_found() {
        let t =
            "a [x](b.md) and ![i](c/d.png \"t\")\n`[no](e)`\n```\n[no](f)\n```\n[y](https://x.org)";
        let l: Vec<String> = links(t).into_iter().map(|l| l.target).collect();
        assert_eq!(l, ["b.md", "c/d.png", "https://x.org"]);
        assert!(is_external("https://x.org"));
        assert!(!is_external("docs/a.md"));
    }

    #[test]
    fn a_missing_file_or_heading_is_reported() {
        let root = crate::repo_root();
        let doc = Path::new("docs/x.md");
        let ok = "[r](../README.md) [e](../experiments) [s](#a) [h](../README.md)\n# A";
        assert_eq!(broken(&root, doc, ok), Vec::<String>::new());
        let bad = "[m](../no-such-file.md)\n[d](../results/no-such-dir/)\n[h](#nowhere)\n[e]()";
        let b = broken(&root, doc, bad);
        assert_eq!(b.len(), 4, "{b:?}");
        assert!(
            b[0].starts_with("docs/x.md:1: `../no-such-file.md`"),
            "{b:?}"
        );
        assert!(
            b[2].contains("no heading with the anchor #nowhere"),
            "{b:?}"
        );
    }

    #[test]
    fn every_doc_must_be_linked_from_the_readme() {
        let docs = ["docs/a.md".into(), "docs/b.md".into()];
        assert!(unlinked_docs("[a](docs/a.md) [b](./docs/b.md#x)", &docs).is_empty());
        assert_eq!(
            unlinked_docs("[a](docs/a.md)", &docs),
            ["README.md does not link docs/b.md"]
        );
    }
}
