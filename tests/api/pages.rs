//! The server-rendered pages (`src/web`) over real HTTP: embedded assets, security headers,
//! cookie flags, CSRF refusals, and a declaration saved through the pages that the API then
//! reads (the browser tests in `scripts/browser-tests` drive the same pages in Chromium).

use std::collections::BTreeMap;

use reqwest::header::{HeaderMap, COOKIE, LOCATION, SET_COOKIE};
use reqwest::Method;

use crate::helpers::{spawn_app, Backend, TestApp};
use crate::on_both_backends;

/// A browser's cookie jar, enough for these tests (reqwest's own needs a feature).
#[derive(Default)]
struct Jar(BTreeMap<String, String>);

impl Jar {
    fn take(&mut self, headers: &HeaderMap) {
        for value in headers.get_all(SET_COOKIE) {
            let text = value.to_str().unwrap();
            let (pair, _) = text.split_once(';').unwrap_or((text, ""));
            let (name, value) = pair.split_once('=').unwrap();
            if value.is_empty() {
                self.0.remove(name);
            } else {
                self.0.insert(name.to_owned(), value.to_owned());
            }
        }
    }

    fn header(&self) -> String {
        self.0
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

fn csrf_of(html: &str) -> String {
    let start = html.find("name=\"csrf\" value=\"").expect("a CSRF field") + 19;
    html[start..start + 64].to_owned()
}

async fn get(app: &TestApp, jar: &mut Jar, path: &str) -> (u16, HeaderMap, String) {
    let r = app
        .client
        .get(app.url(path))
        .header(COOKIE, jar.header())
        .send()
        .await
        .unwrap();
    jar.take(r.headers());
    let (status, headers) = (r.status().as_u16(), r.headers().clone());
    (status, headers, r.text().await.unwrap())
}

async fn post(
    app: &TestApp,
    jar: &mut Jar,
    path: &str,
    form: &[(&str, &str)],
) -> (u16, HeaderMap, String) {
    let r = app
        .client
        .post(app.url(path))
        .header(COOKIE, jar.header())
        .form(form)
        .send()
        .await
        .unwrap();
    jar.take(r.headers());
    let (status, headers) = (r.status().as_u16(), r.headers().clone());
    (status, headers, r.text().await.unwrap())
}

/// Signs in through the page; returns the jar holding the session.
async fn sign_in(app: &TestApp, username: &str, password: &str) -> Jar {
    let mut jar = Jar::default();
    let (_, _, html) = get(app, &mut jar, "/sign-in").await;
    let csrf = csrf_of(&html);
    let (status, headers, _) = post(
        app,
        &mut jar,
        "/sign-in",
        &[
            ("csrf", &csrf),
            ("username", username),
            ("password", password),
        ],
    )
    .await;
    assert_eq!(status, 303);
    assert_eq!(headers[LOCATION], "/");
    let session = headers
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap())
        .find(|v| v.starts_with("declare_session="))
        .expect("a session cookie");
    assert!(
        session.contains("HttpOnly") && session.contains("SameSite=Lax"),
        "{session}"
    );
    jar
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn assets_are_embedded_and_cached_and_pages_carry_the_security_headers() {
    let app = spawn_app(Backend::Sqlite).await;
    let r = app.get("/assets/govuk-frontend.min.css").await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "text/css; charset=utf-8");
    assert_eq!(r.headers()["cache-control"], "public, max-age=86400");
    let etag = r.headers()["etag"].to_str().unwrap().to_owned();
    let again = app
        .client
        .get(app.url("/assets/govuk-frontend.min.css"))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);
    assert_eq!(app.get("/assets/nothing.css").await.status(), 404);

    let r = app.get("/sign-in").await;
    assert_eq!(r.status(), 200);
    let csp = r.headers()["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("frame-ancestors 'none'") && csp.contains("script-src 'self'"),
        "{csp}"
    );
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    assert_eq!(r.headers()["x-frame-options"], "DENY");
    assert_eq!(r.headers()["cache-control"], "no-store");
    let html = r.text().await.unwrap();
    assert!(html.contains("<html lang=\"en\""), "{html}");
    assert!(
        !html.contains("<script>") && !html.contains("style="),
        "no inline script or style"
    );

