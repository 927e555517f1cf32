//! Pure edits of a draft catalogue, and the difference between two versions.
//!
//! Each edit checks what it touches and leaves the catalogue unchanged when it fails. The
//! whole-catalogue rules (translations present, conditions resolvable...) are checked by
//! [`super::draft::validate_catalogue`] before publishing, so a draft may be incomplete (e.g.
//! an option added in English before its Welsh arrives).
//!
//! Nothing is ever deleted: options are retired (and may be reinstated), so every stored
//! answer keeps meaning something. [`check_successor`] refuses a new version that dropped
//! anything the previous one had.

use std::collections::BTreeMap;

use serde::Serialize;
use thiserror::Error;

use super::model::{
    is_valid_code, AnswerOption, Catalogue, Characteristic, Condition, DetailList, Localised,
    QuestionKind, PREFER_NOT_TO_SAY,
};

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum EditError {
    #[error("there is no characteristic '{0}'")]
    UnknownCharacteristic(String),
    #[error("characteristic '{characteristic}' has no detail list '{list}'")]
    UnknownList {
        characteristic: String,
        list: String,
    },
    #[error("'{option}' is not an option of {scope}")]
    UnknownOption { scope: String, option: String },
    #[error("the code '{0}' is already used here")]
    DuplicateCode(String),
    #[error("'{0}' is not a valid code (lowercase snake_case, at most 64 characters)")]
    InvalidCode(String),
    #[error("the options of a yes/no/prefer not to say gateway are fixed")]
    FixedOptions,
    #[error("prefer_not_to_say can never be retired from a gateway")]
    CannotRetirePreferNotToSay,
    #[error("'{0}' is the last option still offered; add another before retiring it")]
    LastActiveOption(String),
    #[error("the new order must list each existing code exactly once")]
    NotAPermutation,
    #[error("detail list '{list}' must come after '{parent}', which its condition looks at")]
    ConditionOrder { list: String, parent: String },
}

/// Which option list of a characteristic an edit applies to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OptionScope {
    Gateway,
    Detail(String),
}

/// Which text an edit of wording replaces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TextTarget {
    Label,
    WhyWeAsk,
    /// `None` removes the help text.
    Help,
    GatewayText,
    ListLabel(String),
    OptionLabel(OptionScope, String),
}

pub fn add_characteristic(
    catalogue: &mut Catalogue,
    characteristic: Characteristic,
) -> Result<(), EditError> {
    valid_code(&characteristic.code)?;
    if catalogue.characteristic(&characteristic.code).is_some() {
        return Err(EditError::DuplicateCode(characteristic.code));
    }
    catalogue.characteristics.push(characteristic);
    Ok(())
}

/// Appends a detail list. Its condition must look at the gateway or at an earlier list.
pub fn add_detail_list(
    catalogue: &mut Catalogue,
    characteristic: &str,
    list: DetailList,
) -> Result<(), EditError> {
    let c = find(catalogue, characteristic)?;
    valid_code(&list.code)?;
    if c.detail(&list.code).is_some() {
        return Err(EditError::DuplicateCode(list.code));
    }
    if let Condition::DetailIn { list: parent, .. } = &list.shown_when {
        if c.detail(parent).is_none() {
            return Err(EditError::ConditionOrder {
                list: list.code,
                parent: parent.clone(),
            });
        }
    }
    c.details.push(list);
    Ok(())
}

/// Appends an option at the end of the list; its `order` is set to follow the last one.
pub fn add_option(
    catalogue: &mut Catalogue,
    characteristic: &str,
    scope: &OptionScope,
    mut option: AnswerOption,
) -> Result<(), EditError> {
    let options = options_mut(catalogue, characteristic, scope, true)?;
    valid_code(&option.code)?;
    if options.iter().any(|o| o.code == option.code) {
        return Err(EditError::DuplicateCode(option.code));
    }
    option.order = options.last().map_or(1, |o| o.order.saturating_add(1));
    options.push(option);
    Ok(())
}

