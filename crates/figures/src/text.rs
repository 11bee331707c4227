//! Fonts, text measuring and word wrapping.
//!
//! Text is measured with the embedded font itself (no drawing area needed),
//! so [`crate::Figure::canvas_size`] can lay out the wrapped header before
//! anything is drawn, and gets the same answer as the drawing code.

use plotters::prelude::*;

use crate::Figure;

/// Font family every text uses. The DejaVu bytes are registered under this
/// name; in the SVG it becomes a CSS font list, so viewers use DejaVu Sans
/// when installed (same metrics as the PNG) and any sans-serif otherwise.
pub(crate) const FAMILY: &str = "DejaVu Sans, sans-serif";

pub(crate) type R<T> = Result<T, String>;

pub(crate) fn font(size: f64, bold: bool) -> FontDesc<'static> {
    let style = if bold {
        FontStyle::Bold
    } else {
        FontStyle::Normal
    };
    FontDesc::new(FontFamily::Name(FAMILY), size, style)
}

/// Pixel size of `text` as it will be drawn (unrotated).
pub(crate) fn measure(text: &str, size: f64, bold: bool) -> R<(u32, u32)> {
    font(size, bold).box_size(text).map_err(|e| e.to_string())
}

/// Distance between the tops of two lines of `size` text.
pub(crate) fn line_height(size: f64) -> i32 {
    (size * 1.25).round() as i32
}

/// Text broken into lines that each fit a width.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Wrapped {
    pub lines: Vec<String>,
    pub size: f64,
    /// Whether some word was wider than the line and had to be cut between
    /// characters (nothing is lost, but it reads badly).
    pub broken: bool,
}

/// Pieces of `text` between which a line may break: at spaces (the space is
/// dropped at a break) and after `-`, `/` and `_` (kept). The flag says
/// whether the piece follows a space.
fn pieces(text: &str) -> Vec<(String, bool)> {
    let mut out = Vec::new();
    for word in text.split_whitespace() {
        let mut cur = String::new();
        let mut spaced = true;
        for c in word.chars() {
            cur.push(c);
            if matches!(c, '-' | '/' | '_') {
                out.push((std::mem::take(&mut cur), spaced));
                spaced = false;
            }
        }
        if !cur.is_empty() {
            out.push((cur, spaced));
        }
    }
    out
}

/// Greedy word wrap of `text` at `size` into lines at most `width` pixels
/// wide. A word wider than a whole line is cut between characters, so every
/// character of the text is kept and nothing runs past `width`.
pub(crate) fn wrap(text: &str, size: f64, bold: bool, width: u32) -> R<Wrapped> {
    let fits = |s: &str| -> R<bool> { Ok(measure(s, size, bold)?.0 <= width) };
    let mut lines = Vec::new();
    let mut cur = String::new();
    let mut broken = false;
    for (piece, spaced) in pieces(text) {
        let joined = if cur.is_empty() {
            piece.clone()
        } else if spaced {
            format!("{cur} {piece}")
        } else {
            format!("{cur}{piece}")
        };
        if fits(&joined)? {
            cur = joined;
            continue;
        }
        if !cur.is_empty() {
            lines.push(std::mem::take(&mut cur));
        }
        if fits(&piece)? {
            cur = piece;
            continue;
        }
        broken = true;
        let mut parts = break_word(&piece, size, bold, width)?;
        cur = parts.pop().unwrap_or_default();
        lines.extend(parts);
    }
    if !cur.is_empty() {
        lines.push(cur);
    }
    Ok(Wrapped {
        lines,
        size,
        broken,
    })
}

/// Cuts a word into parts that each fit `width` (at least one character per
/// part, so it always terminates).
fn break_word(word: &str, size: f64, bold: bool, width: u32) -> R<Vec<String>> {
    let mut parts = Vec::new();
    let mut cur = String::new();
    for c in word.chars() {
        let mut longer = cur.clone();
        longer.push(c);
        if !cur.is_empty() && measure(&longer, size, bold)?.0 > width {
            parts.push(std::mem::replace(&mut cur, c.to_string()));
        } else {
            cur = longer;
        }
    }
    if !cur.is_empty() {
        parts.push(cur);
    }
    Ok(parts)
}

