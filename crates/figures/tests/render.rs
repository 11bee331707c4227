//! End-to-end tests: real files in temporary directories.

#[path = "support/samples.rs"]
mod samples;

use std::fs;
use std::path::Path;

use figures::{render, Figure, PlotError};

fn png_is_valid(path: &Path, fig: &Figure) {
    let bytes = fs::read(path).unwrap();
    assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "PNG signature");
    assert!(
        bytes.len() > 5_000,
        "PNG suspiciously small: {}",
        bytes.len()
    );
    let img = image::load_from_memory(&bytes).unwrap().to_rgb8();
    assert_eq!(img.dimensions(), fig.canvas_size());
    // Something besides white, grey and black was drawn: the curves.
    let coloured = img
        .pixels()
        .filter(|p| {
            let [r, g, b] = p.0;
            r.max(g).max(b) - r.min(g).min(b) > 60
        })
        .count();
    assert!(coloured > 1_000, "only {coloured} coloured pixels");
}

#[test]
fn leftovers_of_a_killed_render_are_removed_and_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let stem = dir.path().join("fig6");
    let fig = samples::resnet_fig6();
    render(&fig, &stem).unwrap();
    // What a render killed before its commit leaves (a moment ago): the
    // temporary files exactly as the writer names them.
    let killed = [
        fileio::AtomicFile::new(&dir.path().join("fig6.svg")).unwrap(),
        fileio::AtomicFile::with_temp_suffix(&dir.path().join("fig6.png"), ".tmp.png").unwrap(),
    ];
    let left: Vec<_> = killed.iter().map(|f| f.temp_path().to_path_buf()).collect();
    killed.into_iter().for_each(std::mem::forget);
    // Names that only look alike, and another figure's temporary file.
    let others = [
        ".fig6.png.abcdef.tmp",
        ".fig6.svg.abcdef.tmp.png",
        ".fig7.png.abcdef.tmp.png",
    ];
    for o in others {
        fs::write(dir.path().join(o), "x").unwrap();
    }
    let mut removed = figures::remove_leftovers(&stem).unwrap();
    removed.sort();
    let mut expected = left.clone();
    expected.sort();
    assert_eq!(removed, expected);
    for o in others {
        assert!(dir.path().join(o).exists(), "{o} removed");
    }
    assert!(stem.with_extension("png").is_file() && stem.with_extension("svg").is_file());
    // A stem in a directory that does not exist has nothing left over.
    assert!(figures::remove_leftovers(&dir.path().join("none/fig"))
        .unwrap()
        .is_empty());
}

