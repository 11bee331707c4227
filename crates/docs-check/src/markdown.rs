//! The little Markdown the checks need: fenced code blocks, tables, headings
//! and their anchors, paragraphs.

/// Each line of `text` with its 1-based number and whether it lies inside a
/// fenced code block (the fence lines themselves count as inside).
pub fn lines_with_fences(text: &str) -> Vec<(usize, &str, bool)> {
    let mut inside = false;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let fence = line.trim_start().starts_with("```");
        if fence {
            inside = !inside;
        }
        out.push((i + 1, line, inside || fence));
    }
    out
}

/// `line` with the text of inline code spans (`` `...` ``) removed.
pub fn without_code_spans(line: &str) -> String {
    let mut out = String::new();
    let mut in_code = false;
    for c in line.chars() {
        if c == '`' {
            in_code = !in_code;
        } else if !in_code {
            out.push(c);
        }
    }
    out
}

/// The cells of a table row (`| a | b |`), trimmed; None for other lines.
pub fn table_cells(line: &str) -> Option<Vec<String>> {
    let t = line.trim();
    let inner = t.strip_prefix('|')?.strip_suffix('|')?;
    Some(inner.split('|').map(|c| c.trim().to_string()).collect())
}

/// The rows (cells) of the first table whose header satisfies `header`,
/// without its header and separator rows; None when there is no such table.
pub fn find_table(text: &str, header: impl Fn(&[String]) -> bool) -> Option<Vec<Vec<String>>> {
    let lines: Vec<&str> = text.lines().collect();
    let start = lines
        .iter()
        .position(|l| table_cells(l).is_some_and(|c| header(&c)))?;
    let rows = lines[start + 1..]
        .iter()
        .map_while(|l| table_cells(l))
        .filter(|c| !c.iter().all(|x| x.chars().all(|ch| ch == '-' || ch == ':')))
        .collect();
    Some(rows)
}

/// The anchor GitHub gives a heading: lower case, spaces to `-`, other
/// punctuation (but `-` and `_`) dropped.
pub fn slug(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

/// The anchors of every heading of `text` (outside code blocks).
pub fn anchors(text: &str) -> Vec<String> {
    lines_with_fences(text)
        .into_iter()
        .filter(|(_, _, code)| !code)
        .filter_map(|(_, l, _)| {
            let h = l.trim_start_matches('#');
            (h.len() < l.len() && h.starts_with(' ')).then(|| slug(h))
        })
        .collect()
}

/// The paragraphs of `text`: runs of non-blank lines, as (first line's
/// number, the lines joined by newlines). A code block is one paragraph.
pub fn paragraphs(text: &str) -> Vec<(usize, String)> {
    let mut out: Vec<(usize, String)> = Vec::new();
    let mut current: Option<(usize, String)> = None;
    for (n, line, code) in lines_with_fences(text) {
        if line.trim().is_empty() && !code {
            out.extend(current.take());
            continue;
        }
        match current.as_mut() {
            Some((_, p)) => {
                p.push('\n');
                p.push_str(line);
            }
            None => current = Some((n, line.to_string())),
        }
    }
    out.extend(current);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_follow_github() {
        assert_eq!(slug(" Profiles and fidelity"), "profiles-and-fidelity");
        assert_eq!(slug("`--plot-only`: redraw"), "--plot-only-redraw");
        assert_eq!(
            anchors("# A b\ntext\n```\n# not\n```\n## C, d"),
            ["a-b", "c-d"]
        );
    }

    #[test]
    fn tables_and_paragraphs() {
        let t = "x\n\n| a | b |\n|---|---|\n| 1 | 2 |\n| 3 | 4 |\n\ny";
        let rows = find_table(t, |h| h[0] == "a").expect("table");
        assert_eq!(rows, [["1", "2"], ["3", "4"]]);
        assert_eq!(paragraphs(t).len(), 3);
        assert_eq!(without_code_spans("a `b` c"), "a  c");
    }
}
