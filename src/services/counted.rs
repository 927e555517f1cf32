//! What a person's stored answers count as in the tallies: their publication groups under
//! the catalogue version they were answered against, with their keyed signature.

use crate::crypto::Sealer;
use crate::domain::catalogue::AnswerSet;
use crate::domain::tally::Counted;
use crate::error::AppResult;
use crate::store::declarations::{self as repo, Declaration};
use crate::store::person_keys::{self, PersonKeyRow};
use crate::store::Conn;

use super::answer_keys::Keys;

/// What a stored declaration counts as in the tallies: its answers collapsed to publication
/// groups under the catalogue version they were answered against (the one they were counted
/// under when written), so taking them out again subtracts exactly what was added.
pub fn counted_groups(conn: &mut Conn, sealer: &Sealer, employee_id: &str) -> AppResult<Counted> {
    match repo::find(conn, employee_id)? {
        Some(row) => {
            let key = person_keys::find(conn, employee_id)?;
            groups_of_row(conn, sealer, &row, key.as_ref())
        }
        None => Ok(Counted::blank()),
    }
}

/// [`counted_groups`] of a declaration already loaded (a recount reads them a page at a time).
/// Parsed catalogue versions come from the process-wide [`super::published`] cache, so a
/// recount meeting one version many times parses it once.
pub fn groups_of_row(
    conn: &mut Conn,
    sealer: &Sealer,
    row: &Declaration,
    key: Option<&PersonKeyRow>,
) -> AppResult<Counted> {
    let answers = Keys::opened(sealer, key)?.open_row(row)?;
    groups_of_opened(conn, sealer, row, &answers)
}

/// [`counted_groups`] of a row already read and opened.
pub(crate) fn groups_of_opened(
    conn: &mut Conn,
    sealer: &Sealer,
    row: &Declaration,
    answers: &AnswerSet,
) -> AppResult<Counted> {
    let catalogue =
        super::published::version(conn, &row.organisation_id, &row.catalogue_version_id)?;
    let secret = super::noise::secret(conn, sealer, &row.organisation_id)?;
    Ok(Counted::new(
        &secret,
        &row.employee_id,
        crate::domain::tally::groups_of(&catalogue, answers),
    ))
}
