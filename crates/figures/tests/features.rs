//! The reading-at-a-glance features (bands, markers, marks, reference ticks,
//! shared and log axes, arm charts, wrapped captions), each checked from the
//! SVG text of a small fixed figure, so that removing the feature fails its
//! test. Every render also checks that the PNG decodes at the canvas size.

use std::fs;

use figures::{render, ArmPoint, Figure, Panel, RefTick, Series, VLine};

/// One `<text>` element of the SVG.
#[derive(Debug)]
struct SvgText {
    x: f64,
    y: f64,
    anchor: String,
    fill: String,
    rotated: bool,
    text: String,
}

fn attr(tag: &str, name: &str) -> String {
    let key = format!(" {name}=\"");
    format!(" {tag}")
        .split_once(&key)
        .and_then(|(_, rest)| rest.split_once('"'))
        .map(|(v, _)| v.to_string())
        .unwrap_or_default()
}

fn texts(svg: &str) -> Vec<SvgText> {
    svg.split("<text ")
        .skip(1)
        .map(|chunk| {
            let (tag, rest) = chunk.split_once('>').unwrap();
            let body = rest.split_once("</text>").unwrap().0;
            SvgText {
                x: attr(tag, "x").parse().unwrap(),
                y: attr(tag, "y").parse().unwrap(),
                anchor: attr(tag, "text-anchor"),
                fill: attr(tag, "fill"),
                rotated: tag.contains("rotate("),
                text: body.trim().to_string(),
            }
        })
        .collect()
}

/// Other elements with a tag name, as their opening tags.
fn tags<'a>(svg: &'a str, name: &str) -> Vec<&'a str> {
    svg.split(&format!("<{name} "))
        .skip(1)
        .map(|c| c.split_once('>').map_or(c, |(t, _)| t))
        .collect()
}

/// Renders `fig`, checks the PNG and returns the SVG text.
fn render_svg(fig: &Figure) -> String {
    let dir = tempfile::tempdir().unwrap();
    let [svg, png] = render(fig, &dir.path().join("fig")).unwrap();
    let img = image::open(&png).unwrap();
    assert_eq!((img.width(), img.height()), fig.canvas_size());
    let text = fs::read_to_string(svg).unwrap();
    let (w, h) = fig.canvas_size();
    assert!(
        text.contains(&format!("width=\"{w}\" height=\"{h}\"")),
        "SVG size"
    );
    text
}

fn has_text(svg: &str, s: &str) -> bool {
    texts(svg).iter().any(|t| t.text == s)
}

/// Y tick labels (ink, right-aligned left of the axis), per panel.
fn y_tick_labels(svg: &str, panel_w: u32, panel: usize) -> Vec<String> {
    let lo = (panel as u32 * panel_w) as f64;
    let hi = lo + panel_w as f64;
    texts(svg)
        .into_iter()
        .filter(|t| t.anchor == "end" && t.fill == "#141414" && !t.rotated)
        .filter(|t| t.x >= lo && t.x < hi)
        .map(|t| t.text)
        .collect()
}

fn ramp(n: usize, y0: f64, y1: f64) -> Vec<(f64, f64)> {
    (0..n)
        .map(|i| {
            let t = i as f64 / (n - 1) as f64;
            (10.0 * t, y0 + (y1 - y0) * t)
        })
        .collect()
}

fn one_panel(p: Panel) -> Figure {
    Figure::new("t", "c", vec![p])
}

#[test]
fn band_is_a_translucent_polygon_behind_the_curve() {
    let pts = ramp(6, 20.0, 10.0);
    let band: Vec<(f64, f64, f64)> = pts.iter().map(|&(x, y)| (x, y - 2.0, y + 30.0)).collect();
    let mut p = Panel::new("band", "x", "y");
    p.series
        .push(Series::test("model", pts.clone(), 1).with_band(band));
    let svg = render_svg(&one_panel(p.clone()));
    let bands: Vec<&str> = tags(&svg, "polygon")
        .into_iter()
        .filter(|t| attr(t, "fill") == "#D55E00")
        .collect();
    assert_eq!(bands.len(), 1, "{bands:?}");
    let opacity: f64 = attr(bands[0], "opacity").parse().unwrap();
    assert!((0.1..0.3).contains(&opacity), "{opacity}");
    // Behind the curve: drawn first.
    let band_at = svg.find("<polygon opacity=\"0.2").unwrap();
    let curve_at = svg.find("<polyline fill=\"none\" opacity=\"1\" stroke=\"#D55E00\"");
    assert!(band_at < curve_at.expect("curve drawn"));
    // The automatic y range covers the band (up to 50), not just the curve.
    assert!(y_tick_labels(&svg, 820, 0).contains(&"50".to_string()));

    p.series[0].band.clear();
    let plain = render_svg(&one_panel(p));
    assert!(!plain.contains("<polygon opacity=\"0.2"));
    assert!(!y_tick_labels(&plain, 820, 0).contains(&"50".to_string()));
}

