//! Everything drawn in a plotting area besides the curves and arms: seed
//! bands, horizontal and vertical reference lines, the papers' reference
//! ticks, and their labels. Each records the pixels it covers in `occupied`
//! so the legend can avoid them.

use plotters::coord::Shift;
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::geom;
use crate::primitives::{err, rgb, sample_rect, sample_segment, Frame, GREY};
use crate::text::{font, measure, R};
use crate::{HLine, RefTick, Series, VLine};

/// Opacity of seed bands: visible, yet light enough for every curve to
/// read through.
pub(crate) const BAND_ALPHA: f64 = 0.2;

/// Fills the seed band of a series, translucent in the series colour.
pub(crate) fn band<DB: DrawingBackend>(
    f: &Frame<DB>,
    s: &Series,
    occupied: &mut Vec<(i32, i32)>,
) -> R<()> {
    let style = rgb(s.color).mix(BAND_ALPHA).filled();
    for poly in geom::band_polygons(&s.band, &f.r) {
        let px: Vec<(i32, i32)> = poly.iter().map(|&q| f.px(q)).collect();
        f.plot.draw(&Polygon::new(px.clone(), style)).map_err(err)?;
        sample_polygon(occupied, &px);
    }
    Ok(())
}

/// Grid points (every 4 px) inside a pixel polygon, by scanlines: each row
/// costs one pass over the edges, so long bands stay cheap.
fn sample_polygon(out: &mut Vec<(i32, i32)>, poly: &[(i32, i32)]) {
    let (Some(y0), Some(y1)) = (
        poly.iter().map(|p| p.1).min(),
        poly.iter().map(|p| p.1).max(),
    ) else {
        return;
    };
    let mut xs: Vec<f64> = Vec::new();
    for y in (y0..=y1).step_by(4) {
        let yc = y as f64 + 0.5;
        xs.clear();
        for (i, &a) in poly.iter().enumerate() {
            let b = poly[(i + poly.len() - 1) % poly.len()];
            let (ax, ay, bx, by) = (a.0 as f64, a.1 as f64, b.0 as f64, b.1 as f64);
            if (ay > yc) != (by > yc) {
                xs.push(ax + (bx - ax) * (yc - ay) / (by - ay));
            }
        }
        xs.sort_by(f64::total_cmp);
        for pair in xs.chunks_exact(2) {
            let mut x = pair[0].ceil() as i32;
            while (x as f64) <= pair[1] {
                out.push((x, y));
                x += 4;
            }
        }
    }
}

/// Draws the horizontal reference lines inside the y range; returns the
/// pixel rows of those with a label (drawn later, over the curves).
pub(crate) fn hlines<'p, DB: DrawingBackend>(
    f: &Frame<DB>,
    hlines: &'p [HLine],
    occupied: &mut Vec<(i32, i32)>,
) -> R<Vec<(i32, &'p str)>> {
    let mut rows = Vec::new();
    for h in hlines {
        let Some(py) = f.row(h.y).filter(|_| h.y.is_finite()) else {
            continue;
        };
        let line = vec![(0, py), (f.w - 1, py)];
        f.plot
            .draw(&DashedPathElement::new(line, 5, 4, GREY.stroke_width(1)))
            .map_err(err)?;
        sample_segment(occupied, (0, py), (f.w, py));
        if !h.label.is_empty() {
            rows.push((py, h.label.as_str()));
        }
    }
    Ok(rows)
}

pub(crate) fn hline_labels<DB: DrawingBackend>(
    f: &Frame<DB>,
    rows: &[(i32, &str)],
    occupied: &mut Vec<(i32, i32)>,
) -> R<()> {
    for &(py, label) in rows {
        hline_label(&f.plot, py, label, occupied)?;
    }
    Ok(())
}

/// Labels a reference line at the end (left or right) where fewer curve
/// pixels are, above the line unless it hugs the top of the plot, on a
/// translucent white patch so crossing curves do not garble it.
fn hline_label<DB: DrawingBackend>(
    plot: &DrawingArea<DB, Shift>,
    py: i32,
    label: &str,
    occupied: &mut Vec<(i32, i32)>,
) -> R<()> {
    const SIZE: f64 = 12.0;
    let (pw, _) = plot.dim_in_pixel();
    let (tw, th) = measure(label, SIZE, false)?;
    let (tw, th) = (tw as i32, th as i32);
    let top = if py - 3 - th >= 2 {
        py - 3 - th
    } else {
        py + 4
    };
    let right = pw as i32 - 6 - tw;
    let left = 6;
    let count = |x: i32| {
        occupied
            .iter()
            .filter(|&&(px, qy)| {
                px >= x - 2 && px <= x + tw + 2 && qy >= top - 1 && qy <= top + th + 1
            })
            .count()
    };
    let x = if count(left) < count(right) {
        left
    } else {
        right
    };
    patch(plot, (x, top), (tw, th))?;
    let style = font(SIZE, false)
        .color(&GREY)
        .pos(Pos::new(HPos::Left, VPos::Top));
    plot.draw(&Text::new(label.to_string(), (x, top), style))
        .map_err(err)?;
    sample_rect(occupied, (x, top), (x + tw, top + th));
    Ok(())
}

