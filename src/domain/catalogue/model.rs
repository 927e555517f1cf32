//! The catalogue types: what is asked, in which order, with which options.
//!
//! Rules a reader must keep:
//! - codes are stable identifiers (lowercase snake_case); labels are wording and may change;
//! - options are never deleted, only `retired` (stored answers keep pointing at them);
//! - options are listed in display order and their `order` values strictly increase;
//! - every gateway offers [`PREFER_NOT_TO_SAY`], which is distinct from a blank (no answer).
//!
//! These types only describe; [`super::draft::validate_catalogue`] checks the rules.
//!
//! The `utoipa::ToSchema` derives are schema annotations only (no I/O): they let
//! `openapi.yaml` describe the catalogue well enough for a front end to render a form from it.

use serde::{Deserialize, Serialize};

/// The option code every gateway must offer.
pub const PREFER_NOT_TO_SAY: &str = "prefer_not_to_say";
/// The "yes" option of a [`QuestionKind::YesNoPrefer`] gateway.
pub const YES: &str = "yes";
/// The "no" option of a [`QuestionKind::YesNoPrefer`] gateway.
pub const NO: &str = "no";
/// The options of a [`QuestionKind::YesNoPrefer`] gateway, in this order.
pub const YES_NO_PREFER: [&str; 3] = [YES, NO, PREFER_NOT_TO_SAY];

/// Text in English (`en`) and Welsh (`cy`). Both are required before a catalogue is
/// published. In the single-language form (`?lang=cy`) every such object is replaced by the
/// plain string in that language.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Localised {
    pub en: String,
    pub cy: String,
}

impl Localised {
    pub fn new(en: impl Into<String>, cy: impl Into<String>) -> Self {
        Self {
            en: en.into(),
            cy: cy.into(),
        }
    }
}

/// One version of the question set: render one section per characteristic, in this order.
///
/// Every question is voluntary. A characteristic the person has not answered is **blank**
/// (absent from their answers); that is different from answering **Prefer not to say**
/// (`prefer_not_to_say`), which every gateway offers and which counts as a response in
/// completion figures. Never pre-select an option.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Catalogue {
    /// A human label for this version, e.g. `"national-2025.1"`.
    pub version: String,
    /// In the order they are asked.
    pub characteristics: Vec<Characteristic>,
}

/// A protected characteristic (or a force's addition): one gateway question plus optional
/// detail lists shown on a condition. Show `why_we_ask` beside the question: staff declare
/// when they understand why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Characteristic {
    /// Stable identifier (lowercase snake_case), the key of this characteristic in an answer
    /// set. Never changes between versions; wording does.
    pub code: String,
    /// Short heading, e.g. "Disability".
    pub label: Localised,
    /// Why the organisation asks this, shown with the question.
    pub why_we_ask: Localised,
    /// Optional extra guidance.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub help: Option<Localised>,
    /// The gateway: the first question of the characteristic, always asked, answered with one
    /// option (Yes / No / Prefer not to say, or a list that includes Prefer not to say).
    pub gateway: Question,
    /// Drop-down or tick-box lists beneath the gateway, each shown only while its
    /// `shown_when` condition holds (e.g. health conditions when Disability is Yes).
    #[serde(default)]
    pub details: Vec<DetailList>,
    /// True where no official wording exists (or the Welsh is unconfirmed): the force must
    /// review the wording before publishing.
    #[serde(default)]
    pub review_wording: bool,
}

/// The gateway question of a characteristic: every declaration of it answers this with exactly
/// one option code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Question {
    /// The question as put to the person, e.g. "What is your sex?".
    pub text: Localised,
    pub kind: QuestionKind,
    /// In display order. Retired options are listed (stored answers may hold them) but must
    /// not be offered.
    pub options: Vec<AnswerOption>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
