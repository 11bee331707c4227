//! Paper-style figures (training curves and per-arm results), written as
//! both SVG and PNG.
//!
//! The reproductions compare their training curves with the papers' figures
//! (AlexNet Fig. 1, ResNet Fig. 6, ...), so the plots mimic their look: side
//! by side panels, training error dashed and thin, test error bold and solid,
//! one colour per model, a legend inside each panel (in its emptiest
//! corner), and a caption that says what was actually run (dataset, profile,
//! device, seeds).
//!
//! What a researcher should read at a glance:
//!
//! - the spread over seeds, as a translucent band around a curve
//!   ([`Series::with_band`]), and the evaluated points as markers
//!   ([`Series::with_markers`]);
//! - learning-rate drops as dotted vertical marks ([`Panel::vlines`]) and the
//!   papers' numbers as ticks at the right edge ([`Panel::ref_ticks`]);
//! - a log-scale y axis ([`Panel::log_y`]) and y axes shared by all panels
//!   ([`Figure::with_shared_y`]), so panels compare by eye;
//! - ablations with one final number per arm as a categorical chart
//!   ([`Panel::arms`]): seeds, mean ± std and the paper's value per arm.
//!
//! Panels without any finite data are left out. Titles and captions wrap
//! (the header grows; [`Figure::canvas_size`] accounts for it) and are never
//! cut short.
//!
//! Text is drawn with DejaVu Sans compiled into the binary (the `dejavu`
//! crate), registered with plotters' `ab_glyph` font table, so rendering is
//! identical on every machine and never depends on system fonts.
//!
//! ```no_run
//! use figures::{render, ArmPoint, Figure, HLine, Panel, RefTick, Series, VLine};
//! // Test error of three seeds: mean curve, min..max band, markers.
//! let mean = vec![(1.0, 40.0), (2.0, 22.0), (3.0, 12.0), (4.0, 8.0)];
//! let band = vec![(1.0, 38.0, 43.0), (2.0, 20.0, 24.0), (3.0, 11.0, 13.5), (4.0, 7.5, 8.6)];
//! let mut curves = Panel::new("ResNet-56", "epochs", "test error (%)");
//! curves.series.push(Series::test("ResNet-56", mean, 0).with_band(band).with_markers());
//! curves.vlines.push(VLine::new(2.5, "lr ÷10"));
//! curves.ref_ticks.push(RefTick::new(6.97, "paper 6.97", 0));
//! curves.hlines.push(HLine { y: 25.0, label: "25%".into() });
//! // Final test error per arm of an ablation.
//! let arms = Panel::arms(
//!     "dropout",
//!     "final test error (%)",
//!     vec![
//!         ArmPoint::new("no dropout", vec![17.1, 17.6, 16.9], 0),
//!         ArmPoint::new("dropout", vec![15.2, 15.9, 15.5], 1).with_paper(15.6),
//!     ],
//! );
//! let fig = Figure::new(
//!     "Figure 1",
//!     "CIFAR-10, quick profile, cpu, seeds 0 1 2; band: min..max over seeds",
//!     vec![curves, arms],
//! )
//! .with_shared_y();
//! let [svg, png] = render(&fig, std::path::Path::new("results/fig1")).unwrap();
//! ```

mod arms;
mod draw;
mod geom;
mod legend;
mod marks;
mod primitives;
mod text;

use std::ffi::OsString;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Once;

use fileio::AtomicFile;

use plotters::prelude::{BitMapBackend, IntoDrawingArea, SVGBackend};
use serde::{Deserialize, Serialize};

/// Line style of a series. The papers distinguish training (dashed) from
/// test (solid) curves of the same model by dash, not by colour.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Dash {
    #[default]
    Solid,
    Dashed,
}

/// One curve of a panel.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Series {
    pub label: String,
    /// `(x, y)` in data units, drawn in order. Non-finite points break the
    /// line instead of failing the figure, so a diverged run still plots.
    pub points: Vec<(f64, f64)>,
    /// Index into [`PALETTE`] (wraps around), so the caller gives the same
    /// model the same colour in every panel.
    pub color: usize,
    pub dash: Dash,
    /// Stroke width in pixels: 1 thin, 3 bold.
    pub width: u32,
    /// Whether the legend lists it; lets a model's train+test pair share one
    /// legend entry.
    pub show_in_legend: bool,
    /// Spread over seeds, `(x, low, high)` per x (e.g. min and max, or mean ±
    /// std): drawn as a translucent band in the series colour behind every
    /// curve of the panel. Empty: no band. Non-finite rows break the band.
    #[serde(default)]
    pub band: Vec<(f64, f64, f64)>,
    /// A small filled circle at every finite point (and in the legend glyph),
    /// for sparse curves such as per-epoch test error.
    #[serde(default)]
    pub markers: bool,
}