/// Marks an option retired: still readable in stored answers, refused on new writes.
/// Retiring an already retired option is a no-op.
pub fn retire_option(
    catalogue: &mut Catalogue,
    characteristic: &str,
    scope: &OptionScope,
    option: &str,
) -> Result<(), EditError> {
    if *scope == OptionScope::Gateway && option == PREFER_NOT_TO_SAY {
        return Err(EditError::CannotRetirePreferNotToSay);
    }
    let options = options_mut(catalogue, characteristic, scope, true)?;
    let index = option_index(options, characteristic, scope, option)?;
    let still_active = options
        .iter()
        .enumerate()
        .filter(|(i, o)| *i != index && !o.retired && o.code != PREFER_NOT_TO_SAY)
        .count();
    if still_active == 0 && !options[index].retired {
        return Err(EditError::LastActiveOption(option.to_string()));
    }
    options[index].retired = true;
    Ok(())
}

/// Offers a retired option again.
pub fn reinstate_option(
    catalogue: &mut Catalogue,
    characteristic: &str,
    scope: &OptionScope,
    option: &str,
) -> Result<(), EditError> {
    let options = options_mut(catalogue, characteristic, scope, false)?;
    let index = option_index(options, characteristic, scope, option)?;
    options[index].retired = false;
    Ok(())
}

/// Puts the characteristics in the given order (each code exactly once).
pub fn reorder_characteristics(catalogue: &mut Catalogue, order: &[&str]) -> Result<(), EditError> {
    permute(&mut catalogue.characteristics, order, |c| &c.code)
}

/// Puts the detail lists in the given order; a nested list must still follow its parent.
pub fn reorder_details(
    catalogue: &mut Catalogue,
    characteristic: &str,
    order: &[&str],
) -> Result<(), EditError> {
    let c = find(catalogue, characteristic)?;
    let mut details = c.details.clone();
    permute(&mut details, order, |d| &d.code)?;
    for (i, list) in details.iter().enumerate() {
        if let Condition::DetailIn { list: parent, .. } = &list.shown_when {
            if !details[..i].iter().any(|d| &d.code == parent) {
                return Err(EditError::ConditionOrder {
                    list: list.code.clone(),
                    parent: parent.clone(),
                });
            }
        }
    }
    c.details = details;
    Ok(())
}

/// Puts the options in the given order and renumbers `order` 1, 2, 3...
pub fn reorder_options(
    catalogue: &mut Catalogue,
    characteristic: &str,
    scope: &OptionScope,
    order: &[&str],
) -> Result<(), EditError> {
    let options = options_mut(catalogue, characteristic, scope, true)?;
    permute(options, order, |o| &o.code)?;
    for (option, n) in options.iter_mut().zip(1..) {
        option.order = n;
    }
    Ok(())
}

/// Replaces a piece of wording (or, for [`TextTarget::Help`], sets or removes it).
pub fn relabel(
    catalogue: &mut Catalogue,
    characteristic: &str,
    target: &TextTarget,
    text: Option<Localised>,
) -> Result<(), EditError> {
    let c = find(catalogue, characteristic)?;
    if *target == TextTarget::Help {
        c.help = text;
        return Ok(());
    }
    // Only help may be removed; anything else needs text (possibly blank while drafting).
    let text = text.unwrap_or_else(|| Localised::new("", ""));
    match target {
        TextTarget::Label => c.label = text,
        TextTarget::WhyWeAsk => c.why_we_ask = text,
        TextTarget::Help => {}
        TextTarget::GatewayText => c.gateway.text = text,
        TextTarget::ListLabel(list) => {
            let code = c.code.clone();
            let list = c
                .details
                .iter_mut()
                .find(|d| &d.code == list)
                .ok_or_else(|| EditError::UnknownList {
                    characteristic: code,
                    list: list.clone(),
                })?;
            list.label = text;
        }
        TextTarget::OptionLabel(scope, option) => {
            let options = options_mut(catalogue, characteristic, scope, false)?;
            let index = option_index(options, characteristic, scope, option)?;
            options[index].label = text;
        }
    }
    Ok(())
}

