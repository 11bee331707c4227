//! Drawing of a [`Figure`] onto any plotters backend.
//!
//! The same code draws the SVG and the PNG, so the two files always show the
//! same figure; only the backend differs.

use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::arms::{self, ArmLabels};
use crate::geom::{self, Ranges};
use crate::legend::{self, Entry, Glyph};
use crate::marks;
use crate::primitives::{
    box_frame, dash_pattern, err, marker_radius, no_data, sample_rect, sample_segment,
    series_style, Axis, Coord, Frame, Tick, GREY, INK,
};
use crate::text::{self, font, measure, Header, Wrapped, R};
use crate::{Dash, Figure, Panel, Series};

/// Header height when the text cannot be measured (never in practice: the
/// fonts are compiled in).
pub(crate) const HEADER_H: u32 = 62;

const GRID: RGBColor = RGBColor(218, 218, 218);

/// Draws the whole figure: header (title + caption) and the shown panels
/// left to right.
pub(crate) fn figure<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, fig: &Figure) -> R<()> {
    root.fill(&WHITE).map_err(err)?;
    let (w, _) = root.dim_in_pixel();
    let head = text::header(fig, w)?;
    let (header, body) = root.split_vertically(head.height);
    draw_header(&header, &head, w)?;
    let panels = fig.shown_panels();
    let ranges = geom::figure_ranges(&panels, fig.share_y);
    let (bw, bh) = body.dim_in_pixel();
    let size = (bw / panels.len() as u32, bh);
    let layout = Layout::new(&panels, &ranges, size)?;
    let areas = body.split_evenly((1, panels.len()));
    for (i, area) in areas.iter().enumerate() {
        panel(area, panels[i], &ranges[i], &layout, i)?;
    }
    Ok(())
}

fn draw_header<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, h: &Header, w: u32) -> R<()> {
    let cx = w as i32 / 2;
    let mut y = text::HEADER_TOP;
    for (block, bold, color) in [(&h.title, true, INK), (&h.caption, false, GREY)] {
        let lh = text::line_height(block.size);
        let style = font(block.size, bold)
            .color(&color)
            .pos(Pos::new(HPos::Center, VPos::Top));
        for line in &block.lines {
            area.draw(&Text::new(line.clone(), (cx, y), style.clone()))
                .map_err(err)?;
            y += lh;
        }
        y += text::HEADER_GAP;
    }
    Ok(())
}

/// Space reserved around every panel's plotting area. Shared by all panels
/// of a figure so their frames line up, as in the papers, even when one panel
/// has no title, a longer title or wider tick labels.
pub(crate) struct Layout {
    title_h: u32,
    titles: Vec<Wrapped>,
    x_area: u32,
    y_area: u32,
    arm_labels: Vec<Option<ArmLabels>>,
}

const TICK_FONT: f64 = 13.0;
const DESC_FONT: f64 = 15.0;
const N_TICKS: usize = 7;
const TITLE_SIZES: [f64; 6] = [16.0, 15.0, 14.0, 13.0, 12.0, 11.0];
/// Chart margins around the label areas (see [`build_chart`]).
const MARGIN_LEFT: u32 = 8;
const MARGIN_RIGHT: u32 = 18;
const MARGIN_BOTTOM: u32 = 8;

impl Layout {
    fn new(panels: &[&Panel], ranges: &[Ranges], (panel_w, panel_h): (u32, u32)) -> R<Self> {
        let any_x_desc = panels.iter().any(|p| !p.x_label.is_empty());
        let any_y_desc = panels.iter().any(|p| !p.y_label.is_empty());
        // The widest y tick label decides the room left of the axis.
        let mut tick_w = 0;
        for r in ranges {
            for t in y_ticks(r) {
                tick_w = tick_w.max(measure(&t.label, TICK_FONT, false)?.0);
            }
        }
        let desc_h = measure("Ag", DESC_FONT, false)?.1;
        let y_area = (tick_w + 16 + if any_y_desc { desc_h + 10 } else { 0 }).min(panel_w / 3);
        let title_w = title_span(panel_w, y_area).1;
        let titles = panels
            .iter()
            .map(|p| text::fit_title(&p.title, title_w, &TITLE_SIZES[..3], &TITLE_SIZES, 2))
            .collect::<R<Vec<_>>>()?;
        let title_h = titles
            .iter()
            .filter(|w| !w.lines.is_empty())
            .map(|w| title_block(w) as u32 + 12)
            .max()
            .unwrap_or(0);
        let plot_w = panel_w.saturating_sub(MARGIN_LEFT + MARGIN_RIGHT + y_area);
        let arm_labels = panels
            .iter()
            .map(|p| {
                let room = panel_h / 3;
                (!p.arms.is_empty())
                    .then(|| arms::label_layout(&p.arms, plot_w, room))
                    .transpose()
            })
            .collect::<R<Vec<_>>>()?;
        let labels_h = arm_labels.iter().flatten().map(|l| l.height + 12);
        let desc = if any_x_desc { desc_h + 8 } else { 0 };
        Ok(Layout {
            title_h,
            titles,
            x_area: labels_h.chain([X_TICKS_H]).max().unwrap_or(X_TICKS_H) + desc,
            y_area,
            arm_labels,
        })
    }
}

