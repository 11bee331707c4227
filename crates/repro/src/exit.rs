//! The shared exit statuses (`records::exit`), with the engine's config and
//! data errors counted as bad input.
pub use records::exit::{
    BadInput, Interrupted, SecondSignal, BAD_INPUT, DONE, FAILED, HELP, INTERRUPTED, SECOND_SIGNAL,
};
use std::process::ExitCode;

fn engine_bad_input(cause: &(dyn std::error::Error + 'static)) -> bool {
    cause
        .downcast_ref::<engine::Error>()
        .is_some_and(engine::Error::is_bad_input)
}

/// The status an error ends a binary with (`records::exit::code_with`).
pub fn code_of(e: &anyhow::Error) -> u8 {
    records::exit::code_with(e, engine_bad_input)
}

/// A binary's end (`records::exit::finish_with`).
pub fn finish(result: anyhow::Result<()>) -> ExitCode {
    records::exit::finish_with(result, engine_bad_input)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engine_config_and_data_errors_are_bad_input() {
        let e = anyhow::Error::new(engine::Error::Config("x".into())).context("plan");
        assert_eq!(code_of(&e), BAD_INPUT);
        let e = anyhow::Error::new(engine::Error::Records(records::Error::Config("x".into())));
        assert_eq!(code_of(&e), BAD_INPUT);
        let e = anyhow::Error::new(engine::Error::Other("disk".into()));
        assert_eq!(code_of(&e), FAILED);
    }
}