impl Series {
    /// A solid, medium (2 px) curve shown in the legend.
    pub fn new(label: impl Into<String>, points: Vec<(f64, f64)>, color: usize) -> Self {
        Series {
            label: label.into(),
            points,
            color,
            dash: Dash::Solid,
            width: 2,
            show_in_legend: true,
            band: Vec::new(),
            markers: false,
        }
    }

    /// Training-error curve in the papers' style: thin dashed, not in the
    /// legend (the model's test curve carries the entry).
    pub fn train(label: impl Into<String>, points: Vec<(f64, f64)>, color: usize) -> Self {
        Series {
            dash: Dash::Dashed,
            width: 1,
            show_in_legend: false,
            ..Series::new(label, points, color)
        }
    }

    /// Test-error curve in the papers' style: bold solid, in the legend.
    pub fn test(label: impl Into<String>, points: Vec<(f64, f64)>, color: usize) -> Self {
        Series {
            width: 3,
            ..Series::new(label, points, color)
        }
    }

    /// The same series with a seed-spread band, `(x, low, high)` per x.
    pub fn with_band(mut self, band: Vec<(f64, f64, f64)>) -> Self {
        self.band = band;
        self
    }

    /// The same series with a marker at every point.
    pub fn with_markers(mut self) -> Self {
        self.markers = true;
        self
    }
}

/// A horizontal reference line, e.g. AlexNet Fig. 1's 25 % training error.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HLine {
    pub y: f64,
    /// Drawn above the line at its right end; may be empty.
    pub label: String,
}

/// A vertical mark across the plot, e.g. a learning-rate drop. Drawn thin,
/// grey and dotted; skipped when outside the x range (it never widens it).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VLine {
    pub x: f64,
    /// Small text at the top of the line (e.g. "lr ÷10"); may be empty.
    pub label: String,
}

impl VLine {
    pub fn new(x: f64, label: impl Into<String>) -> Self {
        VLine {
            x,
            label: label.into(),
        }
    }
}

/// A paper's reported value: a short thick tick at the right edge of the
/// plotting area, labelled just left of it (e.g. "paper 6.97"). An automatic
/// y range includes it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RefTick {
    pub y: f64,
    pub label: String,
    /// Index into [`PALETTE`], usually the colour of the model it belongs to.
    pub color: usize,
}

impl RefTick {
    pub fn new(y: f64, label: impl Into<String>, color: usize) -> Self {
        RefTick {
            y,
            label: label.into(),
            color,
        }
    }
}

/// One arm (column) of a categorical chart: the final value of every seed,
/// shown as hollow circles with their mean ± sample std, and optionally the
/// paper's value as a black diamond beside the column.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ArmPoint {
    /// The x tick label of the column (wrapped, shrunk or turned to fit).
    pub label: String,
    /// One value per seed; non-finite values (diverged seeds) are skipped.
    pub seeds: Vec<f64>,
    pub paper: Option<f64>,
    /// Index into [`PALETTE`].
    pub color: usize,
}

impl ArmPoint {
    /// An arm without a paper value.
    pub fn new(label: impl Into<String>, seeds: Vec<f64>, color: usize) -> Self {
        ArmPoint {
            label: label.into(),
            seeds,
            paper: None,
            color,
        }
    }

    /// The same arm with the paper's value.
    pub fn with_paper(mut self, paper: f64) -> Self {
        self.paper = Some(paper);
        self
    }
}