    // Signed out, the staff pages send the reader to sign in.
    let r = app.get("/declare/answers").await;
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()[LOCATION], "/sign-in");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_language_toggle_switches_to_welsh_and_returns_only_to_our_own_paths() {
    let app = spawn_app(Backend::Sqlite).await;
    let mut jar = Jar::default();
    let (status, headers, _) = get(&app, &mut jar, "/language?to=cy&back=/sign-in").await;
    assert_eq!(status, 303);
    assert_eq!(headers[LOCATION], "/sign-in");
    let (_, _, html) = get(&app, &mut jar, "/sign-in").await;
    assert!(
        html.contains("<html lang=\"cy\"") && html.contains("Mewngofnodi"),
        "{html}"
    );
    let (_, headers, _) = get(&app, &mut jar, "/language?to=en&back=//evil.example/").await;
    assert_eq!(headers[LOCATION], "/", "never another site");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forms_without_this_browsers_token_or_from_another_origin_are_refused() {
    let app = spawn_app(Backend::Sqlite).await;
    let org = app.create_org("north").await;
    let login = app
        .create_account(Some(org.id), "viewer", &["edi_viewer"])
        .await;
    let mut jar = Jar::default();
    let (_, _, html) = get(&app, &mut jar, "/sign-in").await;
    let csrf = csrf_of(&html);
    let creds = [
        ("username", login.username.as_str()),
        ("password", &login.password),
    ];

    let (status, _, _) = post(&app, &mut jar, "/sign-in", &creds).await;
    assert_eq!(status, 403, "no token");
    let mut other = Jar::default();
    get(&app, &mut other, "/sign-in").await;
    let with_token = [creds[0], creds[1], ("csrf", csrf.as_str())];
    let (status, _, _) = post(&app, &mut other, "/sign-in", &with_token).await;
    assert_eq!(status, 403, "another browser's token");
    let r = app
        .client
        .post(app.url("/sign-in"))
        .header(COOKIE, jar.header())
        .header("origin", "https://evil.example")
        .form(&with_token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403, "another origin");
    let (status, _, _) = post(&app, &mut jar, "/sign-in", &with_token).await;
    assert_eq!(status, 303, "the right token signs in");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cookies_are_secure_unless_a_loopback_name_is_used_over_plain_http() {
    let app = spawn_app(Backend::Sqlite).await;
    let r = app.get("/sign-in").await;
    let cookie = r.headers()[SET_COOKIE].to_str().unwrap().to_owned();
    assert!(
        !cookie.contains("Secure"),
        "local development over http: {cookie}"
    );
    let r = app
        .client
        .get(app.url("/sign-in"))
        .header("host", "declare.example.org")
        .send()
        .await
        .unwrap();
    let cookie = r.headers()[SET_COOKIE].to_str().unwrap();
    assert!(cookie.contains("Secure"), "{cookie}");
}

on_both_backends! {
    async fn a_declaration_saved_through_the_pages_is_what_the_api_reads_and_a_stale_save_loses_nothing(backend) {
        let app = spawn_app(backend).await;
        let org = app.create_org("north").await;
        let (login, _) = app.create_employee_account(org.id, "alice").await;
        let mut jar = sign_in(&app, &login.username, &login.password).await;

        // No consent yet: the form sends the reader to the notice first.
        let (status, headers, _) = get(&app, &mut jar, "/declare/answers").await;
        assert_eq!(status, 303);
        assert_eq!(headers[LOCATION], "/declare/privacy");
        let (_, _, html) = get(&app, &mut jar, "/declare/privacy").await;
        let csrf = csrf_of(&html);
        // Declining everything stores nothing.
        let (status, _, html) = post(&app, &mut jar, "/declare/privacy", &[("csrf", &csrf), ("notice_version", "1")]).await;
        assert_eq!(status, 200);
        assert!(html.contains("Nothing has been stored"), "{html}");
        let token = app.login(&login).await;
        let consents: serde_json::Value = app.authed(Method::GET, "/v1/me/consents", &token).send().await.unwrap().json().await.unwrap();
        assert_eq!(consents["consents"], serde_json::json!([]), "{consents}");

        let (status, headers, _) = post(&app, &mut jar, "/declare/privacy",
            &[("csrf", &csrf), ("notice_version", "1"), ("purpose", "equality_monitoring")]).await;
        assert_eq!(status, 303);
        assert_eq!(headers[LOCATION], "/declare/answers");
        let (status, headers, html) = get(&app, &mut jar, "/declare/answers").await;
        assert_eq!(status, 200);
        assert_eq!(headers["cache-control"], "no-store");
        assert!(html.contains("name=\"a.disability\""), "the form is rendered from the catalogue");

        // A detail list under 'No' is dropped: only lists shown under the answer are sent.
        let form = [("csrf", csrf.as_str()), ("version", "0"), ("a.disability", "yes"),
            ("d.disability.day_to_day_impact", "yes_a_lot"), ("a.sex", "prefer_not_to_say"),
            ("a.gender_reassignment", "yes"), ("d.gender_reassignment.gender_identity", "woman")];
        let (status, _, html) = post(&app, &mut jar, "/declare/check", &form).await;
        assert_eq!(status, 200);
        assert!(html.contains("Not answered (blank)") && html.contains("Prefer not to say"), "{html}");
        let (status, headers, _) = post(&app, &mut jar, "/declare/save", &form).await;
        assert_eq!(status, 303, "saved");
        assert_eq!(headers[LOCATION], "/declare/saved");

        let r = app.authed(Method::GET, "/v1/me/declaration", &token).send().await.unwrap();
        let view: serde_json::Value = r.json().await.unwrap();
        assert_eq!(view["version"], 1);
        assert_eq!(view["answers"]["disability"]["gateway"], "yes");
        assert_eq!(view["answers"]["disability"]["details"]["day_to_day_impact"]["selected"][0], "yes_a_lot");
        assert_eq!(view["answers"]["sex"]["gateway"], "prefer_not_to_say");
        assert!(view["answers"]["gender_reassignment"].get("details").is_none(), "{view}");

        // The same form again (read at version 0): the conflict, with what was entered kept.
        let stale = [("csrf", csrf.as_str()), ("version", "0"), ("a.disability", "no")];
        let (status, _, html) = post(&app, &mut jar, "/declare/save", &stale).await;
        assert_eq!(status, 409);
        assert!(html.contains("name=\"a.disability\" value=\"no\"") && html.contains("name=\"version\" value=\"1\""), "{html}");

        // Withdrawal erases.
        let (status, _, _) = post(&app, &mut jar, "/declare/withdraw", &[("csrf", &csrf)]).await;
        assert_eq!(status, 200);
        let view: serde_json::Value = app.authed(Method::GET, "/v1/me/declaration", &token).send().await.unwrap().json().await.unwrap();
        assert_eq!(view["answers"], serde_json::json!({}), "{view}");
    }
}

on_both_backends! {
    async fn viewers_get_the_dashboard_and_its_csv_and_staff_do_not(backend) {
        let app = spawn_app(backend).await;
        let org = app.create_org("north").await;
        let viewer = app.create_account(Some(org.id), "board", &["edi_viewer"]).await;
        let (staff, _) = app.create_employee_account(org.id, "alice").await;

        let mut jar = sign_in(&app, &viewer.username, &viewer.password).await;
        let (status, headers, _) = get(&app, &mut jar, "/").await;
        assert_eq!(status, 303);
        assert_eq!(headers[LOCATION], "/dashboard");
        let (status, headers, html) = get(&app, &mut jar, "/dashboard?characteristic=disability&by=staff_type").await;
        assert_eq!(status, 200);
        assert_eq!(headers["cache-control"], "no-store");
        assert!(html.contains("id=\"figures\"") && html.contains("id=\"distribution\"") && html.contains("<svg"), "{html}");
        let (status, headers, csv) = get(&app, &mut jar, "/dashboard/completion.csv?characteristic=disability&by=staff_type").await;
        assert_eq!(status, 200);
        assert!(headers["content-type"].to_str().unwrap().starts_with("text/csv"));
        assert!(csv.contains("characteristic,disability"), "{csv}");
        let (status, _, _) = get(&app, &mut jar, "/declare/answers").await;
        assert_eq!(status, 403, "a viewer has no declaration pages");

        let mut jar = sign_in(&app, &staff.username, &staff.password).await;
        let (status, _, _) = get(&app, &mut jar, "/dashboard").await;
        assert_eq!(status, 403, "staff see no figures here");
        let (status, _, _) = get(&app, &mut jar, "/dashboard/completion.csv?characteristic=disability").await;
        assert_eq!(status, 403);
    }
}

on_both_backends! {
    async fn hr_sees_who_is_due_by_number_and_status_only(backend) {
        let app = spawn_app(backend).await;
        let org = app.create_org("north").await;
        let hr = app.create_account(Some(org.id), "hradmin", &["hr_admin"]).await;
        app.create_employee(org.id, "E-77", None).await;
        let mut jar = sign_in(&app, &hr.username, &hr.password).await;
        let (status, headers, _) = get(&app, &mut jar, "/").await;
        assert_eq!(status, 303);
        assert_eq!(headers[LOCATION], "/hr/reviews");
        let (status, _, html) = get(&app, &mut jar, "/hr/reviews").await;
        assert_eq!(status, 200);
        assert!(html.contains("E-77") && html.contains("Never declared"), "{html}");
        let (status, _, csv) = get(&app, &mut jar, "/hr/reviews.csv").await;
        assert_eq!(status, 200);
        assert!(csv.starts_with("employee_id,employee_number,status") && csv.contains("E-77,never_declared"), "{csv}");
        let (status, _, _) = get(&app, &mut jar, "/dashboard").await;
        assert_eq!(status, 403, "HR reads no figures here");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_answers_and_a_stale_consent_are_explained_in_welsh_on_the_welsh_pages() {
    let app = spawn_app(Backend::Sqlite).await;
    let org = app.create_org("north").await;
    let (login, _) = app.create_employee_account(org.id, "alice").await;
    let mut jar = sign_in(&app, &login.username, &login.password).await;
    jar.0.insert("declare_lang".into(), "cy".into());
    let (_, _, html) = get(&app, &mut jar, "/declare/privacy").await;
    let csrf = csrf_of(&html);

    // Consent given against a notice older than the current one: the form again, in Welsh.
    let (status, _, html) = post(
        &app,
        &mut jar,
        "/declare/privacy",
        &[
            ("csrf", &csrf),
            ("notice_version", "0"),
            ("purpose", "equality_monitoring"),
        ],
    )
    .await;
    assert_eq!(status, 409);
    assert!(html.contains("govuk-error-summary"), "{html}");
    assert!(
        html.contains("Mae’r hysbysiad preifatrwydd wedi newid"),
        "{html}"
    );
    assert!(html.contains("id=\"consent-error\""), "{html}");
    let (status, _, _) = post(
        &app,
        &mut jar,
        "/declare/privacy",
        &[
            ("csrf", &csrf),
            ("notice_version", "1"),
            ("purpose", "equality_monitoring"),
        ],
    )
    .await;
    assert_eq!(status, 303);

    // Answers the service refuses (an option that does not exist, a detail list not asked
    // under the answer given): each message in Welsh, from the problem's code, never the
    // service's English.
    let form = [
        ("csrf", csrf.as_str()),
        ("version", "0"),
        ("a.disability", "maybe"),
        ("a.sex", "prefer_not_to_say"),
    ];
    let (status, _, html) = post(&app, &mut jar, "/declare/save", &form).await;
    assert_eq!(status, 422);
    assert!(html.contains("<html lang=\"cy\""), "{html}");
    assert!(html.contains("govuk-error-summary"), "{html}");
    assert!(
        html.contains("Dewiswch un o’r opsiynau a ddangosir"),
        "{html}"
    );
    assert!(html.contains("href=\"#c-disability\""), "{html}");
    assert!(
        !html.contains("is not an option"),
        "no English from the service: {html}"
    );
    // The API's problem+json stays English.
    let token = app.login(&login).await;
    let r = app
        .authed(Method::PUT, "/v1/me/declaration", &token)
        .header("if-match", "\"v0\"")
        .json(&serde_json::json!({"answers": {"disability": {"gateway": "maybe"}}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 422);
    let problem: serde_json::Value = r.json().await.unwrap();
    assert!(
        problem.to_string().contains("is not an option"),
        "{problem}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_question_per_page_carries_answers_in_posted_forms_to_check_your_answers() {
    let app = spawn_app(Backend::Sqlite).await;
    let org = app.create_org("north").await;
    let (login, _) = app.create_employee_account(org.id, "alice").await;
    let mut jar = sign_in(&app, &login.username, &login.password).await;
    // Before consent, the steps start at the notice too.
    let (status, headers, _) = get(&app, &mut jar, "/declare/steps").await;
    assert_eq!(status, 303);
    assert_eq!(headers[LOCATION], "/declare/privacy");
    let (_, _, html) = get(&app, &mut jar, "/declare/privacy").await;
    let csrf = csrf_of(&html);
    post(
        &app,
        &mut jar,
        "/declare/privacy",
        &[
            ("csrf", &csrf),
            ("notice_version", "1"),
            ("purpose", "equality_monitoring"),
        ],
    )
    .await;
    let (_, _, html) = get(&app, &mut jar, "/declare/answers").await;
    assert!(
        html.contains("href=\"/declare/steps\""),
        "the form offers the steps"
    );

    // The first question alone: age, and no other question's radios.
    let (status, _, html) = get(&app, &mut jar, "/declare/steps").await;
    assert_eq!(status, 200);
    assert!(html.contains("Question 1 of 15"), "{html}");
    assert!(
        html.contains("name=\"a.age\"") && !html.contains("name=\"a.disability\""),
        "{html}"
    );
    assert!(html.contains("action=\"/declare/steps\"") && html.contains("name=\"csrf\""));

    // Continue: the answer goes along as a hidden field, the next question is shown.
    let (status, _, html) = post(
        &app,
        &mut jar,
        "/declare/steps",
        &[
            ("csrf", &csrf),
            ("version", "0"),
            ("step", "0"),
            ("go", "next"),
            ("a.age", "age_26_40"),
        ],
    )
    .await;
    assert_eq!(status, 200);
    assert!(html.contains("Question 2 of 15"), "{html}");
    assert!(
        html.contains("type=\"hidden\" name=\"a.age\" value=\"age_26_40\""),
        "{html}"
    );
    assert!(
        html.contains("name=\"a.disability\" type=\"radio\""),
        "{html}"
    );

    // Back: the previous question with its answer chosen, the later answer kept.
    let (_, _, html) = post(
        &app,
        &mut jar,
        "/declare/steps",
        &[
            ("csrf", &csrf),
            ("version", "0"),
            ("step", "1"),
            ("go", "back"),
            ("a.age", "age_26_40"),
            ("a.disability", "no"),
        ],
    )
    .await;
    assert!(html.contains("Question 1 of 15"), "{html}");
    assert!(
        html.contains("type=\"hidden\" name=\"a.disability\" value=\"no\""),
        "{html}"
    );
    assert!(html.contains("value=\"age_26_40\" checked"), "{html}");

    // After the last question: check your answers, with everything carried.
    let (status, _, html) = post(
        &app,
        &mut jar,
        "/declare/steps",
        &[
            ("csrf", &csrf),
            ("version", "0"),
            ("step", "14"),
            ("go", "next"),
            ("a.age", "age_26_40"),
            ("a.disability", "no"),
        ],
    )
    .await;
    assert_eq!(status, 200);
    assert!(html.contains("action=\"/declare/save\""), "{html}");
    assert!(
        html.contains("name=\"a.disability\" value=\"no\"")
            && html.contains("name=\"a.age\" value=\"age_26_40\""),
        "{html}"
    );

    // Without the form's token, refused.
    let (status, _, _) = post(
        &app,
        &mut jar,
        "/declare/steps",
        &[("step", "0"), ("go", "next")],
    )
    .await;
    assert_eq!(status, 403);
}
