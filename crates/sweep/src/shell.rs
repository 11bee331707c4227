//! Words for bash: the Slurm scripts' arguments and the merge command a
//! sweep suggests (used by `slurm` and `merge`, which then need not import
//! each other for it).
use std::ffi::OsStr;

/// Single-quotes a word for bash.
pub(crate) fn quote(s: &OsStr) -> String {
    format!("'{}'", s.to_string_lossy().replace('\'', r"'\''"))
}

/// A word as bash reads it back: as is when it is plain, else single-quoted.
pub(crate) fn word(w: &OsStr) -> String {
    let s = w.to_string_lossy();
    let plain = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=,:@%+".contains(c));
    if plain {
        s.into_owned()
    } else {
        quote(w)
    }
}