/// One set of axes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Panel {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub series: Vec<Series>,
    pub hlines: Vec<HLine>,
    /// `None`: the range of the finite data.
    pub x_range: Option<(f64, f64)>,
    /// `None`: the finite data (and hlines) with a small margin. Data outside
    /// an explicit range is clipped at the frame, as in the papers' cropped
    /// axes.
    pub y_range: Option<(f64, f64)>,
    /// Vertical marks (learning-rate drops, ...).
    #[serde(default)]
    pub vlines: Vec<VLine>,
    /// Papers' values as ticks at the right edge of the plotting area.
    #[serde(default)]
    pub ref_ticks: Vec<RefTick>,
    /// Logarithmic y axis (1-2-5 ticks); non-positive values are dropped.
    /// Ignored by arm charts.
    #[serde(default)]
    pub log_y: bool,
    /// Non-empty: the panel is a categorical chart, one column per arm (see
    /// [`Panel::arms`]); `series`, `vlines` and `x_range` are then ignored.
    #[serde(default)]
    pub arms: Vec<ArmPoint>,
}

impl Panel {
    /// An empty panel with automatic ranges.
    pub fn new(
        title: impl Into<String>,
        x_label: impl Into<String>,
        y_label: impl Into<String>,
    ) -> Self {
        Panel {
            title: title.into(),
            x_label: x_label.into(),
            y_label: y_label.into(),
            series: Vec::new(),
            hlines: Vec::new(),
            x_range: None,
            y_range: None,
            vlines: Vec::new(),
            ref_ticks: Vec::new(),
            log_y: false,
            arms: Vec::new(),
        }
    }

    /// A categorical chart of one final number per arm (ablations): arm
    /// labels on the x axis, seeds, mean ± std and paper values.
    pub fn arms(title: impl Into<String>, y_label: impl Into<String>, arms: Vec<ArmPoint>) -> Self {
        Panel {
            arms,
            ..Panel::new(title, "", y_label)
        }
    }
}

/// Stands in for the panels of a figure without any.
static EMPTY_PANEL: Panel = Panel {
    title: String::new(),
    x_label: String::new(),
    y_label: String::new(),
    series: Vec::new(),
    hlines: Vec::new(),
    x_range: None,
    y_range: None,
    vlines: Vec::new(),
    ref_ticks: Vec::new(),
    log_y: false,
    arms: Vec::new(),
};

/// A figure: title, caption, panels left to right.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Figure {
    pub title: String,
    /// Always shown under the title: dataset label, profile, device, seeds,
    /// so a figure can never be mistaken for the paper's own. Wrapped to the
    /// figure width (at 12–14 px) on as many lines as it needs.
    pub caption: String,
    /// Laid out left to right, each `panel_size` pixels; panels without
    /// finite data are left out.
    pub panels: Vec<Panel>,
    /// Width × height of one panel in pixels; the canvas is
    /// `shown panels × width` by `height + header`.
    pub panel_size: (u32, u32),
    /// Panels with data and no explicit `y_range` share one y range (the
    /// union of their automatic ones), so they compare by eye.
    #[serde(default)]
    pub share_y: bool,
}

/// A panel size that fits axes, labels and a legend comfortably.
pub const DEFAULT_PANEL_SIZE: (u32, u32) = (440, 360);

/// Panel size of a one-panel figure (see [`Figure::new`]).
pub const SINGLE_PANEL_SIZE: (u32, u32) = (820, 460);

/// Smallest panel that still leaves room for the plotting area next to the
/// tick and axis labels; smaller sizes are rejected instead of drawing a mess.
pub const MIN_PANEL_SIZE: (u32, u32) = (240, 180);

/// Largest canvas side; guards against absurd allocations from a bad size.
pub const MAX_CANVAS_SIDE: u32 = 16_384;

impl Figure {
    /// A figure with [`DEFAULT_PANEL_SIZE`] panels; a lone panel is drawn at
    /// [`SINGLE_PANEL_SIZE`] so that the one-line caption (dataset, profile,
    /// device: the labels every figure must carry) fits its width.
    pub fn new(title: impl Into<String>, caption: impl Into<String>, panels: Vec<Panel>) -> Self {
        let panel_size = if panels.len() <= 1 {
            SINGLE_PANEL_SIZE
        } else {
            DEFAULT_PANEL_SIZE
        };
        Figure {
            title: title.into(),
            caption: caption.into(),
            panels,
            panel_size,
            share_y: false,
        }
    }

    /// The same figure with shared y axes (see [`Figure::share_y`]).
    pub fn with_shared_y(mut self) -> Self {
        self.share_y = true;
        self
    }

