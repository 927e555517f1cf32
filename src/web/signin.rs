//! Sign in with a Declare account, through the same password check and throttle as
//! `POST /oauth/token`; sign out. Single sign-on through the force's identity provider (OIDC
//! authorization code with PKCE, `oidc.rs`) is a second way in on the same page.

use actix_web::cookie::time::Duration as CookieDuration;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use maud::html;
use secrecy::SecretString;

use crate::error::AppError;
use crate::services::identity;

use super::fields::{checked_form, field};
use super::layout::{csrf_field, error_summary, page as layout};
use super::respond::{error_page, html, redirect};
use super::session::{Page, State, SESSION_COOKIE};

/// `GET /sign-in`.
pub async fn show(req: HttpRequest, state: State) -> HttpResponse {
    let page = Page::of(&req, &state);
    if page.principal.is_some() {
        return redirect(&page, "/");
    }
    render(&page, &state, "", Vec::new(), StatusCode::OK)
}

fn render(
    page: &Page,
    state: &State,
    username: &str,
    errors: Vec<(String, String)>,
    status: StatusCode,
) -> HttpResponse {
    let t = |k| page.lang.t(k);
    let error_for = |anchor: &str| {
        errors
            .iter()
            .find(|(a, _)| a == anchor)
            .map(|(_, m)| m.clone())
    };
    let (user_error, pass_error) = (error_for("username"), error_for("password"));
    let body = html! {
        div class="govuk-grid-row" {
            div class="govuk-grid-column-two-thirds" {
                (error_summary(page.lang, &errors))
                h1 class="govuk-heading-l" { (t("sign_in")) }
                p class="govuk-body" { (t("sign_in_lead")) }
                h2 class="govuk-heading-m" { (t("sign_in_account")) }
                form method="post" action="/sign-in" novalidate {
                    (csrf_field(page, state))
                    div class={ "govuk-form-group" @if user_error.is_some() { " govuk-form-group--error" } } {
                        label class="govuk-label" for="username" { (t("username")) }
                        @if let Some(m) = &user_error {
                            p id="username-error" class="govuk-error-message" {
                                span class="govuk-visually-hidden" { (t("problem")) ": " } (m)
                            }
                        }
                        input class={ "govuk-input govuk-!-width-two-thirds" @if user_error.is_some() { " govuk-input--error" } }
                            id="username" name="username" type="text" autocomplete="username"
                            spellcheck="false" autocapitalize="none" value=(username)
                            aria-describedby=[user_error.as_ref().map(|_| "username-error")];
                    }
                    div class={ "govuk-form-group" @if pass_error.is_some() { " govuk-form-group--error" } } {
                        label class="govuk-label" for="password" { (t("password")) }
                        @if let Some(m) = &pass_error {
                            p id="password-error" class="govuk-error-message" {
                                span class="govuk-visually-hidden" { (t("problem")) ": " } (m)
                            }
                        }
                        input class={ "govuk-input govuk-!-width-two-thirds" @if pass_error.is_some() { " govuk-input--error" } }
                            id="password" name="password" type="password" autocomplete="current-password"
                            aria-describedby=[pass_error.as_ref().map(|_| "password-error")];
                    }
                    button type="submit" class="govuk-button" data-module="govuk-button" { (t("sign_in")) }
                }
                @if super::oidc::offered(state) {
                    h2 class="govuk-heading-m" { (t("sign_in_idp")) }
                    a href="/sign-in/idp" role="button" draggable="false"
                        class="govuk-button govuk-button--secondary" data-module="govuk-button" {
                        (t("sign_in_idp"))
                        @if let Some(force) = super::oidc::force_name(state) { " (" (force) ")" }
                    }
                } @else {
                    p class="govuk-body govuk-hint" { (t("sign_in_idp_later")) }
                }
            }
        }
    };
    html(
        page,
        status,
        layout(page, state, t("sign_in"), !errors.is_empty(), body),
    )
}

