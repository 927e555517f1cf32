//! Carrying answers from one option set to another: a force moving from its legacy lists onto
//! the national standard, or one catalogue version to the next when options split or merge.
//!
//! Rules:
//! - A mapping names only what changes. A characteristic, list or option without a rule is
//!   carried over as it is.
//! - After the rules are applied each answer is checked against the target catalogue
//!   (leniently: a retired option already stored stays). An answer that would be invalid, or
//!   whose gateway rule says `needs_reasking`, is removed: the person is blank for that
//!   characteristic and will be asked again. The report counts each outcome.
//! - Pure: the service applies it to every declaration (and adjusts tallies) in one
//!   transaction, accumulating one [`MappingReport`] with [`Mapping::apply_into`].
//!
//! JSON of a mapping:
//! ```json
//! {"characteristics": {"ethnicity": {
//!     "to": "ethnic_group",
//!     "gateway": {
//!         "white_british": {"map_to": {"option": "white",
//!             "set_details": {"white_background": ["english_welsh_scottish_ni_british"]}}},
//!         "not_known": "needs_reasking"},
//!     "details": {"old_list": {"to": "new_list", "options": {"a": {"map_to": "b"}, "c": "drop"}}}
//! }}}
//! ```

use std::collections::{btree_map::Entry, BTreeMap};

use serde::{Deserialize, Serialize};

