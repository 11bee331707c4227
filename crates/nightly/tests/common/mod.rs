//! Hand-made results directories, written through the types the experiments
//! write them with: `claims.json` (`records::report::ClaimsFile`), `summary.csv`
//! and each run's `provenance.json`.
#![allow(dead_code)]
use records::provenance::Provenance;
use records::report::{Claim, ClaimsFile, Header, Numbers, Verdict, CLAIMS_SCHEMA, RULE};
use std::path::Path;

/// The data the committed results were trained on, and another copy.
pub const JPEG: (&str, &str) = ("CIFAR-10 (JPEG q75 copy)", "d877bdec11f5");
pub const OFFICIAL: (&str, &str) = ("CIFAR-10", "c4a38c50a1bc");

/// Writes `dir` (an experiment's `<profile>` directory) afresh: runs (run,
/// seed, final test error) trained on `data` (label, source sha256), and
/// claims (id, verdict, effect, std_error, n per arm).
pub fn write_results(
    dir: &Path,
    data: (&str, &str),
    runs: &[(&str, u64, f64)],
    claims: &[(&str, &str, f64, f64, u32)],
) {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).expect("mkdir");
    let mut csv = String::from("run,seed,run_id,fidelity,final_train_error_pct,final_test_error_pct,test_error_at_best_val_pct,iterations,wall_time_s,dataset,device,precision,config_hash\n");
    for (run, seed, err) in runs {
        let id = records::run_dir::run_id(run, *seed);
        csv += &format!(
            "{run},{seed},{id},shortened,1,{err},1,10,1.5,{},cpu,fp32,abc\n",
            data.0
        );
        let prov = Provenance {
            git_commit: "base123".into(),
            git_dirty: false,
            build_commit: String::new(),
            crate_versions: String::new(),
            libtorch_version: String::new(),
            device: "cpu".into(),
            cuda_available: false,
            threads: 1,
            dataset: data.0.into(),
            dataset_sha256: data.1.into(),
            started_at_unix: 0,
            command: String::new(),
            training_code: "abc".into(),
            reused_from: None,
            thread_changes: Vec::new(),
            segments: Vec::new(),
        };
        let run_dir = dir.join("runs").join(&id);
        std::fs::create_dir_all(&run_dir).expect("mkdir");
        let json = serde_json::to_string_pretty(&prov).expect("json");
        std::fs::write(run_dir.join("provenance.json"), json).expect("write");
    }
    std::fs::write(dir.join("summary.csv"), csv).expect("write");
    let claims = claims
        .iter()
        .map(|(id, verdict, effect, se, n)| Claim {
            id: id.to_string(),
            statement: "s".into(),
            paper: "p".into(),
            measured: "n".into(),
            verdict: match *verdict {
                "pass" => Verdict::Pass,
                "fail" => Verdict::Fail,
                "inconclusive" => Verdict::Inconclusive("why 1.0".into()),
                _ => Verdict::NotEvaluated("why".into()),
            },
            numbers: Numbers {
                effect: Some(*effect),
                std_error: Some(*se),
                n_a: Some(*n as usize),
                n_b: Some(*n as usize),
                ..Numbers::default()
            },
            ..Default::default()
        })
        .collect();
    let file = ClaimsFile {
        schema: CLAIMS_SCHEMA,
        rule: RULE.into(),
        header: Header {
            commit: "base123".into(),
            datasets: vec![data.0.into()],
            ..Default::default()
        },
        claims,
    };
    let json = serde_json::to_string_pretty(&file).expect("json");
    std::fs::write(dir.join("claims.json"), json).expect("write");
}
