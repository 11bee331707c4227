//! `sweep` takes its experiments from `experiments/*.toml` (`records::registry`),
//! the list `nightly` uses: any other name is refused before anything runs.
mod common;
use common::{run, stderr, SWEEP};

#[test]
fn an_experiment_not_in_the_registry_is_refused_naming_the_known_ones() {
    let t = tempfile::tempdir().expect("tmp");
    let out = t.path().join("out");
    let o = out.to_str().expect("UTF-8 path");
    for args in [
        vec!["alexnet-nope", "--local", "--out", o],
        vec!["merge", "alexnet-nope", "--out", o],
    ] {
        let r = run(SWEEP, &args);
        assert!(!r.status.success());
        let err = stderr(&r);
        assert!(
            err.contains("unknown experiment \"alexnet-nope\"")
                && err.contains("alexnet-lrn, ")
                && err.contains("resnet-cifar-degradation"),
            "{err}"
        );
        assert!(!out.exists(), "{} created", out.display());
    }
}
