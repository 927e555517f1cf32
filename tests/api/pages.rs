//! The server-rendered pages (`src/web`) over real HTTP: embedded assets, security headers,
//! cookie flags, CSRF refusals, and a declaration saved through the pages that the API then
//! reads (the browser tests in `scripts/browser-tests` drive the same pages in Chromium).

use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use reqwest::Method;

use serde_json::{json, Value};

use crate::browsing::{csrf_of, get, post, Jar};
use crate::helpers::{spawn_app, Backend, TestApp};
use crate::on_both_backends;
use crate::snapshots::{first_of_month, take_at};
use crate::stats::{force_named, people, sync_and_answer};

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
    async fn hr_sees_who_is_due_by_unit_number_and_status_only_and_each_read_is_audited(backend) {
        let app = spawn_app(backend).await;
        let org = app.create_org("north").await;
        let hr = app.create_account(Some(org.id), "hradmin", &["hr_admin"]).await;
        let auditor = app.create_account(Some(org.id), "auditor", &["auditor"]).await;
        // Each test employee gets a unit of their own: unit-E-77 and unit-E-78.
        app.create_employee(org.id, "E-77", None).await;
        app.create_employee(org.id, "E-78", None).await;
        let mut jar = sign_in(&app, &hr.username, &hr.password).await;
        let (status, headers, _) = get(&app, &mut jar, "/").await;
        assert_eq!(status, 303);
        assert_eq!(headers[LOCATION], "/hr/reviews");
        let (status, _, html) = get(&app, &mut jar, "/hr/reviews").await;
        assert_eq!(status, 200);
        assert_eq!(table_rows(&html, "reviews"), vec![
            vec!["E-77".to_owned(), "Unit (unit-E-77)".into(), "Never declared".into()],
            vec!["E-78".to_owned(), "Unit (unit-E-78)".into(), "Never declared".into()],
        ]);
        assert_eq!(table_rows(&html, "reviews-by-unit"), vec![
            vec!["Unit (unit-E-77)".to_owned(), "1".into()],
            vec!["Unit (unit-E-78)".to_owned(), "1".into()],
        ]);
        assert!(html.contains("<option value=\"unit-E-78\">"), "a unit filter: {html}");
        let (status, _, csv) = get(&app, &mut jar, "/hr/reviews.csv").await;
        assert_eq!(status, 200);
        assert!(csv.starts_with("employee_id,employee_number,status,org_unit\n") && csv.contains("E-77,never_declared,unit-E-77\n"), "{csv}");

        // One unit: the page (reached from the unit's row), its CSV, and the API agree.
        let link = href_with(&html, "unit=unit-E-78").expect("each unit links to its list");
        assert_eq!(link, "/hr/reviews?unit=unit-E-78");
        let (status, _, html) = get(&app, &mut jar, &link).await;
        assert_eq!(status, 200);
        assert_eq!(table_rows(&html, "reviews"), vec![vec!["E-78".to_owned(), "Unit (unit-E-78)".into(), "Never declared".into()]]);
        assert!(html.contains("<option value=\"unit-E-78\" selected>"), "{html}");
        let csv_link = href_with(&html, "/hr/reviews.csv").unwrap();
        let (_, _, csv) = get(&app, &mut jar, &csv_link).await;
        assert_eq!(csv.lines().count(), 2, "{csv}");
        assert!(csv.contains("E-78,never_declared,unit-E-78"), "{csv}");
        let token = app.login(&hr).await;
        let listed = api(&app, &token, "/v1/reviews?unit=unit-E-78").await;
        let items = listed["items"].as_array().unwrap();
        assert_eq!(items.len(), 1, "{listed}");
        assert_eq!((items[0]["employee_number"].clone(), items[0]["org_unit"].clone(), items[0]["status"].clone()),
            (json!("E-78"), json!("unit-E-78"), json!("never_declared")));
        let all = api(&app, &token, "/v1/reviews").await;
        assert_eq!(all["items"][0]["org_unit"], "unit-E-77", "{all}");
        assert_eq!(api(&app, &token, "/v1/reviews?unit=nowhere").await["items"], json!([]));

        // Every read of the list, page or CSV, is audited as the API's is.
        let audit = api(&app, &app.login(&auditor).await, "/v1/audit?limit=1000").await;
        let reads = audit["events"].as_array().unwrap().iter().filter(|e| e["action"] == "reviews.list").count();
        assert_eq!(reads, 4 + 3, "two pages and two CSVs, then three API reads: {audit}");

        let (status, _, _) = get(&app, &mut jar, "/dashboard").await;
        assert_eq!(status, 403, "HR reads no figures here");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_gate_sends_the_signed_out_to_sign_in_and_refuses_other_roles_in_their_language()
{
    let app = spawn_app(Backend::Sqlite).await;
    let org = app.create_org("north").await;
    let auditor = app
        .create_account(Some(org.id), "auditor", &["auditor"])
        .await;
    let gated = [
        "/declare/answers",
        "/declare/history",
        "/hr/reviews",
        "/hr/reviews.csv",
        "/dashboard",
        "/dashboard/completion.csv?characteristic=disability",
        "/dashboard/distribution.csv?characteristic=disability",
        "/dashboard/trend.csv?characteristic=disability",
    ];
    let mut signed_out = Jar::default();
    for path in gated {
        let (status, headers, _) = get(&app, &mut signed_out, path).await;
        assert_eq!(status, 303, "{path}");
        assert_eq!(headers[LOCATION], "/sign-in", "{path}");
    }
    // Signed in without the role: the page saying so (403), in the reader's language.
    let mut jar = sign_in(&app, &auditor.username, &auditor.password).await;
    get(&app, &mut jar, "/language?to=cy&back=/").await;
    for path in gated {
        let (status, headers, html) = get(&app, &mut jar, path).await;
        assert_eq!(status, 403, "{path}");
        assert_eq!(headers["cache-control"], "no-store", "{path}");
        assert!(
            html.contains("Ni all eich cyfrif ddefnyddio’r tudalennau hyn"),
            "{path}: {html}"
        );
    }
}

/// The text of each cell of each body row of the table with this id, as a reader sees it
/// (tags dropped, `&amp;` undone).
fn table_rows(html: &str, id: &str) -> Vec<Vec<String>> {
    let start = html
        .find(&format!("<table class=\"govuk-table\" id=\"{id}\""))
        .unwrap_or_else(|| panic!("no table {id} in {html}"));
    let body = start + html[start..].find("<tbody").unwrap();
    let end = body + html[body..].find("</tbody>").unwrap();
    html[body..end]
        .split("<tr")
        .skip(1)
        .map(|row| {
            let row = &row[row.find('>').unwrap() + 1..];
            let marked = row.replace("</th>", "\u{1}").replace("</td>", "\u{1}");
            let mut text = String::new();
            let mut in_tag = false;
            for c in marked.chars() {
                match c {
                    '<' => in_tag = true,
                    '>' => in_tag = false,
                    c if !in_tag => text.push(c),
                    _ => {}
                }
            }
            let mut cells: Vec<String> = text
                .split('\u{1}')
                .map(|c| c.trim().replace("&amp;", "&"))
                .collect();
            cells.pop();
            cells
        })
        .collect()
}

/// A published cell as the pages show it: `[c]`, or the count and its rate.
fn shown(cell: &Value) -> String {
    if cell["count"] == "suppressed" {
        return "[c]".into();
    }
    match cell["percent"].as_f64() {
        Some(p) => format!("{} ({p:.1}%)", cell["count"]),
        None => cell["count"].to_string(),
    }
}

/// The API's figures as the page's table shows them: label, headcount, each cell.
fn api_rows(figures: &Value) -> Vec<Vec<String>> {
    figures["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let mut row = vec![
                r["label"].as_str().unwrap().to_owned(),
                r["headcount"].to_string(),
            ];
            row.extend(r["cells"].as_array().unwrap().iter().map(shown));
            row
        })
        .collect()
}

