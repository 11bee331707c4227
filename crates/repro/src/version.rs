//! `--version` of the binaries that link libtorch: the shared text
//! (`records::version`) with this build's libtorch and whether CUDA is usable.
pub use records::version::{short, BUILD_COMMIT, DEP_VERSIONS};
use std::sync::OnceLock;

/// `short()`, then one line each: training code, the libraries, libtorch, CUDA.
pub fn long() -> &'static str {
    static L: OnceLock<String> = OnceLock::new();
    L.get_or_init(|| records::version::describe(engine::runtime::LIBTORCH_VERSION, &cuda_here()))
}

fn cuda_here() -> String {
    if tch::Cuda::is_available() {
        format!("available, {} device(s)", tch::Cuda::device_count())
    } else {
        "not available (CPU only)".into()
    }
}
