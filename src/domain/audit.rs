//! The audit trail's hash chain: each event's hash covers its own fields and the previous
//! event's hash, so deleting, reordering or editing any event breaks every hash after it.
//! Events name who did what to whose record and when: never an answer value.

use sha2::{Digest, Sha256};

/// The hash the first event chains from.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The fields an event's hash covers, in a fixed order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventFields<'a> {
    pub seq: i64,
    pub occurred_at: &'a str,
    pub organisation_id: Option<&'a str>,
    pub actor: &'a str,
    pub action: &'a str,
    pub subject: Option<&'a str>,
    pub request_id: Option<&'a str>,
    /// What the event counted (JSON of numbers and codes, never a value).
    pub detail: Option<&'a str>,
}

/// Hex SHA-256 of the previous hash and the fields, each length-prefixed so no two different
/// field lists can produce the same input.
pub fn chain_hash(previous: &str, fields: &EventFields<'_>) -> String {
    let mut hasher = Sha256::new();
    let mut put = |value: &str| {
        hasher.update((value.len() as u64).to_be_bytes());
        hasher.update(value.as_bytes());
    };
    put(previous);
    put(&fields.seq.to_string());
    put(fields.occurred_at);
    put(fields.organisation_id.unwrap_or("-"));
    put(fields.actor);
    put(fields.action);
    put(fields.subject.unwrap_or("-"));
    put(fields.request_id.unwrap_or("-"));
    // Hashed only when present, so events written before the field existed still verify;
    // length prefixes keep "absent" and "present" inputs distinct.
    if let Some(detail) = fields.detail {
        put(detail);
    }
    hex::encode(hasher.finalize())
}

/// Where a chain first fails to verify.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ChainBreak {
    pub seq: i64,
    pub reason: &'static str,
}

/// Checks a run of events, oldest first, starting from `previous` (GENESIS for the start).
/// Each item is the event's fields, its stored previous hash and its stored hash.
pub fn verify_chain<'a>(
    mut previous: String,
    mut expected_seq: i64,
    events: impl IntoIterator<Item = (EventFields<'a>, &'a str, &'a str)>,
) -> Result<(String, i64), ChainBreak> {
    for (fields, stored_previous, stored_hash) in events {
        if fields.seq != expected_seq {
            return Err(ChainBreak {
                seq: fields.seq,
                reason: "sequence gap: an event is missing",
            });
        }
        if stored_previous != previous {
            return Err(ChainBreak {
                seq: fields.seq,
                reason: "previous hash does not match the event before",
            });
        }
        let recomputed = chain_hash(&previous, &fields);
        if recomputed != stored_hash {
            return Err(ChainBreak {
                seq: fields.seq,
                reason: "hash does not match the event's contents",
            });
        }
        previous = recomputed;
        expected_seq += 1;
    }
    Ok((previous, expected_seq))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(seq: i64, action: &'static str) -> EventFields<'static> {
        EventFields {
            seq,
            occurred_at: "2026-11-23T10:00:00Z",
            organisation_id: Some("org"),
            actor: "account:1",
            action,
            subject: Some("employee:9"),
            request_id: None,
            detail: None,
        }
    }

    fn chain(actions: &[&'static str]) -> Vec<(EventFields<'static>, String, String)> {
        let mut previous = GENESIS.to_owned();
        actions
            .iter()
            .enumerate()
            .map(|(i, action)| {
                let fields = event(i as i64 + 1, action);
                let hash = chain_hash(&previous, &fields);
                let item = (fields, previous.clone(), hash.clone());
                previous = hash;
                item
            })
            .collect()
    }

    fn verify(
        items: &[(EventFields<'static>, String, String)],
    ) -> Result<(String, i64), ChainBreak> {
        verify_chain(
            GENESIS.to_owned(),
            1,
            items
                .iter()
                .map(|(f, p, h)| (f.clone(), p.as_str(), h.as_str())),
        )
    }

    #[test]
    fn an_intact_chain_verifies() {
        let items = chain(&["declaration.read", "declaration.write", "consent.withdraw"]);
        assert_eq!(verify(&items).unwrap().1, 4);
    }

    #[test]
    fn an_edited_event_is_found() {
        let mut items = chain(&["declaration.read", "declaration.write", "consent.withdraw"]);
        items[1].0.action = "declaration.read";
        assert_eq!(verify(&items).unwrap_err().seq, 2);
    }

    #[test]
    fn a_deleted_event_is_found() {
        let mut items = chain(&["a", "b", "c"]);
        items.remove(1);
        assert_eq!(
            verify(&items).unwrap_err(),
            ChainBreak {
                seq: 3,
                reason: "sequence gap: an event is missing"
            }
        );
    }

    #[test]
    fn an_edited_detail_is_found() {
        let mut items = chain(&["a", "b"]);
        let fields = EventFields {
            detail: Some(r#"{"created":3}"#),
            ..event(2, "workforce.sync")
        };
        items[1].2 = chain_hash(&items[1].1, &fields);
        items[1].0 = fields;
        assert!(verify(&items).is_ok());
        items[1].0.detail = Some(r#"{"created":4}"#);
        assert_eq!(verify(&items).unwrap_err().seq, 2);
        items[1].0.detail = None;
        assert_eq!(verify(&items).unwrap_err().seq, 2);
    }

    #[test]
    fn field_boundaries_cannot_be_shifted() {
        let a = EventFields {
            actor: "ab",
            action: "c",
            ..event(1, "")
        };
        let b = EventFields {
            actor: "a",
            action: "bc",
            ..event(1, "")
        };
        assert_ne!(chain_hash(GENESIS, &a), chain_hash(GENESIS, &b));
    }
}