    /// Size of the whole canvas in pixels: one `panel_size` per shown panel
    /// (panels without finite data are left out; a figure without any data
    /// still gets one panel's room, showing "no data"), plus the header,
    /// whose height follows the wrapped title and caption.
    pub fn canvas_size(&self) -> (u32, u32) {
        ensure_fonts();
        let n = self.shown_panels().len() as u64;
        let w = (self.panel_size.0 as u64 * n).min(u32::MAX as u64) as u32;
        let header = text::header(self, w)
            .map(|h| h.height)
            .unwrap_or(draw::HEADER_H);
        (w, self.panel_size.1.saturating_add(header))
    }

    /// The panels drawn: those with finite data, or, when none has any, the
    /// first panel (or an empty one) alone.
    pub(crate) fn shown_panels(&self) -> Vec<&Panel> {
        let shown: Vec<&Panel> = self.panels.iter().filter(|p| geom::has_data(p)).collect();
        if shown.is_empty() {
            vec![self.panels.first().unwrap_or(&EMPTY_PANEL)]
        } else {
            shown
        }
    }
}

/// Colour-blind-friendly palette (Okabe & Ito 2008), ordered so the first
/// colours are the most distinct on white; yellow, the weakest on white,
/// comes last.
pub const PALETTE: [(u8, u8, u8); 8] = [
    (0, 114, 178),   // blue
    (213, 94, 0),    // vermillion
    (0, 158, 115),   // bluish green
    (204, 121, 167), // reddish purple
    (230, 159, 0),   // orange
    (86, 180, 233),  // sky blue
    (0, 0, 0),       // black
    (240, 228, 66),  // yellow
];

/// The palette colour for a series' `color` index (wrapping).
pub fn palette_rgb(index: usize) -> (u8, u8, u8) {
    PALETTE[index % PALETTE.len()]
}