/// Wraps `text` at the first of `sizes` (largest first) that needs at most
/// `max_lines` lines without cutting a word; failing all, at the last size
/// on as many lines as it takes.
pub(crate) fn fit_wrap(
    text: &str,
    bold: bool,
    width: u32,
    sizes: &[f64],
    max_lines: usize,
) -> R<Wrapped> {
    let mut last = Wrapped {
        lines: Vec::new(),
        size: sizes.last().copied().unwrap_or(12.0),
        broken: false,
    };
    for &size in sizes {
        last = wrap(text, size, bold, width)?;
        if !last.broken && last.lines.len() <= max_lines {
            break;
        }
    }
    Ok(last)
}

/// A title: on one line at one of the `one_line` sizes if possible, else
/// wrapped by [`fit_wrap`] over `sizes` on up to `max_lines` lines (a little
/// smaller reads better than broken in two).
pub(crate) fn fit_title(
    text: &str,
    width: u32,
    one_line: &[f64],
    sizes: &[f64],
    max_lines: usize,
) -> R<Wrapped> {
    let single = fit_wrap(text, true, width, one_line, 1)?;
    if single.lines.len() <= 1 && !single.broken {
        return Ok(single);
    }
    fit_wrap(text, true, width, sizes, max_lines)
}

/// The figure header: wrapped title and caption, and its height in pixels.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Header {
    pub title: Wrapped,
    pub caption: Wrapped,
    pub height: u32,
}

/// Top of the first header line.
pub(crate) const HEADER_TOP: i32 = 8;
/// Gap between the title block and the caption block.
pub(crate) const HEADER_GAP: i32 = 3;
const HEADER_BOTTOM: i32 = 7;

/// Lays out the header of `fig` on a canvas `width` pixels wide. The caption
/// is never cut or shrunk below 12 px: it wraps onto more lines instead, and
/// the header grows. One title line and one caption line give the classic
/// 62 px header.
pub(crate) fn header(fig: &Figure, width: u32) -> R<Header> {
    let avail = width.saturating_sub(24);
    let title = fit_title(&fig.title, avail, &[21.0, 19.0], &[21.0, 19.0, 17.0], 2)?;
    let caption = fit_wrap(&fig.caption, false, avail, &[14.0, 13.0, 12.0], 2)?;
    let block = |w: &Wrapped| w.lines.len() as i32 * line_height(w.size);
    let height = HEADER_TOP + block(&title) + HEADER_GAP + block(&caption) + HEADER_BOTTOM;
    Ok(Header {
        title,
        caption,
        height: height as u32,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setup() {
        crate::ensure_fonts();
    }

    #[test]
    fn wrap_keeps_every_word_and_fits() {
        setup();
        let text = "CIFAR-10 quick profile on cpu with seeds 0 1 2 and a long tail of words";
        let w = wrap(text, 13.0, false, 120).unwrap();
        assert!(w.lines.len() > 2 && !w.broken, "{w:?}");
        for l in &w.lines {
            assert!(measure(l, 13.0, false).unwrap().0 <= 120, "{l}");
        }
        let joined = w.lines.join(" ").replace("- ", "-");
        assert_eq!(joined, text);
    }

    #[test]
    fn overlong_word_is_cut_not_lost() {
        setup();
        let w = wrap("abcdefghijklmnopqrstuvwxyz", 14.0, false, 40).unwrap();
        assert!(w.broken && w.lines.len() > 1);
        assert_eq!(w.lines.concat(), "abcdefghijklmnopqrstuvwxyz");
        assert!(wrap("", 14.0, false, 40).unwrap().lines.is_empty());
    }

    #[test]
    fn fit_wrap_shrinks_before_adding_lines() {
        setup();
        let text = "ResNet-110 on CIFAR-10";
        let width = measure(text, 13.0, true).unwrap().0 + 1;
        let w = fit_wrap(text, true, width, &[16.0, 14.0, 13.0], 1).unwrap();
        assert_eq!((w.size, w.lines.len()), (13.0, 1));
    }
}
