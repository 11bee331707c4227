//! The drawing primitives every part of a panel draws with: colours, the
//! plotting frame and its pixel mapping, the axis type, stroke and marker
//! sizes, and the sampling of drawn pixels that legend placement avoids.
//! The parts (curves in `draw`, arm columns in `arms`, reference marks in
//! `marks`, the legend in `legend`) import from here; nothing here imports
//! them, so the imports go one way.

use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint};
use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::geom::Ranges;
use crate::text::{font, R};
use crate::{palette_rgb, Series};

pub(crate) fn err<E: std::error::Error + Send + Sync>(e: DrawingAreaErrorKind<E>) -> String {
    e.to_string()
}

pub(crate) const INK: RGBColor = RGBColor(20, 20, 20);
pub(crate) const GREY: RGBColor = RGBColor(90, 90, 90);

/// The palette colour of index `i`.
pub(crate) fn rgb(i: usize) -> RGBColor {
    let (r, g, b) = palette_rgb(i);
    RGBColor(r, g, b)
}

/// An axis tick: its position in plotted coordinates and its label.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Tick {
    pub at: f64,
    pub label: String,
}

/// A linear axis with our own ticks (plotters' `WithKeyPoints` of `f64`
/// cannot take a label formatter): on a log axis the plotted coordinate is
/// log10 of the value and the ticks sit at 1-2-5 values.
#[derive(Clone)]
pub(crate) struct Axis {
    inner: RangedCoordf64,
    ticks: Vec<f64>,
}

impl Axis {
    pub(crate) fn new((lo, hi): (f64, f64), ticks: &[Tick]) -> Self {
        Axis {
            inner: (lo..hi).into(),
            ticks: ticks.iter().map(|t| t.at).collect(),
        }
    }
}

impl Ranged for Axis {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, v: &f64, limit: (i32, i32)) -> i32 {
        self.inner.map(v, limit)
    }

    fn key_points<H: KeyPointHint>(&self, hint: H) -> Vec<f64> {
        if hint.weight().allow_light_points() {
            Vec::new()
        } else {
            self.ticks.clone()
        }
    }

    fn range(&self) -> std::ops::Range<f64> {
        self.inner.range()
    }
}

pub(crate) type Coord = Cartesian2d<Axis, Axis>;

/// The plotting area of a panel: pixel mapping and a pixel-addressed area
/// for drawing. Everything inside the frame is drawn through it, in pixels,
/// after clipping in data space (plotters does not clip).
pub(crate) struct Frame<'a, DB: DrawingBackend> {
    coords: &'a DrawingArea<DB, Coord>,
    pub plot: DrawingArea<DB, Shift>,
    pub w: i32,
    pub h: i32,
    pub r: Ranges,
}

impl<'a, DB: DrawingBackend> Frame<'a, DB> {
    /// The frame of a chart's plotting area, over the ranges `r`.
    pub(crate) fn new(coords: &'a DrawingArea<DB, Coord>, r: Ranges) -> Self {
        let plot = coords.strip_coord_spec();
        let (w, h) = plot.dim_in_pixel();
        Frame {
            coords,
            plot,
            w: w as i32,
            h: h as i32,
            r,
        }
    }

    /// Pixel of a point in plotted coordinates (y already through
    /// [`Ranges::t`]), relative to the plotting area.
    pub fn px(&self, p: (f64, f64)) -> (i32, i32) {
        let (x, y) = self.coords.map_coordinate(&p);
        let base = self.plot.get_base_pixel();
        (x - base.0, y - base.1)
    }

    /// Pixel row of a data y value, if it is inside the y range.
    pub fn row(&self, y: f64) -> Option<i32> {
        let t = self.r.t(y);
        let (lo, hi) = self.r.ty();
        (t >= lo && t <= hi).then(|| self.px((self.r.x.0, t)).1)
    }
}

/// Dash and gap lengths grow with the stroke so a bold dashed line still
/// reads as dashed.
pub(crate) fn dash_pattern(width: u32) -> (i32, i32) {
    let w = width.max(1) as i32;
    (4 + 2 * w, 3 + w)
}

pub(crate) fn series_style(s: &Series) -> ShapeStyle {
    rgb(s.color).stroke_width(s.width.max(1))
}

/// Radius of a series' point markers.
pub(crate) fn marker_radius(width: u32) -> u32 {
    width.max(1) / 2 + 2
}

/// Full frame: plotters only draws the left and bottom axes, the papers'
/// plots are boxed.
pub(crate) fn box_frame<DB: DrawingBackend>(f: &Frame<DB>) -> R<()> {
    f.plot
        .draw(&Rectangle::new(
            [(0, 0), (f.w - 1, f.h - 1)],
            INK.stroke_width(1),
        ))
        .map_err(err)
}

pub(crate) fn no_data<DB: DrawingBackend>(f: &Frame<DB>) -> R<()> {
    let style = font(18.0, false)
        .color(&GREY)
        .pos(Pos::new(HPos::Center, VPos::Center));
    f.plot
        .draw(&Text::new("no data", (f.w / 2, f.h / 2), style))
        .map_err(err)
}

/// Adds points every few pixels along a segment (for legend placement).
pub(crate) fn sample_segment(out: &mut Vec<(i32, i32)>, a: (i32, i32), b: (i32, i32)) {
    let (dx, dy) = ((b.0 - a.0) as f64, (b.1 - a.1) as f64);
    let n = (dx.hypot(dy) / 3.0).ceil().clamp(1.0, 2000.0) as i32;
    for i in 0..=n {
        let t = i as f64 / n as f64;
        out.push((a.0 + (dx * t) as i32, a.1 + (dy * t) as i32));
    }
}

pub(crate) fn sample_rect(out: &mut Vec<(i32, i32)>, a: (i32, i32), b: (i32, i32)) {
    for y in (a.1..=b.1).step_by(3) {
        sample_segment(out, (a.0, y), (b.0, y));
    }
}