#[test]
fn three_panel_figure_writes_svg_and_png() {
    let dir = tempfile::tempdir().unwrap();
    let fig = samples::resnet_fig6();
    let stem = dir.path().join("nested/dir/fig6");
    let [svg, png] = render(&fig, &stem).unwrap();
    assert_eq!(svg, dir.path().join("nested/dir/fig6.svg"));
    assert_eq!(png, dir.path().join("nested/dir/fig6.png"));
    png_is_valid(&png, &fig);

    let text = fs::read_to_string(&svg).unwrap();
    assert!(text.starts_with("<svg"));
    for needle in [
        "Figure 6: training on CIFAR-10",
        "plain nets",
        "ResNets",
        "110 vs 1202 layers",
        "plain-56",
        "ResNet-110",
        "ResNet-1202",
        "iter. (1e4)",
        "error (%)",
        "dashed: training error, bold: test error",
        "5%",
    ] {
        assert!(text.contains(needle), "SVG lacks {needle:?}");
    }
    // Train curves are hidden from the legend: each model label appears once
    // per panel it is in (ResNet-110 is in two panels).
    assert_eq!(text.matches(">\nplain-20\n<").count(), 1);
    assert_eq!(text.matches(">\nResNet-110\n<").count(), 2);
    assert!(text.contains("DejaVu Sans"));
    // No temporary files are left behind.
    let names: Vec<_> = fs::read_dir(dir.path().join("nested/dir"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
}

#[test]
fn rendering_is_deterministic() {
    let dir = tempfile::tempdir().unwrap();
    let fig = samples::resnet_fig6();
    let [a_svg, a_png] = render(&fig, &dir.path().join("a")).unwrap();
    let [b_svg, b_png] = render(&fig, &dir.path().join("b")).unwrap();
    assert_eq!(fs::read(a_svg).unwrap(), fs::read(b_svg).unwrap());
    assert_eq!(fs::read(a_png).unwrap(), fs::read(b_png).unwrap());
    // Rendering over an existing figure replaces it.
    let [c_svg, _] = render(&samples::alexnet_fig1(), &dir.path().join("a")).unwrap();
    assert!(fs::read_to_string(c_svg).unwrap().contains("ReLU vs tanh"));
}

#[test]
fn nan_points_and_empty_panels_render() {
    let dir = tempfile::tempdir().unwrap();
    let fig = samples::edge_cases();
    let [svg, png] = render(&fig, &dir.path().join("nan")).unwrap();
    assert!(png.exists());
    let text = fs::read_to_string(svg).unwrap();
    // "empty" and the unnamed panel have no finite data: left out. "outside
    // range" has data, none of it in its explicit range.
    assert_eq!(fig.canvas_size().0, 2 * fig.panel_size.0);
    assert_eq!(text.matches(">\nno data\n<").count(), 1);
    assert!(!text.contains(">\nempty\n<") && !text.contains("no points"));
    assert!(text.contains(">\noutside range\n<"));
    assert!(
        text.contains(">\nall nan\n<"),
        "empty series still in legend"
    );
    // Non-finite values never reach the output as coordinates.
    assert!(!text.contains("NaN") && !text.contains("inf"));

    // A figure without panels is an empty axes, not an error.
    let none = Figure::new("", "", vec![]);
    let [svg, _] = render(&none, &dir.path().join("none")).unwrap();
    assert!(fs::read_to_string(svg).unwrap().contains("no data"));
}

#[test]
fn parent_that_is_a_file_gives_error_naming_path() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("file.txt");
    fs::write(&file, "not a dir").unwrap();
    for stem in [file.join("fig"), file.join("sub/fig")] {
        let err = render(&samples::alexnet_fig1(), &stem).unwrap_err();
        assert!(matches!(err, PlotError::CreateDir { .. }), "{err:?}");
        let msg = err.to_string();
        assert!(msg.contains(file.to_str().unwrap()), "{msg}");
    }
    assert_eq!(fs::read_to_string(&file).unwrap(), "not a dir");
}

#[test]
fn directory_in_the_way_leaves_old_figure_intact() {
    let dir = tempfile::tempdir().unwrap();
    let stem = dir.path().join("fig");
    let [svg, png] = render(&samples::alexnet_fig1(), &stem).unwrap();
    let old_svg = fs::read(&svg).unwrap();
    // Replace the PNG by a non-empty directory: the second rename would fail.
    fs::remove_file(&png).unwrap();
    fs::create_dir_all(png.join("blocker")).unwrap();
    let err = render(&samples::resnet_fig6(), &stem).unwrap_err();
    assert!(err.to_string().contains(png.to_str().unwrap()), "{err}");
    assert_eq!(fs::read(&svg).unwrap(), old_svg, "old SVG replaced");
    let mut names: Vec<_> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["fig.png", "fig.svg"], "temporary files left");
}

#[cfg(unix)]
#[test]
fn read_only_dir_gives_error_and_keeps_old_files() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let stem = out.join("fig");
    let [svg, png] = render(&samples::alexnet_fig1(), &stem).unwrap();
    let (old_svg, old_png) = (fs::read(&svg).unwrap(), fs::read(&png).unwrap());
    fs::set_permissions(&out, fs::Permissions::from_mode(0o555)).unwrap();
    // root ignores directory permissions; then there is nothing to test.
    let probe = out.join("probe");
    let writable = fs::write(&probe, b"").is_ok();
    let result = (!writable).then(|| render(&samples::resnet_fig6(), &stem));
    fs::set_permissions(&out, fs::Permissions::from_mode(0o755)).unwrap();
    let Some(result) = result else {
        eprintln!("skipping read-only check: directory permissions not enforced (root?)");
        return;
    };
    let err = result.unwrap_err();
    assert!(matches!(err, PlotError::Io { .. }), "{err:?}");
    assert!(err.to_string().contains(svg.to_str().unwrap()), "{err}");
    assert_eq!(fs::read(&svg).unwrap(), old_svg);
    assert_eq!(fs::read(&png).unwrap(), old_png);
}

#[test]
fn invalid_figures_are_rejected_before_writing() {
    let dir = tempfile::tempdir().unwrap();
    let mut fig = samples::alexnet_fig1();
    fig.panel_size = (10, 10);
    let err = render(&fig, &dir.path().join("sub/tiny")).unwrap_err();
    assert!(matches!(err, PlotError::InvalidFigure { .. }), "{err:?}");
    assert!(err.to_string().contains("tiny"), "{err}");
    assert!(!dir.path().join("sub").exists());

    let mut fig = samples::alexnet_fig1();
    fig.panels[0].y_range = Some((5.0, 5.0));
    assert!(render(&fig, &dir.path().join("flat")).is_err());
    let mut fig = samples::alexnet_fig1();
    fig.panels[0].x_range = Some((0.0, f64::NAN));
    assert!(render(&fig, &dir.path().join("nan_range")).is_err());
}

#[test]
fn concurrent_renders_share_the_font_registration() {
    let dir = tempfile::tempdir().unwrap();
    std::thread::scope(|s| {
        for i in 0..4 {
            let stem = dir.path().join(format!("c{i}"));
            s.spawn(move || render(&samples::alexnet_fig1(), &stem).unwrap());
        }
    });
}
