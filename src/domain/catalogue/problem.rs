//! A validation problem tied to one field, as the HTTP layer reports it (RFC 9457 per-field
//! errors). `code` is a stable machine code from [`codes`]; `message` is English for humans.

use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldProblem {
    /// Path into the request body, e.g. `answers.disability.details.health_conditions.selected[2]`.
    pub field: String,
    pub code: &'static str,
    pub message: String,
}

impl FieldProblem {
    pub fn new(field: impl Into<String>, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            code,
            message: message.into(),
        }
    }
}

/// Turns collected problems into the validators' result.
pub(super) fn into_result(problems: Vec<FieldProblem>) -> Result<(), Vec<FieldProblem>> {
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}

/// The machine codes. Stable: clients may switch on them.
pub mod codes {
    // Answer sets.
    pub const UNKNOWN_CHARACTERISTIC: &str = "unknown_characteristic";
    pub const UNKNOWN_LIST: &str = "unknown_list";
    pub const UNKNOWN_OPTION: &str = "unknown_option";
    pub const RETIRED_OPTION: &str = "retired_option";
    pub const CONDITION_NOT_MET: &str = "condition_not_met";
    pub const EMPTY_SELECTION: &str = "empty_selection";
    pub const SINGLE_SELECT_MULTIPLE: &str = "single_select_multiple";
    pub const TOO_MANY_SELECTIONS: &str = "too_many_selections";
    pub const DUPLICATE_SELECTION: &str = "duplicate_selection";
    pub const OTHER_TEXT_NOT_ALLOWED: &str = "other_text_not_allowed";
    pub const OTHER_TEXT_TOO_LONG: &str = "other_text_too_long";
    pub const OTHER_TEXT_EMPTY: &str = "other_text_empty";

    // Catalogues.
    pub const EMPTY_VERSION: &str = "empty_version";
    pub const NO_CHARACTERISTICS: &str = "no_characteristics";
    pub const INVALID_CODE: &str = "invalid_code";
    pub const DUPLICATE_CODE: &str = "duplicate_code";
    pub const MISSING_TRANSLATION: &str = "missing_translation";
    pub const MISSING_PREFER_NOT_TO_SAY: &str = "missing_prefer_not_to_say";
    pub const PREFER_NOT_TO_SAY_RETIRED: &str = "prefer_not_to_say_retired";
    pub const WRONG_YES_NO_PREFER_OPTIONS: &str = "wrong_yes_no_prefer_options";
    pub const WRONG_PUBLICATION_GROUP: &str = "wrong_publication_group";
    pub const EMPTY_PUBLICATION_GROUP: &str = "empty_publication_group";
    pub const NO_ACTIVE_OPTIONS: &str = "no_active_options";
    pub const ORDER_NOT_INCREASING: &str = "order_not_increasing";
    pub const EMPTY_CONDITION: &str = "empty_condition";
    pub const CONDITION_UNKNOWN_LIST: &str = "condition_unknown_list";
    pub const CONDITION_UNKNOWN_OPTION: &str = "condition_unknown_option";
    pub const CONDITION_FORWARD_REFERENCE: &str = "condition_forward_reference";
    pub const CONDITION_ON_PREFER_NOT_TO_SAY: &str = "condition_on_prefer_not_to_say";
    pub const NESTING_TOO_DEEP: &str = "nesting_too_deep";
    pub const INVALID_MAX: &str = "invalid_max";
    pub const INVALID_OTHER_MAX_LEN: &str = "invalid_other_max_len";
    pub const OTHER_UNKNOWN_OPTION: &str = "other_unknown_option";
    pub const WRITE_IN_LIST_INVALID: &str = "write_in_list_invalid";
}
