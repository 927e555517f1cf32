//! Sign in through the force's identity provider: OpenID Connect authorization code with PKCE
//! (S256), decision 0029.
//!
//! `GET /sign-in/idp` sends the browser to the provider's `authorization_endpoint` with a fresh
//! `state`, `nonce` and code challenge; the three (and the verifier) travel in a short-lived
//! cookie signed like the CSRF token, so several instances need no shared store. The callback
//! checks `state`, exchanges the code (with the verifier) at `token_endpoint`, verifies the ID
//! token exactly as the API verifies the provider's tokens (issuer, audience, keys) and then its
//! `nonce`, and puts the ID token in the session cookie: the session is then what a bearer token
//! from the provider is to the API, mapped to the employee by the same identity link
//! (decision 0017). The flow cookie goes at the callback, whatever the outcome, so a callback
//! cannot be replayed in this browser; the provider refuses a code used twice.
//!
//! Never logged: the code, the tokens, the verifier, the nonce, the state.

use std::time::Duration;

use actix_web::cookie::time::Duration as CookieDuration;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::fetch_url::check_fetch_url;
use crate::http::state::AppState;
use crate::services::audit;

use super::fields::{field, query_fields};
use super::layout;
use super::respond::{error_page, html, redirect};
use super::session::{Page, State, SESSION_COOKIE};

pub const FLOW_COOKIE: &str = "declare_oidc";
/// How long a browser may spend at the provider before the flow must start again.
const FLOW_SECONDS: i64 = 600;
const TOKEN_TIMEOUT: Duration = Duration::from_secs(10);
pub const CALLBACK_PATH: &str = "/sign-in/idp/callback";
/// Where the provider sends the browser back after signing out there.
pub const SIGNED_OUT_PATH: &str = "/signed-out";

type HmacSha256 = Hmac<Sha256>;

/// What the flow cookie carries between the redirect out and the callback.
#[derive(Serialize, Deserialize)]
struct Flow {
    state: String,
    nonce: String,
    verifier: String,
    redirect_uri: String,
    expires: i64,
}

/// Whether the sign-in page offers the provider.
pub fn offered(state: &AppState) -> bool {
    state.config.idp_client.is_some() && state.auth.external.is_some()
}

/// The organisation's name on the button: the configured organisation code.
pub fn force_name(state: &AppState) -> Option<String> {
    state
        .config
        .external_idp
        .as_ref()
        .map(|idp| idp.organisation.clone())
}

/// `GET /sign-in/idp`: off to the provider.
pub async fn start(req: HttpRequest, state: State) -> HttpResponse {
    let page = Page::of(&req, &state);
    let (Some(client), Some(external)) = (&state.config.idp_client, &state.auth.external) else {
        return refused(&page, &state, "not_configured", StatusCode::NOT_FOUND).await;
    };
    let Some(discovery) = external.keys.discovery() else {
        // Keys not fetched yet (the provider was down at start).
        return refused(
            &page,
            &state,
            "no_discovery",
            StatusCode::SERVICE_UNAVAILABLE,
        )
        .await;
    };
    let Ok(mut target) = check_fetch_url(&discovery.authorization_endpoint) else {
        return refused(&page, &state, "bad_endpoint", StatusCode::BAD_GATEWAY).await;
    };
    let flow = Flow {
        state: random(),
        nonce: random(),
        verifier: random(),
        redirect_uri: redirect_uri(&req, &page, client.redirect_uri.as_deref()),
        expires: chrono::Utc::now().timestamp() + FLOW_SECONDS,
    };
    let challenge = B64URL.encode(Sha256::digest(flow.verifier.as_bytes()));
    target
        .query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", &client.client_id)
        .append_pair("redirect_uri", &flow.redirect_uri)
        .append_pair("scope", "openid")
        .append_pair("state", &flow.state)
        .append_pair("nonce", &flow.nonce)
        .append_pair("code_challenge", &challenge)
        .append_pair("code_challenge_method", "S256");
    let Some(sealed) = seal(&state, &flow) else {
        return refused(&page, &state, "seal", StatusCode::INTERNAL_SERVER_ERROR).await;
    };
    let mut response = redirect(&page, target.as_str());
    let cookie = page.cookie(
        FLOW_COOKIE,
        sealed,
        Some(CookieDuration::seconds(FLOW_SECONDS)),
    );
    if response.add_cookie(&cookie).is_err() {
        return refused(&page, &state, "cookie", StatusCode::INTERNAL_SERVER_ERROR).await;
    }
    response
}

