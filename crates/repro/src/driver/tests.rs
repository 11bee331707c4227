use super::cli::LayoutMode;
use super::probes::choose_layouts;
use super::*;
use crate::layout::Layout;
use crate::train;
use tch::Device;

#[test]
fn layout_auto_keeps_a_resumed_runs_layout_and_defaults_short_runs() {
    let short = crate::testing::tiny_run(1, &[]);
    let mut long = crate::testing::tiny_run(1, &["train.iterations=5000"]);
    long.name = "long".into();
    let tmp = tempfile::tempdir().expect("tmp");
    let cpu = Device::Cpu;

    // Fixed layouts are taken as given.
    let fixed = choose_layouts(&[&short, &long], LayoutMode::Nchw, cpu, tmp.path());
    assert_eq!(
        fixed.values().copied().collect::<Vec<_>>(),
        vec![Layout::Nchw, Layout::Nchw]
    );

    // Auto: the short run takes the CPU default (channels-last) untimed.
    let auto = choose_layouts(&[&short], LayoutMode::Auto, cpu, tmp.path());
    assert_eq!(auto.get(&short.run_id()), Some(&Layout::ChannelsLast));

    // A run with a checkpoint keeps the layout recorded there.
    let dir = tmp.path().join("runs").join(short.run_id());
    std::fs::create_dir_all(&dir).expect("mkdir");
    std::fs::write(
        dir.join(train::checkpoint::META_FILE),
        r#"{"channels_last": false, "iteration": 10}"#,
    )
    .expect("write");
    let resumed = choose_layouts(&[&short], LayoutMode::Auto, cpu, tmp.path());
    assert_eq!(resumed.get(&short.run_id()), Some(&Layout::Nchw));

    // A long run is timed in both layouts and gets one of them.
    let timed = choose_layouts(&[&long], LayoutMode::Auto, cpu, tmp.path());
    assert!(timed.contains_key(&long.run_id()));
}

#[test]
fn a_job_over_a_day_is_announced_with_the_quick_alternative() {
    assert_eq!(long_job_warning(3_600.0, Device::Cpu, "paper"), None);
    assert_eq!(long_job_warning(f64::NAN, Device::Cpu, "paper"), None);
    let w = long_job_warning(5.0 * 86_400.0, Device::Cpu, "paper").expect("warns");
    assert!(w.contains("5.0 days"), "{w}");
    assert!(w.contains("--profile quick"), "{w}");
    // A quick profile that is still long is announced without advising itself.
    let q = long_job_warning(2.0 * 86_400.0, Device::Cpu, "quick").expect("warns");
    assert!(!q.contains("--profile quick"), "{q}");
}
