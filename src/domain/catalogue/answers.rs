//! Validating an answer set against a catalogue version.
//!
//! Three entry points, one rule set; they differ only on retired options:
//! - [`validate_answers`]: a new write with nothing stored before. Retired options refused.
//! - [`validate_answers_for_write`]: a write replacing stored answers. A retired option is
//!   accepted only where the stored answers already held it at the same place (gateway of the
//!   same characteristic, or the same detail list), so a person can update one characteristic
//!   without being forced to re-answer another whose option was retired meanwhile; choosing a
//!   retired option afresh is refused.
//! - [`validate_stored_answers`]: lenient check of stored answers (reads, migrations). Retired
//!   options are fine.
//!
//! Every problem is returned, not just the first. A detail list whose `shown_when` does not
//! hold is reported once (`condition_not_met`) and its content is not examined further.
//! Nothing is required: every question is voluntary, and a shown list may be left out.

use super::answer_set::{Answer, AnswerSet, DetailAnswer};
use super::model::{AnswerOption, Catalogue, Characteristic, DetailList, Selection};
use super::problem::{codes, into_result, FieldProblem};

/// Strict validation of a new answer set (no stored answers): retired options are refused.
pub fn validate_answers(
    catalogue: &Catalogue,
    answers: &AnswerSet,
) -> Result<(), Vec<FieldProblem>> {
    into_result(check(catalogue, answers, Retired::Refuse(None)))
}

/// Validation of a write that replaces `previous` (the stored answers, possibly empty).
pub fn validate_answers_for_write(
    catalogue: &Catalogue,
    answers: &AnswerSet,
    previous: &AnswerSet,
) -> Result<(), Vec<FieldProblem>> {
    into_result(check(catalogue, answers, Retired::Refuse(Some(previous))))
}

/// Lenient validation of stored answers: everything but retired options is checked.
pub fn validate_stored_answers(
    catalogue: &Catalogue,
    answers: &AnswerSet,
) -> Result<(), Vec<FieldProblem>> {
    into_result(check(catalogue, answers, Retired::Allow))
}

/// The field path of one answer, e.g. `answers.disability`.
pub fn answer_path(characteristic: &str) -> String {
    format!("answers.{characteristic}")
}

/// The field path of one detail answer, e.g. `answers.disability.details.health_conditions`.
pub fn detail_path(characteristic: &str, list: &str) -> String {
    format!("answers.{characteristic}.details.{list}")
}

#[derive(Clone, Copy)]
enum Retired<'a> {
    Allow,
    /// Refuse, except where these stored answers already held the option at the same place.
    Refuse(Option<&'a AnswerSet>),
}

impl Retired<'_> {
    fn refuses_gateway(self, characteristic: &str, option: &str) -> bool {
        match self {
            Retired::Allow => false,
            Retired::Refuse(previous) => previous
                .and_then(|p| p.get(characteristic))
                // `map_or(true, ..)` rather than `is_none_or`: the crate's MSRV is 1.80.
                .map_or(true, |a| a.gateway != option),
        }
    }

    fn refuses_detail(self, characteristic: &str, list: &str, option: &str) -> bool {
        match self {
            Retired::Allow => false,
            Retired::Refuse(previous) => previous
                .and_then(|p| p.get(characteristic))
                .and_then(|a| a.details.get(list))
                .map_or(true, |d| !d.selected.iter().any(|s| s == option)),
        }
    }
}

fn check(catalogue: &Catalogue, answers: &AnswerSet, retired: Retired<'_>) -> Vec<FieldProblem> {
    let mut problems = Vec::new();
    for (code, answer) in answers {
        match catalogue.characteristic(code) {
            None => problems.push(FieldProblem::new(
                answer_path(code),
                codes::UNKNOWN_CHARACTERISTIC,
                format!(
                    "'{code}' is not a characteristic in catalogue {}",
                    catalogue.version
                ),
            )),
            Some(characteristic) => check_answer(characteristic, answer, retired, &mut problems),
        }
    }
    problems
}

