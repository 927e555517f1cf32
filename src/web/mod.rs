//! Server-rendered pages on GOV.UK Frontend, in English and Welsh (decision 0025).
//!
//! Handlers here are as thin as the API's: read the session, call the same services the API
//! handlers call, render. They never touch SQL and never log an answer. Every page works with
//! JavaScript off; personal data never goes in a URL; every form carries a CSRF token; every
//! page is `Cache-Control: no-store` and served with a CSP that allows no inline script or
//! style, and no framing. Pages are not part of the API, so they stay out of `openapi.yaml`.

pub mod assets;
pub mod dashboard;
pub mod fields;
pub mod form;
pub mod hr;
pub mod i18n;
pub mod layout;
pub mod oidc;
pub mod respond;
pub mod session;
pub mod signin;
pub mod staff;

use actix_web::{web, HttpRequest, HttpResponse};

use respond::redirect;
use session::{Page, State};

/// The pages' routes, added to the app beside the API's.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(staff::home))
        .route("/sign-in", web::get().to(signin::show))
        .route("/sign-in", web::post().to(signin::submit))
        .route("/sign-out", web::post().to(signin::sign_out))
        .route("/signed-out", web::get().to(signin::signed_out))
        .route("/sign-in/idp", web::get().to(oidc::start))
        .route(oidc::CALLBACK_PATH, web::get().to(oidc::callback))
        .route("/language", web::get().to(switch_language))
        .route("/assets/{file}", web::get().to(assets::serve))
        .route("/assets/images/{file}", web::get().to(assets::serve))
        .route("/declare/privacy", web::get().to(staff::privacy))
        .route("/declare/privacy", web::post().to(staff::submit_privacy))
        .route("/declare/answers", web::get().to(staff::answers))
        .route("/declare/answers", web::post().to(staff::edit_answers))
        .route("/declare/steps", web::get().to(staff::steps))
        .route("/declare/steps", web::post().to(staff::submit_step))
        .route("/declare/check", web::post().to(staff::check))
        .route("/declare/save", web::post().to(staff::save))
        .route("/declare/saved", web::get().to(staff::saved))
        .route("/declare/withdraw", web::get().to(staff::withdraw))
        .route("/declare/withdraw", web::post().to(staff::submit_withdraw))
        .route("/declare/history", web::get().to(staff::history))
        .route("/declare/export", web::get().to(staff::export))
        .route("/hr/reviews", web::get().to(hr::reviews))
        .route("/hr/reviews.csv", web::get().to(hr::reviews_csv))
        .route("/dashboard", web::get().to(dashboard::show))
        .route(
            "/dashboard/completion.csv",
            web::get().to(dashboard::completion_csv),
        )
        .route(
            "/dashboard/distribution.csv",
            web::get().to(dashboard::distribution_csv),
        )
        .route("/dashboard/trend.csv", web::get().to(dashboard::trend_csv));
}

/// `GET /language?to=cy&back=/declare/answers`: sets the language cookie and goes back. The
/// return path must be one of ours (a path, never another site).
async fn switch_language(req: HttpRequest, state: State) -> HttpResponse {
    let page = Page::of(&req, &state);
    let query = fields::query_fields(&req);
    let get = |name: &str| fields::field(&query, name);
    let lang = get("to")
        .and_then(i18n::Lang::parse)
        .unwrap_or(i18n::Lang::En);
    let back = get("back")
        .filter(|b| b.starts_with('/') && !b.starts_with("//") && !b.contains('\\'))
        .unwrap_or("/");
    let mut response = redirect(&page, back);
    let cookie = page.cookie(
        session::LANG_COOKIE,
        lang.code().to_owned(),
        Some(actix_web::cookie::time::Duration::days(365)),
    );
    if let Err(e) = response.add_cookie(&cookie) {
        tracing::warn!(error = %e, "language cookie not set");
    }
    response
}
