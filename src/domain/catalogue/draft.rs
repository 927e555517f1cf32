//! Validating a draft catalogue before it is published (a published version is immutable).
//!
//! Field paths index into the catalogue body, e.g. `characteristics[3].details[1].options[0].code`
//! (indices, not codes, so a duplicate code still has an unambiguous path).
//! Every problem is returned.

use std::collections::BTreeSet;

use super::model::{
    is_valid_code, AnswerOption, Catalogue, Characteristic, Condition, DetailList, Localised,
    QuestionKind, Selection, PREFER_NOT_TO_SAY, YES_NO_PREFER,
};
use super::problem::{codes, into_result, FieldProblem};

/// Longest "other, please specify" text a catalogue may allow.
pub const OTHER_MAX_LEN_LIMIT: u32 = 500;

/// Checks every publishing rule; see the module doc of [`super::model`].
pub fn validate_catalogue(catalogue: &Catalogue) -> Result<(), Vec<FieldProblem>> {
    let mut p = Problems(Vec::new());
    if catalogue.version.trim().is_empty() {
        p.push(
            "version",
            codes::EMPTY_VERSION,
            "The version label is empty",
        );
    }
    if catalogue.characteristics.is_empty() {
        p.push(
            "characteristics",
            codes::NO_CHARACTERISTICS,
            "A catalogue asks at least one question",
        );
    }
    let mut seen = BTreeSet::new();
    for (i, characteristic) in catalogue.characteristics.iter().enumerate() {
        let path = format!("characteristics[{i}]");
        p.code(&format!("{path}.code"), &characteristic.code, &mut seen);
        check_characteristic(characteristic, &path, &mut p);
    }
    into_result(p.0)
}

struct Problems(Vec<FieldProblem>);

impl Problems {
    fn push(&mut self, field: impl Into<String>, code: &'static str, message: impl Into<String>) {
        self.0.push(FieldProblem::new(field, code, message));
    }

    /// Syntax and uniqueness (within `seen`'s scope) of a code.
    fn code(&mut self, field: &str, code: &str, seen: &mut BTreeSet<String>) {
        if !is_valid_code(code) {
            self.push(
                field,
                codes::INVALID_CODE,
                format!("'{code}' is not lowercase snake_case (max 64)"),
            );
        }
        if !seen.insert(code.to_string()) {
            self.push(
                field,
                codes::DUPLICATE_CODE,
                format!("'{code}' is used twice"),
            );
        }
    }

    fn text(&mut self, field: &str, text: &Localised) {
        for (lang, value) in [("en", &text.en), ("cy", &text.cy)] {
            if value.trim().is_empty() {
                self.push(
                    format!("{field}.{lang}"),
                    codes::MISSING_TRANSLATION,
                    format!(
                        "The {} text is empty",
                        if lang == "en" { "English" } else { "Welsh" }
                    ),
                );
            }
        }
    }

    fn optional_text(&mut self, field: &str, text: Option<&Localised>) {
        if let Some(text) = text {
            self.text(field, text);
        }
    }
}