/// The ticks plotters would choose for a linear axis (1-2-5 steps, about
/// [`N_TICKS`]), labelled by [`geom::tick_label`].
fn linear_ticks((lo, hi): (f64, f64)) -> Vec<Tick> {
    RangedCoordf64::from(lo..hi)
        .key_points(N_TICKS)
        .into_iter()
        .map(|v| Tick {
            at: v,
            label: geom::tick_label(v, hi - lo),
        })
        .collect()
}

/// The y ticks of a panel: linear, or 1-2-5 ticks per decade on a log axis.
pub(crate) fn y_ticks(r: &Ranges) -> Vec<Tick> {
    if !r.log_y {
        return linear_ticks(r.y);
    }
    geom::log_ticks(r.y, 8)
        .into_iter()
        .map(|(v, label)| Tick {
            at: v.log10(),
            label,
        })
        .collect()
}

/// The label of the tick nearest to `v`.
fn label_at(ticks: &[Tick], v: f64) -> String {
    ticks
        .iter()
        .min_by(|a, b| (a.at - v).abs().total_cmp(&(b.at - v).abs()))
        .map(|t| t.label.clone())
        .unwrap_or_default()
}

fn panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    p: &Panel,
    r: &Ranges,
    layout: &Layout,
    idx: usize,
) -> R<()> {
    let (title_area, area) = area.split_vertically(layout.title_h);
    panel_title(&title_area, &layout.titles[idx], layout)?;
    let x_ticks = if p.arms.is_empty() {
        linear_ticks(r.x)
    } else {
        Vec::new()
    };
    let y_ticks = y_ticks(r);
    let mut chart = build_chart(&area, r, layout, &x_ticks, &y_ticks)?;
    let xfmt = |v: &f64| label_at(&x_ticks, *v);
    let yfmt = |v: &f64| label_at(&y_ticks, *v);
    chart
        .configure_mesh()
        .bold_line_style(GRID.stroke_width(1))
        .light_line_style(TRANSPARENT)
        .max_light_lines(0)
        .axis_style(INK.stroke_width(1))
        .x_label_formatter(&xfmt)
        .y_label_formatter(&yfmt)
        .label_style(font(TICK_FONT, false).color(&INK))
        .axis_desc_style(font(DESC_FONT, false).color(&INK))
        .y_desc(p.y_label.as_str())
        .draw()
        .map_err(err)?;
    let frame = Frame::new(chart.plotting_area(), *r);
    let labels = layout.arm_labels[idx]
        .as_ref()
        .filter(|_| !p.arms.is_empty());
    let below = labels.map_or(X_TICKS_H, |l| l.height + 12);
    x_desc(&frame, &area, &p.x_label, below)?;
    match labels {
        Some(labels) => arms::draw(&frame, &area, p, labels),
        None => curves(&frame, p),
    }
}

/// Room under the x axis for its tick labels.
const X_TICKS_H: u32 = 30;

/// The x axis description, right under this panel's own tick or arm labels
/// (`below` pixels under the axis) rather than at the bottom of the label
/// area shared by all panels, which an arm panel's long labels may deepen.
fn x_desc<DB: DrawingBackend>(
    f: &Frame<DB>,
    area: &DrawingArea<DB, Shift>,
    label: &str,
    below: u32,
) -> R<()> {
    if label.is_empty() {
        return Ok(());
    }
    let (pb, ab) = (f.plot.get_base_pixel(), area.get_base_pixel());
    let x = pb.0 - ab.0 + f.w / 2;
    let y = pb.1 - ab.1 + f.h + below as i32 + measure("Ag", DESC_FONT, false)?.1 as i32 + 8;
    let style = font(DESC_FONT, false)
        .color(&INK)
        .pos(Pos::new(HPos::Center, VPos::Bottom));
    area.draw(&Text::new(label.to_string(), (x, y), style))
        .map_err(err)
}

/// The panel title, wrapped, centred over the plotting area (not the whole
/// panel) in a strip of the same height in every panel (plotters' caption
/// height follows the text, which would misalign the panels).
fn panel_title<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    title: &Wrapped,
    layout: &Layout,
) -> R<()> {
    if title.lines.is_empty() {
        return Ok(());
    }
    let (aw, _) = area.dim_in_pixel();
    let lh = (title.size * 1.2).round() as i32;
    let top = (layout.title_h as i32 - title_block(title)) / 2 + 2;
    let cx = title_span(aw, layout.y_area).0;
    let style = font(title.size, true)
        .color(&INK)
        .pos(Pos::new(HPos::Center, VPos::Top));
    for (i, line) in title.lines.iter().enumerate() {
        area.draw(&Text::new(
            line.clone(),
            (cx, top + i as i32 * lh),
            style.clone(),
        ))
        .map_err(err)?;
    }
    Ok(())
}