#[test]
fn band_breaks_at_non_finite_rows() {
    let band = vec![
        (0.0, 1.0, 2.0),
        (1.0, 1.0, 3.0),
        (2.0, f64::NAN, 3.0),
        (3.0, 1.0, 2.0),
        (4.0, 0.5, 2.5),
    ];
    let mut p = Panel::new("", "x", "y");
    p.series
        .push(Series::new("m", vec![(0.0, 1.5), (4.0, 1.5)], 0).with_band(band));
    let svg = render_svg(&one_panel(p));
    assert_eq!(svg.matches("<polygon opacity=\"0.2").count(), 2);
    assert!(!svg.contains("NaN"));
}

#[test]
fn markers_draw_a_circle_per_point_and_in_the_legend() {
    let pts = ramp(7, 5.0, 1.0);
    let mut p = Panel::new("markers", "x", "y");
    p.series
        .push(Series::new("m", pts.clone(), 0).with_markers());
    let svg = render_svg(&one_panel(p.clone()));
    let filled = tags(&svg, "circle")
        .into_iter()
        .filter(|t| attr(t, "fill") == "#0072B2")
        .count();
    assert!(
        filled > pts.len(),
        "{filled} circles for {} points + legend",
        pts.len()
    );

    p.series[0].markers = false;
    assert_eq!(render_svg(&one_panel(p)).matches("<circle").count(), 0);
}

#[test]
fn reference_ticks_are_labelled_without_overlap_and_widen_the_range() {
    let mut p = Panel::new("ref", "x", "error (%)");
    p.series
        .push(Series::test("ResNet-56", ramp(5, 12.0, 8.0), 0));
    p.ref_ticks = vec![
        RefTick::new(6.97, "paper 6.97", 0),
        RefTick::new(7.05, "paper 7.05", 1),
        RefTick::new(25.0, "paper 25", 2),
    ];
    let svg = render_svg(&one_panel(p));
    let all = texts(&svg);
    let label = |s: &str| all.iter().find(|t| t.text == s).unwrap();
    let (a, b) = (label("paper 6.97"), label("paper 7.05"));
    assert!((a.y - b.y).abs() >= 10.0, "overlapping labels: {a:?} {b:?}");
    assert_eq!((a.anchor.as_str(), a.fill.as_str()), ("end", "#0072B2"));
    // 25 is outside the data (8..12) yet shown: the range includes it.
    assert!(has_text(&svg, "paper 25"));
    // The ticks themselves: thick strokes in the palette colour.
    let thick = tags(&svg, "polyline")
        .into_iter()
        .filter(|t| attr(t, "stroke-width") == "3" && attr(t, "stroke") == "#009E73")
        .count();
    assert_eq!(thick, 1);
}

#[test]
fn vertical_marks_are_labelled_and_never_widen_x() {
    let mut p = Panel::new("lr", "epochs", "error");
    p.series.push(Series::new("m", ramp(11, 50.0, 10.0), 0));
    p.vlines = vec![
        VLine::new(5.0, "lr ÷10"),
        VLine::new(8.0, ""),
        VLine::new(99.0, "outside"),
    ];
    let svg = render_svg(&one_panel(p));
    assert!(has_text(&svg, "lr ÷10"));
    assert!(!has_text(&svg, "outside"));
    assert!(!has_text(&svg, "99") && !has_text(&svg, "100"));
    // Two dotted grey lines of many short dashes.
    let dots = tags(&svg, "polyline")
        .into_iter()
        .filter(|t| attr(t, "stroke") == "#5A5A5A")
        .count();
    assert!(dots > 40, "{dots} dashes");
}

fn two_ranges(share: bool) -> Figure {
    let mut a = Panel::new("small", "x", "y");
    a.series.push(Series::new("a", ramp(5, 1.0, 9.0), 0));
    let mut b = Panel::new("large", "x", "y");
    b.series.push(Series::new("b", ramp(5, 10.0, 90.0), 1));
    let fig = Figure::new("shared", "c", vec![a, b]);
    if share {
        fig.with_shared_y()
    } else {
        fig
    }
}