use super::answer_set::{Answer, AnswerSet, DetailAnswer};
use super::answers::validate_stored_answers;
use super::model::{Catalogue, DetailList};
use super::problem::{into_result, FieldProblem};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mapping {
    /// Keyed by the SOURCE characteristic code.
    #[serde(default)]
    pub characteristics: BTreeMap<String, CharacteristicMapping>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CharacteristicMapping {
    /// The target characteristic code, when it differs from the source's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    /// Old gateway option -> rule.
    #[serde(default)]
    pub gateway: BTreeMap<String, GatewayRule>,
    /// Old detail list code -> rules.
    #[serde(default)]
    pub details: BTreeMap<String, ListMapping>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum GatewayRule {
    /// Use this gateway option instead, and add these selections (target list code -> option
    /// codes), e.g. a legacy "White British" becomes `white` + background
    /// `english_welsh_scottish_ni_british`.
    MapTo {
        option: String,
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        set_details: BTreeMap<String, Vec<String>>,
    },
    /// The old answer cannot be carried (e.g. an option split in two): remove it.
    NeedsReasking,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListMapping {
    /// The target list code, when it differs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    /// Old option -> rule.
    #[serde(default)]
    pub options: BTreeMap<String, OptionRule>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum OptionRule {
    MapTo(String),
    /// Remove the selection (the rest of the answer stays).
    Drop,
}

/// Counts of what a mapping did, keyed by SOURCE characteristic code. Blanks are not counted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct MappingReport {
    pub characteristics: BTreeMap<String, CharacteristicReport>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CharacteristicReport {
    /// Carried over with a change (code, gateway or details).
    pub mapped: u64,
    /// Carried over exactly as it was.
    pub unchanged: u64,
    /// Removed: the rule said so, or the result was invalid under the target catalogue.
    pub needs_reasking: u64,
    /// Of `needs_reasking`, those removed because the result would have been invalid (or
    /// collided with another answer mapped onto the same characteristic).
    pub invalid_after_mapping: u64,
    /// By OLD gateway option.
    pub gateway_options: BTreeMap<String, OptionCounts>,
    /// By OLD `list.option`; how the option rules applied, before the validity check.
    pub detail_options: BTreeMap<String, DetailOptionCounts>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct OptionCounts {
    pub mapped: u64,
    pub unchanged: u64,
    pub needs_reasking: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DetailOptionCounts {
    pub mapped: u64,
    pub unchanged: u64,
    pub dropped: u64,
}

/// The answers under the target catalogue plus what happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapped {
    pub answers: AnswerSet,
    pub report: MappingReport,
}

/// Applies `mapping` to one answer set; see the module doc.
pub fn apply_mapping(mapping: &Mapping, target: &Catalogue, answers: &AnswerSet) -> Mapped {
    let mut report = MappingReport::default();
    let answers = mapping.apply_into(target, answers, &mut report);
    Mapped { answers, report }
}

enum Outcome {
    Mapped,
    Unchanged,
    Reask,
    Invalid,
}

impl Mapping {
    /// Applies the mapping to one answer set, adding its counts to `report` (so one report
    /// can cover every declaration of a force).
    pub fn apply_into(
        &self,
        target: &Catalogue,
        answers: &AnswerSet,
        report: &mut MappingReport,
    ) -> AnswerSet {
        let none = CharacteristicMapping::default();
        let mut result = AnswerSet::new();
        for (code, answer) in answers {
            let rules = self.characteristics.get(code).unwrap_or(&none);
            let counts = report.characteristics.entry(code.clone()).or_default();
            let target_code = rules.to.clone().unwrap_or_else(|| code.clone());
            let outcome = match map_answer(rules, answer, counts) {
                None => Outcome::Reask,
                Some(new) => {
                    let single = AnswerSet::from([(target_code.clone(), new.clone())]);
                    let unchanged = target_code == *code && new == *answer;
                    match (
                        validate_stored_answers(target, &single),
                        result.entry(target_code),
                    ) {
                        (Ok(()), Entry::Vacant(slot)) => {
                            slot.insert(new);
                            if unchanged {
                                Outcome::Unchanged
                            } else {
                                Outcome::Mapped
                            }
                        }
                        (Ok(()), Entry::Occupied(_)) | (Err(_), _) => Outcome::Invalid,
                    }
                }
            };
            let option = counts
                .gateway_options
                .entry(answer.gateway.clone())
                .or_default();
            match outcome {
                Outcome::Mapped => {
                    counts.mapped += 1;
                    option.mapped += 1;
                }
                Outcome::Unchanged => {
                    counts.unchanged += 1;
                    option.unchanged += 1;
                }
                Outcome::Reask | Outcome::Invalid => {
                    counts.needs_reasking += 1;
                    option.needs_reasking += 1;
                    if matches!(outcome, Outcome::Invalid) {
                        counts.invalid_after_mapping += 1;
                    }
                }
            }
        }
        result
    }
}

/// The answer after the rules, or `None` when the gateway rule says to ask again.
fn map_answer(
    rules: &CharacteristicMapping,
    answer: &Answer,
    counts: &mut CharacteristicReport,
) -> Option<Answer> {
    let (gateway, extra) = match rules.gateway.get(&answer.gateway) {
        Some(GatewayRule::NeedsReasking) => return None,
        Some(GatewayRule::MapTo {
            option,
            set_details,
        }) => (option.clone(), Some(set_details)),
        None => (answer.gateway.clone(), None),
    };
    let mut details: BTreeMap<String, DetailAnswer> = BTreeMap::new();
    for (list, given) in &answer.details {
        let list_rules = rules.details.get(list);
        let new_list = list_rules
            .and_then(|l| l.to.clone())
            .unwrap_or_else(|| list.clone());
        let mut selected = Vec::new();
        for option in &given.selected {
            let option_counts = counts
                .detail_options
                .entry(format!("{list}.{option}"))
                .or_default();
            let new_option = match list_rules.and_then(|l| l.options.get(option)) {
                Some(OptionRule::Drop) => {
                    option_counts.dropped += 1;
                    continue;
                }
                Some(OptionRule::MapTo(new)) => {
                    option_counts.mapped += 1;
                    new.clone()
                }
                None => {
                    option_counts.unchanged += 1;
                    option.clone()
                }
            };
            // Two old options merged into one new option: keep it once.
            if !selected.contains(&new_option) {
                selected.push(new_option);
            }
        }
        if selected.is_empty() && given.other_text.is_none() {
            continue;
        }
        merge(&mut details, new_list, selected, given.other_text.clone());
    }
    for (list, options) in extra.into_iter().flatten() {
        merge(&mut details, list.clone(), options.clone(), None);
    }
    Some(Answer { gateway, details })
}

fn merge(
    details: &mut BTreeMap<String, DetailAnswer>,
    list: String,
    selected: Vec<String>,
    other_text: Option<String>,
) {
    let entry = details.entry(list).or_insert_with(|| DetailAnswer {
        selected: Vec::new(),
        other_text: None,
    });
    for option in selected {
        if !entry.selected.contains(&option) {
            entry.selected.push(option);
        }
    }
    if entry.other_text.is_none() {
        entry.other_text = other_text;
    }
}

/// Checks that every SOURCE code a mapping names (characteristic, old gateway option, old list,
/// old list option) exists in at least one of `sources` (the versions answers may have been
/// given under), so a typo in a rule is refused instead of silently matching nothing. Field
/// paths as in [`validate_mapping`].
pub fn validate_mapping_sources<'a>(
    mapping: &Mapping,
    sources: impl IntoIterator<Item = &'a Catalogue> + Clone,
) -> Result<(), Vec<FieldProblem>> {
    use super::problem::codes;
    let mut problems = Vec::new();
    let in_any = |found: &dyn Fn(&Catalogue) -> bool| sources.clone().into_iter().any(found);
    let unknown = |field: String, code: &'static str, what: &str| {
        FieldProblem::new(
            field,
            code,
            format!("'{what}' is in no published version, so no stored answer can hold it"),
        )
    };
    for (code, rules) in &mapping.characteristics {
        let path = format!("characteristics.{code}");
        if !in_any(&|c| c.characteristic(code).is_some()) {
            problems.push(unknown(path, codes::UNKNOWN_CHARACTERISTIC, code));
            continue;
        }
        for old in rules.gateway.keys() {
            if !in_any(&|c| {
                c.characteristic(code)
                    .is_some_and(|ch| ch.gateway_option(old).is_some())
            }) {
                problems.push(unknown(
                    format!("{path}.gateway.{old}"),
                    codes::UNKNOWN_OPTION,
                    old,
                ));
            }
        }
        for (list, list_rules) in &rules.details {
            fn list_of<'c>(c: &'c Catalogue, code: &str, list: &str) -> Option<&'c DetailList> {
                c.characteristic(code).and_then(|ch| ch.detail(list))
            }
            if !in_any(&|c| list_of(c, code, list).is_some()) {
                problems.push(unknown(
                    format!("{path}.details.{list}"),
                    codes::UNKNOWN_LIST,
                    list,
                ));
                continue;
            }
            for old in list_rules.options.keys() {
                if !in_any(&|c| list_of(c, code, list).is_some_and(|l| l.option(old).is_some())) {
                    problems.push(unknown(
                        format!("{path}.details.{list}.options.{old}"),
                        codes::UNKNOWN_OPTION,
                        old,
                    ));
                }
            }
        }
    }
    into_result(problems)
}

/// Checks that every target a mapping names exists in `target` and is still offered. Field
/// paths look like `characteristics.ethnicity.gateway.white_british.map_to.option`.
pub fn validate_mapping(mapping: &Mapping, target: &Catalogue) -> Result<(), Vec<FieldProblem>> {
    use super::problem::codes;
    let mut problems = Vec::new();
    for (code, rules) in &mapping.characteristics {
        let path = format!("characteristics.{code}");
        let target_code = rules.to.as_deref().unwrap_or(code);
        let Some(c) = target.characteristic(target_code) else {
            problems.push(FieldProblem::new(
                if rules.to.is_some() {
                    format!("{path}.to")
                } else {
                    path
                },
                codes::UNKNOWN_CHARACTERISTIC,
                format!("'{target_code}' is not in catalogue {}", target.version),
            ));
            continue;
        };
        // `known`: None = absent from the target, Some(retired).
        let mut check =
            |field: String, known: Option<bool>, code: &str, unknown: &'static str| match known {
                None => problems.push(FieldProblem::new(
                    field,
                    unknown,
                    format!("'{code}' is not in the target"),
                )),
                Some(true) => problems.push(FieldProblem::new(
                    field,
                    codes::RETIRED_OPTION,
                    format!("'{code}' is retired in the target"),
                )),
                Some(false) => {}
            };
        for (old, rule) in &rules.gateway {
            let GatewayRule::MapTo {
                option,
                set_details,
            } = rule
            else {
                continue;
            };
            let rule_path = format!("{path}.gateway.{old}.map_to");
            check(
                format!("{rule_path}.option"),
                c.gateway_option(option).map(|o| o.retired),
                option,
                codes::UNKNOWN_OPTION,
            );
            for (list, options) in set_details {
                let Some(l) = c.detail(list) else {
                    check(
                        format!("{rule_path}.set_details.{list}"),
                        None,
                        list,
                        codes::UNKNOWN_LIST,
                    );
                    continue;
                };
                for (i, o) in options.iter().enumerate() {
                    check(
                        format!("{rule_path}.set_details.{list}[{i}]"),
                        l.option(o).map(|o| o.retired),
                        o,
                        codes::UNKNOWN_OPTION,
                    );
                }
            }
        }
        for (old_list, list_rules) in &rules.details {
            let new_list = list_rules.to.as_deref().unwrap_or(old_list);
            let list_path = format!("{path}.details.{old_list}");
            let Some(l) = c.detail(new_list) else {
                check(list_path, None, new_list, codes::UNKNOWN_LIST);
                continue;
            };
            for (old, rule) in &list_rules.options {
                if let OptionRule::MapTo(option) = rule {
                    check(
                        format!("{list_path}.options.{old}.map_to"),
                        l.option(option).map(|o| o.retired),
                        option,
                        codes::UNKNOWN_OPTION,
                    );
                }
            }
        }
    }
    into_result(problems)
}