async fn api(app: &TestApp, token: &str, path: &str) -> Value {
    let r = app.authed(Method::GET, path, token).send().await.unwrap();
    assert_eq!(r.status(), 200, "{path}");
    r.json().await.unwrap()
}

/// The value of the first `href` holding `part`, `&amp;` undone.
fn href_with(html: &str, part: &str) -> Option<String> {
    html.split("href=\"")
        .skip(1)
        .map(|rest| rest[..rest.find('"').unwrap()].replace("&amp;", "&"))
        .find(|href| href.contains(part))
}

on_both_backends! {
    async fn the_dashboard_shows_completion_across_snapshots_as_the_api_gives_it(backend) {
        let app = spawn_app(backend).await;
        let (hr, edi, org) = force_named(&app, "trend").await;
        let board = app.create_account(Some(org), "board", &["edi_viewer"]).await;
        let mut jar = sign_in(&app, &board.username, &board.password).await;

        // No snapshot yet: said plainly, with no chart or table.
        let (status, _, html) = get(&app, &mut jar, "/dashboard?characteristic=disability").await;
        assert_eq!(status, 200);
        assert!(html.contains("id=\"trend-none\"") && html.contains("No snapshots have been taken yet"), "{html}");
        assert!(!html.contains("id=\"trend\"") && !html.contains("trend-chart-title"), "{html}");

        // Two monthly snapshots; in the first, 'prefer not to say' (3) is too small to publish.
        let first = people("N", "north", "police_officer", "pc", &[("yes", 10), ("no", 10), ("prefer_not_to_say", 3), ("", 7)]);
        sync_and_answer(&app, &hr, org, &first).await;
        take_at(&app, org, first_of_month(1)).await;
        let mut second = first.clone();
        second.extend(people("S", "south", "police_staff", "", &[("yes", 10), ("prefer_not_to_say", 5)]));
        sync_and_answer(&app, &hr, org, &second).await;
        take_at(&app, org, first_of_month(2)).await;

        let (status, _, html) = get(&app, &mut jar, "/dashboard?characteristic=disability&by=staff_type").await;
        assert_eq!(status, 200);
        let trend = api(&app, &edi, "/v1/stats/trend?characteristic=disability").await;
        let points = trend["points"].as_array().unwrap();
        assert_eq!(points.len(), 2, "{trend}");
        let expected: Vec<Vec<String>> = points.iter().map(|p| {
            let whole = &p["rows"][0];
            let cell = |column: &str| shown(whole["cells"].as_array().unwrap().iter().find(|c| c["column"] == column).unwrap());
            vec![format!("{} (monthly)", p["snapshot"]["period"].as_str().unwrap()), whole["headcount"].to_string(),
                cell("declared"), cell("prefer_not_to_say"), cell("blank")]
        }).collect();
        let rows = table_rows(&html, "trend");
        assert_eq!(rows, expected, "the trend table is the API's trend");
        assert_eq!(rows[0][3], "[c]", "the suppressed cell is shown as [c]: {rows:?}");
        assert_eq!(rows[1][1], "45");
        assert!(html.contains("<abbr title=\"[c] means confidential"), "with the explanation");
        assert!(html.contains("aria-labelledby=\"trend-chart-title trend-chart-desc\"") && html.contains("app-chart__bar--declared"), "{html}");
        assert!(!html.contains("id=\"trend-none\""));

        // Its CSV is the API's trend CSV.
        let href = href_with(&html, "/dashboard/trend.csv").expect("a CSV link for the trend");
        let (status, headers, csv) = get(&app, &mut jar, &href).await;
        assert_eq!(status, 200);
        assert!(headers["content-type"].to_str().unwrap().starts_with("text/csv"));
        let r = app.authed(Method::GET, "/v1/stats/trend?characteristic=disability&format=csv", &edi).send().await.unwrap();
        assert_eq!(csv, r.text().await.unwrap());
        assert!(csv.contains("[c]"), "{csv}");

        // In Welsh.
        get(&app, &mut jar, "/language?to=cy&back=/dashboard").await;
        let (_, _, html) = get(&app, &mut jar, "/dashboard?characteristic=disability").await;
        assert!(html.contains("Cwblhau dros amser") && html.contains("(misol)"), "{html}");
    }
}