/// `GET /sign-in/idp/callback?code=…&state=…` (or `?error=…`).
pub async fn callback(req: HttpRequest, state: State) -> HttpResponse {
    let mut page = Page::of(&req, &state);
    let outcome = finish(&req, &state).await;
    let mut response = match outcome {
        Ok(id_token) => {
            page.signed_in(id_token.clone());
            let principal = state.auth.verify(&id_token).ok();
            if let Some(principal) = &principal {
                let event =
                    audit::Actor::of(principal, page.request_id.clone()).event("auth.login", None);
                if let Err(e) = audit::record(&state.db, event).await {
                    return error_page(&page, &state, &e);
                }
            }
            let mut response = redirect(&page, "/");
            // A browser-session cookie: the ID token's own expiry ends the session sooner.
            let cookie = page.cookie(SESSION_COOKIE, id_token, None);
            if response.add_cookie(&cookie).is_err() {
                return refused(&page, &state, "cookie", StatusCode::INTERNAL_SERVER_ERROR).await;
            }
            response
        }
        Err((reason, status)) => refused(&page, &state, reason, status).await,
    };
    // One callback per flow, whatever its outcome.
    if let Err(e) = response.add_cookie(&page.removal(FLOW_COOKIE)) {
        tracing::warn!(error = %e, "sign-in flow cookie not removed");
    }
    response
}

type Refusal = (&'static str, StatusCode);

/// The checks and the code exchange; the ID token, or why not (a word for the log).
async fn finish(req: &HttpRequest, state: &AppState) -> Result<String, Refusal> {
    let (Some(client), Some(external)) = (&state.config.idp_client, &state.auth.external) else {
        return Err(("not_configured", StatusCode::NOT_FOUND));
    };
    let query = query_fields(req);
    let get = |name: &str| field(&query, name);
    let flow = req
        .cookie(FLOW_COOKIE)
        .and_then(|c| open(state, c.value()))
        .ok_or(("no_flow", StatusCode::BAD_REQUEST))?;
    if flow.expires < chrono::Utc::now().timestamp() {
        return Err(("expired", StatusCode::BAD_REQUEST));
    }
    if !get("state").is_some_and(|s| constant_eq(s, &flow.state)) {
        return Err(("bad_state", StatusCode::BAD_REQUEST));
    }
    if get("error").is_some() {
        // The person said no at the provider, or it refused them.
        return Err(("denied", StatusCode::FORBIDDEN));
    }
    let code = get("code").ok_or(("no_code", StatusCode::BAD_REQUEST))?;
    let discovery = external
        .keys
        .discovery()
        .ok_or(("no_discovery", StatusCode::SERVICE_UNAVAILABLE))?;
    let endpoint = discovery
        .token_endpoint
        .as_deref()
        .and_then(|e| check_fetch_url(e).ok())
        .ok_or(("bad_endpoint", StatusCode::BAD_GATEWAY))?;
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", flow.redirect_uri.as_str()),
        ("client_id", client.client_id.as_str()),
        ("code_verifier", flow.verifier.as_str()),
    ];
    let secret = client
        .client_secret
        .as_ref()
        .map(|s| secrecy::ExposeSecret::expose_secret(s).to_owned());
    if let Some(secret) = &secret {
        form.push(("client_secret", secret.as_str()));
    }
    let http = reqwest::Client::builder()
        .timeout(TOKEN_TIMEOUT)
        // The token endpoint answers directly; a redirect would resend the code elsewhere.
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(0)
        .build()
        .map_err(|_| ("client", StatusCode::INTERNAL_SERVER_ERROR))?;
    let answer = http
        .post(endpoint)
        .form(&form)
        .send()
        .await
        .map_err(|_| ("token_unreachable", StatusCode::BAD_GATEWAY))?;
    if !answer.status().is_success() {
        return Err(("token_refused", StatusCode::BAD_GATEWAY));
    }
    #[derive(Deserialize)]
    struct TokenAnswer {
        id_token: String,
    }
    let tokens: TokenAnswer = answer
        .json()
        .await
        .map_err(|_| ("token_answer", StatusCode::BAD_GATEWAY))?;
    external
        .keys
        .verify_refreshing(&tokens.id_token)
        .await
        .map_err(|_| ("id_token_invalid", StatusCode::BAD_GATEWAY))?;
    let nonce = crate::auth::peek_claim(&tokens.id_token, "nonce");
    if !nonce.is_some_and(|n| constant_eq(&n, &flow.nonce)) {
        return Err(("bad_nonce", StatusCode::BAD_GATEWAY));
    }
    Ok(tokens.id_token)
}

