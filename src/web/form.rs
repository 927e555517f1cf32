//! The declaration form, rendered from the organisation's current catalogue, and the answers it
//! posts. Field names: `a.{characteristic}` (the gateway answer), `d.{characteristic}.{list}`
//! (a detail list's selected codes, repeated for tick boxes), `o.{characteristic}.{list}` (its
//! "other" text). The same names carry unsaved answers as hidden fields from the form to
//! "check your answers" to the save, so nothing is stored (nor put in a URL) before the save.

use std::collections::BTreeMap;

use maud::{html, Markup};

use crate::domain::catalogue::{
    Answer, AnswerOption, AnswerSet, Catalogue, Characteristic, Condition, DetailAnswer,
    DetailList, Selection,
};

use super::i18n::Lang;

/// Whether `list` is shown for `answer` (the rule the service validates with: a list whose
/// condition does not hold must not be answered).
fn shown(
    c: &Characteristic,
    list: &DetailList,
    gateway: &str,
    details: &BTreeMap<String, DetailAnswer>,
) -> bool {
    match &list.shown_when {
        Condition::GatewayIn(options) => options.iter().any(|o| o == gateway),
        Condition::DetailIn {
            list: parent,
            options,
        } => {
            c.details
                .iter()
                .find(|l| &l.code == parent)
                .is_some_and(|p| shown(c, p, gateway, details))
                && details
                    .get(parent)
                    .is_some_and(|d| d.selected.iter().any(|s| options.contains(s)))
        }
    }
}

/// The answers a submitted form gives. Only what the person chose: a gateway left unselected
/// stays blank; a detail list not shown under the chosen answer is dropped (with JavaScript
/// off every list is visible, and one filled in and then made irrelevant must not be sent).
pub fn answers_from(catalogue: &Catalogue, fields: &[(String, String)]) -> AnswerSet {
    let values = |name: &str| -> Vec<&str> {
        fields
            .iter()
            .filter(|(k, v)| k == name && !v.trim().is_empty())
            .map(|(_, v)| v.as_str())
            .collect()
    };
    let mut out = AnswerSet::new();
    for c in &catalogue.characteristics {
        let Some(gateway) = values(&format!("a.{}", c.code))
            .first()
            .map(|g| g.to_string())
        else {
            continue;
        };
        let mut details = BTreeMap::new();
        for list in &c.details {
            let selected: Vec<String> = values(&format!("d.{}.{}", c.code, list.code))
                .into_iter()
                .map(str::to_owned)
                .collect();
            let other_text = values(&format!("o.{}.{}", c.code, list.code))
                .first()
                .map(|t| t.trim().to_owned());
            if selected.is_empty() && other_text.is_none() {
                continue;
            }
            details.insert(
                list.code.clone(),
                DetailAnswer {
                    selected,
                    other_text,
                },
            );
        }
        // Conditions may depend on other lists, so filter once everything is read.
        let kept: BTreeMap<String, DetailAnswer> = details
            .iter()
            .filter(|(code, _)| {
                c.details
                    .iter()
                    .find(|l| &&l.code == code)
                    .is_some_and(|l| shown(c, l, &gateway, &details))
            })
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        out.insert(
            c.code.clone(),
            Answer {
                gateway,
                details: kept,
            },
        );
    }
    out
}

/// Unsaved answers as hidden fields, to carry them to the next step.
pub fn hidden(answers: &AnswerSet) -> Markup {
    html! {
        @for (code, answer) in answers {
            input type="hidden" name={ "a." (code) } value=(answer.gateway);
            @for (list, detail) in &answer.details {
                @for s in &detail.selected {
                    input type="hidden" name={ "d." (code) "." (list) } value=(s);
                }
                @if let Some(text) = &detail.other_text {
                    input type="hidden" name={ "o." (code) "." (list) } value=(text);
                }
            }
        }
    }
}

