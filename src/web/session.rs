//! The pages' session and CSRF protection (decision 0025).
//!
//! The session cookie holds the access token `/oauth/token` would issue for the same sign-in:
//! signed by the service's key, verified on every request exactly as a bearer token is, and
//! expiring with it. Nothing about a session is stored server-side, so several instances serve
//! pages as they serve the API.
//!
//! CSRF: a random `declare_csrf` cookie, and on every form a token that is an HMAC (under a key
//! derived from the token-signing key) of that cookie and the session cookie. A forged form
//! from another site knows neither cookie, and a token from before sign-in or from another
//! session does not verify. `SameSite=Lax` and an `Origin` check are further layers.

use actix_web::cookie::{time::Duration as CookieDuration, Cookie, SameSite};
use actix_web::http::header;
use actix_web::{web, HttpMessage as _, HttpRequest};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::auth::Principal;
use crate::http::state::AppState;

use super::i18n::Lang;

pub const SESSION_COOKIE: &str = "declare_session";
pub const CSRF_COOKIE: &str = "declare_csrf";
pub const LANG_COOKIE: &str = "declare_lang";

type HmacSha256 = Hmac<Sha256>;

/// What every page handler knows about the request before it starts.
pub struct Page {
    pub lang: Lang,
    pub principal: Option<Principal>,
    /// The CSRF cookie's value; new (and set on the response) when the request had none.
    csrf_cookie: String,
    new_csrf_cookie: bool,
    session: Option<String>,
    pub secure: bool,
    pub path: String,
    pub request_id: Option<String>,
    /// The identity provider's origin when signing out of a provider session redirects to its
    /// `end_session_endpoint` (the pages' CSP then lets the sign-out form go there).
    pub sign_out_origin: Option<String>,
}

impl Page {
    pub fn of(req: &HttpRequest, state: &AppState) -> Page {
        let lang = req
            .cookie(LANG_COOKIE)
            .and_then(|c| Lang::parse(c.value()))
            .unwrap_or(Lang::En);
        let session = req.cookie(SESSION_COOKIE).map(|c| c.value().to_owned());
        let principal = session.as_deref().and_then(|token| {
            state
                .auth
                .verify(token)
                .map_err(|e| tracing::info!(reason = ?e, "session cookie rejected"))
                .ok()
        });
        let (csrf_cookie, new_csrf_cookie) = match req.cookie(CSRF_COOKIE) {
            Some(c) if c.value().len() >= 32 => (c.value().to_owned(), false),
            _ => (random_token(), true),
        };
        let mut page = Page {
            lang,
            // A session that no longer verifies is no session: its CSRF tokens die with it.
            session: principal.as_ref().and(session),
            principal,
            csrf_cookie,
            new_csrf_cookie,
            secure: secure_cookies(req, state),
            path: req.path().to_owned(),
            request_id: req
                .extensions()
                .get::<crate::http::middleware::RequestId>()
                .map(|r| r.0.clone()),
            sign_out_origin: None,
        };
        page.sign_out_origin = end_session_origin(&page, state);
        page
    }

    /// The token every form on this page carries.
    pub fn csrf_token(&self, state: &AppState) -> String {
        csrf_token(state, &self.csrf_cookie, self.session.as_deref())
    }

    /// Whether a submitted form's token belongs to this browser and this session.
    pub fn csrf_ok(&self, state: &AppState, submitted: Option<&str>) -> bool {
        if self.new_csrf_cookie {
            return false;
        }
        let Some(submitted) = submitted.and_then(|s| hex::decode(s).ok()) else {
            return false;
        };
        csrf_mac(state, &self.csrf_cookie, self.session.as_deref())
            .is_some_and(|mac| mac.verify_slice(&submitted).is_ok())
    }