fn valid_code(code: &str) -> Result<(), EditError> {
    if is_valid_code(code) {
        Ok(())
    } else {
        Err(EditError::InvalidCode(code.to_string()))
    }
}

fn find<'a>(catalogue: &'a mut Catalogue, code: &str) -> Result<&'a mut Characteristic, EditError> {
    catalogue
        .characteristic_mut(code)
        .ok_or_else(|| EditError::UnknownCharacteristic(code.to_string()))
}

/// The options of `scope`; `changes_set` refuses a fixed yes/no/prefer gateway.
fn options_mut<'a>(
    catalogue: &'a mut Catalogue,
    characteristic: &str,
    scope: &OptionScope,
    changes_set: bool,
) -> Result<&'a mut Vec<AnswerOption>, EditError> {
    let c = find(catalogue, characteristic)?;
    match scope {
        OptionScope::Gateway if changes_set && c.gateway.kind == QuestionKind::YesNoPrefer => {
            Err(EditError::FixedOptions)
        }
        OptionScope::Gateway => Ok(&mut c.gateway.options),
        OptionScope::Detail(list) => c
            .details
            .iter_mut()
            .find(|d| &d.code == list)
            .map(|d| &mut d.options)
            .ok_or_else(|| EditError::UnknownList {
                characteristic: characteristic.to_string(),
                list: list.clone(),
            }),
    }
}

fn option_index(
    options: &[AnswerOption],
    characteristic: &str,
    scope: &OptionScope,
    option: &str,
) -> Result<usize, EditError> {
    options
        .iter()
        .position(|o| o.code == option)
        .ok_or_else(|| EditError::UnknownOption {
            scope: scope_path(characteristic, scope),
            option: option.to_string(),
        })
}

fn scope_path(characteristic: &str, scope: &OptionScope) -> String {
    match scope {
        OptionScope::Gateway => format!("{characteristic}.gateway"),
        OptionScope::Detail(list) => format!("{characteristic}.details.{list}"),
    }
}

/// Reorders `items` to follow `order`, which must name every item's code exactly once.
fn permute<T: Clone>(
    items: &mut Vec<T>,
    order: &[&str],
    code: impl Fn(&T) -> &String,
) -> Result<(), EditError> {
    if order.len() != items.len() {
        return Err(EditError::NotAPermutation);
    }
    let mut taken = vec![false; items.len()];
    let mut result = Vec::with_capacity(items.len());
    for wanted in order {
        let i = items
            .iter()
            .position(|item| code(item) == wanted)
            .filter(|&i| !taken[i])
            .ok_or(EditError::NotAPermutation)?;
        taken[i] = true;
        result.push(items[i].clone());
    }
    *items = result;
    Ok(())
}

/// One difference between two catalogue versions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct CatalogueChange {
    /// Dotted path of codes, e.g. `disability`, `disability.gateway.yes`,
    /// `disability.details.health_conditions`, `disability.details.health_conditions.adhd`.
    pub path: String,
    pub kind: ChangeKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    Added,
    /// Never allowed between versions: see [`check_successor`].
    Removed,
    Retired,
    Reinstated,
    /// Any wording (label, question text, why we ask, help) changed.
    Relabelled,
    /// Position among its siblings changed.
    Reordered,
    /// Something else changed: kind, selection, condition, free text, publication group,
    /// review flag.
    Changed,
}

