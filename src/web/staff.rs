//! The staff journey: start, privacy notice and consent, the declaration form, check your
//! answers, save (with the version the form was read at; a stale save shows the conflict and
//! keeps what was entered), confirmation, history, export, withdrawal. The same services as
//! `/v1/me/...`; the employee comes from the session, never from the URL or the form.

use std::collections::BTreeMap;

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use maud::{html, Markup};

use crate::auth::{Principal, Role};
use crate::domain::catalogue::{AnswerSet, Catalogue};
use crate::domain::consent::Purpose;
use crate::error::AppError;
use crate::services::catalogue;
use crate::services::consent::{self, ConsentsView, UpdateConsents};
use crate::services::declarations::{self as service, Change};

use super::fields::{checked_form, field};
use super::form;
use super::layout::{back_link, csrf_field, error_summary, page as layout, simple};
use super::respond::{error_page, html as respond, redirect, require};
use super::session::{Page, State};

/// The signed-in employee, or the response that sends anyone else elsewhere.
fn employee(page: &Page, state: &State) -> Result<Principal, Box<HttpResponse>> {
    require(page, state, &[Role::Employee])
}

macro_rules! try_page {
    ($page:expr, $state:expr, $result:expr) => {
        match $result {
            Ok(value) => value,
            Err(e) => return error_page(&$page, &$state, &e),
        }
    };
}

macro_rules! signed_in {
    ($page:expr, $state:expr) => {
        match employee(&$page, &$state) {
            Ok(principal) => principal,
            Err(response) => return *response,
        }
    };
}

async fn current_catalogue(state: &State, principal: &Principal) -> Result<Catalogue, AppError> {
    let org = crate::http::principal::own_organisation(principal)?;
    Ok(catalogue::current(&state.db, org).await?.document)
}

fn granted(view: &ConsentsView, purpose: Purpose) -> bool {
    view.consents
        .iter()
        .any(|c| c.purpose == purpose.as_str() && c.withdrawn_at.is_none())
}

/// `GET /`: the start page for staff; viewers go to their figures; others to sign in.
pub async fn home(req: HttpRequest, state: State) -> HttpResponse {
    let page = Page::of(&req, &state);
    if let Some(p) = &page.principal {
        if !p.has_role(Role::Employee)
            && (p.has_role(Role::EdiViewer) || p.has_role(Role::NationalViewer))
        {
            return redirect(&page, "/dashboard");
        }
        if !p.has_role(Role::Employee) && p.has_role(Role::HrAdmin) {
            return redirect(&page, "/hr/reviews");
        }
    }
    let principal = signed_in!(page, state);
    let consents = try_page!(
        page,
        state,
        consent::get(&state.db, principal.clone(), page.request_id.clone()).await
    );
    let declaration = try_page!(
        page,
        state,
        service::read(
            &state.db,
            state.sealer.clone(),
            principal,
            page.request_id.clone()
        )
        .await
    );
    let t = |k| page.lang.t(k);
    let declared = declaration.version > 0;
    let body = html! {
        div class="govuk-grid-row" {
            div class="govuk-grid-column-two-thirds" {
                h1 class="govuk-heading-l" { (t("home")) }
                p class="govuk-body" { (t("home_lead")) }
                @if declaration.held_answers.is_some() {
                    div class="govuk-inset-text" { (t("held")) }
                }
                @if consents.may_declare {
                    a href="/declare/answers" role="button" draggable="false" class="govuk-button govuk-button--start" data-module="govuk-button" {
                        (if declared { t("update") } else { t("start") })
                    }
                } @else {
                    a href="/declare/privacy" role="button" draggable="false" class="govuk-button govuk-button--start" data-module="govuk-button" {
                        (t("start"))
                    }
                }
                ul class="govuk-list" {
                    li { a class="govuk-link" href="/declare/privacy" { (t("privacy")) } }
                    li { a class="govuk-link" href="/declare/history" { (t("history")) } }
                    li { a class="govuk-link" href="/declare/export" download="declare-export.json" { (t("export")) } }
                    @if granted(&consents, Purpose::EqualityMonitoring) {
                        li { a class="govuk-link" href="/declare/withdraw" { (t("withdraw")) } }
                    }
                }
            }
        }
    };
    respond(
        &page,
        StatusCode::OK,
        layout(&page, &state, t("home"), false, body),
    )
}

