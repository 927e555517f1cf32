//! What every piece of text the service takes in must be, wherever it enters (JSON and form
//! bodies, query strings, path segments, CSV and NDJSON rows).
//!
//! No NUL character: PostgreSQL cannot store one in `text` (the write fails) while SQLite
//! stores it, so the same input would be a server error on one backend and a silently odd
//! name on the other. It is refused as bad input instead, naming where it was.

use crate::error::FieldError;

/// What a refused NUL is told as.
pub const NUL_MESSAGE: &str = "must not contain a NUL character (U+0000)";

/// The machine-readable code of that refusal.
pub const NUL_CODE: &str = "nul_character";

/// Whether `text` holds a NUL character.
pub fn has_nul(text: &str) -> bool {
    text.contains('\0')
}

/// The problem with `field` if `text` holds a NUL.
pub fn nul_problem(field: &str, text: &str) -> Option<FieldError> {
    has_nul(text).then(|| FieldError::new(field, NUL_CODE, format!("{field} {NUL_MESSAGE}")))
}
