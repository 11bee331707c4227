//! Drawing of a [`Figure`] onto any plotters backend.
//!
//! The same code draws the SVG and the PNG, so the two files always show the
//! same figure; only the backend differs.

use plotters::coord::{CoordTranslate, Shift};
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::geom::{self, Ranges};
use crate::{palette_rgb, Dash, Figure, Panel, Series};

/// Font family every text uses. The DejaVu bytes are registered under this
/// name; in the SVG it becomes a CSS font list, so viewers use DejaVu Sans
/// when installed (same metrics as the PNG) and any sans-serif otherwise.
pub(crate) const FAMILY: &str = "DejaVu Sans, sans-serif";

/// Height of the figure header holding the title and the caption line.
pub(crate) const HEADER_H: u32 = 62;

type R<T> = Result<T, String>;

fn err<E: std::error::Error + Send + Sync>(e: DrawingAreaErrorKind<E>) -> String {
    e.to_string()
}

fn font(size: f64, bold: bool) -> FontDesc<'static> {
    let style = if bold {
        FontStyle::Bold
    } else {
        FontStyle::Normal
    };
    FontDesc::new(FontFamily::Name(FAMILY), size, style)
}

/// Pixel size of `text` as it will be drawn.
fn measure<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    text: &str,
    size: f64,
    bold: bool,
) -> R<(u32, u32)> {
    area.estimate_text_size(text, &TextStyle::from(font(size, bold)))
        .map_err(err)
}

const INK: RGBColor = RGBColor(20, 20, 20);
const GREY: RGBColor = RGBColor(90, 90, 90);
const GRID: RGBColor = RGBColor(218, 218, 218);

/// Largest font size in `max..=min` (stepping down by 1) at which `text`
/// fits `width` pixels; `None` if it does not fit even at `min`.
fn fit_size<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    text: &str,
    max: f64,
    min: f64,
    width: u32,
    bold: bool,
) -> R<Option<f64>> {
    let mut size = max;
    while size >= min {
        let (w, _) = measure(area, text, size, bold)?;
        if w <= width {
            return Ok(Some(size));
        }
        size -= 1.0;
    }
    Ok(None)
}

/// `text` shrunk (down to `min`) and, failing that, cut with an ellipsis so it
/// never runs off the canvas or into a neighbouring panel.
fn fit_text<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    text: &str,
    max: f64,
    min: f64,
    width: u32,
    bold: bool,
) -> R<(String, f64)> {
    if let Some(size) = fit_size(area, text, max, min, width, bold)? {
        return Ok((text.to_string(), size));
    }
    let chars: Vec<char> = text.chars().collect();
    let mut keep = chars.len();
    while keep > 0 {
        keep -= 1;
        let cut: String = chars[..keep].iter().collect::<String>() + "…";
        let (w, _) = measure(area, &cut, min, bold)?;
        if w <= width {
            return Ok((cut, min));
        }
    }
    Ok((String::new(), min))
}

/// Draws the whole figure: header (title + caption) and the panels left to
/// right.
pub(crate) fn figure<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, fig: &Figure) -> R<()> {
    root.fill(&WHITE).map_err(err)?;
    let (w, _) = root.dim_in_pixel();
    let (header, body) = root.split_vertically(HEADER_H);
    let cx = w as i32 / 2;
    let avail = w.saturating_sub(24);
    if !fig.title.is_empty() {
        let (t, size) = fit_text(&header, &fig.title, 21.0, 12.0, avail, true)?;
        let style = font(size, true)
            .color(&INK)
            .pos(Pos::new(HPos::Center, VPos::Top));
        header.draw(&Text::new(t, (cx, 8), style)).map_err(err)?;
    }
    if !fig.caption.is_empty() {
        let (t, size) = fit_text(&header, &fig.caption, 14.0, 9.0, avail, false)?;
        let style = font(size, false)
            .color(&GREY)
            .pos(Pos::new(HPos::Center, VPos::Top));
        header.draw(&Text::new(t, (cx, 37), style)).map_err(err)?;
    }
    let placeholder = [Panel::new("", "", "")];
    let panels: &[Panel] = if fig.panels.is_empty() {
        &placeholder
    } else {
        &fig.panels
    };
    let layout = Layout::new(root, panels)?;
    let areas = body.split_evenly((1, panels.len()));
    for (area, p) in areas.iter().zip(panels) {
        panel(area, p, &layout)?;
    }
    Ok(())
}