/// `GET /declare/privacy`: the notice and the consent choices.
pub async fn privacy(req: HttpRequest, state: State) -> HttpResponse {
    let page = Page::of(&req, &state);
    let principal = signed_in!(page, state);
    let view = try_page!(
        page,
        state,
        consent::get(&state.db, principal, page.request_id.clone()).await
    );
    privacy_page(&page, &state, &view, None)
}

/// The notice and the consent form; `error` (an i18n key) when the last choice was refused,
/// shown in the summary and beside the tick boxes.
fn privacy_page(
    page: &Page,
    state: &State,
    view: &ConsentsView,
    error: Option<&'static str>,
) -> HttpResponse {
    let lang = page.lang;
    let summary: Vec<(String, String)> = error
        .map(|k| {
            vec![(
                "purpose-equality_monitoring".to_owned(),
                lang.t(k).to_owned(),
            )]
        })
        .unwrap_or_default();
    let t = |k| lang.t(k);
    let notice = match lang {
        super::i18n::Lang::Cy if !view.notice.text_cy.trim().is_empty() => &view.notice.text_cy,
        _ => &view.notice.text_en,
    };
    let purposes = [
        (
            Purpose::EqualityMonitoring,
            "purpose_equality_monitoring",
            "purpose_equality_monitoring_hint",
        ),
        (
            Purpose::WorkplaceAdjustments,
            "purpose_workplace_adjustments",
            "purpose_workplace_adjustments_hint",
        ),
    ];
    let body = html! {
        (back_link(lang, "/"))
        div class="govuk-grid-row" {
            div class="govuk-grid-column-two-thirds" {
                (error_summary(lang, &summary))
                h1 class="govuk-heading-l" { (t("privacy")) }
                @for para in notice.split("\n\n") {
                    p class="govuk-body" { (para) }
                }
                h2 class="govuk-heading-s" { (t("lawful_basis")) }
                p class="govuk-body" { (view.notice.lawful_basis) }
                form method="post" action="/declare/privacy" novalidate {
                    (csrf_field(page, state))
                    input type="hidden" name="notice_version" value=(view.notice.version);
                    div class={ "govuk-form-group" @if error.is_some() { " govuk-form-group--error" } } {
                        fieldset class="govuk-fieldset"
                            aria-describedby={ "consent-hint" @if error.is_some() { " consent-error" } } {
                            legend class="govuk-fieldset__legend govuk-fieldset__legend--m" {
                                h2 class="govuk-fieldset__heading" { (t("consent_q")) }
                            }
                            div id="consent-hint" class="govuk-hint" { (t("consent_hint")) }
                            @if let Some(k) = error {
                                p id="consent-error" class="govuk-error-message" {
                                    span class="govuk-visually-hidden" { (t("problem")) ": " } (t(k))
                                }
                            }
                            div class="govuk-checkboxes" data-module="govuk-checkboxes" {
                                @for (purpose, label, hint) in purposes {
                                    @let id = format!("purpose-{}", purpose.as_str());
                                    div class="govuk-checkboxes__item" {
                                        input class="govuk-checkboxes__input" id=(id) name="purpose" type="checkbox"
                                            value=(purpose.as_str()) checked[granted(view, purpose)]
                                            aria-describedby={ (id) "-hint" };
                                        label class="govuk-label govuk-checkboxes__label" for=(id) { (t(label)) }
                                        div id={ (id) "-hint" } class="govuk-hint govuk-checkboxes__hint" { (t(hint)) }
                                    }
                                }
                            }
                        }
                    }
                    button type="submit" class="govuk-button" data-module="govuk-button" { (t("continue")) }
                }
            }
        }
    };
    let status = if error.is_some() {
        StatusCode::CONFLICT
    } else {
        StatusCode::OK
    };
    respond(
        page,
        status,
        layout(page, state, t("privacy"), error.is_some(), body),
    )
}