/// What changed from `old` to `new`, in catalogue order.
pub fn diff(old: &Catalogue, new: &Catalogue) -> Vec<CatalogueChange> {
    let mut changes = Vec::new();
    let mut push = |path: String, kind| changes.push(CatalogueChange { path, kind });
    let old_by_code: BTreeMap<&str, &Characteristic> = old
        .characteristics
        .iter()
        .map(|c| (c.code.as_str(), c))
        .collect();
    let new_codes: Vec<&str> = new
        .characteristics
        .iter()
        .map(|c| c.code.as_str())
        .collect();
    let old_codes: Vec<&str> = old
        .characteristics
        .iter()
        .map(|c| c.code.as_str())
        .collect();

    for c in &new.characteristics {
        let Some(before) = old_by_code.get(c.code.as_str()) else {
            push(c.code.clone(), ChangeKind::Added);
            continue;
        };
        if relative_order_changed(&old_codes, &new_codes, &c.code) {
            push(c.code.clone(), ChangeKind::Reordered);
        }
        if before.label != c.label || before.why_we_ask != c.why_we_ask || before.help != c.help {
            push(c.code.clone(), ChangeKind::Relabelled);
        }
        if before.review_wording != c.review_wording {
            push(c.code.clone(), ChangeKind::Changed);
        }
        let gateway = format!("{}.gateway", c.code);
        if before.gateway.text != c.gateway.text {
            push(gateway.clone(), ChangeKind::Relabelled);
        }
        if before.gateway.kind != c.gateway.kind {
            push(gateway.clone(), ChangeKind::Changed);
        }
        diff_options(
            &before.gateway.options,
            &c.gateway.options,
            &gateway,
            &mut push,
        );

        let old_lists: Vec<&str> = before.details.iter().map(|d| d.code.as_str()).collect();
        let new_lists: Vec<&str> = c.details.iter().map(|d| d.code.as_str()).collect();
        for list in &c.details {
            let path = format!("{}.details.{}", c.code, list.code);
            let Some(was) = before.detail(&list.code) else {
                push(path, ChangeKind::Added);
                continue;
            };
            if relative_order_changed(&old_lists, &new_lists, &list.code) {
                push(path.clone(), ChangeKind::Reordered);
            }
            if was.label != list.label || was.help != list.help {
                push(path.clone(), ChangeKind::Relabelled);
            }
            if was.selection != list.selection
                || was.other != list.other
                || was.shown_when != list.shown_when
            {
                push(path.clone(), ChangeKind::Changed);
            }
            diff_options(&was.options, &list.options, &path, &mut push);
        }
        for list in &before.details {
            if c.detail(&list.code).is_none() {
                push(
                    format!("{}.details.{}", c.code, list.code),
                    ChangeKind::Removed,
                );
            }
        }
    }
    for c in &old.characteristics {
        if new.characteristic(&c.code).is_none() {
            push(c.code.clone(), ChangeKind::Removed);
        }
    }
    changes
}

fn diff_options(
    old: &[AnswerOption],
    new: &[AnswerOption],
    path: &str,
    push: &mut impl FnMut(String, ChangeKind),
) {
    let old_codes: Vec<&str> = old.iter().map(|o| o.code.as_str()).collect();
    let new_codes: Vec<&str> = new.iter().map(|o| o.code.as_str()).collect();
    for option in new {
        let option_path = format!("{path}.{}", option.code);
        let Some(was) = old.iter().find(|o| o.code == option.code) else {
            push(option_path, ChangeKind::Added);
            continue;
        };
        match (was.retired, option.retired) {
            (false, true) => push(option_path.clone(), ChangeKind::Retired),
            (true, false) => push(option_path.clone(), ChangeKind::Reinstated),
            _ => {}
        }
        if relative_order_changed(&old_codes, &new_codes, &option.code) {
            push(option_path.clone(), ChangeKind::Reordered);
        }
        if was.label != option.label || was.help != option.help {
            push(option_path.clone(), ChangeKind::Relabelled);
        }
        if was.publication_group != option.publication_group {
            push(option_path, ChangeKind::Changed);
        }
    }
    for option in old {
        if !new.iter().any(|o| o.code == option.code) {
            push(format!("{path}.{}", option.code), ChangeKind::Removed);
        }
    }
}