/// Space reserved around every panel's plotting area. Shared by all panels
/// of a figure so their frames line up, as in the papers, even when one panel
/// has no title or wider tick labels.
struct Layout {
    title_h: u32,
    x_area: u32,
    y_area: u32,
}

const TICK_FONT: f64 = 13.0;
const DESC_FONT: f64 = 15.0;
const N_TICKS: usize = 7;

impl Layout {
    fn new<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, panels: &[Panel]) -> R<Self> {
        let any_title = panels.iter().any(|p| !p.title.is_empty());
        let any_x_desc = panels.iter().any(|p| !p.x_label.is_empty());
        let any_y_desc = panels.iter().any(|p| !p.y_label.is_empty());
        // The widest y tick label decides the room left of the axis.
        let mut tick_w = 0;
        for p in panels {
            let yr = geom::ranges(p).y;
            for v in geom::approx_ticks(yr, N_TICKS) {
                let label = geom::tick_label(v, yr.1 - yr.0);
                tick_w = tick_w.max(measure(root, &label, TICK_FONT, false)?.0);
            }
        }
        let (desc_h, title_h) = (
            measure(root, "Ag", DESC_FONT, false)?.1,
            measure(root, "Ag", 16.0, true)?.1,
        );
        let panel_w = root.dim_in_pixel().0 / panels.len().max(1) as u32;
        Ok(Layout {
            title_h: if any_title { title_h + 12 } else { 0 },
            x_area: 30 + if any_x_desc { desc_h + 8 } else { 0 },
            y_area: (tick_w + 16 + if any_y_desc { desc_h + 10 } else { 0 }).min(panel_w / 3),
        })
    }
}

/// Dash and gap lengths grow with the stroke so a bold dashed line still
/// reads as dashed.
fn dash_pattern(width: u32) -> (i32, i32) {
    let w = width.max(1) as i32;
    (4 + 2 * w, 3 + w)
}

fn series_style(s: &Series) -> ShapeStyle {
    let (r, g, b) = palette_rgb(s.color);
    RGBColor(r, g, b).stroke_width(s.width.max(1))
}