/// Why a figure could not be written. Every variant names the path involved,
/// so a failed batch of figures says which one.
#[derive(thiserror::Error, Debug)]
pub enum PlotError {
    #[error("invalid figure for {}: {reason}", path.display())]
    InvalidFigure { path: PathBuf, reason: String },
    #[error("cannot create output directory {}: {source}", path.display())]
    CreateDir {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cannot write {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cannot render {}: {message}", path.display())]
    Render { path: PathBuf, message: String },
}

static FONTS: Once = Once::new();

/// Registers the embedded DejaVu Sans (regular and bold) with plotters. The
/// `ab_glyph` text path has no system-font fallback, so this must run before
/// any text is measured or drawn; `Once` makes concurrent renders safe.
fn ensure_fonts() {
    FONTS.call_once(|| {
        use plotters::style::{register_font, FontStyle};
        // The bytes are the crate's own valid TTFs; should registration ever
        // fail, drawing reports FontUnavailable as a Render error.
        let _ = register_font(text::FAMILY, FontStyle::Normal, dejavu::sans::regular());
        let _ = register_font(text::FAMILY, FontStyle::Bold, dejavu::sans::bold());
    });
}

/// Writes `<stem>.svg` and `<stem>.png` and returns their paths, in that
/// order.
///
/// The extensions are appended (`fig.v2` gives `fig.v2.svg`), the parent
/// directory is created, and each file is rendered into a temporary file in
/// the same directory and then renamed over the target
/// ([`fileio::commit_all`]), so a reader (or a crash) never sees a
/// half-written figure and a failed render leaves the previous figure at that
/// stem untouched. Both files are fully written and synced before either is
/// renamed; only a failure between the two renames could leave a new SVG
/// next to an old PNG.
///
/// # Errors
///
/// [`PlotError::InvalidFigure`] for a bad size, range or stem (checked before
/// anything touches the disk), [`PlotError::CreateDir`] when the parent
/// cannot be created (e.g. a path component is a file), [`PlotError::Io`] for
/// unwritable directories or a directory in the way, and
/// [`PlotError::Render`] if plotters fails. Each names the path concerned.
pub fn render(fig: &Figure, stem: &Path) -> Result<[PathBuf; 2], PlotError> {
    let svg_path = with_suffix(stem, ".svg");
    let png_path = with_suffix(stem, ".png");
    validate(fig, stem)?;
    let dir = match stem.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    fs::create_dir_all(&dir).map_err(|source| PlotError::CreateDir {
        path: dir.clone(),
        source,
    })?;
    ensure_fonts();
    let size = fig.canvas_size();

    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
        draw::figure(&root, fig)
            .and_then(|()| root.present().map_err(|e| e.to_string()))
            .map_err(|message| PlotError::Render {
                path: svg_path.clone(),
                message,
            })?;
    }

    let io_error = |path: &PathBuf| {
        let path = path.clone();
        move |source| PlotError::Io { path, source }
    };
    // Refuses a directory in the way of either file before any rendering
    // into it, and again just before the renames.
    let mut svg_file = AtomicFile::new(&svg_path).map_err(io_error(&svg_path))?;
    svg_file
        .file_mut()
        .write_all(svg.as_bytes())
        .map_err(io_error(&svg_path))?;

    // The bitmap backend saves by path and picks the encoder from the
    // extension, hence the `.png` ending of the temporary name.
    let png_file =
        AtomicFile::with_temp_suffix(&png_path, PNG_TEMP_SUFFIX).map_err(io_error(&png_path))?;
    {
        let root = BitMapBackend::new(png_file.temp_path(), size).into_drawing_area();
        draw::figure(&root, fig)
            .and_then(|()| root.present().map_err(|e| e.to_string()))
            .map_err(|message| PlotError::Render {
                path: png_path.clone(),
                message,
            })?;
    }

    fileio::commit_all([svg_file, png_file]).map_err(|e| PlotError::Io {
        path: e.target,
        source: e.source,
    })?;
    Ok([svg_path, png_path])
}

/// The suffix of the PNG's temporary file (the SVG's is `fileio::TEMP_SUFFIX`).
const PNG_TEMP_SUFFIX: &str = ".tmp.png";

/// Removes the temporary files that a [`render`] of `stem` killed before its
/// commit left behind (`.<stem>.svg.<random>.tmp`,
/// `.<stem>.png.<random>.tmp.png`), whatever their age, and nothing else.
/// Only for a caller that knows no other process renders `stem` now (it holds
/// a lock that every renderer of `stem` takes): a live render's files would
/// go too. Returns the paths removed.
///
/// # Errors
///
/// Reading the directory (a missing one holds nothing: no error).
pub fn remove_leftovers(stem: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut removed = Vec::new();
    for (ext, suffix) in [(".svg", fileio::TEMP_SUFFIX), (".png", PNG_TEMP_SUFFIX)] {
        match fileio::remove_temps_of(&with_suffix(stem, ext), suffix) {
            Ok(r) => removed.extend(r),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
    }
    Ok(removed)
}

fn with_suffix(stem: &Path, suffix: &str) -> PathBuf {
    let mut s: OsString = stem.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

fn validate(fig: &Figure, stem: &Path) -> Result<(), PlotError> {
    let invalid = |reason: String| PlotError::InvalidFigure {
        path: stem.to_path_buf(),
        reason,
    };
    if stem.file_name().is_none() {
        return Err(invalid("the output stem has no file name".into()));
    }
    let (w, h) = fig.panel_size;
    if w < MIN_PANEL_SIZE.0 || h < MIN_PANEL_SIZE.1 {
        return Err(invalid(format!(
            "panel_size {w}x{h} is below the {}x{} minimum needed for axes and labels",
            MIN_PANEL_SIZE.0, MIN_PANEL_SIZE.1
        )));
    }
    let (cw, ch) = fig.canvas_size();
    let n = fig.shown_panels().len() as u64;
    if w as u64 * n > MAX_CANVAS_SIDE as u64 || ch > MAX_CANVAS_SIDE {
        return Err(invalid(format!(
            "canvas {cw}x{ch} exceeds {MAX_CANVAS_SIDE} pixels per side"
        )));
    }
    for p in &fig.panels {
        for (axis, range) in [("x_range", p.x_range), ("y_range", p.y_range)] {
            if let Some((lo, hi)) = range {
                if !(lo.is_finite() && hi.is_finite() && lo < hi && (hi - lo).is_finite()) {
                    return Err(invalid(format!(
                        "panel {:?}: {axis} ({lo}, {hi}) must be finite with low < high",
                        p.title
                    )));
                }
            }
        }
    }
    Ok(())
}
