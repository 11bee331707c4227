//! The legend box, placed inside the plotting area in its emptiest corner.

use plotters::coord::Shift;
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::primitives::{dash_pattern, err, marker_radius, Frame, INK};
use crate::text::{font, measure, R};
use crate::Dash;

/// What a legend row shows left of its label.
#[derive(Clone, Debug)]
pub(crate) enum Glyph {
    /// A stretch of a curve, with a marker in the middle if it has them.
    Line {
        style: ShapeStyle,
        dash: Dash,
        width: u32,
        marker: bool,
    },
    /// A hollow circle: one seed of an arm.
    Seed,
    /// A bold bar with an error bar: the mean ± std of an arm.
    MeanStd,
    /// A black diamond: the paper's value.
    Paper,
}

#[derive(Clone, Debug)]
pub(crate) struct Entry {
    pub label: String,
    pub glyph: Glyph,
}

/// Colour of the glyphs that stand for every arm at once.
pub(crate) const NEUTRAL: RGBColor = RGBColor(70, 70, 70);

/// Draws the legend box inside the plotting area, in whichever corner covers
/// the fewest occupied pixels (curves, bands, markers, marks and labels;
/// upper right on ties: error curves fall from the upper left, so that
/// corner is usually free, as in the papers). Nothing for no entries.
pub(crate) fn draw<DB: DrawingBackend>(
    f: &Frame<DB>,
    entries: &[Entry],
    occupied: &[(i32, i32)],
) -> R<()> {
    const PAD: i32 = 7;
    const GLYPH: i32 = 28;
    const GAP: i32 = 7;
    const EDGE: i32 = 7;
    if entries.is_empty() {
        return Ok(());
    }
    let (pw, ph) = (f.w, f.h);

    // Shrink the font until the box fits the plotting area.
    let mut size = 13.0;
    let (bw, bh, row_h) = loop {
        let mut max_w = 0;
        let mut max_h = 0;
        for e in entries {
            let (w, h) = measure(&e.label, size, false)?;
            max_w = max_w.max(w as i32);
            max_h = max_h.max(h as i32);
        }
        let row_h = max_h.max(10) + 6;
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

    let plot = &f.plot;
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

    for (i, e) in entries.iter().enumerate() {
        let yc = by + PAD - 3 + row_h * i as i32 + row_h / 2;
        let x0 = bx + PAD;
        glyph(plot, &e.glyph, (x0, x0 + GLYPH), yc)?;
        let text = font(size, false)
            .color(&INK)
            .pos(Pos::new(HPos::Left, VPos::Center));
        plot.draw(&Text::new(e.label.clone(), (x0 + GLYPH + GAP, yc), text))
            .map_err(err)?;
    }
    Ok(())
}

/// Draws a glyph spanning `x0..x1` centred on row `yc`.
fn glyph<DB: DrawingBackend>(
    plot: &DrawingArea<DB, Shift>,
    g: &Glyph,
    (x0, x1): (i32, i32),
    yc: i32,
) -> R<()> {
    let xc = (x0 + x1) / 2;
    match g {
        Glyph::Line {
            style,
            dash,
            width,
            marker,
        } => {
            let line = vec![(x0, yc), (x1, yc)];
            match dash {
                Dash::Solid => plot.draw(&PathElement::new(line, *style)),
                Dash::Dashed => {
                    // Shorter dashes than on the curve so at least two show.
                    let (d, g) = dash_pattern(*width);
                    plot.draw(&DashedPathElement::new(line, d.min(8), g.min(5), *style))
                }
            }
            .map_err(err)?;
            if *marker {
                let dot = Circle::new((xc, yc), marker_radius(*width), style.filled());
                plot.draw(&dot).map_err(err)?;
            }
        }
        Glyph::Seed => seed_circle(plot, (xc, yc), NEUTRAL)?,
        Glyph::MeanStd => mean_std(plot, xc, 8, yc, Some((yc - 6, yc + 6)), NEUTRAL)?,
        Glyph::Paper => diamond(plot, (xc, yc))?,
    }
    Ok(())
}

/// One seed: a small hollow circle.
pub(crate) fn seed_circle<DB: DrawingBackend>(
    plot: &DrawingArea<DB, Shift>,
    c: (i32, i32),
    color: RGBColor,
) -> R<()> {
    plot.draw(&Circle::new(c, 4, color.stroke_width(1)))
        .map_err(err)
}

/// A mean: a bold bar `2 hw` wide at row `y`, with an error bar over the
/// rows `bar` (capped) when given.
pub(crate) fn mean_std<DB: DrawingBackend>(
    plot: &DrawingArea<DB, Shift>,
    xc: i32,
    hw: i32,
    y: i32,
    bar: Option<(i32, i32)>,
    color: RGBColor,
) -> R<()> {
    if let Some((top, bottom)) = bar {
        let cap = (hw / 2).max(3);
        let style = color.stroke_width(2);
        for path in [
            vec![(xc, top), (xc, bottom)],
            vec![(xc - cap, top), (xc + cap, top)],
            vec![(xc - cap, bottom), (xc + cap, bottom)],
        ] {
            plot.draw(&PathElement::new(path, style)).map_err(err)?;
        }
    }
    plot.draw(&PathElement::new(
        vec![(xc - hw, y), (xc + hw, y)],
        color.stroke_width(4),
    ))
    .map_err(err)
}

/// Half the diagonal of the paper marker.
pub(crate) const DIAMOND: i32 = 6;

/// The paper's value: a black diamond.
pub(crate) fn diamond<DB: DrawingBackend>(
    plot: &DrawingArea<DB, Shift>,
    (x, y): (i32, i32),
) -> R<()> {
    let d = DIAMOND;
    plot.draw(&Polygon::new(
        vec![(x, y - d), (x + d, y), (x, y + d), (x - d, y)],
        BLACK.filled(),
    ))
    .map_err(err)
}