fn check_answer(
    characteristic: &Characteristic,
    answer: &Answer,
    retired: Retired<'_>,
    problems: &mut Vec<FieldProblem>,
) {
    let code = &characteristic.code;
    let field = format!("{}.gateway", answer_path(code));
    match characteristic.gateway_option(&answer.gateway) {
        None => problems.push(FieldProblem::new(
            field,
            codes::UNKNOWN_OPTION,
            format!("'{}' is not an option of {code}", answer.gateway),
        )),
        Some(option) if option.retired && retired.refuses_gateway(code, &option.code) => {
            problems.push(retired_problem(field, option));
        }
        Some(_) => {}
    }

    for (list_code, given) in &answer.details {
        let path = detail_path(code, list_code);
        match characteristic.detail(list_code) {
            None => problems.push(FieldProblem::new(
                path,
                codes::UNKNOWN_LIST,
                format!("'{list_code}' is not a detail list of {code}"),
            )),
            Some(list) if !answer.shows(characteristic, list) => {
                problems.push(FieldProblem::new(
                    path,
                    codes::CONDITION_NOT_MET,
                    format!("'{list_code}' is not asked given the other answers to {code}"),
                ));
            }
            Some(list) => check_detail(code, list, given, &path, retired, problems),
        }
    }
}

fn check_detail(
    characteristic: &str,
    list: &DetailList,
    given: &DetailAnswer,
    path: &str,
    retired: Retired<'_>,
    problems: &mut Vec<FieldProblem>,
) {
    let selected_path = format!("{path}.selected");
    if given.selected.is_empty() && given.other_text.is_none() {
        problems.push(FieldProblem::new(
            &selected_path,
            codes::EMPTY_SELECTION,
            "Select at least one option, or leave the list out",
        ));
    }
    match list.selection {
        Selection::Single if given.selected.len() > 1 => problems.push(FieldProblem::new(
            &selected_path,
            codes::SINGLE_SELECT_MULTIPLE,
            "Only one option may be selected",
        )),
        Selection::Multi { max } if given.selected.len() > max as usize => {
            problems.push(FieldProblem::new(
                &selected_path,
                codes::TOO_MANY_SELECTIONS,
                format!("At most {max} options may be selected"),
            ));
        }
        _ => {}
    }
    for (i, code) in given.selected.iter().enumerate() {
        let field = format!("{selected_path}[{i}]");
        if given.selected[..i].contains(code) {
            problems.push(FieldProblem::new(
                field,
                codes::DUPLICATE_SELECTION,
                format!("'{code}' is selected more than once"),
            ));
            continue;
        }
        match list.option(code) {
            None => problems.push(FieldProblem::new(
                field,
                codes::UNKNOWN_OPTION,
                format!("'{code}' is not an option of {}", list.code),
            )),
            Some(option)
                if option.retired && retired.refuses_detail(characteristic, &list.code, code) =>
            {
                problems.push(retired_problem(field, option));
            }
            Some(_) => {}
        }
    }

    if let Some(text) = &given.other_text {
        let field = format!("{path}.other_text");
        match &list.other {
            None => problems.push(FieldProblem::new(
                field,
                codes::OTHER_TEXT_NOT_ALLOWED,
                format!("{} takes no free text", list.code),
            )),
            Some(other) => {
                if let Some(option) = other
                    .option
                    .as_ref()
                    .filter(|option| !given.selected.contains(option))
                {
                    problems.push(FieldProblem::new(
                        field,
                        codes::OTHER_TEXT_NOT_ALLOWED,
                        format!("Free text is only taken when '{option}' is selected"),
                    ));
                } else if text.trim().is_empty() {
                    problems.push(FieldProblem::new(
                        field,
                        codes::OTHER_TEXT_EMPTY,
                        "Leave the text out rather than sending it blank",
                    ));
                } else if text.chars().count() > other.max_len as usize {
                    problems.push(FieldProblem::new(
                        field,
                        codes::OTHER_TEXT_TOO_LONG,
                        format!("At most {} characters", other.max_len),
                    ));
                }
            }
        }
    }
}