fn check_characteristic(c: &Characteristic, path: &str, p: &mut Problems) {
    p.text(&format!("{path}.label"), &c.label);
    p.text(&format!("{path}.why_we_ask"), &c.why_we_ask);
    p.optional_text(&format!("{path}.help"), c.help.as_ref());

    let gateway = format!("{path}.gateway");
    p.text(&format!("{gateway}.text"), &c.gateway.text);
    check_options(&c.gateway.options, &gateway, p);
    let codes_in_order: Vec<&str> = c.gateway.options.iter().map(|o| o.code.as_str()).collect();
    match c.gateway.kind {
        QuestionKind::YesNoPrefer => {
            if codes_in_order != YES_NO_PREFER {
                p.push(
                    format!("{gateway}.options"),
                    codes::WRONG_YES_NO_PREFER_OPTIONS,
                    "A yes_no_prefer gateway has exactly yes, no, prefer_not_to_say, in that order",
                );
            }
            for (j, option) in c.gateway.options.iter().enumerate() {
                let field = format!("{gateway}.options[{j}]");
                if YES_NO_PREFER.contains(&option.code.as_str()) {
                    if option.publication_group != option.code {
                        p.push(
                            format!("{field}.publication_group"),
                            codes::WRONG_PUBLICATION_GROUP,
                            format!("'{}' counts under itself", option.code),
                        );
                    }
                    if option.retired && option.code != PREFER_NOT_TO_SAY {
                        p.push(
                            format!("{field}.retired"),
                            codes::WRONG_YES_NO_PREFER_OPTIONS,
                            "Yes and No cannot be retired from a yes_no_prefer gateway",
                        );
                    }
                }
            }
        }
        QuestionKind::SingleChoice => {
            let active = c
                .gateway
                .options
                .iter()
                .filter(|o| !o.retired && o.code != PREFER_NOT_TO_SAY);
            if active.count() == 0 {
                p.push(
                    format!("{gateway}.options"),
                    codes::NO_ACTIVE_OPTIONS,
                    "Offer at least one option besides prefer not to say",
                );
            }
        }
    }
    match c
        .gateway
        .options
        .iter()
        .position(|o| o.code == PREFER_NOT_TO_SAY)
    {
        None => p.push(
            format!("{gateway}.options"),
            codes::MISSING_PREFER_NOT_TO_SAY,
            "Every gateway offers prefer_not_to_say",
        ),
        Some(j) => {
            let option = &c.gateway.options[j];
            let field = format!("{gateway}.options[{j}]");
            if option.retired {
                p.push(
                    format!("{field}.retired"),
                    codes::PREFER_NOT_TO_SAY_RETIRED,
                    "prefer_not_to_say can never be retired",
                );
            }
            if option.publication_group != PREFER_NOT_TO_SAY {
                p.push(
                    format!("{field}.publication_group"),
                    codes::WRONG_PUBLICATION_GROUP,
                    "prefer_not_to_say counts under itself",
                );
            }
        }
    }
    for (j, option) in c.gateway.options.iter().enumerate() {
        if option.code != PREFER_NOT_TO_SAY && option.publication_group == PREFER_NOT_TO_SAY {
            p.push(
                format!("{gateway}.options[{j}].publication_group"),
                codes::WRONG_PUBLICATION_GROUP,
                "Only prefer_not_to_say counts as prefer not to say",
            );
        }
    }

    let mut list_codes = BTreeSet::new();
    for (k, list) in c.details.iter().enumerate() {
        let list_path = format!("{path}.details[{k}]");
        p.code(&format!("{list_path}.code"), &list.code, &mut list_codes);
        check_list(c, k, list, &list_path, p);
    }
}

fn check_options(options: &[AnswerOption], path: &str, p: &mut Problems) {
    let mut seen = BTreeSet::new();
    let mut previous_order = None;
    for (j, option) in options.iter().enumerate() {
        let field = format!("{path}.options[{j}]");
        p.code(&format!("{field}.code"), &option.code, &mut seen);
        p.text(&format!("{field}.label"), &option.label);
        p.optional_text(&format!("{field}.help"), option.help.as_ref());
        if option.publication_group.trim().is_empty() {
            p.push(
                format!("{field}.publication_group"),
                codes::EMPTY_PUBLICATION_GROUP,
                "Every option counts under a publication group",
            );
        } else if !is_valid_code(&option.publication_group) {
            p.push(
                format!("{field}.publication_group"),
                codes::INVALID_CODE,
                "A publication group is a lowercase snake_case code",
            );
        }
        if previous_order.is_some_and(|prev| option.order <= prev) {
            p.push(
                format!("{field}.order"),
                codes::ORDER_NOT_INCREASING,
                "Options are listed in display order; order values strictly increase",
            );
        }
        previous_order = Some(option.order);
    }
}

