//! A person's answers, keyed by characteristic code.
//!
//! A characteristic missing from the map is BLANK (never answered); that is not the same as
//! answering [`PREFER_NOT_TO_SAY`]. Completion figures count the two apart.
//!
//! These types deserialize whatever codes were stored, even ones a later catalogue retired:
//! reading never depends on the catalogue. Checking against a catalogue is
//! [`super::answers`]' job.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::model::{Catalogue, Characteristic, Condition, DetailList, PREFER_NOT_TO_SAY};

/// Characteristic code -> answer. Absent key = blank.
pub type AnswerSet = BTreeMap<String, Answer>;

/// One characteristic's answer (the `utoipa::ToSchema` derive only describes it for
/// `openapi.yaml`). `gateway` is one option code of the characteristic's gateway question
/// (`yes`, `no`, `prefer_not_to_say`, or one of a `single_choice` list); `details` answers the
/// detail lists whose `shown_when` condition holds, keyed by list code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"gateway": "yes", "details": {"day_to_day_impact": {"selected": ["yes_a_little"]}, "impairment_areas": {"selected": ["hearing", "other"], "other_text": "Tinnitus"}}}))]
pub struct Answer {
    /// The gateway option code, e.g. `yes`, `no` or `prefer_not_to_say` (never a retired one).
    pub gateway: String,
    /// Detail list code -> answer. Only lists shown under this answer (their `shown_when`
    /// holds, e.g. `{"gateway_in": ["yes"]}`); lists not shown, or skipped, are absent. An
    /// answer for a hidden list is refused (422 naming `answers.<code>.details.<list>`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub details: BTreeMap<String, DetailAnswer>,
}

/// The answer to one detail list. By the list's kind: `selection: "single"` (a drop-down):
/// exactly one code in `selected`; `selection: {"multi": {"max": N}}` (tick boxes): one to N
/// codes; free text: `other_text` (at most the list's `other.max_len` characters) when the
/// list has `other`, and, if `other.option` is set, only with that option selected; a pure
/// write-in list (no options) takes `other_text` alone with `selected` empty.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"selected": ["other"], "other_text": "Tinnitus"}))]
pub struct DetailAnswer {
    /// Option codes of the list, in the order given (one for a `single` list).
    #[serde(default)]
    pub selected: Vec<String>,
    /// "Other, please specify" text, where the list offers it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub other_text: Option<String>,
}

/// How a characteristic stands for one person, for completion figures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Disclosure {
    /// Never answered.
    Blank,
    /// Answered "prefer not to say".
    PreferNotToSay,
    /// Answered anything else.
    Declared,
}

impl Answer {
    pub fn new(gateway: impl Into<String>) -> Self {
        Self {
            gateway: gateway.into(),
            details: BTreeMap::new(),
        }
    }

    /// The category the gateway answer counts under in published figures, or `None` when the
    /// characteristic or option is not in `catalogue`.
    pub fn publication_group<'c>(
        &self,
        catalogue: &'c Catalogue,
        characteristic: &str,
    ) -> Option<&'c str> {
        catalogue
            .characteristic(characteristic)?
            .gateway_option(&self.gateway)
            .map(|o| o.publication_group.as_str())
    }

    pub fn is_prefer_not_to_say(&self) -> bool {
        self.gateway == PREFER_NOT_TO_SAY
    }

    /// Anything but "prefer not to say" counts as declared.
    pub fn is_declared(&self) -> bool {
        !self.is_prefer_not_to_say()
    }

    pub fn disclosure(&self) -> Disclosure {
        if self.is_prefer_not_to_say() {
            Disclosure::PreferNotToSay
        } else {
            Disclosure::Declared
        }
    }

    /// Whether `list` is shown given this answer (its condition holds, and for a nested list
    /// its parent's condition holds too).
    pub fn shows(&self, characteristic: &Characteristic, list: &DetailList) -> bool {
        self.condition_met(characteristic, &list.shown_when, 0)
    }

    fn condition_met(
        &self,
        characteristic: &Characteristic,
        condition: &Condition,
        depth: u8,
    ) -> bool {
        match condition {
            Condition::GatewayIn(options) => options.contains(&self.gateway),
            Condition::DetailIn { list, options } => {
                // The depth guard keeps an unvalidated catalogue with a cycle from looping.
                let Some(parent) = characteristic.detail(list) else {
                    return false;
                };
                depth < 4
                    && self
                        .details
                        .get(list)
                        .is_some_and(|given| given.selected.iter().any(|s| options.contains(s)))
                    && self.condition_met(characteristic, &parent.shown_when, depth + 1)
            }
        }
    }
}

/// Blank, prefer not to say, or declared, for one characteristic of one person.
pub fn disclosure(answers: &AnswerSet, characteristic: &str) -> Disclosure {
    answers
        .get(characteristic)
        .map_or(Disclosure::Blank, Answer::disclosure)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> AnswerSet {
        serde_json::from_str(
            r#"{
                "disability": {"gateway": "yes", "details": {
                    "neurodivergent_conditions": {"selected": ["adhd", "other"], "other_text": "Irlen syndrome"}
                }},
                "religion": {"gateway": "prefer_not_to_say"}
            }"#,
        )
        .unwrap()
    }

    #[test]
    fn blank_prefer_not_to_say_and_declared_are_distinct() {
        let answers = sample();
        assert_eq!(disclosure(&answers, "disability"), Disclosure::Declared);
        assert_eq!(disclosure(&answers, "religion"), Disclosure::PreferNotToSay);
        assert_eq!(disclosure(&answers, "sex"), Disclosure::Blank);
        assert!(answers["disability"].is_declared());
        assert!(answers["religion"].is_prefer_not_to_say());
    }

    #[test]
    fn json_round_trip_and_shape() {
        let answers = sample();
        let json = serde_json::to_value(&answers).unwrap();
        assert_eq!(
            json["religion"],
            serde_json::json!({"gateway": "prefer_not_to_say"})
        );
        let back: AnswerSet = serde_json::from_value(json).unwrap();
        assert_eq!(back, answers);
    }

    #[test]
    fn unknown_fields_refused_but_unknown_codes_read() {
        let bad = r#"{"sex": {"gateway": "female", "comment": "x"}}"#;
        assert!(serde_json::from_str::<AnswerSet>(bad).is_err());
        // A code no catalogue knows still reads: validation is a separate step.
        let old = r#"{"legacy": {"gateway": "retired_code"}}"#;
        assert!(serde_json::from_str::<AnswerSet>(old).is_ok());
    }
}
