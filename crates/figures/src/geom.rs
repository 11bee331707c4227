//! Pure geometry behind the plots: axis ranges, clipping and tick labels.
//!
//! Kept free of plotters types so it can be unit-tested exactly; plotters
//! itself does not clip lines to the plotting area, so a curve that leaves a
//! fixed `y_range` (the ResNet panels stop at 20 % error while the first
//! iterations sit near 90 %) would otherwise be drawn over the tick labels.

use crate::Panel;

/// Axis ranges actually used for a panel. `y` is in data units even on a log
/// axis; [`Ranges::t`] maps a value to the axis' linear coordinate.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Ranges {
    pub x: (f64, f64),
    pub y: (f64, f64),
    pub log_y: bool,
}

impl Ranges {
    /// The plotted coordinate of a y value: itself, or its log10 on a log
    /// axis (NaN for a non-positive value, which then breaks lines).
    pub fn t(&self, y: f64) -> f64 {
        if !self.log_y {
            y
        } else if y > 0.0 {
            y.log10()
        } else {
            f64::NAN
        }
    }

    /// The y range in plotted coordinates.
    pub fn ty(&self) -> (f64, f64) {
        (self.t(self.y.0), self.t(self.y.1))
    }
}

pub(crate) fn finite(p: (f64, f64)) -> bool {
    p.0.is_finite() && p.1.is_finite()
}

/// Fraction of the data span added above and below an automatic y range, so
/// the extreme points do not sit on the frame.
const Y_MARGIN: f64 = 0.05;

/// The same for arm charts, whose extremes are markers, not lines.
const ARM_MARGIN: f64 = 0.08;

/// Whether a panel has any finite data to show: a point or band row of a
/// series, or a seed or paper value of an arm. Panels without are left out
/// of the figure.
pub(crate) fn has_data(p: &Panel) -> bool {
    if !p.arms.is_empty() {
        return p
            .arms
            .iter()
            .any(|a| a.seeds.iter().any(|v| v.is_finite()) || a.paper.is_some_and(f64::is_finite));
    }
    p.series.iter().any(|s| {
        s.points.iter().any(|&q| finite(q))
            || s.band
                .iter()
                .any(|&(x, lo, hi)| x.is_finite() && (lo.is_finite() || hi.is_finite()))
    })
}