/// `POST /sign-in`: the password grant, then the token in the session cookie.
pub async fn submit(req: HttpRequest, state: State, body: web::Bytes) -> HttpResponse {
    let mut page = Page::of(&req, &state);
    let fields = match checked_form(&req, &page, &state, &body) {
        Ok(fields) => fields,
        Err(refused) => return *refused,
    };
    let t = |k| page.lang.t(k);
    let username = field(&fields, "username").unwrap_or("").trim().to_owned();
    let password = field(&fields, "password").unwrap_or("").to_owned();
    let mut errors = Vec::new();
    if username.is_empty() {
        errors.push(("username".to_owned(), t("enter_username").to_owned()));
    }
    if password.is_empty() {
        errors.push(("password".to_owned(), t("enter_password").to_owned()));
    }
    if !errors.is_empty() {
        return render(
            &page,
            &state,
            &username,
            errors,
            StatusCode::UNPROCESSABLE_ENTITY,
        );
    }
    // The connecting address, as the token endpoint throttles by (never a forwarded header).
    let address = req
        .peer_addr()
        .map(|a| a.ip().to_string())
        .unwrap_or_default();
    let granted = identity::password_grant(
        &state.db,
        &state.auth,
        username.clone(),
        SecretString::from(password),
        address,
    )
    .await;
    match granted {
        Ok(token) => {
            page.signed_in(token.access_token.clone());
            let mut response = redirect(&page, "/");
            let age = i64::try_from(token.expires_in).unwrap_or(i64::MAX);
            let cookie = page.cookie(
                SESSION_COOKIE,
                token.access_token,
                Some(CookieDuration::seconds(age)),
            );
            if let Err(e) = response.add_cookie(&cookie) {
                return error_page(&page, &state, &AppError::internal(e));
            }
            response
        }
        Err(AppError::TooManyRequests { .. }) | Err(AppError::OAuth { status: 429, .. }) => {
            let errors = vec![("username".to_owned(), t("sign_in_throttled").to_owned())];
            render(
                &page,
                &state,
                &username,
                errors,
                StatusCode::TOO_MANY_REQUESTS,
            )
        }
        Err(AppError::OAuth { status: 400, .. }) => {
            let errors = vec![("username".to_owned(), t("sign_in_wrong").to_owned())];
            render(
                &page,
                &state,
                &username,
                errors,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
        }
        Err(e) => error_page(&page, &state, &e),
    }
}

/// `POST /sign-out`: the session cookie goes. (The token itself lives out its short life;
/// it was never anywhere but this browser's cookie.) A session from the force's identity
/// provider is also ended there when its discovery document names an `end_session_endpoint`
/// (OpenID Connect RP-Initiated Logout, decision 0029): the browser goes on to it with
/// `client_id` and `post_logout_redirect_uri` (never the ID token), and comes back to
/// `/signed-out`. Otherwise, back to the sign-in page.
pub async fn sign_out(req: HttpRequest, state: State, body: web::Bytes) -> HttpResponse {
    let page = Page::of(&req, &state);
    if let Err(refused) = checked_form(&req, &page, &state, &body) {
        return *refused;
    }
    let at_provider = super::oidc::end_session_url(&req, &page, &state);
    let mut response = redirect(&page, at_provider.as_deref().unwrap_or("/sign-in"));
    if let Err(e) = response.add_cookie(&page.removal(SESSION_COOKIE)) {
        tracing::warn!(error = %e, "session cookie not removed");
    }
    response
}

/// `GET /signed-out`: where the identity provider sends the browser back after signing out.
pub async fn signed_out(req: HttpRequest, state: State) -> HttpResponse {
    let page = Page::of(&req, &state);
    let t = |k| page.lang.t(k);
    let body = html! {
        div class="govuk-grid-row" {
            div class="govuk-grid-column-two-thirds" {
                h1 class="govuk-heading-l" { (t("signed_out_title")) }
                p class="govuk-body" { (t("signed_out_lead")) }
                p class="govuk-body" { a class="govuk-link" href="/sign-in" { (t("sign_in_again")) } }
            }
        }
    };
    html(
        &page,
        StatusCode::OK,
        layout(&page, &state, t("signed_out_title"), false, body),
    )
}
