//! Categorical "arm" charts: one column per arm of an ablation, with every
//! seed's final value, their mean ± sample std, and the paper's value.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::legend::{self, Entry, Glyph, DIAMOND};
use crate::primitives::{box_frame, err, no_data, rgb, sample_rect, sample_segment, Frame, INK};
use crate::text::{self, font, measure, R};
use crate::{marks, ArmPoint, Panel};

/// How the arm labels under the x axis are set: horizontal and wrapped onto
/// up to three lines when every label fits its column that way, otherwise
/// turned to read upwards (wrapped to `room` pixels if even that is long).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct ArmLabels {
    pub size: f64,
    pub lines: Vec<Vec<String>>,
    pub rotated: bool,
    /// Pixels the labels need below the axis.
    pub height: u32,
}

const MAX_LINES: usize = 3;

/// Distance between the lines of a label.
fn label_line(size: f64) -> i32 {
    (size * 1.2).round() as i32
}

/// Lays out the arm labels for a plotting area `plot_w` pixels wide, with at
/// most about `room` pixels below it.
pub(crate) fn label_layout(arms: &[ArmPoint], plot_w: u32, room: u32) -> R<ArmLabels> {
    let colw = (plot_w / arms.len().max(1) as u32).saturating_sub(6).max(1);
    'size: for size in [12.0, 11.0, 10.0, 9.0] {
        let mut lines = Vec::new();
        for a in arms {
            let w = text::wrap(&a.label, size, false, colw)?;
            if w.broken || w.lines.len() > MAX_LINES {
                continue 'size;
            }
            lines.push(w.lines);
        }
        let n = lines.iter().map(Vec::len).max().unwrap_or(0).max(1) as i32;
        let height = (n - 1) * label_line(size) + measure("Ag", size, false)?.1 as i32 + 8;
        return Ok(ArmLabels {
            size,
            lines,
            rotated: false,
            height: height as u32,
        });
    }
    // Too many or too long for horizontal labels: turn them, shrinking
    // until the longest fits the room below the axis.
    let room = room.max(40);
    let longest = |size: f64| -> R<u32> {
        arms.iter()
            .map(|a| measure(&a.label, size, false).map(|m| m.0))
            .try_fold(0, |acc, w| w.map(|w| acc.max(w)))
    };
    let mut size = 11.0;
    while size > 8.0 && longest(size)? > room {
        size -= 1.0;
    }
    let lines = arms
        .iter()
        .map(|a| text::wrap(&a.label, size, false, room).map(|w| w.lines))
        .collect::<R<Vec<_>>>()?;
    Ok(ArmLabels {
        size,
        height: longest(size)?.min(room) + 8,
        lines,
        rotated: true,
    })
}

/// An arm panel: reference lines, one column per arm, frame, reference
/// ticks, arm labels under the axis and the glyph legend.
pub(crate) fn draw<DB: DrawingBackend>(
    f: &Frame<DB>,
    area: &DrawingArea<DB, Shift>,
    p: &Panel,
    labels: &ArmLabels,
) -> R<()> {
    let mut occupied: Vec<(i32, i32)> = Vec::new();
    let rows = marks::hlines(f, &p.hlines, &mut occupied)?;
    let colw = f.w as f64 / p.arms.len().max(1) as f64;
    let hw = (colw * 0.22).clamp(5.0, 26.0) as i32;
    for (i, arm) in p.arms.iter().enumerate() {
        let cx = f.px((i as f64, f.r.ty().0)).0;
        column(f, arm, (cx, colw), hw, &mut occupied)?;
    }
    box_frame(f)?;
    marks::hline_labels(f, &rows, &mut occupied)?;
    marks::ref_ticks(f, &p.ref_ticks, &mut occupied)?;
    axis_labels(f, area, p.arms.len(), labels)?;
    if !crate::geom::has_data(p) {
        no_data(f)?;
    }
    legend::draw(f, &legend_entries(&p.arms), &occupied)
}

/// Legend rows for the glyphs that appear: "seed", "mean ± std", "paper".
fn legend_entries(arms: &[ArmPoint]) -> Vec<Entry> {
    let any_seed = arms.iter().any(|a| a.seeds.iter().any(|v| v.is_finite()));
    let any_paper = arms.iter().any(|a| a.paper.is_some_and(f64::is_finite));
    [
        (any_seed, "seed", Glyph::Seed),
        (any_seed, "mean ± std", Glyph::MeanStd),
        (any_paper, "paper", Glyph::Paper),
    ]
    .into_iter()
    .filter(|e| e.0)
    .map(|(_, label, glyph)| Entry {
        label: label.into(),
        glyph,
    })
    .collect()
}