/// Mean and, with at least two values, sample standard deviation of the
/// finite values; `None` without any.
pub(crate) fn mean_std(values: &[f64]) -> Option<(f64, Option<f64>)> {
    let v: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    if v.is_empty() {
        return None;
    }
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    let std = (v.len() >= 2)
        .then(|| (v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt());
    Some((mean, std))
}

/// Chooses the panel's ranges: explicit ranges win, otherwise the finite data
/// decide (NaN/inf points never stretch an axis). Bands, horizontal reference
/// lines and reference ticks are included in an automatic y range so they
/// stay visible; vertical marks never widen the x range.
pub(crate) fn ranges(panel: &Panel) -> Ranges {
    if !panel.arms.is_empty() {
        return arm_ranges(panel);
    }
    let log_y = panel.log_y;
    let x = panel.x_range.unwrap_or_else(|| {
        let xs = panel.series.iter().flat_map(|s| {
            let points = s.points.iter().filter(|&&p| finite(p)).map(|p| p.0);
            let band = s
                .band
                .iter()
                .filter(|b| b.0.is_finite() && (b.1.is_finite() || b.2.is_finite()))
                .map(|b| b.0);
            points.chain(band)
        });
        widen_degenerate(min_max(xs).unwrap_or((0.0, 1.0)))
    });
    let auto = || auto_y(line_values(panel, x), log_y, Y_MARGIN);
    let y = match panel.y_range {
        Some((lo, hi)) if log_y && lo <= 0.0 => {
            // A log axis cannot start at zero: keep the explicit top, take
            // the bottom from the data.
            let a = auto();
            if hi <= 0.0 {
                a
            } else if a.0 < hi {
                (a.0, hi)
            } else {
                (hi / 100.0, hi)
            }
        }
        Some(r) => r,
        None => auto(),
    };
    Ranges { x, y, log_y }
}

/// Every y value of a curve panel that an automatic range must show.
fn line_values(panel: &Panel, x: (f64, f64)) -> Vec<f64> {
    let in_x = |v: f64| v >= x.0 && v <= x.1;
    let mut ys: Vec<f64> = Vec::new();
    for s in &panel.series {
        ys.extend(
            s.points
                .iter()
                .filter(|&&p| finite(p) && in_x(p.0))
                .map(|p| p.1),
        );
        for &(bx, lo, hi) in &s.band {
            if bx.is_finite() && in_x(bx) {
                ys.extend([lo, hi]);
            }
        }
    }
    ys.extend(panel.hlines.iter().map(|h| h.y));
    ys.extend(panel.ref_ticks.iter().map(|t| t.y));
    ys
}

/// Ranges of an arm chart: one unit per arm on x, seeds, means ± std and
/// paper values (and reference lines and ticks) on y.
fn arm_ranges(panel: &Panel) -> Ranges {
    let x = (-0.5, panel.arms.len() as f64 - 0.5);
    let y = panel.y_range.unwrap_or_else(|| {
        let mut ys: Vec<f64> = Vec::new();
        for a in &panel.arms {
            ys.extend(a.seeds.iter().copied());
            ys.extend(a.paper);
            if let Some((mean, std)) = mean_std(&a.seeds) {
                let s = std.unwrap_or(0.0);
                ys.extend([mean - s, mean + s]);
            }
        }
        ys.extend(panel.hlines.iter().map(|h| h.y));
        ys.extend(panel.ref_ticks.iter().map(|t| t.y));
        auto_y(ys, false, ARM_MARGIN)
    });
    Ranges { x, y, log_y: false }
}

/// The automatic y range of some values: their extremes with a margin
/// (multiplicative on a log axis, which only takes positive values).
fn auto_y(values: Vec<f64>, log: bool, margin: f64) -> (f64, f64) {
    let vals = values
        .into_iter()
        .filter(|v| v.is_finite() && (!log || *v > 0.0));
    let Some((lo, hi)) = min_max(vals) else {
        return if log { (1.0, 10.0) } else { (0.0, 1.0) };
    };
    if log {
        let (l, h) = (lo.log10(), hi.log10());
        let m = if h > l { (h - l) * margin } else { 0.2 };
        return (
            10f64.powf(l - m).max(f64::MIN_POSITIVE),
            10f64.powf(h + m).min(f64::MAX),
        );
    }
    if lo == hi {
        return widen_degenerate((lo, hi));
    }
    let m = (hi - lo) * margin;
    // Error rates are non-negative: a margin must not invent a negative part
    // of the axis.
    let lo2 = if lo >= 0.0 { (lo - m).max(0.0) } else { lo - m };
    sane((lo2, hi + m))
}

/// Ranges of the shown panels of a figure. With `share_y`, every panel with
/// data and without an explicit y range gets the union of those panels'
/// automatic y ranges (a log panel keeps a positive bottom).
pub(crate) fn figure_ranges(panels: &[&Panel], share_y: bool) -> Vec<Ranges> {
    let mut out: Vec<Ranges> = panels.iter().map(|p| ranges(p)).collect();
    if !share_y {
        return out;
    }
    let shared: Vec<usize> = (0..panels.len())
        .filter(|&i| panels[i].y_range.is_none() && has_data(panels[i]))
        .collect();
    let lo = shared
        .iter()
        .map(|&i| out[i].y.0)
        .fold(f64::INFINITY, f64::min);
    let hi = shared
        .iter()
        .map(|&i| out[i].y.1)
        .fold(f64::NEG_INFINITY, f64::max);
    let pos_lo = shared
        .iter()
        .map(|&i| out[i].y.0)
        .filter(|v| *v > 0.0)
        .fold(f64::INFINITY, f64::min);
    for i in shared {
        let r = &mut out[i];
        let bottom = if r.log_y { pos_lo } else { lo };
        if bottom.is_finite() && hi.is_finite() && bottom < hi {
            r.y = (bottom, hi);
        }
    }
    out
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

/// Sutherland–Hodgman: the part of a polygon inside the rectangle
/// `x` × `y` (empty when none is).
pub(crate) fn clip_polygon(poly: &[(f64, f64)], x: (f64, f64), y: (f64, f64)) -> Vec<(f64, f64)> {
    let mut out = poly.to_vec();
    for (axis, bound, keep_above) in [
        (0, x.0, true),
        (0, x.1, false),
        (1, y.0, true),
        (1, y.1, false),
    ] {
        let input = std::mem::take(&mut out);
        let coord = |p: (f64, f64)| if axis == 0 { p.0 } else { p.1 };
        let inside = |p: (f64, f64)| {
            if keep_above {
                coord(p) >= bound
            } else {
                coord(p) <= bound
            }
        };
        let cross = |a: (f64, f64), b: (f64, f64)| {
            let t = (bound - coord(a)) / (coord(b) - coord(a));
            let p = (a.0 + t * (b.0 - a.0), a.1 + t * (b.1 - a.1));
            if axis == 0 {
                (bound, p.1)
            } else {
                (p.0, bound)
            }
        };
        for (i, &cur) in input.iter().enumerate() {
            let prev = input[(i + input.len() - 1) % input.len()];
            match (inside(prev), inside(cur)) {
                (true, true) => out.push(cur),
                (true, false) => out.push(cross(prev, cur)),
                (false, true) => {
                    out.push(cross(prev, cur));
                    out.push(cur);
                }
                (false, false) => {}
            }
        }
    }
    out
}

/// The filled polygons of a seed band `(x, low, high)`, in plotted
/// coordinates and clipped to the panel: one per run of consecutive rows
/// whose values are all finite (and positive on a log axis). A run needs two
/// rows to have an area.
pub(crate) fn band_polygons(band: &[(f64, f64, f64)], r: &Ranges) -> Vec<Vec<(f64, f64)>> {
    let mut out = Vec::new();
    let mut run: Vec<(f64, f64, f64)> = Vec::new();
    let mut flush = |run: &mut Vec<(f64, f64, f64)>| {
        if run.len() >= 2 {
            let upper = run.iter().map(|&(x, _, hi)| (x, hi));
            let lower = run.iter().rev().map(|&(x, lo, _)| (x, lo));
            let poly: Vec<(f64, f64)> = upper.chain(lower).collect();
            let clipped = clip_polygon(&poly, r.x, r.ty());
            if clipped.len() >= 3 {
                out.push(clipped);
            }
        }
        run.clear();
    };
    for &(x, lo, hi) in band {
        let (l, h) = (r.t(lo), r.t(hi));
        if x.is_finite() && l.is_finite() && h.is_finite() {
            run.push((x, l.min(h), l.max(h)));
        } else {
            flush(&mut run);
        }
    }
    flush(&mut run);
    out
}

/// Spreads labels wanted at `desired` positions (any order) so that
/// neighbours are at least `gap` apart, moving each as little as the others
/// allow, within `lo..=hi` when they fit. Returns the positions in the order
/// of `desired`.
pub(crate) fn spread(desired: &[f64], gap: f64, lo: f64, hi: f64) -> Vec<f64> {
    let mut order: Vec<usize> = (0..desired.len()).collect();
    order.sort_by(|&a, &b| desired[a].total_cmp(&desired[b]));
    let mut pos: Vec<f64> = order.iter().map(|&i| desired[i].max(lo)).collect();
    for k in 1..pos.len() {
        pos[k] = pos[k].max(pos[k - 1] + gap);
    }
    if let Some(last) = pos.last_mut() {
        *last = last.min(hi);
    }
    for k in (0..pos.len().saturating_sub(1)).rev() {
        pos[k] = pos[k].min(pos[k + 1] - gap);
    }
    let mut out = vec![0.0; desired.len()];
    for (k, &i) in order.iter().enumerate() {
        out[i] = pos[k];
    }
    out
}

/// Tick label with as many decimals as the axis span needs and no trailing
/// zeros, so an axis reads "0 2 4 6" or "0.05 0.1", never
/// "0.30000000000000004"; a tick that is zero up to rounding reads "0".
/// Large round numbers read "20k" (on an axis spanning at least 10000) or
/// "2.5M"; only beyond a billion is scientific notation used ("2e9").
pub(crate) fn tick_label(v: f64, span: f64) -> String {
    if span > 0.0 && v.abs() < span * 1e-9 {
        return "0".to_string();
    }
    let a = v.abs();
    if a >= 1e9 || !v.is_finite() {
        return scientific(v);
    }
    if a >= 1e6 {
        if let Some(s) = suffixed(v, 1e6, "M") {
            return s;
        }
    } else if a >= 1e3 && span >= 1e4 {
        if let Some(s) = suffixed(v, 1e3, "k") {
            return s;
        }
    }
    let decimals = if span > 0.0 && span.is_finite() {
        (2.0 - span.log10().floor()).clamp(0.0, 8.0) as usize
    } else {
        2
    };
    trim(format!("{v:.decimals$}"))
}

/// "2e307" rather than "2.00e307": tick labels must stay narrow.
fn scientific(v: f64) -> String {
    let s = format!("{v:.2e}");
    let (mant, exp) = s.split_once('e').unwrap_or((&s, "0"));
    let mant = mant.trim_end_matches('0').trim_end_matches('.');
    format!("{mant}e{exp}")
}

/// `v` in `unit`s with a suffix ("12.5k"), when at most two decimals say it
/// exactly; otherwise `None` (so close ticks never print alike).
fn suffixed(v: f64, unit: f64, suffix: &str) -> Option<String> {
    let q = v / unit;
    let r = (q * 100.0).round() / 100.0;
    ((q - r).abs() <= 1e-9 * q.abs().max(1.0)).then(|| trim(format!("{r:.2}")) + suffix)
}

fn trim(mut s: String) -> String {
    if s.contains('.') {
        s = s.trim_end_matches('0').trim_end_matches('.').to_string();
    }
    if s == "-0" {
        s = "0".to_string();
    }
    s
}

/// Ticks of a log axis over `lo..hi` (data units, both positive) with their
/// labels: the densest of 1-…-9, 1-2-5 or powers of ten per decade that
/// gives at most `max_n` ticks (every k-th decade when even powers of ten are
/// too many), or linear 1-2-5 ticks when the range is too narrow for two.
pub(crate) fn log_ticks((lo, hi): (f64, f64), max_n: usize) -> Vec<(f64, String)> {
    if !(lo > 0.0 && hi > lo && hi.is_finite()) {
        return Vec::new();
    }
    let (k0, k1) = (lo.log10().floor() as i32, hi.log10().ceil() as i32);
    let in_range = |v: &f64| *v >= lo * (1.0 - 1e-9) && *v <= hi * (1.0 + 1e-9);
    let per_decade = |mults: &[f64]| -> Vec<f64> {
        (k0..=k1)
            .flat_map(|k| mults.iter().map(move |m| m * 10f64.powi(k)))
            .filter(in_range)
            .collect()
    };
    let label = |v: f64| {
        if !(1e-3..1e9).contains(&v) {
            scientific(v)
        } else {
            tick_label(v, v)
        }
    };
    let all: [&[f64]; 3] = [
        &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0],
        &[1.0, 2.0, 5.0],
        &[1.0],
    ];
    for mults in all {
        let ticks = per_decade(mults);
        if ticks.len() <= max_n {
            if ticks.len() < 2 {
                break;
            }
            return ticks.into_iter().map(|v| (v, label(v))).collect();
        }
    }
    let decades = per_decade(&[1.0]);
    if decades.len() > max_n {
        let every = decades.len().div_ceil(max_n.max(1));
        return decades
            .into_iter()
            .filter(|v| (v.log10().round() as i64).rem_euclid(every as i64) == 0)
            .map(|v| (v, label(v)))
            .collect();
    }
    let span = hi - lo;
    nice_ticks((lo, hi), 5)
        .into_iter()
        .map(|v| (v, tick_label(v, span)))
        .collect()
}

/// About `n` ticks in 1-2-5 steps inside `lo..=hi`.
fn nice_ticks((lo, hi): (f64, f64), n: usize) -> Vec<f64> {
    let span = hi - lo;
    if !(span > 0.0 && span.is_finite()) {
        return vec![lo];
    }
    let raw = span / n.max(1) as f64;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag);
    let mut ticks = Vec::new();
    let mut i = (lo / step).ceil();
    while i * step <= hi && ticks.len() < 64 {
        ticks.push(i * step);
        i += 1.0;
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
            ..Panel::new("", "", "")
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
                y: (0.0, 1.0),
                log_y: false,
            }
        );
    }

    #[test]
    fn tick_labels_are_short() {
        assert_eq!(tick_label(0.30000000000000004, 1.0), "0.3");
        assert_eq!(tick_label(20.0, 64.0), "20");
        assert_eq!(tick_label(-0.0, 1.0), "0");
        assert_eq!(tick_label(0.125, 0.5), "0.125");
        assert_eq!(tick_label(2e6, 1e7), "2M");
        assert_eq!(tick_label(2e9, 1e10), "2e9");
        assert_eq!(tick_label(20000.0, 64000.0), "20k");
        assert_eq!(tick_label(5000.0, 20000.0), "5k");
        assert_eq!(tick_label(12500.0, 20000.0), "12.5k");
        // Small spans keep plain digits, so close ticks never print alike.
        assert_eq!(tick_label(10100.0, 500.0), "10100");
        assert_eq!(tick_label(1000100.0, 500.0), "1000100");
        assert_eq!(tick_label(5000.0, 8000.0), "5000");
        assert_eq!(tick_label(-1.99e291, 4e307), "0");
        assert_eq!(tick_label(2.5e307, 4e307), "2.5e307");
    }

    fn labels(r: (f64, f64)) -> Vec<String> {
        log_ticks(r, 8).into_iter().map(|t| t.1).collect()
    }

    #[test]
    fn log_ticks_are_readable() {
        assert_eq!(labels((1.0, 60.0)), ["1", "2", "5", "10", "20", "50"]);
        assert_eq!(labels((4.5, 9.5)), ["5", "6", "7", "8", "9"]);
        assert_eq!(
            labels((0.001, 1000.0)),
            ["0.001", "0.01", "0.1", "1", "10", "100", "1000"]
        );
        assert_eq!(labels((0.02, 0.6)), ["0.02", "0.05", "0.1", "0.2", "0.5"]);
        assert_eq!(labels((1e3, 1e5)).last().unwrap(), "100k");
        // Too many decades: every k-th power of ten.
        assert_eq!(
            labels((1e-6, 1e10)),
            ["1e-6", "0.001", "1", "1000", "1M", "1e9"]
        );
        // Too narrow for two 1-…-9 ticks: linear ticks.
        assert_eq!(
            labels((100.0, 100.5)),
            ["100", "100.1", "100.2", "100.3", "100.4", "100.5"]
        );
        assert!(log_ticks((0.0, 1.0), 8).is_empty());
    }

    #[test]
    fn spread_keeps_order_and_gaps() {
        let at = spread(&[50.0, 48.0, 200.0, 49.0], 10.0, 0.0, 300.0);
        assert_eq!(at[2], 200.0);
        let mut near = [at[1], at[3], at[0]];
        near.sort_by(f64::total_cmp);
        assert!(
            near.windows(2).all(|w| w[1] - w[0] >= 10.0 - 1e-9),
            "{at:?}"
        );
        assert!(at[1] < at[3] && at[3] < at[0], "order kept: {at:?}");
        // Pushed back inside at the bottom.
        let at = spread(&[99.0, 100.0], 10.0, 0.0, 100.0);
        assert_eq!(at, vec![90.0, 100.0]);
    }

    #[test]
    fn polygons_clip_to_the_rectangle() {
        let square = [(-1.0, -1.0), (2.0, -1.0), (2.0, 2.0), (-1.0, 2.0)];
        let c = clip_polygon(&square, (0.0, 1.0), (0.0, 1.0));
        assert_eq!(c.len(), 4);
        assert!(c
            .iter()
            .all(|p| (0.0..=1.0).contains(&p.0) && (0.0..=1.0).contains(&p.1)));
        assert!(clip_polygon(&square, (5.0, 6.0), (0.0, 1.0)).is_empty());
    }

    #[test]
    fn bands_break_and_log_drops_non_positive() {
        let r = Ranges {
            x: (0.0, 10.0),
            y: (0.1, 100.0),
            log_y: true,
        };
        let band = [
            (0.0, 1.0, 10.0),
            (1.0, 1.0, 10.0),
            (2.0, 0.0, 10.0),
            (3.0, 1.0, 10.0),
            (4.0, 1.0, 10.0),
        ];
        let polys = band_polygons(&band, &r);
        assert_eq!(polys.len(), 2);
        assert!(
            polys[0].iter().all(|p| p.1 == 0.0 || p.1 == 1.0),
            "log10 applied"
        );
        let lin = Ranges { log_y: false, ..r };
        assert_eq!(band_polygons(&band, &lin).len(), 1);
    }

    #[test]
    fn mean_and_sample_std() {
        assert_eq!(mean_std(&[]), None);
        assert_eq!(mean_std(&[f64::NAN, 3.0]), Some((3.0, None)));
        let (m, s) = mean_std(&[1.0, 2.0, 3.0]).unwrap();
        assert_eq!((m, s), (2.0, Some(1.0)));
    }

    #[test]
    fn ranges_include_bands_ref_ticks_and_arms() {
        let mut p = Panel::new("", "", "");
        p.series.push(
            Series::new("a", vec![(0.0, 10.0), (1.0, 20.0)], 0)
                .with_band(vec![(0.0, 5.0, 40.0), (2.0, 5.0, 30.0)]),
        );
        p.ref_ticks.push(crate::RefTick::new(-10.0, "", 0));
        p.vlines.push(crate::VLine::new(50.0, ""));
        let r = ranges(&p);
        assert_eq!(r.x, (0.0, 2.0), "band x counts, vlines do not");
        assert!(r.y.0 < -10.0 && r.y.1 > 40.0, "{r:?}");

        let arms = Panel::arms(
            "",
            "",
            vec![crate::ArmPoint::new("a", vec![1.0, 3.0], 0).with_paper(10.0)],
        );
        let r = ranges(&arms);
        assert_eq!(r.x, (-0.5, 0.5));
        assert!(r.y.0 < 1.0 && r.y.1 > 10.0 && r.y.0 >= 0.0, "{r:?}");
        assert!(has_data(&arms) && !has_data(&Panel::arms("", "", vec![])));
    }

    #[test]
    fn shared_ranges_are_the_union() {
        let mut a = Panel::new("", "", "");
        a.series
            .push(Series::new("a", vec![(0.0, 1.0), (1.0, 2.0)], 0));
        let mut b = Panel::new("", "", "");
        b.series
            .push(Series::new("b", vec![(0.0, 10.0), (1.0, 50.0)], 0));
        let mut c = b.clone();
        c.y_range = Some((0.0, 5.0));
        let mut d = b.clone();
        d.log_y = true;
        let own = figure_ranges(&[&a, &b, &c, &d], false);
        assert_ne!(own[0].y, own[1].y);
        let shared = figure_ranges(&[&a, &b, &c, &d], true);
        assert_eq!(shared[0].y, shared[1].y);
        assert_eq!(shared[0].y, (own[0].y.0, own[1].y.1.max(own[3].y.1)));
        assert_eq!(shared[2].y, (0.0, 5.0), "explicit range kept");
        assert!(
            shared[3].y.0 > 0.0 && shared[3].y.1 == shared[0].y.1,
            "log keeps a positive bottom"
        );
    }

    #[test]
    fn log_axis_with_explicit_zero_bottom_uses_data() {
        let mut p = Panel::new("", "", "");
        p.log_y = true;
        p.y_range = Some((0.0, 100.0));
        p.series.push(Series::new(
            "a",
            vec![(0.0, 0.0), (1.0, 5.0), (2.0, 50.0)],
            0,
        ));
        let r = ranges(&p);
        assert!(r.y.0 > 0.0 && r.y.0 < 5.0 && r.y.1 == 100.0, "{r:?}");
    }
}
