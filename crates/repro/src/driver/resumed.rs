//! A run that resumes keeps what its checkpoint was written with: its data (a
//! resume on another copy would train one run on two datasets) and libtorch's
//! intra-op thread count (float sums are split by thread, so a resume with
//! another count is no longer bit-identical to an uninterrupted run). The
//! driver reads both before a run reopens, under its lock, so that a refusal
//! rewrites nothing of the run.
use crate::error::{Error, Result};
use crate::provenance::{DataIdentity, Provenance, ThreadChange};
use crate::train::checkpoint;
use records::run_dir::RunDir;

/// What a run's checkpoint was written with (for checkpoints older than
/// these records: what its provenance, written when it started, says).
#[derive(Debug, Clone, PartialEq)]
pub struct Recorded {
    pub iteration: i64,
    pub data: Option<DataIdentity>,
    pub threads: Option<i32>,
}

/// The records of `dir`'s checkpoint; None without one. A checkpoint that
/// does not verify is an error naming its file.
pub fn recorded(dir: &RunDir) -> Result<Option<Recorded>> {
    let Some(meta) = checkpoint::read_state(dir.path())? else {
        return Ok(None);
    };
    let prov = dir.read_provenance();
    Ok(Some(Recorded {
        iteration: meta.iteration,
        data: meta.data.or_else(|| prov.as_ref().map(Provenance::data)),
        threads: meta.threads.or_else(|| prov.map(|p| p.threads)),
    }))
}

/// The thread count `dir`'s checkpoint was written with, if it has a
/// checkpoint that says (one that does not verify is reported when the run opens).
pub fn recorded_threads(dir: &RunDir) -> Option<i32> {
    recorded(dir).ok().flatten()?.threads
}

/// Before `dir`'s run resumes on `data` with this process's thread count:
/// refuses a checkpoint of other data (naming both and what to do), and says
/// loudly when the thread count differs (only an explicit `--threads` makes it
/// differ: the driver otherwise keeps the checkpoint's). Returns that change,
/// for the run's provenance; None when the run has no checkpoint.
pub fn check(dir: &RunDir, run_id: &str, data: &DataIdentity) -> Result<Option<ThreadChange>> {
    let Some(rec) = recorded(dir)? else {
        return Ok(None);
    };
    if let Some(theirs) = rec.data.as_ref().filter(|d| !d.same_data(data)) {
        return Err(Error::Checkpoint {
            path: dir.path().join(checkpoint::META_FILE),
            msg: format!(
                "[{run_id}] was trained to iteration {} on {theirs}, not on the data given now, \
                 {data}: resuming would train one run on two datasets. Rerun with the --data it \
                 was trained on (its provenance.json's `command` has it), or start it over on \
                 this data with --fresh-stale (or --fresh)",
                rec.iteration
            ),
        });
    }
    let now = tch::get_num_threads();
    let Some(from) = rec.threads.filter(|&t| t != now) else {
        return Ok(None);
    };
    let line = format!(
        "warning: [{run_id}] resumes at iteration {} with {now} libtorch threads (--threads), but its \
         checkpoint was written with {from}: from here on the run is NOT bit-reproducible (its float \
         sums are split differently; an uninterrupted run's numbers will differ in the last digits). \
         Its provenance.json records this (`thread_changes`). Rerun without --threads (or with \
         --threads {from}) to keep the checkpoint's count",
        rec.iteration
    );
    crate::say!("{line}");
    crate::progress::append_log(dir.path(), &line);
    Ok(Some(ThreadChange {
        iteration: rec.iteration,
        from,
        to: now,
    }))
}