/// `POST /declare/privacy`: grants what is ticked. Declining everything stores nothing;
/// unticking equality monitoring goes through the withdrawal warning, never straight to the
/// erasure.
pub async fn submit_privacy(req: HttpRequest, state: State, body: web::Bytes) -> HttpResponse {
    let page = Page::of(&req, &state);
    let principal = signed_in!(page, state);
    let fields = match checked_form(&req, &page, &state, &body) {
        Ok(fields) => fields,
        Err(refused) => return *refused,
    };
    let current = try_page!(
        page,
        state,
        consent::get(&state.db, principal.clone(), page.request_id.clone()).await
    );
    let ticked = |p: Purpose| {
        fields
            .iter()
            .any(|(k, v)| k == "purpose" && v == p.as_str())
    };
    if granted(&current, Purpose::EqualityMonitoring) && !ticked(Purpose::EqualityMonitoring) {
        return redirect(&page, "/declare/withdraw");
    }
    let mut purposes = BTreeMap::new();
    for purpose in Purpose::ALL {
        match (ticked(purpose), granted(&current, purpose)) {
            (true, _) => {
                purposes.insert(purpose, true);
            }
            (false, true) => {
                purposes.insert(purpose, false);
            }
            (false, false) => {}
        }
    }
    if purposes.is_empty() {
        let t = |k| page.lang.t(k);
        return respond(
            &page,
            StatusCode::OK,
            simple(&page, &state, t("declined"), t("declined_lead")),
        );
    }
    let notice_version = field(&fields, "notice_version")
        .and_then(|v| v.parse().ok())
        .unwrap_or(current.notice.version);
    let change = UpdateConsents {
        notice_version,
        purposes,
    };
    let updated = consent::update(
        &state.db,
        state.sealer.clone(),
        principal,
        page.request_id.clone(),
        change,
    )
    .await;
    let view = match updated {
        Ok(view) => view,
        // The notice changed while the page was open (or the choice was refused): the form
        // again, at the current notice, with the reason in the page's language (the service's
        // own message is English, for the API).
        Err(AppError::Conflict(_)) => {
            return privacy_page(&page, &state, &current, Some("err_consent_stale"));
        }
        Err(AppError::Validation(_)) => {
            return privacy_page(&page, &state, &current, Some("err_invalid"));
        }
        Err(e) => return error_page(&page, &state, &e),
    };
    if view.may_declare {
        redirect(&page, "/declare/answers")
    } else {
        redirect(&page, "/")
    }
}

/// A posted form of answers: its fields (the CSRF check passed), the current catalogue and
/// the answers the fields carry.
struct Posted {
    fields: Vec<(String, String)>,
    catalogue: Catalogue,
    answers: AnswerSet,
}

async fn posted_answers(
    req: &HttpRequest,
    page: &Page,
    state: &State,
    body: &[u8],
    principal: &Principal,
) -> Result<Posted, Box<HttpResponse>> {
    let fields = checked_form(req, page, state, body)?;
    let catalogue = current_catalogue(state, principal)
        .await
        .map_err(|e| Box::new(error_page(page, state, &e)))?;
    let answers = form::answers_from(&catalogue, &fields);
    Ok(Posted {
        fields,
        catalogue,
        answers,
    })
}

/// What the form pages start from: the current catalogue and what is saved; or, for someone
/// who has not agreed to monitoring, the privacy notice; or the error page.
async fn saved_declaration(
    page: &Page,
    state: &State,
    principal: Principal,
) -> Result<(Catalogue, service::DeclarationView), Box<HttpResponse>> {
    let failed = |e: AppError| Box::new(error_page(page, state, &e));
    let consents = consent::get(&state.db, principal.clone(), page.request_id.clone())
        .await
        .map_err(failed)?;
    if !consents.may_declare {
        return Err(Box::new(redirect(page, "/declare/privacy")));
    }
    let catalogue = current_catalogue(state, &principal).await.map_err(failed)?;
    let view = service::read(
        &state.db,
        state.sealer.clone(),
        principal,
        page.request_id.clone(),
    )
    .await
    .map_err(failed)?;
    Ok((catalogue, view))
}

/// `GET /declare/answers`: the form, filled in with what is saved.
pub async fn answers(req: HttpRequest, state: State) -> HttpResponse {
    let page = Page::of(&req, &state);
    let principal = signed_in!(page, state);
    let (catalogue, view) = match saved_declaration(&page, &state, principal).await {
        Ok(loaded) => loaded,
        Err(response) => return *response,
    };
    form_page(
        &page,
        &state,
        &catalogue,
        &view.answers,
        view.version,
        &[],
        StatusCode::OK,
    )
}