/// True when `code`'s position among the codes both sequences share differs.
fn relative_order_changed(old: &[&str], new: &[&str], code: &str) -> bool {
    let shared_old: Vec<&str> = old.iter().copied().filter(|c| new.contains(c)).collect();
    let shared_new: Vec<&str> = new.iter().copied().filter(|c| old.contains(c)).collect();
    shared_old.iter().position(|c| *c == code) != shared_new.iter().position(|c| *c == code)
}

/// A new version may add, retire, reword and reorder, but never remove: every removal is
/// returned as an error.
pub fn check_successor(old: &Catalogue, new: &Catalogue) -> Result<(), Vec<CatalogueChange>> {
    let removed: Vec<CatalogueChange> = diff(old, new)
        .into_iter()
        .filter(|c| c.kind == ChangeKind::Removed)
        .collect();
    if removed.is_empty() {
        Ok(())
    } else {
        Err(removed)
    }
}

#[cfg(test)]
mod tests {
    use super::super::draft::validate_catalogue;
    use super::super::fixture::{fixture, opt};
    use super::super::model::{Selection, YES};
    use super::*;

    fn detail(list: &str) -> OptionScope {
        OptionScope::Detail(list.into())
    }

    #[test]
    fn add_option_appends_with_next_order_and_stays_valid() {
        let mut cat = fixture();
        add_option(
            &mut cat,
            "disability",
            &detail("conditions"),
            opt("dyslexia", 99, "dyslexia"),
        )
        .unwrap();
        let list = cat.characteristics[0].detail("conditions").unwrap();
        assert_eq!(list.options.last().unwrap().order, 5);
        assert_eq!(validate_catalogue(&cat), Ok(()));
        assert_eq!(
            add_option(
                &mut cat,
                "disability",
                &detail("conditions"),
                opt("adhd", 1, "adhd")
            ),
            Err(EditError::DuplicateCode("adhd".into()))
        );
        assert_eq!(
            add_option(
                &mut cat,
                "disability",
                &OptionScope::Gateway,
                opt("maybe", 1, "maybe")
            ),
            Err(EditError::FixedOptions)
        );
        assert_eq!(
            add_option(
                &mut cat,
                "disability",
                &detail("conditions"),
                opt("Bad Code", 1, "x")
            ),
            Err(EditError::InvalidCode("Bad Code".into()))
        );
    }

    #[test]
    fn retire_and_reinstate() {
        let mut cat = fixture();
        let before = cat.clone();
        retire_option(&mut cat, "disability", &detail("conditions"), "adhd").unwrap();
        assert!(
            cat.characteristics[0]
                .detail("conditions")
                .unwrap()
                .option("adhd")
                .unwrap()
                .retired
        );
        assert_eq!(
            diff(&before, &cat),
            vec![CatalogueChange {
                path: "disability.details.conditions.adhd".into(),
                kind: ChangeKind::Retired
            }]
        );
        reinstate_option(&mut cat, "disability", &detail("conditions"), "adhd").unwrap();
        assert_eq!(cat, before);

        assert_eq!(
            retire_option(
                &mut cat,
                "ethnic_group",
                &OptionScope::Gateway,
                PREFER_NOT_TO_SAY
            ),
            Err(EditError::CannotRetirePreferNotToSay)
        );
        assert_eq!(
            retire_option(&mut cat, "disability", &OptionScope::Gateway, YES),
            Err(EditError::FixedOptions)
        );
        // white is the last active non-PNTS gateway option (asian is retired).
        assert_eq!(
            retire_option(&mut cat, "ethnic_group", &OptionScope::Gateway, "white"),
            Err(EditError::LastActiveOption("white".into()))
        );
        assert!(matches!(
            retire_option(&mut cat, "ethnic_group", &OptionScope::Gateway, "nope"),
            Err(EditError::UnknownOption { .. })
        ));
        assert_eq!(cat, before);
    }

