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

/// Every branch that depends on the machine, under each answer, on any machine
/// (issue: a refusal branch only an AVX2-only CPU took failed there alone).
mod hardware_branches {
    use super::super::cli::{device_for, DeviceSpec};
    use super::super::probes::check_bf16_hardware;
    use crate::config::Precision;
    use crate::layout::Layout;
    use crate::provenance::CpuIsa;
    use tch::Device;

    fn zen3() -> CpuIsa {
        CpuIsa::detect(Some("fpu avx fma avx2"))
    }

    fn xeon_amx() -> CpuIsa {
        CpuIsa::detect(Some("avx2 avx512f avx512_bf16 amx_bf16 amx_tile"))
    }

    #[test]
    fn bf16_is_refused_on_a_cpu_without_bf16_unless_allowed_and_never_on_a_gpu() {
        let mut bf16 = crate::testing::tiny_run(1, &[]);
        bf16.train.precision = Precision::Bf16Autocast;
        let fp32 = [crate::testing::tiny_run(1, &[])];
        let bf16 = [bf16];
        let err = check_bf16_hardware(&bf16, true, false, zen3()).expect_err("refused");
        let msg = format!("{err:#}");
        assert!(
            msg.contains("--allow-slow-bf16") && msg.contains("AVX2, injected"),
            "{msg}"
        );
        check_bf16_hardware(&bf16, true, true, zen3()).expect("allowed when asked");
        check_bf16_hardware(&bf16, true, false, xeon_amx()).expect("bf16 hardware");
        check_bf16_hardware(&bf16, false, false, zen3()).expect("a GPU run");
        check_bf16_hardware(&fp32, true, false, zen3()).expect("fp32 is never refused");
    }

    #[test]
    fn device_selection_with_and_without_a_gpu() {
        // No GPU seen by libtorch.
        assert_eq!(device_for(DeviceSpec::Auto, 0).ok(), Some(Device::Cpu));
        assert_eq!(device_for(DeviceSpec::Cpu, 0).ok(), Some(Device::Cpu));
        let e = device_for(DeviceSpec::Cuda(0), 0).expect_err("no GPU");
        assert!(e.to_string().contains("--device cpu"), "{e}");
        assert!(DeviceSpec::Auto.is_cpu_with(false));
        // Two GPUs.
        assert_eq!(device_for(DeviceSpec::Auto, 2).ok(), Some(Device::Cuda(0)));
        assert_eq!(device_for(DeviceSpec::Cpu, 2).ok(), Some(Device::Cpu));
        assert_eq!(
            device_for(DeviceSpec::Cuda(1), 2).ok(),
            Some(Device::Cuda(1))
        );
        let e = device_for(DeviceSpec::Cuda(2), 2).expect_err("only two");
        assert!(e.to_string().contains("only 2 CUDA device(s)"), "{e}");
        assert!(!DeviceSpec::Auto.is_cpu_with(true));
        assert!(DeviceSpec::Cpu.is_cpu_with(true));
        // The layout each device trains in by default.
        assert_eq!(Layout::device_default(Device::Cpu), Layout::ChannelsLast);
        assert_eq!(Layout::device_default(Device::Cuda(0)), Layout::Nchw);
    }
}

#[test]
fn a_job_beyond_a_day_starts_only_with_yes() {
    use super::probes::long_job_refusal;
    let two_days = 2.0 * 86_400.0;
    let refusal = long_job_refusal(two_days, false, "paper").expect("refused");
    assert!(
        refusal.contains("--yes") && refusal.contains("`paper`"),
        "{refusal}"
    );
    assert_eq!(long_job_refusal(two_days, true, "paper"), None);
    assert_eq!(long_job_refusal(3_600.0, false, "paper"), None);
    assert_eq!(long_job_refusal(f64::NAN, false, "paper"), None);
}
