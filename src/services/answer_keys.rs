//! The keys a person's answers are sealed under, and the contexts that tie each ciphertext to
//! its row: their own data key (itself sealed under a leaf of the key tree and the service
//! key), or the service key for rows sealed before per-person keys existed.

use chrono::Utc;

use crate::crypto::{CryptoError, DataKey, Sealed, Sealer, PERSON_KEY_ID};
use crate::domain::catalogue::AnswerSet;
use crate::error::{AppError, AppResult};
use crate::store::declarations::{self as repo, Declaration};
use crate::store::person_keys::{self, PersonKeyRow};
use crate::store::Conn;

/// Ties a ciphertext to its row, so one copied into another person's row does not open.
pub fn declaration_context(employee: &str) -> Vec<u8> {
    format!("declaration:{employee}").into_bytes()
}

pub fn history_context(employee: &str, seq: i64) -> Vec<u8> {
    format!("history:{employee}:{seq}").into_bytes()
}

/// Ties a person's sealed data key to them and their organisation, so a key row copied to
/// another person does not open.
pub fn person_key_context(org: &str, employee: &str) -> Vec<u8> {
    format!("person-key:{org}:{employee}").into_bytes()
}

/// What opens and seals one person's answers: their own data key once they have one, and the
/// service key for rows sealed before per-person keys existed (until rotation moves them).
pub(crate) struct Keys<'a> {
    sealer: &'a Sealer,
    person: Option<DataKey>,
}

impl<'a> Keys<'a> {
    /// The keys of a person whose sealed key row (if any) is already read.
    pub(crate) fn opened(sealer: &'a Sealer, row: Option<&PersonKeyRow>) -> AppResult<Self> {
        let person = match row {
            Some(row) => Some(
                sealer
                    .open_data_key(
                        &Sealed {
                            key_id: row.key_id.clone(),
                            blob: row.sealed.clone(),
                        },
                        &person_key_context(&row.organisation_id, &row.employee_id),
                        row.leaf,
                    )
                    .map_err(|e| match e {
                        // Only after restoring a backup taken before this person was erased:
                        // their rows came back, their key did not (decision 0027).
                        CryptoError::Erased => AppError::Conflict(
                            "these answers were erased and can no longer be opened; a backup \
                             from before the erasure was restored (run `declare admin \
                             purge-erased`)"
                                .into(),
                        ),
                        e => AppError::internal(format!("a person key does not open: {e}")),
                    })?,
            ),
            None => None,
        };
        Ok(Keys { sealer, person })
    }

    /// Reads the person's key: the one extra indexed read a declaration read or write costs.
    pub(crate) fn load(conn: &mut Conn, sealer: &'a Sealer, employee: &str) -> AppResult<Self> {
        let row = person_keys::find(conn, employee)?;
        Self::opened(sealer, row.as_ref())
    }

    /// Makes sure the person has a key, creating and storing one on their first write under
    /// per-person keys. If a concurrent first write stored one meanwhile, that one is used.
    pub(crate) fn ensure(&mut self, conn: &mut Conn, org: &str, employee: &str) -> AppResult<()> {
        if self.person.is_some() {
            return Ok(());
        }
        // Declaration row, then key: the order erasure, catalogue migrations and rotation take
        // them in on PostgreSQL, so a first write racing one of them waits instead of
        // deadlocking on the key's primary key.
        repo::lock(conn, employee)?;
        let made = self
            .sealer
            .new_data_key(&person_key_context(org, employee))
            .map_err(AppError::internal)?;
        let key = made.key;
        let row = PersonKeyRow {
            employee_id: employee.to_owned(),
            organisation_id: org.to_owned(),
            key_id: made.sealed.key_id,
            sealed: made.sealed.blob,
            created_at: Utc::now().naive_utc(),
            leaf: made.leaf,
        };
        if person_keys::insert_if_absent(conn, &row)? == 1 {
            self.person = Some(key);
        } else {
            *self = Keys::load(conn, self.sealer, employee)?;
            if self.person.is_none() {
                return Err(AppError::internal("a person key vanished as it was made"));
            }
        }
        Ok(())
    }

