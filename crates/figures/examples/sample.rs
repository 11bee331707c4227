//! Writes the synthetic sample figures to a directory (default
//! `/tmp/figures-sample`) for eyeballing: `cargo run --release -p figures
//! --example sample [DIR]`.

#[path = "../tests/support/samples.rs"]
mod samples;

fn main() -> Result<(), figures::PlotError> {
    let dir = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "/tmp/figures-sample".into());
    let dir = std::path::Path::new(&dir);
    for (name, fig) in [
        ("resnet_fig6", samples::resnet_fig6()),
        ("edge_cases", samples::edge_cases()),
        ("alexnet_fig1", samples::alexnet_fig1()),
        ("features", samples::features()),
    ] {
        let [svg, png] = figures::render(&fig, &dir.join(name))?;
        println!("{}\n{}", svg.display(), png.display());
    }
    Ok(())
}
