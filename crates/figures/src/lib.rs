//! Paper-style line-chart figures, written as both SVG and PNG.
//!
//! The reproductions compare their training curves with the papers' figures
//! (AlexNet Fig. 1, ResNet Fig. 6, ...), so the plots mimic their look: side
//! by side panels, training error dashed and thin, test error bold and solid,
//! one colour per model, a legend inside each panel, and a caption line that
//! says what was actually run (dataset, profile, device, seeds).
//!
//! Text is drawn with DejaVu Sans compiled into the binary (the `dejavu`
//! crate), registered with plotters' `ab_glyph` font table, so rendering is
//! identical on every machine and never depends on system fonts.
//!
//! ```no_run
//! use figures::{render, Figure, HLine, Panel, Series};
//! let mut panel = Panel::new("AlexNet", "epochs", "training error (%)");
//! panel.series.push(Series::new("ReLU", vec![(1.0, 60.0), (2.0, 40.0), (3.0, 22.0)], 0));
//! panel.hlines.push(HLine { y: 25.0, label: "25%".into() });
//! let fig = Figure::new("Figure 1", "CIFAR-10, quick profile, cpu, seed 0", vec![panel]);
//! let [svg, png] = render(&fig, std::path::Path::new("results/fig1")).unwrap();
//! ```

mod draw;
mod geom;

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
}

/// A horizontal reference line, e.g. AlexNet Fig. 1's 25 % training error.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HLine {
    pub y: f64,
    /// Drawn above the line at its right end; may be empty.
    pub label: String,
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
        }
    }
}

/// A figure: title, one caption line, panels left to right.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Figure {
    pub title: String,
    /// Always shown under the title: dataset label, profile, device, seeds,
    /// so a figure can never be mistaken for the paper's own.
    pub caption: String,
    /// Laid out left to right, each `panel_size` pixels.
    pub panels: Vec<Panel>,
    /// Width × height of one panel in pixels; the canvas is
    /// `panels × width` by `height + header`.
    pub panel_size: (u32, u32),
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
        }
    }

    /// Size of the whole canvas in pixels (a figure without panels still gets
    /// one empty panel's room, showing "no data").
    pub fn canvas_size(&self) -> (u32, u32) {
        let n = self.panels.len().max(1) as u64;
        let w = (self.panel_size.0 as u64 * n).min(u32::MAX as u64) as u32;
        (w, self.panel_size.1.saturating_add(draw::HEADER_H))
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
        let _ = register_font(draw::FAMILY, FontStyle::Normal, dejavu::sans::regular());
        let _ = register_font(draw::FAMILY, FontStyle::Bold, dejavu::sans::bold());
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
        AtomicFile::with_temp_suffix(&png_path, ".tmp.png").map_err(io_error(&png_path))?;
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
    let n = fig.panels.len().max(1) as u64;
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