fn check_list(c: &Characteristic, index: usize, list: &DetailList, path: &str, p: &mut Problems) {
    p.text(&format!("{path}.label"), &list.label);
    p.optional_text(&format!("{path}.help"), list.help.as_ref());
    check_options(&list.options, path, p);

    if list.options.is_empty() {
        // A pure write-in list: only free text, e.g. "Other religion, please specify".
        let ok = list.selection == Selection::Single
            && list.other.as_ref().is_some_and(|o| o.option.is_none());
        if !ok {
            p.push(
                format!("{path}.options"),
                codes::WRITE_IN_LIST_INVALID,
                "A list without options is a write-in: selection single, and `other` with no option",
            );
        }
    } else if list.options.iter().all(|o| o.retired) {
        p.push(
            format!("{path}.options"),
            codes::NO_ACTIVE_OPTIONS,
            "Every option is retired",
        );
    }
    if matches!(list.selection, Selection::Multi { max } if max == 0 || max as usize > list.options.len())
    {
        p.push(
            format!("{path}.selection.multi.max"),
            codes::INVALID_MAX,
            format!(
                "max must be between 1 and the number of options ({})",
                list.options.len()
            ),
        );
    }
    if let Some(other) = &list.other {
        if !(1..=OTHER_MAX_LEN_LIMIT).contains(&other.max_len) {
            p.push(
                format!("{path}.other.max_len"),
                codes::INVALID_OTHER_MAX_LEN,
                format!("max_len must be between 1 and {OTHER_MAX_LEN_LIMIT}"),
            );
        }
        if let Some(option) = other
            .option
            .as_ref()
            .filter(|option| list.option(option).is_none())
        {
            p.push(
                format!("{path}.other.option"),
                codes::OTHER_UNKNOWN_OPTION,
                format!("'{option}' is not an option of this list"),
            );
        }
    }
    check_condition(c, index, &list.shown_when, &format!("{path}.shown_when"), p);
}