/// One arm's column centred at pixel `cx`: error bar and mean bar, the seeds
/// as hollow circles spread evenly across the bar, and the paper's diamond
/// just right of the bar. Values outside the y range are left out (the error
/// bar is cut at the frame).
fn column<DB: DrawingBackend>(
    f: &Frame<DB>,
    arm: &ArmPoint,
    (cx, colw): (i32, f64),
    hw: i32,
    occupied: &mut Vec<(i32, i32)>,
) -> R<()> {
    let color = rgb(arm.color);
    if let Some((mean, std)) = crate::geom::mean_std(&arm.seeds) {
        let clamp_row = |y: f64| {
            let t = f.r.t(y).clamp(f.r.ty().0, f.r.ty().1);
            f.px((f.r.x.0, t)).1
        };
        let bar = std
            .filter(|s| *s > 0.0)
            .map(|s| (clamp_row(mean + s), clamp_row(mean - s)));
        if let Some(py) = f.row(mean) {
            legend::mean_std(&f.plot, cx, hw, py, bar, color)?;
            sample_rect(occupied, (cx - hw, py - 2), (cx + hw, py + 2));
        }
        if let Some((top, bottom)) = bar {
            sample_segment(occupied, (cx, top), (cx, bottom));
        }
    }
    let seeds: Vec<f64> = arm
        .seeds
        .iter()
        .copied()
        .filter(|v| v.is_finite())
        .collect();
    let m = seeds.len();
    let step = if m > 1 {
        (1.6 * hw as f64 / (m - 1) as f64).min(9.0)
    } else {
        0.0
    };
    for (k, &v) in seeds.iter().enumerate() {
        let x = cx + ((k as f64 - (m as f64 - 1.0) / 2.0) * step).round() as i32;
        if let Some(py) = f.row(v) {
            legend::seed_circle(&f.plot, (x, py), color)?;
            sample_rect(occupied, (x - 4, py - 4), (x + 4, py + 4));
        }
    }
    if let Some(py) = arm.paper.filter(|v| v.is_finite()).and_then(|v| f.row(v)) {
        // Beside the bar, but inside the column when columns are narrow.
        let x = cx + (hw + DIAMOND + 3).min((colw / 2.0) as i32).max(hw / 2);
        legend::diamond(&f.plot, (x, py))?;
        sample_rect(
            occupied,
            (x - DIAMOND, py - DIAMOND),
            (x + DIAMOND, py + DIAMOND),
        );
    }
    Ok(())
}

/// Tick marks and labels of the arms under the x axis, drawn on the panel
/// area (outside the plotting area).
fn axis_labels<DB: DrawingBackend>(
    f: &Frame<DB>,
    area: &DrawingArea<DB, Shift>,
    n: usize,
    labels: &ArmLabels,
) -> R<()> {
    let (pb, ab) = (f.plot.get_base_pixel(), area.get_base_pixel());
    let (ox, oy) = (pb.0 - ab.0, pb.1 - ab.1);
    let bottom = oy + f.h;
    let lh = label_line(labels.size);
    for i in 0..n {
        let cx = ox + f.px((i as f64, f.r.ty().0)).0;
        area.draw(&PathElement::new(
            vec![(cx, bottom), (cx, bottom + 4)],
            INK.stroke_width(1),
        ))
        .map_err(err)?;
        let lines = labels.lines.get(i).map(Vec::as_slice).unwrap_or(&[]);
        let k = lines.len() as i32;
        for (j, line) in lines.iter().enumerate() {
            let j = j as i32;
            let (pos, style) = if labels.rotated {
                let x = cx + (2 * j - (k - 1)) * lh / 2;
                let style = font(labels.size, false)
                    .transform(FontTransform::Rotate270)
                    .color(&INK)
                    .pos(Pos::new(HPos::Right, VPos::Center));
                ((x, bottom + 7), style)
            } else {
                let style = font(labels.size, false)
                    .color(&INK)
                    .pos(Pos::new(HPos::Center, VPos::Top));
                ((cx, bottom + 7 + j * lh), style)
            };
            area.draw(&Text::new(line.clone(), pos, style))
                .map_err(err)?;
        }
    }
    Ok(())
}