#[test]
fn shared_y_axes_have_identical_ticks() {
    let w = figures::DEFAULT_PANEL_SIZE.0;
    let svg = render_svg(&two_ranges(true));
    let (a, b) = (y_tick_labels(&svg, w, 0), y_tick_labels(&svg, w, 1));
    assert!(a.len() >= 3, "{a:?}");
    assert_eq!(a, b);

    let svg = render_svg(&two_ranges(false));
    let (a, b) = (y_tick_labels(&svg, w, 0), y_tick_labels(&svg, w, 1));
    assert!(a.len() >= 3 && b.len() >= 3);
    assert_ne!(a, b);

    // An explicit range keeps its own axis.
    let mut fig = two_ranges(true);
    fig.panels[0].y_range = Some((0.0, 5.0));
    let svg = render_svg(&fig);
    assert_ne!(y_tick_labels(&svg, w, 0), y_tick_labels(&svg, w, 1));
}

#[test]
fn empty_panels_are_left_out() {
    let mut fig = two_ranges(false);
    let mut empty = Panel::new("nothing here", "x", "y");
    empty.series.push(Series::new(
        "nan",
        vec![(0.0, f64::NAN), (f64::INFINITY, 1.0)],
        2,
    ));
    fig.panels.insert(1, empty);
    let w = fig.panel_size.0;
    assert_eq!(fig.canvas_size().0, 2 * w);
    let svg = render_svg(&fig);
    assert!(has_text(&svg, "small") && has_text(&svg, "large"));
    assert!(!has_text(&svg, "nothing here") && !has_text(&svg, "no data"));

    // With nothing at all, one "no data" panel remains.
    fig.panels.retain(|p| p.title == "nothing here");
    fig.panels.push(Panel::arms(
        "no arms",
        "y",
        vec![ArmPoint::new("a", vec![f64::NAN], 0)],
    ));
    assert_eq!(fig.canvas_size().0, w);
    let svg = render_svg(&fig);
    let no_data = |svg: &str| texts(svg).iter().filter(|t| t.text == "no data").count();
    assert_eq!(no_data(&svg), 1);
    // An arm panel without data says so too.
    fig.panels.remove(0);
    let svg = render_svg(&fig);
    assert_eq!(no_data(&svg), 1);
    assert!(has_text(&svg, "no arms"));
}

#[test]
fn long_caption_and_titles_wrap_without_loss() {
    let caption = (0..70)
        .map(|i| format!("word{i}"))
        .collect::<Vec<_>>()
        .join(" ");
    let title = "A rather long figure title that cannot possibly fit on a single line of a narrow two panel figure";
    let panel_title = "a panel title much too long for the width of its own panel";
    let mut fig = two_ranges(false);
    fig.title = title.into();
    fig.caption = caption.clone();
    fig.panels[0].title = panel_title.into();
    let svg = render_svg(&fig);
    assert!(!svg.contains('…'));
    let words: Vec<String> = texts(&svg)
        .into_iter()
        .flat_map(|t| {
            t.text
                .split_whitespace()
                .map(String::from)
                .collect::<Vec<_>>()
        })
        .collect();
    for w in caption
        .split(' ')
        .chain(title.split(' '))
        .chain(panel_title.split(' '))
    {
        assert!(words.iter().any(|x| x == w), "{w:?} missing");
    }
    let caption_lines = texts(&svg)
        .iter()
        .filter(|t| t.text.starts_with("word"))
        .count();
    assert!(caption_lines >= 3, "{caption_lines} caption lines");
    // The header grew to hold them.
    assert!(fig.canvas_size().1 > fig.panel_size.1 + 62 + 2 * 15);
    // No text runs off the canvas: every centred header line is centred.
    let w = fig.canvas_size().0 as f64;
    assert!(texts(&svg)
        .iter()
        .filter(|t| t.text.starts_with("word"))
        .all(|t| t.x == (w / 2.0).floor()));
}

fn arm_panel() -> Panel {
    let mut p = Panel::arms(
        "final error",
        "error (%)",
        vec![
            ArmPoint::new("baseline", vec![17.1, 17.6, 16.9], 0).with_paper(17.0),
            ArmPoint::new("with dropout", vec![15.2, 15.9, 15.5], 1).with_paper(15.6),
            ArmPoint::new("one seed", vec![16.2], 2),
        ],
    );
    p.ref_ticks.push(RefTick::new(16.5, "target", 3));
    p
}

