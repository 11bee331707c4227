//! The exit statuses of every binary of the workspace, in one place (the
//! table in `docs/exit-codes.md` says the same). A caller — a shell script,
//! `sweep`, Slurm, the nightly — tells a failure from an interruption it
//! should simply rerun by the status alone.
//!
//! | status | meaning |
//! |---|---|
//! | 0 | done |
//! | 1 | failed (a run crashed, a result file is bad, a regression) |
//! | 2 | bad input: a usage error (clap), a config or data error |
//! | 75 | interrupted at a checkpoint by a signal: the same command resumes (`EX_TEMPFAIL`) |
//! | 130 | a second signal: stopped at once, without a checkpoint of the step in progress |

use std::process::ExitCode;

/// Everything asked for was done.
pub const DONE: u8 = 0;
/// Something failed: a run crashed, a result file is refused, a task failed.
pub const FAILED: u8 = 1;
/// The input is wrong (flags, config, data); clap's usage errors exit 2 too.
pub const BAD_INPUT: u8 = 2;
/// Stopped by a signal (SIGINT, SIGTERM, SIGUSR1) at a checkpoint: nothing is
/// lost and the same command resumes. `EX_TEMPFAIL` of sysexits.h, the status
/// schedulers and retry loops read as "try again".
pub const INTERRUPTED: u8 = 75;
/// A second signal while stopping at a checkpoint: the process ended at once
/// (128 + SIGINT, what a shell reports for Ctrl-C). `train::stop_on_signals`
/// exits with it (a literal there: that file is part of the training-code hash).
pub const SECOND_SIGNAL: u8 = 130;

/// The table, for `--help` (`after_help`) of every binary.
pub const HELP: &str = "Exit status: 0 done; 1 failed; 2 bad input (usage, config or data); \
75 interrupted by a signal at a checkpoint (the same command resumes); \
130 a second signal (stopped at once). See docs/exit-codes.md.";

/// A stop at a checkpoint after a signal: exits `INTERRUPTED`.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Interrupted(pub String);

/// A second signal while stopping: the processes ended at once; exits `SECOND_SIGNAL`.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct SecondSignal(pub String);

/// An error in what the user gave (flags, files, names): exits `BAD_INPUT`.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct BadInput(pub String);

/// Tells whether an error of a crate above this one (the engine's config and
/// data errors) is bad input; `code_with` asks it of every cause.
pub type BadInputTest = fn(&(dyn std::error::Error + 'static)) -> bool;

/// The status an error ends a binary with: `INTERRUPTED`, `SECOND_SIGNAL` or
/// `BAD_INPUT` when its chain holds such an error (or a config error of this
/// crate), else `FAILED`.
pub fn code_of(e: &anyhow::Error) -> u8 {
    code_with(e, |_| false)
}

/// `code_of`, with `bad_input` also deciding which causes are bad input.
pub fn code_with(e: &anyhow::Error, bad_input: BadInputTest) -> u8 {
    for cause in e.chain() {
        if cause.is::<Interrupted>() {
            return INTERRUPTED;
        }
        if cause.is::<SecondSignal>() {
            return SECOND_SIGNAL;
        }
        if cause.is::<BadInput>() {
            return BAD_INPUT;
        }
        if let Some(crate::Error::Config(_)) = cause.downcast_ref::<crate::Error>() {
            return BAD_INPUT;
        }
        if bad_input(cause) {
            return BAD_INPUT;
        }
    }
    FAILED
}

/// A binary's end: nothing on success; otherwise one line on stderr
/// (`interrupted: ...` or `error: ...`, the causes joined, newlines removed:
/// a closed stderr is ignored) and the status of `code_of`.
pub fn finish(result: anyhow::Result<()>) -> ExitCode {
    finish_with(result, |_| false)
}

/// `finish`, with `bad_input` as in `code_with`.
pub fn finish_with(result: anyhow::Result<()>, bad_input: BadInputTest) -> ExitCode {
    match result {
        Ok(()) => ExitCode::from(DONE),
        Err(e) => {
            let code = code_with(&e, bad_input);
            let msg = format!("{e:#}").replace('\n', " ");
            if code == INTERRUPTED || code == SECOND_SIGNAL {
                crate::say!("interrupted: {msg}");
            } else {
                crate::say!("error: {msg}");
            }
            ExitCode::from(code)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_map_to_the_table() {
        let e = anyhow::Error::new(Interrupted("stopped".into())).context("training");
        assert_eq!(code_of(&e), INTERRUPTED);
        let e = anyhow::Error::new(crate::Error::Config("x".into())).context("plan");
        assert_eq!(code_of(&e), BAD_INPUT);
        assert_eq!(
            code_of(&anyhow::Error::new(BadInput("x".into()))),
            BAD_INPUT
        );
        assert_eq!(
            code_of(&anyhow::Error::new(SecondSignal("x".into()))),
            SECOND_SIGNAL
        );
        assert_eq!(code_of(&anyhow::anyhow!("disk full")), FAILED);
    }
}