fn retired_problem(field: String, option: &AnswerOption) -> FieldProblem {
    FieldProblem::new(
        field,
        codes::RETIRED_OPTION,
        format!(
            "'{}' is no longer offered; choose another option",
            option.code
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::super::fixture::fixture;
    use super::*;

    fn set(json: &str) -> AnswerSet {
        serde_json::from_str(json).unwrap()
    }

    fn problems(json: &str) -> Vec<(String, &'static str)> {
        match validate_answers(&fixture(), &set(json)) {
            Ok(()) => vec![],
            Err(p) => p.into_iter().map(|p| (p.field, p.code)).collect(),
        }
    }

    fn one(field: &str, code: &'static str) -> Vec<(String, &'static str)> {
        vec![(field.to_string(), code)]
    }

    #[test]
    fn valid_sets_pass() {
        assert!(problems("{}").is_empty());
        assert!(problems(r#"{"disability":{"gateway":"no"}}"#).is_empty());
        assert!(problems(
            r#"{"disability":{"gateway":"yes","details":{
                "impact":{"selected":["a_lot"]},
                "conditions":{"selected":["adhd","other"],"other_text":"Irlen ŵŵŵ"},
                "other_kind":{"selected":["mental"]}}},
              "ethnic_group":{"gateway":"white","details":{"white_background":{"selected":["roma"]}}}}"#
        )
        .is_empty());
    }

    #[test]
    fn unknown_codes() {
        assert_eq!(
            problems(r#"{"shoe_size":{"gateway":"yes"}}"#),
            one("answers.shoe_size", codes::UNKNOWN_CHARACTERISTIC)
        );
        assert_eq!(
            problems(r#"{"disability":{"gateway":"maybe"}}"#),
            one("answers.disability.gateway", codes::UNKNOWN_OPTION)
        );
        assert_eq!(
            problems(r#"{"disability":{"gateway":"yes","details":{"x":{"selected":["a"]}}}}"#),
            one("answers.disability.details.x", codes::UNKNOWN_LIST)
        );
        assert_eq!(
            problems(
                r#"{"disability":{"gateway":"yes","details":{"conditions":{"selected":["adhd","zz"]}}}}"#
            ),
            one(
                "answers.disability.details.conditions.selected[1]",
                codes::UNKNOWN_OPTION
            )
        );
    }

    #[test]
    fn conditions_including_nested() {
        assert_eq!(
            problems(
                r#"{"disability":{"gateway":"no","details":{"impact":{"selected":["a_lot"]}}}}"#
            ),
            one(
                "answers.disability.details.impact",
                codes::CONDITION_NOT_MET
            )
        );
        assert_eq!(
            problems(
                r#"{"disability":{"gateway":"yes","details":{"conditions":{"selected":["adhd"]},
                   "other_kind":{"selected":["mental"]}}}}"#
            ),
            one(
                "answers.disability.details.other_kind",
                codes::CONDITION_NOT_MET
            )
        );
        // Parent selected but the parent itself is not shown: both are reported.
        assert_eq!(
            problems(
                r#"{"disability":{"gateway":"prefer_not_to_say","details":{"conditions":{"selected":["other"]},
                   "other_kind":{"selected":["mental"]}}}}"#
            ),
            vec![
                (
                    "answers.disability.details.conditions".to_string(),
                    codes::CONDITION_NOT_MET
                ),
                (
                    "answers.disability.details.other_kind".to_string(),
                    codes::CONDITION_NOT_MET
                )
            ]
        );
    }

    #[test]
    fn selection_counts() {
        assert_eq!(
            problems(
                r#"{"disability":{"gateway":"yes","details":{"impact":{"selected":["a_lot","a_little"]}}}}"#
            ),
            one(
                "answers.disability.details.impact.selected",
                codes::SINGLE_SELECT_MULTIPLE
            )
        );
        assert_eq!(
            problems(
                r#"{"disability":{"gateway":"yes","details":{"conditions":{"selected":["adhd","autism","other"]}}}}"#
            ),
            one(
                "answers.disability.details.conditions.selected",
                codes::TOO_MANY_SELECTIONS
            )
        );
        assert_eq!(
            problems(
                r#"{"disability":{"gateway":"yes","details":{"conditions":{"selected":["adhd","adhd"]}}}}"#
            ),
            one(
                "answers.disability.details.conditions.selected[1]",
                codes::DUPLICATE_SELECTION
            )
        );
        assert_eq!(
            problems(
                r#"{"disability":{"gateway":"yes","details":{"conditions":{"selected":[]}}}}"#
            ),
            one(
                "answers.disability.details.conditions.selected",
                codes::EMPTY_SELECTION
            )
        );
    }

    #[test]
    fn other_text() {
        let base = |sel: &str, text: &str| {
            problems(&format!(
                r#"{{"disability":{{"gateway":"yes","details":{{"conditions":{{"selected":{sel},"other_text":{text}}}}}}}}}"#
            ))
        };
        let path = "answers.disability.details.conditions.other_text";
        assert_eq!(base(r#"["other"]"#, r#""ŵŵŵŵŵŵŵŵŵŵ""#), vec![]);
        assert_eq!(
            base(r#"["other"]"#, r#""ŵŵŵŵŵŵŵŵŵŵŵ""#),
            one(path, codes::OTHER_TEXT_TOO_LONG)
        );
        assert_eq!(
            base(r#"["adhd"]"#, r#""x""#),
            one(path, codes::OTHER_TEXT_NOT_ALLOWED)
        );
        assert_eq!(
            base(r#"["other"]"#, r#""  ""#),
            one(path, codes::OTHER_TEXT_EMPTY)
        );
        assert_eq!(
            problems(
                r#"{"disability":{"gateway":"yes","details":{"impact":{"selected":["a_lot"],"other_text":"x"}}}}"#
            ),
            one(
                "answers.disability.details.impact.other_text",
                codes::OTHER_TEXT_NOT_ALLOWED
            )
        );
    }

    #[test]
    fn every_problem_is_returned() {
        let found = problems(
            r#"{"nope":{"gateway":"x"},
                "disability":{"gateway":"yes","details":{"conditions":{"selected":["zz","adhd","adhd"]}}},
                "ethnic_group":{"gateway":"zz"}}"#,
        );
        assert_eq!(found.len(), 5, "{found:?}");
    }

    #[test]
    fn retired_options_by_mode() {
        let cat = fixture();
        let new = set(r#"{"ethnic_group":{"gateway":"asian"},
                "disability":{"gateway":"yes","details":{"conditions":{"selected":["cancer"]}}}}"#);
        let strict = validate_answers(&cat, &new).unwrap_err();
        let fields: Vec<_> = strict.iter().map(|p| (p.field.as_str(), p.code)).collect();
        assert_eq!(
            fields,
            vec![
                (
                    "answers.disability.details.conditions.selected[0]",
                    codes::RETIRED_OPTION
                ),
                ("answers.ethnic_group.gateway", codes::RETIRED_OPTION),
            ]
        );
        assert_eq!(validate_stored_answers(&cat, &new), Ok(()));
        // Carried over unchanged from the stored answers: accepted.
        assert_eq!(validate_answers_for_write(&cat, &new, &new), Ok(()));
        // Chosen afresh (stored answer was different): refused.
        let previous = set(r#"{"ethnic_group":{"gateway":"white"}}"#);
        let err = validate_answers_for_write(&cat, &new, &previous).unwrap_err();
        assert_eq!(err.len(), 2);
    }
}
