//! `--device`, as every binary takes it (the experiments, `sweep`, `gpu-check`,
//! the bench): one type, so a value one binary accepts every other accepts.
//! Torch-free: which device is there is the engine's business.

/// `auto` (CUDA device 0 when libtorch sees one, else the CPU), `cpu`,
/// `cuda` (device 0) or `cuda:N`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceSpec {
    /// CUDA device 0 when libtorch sees one, else the CPU.
    Auto,
    Cpu,
    Cuda(usize),
}

impl std::str::FromStr for DeviceSpec {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "auto" => Ok(DeviceSpec::Auto),
            "cpu" => Ok(DeviceSpec::Cpu),
            "cuda" => Ok(DeviceSpec::Cuda(0)),
            _ => s
                .strip_prefix("cuda:")
                .and_then(|i| i.parse().ok())
                .map(DeviceSpec::Cuda)
                .ok_or_else(|| format!("`{s}`: expected auto, cpu, cuda or cuda:N")),
        }
    }
}

impl std::fmt::Display for DeviceSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DeviceSpec::Auto => write!(f, "auto"),
            DeviceSpec::Cpu => write!(f, "cpu"),
            DeviceSpec::Cuda(i) => write!(f, "cuda:{i}"),
        }
    }
}

impl DeviceSpec {
    /// Whether training would run on the CPU on a machine where libtorch does
    /// (`cuda_available`) or does not see a GPU.
    pub fn is_cpu_with(self, cuda_available: bool) -> bool {
        self == DeviceSpec::Cpu || (self == DeviceSpec::Auto && !cuda_available)
    }
}

#[cfg(test)]
mod tests {
    use super::DeviceSpec;

    #[test]
    fn every_spelling_parses_and_prints_back() {
        for (text, spec) in [
            ("auto", DeviceSpec::Auto),
            ("cpu", DeviceSpec::Cpu),
            ("cuda:0", DeviceSpec::Cuda(0)),
            ("cuda:3", DeviceSpec::Cuda(3)),
        ] {
            assert_eq!(text.parse::<DeviceSpec>(), Ok(spec));
            assert_eq!(spec.to_string(), text);
        }
        assert_eq!("cuda".parse::<DeviceSpec>(), Ok(DeviceSpec::Cuda(0)));
        let e = "gpu".parse::<DeviceSpec>().expect_err("unknown");
        assert!(e.contains("`gpu`") && e.contains("cuda:N"), "{e}");
        assert!(DeviceSpec::Auto.is_cpu_with(false) && !DeviceSpec::Auto.is_cpu_with(true));
        assert!(DeviceSpec::Cpu.is_cpu_with(true));
    }
}
