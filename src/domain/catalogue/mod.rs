//! The question catalogue: what Declare asks, and the rules an answer set must keep.
//!
//! Pure: no I/O. Relocatable: submodules use only `std`, `serde`, `serde_json`, `thiserror`
//! and `super::`/`self::` paths.
//!
//! - [`model`]: catalogue types and the special option codes.
//! - [`answer_set`]: a person's answers; blank vs prefer not to say vs declared.
//! - [`answers`]: validating answers against a catalogue (strict write vs lenient read).
//! - [`draft`]: validating a catalogue before it is published.
//! - [`edit`]: pure edits of a draft catalogue, and the diff between two versions.
//! - [`largest`]: the largest (and smallest) valid answer sets, for sizing sealed rows.
//! - [`mapping`]: carrying answers from one option set to another.
//! - [`problem`]: the per-field problem type and its machine codes.

pub mod answer_set;
pub mod answers;
pub mod draft;
pub mod edit;
pub mod largest;
pub mod mapping;
pub mod model;
pub mod problem;

#[cfg(test)]
mod fixture;
#[cfg(test)]
mod national_tests;
#[cfg(test)]
mod proptests;

pub use answer_set::{disclosure, Answer, AnswerSet, DetailAnswer, Disclosure};
pub use answers::{validate_answers, validate_answers_for_write, validate_stored_answers};
pub use draft::validate_catalogue;
pub use edit::{
    check_successor, diff, CatalogueChange, ChangeKind, EditError, OptionScope, TextTarget,
};
pub use largest::{largest_answers, smallest_answers};
pub use mapping::{
    apply_mapping, validate_mapping, validate_mapping_sources, CharacteristicMapping,
    CharacteristicReport, DetailOptionCounts, GatewayRule, ListMapping, Mapped, Mapping,
    MappingReport, OptionCounts, OptionRule,
};
pub use model::{
    AnswerOption, Catalogue, Characteristic, Condition, DetailList, Localised, OtherText, Question,
    QuestionKind, Selection, NO, PREFER_NOT_TO_SAY, YES, YES_NO_PREFER,
};
pub use problem::{codes, FieldProblem};

/// The national catalogue shipped with Declare (`catalogue/national.json` at the repository
/// root). Embedded at compile time so the binary needs no data directory; every organisation
/// starts from it.
pub const NATIONAL_JSON: &str = include_str!("../../../catalogue/national.json");

/// The shipped national catalogue, parsed. Its validity is checked by the tests, but callers
/// still get an error rather than a panic if a bad file were ever shipped.
pub fn national() -> Result<Catalogue, serde_json::Error> {
    parse_catalogue(NATIONAL_JSON)
}

/// Parses a catalogue from JSON (unknown fields refused). Does not validate it: call
/// [`validate_catalogue`] before publishing.
pub fn parse_catalogue(json: &str) -> Result<Catalogue, serde_json::Error> {
    serde_json::from_str(json)
}