    /// The cookies a response must set: the CSRF cookie when it is new.
    pub fn cookies(&self) -> Vec<Cookie<'static>> {
        if self.new_csrf_cookie {
            vec![self.cookie(CSRF_COOKIE, self.csrf_cookie.clone(), None)]
        } else {
            Vec::new()
        }
    }

    /// A cookie with the pages' flags: HttpOnly, SameSite=Lax, Path=/, Secure (see
    /// [`secure_cookies`]).
    pub fn cookie(
        &self,
        name: &'static str,
        value: String,
        max_age: Option<CookieDuration>,
    ) -> Cookie<'static> {
        let mut cookie = Cookie::build(name, value)
            .path("/")
            .http_only(true)
            .same_site(SameSite::Lax)
            .secure(self.secure)
            .finish();
        if let Some(age) = max_age {
            cookie.set_max_age(age);
        }
        cookie
    }

    /// A cookie that removes `name`.
    pub fn removal(&self, name: &'static str) -> Cookie<'static> {
        let mut cookie = self.cookie(name, String::new(), None);
        cookie.make_removal();
        cookie
    }

    /// The CSRF cookie and token to use after signing in with `session`, so the next page's
    /// forms verify against the new session.
    pub fn signed_in(&mut self, session: String) {
        self.session = Some(session);
    }
}

/// The MAC over a CSRF cookie and a session. `None` cannot happen (HMAC takes keys of any
/// length); callers treat it as a failed check rather than panic.
fn csrf_mac(state: &AppState, cookie: &str, session: Option<&str>) -> Option<HmacSha256> {
    // A key of its own, derived from the token-signing key, so a CSRF token is never
    // anything the token service would accept and rotating the signing key rotates it too.
    let mut derive =
        <HmacSha256 as Mac>::new_from_slice(&state.config.token_signing_key.bytes()).ok()?;
    derive.update(b"declare web csrf v1");
    let key = derive.finalize().into_bytes();
    let mut mac = <HmacSha256 as Mac>::new_from_slice(&key).ok()?;
    mac.update(cookie.as_bytes());
    mac.update(b"\0");
    mac.update(session.unwrap_or("").as_bytes());
    Some(mac)
}

fn csrf_token(state: &AppState, cookie: &str, session: Option<&str>) -> String {
    csrf_mac(state, cookie, session)
        .map(|mac| hex::encode(mac.finalize().into_bytes()))
        .unwrap_or_default()
}

fn random_token() -> String {
    use rand::RngCore as _;
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// Cookies are `Secure` except in local development: when the service listens on a loopback
/// address and the browser reached it by a loopback name over plain HTTP (`cargo run`, then
/// http://127.0.0.1:8080/), where a `Secure` cookie would never come back. A service reachable
/// from anywhere else always sets `Secure`, so its cookies only travel over HTTPS.
fn secure_cookies(req: &HttpRequest, state: &AppState) -> bool {
    if !state.config.listen.ip().is_loopback() {
        return true;
    }
    let forwarded_https = req
        .headers()
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("https"));
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let host = host.rsplit_once(':').map_or(host, |(h, port)| {
        if port.chars().all(|c| c.is_ascii_digit()) {
            h
        } else {
            host
        }
    });
    let loopback_host = matches!(host, "127.0.0.1" | "localhost" | "[::1]");
    forwarded_https || !loopback_host
}

/// A form POST from another origin is refused even before the token is checked (browsers
/// send `Origin` on every cross-origin POST; the pages' `Referrer-Policy: same-origin` keeps it
/// a real origin rather than `null` on our own forms).
pub fn same_origin(req: &HttpRequest) -> bool {
    let Some(origin) = req
        .headers()
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
    else {
        return true;
    };
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    origin
        .split_once("://")
        .is_some_and(|(_, rest)| rest.eq_ignore_ascii_case(host))
}

pub type State = web::Data<AppState>;

/// The provider's `end_session_endpoint`, when this page's session came from the provider
/// (a Declare-account session has nothing to end there) and the provider names one.
pub fn end_session_endpoint(page: &Page, state: &AppState) -> Option<reqwest::Url> {
    state.config.idp_client.as_ref()?;
    let external = state.auth.external.as_ref()?;
    let principal = page.principal.as_ref()?;
    if principal.kind != crate::auth::PrincipalKind::External {
        return None;
    }
    let discovery = external.keys.discovery()?;
    crate::fetch_url::check_fetch_url(discovery.end_session_endpoint.as_deref()?).ok()
}

/// The origin of [`end_session_endpoint`], for the CSP's `form-action`.
pub fn end_session_origin(page: &Page, state: &AppState) -> Option<String> {
    let origin = end_session_endpoint(page, state)?.origin();
    origin.is_tuple().then(|| origin.ascii_serialization())
}