/// `POST /declare/answers`: the form again with unsaved answers ("Change" on the check page).
pub async fn edit_answers(req: HttpRequest, state: State, body: web::Bytes) -> HttpResponse {
    let page = Page::of(&req, &state);
    let principal = signed_in!(page, state);
    let Posted {
        fields,
        catalogue,
        answers,
    } = match posted_answers(&req, &page, &state, &body, &principal).await {
        Ok(posted) => posted,
        Err(response) => return *response,
    };
    form_page(
        &page,
        &state,
        &catalogue,
        &answers,
        version_of(&fields),
        &[],
        StatusCode::OK,
    )
}

fn version_of(fields: &[(String, String)]) -> i64 {
    field(fields, "version")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn form_page(
    page: &Page,
    state: &State,
    catalogue: &Catalogue,
    answers: &AnswerSet,
    version: i64,
    errors: &[(String, String)],
    status: StatusCode,
) -> HttpResponse {
    let lang = page.lang;
    let t = |k| lang.t(k);
    let summary: Vec<(String, String)> = errors
        .iter()
        .map(|(code, message)| (format!("c-{code}"), message.clone()))
        .collect();
    let body = html! {
        (back_link(lang, "/"))
        div class="govuk-grid-row" {
            div class="govuk-grid-column-two-thirds" {
                (error_summary(lang, &summary))
                h1 class="govuk-heading-l" { (t("form_title")) }
                p class="govuk-body" { (t("form_lead")) }
                p class="govuk-body" {
                    a class="govuk-link" href="/declare/steps" { (t("one_at_a_time")) }
                }
                form method="post" action="/declare/check" novalidate {
                    (csrf_field(page, state))
                    input type="hidden" name="version" value=(version);
                    @for c in &catalogue.characteristics {
                        @let error = errors.iter().find(|(code, _)| code == &c.code).map(|(_, m)| m.as_str());
                        (form::characteristic(lang, c, answers.get(&c.code), error))
                    }
                    button type="submit" class="govuk-button" data-module="govuk-button" { (t("continue")) }
                }
            }
        }
    };
    respond(
        page,
        status,
        layout(page, state, t("form_title"), !errors.is_empty(), body),
    )
}

/// `GET /declare/steps`: the same form one question per page (the GOV.UK pattern), starting
/// at the first question with what is saved. Answers travel between steps as hidden fields in
/// POSTed forms, as they do to "check your answers": never in a URL, nothing stored before
/// the save.
pub async fn steps(req: HttpRequest, state: State) -> HttpResponse {
    let page = Page::of(&req, &state);
    let principal = signed_in!(page, state);
    let (catalogue, view) = match saved_declaration(&page, &state, principal).await {
        Ok(loaded) => loaded,
        Err(response) => return *response,
    };
    step_page(&page, &state, &catalogue, &view.answers, view.version, 0)
}

/// `POST /declare/steps`: the answer to question `step` (with the others as hidden fields),
/// then the next question (`go=next`), the one before (`go=back`), or after the last, check
/// your answers.
pub async fn submit_step(req: HttpRequest, state: State, body: web::Bytes) -> HttpResponse {
    let page = Page::of(&req, &state);
    let principal = signed_in!(page, state);
    let Posted {
        fields,
        catalogue,
        answers,
    } = match posted_answers(&req, &page, &state, &body, &principal).await {
        Ok(posted) => posted,
        Err(response) => return *response,
    };
    let version = version_of(&fields);
    let count = catalogue.characteristics.len();
    let step = field(&fields, "step")
        .and_then(|s| s.parse::<usize>().ok())
        .unwrap_or(0)
        .min(count.saturating_sub(1));
    match field(&fields, "go") {
        Some("back") if step == 0 => form_page(
            &page,
            &state,
            &catalogue,
            &answers,
            version,
            &[],
            StatusCode::OK,
        ),
        Some("back") => step_page(&page, &state, &catalogue, &answers, version, step - 1),
        _ if step + 1 >= count => check_page(&page, &state, &catalogue, &answers, version, None),
        _ => step_page(&page, &state, &catalogue, &answers, version, step + 1),
    }
}

/// Question `step` on its own, every other answer carried as hidden fields.
fn step_page(
    page: &Page,
    state: &State,
    catalogue: &Catalogue,
    answers: &AnswerSet,
    version: i64,
    step: usize,
) -> HttpResponse {
    let lang = page.lang;
    let t = |k| lang.t(k);
    let Some(c) = catalogue.characteristics.get(step) else {
        return check_page(page, state, catalogue, answers, version, None);
    };
    let mut others = answers.clone();
    others.remove(&c.code);
    let progress = t("step_of")
        .replace("{n}", &(step + 1).to_string())
        .replace("{total}", &catalogue.characteristics.len().to_string());
    let body = html! {
        div class="govuk-grid-row" {
            div class="govuk-grid-column-two-thirds" {
                span class="govuk-caption-l" { (progress) }
                h1 class="govuk-heading-l" { (lang.pick(&c.label)) }
                form method="post" action="/declare/steps" novalidate {
                    (csrf_field(page, state))
                    input type="hidden" name="version" value=(version);
                    input type="hidden" name="step" value=(step);
                    (form::hidden(&others))
                    (form::characteristic(lang, c, answers.get(&c.code), None))
                    div class="govuk-button-group" {
                        button type="submit" class="govuk-button" data-module="govuk-button"
                            name="go" value="next" { (t("continue")) }
                        button type="submit" class="govuk-button govuk-button--secondary"
                            data-module="govuk-button" name="go" value="back" { (t("back")) }
                    }
                }
            }
        }
    };
    let title = format!("{} – {}", lang.pick(&c.label), t("form_title"));
    respond(
        page,
        StatusCode::OK,
        layout(page, state, &title, false, body),
    )
}

/// `POST /declare/check`: check your answers, with "Change" and "Remove" per characteristic.
pub async fn check(req: HttpRequest, state: State, body: web::Bytes) -> HttpResponse {
    let page = Page::of(&req, &state);
    let principal = signed_in!(page, state);
    let Posted {
        fields,
        catalogue,
        mut answers,
    } = match posted_answers(&req, &page, &state, &body, &principal).await {
        Ok(posted) => posted,
        Err(response) => return *response,
    };
    if let Some(code) = field(&fields, "remove") {
        answers.remove(code);
    }
    check_page(
        &page,
        &state,
        &catalogue,
        &answers,
        version_of(&fields),
        None,
    )
}

/// The summary of unsaved answers, and the buttons that save them or go back to change them.
/// `conflict` shows the stale-save explanation above it.
fn check_page(
    page: &Page,
    state: &State,
    catalogue: &Catalogue,
    answers: &AnswerSet,
    version: i64,
    conflict: Option<()>,
) -> HttpResponse {
    let lang = page.lang;
    let t = |k| lang.t(k);
    let title = if conflict.is_some() {
        t("conflict")
    } else {
        t("check_title")
    };
    let body = html! {
        div class="govuk-grid-row" {
            div class="govuk-grid-column-two-thirds" {
                h1 class="govuk-heading-l" { (title) }
                @if conflict.is_some() {
                    div class="govuk-warning-text" {
                        span class="govuk-warning-text__icon" aria-hidden="true" { "!" }
                        strong class="govuk-warning-text__text" {
                            span class="govuk-visually-hidden" { (t("warning")) }
                            (t("conflict_lead"))
                        }
                    }
                }
                form method="post" action="/declare/save" novalidate {
                    (csrf_field(page, state))
                    input type="hidden" name="version" value=(version);
                    (form::hidden(answers))
                    dl class="govuk-summary-list" {
                        @for c in &catalogue.characteristics {
                            div class="govuk-summary-list__row" {
                                dt class="govuk-summary-list__key" { (lang.pick(&c.label)) }
                                dd class="govuk-summary-list__value" {
                                    @match answers.get(&c.code) {
                                        Some(answer) => {
                                            @for (i, line) in form::describe(lang, c, answer).iter().enumerate() {
                                                @if i == 0 { (line) } @else { br; span class="govuk-body-s" { (line) } }
                                            }
                                        }
                                        None => { span class="app-blank" { (t("not_answered")) } }
                                    }
                                }
                                dd class="govuk-summary-list__actions" {
                                    button type="submit" class="govuk-button govuk-button--secondary govuk-!-margin-bottom-1"
                                        formaction={ "/declare/answers#c-" (c.code) } {
                                        (t("change")) span class="govuk-visually-hidden" { " " (lang.pick(&c.label)) }
                                    }
                                    @if answers.contains_key(&c.code) {
                                        " "
                                        button type="submit" class="govuk-button govuk-button--warning govuk-!-margin-bottom-1"
                                            formaction="/declare/check" name="remove" value=(c.code) {
                                            (t("remove")) span class="govuk-visually-hidden" { " " (lang.pick(&c.label)) }
                                        }
                                    }
                                }
                            }
                        }
                    }
                    button type="submit" class="govuk-button" data-module="govuk-button" { (t("save")) }
                }
                @if conflict.is_some() {
                    p class="govuk-body" { a class="govuk-link" href="/declare/answers" { (t("start_again")) } }
                }
            }
        }
    };
    let status = if conflict.is_some() {
        StatusCode::CONFLICT
    } else {
        StatusCode::OK
    };
    respond(page, status, layout(page, state, title, false, body))
}

/// `POST /declare/save`: replaces the declaration if it is still at the version the form was
/// read at. Stale: the conflict page with the unsaved answers, now against the new version.
/// Refused answers: the form again with each problem beside its question.
pub async fn save(req: HttpRequest, state: State, body: web::Bytes) -> HttpResponse {
    let page = Page::of(&req, &state);
    let principal = signed_in!(page, state);
    let Posted {
        fields,
        catalogue,
        answers,
    } = match posted_answers(&req, &page, &state, &body, &principal).await {
        Ok(posted) => posted,
        Err(response) => return *response,
    };
    let version = version_of(&fields);
    let written = service::write(
        &state.db,
        state.sealer.clone(),
        principal.clone(),
        page.request_id.clone(),
        vec![version],
        Change::Replace(answers.clone()),
    )
    .await;
    match written {
        Ok(_) => redirect(&page, "/declare/saved"),
        Err(AppError::PreconditionFailed(_)) => {
            let now = try_page!(
                page,
                state,
                service::read(
                    &state.db,
                    state.sealer.clone(),
                    principal,
                    page.request_id.clone()
                )
                .await
            );
            check_page(&page, &state, &catalogue, &answers, now.version, Some(()))
        }
        Err(AppError::Validation(problems)) => {
            // Each problem beside its characteristic (`answers.<code>...`), in the page's
            // language from the problem's machine code (the service's message is English,
            // for the API), after the question's own words.
            let mut errors: Vec<(String, String)> = Vec::new();
            for p in &problems {
                let Some(code) = p
                    .field
                    .strip_prefix("answers.")
                    .and_then(|f| f.split('.').next())
                else {
                    continue;
                };
                let Some(c) = catalogue.characteristic(code) else {
                    continue;
                };
                // One message per question: the first problem found with it.
                if errors.iter().any(|(e, _)| e == code) {
                    continue;
                }
                errors.push((
                    code.to_owned(),
                    format!(
                        "{}: {}",
                        page.lang.pick(&c.label),
                        page.lang.field_error(&p.code)
                    ),
                ));
            }
            form_page(
                &page,
                &state,
                &catalogue,
                &answers,
                version,
                &errors,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
        }
        Err(AppError::Forbidden(_)) | Err(AppError::Conflict(_)) => {
            redirect(&page, "/declare/privacy")
        }
        Err(e) => error_page(&page, &state, &e),
    }
}

/// `GET /declare/saved`: the confirmation.
pub async fn saved(req: HttpRequest, state: State) -> HttpResponse {
    let page = Page::of(&req, &state);
    signed_in!(page, state);
    let t = |k| page.lang.t(k);
    let body = html! {
        div class="govuk-grid-row" {
            div class="govuk-grid-column-two-thirds" {
                div class="govuk-panel govuk-panel--confirmation" {
                    h1 class="govuk-panel__title" { (t("saved")) }
                }
                p class="govuk-body" { (t("saved_lead")) }
                ul class="govuk-list" {
                    li { a class="govuk-link" href="/declare/answers" { (t("update")) } }
                    li { a class="govuk-link" href="/declare/history" { (t("history")) } }
                    li { a class="govuk-link" href="/" { (t("home")) } }
                }
            }
        }
    };
    respond(
        &page,
        StatusCode::OK,
        layout(&page, &state, t("saved"), false, body),
    )
}

/// `GET /declare/withdraw`: the warning, and the button that erases.
pub async fn withdraw(req: HttpRequest, state: State) -> HttpResponse {
    let page = Page::of(&req, &state);
    signed_in!(page, state);
    let t = |k| page.lang.t(k);
    let body = html! {
        (back_link(page.lang, "/"))
        div class="govuk-grid-row" {
            div class="govuk-grid-column-two-thirds" {
                h1 class="govuk-heading-l" { (t("withdraw")) }
                div class="govuk-warning-text" {
                    span class="govuk-warning-text__icon" aria-hidden="true" { "!" }
                    strong class="govuk-warning-text__text" {
                        span class="govuk-visually-hidden" { (t("warning")) }
                        (t("withdraw_warning"))
                    }
                }
                form method="post" action="/declare/withdraw" {
                    (csrf_field(&page, &state))
                    button type="submit" class="govuk-button govuk-button--warning" data-module="govuk-button" {
                        (t("withdraw_confirm"))
                    }
                }
            }
        }
    };
    respond(
        &page,
        StatusCode::OK,
        layout(&page, &state, t("withdraw"), false, body),
    )
}

/// `POST /declare/withdraw`: withdraws equality monitoring, which erases the answers and their
/// history in the same transaction (the service's rule).
pub async fn submit_withdraw(req: HttpRequest, state: State, body: web::Bytes) -> HttpResponse {
    let page = Page::of(&req, &state);
    let principal = signed_in!(page, state);
    if let Err(refused) = checked_form(&req, &page, &state, &body) {
        return *refused;
    }
    let current = try_page!(
        page,
        state,
        consent::get(&state.db, principal.clone(), page.request_id.clone()).await
    );
    let change = UpdateConsents {
        notice_version: current.notice.version,
        purposes: BTreeMap::from([(Purpose::EqualityMonitoring, false)]),
    };
    try_page!(
        page,
        state,
        consent::update(
            &state.db,
            state.sealer.clone(),
            principal,
            page.request_id.clone(),
            change
        )
        .await
    );
    let t = |k| page.lang.t(k);
    respond(
        &page,
        StatusCode::OK,
        simple(&page, &state, t("withdrawn"), t("declined_lead")),
    )
}

/// `GET /declare/history`: the caller's own changes.
pub async fn history(req: HttpRequest, state: State) -> HttpResponse {
    let page = Page::of(&req, &state);
    let principal = signed_in!(page, state);
    let catalogue = try_page!(page, state, current_catalogue(&state, &principal).await);
    let entries = try_page!(
        page,
        state,
        service::history(
            &state.db,
            state.sealer.clone(),
            principal,
            page.request_id.clone()
        )
        .await
    );
    let lang = page.lang;
    let t = |k| lang.t(k);
    let body = html! {
        (back_link(lang, "/"))
        h1 class="govuk-heading-l" { (t("history")) }
        p class="govuk-body" { (t("history_lead")) }
        @if entries.is_empty() {
            p class="govuk-body" { (t("history_none")) }
        }
        @for entry in &entries {
            h2 class="govuk-heading-s" { (t("changed_at")) " " (entry.changed_at.format("%Y-%m-%d %H:%M UTC")) }
            (summary(lang, &catalogue, &entry.answers))
        }
    };
    respond(
        &page,
        StatusCode::OK,
        layout(&page, &state, t("history"), false, body),
    )
}

fn summary(lang: super::i18n::Lang, catalogue: &Catalogue, answers: &AnswerSet) -> Markup {
    html! {
        dl class="govuk-summary-list govuk-!-margin-bottom-6" {
            @for c in &catalogue.characteristics {
                div class="govuk-summary-list__row" {
                    dt class="govuk-summary-list__key" { (lang.pick(&c.label)) }
                    dd class="govuk-summary-list__value" {
                        @match answers.get(&c.code) {
                            Some(a) => { (form::describe(lang, c, a).join("; ")) }
                            None => { span class="app-blank" { (lang.t("not_answered")) } }
                        }
                    }
                }
            }
        }
    }
}

/// `GET /declare/export`: everything held about the caller, as a JSON download.
pub async fn export(req: HttpRequest, state: State) -> HttpResponse {
    let page = Page::of(&req, &state);
    let principal = signed_in!(page, state);
    let export = try_page!(
        page,
        state,
        service::export(
            &state.db,
            state.sealer.clone(),
            principal,
            page.request_id.clone()
        )
        .await
    );
    let body = try_page!(
        page,
        state,
        serde_json::to_vec_pretty(&export).map_err(AppError::internal)
    );
    HttpResponse::Ok()
        .content_type("application/json")
        .insert_header((
            header::CONTENT_DISPOSITION,
            "attachment; filename=\"declare-export.json\"",
        ))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(body)
}
