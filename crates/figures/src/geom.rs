//! Pure geometry behind the plots: axis ranges, clipping and tick labels.
//!
//! Kept free of plotters types so it can be unit-tested exactly; plotters
//! itself does not clip lines to the plotting area, so a curve that leaves a
//! fixed `y_range` (the ResNet panels stop at 20 % error while the first
//! iterations sit near 90 %) would otherwise be drawn over the tick labels.

use crate::Panel;

/// Axis ranges actually used for a panel.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Ranges {
    pub x: (f64, f64),
    pub y: (f64, f64),
}

pub(crate) fn finite(p: (f64, f64)) -> bool {
    p.0.is_finite() && p.1.is_finite()
}

/// Fraction of the data span added above and below an automatic y range, so
/// the extreme points do not sit on the frame.
const Y_MARGIN: f64 = 0.05;

/// Chooses the panel's ranges: explicit ranges win, otherwise the finite data
/// decide (NaN/inf points never stretch an axis). Horizontal reference lines
/// are included in an automatic y range so they stay visible.
pub(crate) fn ranges(panel: &Panel) -> Ranges {
    let x = panel.x_range.unwrap_or_else(|| {
        let xs = panel
            .series
            .iter()
            .flat_map(|s| s.points.iter().copied())
            .filter(|&p| finite(p))
            .map(|p| p.0);
        widen_degenerate(min_max(xs).unwrap_or((0.0, 1.0)))
    });
    let y = panel.y_range.unwrap_or_else(|| {
        let ys = panel
            .series
            .iter()
            .flat_map(|s| s.points.iter().copied())
            .filter(|&p| finite(p) && p.0 >= x.0 && p.0 <= x.1)
            .map(|p| p.1)
            .chain(panel.hlines.iter().map(|h| h.y).filter(|y| y.is_finite()));
        match min_max(ys) {
            None => (0.0, 1.0),
            Some((lo, hi)) if lo == hi => widen_degenerate((lo, hi)),
            Some((lo, hi)) => {
                let m = (hi - lo) * Y_MARGIN;
                // Error rates are non-negative: a margin must not invent a
                // negative part of the axis.
                let lo2 = if lo >= 0.0 { (lo - m).max(0.0) } else { lo - m };
                sane((lo2, hi + m))
            }
        }
    });
    Ranges { x, y }
}

fn min_max(it: impl Iterator<Item = f64>) -> Option<(f64, f64)> {
    it.fold(None, |acc, v| match acc {
        None => Some((v, v)),
        Some((lo, hi)) => Some((lo.min(v), hi.max(v))),
    })
}

/// A single value (one point, or a flat curve) still needs a non-empty axis.
fn widen_degenerate((lo, hi): (f64, f64)) -> (f64, f64) {
    if lo < hi {
        return sane((lo, hi));
    }
    let d = (lo.abs() * 0.05).max(0.5);
    sane((lo - d, hi + d))
}

/// Finite extremes such as ±1e308 give an infinite span, which the coordinate
/// mapping cannot handle; fall back to a huge but finite axis.
fn sane((lo, hi): (f64, f64)) -> (f64, f64) {
    if (hi - lo).is_finite() && lo.is_finite() && hi.is_finite() {
        (lo, hi)
    } else {
        (-f64::MAX / 4.0, f64::MAX / 4.0)
    }
}

