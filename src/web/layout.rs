//! The page template: GOV.UK Frontend's page structure, the service's header with the language
//! toggle and sign-out, and small shared pieces (error summary, CSRF field, back link).

use maud::{html, Markup, DOCTYPE};

use crate::http::state::AppState;

use super::i18n::Lang;
use super::session::Page;

/// A whole page around `content`. `title` is the page's `<h1>` text too; `errors` prefixes the
/// title with "Error:" as the Design System asks.
pub fn page(
    page: &Page,
    state: &AppState,
    title: &str,
    has_errors: bool,
    content: Markup,
) -> Markup {
    let lang = page.lang;
    let other = lang.other();
    let error_prefix = match (has_errors, lang) {
        (false, _) => "",
        (true, Lang::En) => "Error: ",
        (true, Lang::Cy) => "Gwall: ",
    };
    html! {
        (DOCTYPE)
        html lang=(lang.code()) class="govuk-template" {
            head {
                meta charset="utf-8";
                title { (error_prefix) (title) " – " (lang.t("service")) }
                meta name="viewport" content="width=device-width, initial-scale=1, viewport-fit=cover";
                meta name="theme-color" content="#1d70b8";
                link rel="icon" href="/assets/favicon.ico";
                link rel="stylesheet" href="/assets/govuk-frontend.min.css";
                link rel="stylesheet" href="/assets/declare.css";
            }
            body class="govuk-template__body" {
                a href="#main-content" class="govuk-skip-link" data-module="govuk-skip-link" { (lang.t("skip")) }
                header class="govuk-header" data-module="govuk-header" {
                    div class="govuk-header__container govuk-width-container" {
                        div class="govuk-header__logo" {
                            a href="/" class="govuk-header__link govuk-header__link--homepage" {
                                span class="govuk-header__product-name" { (lang.t("service")) }
                            }
                        }
                    }
                }
                div class="govuk-width-container" {
                    nav class="govuk-!-margin-top-3" aria-label=(match lang { Lang::En => "Language and account", Lang::Cy => "Iaith a chyfrif" }) {
                        ul class="govuk-list govuk-!-margin-bottom-0" {
                            li class="govuk-!-display-inline-block govuk-!-margin-right-4" {
                                a class="govuk-link" lang=(other.code()) hreflang=(other.code())
                                    href={ "/language?to=" (other.code()) "&back=" (return_path(&page.path)) } {
                                    (other.t("lang_name"))
                                    span class="govuk-visually-hidden" { " – " (lang.t("lang_switch")) }
                                }
                            }
                            @if page.principal.is_some() {
                                li class="govuk-!-display-inline-block" {
                                    form method="post" action="/sign-out" class="govuk-!-display-inline" {
                                        (csrf_field(page, state))
                                        button type="submit" class="govuk-button govuk-button--secondary govuk-!-margin-bottom-0" data-module="govuk-button" {
                                            (lang.t("sign_out"))
                                        }
                                    }
                                }
                            }
                        }
                    }
                    main class="govuk-main-wrapper" id="main-content" {
                        (content)
                    }
                }
                footer class="govuk-footer" {
                    div class="govuk-width-container" {
                        div class="govuk-footer__meta" {
                            div class="govuk-footer__meta-item govuk-footer__meta-item--grow" {
                                p class="govuk-body-s govuk-!-margin-bottom-0" {
                                    (lang.t("service")) " – GOV.UK Frontend"
                                }
                            }
                        }
                    }
                }
                script type="module" src="/assets/declare.js" {}
            }
        }
    }
}

/// Where the language toggle comes back to: the page's own path if it has a GET (never the
/// target of a POST, and never anything but a path).
fn return_path(path: &str) -> &str {
    match path {
        "/declare/check" | "/declare/save" => "/declare/answers",
        "/sign-out" => "/",
        p if p.starts_with('/') => p,
        _ => "/",
    }
}

/// A page of a heading and a paragraph.
pub fn simple(p: &Page, state: &AppState, title: &str, lead: &str) -> Markup {
    page(
        p,
        state,
        title,
        false,
        html! {
            h1 class="govuk-heading-l" { (title) }
            p class="govuk-body" { (lead) }
            p class="govuk-body" { a class="govuk-link" href="/" { (p.lang.t("home")) } }
        },
    )
}

/// The hidden CSRF field every form carries.
pub fn csrf_field(page: &Page, state: &AppState) -> Markup {
    html! { input type="hidden" name="csrf" value=(page.csrf_token(state)); }
}

/// The Design System's error summary: each message links to its field.
pub fn error_summary(lang: Lang, errors: &[(String, String)]) -> Markup {
    html! {
        @if !errors.is_empty() {
            div class="govuk-error-summary" data-module="govuk-error-summary" {
                div role="alert" {
                    h2 class="govuk-error-summary__title" { (lang.t("problem")) }
                    div class="govuk-error-summary__body" {
                        ul class="govuk-list govuk-error-summary__list" {
                            @for (anchor, message) in errors {
                                li { a href={ "#" (anchor) } { (message) } }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// A back link (a plain link, so it works without JavaScript).
pub fn back_link(lang: Lang, to: &str) -> Markup {
    html! { a href=(to) class="govuk-back-link" { (lang.t("back")) } }
}
