//! How views serialize the moments the store keeps as naive UTC (`NaiveDateTime`): RFC 3339
//! with a `Z`, e.g. `2026-12-04T05:03:43.497207Z`. A bare `2026-12-04T05:03:43.497207748`
//! names no zone, so a client in another one reads the wrong moment; every timestamp a view
//! sends goes through here and is documented as `format: date-time`.
//!
//! Use with `#[serde(serialize_with = "timestamps::utc")]` (or `utc_opt` for an `Option`),
//! beside `#[schema(value_type = String, format = DateTime)]`.

use chrono::{NaiveDateTime, SecondsFormat};
use serde::Serializer;

/// The RFC 3339 text of a naive UTC moment, to the microsecond (what both backends keep).
pub fn rfc3339(at: &NaiveDateTime) -> String {
    at.and_utc().to_rfc3339_opts(SecondsFormat::Micros, true)
}

pub fn utc<S: Serializer>(at: &NaiveDateTime, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&rfc3339(at))
}

pub fn utc_opt<S: Serializer>(at: &Option<NaiveDateTime>, s: S) -> Result<S::Ok, S::Error> {
    match at {
        Some(at) => s.serialize_str(&rfc3339(at)),
        None => s.serialize_none(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn naive_utc_is_written_with_a_zone() {
        let at =
            NaiveDateTime::parse_from_str("2026-12-04 05:03:43.497207748", "%Y-%m-%d %H:%M:%S%.f")
                .unwrap();
        assert_eq!(rfc3339(&at), "2026-12-04T05:03:43.497207Z");
        assert!(chrono::DateTime::parse_from_rfc3339(&rfc3339(&at)).is_ok());
    }
}