/// Splits a polyline into drawable runs inside the rectangle `x` × `y`.
///
/// Non-finite points break the line (a diverged run simply stops), segments
/// are clipped to the rectangle (Liang–Barsky), and an isolated finite point
/// becomes a one-point run so the caller can mark it instead of losing it.
pub(crate) fn clip_runs(
    points: &[(f64, f64)],
    x: (f64, f64),
    y: (f64, f64),
) -> Vec<Vec<(f64, f64)>> {
    let inside = |p: (f64, f64)| p.0 >= x.0 && p.0 <= x.1 && p.1 >= y.0 && p.1 <= y.1;
    let mut runs = Vec::new();
    let mut cur: Vec<(f64, f64)> = Vec::new();
    let flush = |cur: &mut Vec<(f64, f64)>, runs: &mut Vec<Vec<(f64, f64)>>| {
        if !cur.is_empty() {
            runs.push(std::mem::take(cur));
        }
    };
    for (i, &p) in points.iter().enumerate() {
        if !finite(p) {
            flush(&mut cur, &mut runs);
            continue;
        }
        let prev = if i > 0 { Some(points[i - 1]) } else { None };
        match prev.filter(|&q| finite(q)) {
            None => {
                flush(&mut cur, &mut runs);
                if inside(p) {
                    cur.push(p);
                }
            }
            Some(q) => match clip_segment(q, p, x, y) {
                None => flush(&mut cur, &mut runs),
                Some((a, b, entered, left)) => {
                    if entered || cur.is_empty() {
                        flush(&mut cur, &mut runs);
                        cur.push(a);
                    }
                    cur.push(b);
                    if left {
                        flush(&mut cur, &mut runs);
                    }
                }
            },
        }
    }
    flush(&mut cur, &mut runs);
    runs
}

type Clipped = ((f64, f64), (f64, f64), bool, bool);

/// Liang–Barsky: returns the visible part of `p`→`q` and whether the segment
/// entered (started outside) / left (ended outside) the rectangle.
fn clip_segment(p: (f64, f64), q: (f64, f64), x: (f64, f64), y: (f64, f64)) -> Option<Clipped> {
    let (dx, dy) = (q.0 - p.0, q.1 - p.1);
    if !dx.is_finite() || !dy.is_finite() {
        return None;
    }
    let (mut t0, mut t1) = (0.0f64, 1.0f64);
    for (pp, qq) in [
        (-dx, p.0 - x.0),
        (dx, x.1 - p.0),
        (-dy, p.1 - y.0),
        (dy, y.1 - p.1),
    ] {
        if pp == 0.0 {
            if qq < 0.0 {
                return None;
            }
        } else {
            let r = qq / pp;
            if pp < 0.0 {
                if r > t1 {
                    return None;
                }
                t0 = t0.max(r);
            } else {
                if r < t0 {
                    return None;
                }
                t1 = t1.min(r);
            }
        }
    }
    let at = |t: f64| (p.0 + t * dx, p.1 + t * dy);
    let a = if t0 > 0.0 { at(t0) } else { p };
    let b = if t1 < 1.0 { at(t1) } else { q };
    Some((a, b, t0 > 0.0, t1 < 1.0))
}

/// Tick label with as many decimals as the axis span needs and no trailing
/// zeros, so an axis reads "0 2 4 6" or "0.05 0.1", never
/// "0.30000000000000004"; a tick that is zero up to rounding reads "0".
pub(crate) fn tick_label(v: f64, span: f64) -> String {
    if span > 0.0 && v.abs() < span * 1e-9 {
        return "0".to_string();
    }
    if v.abs() >= 1e6 {
        // "2e307" rather than "2.00e307": tick labels must stay narrow.
        let s = format!("{v:.2e}");
        let (mant, exp) = s.split_once('e').unwrap_or((&s, "0"));
        let mant = mant.trim_end_matches('0').trim_end_matches('.');
        return format!("{mant}e{exp}");
    }
    let decimals = if span > 0.0 && span.is_finite() {
        (2.0 - span.log10().floor()).clamp(0.0, 8.0) as usize
    } else {
        2
    };
    let mut s = format!("{v:.decimals$}");
    if s.contains('.') {
        s = s.trim_end_matches('0').trim_end_matches('.').to_string();
    }
    if s == "-0" {
        s = "0".to_string();
    }
    s
}