/// A translucent white patch under a label of size `(w, h)` at `(x, y)`.
fn patch<DB: DrawingBackend>(
    plot: &DrawingArea<DB, Shift>,
    (x, y): (i32, i32),
    (w, h): (i32, i32),
) -> R<()> {
    plot.draw(&Rectangle::new(
        [(x - 2, y - 1), (x + w + 2, y + h + 1)],
        WHITE.mix(0.8).filled(),
    ))
    .map_err(err)
}

/// Draws the vertical marks inside the x range as thin grey dotted lines;
/// returns the pixel columns of those with a label.
pub(crate) fn vlines<'p, DB: DrawingBackend>(
    f: &Frame<DB>,
    vlines: &'p [VLine],
    occupied: &mut Vec<(i32, i32)>,
) -> R<Vec<(i32, &'p str)>> {
    let mut cols = Vec::new();
    for v in vlines {
        if !(v.x.is_finite() && v.x >= f.r.x.0 && v.x <= f.r.x.1) {
            continue;
        }
        let px = f.px((v.x, f.r.ty().0)).0;
        let line = vec![(px, 0), (px, f.h - 1)];
        f.plot
            .draw(&DashedPathElement::new(line, 2, 3, GREY.stroke_width(1)))
            .map_err(err)?;
        sample_segment(occupied, (px, 0), (px, f.h));
        if !v.label.is_empty() {
            cols.push((px, v.label.as_str()));
        }
    }
    Ok(cols)
}

/// Labels vertical marks at the top of their line: right of it, or left
/// when that would leave the plot; a label that would overlap an earlier
/// one moves down a row.
pub(crate) fn vline_labels<DB: DrawingBackend>(
    f: &Frame<DB>,
    cols: &[(i32, &str)],
    occupied: &mut Vec<(i32, i32)>,
) -> R<()> {
    const SIZE: f64 = 11.0;
    let mut placed: Vec<(i32, i32, i32, i32)> = Vec::new();
    for &(px, label) in cols {
        let (tw, th) = measure(label, SIZE, false)?;
        let (tw, th) = (tw as i32, th as i32);
        let x = if px + 4 + tw <= f.w - 3 {
            px + 4
        } else {
            (px - 4 - tw).max(3)
        };
        let mut y = 4;
        while placed
            .iter()
            .any(|&(a, b, c, d)| x <= c + 3 && x + tw + 3 >= a && y <= d + 1 && y + th + 1 >= b)
            && y + 2 * th < f.h
        {
            y += th + 3;
        }
        placed.push((x, y, x + tw, y + th));
        patch(&f.plot, (x, y), (tw, th))?;
        let style = font(SIZE, false)
            .color(&GREY)
            .pos(Pos::new(HPos::Left, VPos::Top));
        f.plot
            .draw(&Text::new(label.to_string(), (x, y), style))
            .map_err(err)?;
        sample_rect(occupied, (x, y), (x + tw, y + th));
    }
    Ok(())
}

/// Length of a reference tick, in pixels.
const TICK_LEN: i32 = 14;

/// The papers' values: short thick ticks in their colour at the right edge
/// of the plotting area, labelled just left of the tick; labels of nearby
/// ticks are spread vertically (with a thin leader to their tick) so they
/// never overlap.
pub(crate) fn ref_ticks<DB: DrawingBackend>(
    f: &Frame<DB>,
    ticks: &[RefTick],
    occupied: &mut Vec<(i32, i32)>,
) -> R<()> {
    const SIZE: f64 = 11.0;
    let shown: Vec<(&RefTick, i32)> = ticks
        .iter()
        .filter_map(|t| Some(t).zip(f.row(t.y).filter(|_| t.y.is_finite())))
        .collect();
    let th = measure("Ag", SIZE, false)?.1 as i32;
    let desired: Vec<f64> = shown.iter().map(|&(_, py)| py as f64).collect();
    let half = th as f64 / 2.0 + 2.0;
    let at = geom::spread(&desired, th as f64 + 3.0, half, f.h as f64 - half);
    let x1 = f.w - 2;
    let x0 = x1 - TICK_LEN;
    for (&(t, py), &ly) in shown.iter().zip(&at) {
        let color = rgb(t.color);
        f.plot
            .draw(&PathElement::new(
                vec![(x0, py), (x1, py)],
                color.stroke_width(3),
            ))
            .map_err(err)?;
        sample_segment(occupied, (x0, py), (x1, py));
        if t.label.is_empty() {
            continue;
        }
        let ly = ly.round() as i32;
        let tw = measure(&t.label, SIZE, false)?.0 as i32;
        let right = x0 - 5;
        if (ly - py).abs() > 2 {
            f.plot
                .draw(&PathElement::new(
                    vec![(right + 1, ly), (x0, py)],
                    color.stroke_width(1),
                ))
                .map_err(err)?;
        }
        patch(&f.plot, (right - tw, ly - th / 2), (tw, th))?;
        let style = font(SIZE, false)
            .color(&color)
            .pos(Pos::new(HPos::Right, VPos::Center));
        f.plot
            .draw(&Text::new(t.label.clone(), (right, ly), style))
            .map_err(err)?;
        sample_rect(occupied, (right - tw, ly - th / 2), (right, ly + th / 2));
    }
    Ok(())
}