fn panel<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, p: &Panel, layout: &Layout) -> R<()> {
    let Ranges { x: xr, y: yr } = geom::ranges(p);
    let (aw, _) = area.dim_in_pixel();

    // The title is drawn by hand in a fixed-height strip (plotters' caption
    // height follows the text, which would misalign the panels).
    let (title_area, area) = area.split_vertically(layout.title_h);
    if !p.title.is_empty() {
        let (t, size) = fit_text(
            &title_area,
            &p.title,
            16.0,
            10.0,
            aw.saturating_sub(24),
            true,
        )?;
        let style = font(size, true)
            .color(&INK)
            .pos(Pos::new(HPos::Center, VPos::Center));
        // Centred over the plotting area, not over the whole panel.
        let cx = (layout.y_area as i32 + 8 + aw as i32 - 18) / 2;
        title_area
            .draw(&Text::new(t, (cx, layout.title_h as i32 / 2 + 2), style))
            .map_err(err)?;
    }

    let mut chart = ChartBuilder::on(&area)
        .margin_top(if layout.title_h > 0 { 2 } else { 10 })
        .margin_bottom(8)
        .margin_left(8)
        .margin_right(18)
        .x_label_area_size(layout.x_area)
        .y_label_area_size(layout.y_area)
        .build_cartesian_2d(xr.0..xr.1, yr.0..yr.1)
        .map_err(err)?;

    let xfmt = |v: &f64| geom::tick_label(*v, xr.1 - xr.0);
    let yfmt = |v: &f64| geom::tick_label(*v, yr.1 - yr.0);
    chart
        .configure_mesh()
        .bold_line_style(GRID.stroke_width(1))
        .light_line_style(TRANSPARENT)
        .max_light_lines(0)
        .axis_style(INK.stroke_width(1))
        .x_labels(N_TICKS)
        .y_labels(N_TICKS)
        .x_label_formatter(&xfmt)
        .y_label_formatter(&yfmt)
        .label_style(font(TICK_FONT, false).color(&INK))
        .axis_desc_style(font(DESC_FONT, false).color(&INK))
        .x_desc(p.x_label.as_str())
        .y_desc(p.y_label.as_str())
        .draw()
        .map_err(err)?;

    let plot = chart.plotting_area().strip_coord_spec();
    let (pw, ph) = plot.dim_in_pixel();
    let base = chart.plotting_area().get_base_pixel();
    let coord = chart.as_coord_spec().clone();
    let to_px = |pt: (f64, f64)| {
        let (x, y) = coord.translate(&pt);
        (x - base.0, y - base.1)
    };
    // Pixels covered by data and labels, so the legend can avoid them.
    let mut occupied: Vec<(i32, i32)> = Vec::new();

    // Reference-line labels are drawn after the curves (so no curve hides
    // them), hence only their rows are collected here.
    let mut labelled_rows: Vec<(i32, &str)> = Vec::new();
    for h in &p.hlines {
        if !h.y.is_finite() || h.y < yr.0 || h.y > yr.1 {
            continue;
        }
        let style = GREY.stroke_width(1);
        chart
            .draw_series(DashedLineSeries::new(
                vec![(xr.0, h.y), (xr.1, h.y)],
                5,
                4,
                style,
            ))
            .map_err(err)?;
        let (_, py) = to_px((xr.1, h.y));
        sample_segment(&mut occupied, (0, py), (pw as i32, py));
        if !h.label.is_empty() {
            labelled_rows.push((py, h.label.as_str()));
        }
    }

    let mut has_data = false;
    for s in &p.series {
        let style = series_style(s);
        for run in geom::clip_runs(&s.points, xr, yr) {
            has_data = true;
            let px: Vec<(i32, i32)> = run.iter().map(|&q| to_px(q)).collect();
            for w in px.windows(2) {
                sample_segment(&mut occupied, w[0], w[1]);
            }
            if run.len() == 1 {
                // A lone point between NaNs would be an invisible zero-length
                // line: mark it instead.
                occupied.push(px[0]);
                chart
                    .draw_series(std::iter::once(Circle::new(
                        run[0],
                        s.width.max(1) + 1,
                        style.filled(),
                    )))
                    .map_err(err)?;
                continue;
            }
            match s.dash {
                Dash::Solid => chart.draw_series(LineSeries::new(run, style)),
                Dash::Dashed => {
                    let (d, g) = dash_pattern(s.width);
                    chart.draw_series(DashedLineSeries::new(run, d, g, style))
                }
            }
            .map_err(err)?;
        }
    }

    // Full frame: plotters only draws the left and bottom axes, the papers'
    // plots are boxed.
    plot.draw(&Rectangle::new(
        [(0, 0), (pw as i32 - 1, ph as i32 - 1)],
        INK.stroke_width(1),
    ))
    .map_err(err)?;

    for (py, label) in labelled_rows {
        hline_label(&plot, py, label, &mut occupied)?;
    }

    if !has_data {
        let style = font(18.0, false)
            .color(&GREY)
            .pos(Pos::new(HPos::Center, VPos::Center));
        plot.draw(&Text::new("no data", (pw as i32 / 2, ph as i32 / 2), style))
            .map_err(err)?;
    }

    let entries: Vec<&Series> = p.series.iter().filter(|s| s.show_in_legend).collect();
    if !entries.is_empty() {
        legend(&plot, &entries, &occupied)?;
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
    let (tw, th) = measure(plot, label, SIZE, false)?;
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
    plot.draw(&Rectangle::new(
        [(x - 2, top - 1), (x + tw + 2, top + th + 1)],
        WHITE.mix(0.8).filled(),
    ))
    .map_err(err)?;
    let style = font(SIZE, false)
        .color(&GREY)
        .pos(Pos::new(HPos::Left, VPos::Top));
    plot.draw(&Text::new(label.to_string(), (x, top), style))
        .map_err(err)?;
    sample_rect(occupied, (x, top), (x + tw, top + th));
    Ok(())
}

/// Adds points every few pixels along a segment (for legend placement).
fn sample_segment(out: &mut Vec<(i32, i32)>, a: (i32, i32), b: (i32, i32)) {
    let (dx, dy) = ((b.0 - a.0) as f64, (b.1 - a.1) as f64);
    let n = (dx.hypot(dy) / 3.0).ceil().clamp(1.0, 2000.0) as i32;
    for i in 0..=n {
        let t = i as f64 / n as f64;
        out.push((a.0 + (dx * t) as i32, a.1 + (dy * t) as i32));
    }
}

fn sample_rect(out: &mut Vec<(i32, i32)>, a: (i32, i32), b: (i32, i32)) {
    for y in (a.1..=b.1).step_by(3) {
        sample_segment(out, (a.0, y), (b.0, y));
    }
}

/// Draws the legend box inside the plotting area, in whichever corner covers
/// the fewest curve pixels (upper right on ties: error curves fall from the
/// upper left, so that corner is usually free, as in the papers).
fn legend<DB: DrawingBackend>(
    plot: &DrawingArea<DB, Shift>,
    entries: &[&Series],
    occupied: &[(i32, i32)],
) -> R<()> {
    const PAD: i32 = 7;
    const GLYPH: i32 = 28;
    const GAP: i32 = 7;
    const EDGE: i32 = 7;
    let (pw, ph) = plot.dim_in_pixel();
    let (pw, ph) = (pw as i32, ph as i32);

    // Shrink the font until the box fits the plotting area.
    let mut size = 13.0;
    let (bw, bh, row_h) = loop {
        let mut max_w = 0;
        let mut max_h = 0;
        for s in entries {
            let (w, h) = measure(plot, &s.label, size, false)?;
            max_w = max_w.max(w as i32);
            max_h = max_h.max(h as i32);
        }
        let row_h = max_h.max(8) + 6;
        let bw = 2 * PAD + GLYPH + GAP + max_w;
        let bh = 2 * PAD - 6 + row_h * entries.len() as i32;
        if (bw <= pw - 2 * EDGE && bh <= ph - 2 * EDGE) || size <= 8.0 {
            break (bw, bh, row_h);
        }
        size -= 1.0;
    };

    let right = pw - EDGE - bw;
    let bottom = ph - EDGE - bh;
    let corners = [(right, EDGE), (EDGE, EDGE), (right, bottom), (EDGE, bottom)];
    let score = |&(x, y): &(i32, i32)| {
        occupied
            .iter()
            .filter(|&&(px, py)| px >= x - 3 && px <= x + bw + 3 && py >= y - 3 && py <= y + bh + 3)
            .count()
    };
    let (bx, by) = corners
        .iter()
        .min_by_key(|c| score(c))
        .copied()
        .unwrap_or((right, EDGE));

    plot.draw(&Rectangle::new(
        [(bx, by), (bx + bw, by + bh)],
        WHITE.mix(0.92).filled(),
    ))
    .map_err(err)?;
    plot.draw(&Rectangle::new(
        [(bx, by), (bx + bw, by + bh)],
        RGBColor(150, 150, 150).stroke_width(1),
    ))
    .map_err(err)?;

    for (i, s) in entries.iter().enumerate() {
        let yc = by + PAD - 3 + row_h * i as i32 + row_h / 2;
        let x0 = bx + PAD;
        let style = series_style(s);
        let line = vec![(x0, yc), (x0 + GLYPH, yc)];
        match s.dash {
            Dash::Solid => plot.draw(&PathElement::new(line, style)),
            Dash::Dashed => {
                // Shorter dashes than on the curve so at least two show.
                let (d, g) = dash_pattern(s.width);
                plot.draw(&DashedPathElement::new(line, d.min(8), g.min(5), style))
            }
        }
        .map_err(err)?;
        let text = font(size, false)
            .color(&INK)
            .pos(Pos::new(HPos::Left, VPos::Center));
        plot.draw(&Text::new(s.label.clone(), (x0 + GLYPH + GAP, yc), text))
            .map_err(err)?;
    }
    Ok(())
}