/// The options to offer: live ones, and a retired one only to whoever already holds it.
fn offered<'a>(
    options: &'a [AnswerOption],
    held: &[&str],
) -> impl Iterator<Item = &'a AnswerOption> + 'a {
    let held: Vec<String> = held.iter().map(|s| s.to_string()).collect();
    options
        .iter()
        .filter(move |o| !o.retired || held.contains(&o.code))
}

/// The gateway option each detail list is revealed under (GOV.UK conditional radios reveal
/// one block per option): the first option its condition names; a list conditional on another
/// list goes with that list.
fn placement<'c>(c: &'c Characteristic, list: &'c DetailList) -> Option<&'c str> {
    match &list.shown_when {
        Condition::GatewayIn(options) => c
            .gateway
            .options
            .iter()
            .find(|o| options.contains(&o.code))
            .map(|o| o.code.as_str()),
        Condition::DetailIn { list: parent, .. } => c
            .details
            .iter()
            .find(|l| &l.code == parent)
            .and_then(|p| placement(c, p)),
    }
}

/// One characteristic's questions: the gateway as radios, its detail lists revealed by the
/// answer, the 'why we ask' text, and an error message if the save refused it.
pub fn characteristic(
    lang: Lang,
    c: &Characteristic,
    answer: Option<&Answer>,
    error: Option<&str>,
) -> Markup {
    let code = &c.code;
    let chosen = answer.map(|a| a.gateway.as_str());
    let hint_id = format!("{code}-hint");
    let error_id = format!("{code}-error");
    let describedby = match error {
        Some(_) => format!("{hint_id} {error_id}"),
        None => hint_id.clone(),
    };
    html! {
        div class={ "govuk-form-group" @if error.is_some() { " govuk-form-group--error" } } id={ "c-" (code) } {
            fieldset class="govuk-fieldset" aria-describedby=(describedby) {
                legend class="govuk-fieldset__legend govuk-fieldset__legend--m" {
                    h2 class="govuk-fieldset__heading" { (lang.pick(&c.gateway.text)) }
                }
                div id=(hint_id) class="govuk-hint" {
                    @if let Some(help) = &c.help { (lang.pick(help)) " " }
                }
                details class="govuk-details" {
                    summary class="govuk-details__summary" {
                        span class="govuk-details__summary-text" {
                            (lang.t("why_we_ask"))
                            span class="govuk-visually-hidden" { ": " (lang.pick(&c.label)) }
                        }
                    }
                    div class="govuk-details__text" { (lang.pick(&c.why_we_ask)) }
                }
                @if let Some(message) = error {
                    p id=(error_id) class="govuk-error-message" {
                        span class="govuk-visually-hidden" { (lang.t("problem")) ": " } (message)
                    }
                }
                div class="govuk-radios" data-app-reveal {
                    @for option in offered(&c.gateway.options, &chosen.into_iter().collect::<Vec<_>>()) {
                        @let id = format!("{code}-{}", option.code);
                        @let lists: Vec<&DetailList> = c.details.iter().filter(|l| placement(c, l) == Some(option.code.as_str())).collect();
                        @let conditional = format!("conditional-{id}");
                        @if option.code == "prefer_not_to_say" && c.gateway.options.len() > 1 {
                            div class="govuk-radios__divider" { (match lang { Lang::En => "or", Lang::Cy => "neu" }) }
                        }
                        div class="govuk-radios__item" {
                            input class="govuk-radios__input" id=(id) name={ "a." (code) } type="radio" value=(option.code)
                                checked[chosen == Some(option.code.as_str())]
                                data-aria-controls=[(!lists.is_empty()).then_some(conditional.as_str())];
                            label class="govuk-label govuk-radios__label" for=(id) { (lang.pick(&option.label)) }
                            @if let Some(help) = &option.help {
                                div class="govuk-hint govuk-radios__hint" { (lang.pick(help)) }
                            }
                        }
                        @if !lists.is_empty() {
                            div class={ "govuk-radios__conditional" @if chosen != Some(option.code.as_str()) { " govuk-radios__conditional--hidden" } } id=(conditional) {
                                @for list in lists {
                                    (detail_list(lang, c, list, answer.and_then(|a| a.details.get(&list.code))))
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn detail_list(
    lang: Lang,
    c: &Characteristic,
    list: &DetailList,
    answer: Option<&DetailAnswer>,
) -> Markup {
    let name = format!("d.{}.{}", c.code, list.code);
    let id = format!("{}-{}", c.code, list.code);
    let selected: Vec<&str> = answer.map_or_else(Vec::new, |a| {
        a.selected.iter().map(String::as_str).collect()
    });
    let other_value = answer
        .and_then(|a| a.other_text.clone())
        .unwrap_or_default();
    let other_id = format!("{id}-other");
    let other_name = format!("o.{}.{}", c.code, list.code);
    html! {
        @if list.options.is_empty() {
            div class="govuk-form-group" {
                label class="govuk-label" for=(other_id) { (lang.pick(&list.label)) }
                input class="govuk-input" id=(other_id) name=(other_name) type="text" value=(other_value);
            }
        } @else {
            @match list.selection {
                Selection::Single => {
                    div class="govuk-form-group" {
                        label class="govuk-label" for=(id) { (lang.pick(&list.label)) }
                        @if let Some(help) = &list.help { div class="govuk-hint" { (lang.pick(help)) } }
                        select class="govuk-select" id=(id) name=(name) {
                            option value="" { (lang.t("choose")) }
                            @for o in offered(&list.options, &selected) {
                                option value=(o.code) selected[selected.contains(&o.code.as_str())] { (lang.pick(&o.label)) }
                            }
                        }
                    }
                }
                Selection::Multi { .. } => {
                    div class="govuk-form-group" {
                        fieldset class="govuk-fieldset" aria-describedby={ (id) "-hint" } {
                            legend class="govuk-fieldset__legend govuk-fieldset__legend--s" { (lang.pick(&list.label)) }
                            div class="govuk-hint" id={ (id) "-hint" } {
                                @if let Some(help) = &list.help { (lang.pick(help)) " " }
                                (lang.t("select_all"))
                            }
                            div class="govuk-checkboxes govuk-checkboxes--small" data-module="govuk-checkboxes" {
                                @for o in offered(&list.options, &selected) {
                                    @let oid = format!("{id}-{}", o.code);
                                    div class="govuk-checkboxes__item" {
                                        input class="govuk-checkboxes__input" id=(oid) name=(name) type="checkbox" value=(o.code)
                                            checked[selected.contains(&o.code.as_str())];
                                        label class="govuk-label govuk-checkboxes__label" for=(oid) { (lang.pick(&o.label)) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            @if list.other.is_some() {
                div class="govuk-form-group" {
                    label class="govuk-label" for=(other_id) { (lang.t("other_text")) }
                    input class="govuk-input govuk-!-width-two-thirds" id=(other_id) name=(other_name) type="text" value=(other_value);
                }
            }
        }
    }
}

/// An answer in words, for "check your answers" and the history: the gateway option's label,
/// then each detail list's choices and text. `None` is blank.
pub fn describe(lang: Lang, c: &Characteristic, answer: &Answer) -> Vec<String> {
    let mut lines = vec![c.gateway_option(&answer.gateway).map_or_else(
        || answer.gateway.clone(),
        |o| lang.pick(&o.label).to_owned(),
    )];
    for (code, detail) in &answer.details {
        let Some(list) = c.detail(code) else { continue };
        let mut parts: Vec<String> = detail
            .selected
            .iter()
            .map(|s| {
                list.option(s)
                    .map_or_else(|| s.clone(), |o| lang.pick(&o.label).to_owned())
            })
            .collect();
        if let Some(text) = &detail.other_text {
            parts.push(text.clone());
        }
        lines.push(format!("{}: {}", lang.pick(&list.label), parts.join(", ")));
    }
    lines
}