#[test]
fn arm_panel_draws_labels_seeds_means_and_papers() {
    let svg = render_svg(&one_panel(arm_panel()));
    for label in [
        "baseline",
        "with dropout",
        "one seed",
        "seed",
        "mean ± std",
        "paper",
        "target",
    ] {
        assert!(has_text(&svg, label), "{label:?} missing");
    }
    // 7 seeds as hollow circles in their arm's colour, plus the legend's.
    let hollow: Vec<&str> = tags(&svg, "circle")
        .into_iter()
        .filter(|t| attr(t, "fill") == "none")
        .collect();
    assert_eq!(hollow.len(), 8, "{hollow:?}");
    assert_eq!(
        hollow
            .iter()
            .filter(|t| attr(t, "stroke") == "#0072B2")
            .count(),
        3
    );
    // Seeds of one arm are spread apart, not stacked.
    let xs: Vec<&str> = hollow
        .iter()
        .take(3)
        .map(|t| t.split("cx=\"").nth(1).unwrap())
        .collect();
    assert!(xs[0] != xs[1] && xs[1] != xs[2], "{xs:?}");
    // Two paper diamonds plus the legend's.
    let diamonds = tags(&svg, "polygon")
        .into_iter()
        .filter(|t| attr(t, "fill") == "#000000")
        .count();
    assert_eq!(diamonds, 3);
    // Mean bars: bold strokes in the arms' colours.
    let bars = tags(&svg, "polyline")
        .into_iter()
        .filter(|t| attr(t, "stroke-width") == "4")
        .count();
    assert_eq!(bars, 4, "three means + legend");
    // No numeric x ticks on a categorical axis.
    assert!(!has_text(&svg, "0.5") && !has_text(&svg, "-0.5"));
}

#[test]
fn many_long_arm_labels_do_not_overlap() {
    let arms = (0..14)
        .map(|i| {
            ArmPoint::new(
                format!("configuration number {i} with extras"),
                vec![i as f64, i as f64 + 1.0],
                i,
            )
        })
        .collect();
    let mut fig = Figure::new("arms", "c", vec![Panel::arms("many", "y", arms)]);
    fig.panel_size = (440, 360);
    let svg = render_svg(&fig);
    let labels: Vec<SvgText> = texts(&svg)
        .into_iter()
        .filter(|t| t.text.contains("configuration") || t.text.contains("extras"))
        .collect();
    assert!(!labels.is_empty());
    // Too long for horizontal columns: turned, one column of text each, and
    // every label complete.
    assert!(labels.iter().all(|t| t.rotated));
    for i in 0..14 {
        let words: String = labels
            .iter()
            .map(|t| t.text.as_str())
            .collect::<Vec<_>>()
            .join(" ");
        assert!(words.contains(&format!("number {i} ")), "label {i} cut");
    }
    let mut xs: Vec<f64> = labels.iter().map(|t| t.x).collect();
    xs.sort_by(f64::total_cmp);
    xs.dedup();
    assert!(xs.windows(2).all(|w| w[1] - w[0] >= 9.0), "{xs:?}");
}

#[test]
fn log_y_has_log_spaced_readable_ticks() {
    let pts: Vec<(f64, f64)> = vec![
        (0.0, 1000.0),
        (1.0, 100.0),
        (2.0, 0.0),
        (3.0, 10.0),
        (4.0, -5.0),
        (5.0, 1.0),
    ];
    let mut p = Panel::new("loss", "epochs", "loss");
    p.log_y = true;
    p.series.push(Series::new("train", pts.clone(), 0));
    let svg = render_svg(&one_panel(p.clone()));
    let ticks: Vec<SvgText> = texts(&svg)
        .into_iter()
        .filter(|t| t.anchor == "end" && t.fill == "#141414" && !t.rotated)
        .collect();
    let labels: Vec<&str> = ticks.iter().map(|t| t.text.as_str()).collect();
    for want in ["1", "10", "100", "1000"] {
        assert!(labels.contains(&want), "{labels:?}");
    }
    assert!(labels.iter().all(|l| !l.contains('e')), "{labels:?}");
    let y = |s: &str| ticks.iter().find(|t| t.text == s).unwrap().y;
    let (d1, d2) = (y("1") - y("10"), y("10") - y("100"));
    assert!(d1 > 20.0 && (d1 - d2).abs() <= 1.0, "decades {d1} vs {d2}");

    p.log_y = false;
    let svg = render_svg(&one_panel(p));
    let lin = y_tick_labels(&svg, 820, 0);
    assert!(!lin.contains(&"10".to_string()), "{lin:?}");
}

#[test]
fn iteration_axes_read_as_thousands() {
    let mut p = Panel::new("", "iterations", "error");
    p.series.push(Series::new(
        "m",
        (0..=64)
            .map(|i| (i as f64 * 1000.0, 50.0 - i as f64 * 0.5))
            .collect(),
        0,
    ));
    let svg = render_svg(&one_panel(p));
    assert!(has_text(&svg, "20k") && has_text(&svg, "60k"));
    assert!(!has_text(&svg, "20000") && !has_text(&svg, "2e4"));
}

#[test]
fn public_types_have_the_usual_derives() {
    fn check<
        T: Clone + std::fmt::Debug + PartialEq + serde::Serialize + for<'a> serde::Deserialize<'a>,
    >() {
    }
    check::<Figure>();
    check::<Panel>();
    check::<Series>();
    check::<VLine>();
    check::<RefTick>();
    check::<ArmPoint>();
}