    #[test]
    fn reorder() {
        let mut cat = fixture();
        reorder_characteristics(&mut cat, &["ethnic_group", "disability"]).unwrap();
        assert_eq!(cat.characteristics[0].code, "ethnic_group");
        assert_eq!(
            reorder_characteristics(&mut cat, &["ethnic_group", "ethnic_group"]),
            Err(EditError::NotAPermutation)
        );
        assert_eq!(
            reorder_characteristics(&mut cat, &["ethnic_group"]),
            Err(EditError::NotAPermutation)
        );

        reorder_options(
            &mut cat,
            "disability",
            &detail("impact"),
            &["a_little", "a_lot"],
        )
        .unwrap();
        let impact = cat
            .characteristic("disability")
            .unwrap()
            .detail("impact")
            .unwrap();
        assert_eq!(impact.options[0].code, "a_little");
        assert_eq!(impact.options[1].order, 2);
        assert_eq!(validate_catalogue(&cat), Ok(()));

        assert_eq!(
            reorder_details(
                &mut cat,
                "disability",
                &["other_kind", "impact", "conditions"]
            ),
            Err(EditError::ConditionOrder {
                list: "other_kind".into(),
                parent: "conditions".into()
            })
        );
        reorder_details(
            &mut cat,
            "disability",
            &["conditions", "other_kind", "impact"],
        )
        .unwrap();
        assert_eq!(validate_catalogue(&cat), Ok(()));
    }

    #[test]
    fn relabel_and_diff() {
        let mut cat = fixture();
        let before = cat.clone();
        relabel(
            &mut cat,
            "disability",
            &TextTarget::OptionLabel(detail("impact"), "a_lot".into()),
            Some(Localised::new("Yes, a lot", "Ydy, yn fawr")),
        )
        .unwrap();
        relabel(
            &mut cat,
            "disability",
            &TextTarget::Help,
            Some(Localised::new("h", "h")),
        )
        .unwrap();
        assert_eq!(
            relabel(&mut cat, "nope", &TextTarget::Label, None),
            Err(EditError::UnknownCharacteristic("nope".into()))
        );
        let kinds: Vec<_> = diff(&before, &cat)
            .into_iter()
            .map(|c| (c.path, c.kind))
            .collect();
        assert_eq!(
            kinds,
            vec![
                ("disability".to_string(), ChangeKind::Relabelled),
                (
                    "disability.details.impact.a_lot".to_string(),
                    ChangeKind::Relabelled
                ),
            ]
        );
    }

    #[test]
    fn add_characteristic_and_list() {
        let mut cat = fixture();
        let mut c = cat.characteristics[0].clone();
        assert_eq!(
            add_characteristic(&mut cat, c.clone()),
            Err(EditError::DuplicateCode("disability".into()))
        );
        c.code = "neurodivergence".into();
        add_characteristic(&mut cat, c).unwrap();
        let mut list = cat.characteristics[0].details[0].clone();
        list.code = "extra".into();
        list.shown_when = Condition::DetailIn {
            list: "not_yet".into(),
            options: vec!["x".into()],
        };
        assert!(matches!(
            add_detail_list(&mut cat, "disability", list.clone()),
            Err(EditError::ConditionOrder { .. })
        ));
        list.shown_when = Condition::GatewayIn(vec![YES.into()]);
        list.selection = Selection::Multi { max: 1 };
        add_detail_list(&mut cat, "disability", list).unwrap();
        assert_eq!(validate_catalogue(&cat), Ok(()));
        let changes = diff(&fixture(), &cat);
        assert_eq!(changes.len(), 2);
        assert!(changes.iter().all(|c| c.kind == ChangeKind::Added));
    }

    #[test]
    fn successor_may_not_remove() {
        let old = fixture();
        let mut new = old.clone();
        new.characteristics[0].details[0].options.pop();
        new.characteristics.pop();
        let removed = check_successor(&old, &new).unwrap_err();
        let paths: Vec<_> = removed.iter().map(|c| c.path.as_str()).collect();
        assert_eq!(
            paths,
            vec!["disability.details.impact.a_little", "ethnic_group"]
        );
        assert_eq!(check_successor(&old, &old), Ok(()));
    }
}