#[cfg(test)]
mod tests {
    use super::super::fixture::fixture;
    use super::super::problem::codes;
    use super::*;

    fn set(json: &str) -> AnswerSet {
        serde_json::from_str(json).unwrap()
    }

    fn mapping(json: &str) -> Mapping {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn empty_mapping_keeps_valid_answers_and_counts_them_unchanged() {
        let answers = set(
            r#"{"disability":{"gateway":"yes","details":{"impact":{"selected":["a_lot"]}}},
                               "ethnic_group":{"gateway":"prefer_not_to_say"}}"#,
        );
        let out = apply_mapping(&Mapping::default(), &fixture(), &answers);
        assert_eq!(out.answers, answers);
        assert_eq!(out.report.characteristics["disability"].unchanged, 1);
        assert_eq!(
            out.report.characteristics["ethnic_group"].gateway_options["prefer_not_to_say"]
                .unchanged,
            1
        );
    }

    #[test]
    fn legacy_list_onto_standard() {
        // A legacy single "ethnicity" list whose options become gateway + background.
        let legacy = set(r#"{"ethnicity":{"gateway":"white_irish"}}"#);
        let rules = mapping(
            r#"{"characteristics":{"ethnicity":{"to":"ethnic_group","gateway":{
                "white_irish":{"map_to":{"option":"white","set_details":{"white_background":["irish"]}}},
                "white_other":{"map_to":{"option":"white"}},
                "not_stated":"needs_reasking",
                "bad":{"map_to":{"option":"white","set_details":{"white_background":["nope"]}}}}}}}"#,
        );
        assert_eq!(validate_mapping(&rules, &fixture()).unwrap_err().len(), 1);
        let out = apply_mapping(&rules, &fixture(), &legacy);
        assert_eq!(
            out.answers,
            set(
                r#"{"ethnic_group":{"gateway":"white","details":{"white_background":{"selected":["irish"]}}}}"#
            )
        );
        assert_eq!(out.report.characteristics["ethnicity"].mapped, 1);

        let mut report = MappingReport::default();
        for legacy in [
            r#"{"ethnicity":{"gateway":"white_other"}}"#,
            r#"{"ethnicity":{"gateway":"not_stated"}}"#,
            r#"{"ethnicity":{"gateway":"bad"}}"#,
            r#"{"ethnicity":{"gateway":"unmapped"}}"#,
            "{}",
        ] {
            rules.apply_into(&fixture(), &set(legacy), &mut report);
        }
        let r = &report.characteristics["ethnicity"];
        assert_eq!(
            (
                r.mapped,
                r.unchanged,
                r.needs_reasking,
                r.invalid_after_mapping
            ),
            (1, 0, 3, 2)
        );
        assert_eq!(r.gateway_options["not_stated"].needs_reasking, 1);
        assert_eq!(r.gateway_options["white_other"].mapped, 1);
    }

    #[test]
    fn detail_options_merge_drop_and_invalid() {
        let rules = mapping(
            r#"{"characteristics":{"disability":{"details":{"conditions":{"options":{
                "autism":{"map_to":"adhd"},"cancer":"drop"}}}}}}"#,
        );
        assert_eq!(validate_mapping(&rules, &fixture()), Ok(()));
        let out = apply_mapping(
            &rules,
            &fixture(),
            &set(
                r#"{"disability":{"gateway":"yes","details":{"conditions":{"selected":["adhd","autism"]}}}}"#,
            ),
        );
        assert_eq!(
            out.answers,
            set(
                r#"{"disability":{"gateway":"yes","details":{"conditions":{"selected":["adhd"]}}}}"#
            )
        );
        let r = &out.report.characteristics["disability"];
        assert_eq!(r.detail_options["conditions.autism"].mapped, 1);
        assert_eq!(r.detail_options["conditions.adhd"].unchanged, 1);

        // Only a dropped option selected: the list goes, the gateway answer stays.
        let out = apply_mapping(
            &rules,
            &fixture(),
            &set(
                r#"{"disability":{"gateway":"yes","details":{"conditions":{"selected":["cancer"]}}}}"#,
            ),
        );
        assert_eq!(out.answers, set(r#"{"disability":{"gateway":"yes"}}"#));
        assert_eq!(
            out.report.characteristics["disability"].detail_options["conditions.cancer"].dropped,
            1
        );

        // Mapped onto a retired target is refused by validate_mapping.
        let bad = mapping(
            r#"{"characteristics":{"ethnic_group":{"gateway":{"white":{"map_to":{"option":"asian"}}}}}}"#,
        );
        let problems = validate_mapping(&bad, &fixture()).unwrap_err();
        assert_eq!(problems[0].code, codes::RETIRED_OPTION);
        assert_eq!(
            problems[0].field,
            "characteristics.ethnic_group.gateway.white.map_to.option"
        );
    }

    #[test]
    fn collisions_are_reasked() {
        let rules = mapping(r#"{"characteristics":{"legacy_disability":{"to":"disability"}}}"#);
        let out = apply_mapping(
            &rules,
            &fixture(),
            &set(r#"{"disability":{"gateway":"no"},"legacy_disability":{"gateway":"yes"}}"#),
        );
        assert_eq!(out.answers, set(r#"{"disability":{"gateway":"no"}}"#));
        assert_eq!(
            out.report.characteristics["legacy_disability"].invalid_after_mapping,
            1
        );
    }

    #[test]
    fn source_codes_must_exist_in_some_version() {
        let rules = mapping(
            r#"{"characteristics":{
                "star_sign":{},
                "disability":{"gateway":{"yes":"needs_reasking","maybe":"needs_reasking"},
                    "details":{"conditions":{"options":{"cancer":"drop","flu":"drop"}},
                               "nope":{}}}}}"#,
        );
        let problems = validate_mapping_sources(&rules, [&fixture()]).unwrap_err();
        let fields: Vec<&str> = problems.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "characteristics.disability.gateway.maybe",
                "characteristics.disability.details.conditions.options.flu",
                "characteristics.disability.details.nope",
                "characteristics.star_sign",
            ]
        );
        // A code only an older version had is still a valid source.
        let mut newer = fixture();
        newer.characteristics.retain(|c| c.code != "disability");
        let rules =
            mapping(r#"{"characteristics":{"disability":{"gateway":{"yes":"needs_reasking"}}}}"#);
        assert!(validate_mapping_sources(&rules, [&newer]).is_err());
        assert_eq!(
            validate_mapping_sources(&rules, [&newer, &fixture()]),
            Ok(())
        );
    }
}