/// `yes_no_prefer`: the national standard (options exactly `yes`, `no`,
/// `prefer_not_to_say`); `single_choice`: one option from a longer list (e.g. ethnic group).
pub enum QuestionKind {
    /// Options exactly `yes`, `no`, `prefer_not_to_say` (the national standard).
    YesNoPrefer,
    /// One choice from a list that includes `prefer_not_to_say`.
    SingleChoice,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
/// One answer a person can choose.
pub struct AnswerOption {
    /// Stable identifier stored in answers; never reused for another meaning.
    pub code: String,
    /// Display position; strictly increasing along the list.
    pub order: u32,
    pub label: Localised,
    /// Optional explanation of the option.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub help: Option<Localised>,
    /// The category this option counts under in published figures (e.g. the broad ethnic
    /// group). `yes`, `no` and `prefer_not_to_say` count under themselves.
    pub publication_group: String,
    /// Retired options are kept so stored answers stay readable, but refused on new writes:
    /// do not offer them (show one only to someone whose stored answer already holds it).
    #[serde(default)]
    pub retired: bool,
}

/// A drop-down (or tick-box) list under a characteristic, shown on a condition. Answering it
/// is optional even when shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DetailList {
    /// Stable identifier, the key of this list under the characteristic's answer `details`.
    pub code: String,
    /// The list's question, e.g. "Which of these conditions do you have?".
    pub label: Localised,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub help: Option<Localised>,
    #[schema(value_type = schema::Selection)]
    pub selection: Selection,
    /// May be empty only for a pure write-in list (then `other` is required).
    /// Listed in display order.
    #[serde(default)]
    pub options: Vec<AnswerOption>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// An optional "other, please specify" free-text box.
    pub other: Option<OtherText>,
    /// When to show this list: hide it (and send no answer for it) otherwise.
    #[schema(value_type = schema::Condition)]
    pub shown_when: Condition,
}

/// How many options may be selected. JSON: `"single"` (a drop-down, one option) or
/// `{"multi": {"max": 3}}` (tick boxes, at most `max`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Selection {
    Single,
    Multi { max: u32 },
}

/// An "other, please specify" free text on a detail list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OtherText {
    /// Maximum length in characters (not bytes), 1..=500.
    pub max_len: u32,
    /// The option that must be selected for the text to be accepted (e.g. `other`). `None`
    /// means the text stands alone (a pure write-in list).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub option: Option<String>,
}

/// When a detail list is shown (`shown_when`): the list is visible only while this holds, and
/// an answer for a hidden list is refused. JSON: `{"gateway_in": ["yes"]}` or
/// `{"detail_in": {"list": "ethnic_group", "options": ["white"]}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Condition {
    /// The characteristic's own gateway answer is one of these options.
    GatewayIn(Vec<String>),
    /// Another detail list of the same characteristic, listed earlier and itself shown on a
    /// gateway condition (one level of nesting), has one of these options selected.
    DetailIn { list: String, options: Vec<String> },
}

/// Schema-only twins of [`Selection`] and [`Condition`] (decision 0021): the same JSON, but the
/// object inside each second variant is a named schema. Left inline, openapi-python-client
/// 0.29 generates that inner model twice, drops it, and the generated `DetailList` then imports
/// a module that does not exist, so no generated Python client could read a catalogue.
pub mod schema {
    /// How many options may be selected. JSON: `"single"` (a drop-down, one option) or
    /// `{"multi": {"max": 3}}` (tick boxes, at most `max`).
    #[derive(utoipa::ToSchema)]
    #[schema(rename_all = "snake_case")]
    #[allow(dead_code)] // never built: it describes `DetailList::selection`
    pub enum Selection {
        Single,
        Multi(MultiSelection),
    }

    /// Tick boxes: at most `max` options may be selected.
    #[derive(utoipa::ToSchema)]
    #[allow(dead_code)] // never built: it describes `Selection::Multi`
    pub struct MultiSelection {
        pub max: u32,
    }

    /// When a detail list is shown (`shown_when`): the list is visible only while this holds, and
    /// an answer for a hidden list is refused. JSON: `{"gateway_in": ["yes"]}` or
    /// `{"detail_in": {"list": "ethnic_group", "options": ["white"]}}`.
    #[derive(utoipa::ToSchema)]
    #[schema(rename_all = "snake_case")]
    #[allow(dead_code)] // never built: it describes `DetailList::shown_when`
    pub enum Condition {
        /// The characteristic's own gateway answer is one of these options.
        GatewayIn(Vec<String>),
        /// Another detail list of the same characteristic, listed earlier and itself shown on a
        /// gateway condition (one level of nesting), has one of these options selected.
        DetailIn(DetailCondition),
    }