/// Where signing out sends the browser when this session came from the provider and the
/// provider ends sessions (`end_session_endpoint`): that endpoint with `client_id` and
/// `post_logout_redirect_uri` (this service's `/signed-out`). Not `id_token_hint`: the ID
/// token is this session and a bearer token the API accepts until it expires, and a URL ends
/// up in the browser's history and the provider's logs (decision 0029). `None`: sign out here
/// only.
pub fn end_session_url(req: &HttpRequest, page: &Page, state: &AppState) -> Option<String> {
    let client = state.config.idp_client.as_ref()?;
    let mut target = super::session::end_session_endpoint(page, state)?;
    let callback = redirect_uri(req, page, client.redirect_uri.as_deref());
    let back = match callback.strip_suffix(CALLBACK_PATH) {
        Some(origin) => format!("{origin}{SIGNED_OUT_PATH}"),
        None => {
            let scheme = if page.secure { "https" } else { "http" };
            format!(
                "{scheme}://{}{SIGNED_OUT_PATH}",
                req.connection_info().host()
            )
        }
    };
    target
        .query_pairs_mut()
        .append_pair("client_id", &client.client_id)
        .append_pair("post_logout_redirect_uri", &back);
    Some(target.to_string())
}

/// The refusal page, logged and audited like a refused login (the reason only).
async fn refused(
    page: &Page,
    state: &AppState,
    reason: &'static str,
    status: StatusCode,
) -> HttpResponse {
    tracing::info!(reason, "single sign-on refused");
    let event = audit::Actor::system("sign-in").event("auth.sso_refused", Some(reason.to_owned()));
    if let Err(e) = audit::record(&state.db, event).await {
        tracing::warn!(error = %e, "refused single sign-on not audited");
    }
    let body = layout::simple(
        page,
        state,
        page.lang.t("sso_failed_title"),
        page.lang.t("sso_failed_lead"),
    );
    html(page, status, body)
}

/// The configured redirect URI, or this service's callback on the host the browser used.
fn redirect_uri(req: &HttpRequest, page: &Page, configured: Option<&str>) -> String {
    if let Some(uri) = configured {
        return uri.to_owned();
    }
    let info = req.connection_info();
    let scheme = if page.secure { "https" } else { "http" };
    format!("{scheme}://{}{CALLBACK_PATH}", info.host())
}

fn random() -> String {
    use rand::RngCore as _;
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    B64URL.encode(bytes)
}

fn constant_eq(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// A key of its own, derived from the token-signing key (as the CSRF key is).
fn flow_mac(state: &AppState) -> Option<HmacSha256> {
    let mut derive =
        <HmacSha256 as Mac>::new_from_slice(&state.config.token_signing_key.bytes()).ok()?;
    derive.update(b"declare web oidc flow v1");
    let key = derive.finalize().into_bytes();
    <HmacSha256 as Mac>::new_from_slice(&key).ok()
}

/// `payload.mac`, both base64url. The verifier in it is safe in this browser's HttpOnly
/// cookie: PKCE guards against the code being taken elsewhere, where the cookie is not.
fn seal(state: &AppState, flow: &Flow) -> Option<String> {
    let payload = B64URL.encode(serde_json::to_vec(flow).ok()?);
    let mut mac = flow_mac(state)?;
    mac.update(payload.as_bytes());
    Some(format!(
        "{payload}.{}",
        B64URL.encode(mac.finalize().into_bytes())
    ))
}

fn open(state: &AppState, sealed: &str) -> Option<Flow> {
    let (payload, tag) = sealed.split_once('.')?;
    let mut mac = flow_mac(state)?;
    mac.update(payload.as_bytes());
    mac.verify_slice(&B64URL.decode(tag).ok()?).ok()?;
    serde_json::from_slice(&B64URL.decode(payload).ok()?).ok()
}