/// Roughly the ticks plotters will choose (1-2-5 steps, about `n` of them),
/// used only to size the tick-label area before the chart exists.
pub(crate) fn approx_ticks((lo, hi): (f64, f64), n: usize) -> Vec<f64> {
    let span = hi - lo;
    if !(span > 0.0 && span.is_finite()) {
        return vec![lo, hi];
    }
    let raw = span / n.max(1) as f64;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag);
    let mut ticks = vec![lo, hi];
    let mut t = (lo / step).ceil() * step;
    while t <= hi && ticks.len() < 64 {
        ticks.push(t);
        t += step;
    }
    ticks
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{HLine, Series};

    #[test]
    fn clip_splits_at_nan_and_boundaries() {
        let pts = [
            (0.0, 50.0),
            (1.0, 10.0),
            (2.0, 5.0),
            (3.0, f64::NAN),
            (4.0, 4.0),
        ];
        let runs = clip_runs(&pts, (0.0, 4.0), (0.0, 20.0));
        assert_eq!(runs.len(), 2);
        // Enters the box at y = 20 between x = 0 and 1.
        assert_eq!(runs[0][0], (0.75, 20.0));
        assert_eq!(&runs[0][1..], &[(1.0, 10.0), (2.0, 5.0)]);
        assert_eq!(runs[1], vec![(4.0, 4.0)]);
    }

    #[test]
    fn clip_drops_fully_outside_and_infinite() {
        let pts = [(0.0, 100.0), (1.0, 90.0), (2.0, f64::INFINITY)];
        assert!(clip_runs(&pts, (0.0, 2.0), (0.0, 20.0)).is_empty());
        let huge = [(0.0, -f64::MAX), (1.0, f64::MAX)];
        assert!(clip_runs(&huge, (0.0, 1.0), (0.0, 1.0)).is_empty());
    }

    #[test]
    fn clip_segment_leaving_and_reentering() {
        let pts = [(0.0, 1.0), (1.0, 3.0), (2.0, 1.0)];
        let runs = clip_runs(&pts, (0.0, 2.0), (0.0, 2.0));
        assert_eq!(
            runs,
            vec![vec![(0.0, 1.0), (0.5, 2.0)], vec![(1.5, 2.0), (2.0, 1.0)]]
        );
    }

    #[test]
    fn auto_ranges_skip_nan_and_include_hlines() {
        let panel = Panel {
            title: String::new(),
            x_label: String::new(),
            y_label: String::new(),
            series: vec![Series::new(
                "a",
                vec![
                    (1.0, 40.0),
                    (2.0, f64::NAN),
                    (f64::INFINITY, 1.0),
                    (3.0, 30.0),
                ],
                0,
            )],
            hlines: vec![HLine {
                y: 25.0,
                label: "25%".into(),
            }],
            x_range: None,
            y_range: None,
        };
        let r = ranges(&panel);
        assert_eq!(r.x, (1.0, 3.0));
        assert!(r.y.0 < 25.0 && r.y.0 >= 0.0 && r.y.1 > 40.0 && r.y.1 < 42.0);
    }

    #[test]
    fn empty_panel_gets_unit_ranges() {
        let panel = Panel::new("t", "x", "y");
        assert_eq!(
            ranges(&panel),
            Ranges {
                x: (0.0, 1.0),
                y: (0.0, 1.0)
            }
        );
    }

    #[test]
    fn approx_ticks_cover_range() {
        let t = approx_ticks((0.0, 20.0), 7);
        assert!(t.contains(&0.0) && t.contains(&5.0) && t.contains(&20.0));
        assert_eq!(approx_ticks((1.0, 1.0), 7), vec![1.0, 1.0]);
    }

    #[test]
    fn tick_labels_are_short() {
        assert_eq!(tick_label(0.30000000000000004, 1.0), "0.3");
        assert_eq!(tick_label(20.0, 64.0), "20");
        assert_eq!(tick_label(-0.0, 1.0), "0");
        assert_eq!(tick_label(0.125, 0.5), "0.125");
        assert_eq!(tick_label(2e6, 1e7), "2e6");
        assert_eq!(tick_label(-1.99e291, 4e307), "0");
        assert_eq!(tick_label(2.5e307, 4e307), "2.5e307");
    }
}