on_both_backends! {
    async fn clicking_a_unit_drills_down_to_the_units_under_it_with_the_apis_figures(backend) {
        let app = spawn_app(backend).await;
        let (hr, edi, org) = force_named(&app, "drill").await;
        let units: Value = api(&app, &hr, "/v1/org-units").await;
        let units = units.as_array().or_else(|| units["items"].as_array()).cloned().unwrap();
        let north = units.iter().find(|u| u["code"] == "north").unwrap()["id"].as_str().unwrap().to_owned();
        for (code, name) in [("north-a", "NORTH A"), ("north-b", "NORTH B")] {
            let r = app.authed(Method::POST, "/v1/org-units", &hr)
                .json(&json!({"code": code, "name": name, "kind": "department", "parent_id": north}))
                .send().await.unwrap();
            assert_eq!(r.status(), 201);
        }
        let mut staff = people("A", "north-a", "police_officer", "pc", &[("yes", 6), ("no", 6)]);
        staff.extend(people("B", "north-b", "police_officer", "pc", &[("yes", 3), ("no", 2), ("prefer_not_to_say", 3)]));
        staff.extend(people("D", "north", "police_staff", "", &[("no", 5)]));
        staff.extend(people("S", "south", "police_staff", "", &[("yes", 5), ("no", 5)]));
        sync_and_answer(&app, &hr, org, &staff).await;
        let board = app.create_account(Some(org), "board", &["edi_viewer"]).await;
        let mut jar = sign_in(&app, &board.username, &board.password).await;

        // Command areas: NORTH has units under it, so it is a link; SOUTH has none.
        let (status, _, html) = get(&app, &mut jar, "/dashboard?characteristic=disability&by=org_unit&level=1").await;
        assert_eq!(status, 200);
        let level_1 = api(&app, &edi, "/v1/stats/completion?characteristic=disability&by=org_unit&level=1").await;
        assert_eq!(table_rows(&html, "figures"), api_rows(&level_1));
        let link = href_with(&html, &format!("unit={north}")).expect("NORTH is a link");
        assert!(link.starts_with("/dashboard?") && link.contains("by=org_unit") && link.contains("level=2"), "{link}");
        assert!(html.contains(&format!("{north}&amp;organisation={org}\">NORTH</a>")), "{html}");
        assert!(!html.contains(">SOUTH</a>"), "a unit with nothing under it is not a link");
        assert!(html.contains("Select a unit’s name to see the units under it."), "{html}");

        // Clicked: the units under NORTH, exactly the API's for the same scope.
        let (status, _, html) = get(&app, &mut jar, &link).await;
        assert_eq!(status, 200);
        let scoped = api(&app, &edi, &format!("/v1/stats/completion?characteristic=disability&by=org_unit&unit={north}")).await;
        assert_eq!((scoped["level"].clone(), scoped["unit"].clone()), (json!(2), json!(north)));
        let rows = table_rows(&html, "figures");
        assert_eq!(rows, api_rows(&scoped));
        let labels: Vec<&str> = rows.iter().map(|r| r[0].as_str()).collect();
        assert_eq!(labels.len(), 3, "{labels:?}");
        assert!(labels.contains(&"NORTH A") && labels.contains(&"NORTH B") && labels.contains(&"NORTH (not in a sub-unit)"), "{labels:?}");
        assert!(rows.iter().any(|r| r.contains(&"[c]".to_owned())), "NORTH B's 3 are suppressed: {rows:?}");
        assert!(!html.contains("Select a unit’s name"), "no unit here has units under it");
        // Only NORTH has units under it, so its units are the whole of level 2.
        let level_2 = api(&app, &edi, "/v1/stats/completion?characteristic=disability&by=org_unit&level=2").await;
        assert_eq!(api_rows(&scoped), api_rows(&level_2));
        let distribution = api(&app, &edi, &format!("/v1/stats/distribution?characteristic=disability&by=org_unit&unit={north}")).await;
        assert_eq!(table_rows(&html, "distribution"), api_rows(&distribution));
        // The breadcrumb goes back up.
        assert!(html.contains("id=\"unit-trail\"") && html.contains("aria-current=\"page\">NORTH<"), "{html}");
        let up = href_with(&html, "level=1").expect("a way back up");
        let (_, _, back) = get(&app, &mut jar, &up).await;
        assert_eq!(table_rows(&back, "figures"), api_rows(&level_1));
        // The CSV is of the same scope.
        let csv_href = href_with(&html, "/dashboard/completion.csv").unwrap();
        assert!(csv_href.contains(&format!("unit={north}")), "{csv_href}");
        let (status, _, csv) = get(&app, &mut jar, &csv_href).await;
        assert_eq!(status, 200);
        assert!(csv.contains(&format!("org_unit (level 2) under unit {north}")) && csv.contains("NORTH A"), "{csv}");

        // A unit the figures do not have: not found, in the API and on the page.
        let nowhere = uuid::Uuid::new_v4();
        let r = app.authed(Method::GET, &format!("/v1/stats/completion?characteristic=disability&by=org_unit&unit={nowhere}"), &edi).send().await.unwrap();
        assert_eq!(r.status(), 404);
        let (status, _, _) = get(&app, &mut jar, &format!("/dashboard?characteristic=disability&by=org_unit&unit={nowhere}")).await;
        assert_eq!(status, 404);
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