/// Centre and usable width of a panel title centred over the plotting area
/// of a panel `panel_w` wide, staying inside the panel.
fn title_span(panel_w: u32, y_area: u32) -> (i32, u32) {
    let cx = (y_area + MARGIN_LEFT + panel_w).saturating_sub(MARGIN_RIGHT) as i32 / 2;
    let half = cx.min(panel_w as i32 - cx) - 4;
    (cx, 2 * half.max(1) as u32)
}

/// Height of a wrapped panel title from the top of its first line to the
/// bottom of its last.
fn title_block(w: &Wrapped) -> i32 {
    let n = w.lines.len() as i32;
    (w.size / 1.24) as i32 + (n - 1).max(0) * (w.size * 1.2).round() as i32
}

fn build_chart<'a, DB: DrawingBackend>(
    area: &'a DrawingArea<DB, Shift>,
    r: &Ranges,
    layout: &Layout,
    x_ticks: &[Tick],
    y_ticks: &[Tick],
) -> R<ChartContext<'a, DB, Coord>> {
    ChartBuilder::on(area)
        .margin_top(if layout.title_h > 0 { 2 } else { 10 })
        .margin_bottom(MARGIN_BOTTOM)
        .margin_left(MARGIN_LEFT)
        .margin_right(MARGIN_RIGHT)
        .x_label_area_size(layout.x_area)
        .y_label_area_size(layout.y_area)
        .build_cartesian_2d(Axis::new(r.x, x_ticks), Axis::new(r.ty(), y_ticks))
        .map_err(err)
}

/// A curve panel: bands, reference lines, curves, marks and the legend.
fn curves<DB: DrawingBackend>(f: &Frame<DB>, p: &Panel) -> R<()> {
    // Pixels covered by data and labels, so the legend can avoid them.
    let mut occupied: Vec<(i32, i32)> = Vec::new();
    for s in &p.series {
        marks::band(f, s, &mut occupied)?;
    }
    let rows = marks::hlines(f, &p.hlines, &mut occupied)?;
    let vline_xs = marks::vlines(f, &p.vlines, &mut occupied)?;
    let mut visible = false;
    for s in &p.series {
        visible |= series(f, s, &mut occupied)?;
    }
    visible |= p
        .series
        .iter()
        .any(|s| !geom::band_polygons(&s.band, &f.r).is_empty());
    box_frame(f)?;
    marks::hline_labels(f, &rows, &mut occupied)?;
    marks::vline_labels(f, &vline_xs, &mut occupied)?;
    marks::ref_ticks(f, &p.ref_ticks, &mut occupied)?;
    if !visible {
        no_data(f)?;
    }
    let entries: Vec<Entry> = p
        .series
        .iter()
        .filter(|s| s.show_in_legend)
        .map(|s| Entry {
            label: s.label.clone(),
            glyph: Glyph::Line {
                style: series_style(s),
                dash: s.dash,
                width: s.width,
                marker: s.markers,
            },
        })
        .collect();
    legend::draw(f, &entries, &occupied)
}

/// Draws one curve (clipped, broken at non-finite points) and its markers;
/// returns whether anything of it was visible.
fn series<DB: DrawingBackend>(
    f: &Frame<DB>,
    s: &Series,
    occupied: &mut Vec<(i32, i32)>,
) -> R<bool> {
    let style = series_style(s);
    let pts: Vec<(f64, f64)> = s.points.iter().map(|&(x, y)| (x, f.r.t(y))).collect();
    let mut visible = false;
    for run in geom::clip_runs(&pts, f.r.x, f.r.ty()) {
        visible = true;
        let px: Vec<(i32, i32)> = run.iter().map(|&q| f.px(q)).collect();
        for w in px.windows(2) {
            sample_segment(occupied, w[0], w[1]);
        }
        if px.len() == 1 {
            // A lone point between NaNs would be an invisible zero-length
            // line: mark it instead.
            occupied.push(px[0]);
            if !s.markers {
                let dot = Circle::new(px[0], s.width.max(1) + 1, style.filled());
                f.plot.draw(&dot).map_err(err)?;
            }
            continue;
        }
        match s.dash {
            Dash::Solid => f.plot.draw(&PathElement::new(px, style)),
            Dash::Dashed => {
                let (d, g) = dash_pattern(s.width);
                f.plot.draw(&DashedPathElement::new(px, d, g, style))
            }
        }
        .map_err(err)?;
    }
    if s.markers {
        let (x, y) = (f.r.x, f.r.ty());
        let inside = |q: &(f64, f64)| q.0 >= x.0 && q.0 <= x.1 && q.1 >= y.0 && q.1 <= y.1;
        for q in pts.iter().filter(|q| geom::finite(**q) && inside(q)) {
            let c = f.px(*q);
            let r = marker_radius(s.width);
            f.plot
                .draw(&Circle::new(c, r, style.filled()))
                .map_err(err)?;
            sample_rect(
                occupied,
                (c.0 - r as i32, c.1 - r as i32),
                (c.0 + r as i32, c.1 + r as i32),
            );
        }
    }
    Ok(visible)
}