    /// Another detail list of the same characteristic (`list`), listed earlier and itself shown
    /// on a gateway condition (one level of nesting), has one of these `options` selected.
    #[derive(utoipa::ToSchema)]
    #[allow(dead_code)] // never built: it describes `Condition::DetailIn`
    pub struct DetailCondition {
        pub list: String,
        pub options: Vec<String>,
    }
}

impl Catalogue {
    pub fn characteristic(&self, code: &str) -> Option<&Characteristic> {
        self.characteristics.iter().find(|c| c.code == code)
    }

    pub fn characteristic_mut(&mut self, code: &str) -> Option<&mut Characteristic> {
        self.characteristics.iter_mut().find(|c| c.code == code)
    }
}

impl Characteristic {
    pub fn detail(&self, code: &str) -> Option<&DetailList> {
        self.details.iter().find(|d| d.code == code)
    }

    pub fn gateway_option(&self, code: &str) -> Option<&AnswerOption> {
        self.gateway.option(code)
    }
}

impl Question {
    pub fn option(&self, code: &str) -> Option<&AnswerOption> {
        find_option(&self.options, code)
    }
}

impl DetailList {
    pub fn option(&self, code: &str) -> Option<&AnswerOption> {
        find_option(&self.options, code)
    }
}

fn find_option<'a>(options: &'a [AnswerOption], code: &str) -> Option<&'a AnswerOption> {
    options.iter().find(|o| o.code == code)
}

/// True when `code` is lowercase snake_case: `[a-z][a-z0-9]*(_[a-z0-9]+)*`, at most 64 bytes.
pub fn is_valid_code(code: &str) -> bool {
    let bytes = code.as_bytes();
    if bytes.is_empty() || bytes.len() > 64 || !bytes[0].is_ascii_lowercase() {
        return false;
    }
    let mut previous_underscore = false;
    for &b in bytes {
        match b {
            b'a'..=b'z' | b'0'..=b'9' => previous_underscore = false,
            b'_' if !previous_underscore => previous_underscore = true,
            _ => return false,
        }
    }
    !previous_underscore
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_syntax() {
        for ok in ["a", "yes", "prefer_not_to_say", "age_26_40", "x1"] {
            assert!(is_valid_code(ok), "{ok}");
        }
        for bad in [
            "",
            "_a",
            "a_",
            "a__b",
            "1a",
            "A",
            "a-b",
            "a b",
            "ŵ",
            &"a".repeat(65),
        ] {
            assert!(!is_valid_code(bad), "{bad}");
        }
    }

    #[test]
    fn selection_and_condition_json_shapes() {
        let single: Selection = serde_json::from_str(r#""single""#).unwrap();
        assert_eq!(single, Selection::Single);
        let multi: Selection = serde_json::from_str(r#"{"multi":{"max":3}}"#).unwrap();
        assert_eq!(multi, Selection::Multi { max: 3 });
        assert!(serde_json::from_str::<Selection>(r#"{"multi":{"max":3,"min":1}}"#).is_err());

        let c: Condition = serde_json::from_str(r#"{"gateway_in":["yes"]}"#).unwrap();
        assert_eq!(c, Condition::GatewayIn(vec![YES.into()]));
        let c: Condition =
            serde_json::from_str(r#"{"detail_in":{"list":"l","options":["a"]}}"#).unwrap();
        assert_eq!(
            c,
            Condition::DetailIn {
                list: "l".into(),
                options: vec!["a".into()]
            }
        );
        assert!(serde_json::from_str::<Condition>(
            r#"{"detail_in":{"list":"l","options":[],"x":1}}"#
        )
        .is_err());
    }

    #[test]
    fn unknown_fields_are_refused() {
        let json = r#"{"en":"Yes","cy":"Ie","fr":"Oui"}"#;
        assert!(serde_json::from_str::<Localised>(json).is_err());
        let option = r#"{"code":"yes","order":1,"label":{"en":"Yes","cy":"Ie"},
            "publication_group":"yes","colour":"red"}"#;
        assert!(serde_json::from_str::<AnswerOption>(option).is_err());
    }

    #[test]
    fn retired_defaults_to_false() {
        let option = r#"{"code":"yes","order":1,"label":{"en":"Yes","cy":"Ie"},
            "publication_group":"yes"}"#;
        let o: AnswerOption = serde_json::from_str(option).unwrap();
        assert!(!o.retired);
        assert!(o.help.is_none());
    }
}