fn check_condition(
    c: &Characteristic,
    index: usize,
    condition: &Condition,
    path: &str,
    p: &mut Problems,
) {
    let (options, options_path, parent) = match condition {
        Condition::GatewayIn(options) => (options, format!("{path}.gateway_in"), None),
        Condition::DetailIn { list, options } => {
            let list_path = format!("{path}.detail_in.list");
            let parent = match c.details.iter().position(|d| &d.code == list) {
                None => {
                    let message = format!("'{list}' is not a detail list of {}", c.code);
                    p.push(list_path, codes::CONDITION_UNKNOWN_LIST, message);
                    return;
                }
                Some(parent) if parent >= index => {
                    let message = format!("'{list}' must come before the list that depends on it");
                    p.push(list_path, codes::CONDITION_FORWARD_REFERENCE, message);
                    return;
                }
                Some(parent) => &c.details[parent],
            };
            if matches!(parent.shown_when, Condition::DetailIn { .. }) {
                let message = format!("'{list}' is itself nested; nesting is one level at most");
                p.push(list_path, codes::NESTING_TOO_DEEP, message);
            }
            (options, format!("{path}.detail_in.options"), Some(parent))
        }
    };
    if options.is_empty() {
        p.push(
            options_path.clone(),
            codes::EMPTY_CONDITION,
            "A condition names at least one option",
        );
    }
    for (j, code) in options.iter().enumerate() {
        let known = match parent {
            None => c.gateway_option(code).is_some(),
            Some(parent) => parent.option(code).is_some(),
        };
        if !known {
            p.push(
                format!("{options_path}[{j}]"),
                codes::CONDITION_UNKNOWN_OPTION,
                format!("'{code}' is not an option of the list the condition looks at"),
            );
        } else if code == PREFER_NOT_TO_SAY {
            p.push(
                format!("{options_path}[{j}]"),
                codes::CONDITION_ON_PREFER_NOT_TO_SAY,
                "Nothing more is asked of someone who prefers not to say",
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixture::{fixture, opt};
    use super::super::model::{OtherText, NO, YES};
    use super::*;

    fn problems(catalogue: &Catalogue) -> Vec<(String, &'static str)> {
        match validate_catalogue(catalogue) {
            Ok(()) => vec![],
            Err(p) => p.into_iter().map(|p| (p.field, p.code)).collect(),
        }
    }

    fn one(field: &str, code: &'static str) -> Vec<(String, &'static str)> {
        vec![(field.to_string(), code)]
    }

    #[test]
    fn fixture_is_valid() {
        assert_eq!(problems(&fixture()), vec![]);
    }

    #[test]
    fn codes_are_unique_and_well_formed() {
        let mut cat = fixture();
        cat.characteristics[1].code = "disability".into();
        assert_eq!(
            problems(&cat),
            one("characteristics[1].code", codes::DUPLICATE_CODE)
        );
        let mut cat = fixture();
        cat.characteristics[0].details[1].options[1].code = "adhd".into();
        assert_eq!(
            problems(&cat),
            one(
                "characteristics[0].details[1].options[1].code",
                codes::DUPLICATE_CODE
            )
        );
        let mut cat = fixture();
        cat.characteristics[0].details[0].code = "Impact".into();
        assert_eq!(
            problems(&cat),
            one("characteristics[0].details[0].code", codes::INVALID_CODE)
        );
        // The same option code in two different lists is fine.
        let mut cat = fixture();
        cat.characteristics[0].details[0].options[0].code = "adhd".into();
        assert_eq!(problems(&cat), vec![]);
    }

    #[test]
    fn both_languages_required() {
        let mut cat = fixture();
        cat.characteristics[0].why_we_ask.cy = " ".into();
        cat.characteristics[1].gateway.options[0].label.en = String::new();
        assert_eq!(
            problems(&cat),
            vec![
                (
                    "characteristics[0].why_we_ask.cy".to_string(),
                    codes::MISSING_TRANSLATION
                ),
                (
                    "characteristics[1].gateway.options[0].label.en".to_string(),
                    codes::MISSING_TRANSLATION
                ),
            ]
        );
    }

    #[test]
    fn gateway_rules() {
        let mut cat = fixture();
        cat.characteristics[1].gateway.options.pop();
        assert_eq!(
            problems(&cat),
            one(
                "characteristics[1].gateway.options",
                codes::MISSING_PREFER_NOT_TO_SAY
            )
        );

        let mut cat = fixture();
        cat.characteristics[1].gateway.options[2].retired = true;
        assert_eq!(
            problems(&cat),
            one(
                "characteristics[1].gateway.options[2].retired",
                codes::PREFER_NOT_TO_SAY_RETIRED
            )
        );

        let mut cat = fixture();
        cat.characteristics[0].gateway.options.swap(0, 1);
        cat.characteristics[0].gateway.options[0].order = 1;
        cat.characteristics[0].gateway.options[1].order = 2;
        assert_eq!(
            problems(&cat),
            one(
                "characteristics[0].gateway.options",
                codes::WRONG_YES_NO_PREFER_OPTIONS
            )
        );

        let mut cat = fixture();
        cat.characteristics[0]
            .gateway
            .options
            .push(opt("maybe", 4, "maybe"));
        assert_eq!(
            problems(&cat),
            one(
                "characteristics[0].gateway.options",
                codes::WRONG_YES_NO_PREFER_OPTIONS
            )
        );

        let mut cat = fixture();
        cat.characteristics[0].gateway.options[1].publication_group = YES.into();
        assert_eq!(
            problems(&cat),
            one(
                "characteristics[0].gateway.options[1].publication_group",
                codes::WRONG_PUBLICATION_GROUP
            )
        );
        assert_eq!(cat.characteristics[0].gateway.options[1].code, NO);

        let mut cat = fixture();
        cat.characteristics[1].gateway.options[0].publication_group = String::new();
        assert_eq!(
            problems(&cat),
            one(
                "characteristics[1].gateway.options[0].publication_group",
                codes::EMPTY_PUBLICATION_GROUP
            )
        );

        let mut cat = fixture();
        cat.characteristics[1].gateway.options[0].retired = true;
        assert_eq!(
            problems(&cat),
            one(
                "characteristics[1].gateway.options",
                codes::NO_ACTIVE_OPTIONS
            )
        );

        let mut cat = fixture();
        cat.characteristics[1].gateway.options[1].order = 1;
        assert_eq!(
            problems(&cat),
            one(
                "characteristics[1].gateway.options[1].order",
                codes::ORDER_NOT_INCREASING
            )
        );
    }

    #[test]
    fn condition_rules() {
        let path = "characteristics[0].details[2].shown_when.detail_in";
        let set_condition = |condition: Condition| {
            let mut cat = fixture();
            cat.characteristics[0].details[2].shown_when = condition;
            problems(&cat)
        };
        let detail_in = |list: &str, options: &[&str]| Condition::DetailIn {
            list: list.into(),
            options: options.iter().map(|o| o.to_string()).collect(),
        };
        assert_eq!(
            set_condition(detail_in("nope", &["x"])),
            one(&format!("{path}.list"), codes::CONDITION_UNKNOWN_LIST)
        );
        assert_eq!(
            set_condition(detail_in("conditions", &["zz"])),
            one(
                &format!("{path}.options[0]"),
                codes::CONDITION_UNKNOWN_OPTION
            )
        );
        assert_eq!(
            set_condition(detail_in("conditions", &[])),
            one(&format!("{path}.options"), codes::EMPTY_CONDITION)
        );
        assert_eq!(
            set_condition(Condition::GatewayIn(vec![PREFER_NOT_TO_SAY.into()])),
            one(
                "characteristics[0].details[2].shown_when.gateway_in[0]",
                codes::CONDITION_ON_PREFER_NOT_TO_SAY
            )
        );

        let mut cat = fixture();
        cat.characteristics[0].details.swap(1, 2);
        assert_eq!(
            problems(&cat),
            one(
                "characteristics[0].details[1].shown_when.detail_in.list",
                codes::CONDITION_FORWARD_REFERENCE
            )
        );

        // A list nested under a nested list: two levels.
        let mut cat = fixture();
        let mut deeper = cat.characteristics[0].details[2].clone();
        deeper.code = "deeper".into();
        deeper.shown_when = detail_in("other_kind", &["mental"]);
        cat.characteristics[0].details.push(deeper);
        assert_eq!(
            problems(&cat),
            one(
                "characteristics[0].details[3].shown_when.detail_in.list",
                codes::NESTING_TOO_DEEP
            )
        );
    }

    #[test]
    fn list_rules() {
        let mut cat = fixture();
        cat.characteristics[0].details[1].selection = Selection::Multi { max: 5 };
        assert_eq!(
            problems(&cat),
            one(
                "characteristics[0].details[1].selection.multi.max",
                codes::INVALID_MAX
            )
        );
        cat.characteristics[0].details[1].selection = Selection::Multi { max: 0 };
        assert_eq!(
            problems(&cat),
            one(
                "characteristics[0].details[1].selection.multi.max",
                codes::INVALID_MAX
            )
        );

        let mut cat = fixture();
        cat.characteristics[0].details[1].other = Some(OtherText {
            max_len: 501,
            option: Some("nope".into()),
        });
        assert_eq!(
            problems(&cat),
            vec![
                (
                    "characteristics[0].details[1].other.max_len".to_string(),
                    codes::INVALID_OTHER_MAX_LEN
                ),
                (
                    "characteristics[0].details[1].other.option".to_string(),
                    codes::OTHER_UNKNOWN_OPTION
                ),
            ]
        );

        // A pure write-in list is fine; one with a tied option or multi selection is not.
        let mut cat = fixture();
        let list = &mut cat.characteristics[0].details[0];
        list.options.clear();
        list.other = Some(OtherText {
            max_len: 100,
            option: None,
        });
        assert_eq!(problems(&cat), vec![]);
        cat.characteristics[0].details[0].selection = Selection::Multi { max: 1 };
        assert_eq!(
            problems(&cat),
            vec![
                (
                    "characteristics[0].details[0].options".to_string(),
                    codes::WRITE_IN_LIST_INVALID
                ),
                (
                    "characteristics[0].details[0].selection.multi.max".to_string(),
                    codes::INVALID_MAX
                ),
            ]
        );

        let mut cat = fixture();
        for o in &mut cat.characteristics[0].details[0].options {
            o.retired = true;
        }
        assert_eq!(
            problems(&cat),
            one(
                "characteristics[0].details[0].options",
                codes::NO_ACTIVE_OPTIONS
            )
        );
    }

    #[test]
    fn catalogue_level() {
        let cat = Catalogue {
            version: " ".into(),
            characteristics: vec![],
        };
        assert_eq!(
            problems(&cat),
            vec![
                ("version".to_string(), codes::EMPTY_VERSION),
                ("characteristics".to_string(), codes::NO_CHARACTERISTICS),
            ]
        );
    }
}