    pub(crate) fn open(&self, key_id: &str, blob: &[u8], context: &[u8]) -> AppResult<AnswerSet> {
        let sealed = Sealed {
            key_id: key_id.to_owned(),
            blob: blob.to_vec(),
        };
        let plain = self.open_bytes(&sealed, context)?;
        serde_json::from_slice(&plain)
            .map_err(|e| AppError::internal(format!("a sealed declaration is unreadable: {e}")))
    }

    /// The plaintext of one of the person's rows, whichever key sealed it.
    pub(crate) fn open_bytes(&self, sealed: &Sealed, context: &[u8]) -> AppResult<Vec<u8>> {
        let opened = if sealed.key_id == PERSON_KEY_ID {
            self.person
                .as_ref()
                .ok_or_else(|| AppError::internal("a declaration's person key is missing"))?
                .open(sealed, context)
        } else {
            self.sealer.open(sealed, context)
        };
        opened.map_err(|e| AppError::internal(format!("a sealed declaration does not open: {e}")))
    }

    /// Seals under the person's key; [`Keys::ensure`] must have run.
    pub(crate) fn seal_bytes(&self, plain: &[u8], context: &[u8]) -> AppResult<Sealed> {
        self.person
            .as_ref()
            .ok_or_else(|| AppError::internal("sealing a declaration without a person key"))?
            .seal(plain, context)
            .map_err(AppError::internal)
    }

    pub(crate) fn seal(&self, answers: &AnswerSet, context: &[u8]) -> AppResult<Sealed> {
        let plain = serde_json::to_vec(answers).map_err(AppError::internal)?;
        self.seal_bytes(&plain, context)
    }

    /// Opens a stored declaration row under its own employee's context.
    pub(crate) fn open_row(&self, row: &Declaration) -> AppResult<AnswerSet> {
        self.open(
            &row.key_id,
            &row.sealed,
            &declaration_context(&row.employee_id),
        )
    }
}

/// Seals an answer set exactly as a declaration row stores it, for bulk loaders (benchmarks)
/// that write rows through the store and must produce what the service would have: the
/// sealed answers and the person's new sealed key, which the loader stores beside them.
pub fn seal_declaration(
    sealer: &Sealer,
    org: &str,
    employee_id: &str,
    answers: &AnswerSet,
) -> AppResult<(Sealed, PersonKeyRow)> {
    let made = sealer
        .new_data_key(&person_key_context(org, employee_id))
        .map_err(AppError::internal)?;
    let plain = serde_json::to_vec(answers).map_err(AppError::internal)?;
    let sealed = made
        .key
        .seal(&plain, &declaration_context(employee_id))
        .map_err(AppError::internal)?;
    let row = PersonKeyRow {
        employee_id: employee_id.to_owned(),
        organisation_id: org.to_owned(),
        key_id: made.sealed.key_id,
        sealed: made.sealed.blob,
        created_at: Utc::now().naive_utc(),
        leaf: made.leaf,
    };
    Ok((sealed, row))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{random_secret, KeyedSecret};
    use crate::crypto::padding::DECLARATION_CLASS;
    use crate::domain::catalogue::{largest_answers, national, smallest_answers};

    #[test]
    fn the_shortest_and_longest_national_declarations_seal_to_one_length() {
        let catalogue = national().unwrap();
        let (smallest, largest) = (smallest_answers(&catalogue), largest_answers(&catalogue));
        let json = |a: &AnswerSet| serde_json::to_vec(a).unwrap().len();
        assert!(json(&largest) < DECLARATION_CLASS - 5, "{}", json(&largest));
        assert!(json(&largest) > 20 * json(&smallest));
        let sealer = Sealer::new(
            &KeyedSecret {
                id: "k1".into(),
                secret: random_secret(32),
            },
            &[],
        )
        .unwrap();
        let (short, _) = seal_declaration(&sealer, "org", "emp", &smallest).unwrap();
        let (long, _) = seal_declaration(&sealer, "org", "emp", &largest).unwrap();
        assert_eq!(short.blob.len(), long.blob.len());
        assert_eq!(short.blob.len(), 12 + DECLARATION_CLASS + 16);
    }
}
