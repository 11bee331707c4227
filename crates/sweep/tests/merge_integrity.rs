//! Issue 14, item 3: `sweep merge` checks that each finished run's Parquet
//! file reaches the iteration its `status.json` says the run ended at. A valid
//! file cut to its first rows was merged before, and the report showed an
//! early test error as the final one.
mod common;
use common::*;

#[test]
fn a_valid_but_short_run_parquet_stops_the_merge_and_keeps_the_merged_outputs() {
    let tmp = tempfile::tempdir().expect("tmp");
    let out = tmp.path().join("out");
    finished_sweep(tmp.path(), &out, &[]);
    let bin = exp_bin();
    let dir = out.join("smoke");
    let merged = snapshot(&dir);
    // Cut to its first half of rows, as a valid Parquet file.
    let short = dir.join("runs/plain-20-s1/metrics.parquet");
    let rows = records::metrics::read_parquet(&short).expect("rows");
    assert!(rows.len() >= 2, "{} rows", rows.len());
    let kept = &rows[..rows.len() / 2];
    records::metrics::write_parquet(&short, kept).expect("write");
    let before = snapshot(&dir);
    let o = out.to_str().expect("UTF-8");
    let r = run(
        SWEEP,
        &[
            "merge",
            EXP,
            "--profile",
            "smoke",
            "--bin",
            bin.to_str().expect("UTF-8"),
            "--out",
            o,
        ],
    );
    let err = stderr(&r);
    assert!(!r.status.success(), "merged a cut file: {err}");
    let last = kept.last().expect("a row").iteration;
    assert!(
        err.contains(short.to_str().expect("UTF-8"))
            && err.contains("status.json")
            && err.contains(&format!("iteration {last}")),
        "{err}"
    );
    assert_intact(&before);
    // Nothing merged was rewritten (the cut file aside, which the check only reads).
    let unchanged: Vec<_> = merged.into_iter().filter(|(p, _)| *p != short).collect();
    assert_intact(&unchanged);
    // The experiment binary's own redraw refuses it too.
    let r = run(
        bin.to_str().expect("UTF-8"),
        &["--profile", "smoke", "--out", o, "--plot-only"],
    );
    assert!(!r.status.success(), "{}", stderr(&r));
    assert!(stderr(&r).contains("status.json"), "{}", stderr(&r));
    assert_intact(&unchanged);
}

/// Issue 32, case 11: a run's Parquet file with rows deleted in the middle
/// (its last row still where `status.json` says the run ended) was merged.
/// The rows a run writes follow from its config (iterations, logging,
/// evaluation and checkpoint intervals): the merge names the missing ones.
#[test]
fn a_run_parquet_with_middle_rows_deleted_stops_the_merge() {
    let tmp = tempfile::tempdir().expect("tmp");
    let out = tmp.path().join("out");
    finished_sweep(tmp.path(), &out, &[]);
    let bin = exp_bin();
    let dir = out.join("smoke");
    let merged = snapshot(&dir);
    let holed = dir.join("runs/plain-20-s1/metrics.parquet");
    let rows = records::metrics::read_parquet(&holed).expect("rows");
    // Smoke: 30 iterations, a row every 5.
    let iterations: Vec<i64> = rows.iter().map(|r| r.iteration).collect();
    assert_eq!(iterations, [5, 10, 15, 20, 25, 30]);
    let kept: Vec<_> = rows
        .iter()
        .filter(|r| r.iteration != 10 && r.iteration != 20)
        .cloned()
        .collect();
    records::metrics::write_parquet(&holed, &kept).expect("write");
    let before = snapshot(&dir);
    let o = out.to_str().expect("UTF-8");
    let r = run(
        SWEEP,
        &[
            "merge",
            EXP,
            "--profile",
            "smoke",
            "--bin",
            bin.to_str().expect("UTF-8"),
            "--out",
            o,
        ],
    );
    let last = assert_one_line_error(&r, holed.to_str().expect("UTF-8"));
    assert!(
        last.contains("2 row(s) missing, at iteration(s) 10, 20"),
        "{last}"
    );
    assert_intact(&before);
    let unchanged: Vec<_> = merged.into_iter().filter(|(p, _)| *p != holed).collect();
    assert_intact(&unchanged);
    // The experiment binary's own redraw refuses it too.
    let r = run(
        bin.to_str().expect("UTF-8"),
        &["--profile", "smoke", "--out", o, "--plot-only"],
    );
    let last = assert_one_line_error(&r, holed.to_str().expect("UTF-8"));
    assert!(last.contains("at iteration(s) 10, 20"), "{last}");
    assert_intact(&unchanged);
}
