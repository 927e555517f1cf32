//! The authorisation matrix: every endpoint x every kind of caller, expected status, checked
//! against the running server. A new endpoint must add its row here.

use reqwest::Method;

use crate::helpers::{spawn_app, TestApp};
use crate::on_both_backends;

/// Callers, in column order.
const CALLERS: [&str; 9] = [
    "anonymous",
    "employee",
    "hr_admin",
    "hr_sync",
    "edi_viewer",
    "auditor",
    "org_admin",
    "deployment_admin",
    "national_viewer",
];

/// (method, path, body, expected status per caller). `{org}` is the callers' organisation;
/// `{uuid}` is an id that names nothing (the path's `{id}` in the OpenAPI document).
/// 422 means the caller got past authorisation and the (deliberately empty) body was refused
/// (400 on SCIM, which has no 422).
#[rustfmt::skip]
const MATRIX: &[(&str, &str, &str, [u16; 9])] = &[
    //                                                              anon emp  hr   sync edi  aud  oadm dadm nat
    ("GET",    "/healthz",                                    "",   [200, 200, 200, 200, 200, 200, 200, 200, 200]),
    ("GET",    "/readyz",                                     "",   [200, 200, 200, 200, 200, 200, 200, 200, 200]),
    ("GET",    "/metrics",                                    "",   [200, 200, 200, 200, 200, 200, 200, 200, 200]),
    ("GET",    "/v1",                                         "",   [200, 200, 200, 200, 200, 200, 200, 200, 200]),
    ("GET",    "/v1/me",                                      "",   [401, 200, 200, 200, 200, 200, 200, 200, 200]),
    ("GET",    "/v1/audit",                                   "",   [401, 403, 403, 403, 403, 200, 403, 403, 403]),
    // Figures: an organisation's viewers read their own; national viewers must name one (400
    // without); naming another organisation is 403 for anyone bound to one.
    ("GET",    "/v1/stats/completion?characteristic=sex",       "",   [401, 403, 403, 403, 200, 403, 403, 403, 400]),
    ("GET",    "/v1/stats/completion?characteristic=sex&organisation={org}", "", [401, 403, 403, 403, 200, 403, 403, 403, 200]),
    ("GET",    "/v1/stats/completion?characteristic=sex&organisation={other}", "", [401, 403, 403, 403, 403, 403, 403, 403, 200]),
    ("GET",    "/v1/stats/completion?characteristic=sex&snapshot={uuid}", "", [401, 403, 403, 403, 404, 403, 403, 403, 400]),
    ("GET",    "/v1/stats/distribution?characteristic=sex",     "",   [401, 403, 403, 403, 200, 403, 403, 403, 400]),
    ("GET",    "/v1/stats/distribution?characteristic=sex&organisation={other}", "", [401, 403, 403, 403, 403, 403, 403, 403, 200]),
    ("GET",    "/v1/stats/distribution?characteristic=sex&format=csv", "", [401, 403, 403, 403, 200, 403, 403, 403, 400]),
    ("GET",    "/v1/stats/snapshots",                         "",   [401, 403, 403, 403, 200, 403, 403, 403, 400]),
    ("GET",    "/v1/stats/snapshots?organisation={other}",    "",   [401, 403, 403, 403, 403, 403, 403, 403, 200]),
    ("GET",    "/v1/stats/trend?characteristic=sex",            "",   [401, 403, 403, 403, 200, 403, 403, 403, 400]),
    ("GET",    "/v1/stats/trend?characteristic=sex&organisation={org}", "", [401, 403, 403, 403, 200, 403, 403, 403, 200]),
    ("GET",    "/v1/stats/trend?characteristic=sex&organisation={other}&format=csv", "", [401, 403, 403, 403, 403, 403, 403, 403, 200]),
    ("GET",    "/v1/organisations",                           "",   [401, 403, 403, 403, 403, 403, 403, 200, 403]),
    ("POST",   "/v1/organisations",                           "{}", [401, 403, 403, 403, 403, 403, 403, 422, 403]),
    ("POST",   "/v1/organisations/{org}/accounts",            "{}", [401, 403, 403, 403, 403, 403, 422, 422, 403]),
    ("POST",   "/v1/organisations/{org}/clients",             "{}", [401, 403, 403, 403, 403, 403, 422, 422, 403]),
    ("POST",   "/v1/organisations/{other}/accounts",          "{}", [401, 403, 403, 403, 403, 403, 403, 422, 403]),
    ("GET",    "/v1/catalogue/national",                      "",   [200, 200, 200, 200, 200, 200, 200, 200, 200]),
    ("GET",    "/v1/catalogue",                               "",   [401, 200, 200, 200, 200, 200, 200, 403, 403]),
    ("GET",    "/v1/catalogue/versions",                      "",   [401, 200, 200, 200, 200, 200, 200, 403, 403]),
    ("GET",    "/v1/catalogue/versions/{version}",            "",   [401, 404, 404, 404, 404, 404, 404, 403, 403]),
    // Draft rows run before the draft exists (404), then one creates it (201, then 409).
    ("GET",    "/v1/catalogue/drafts/current",                "",   [401, 403, 404, 403, 403, 403, 404, 403, 403]),
    ("PUT",    "/v1/catalogue/drafts/current",                "{}", [401, 403, 422, 403, 403, 403, 422, 403, 403]),
    ("POST",   "/v1/catalogue/drafts/current/validate",       "{}", [401, 403, 422, 403, 403, 403, 422, 403, 403]),
    ("POST",   "/v1/catalogue/drafts/current/publish",        "",   [401, 403, 404, 403, 403, 403, 404, 403, 403]),
    ("DELETE", "/v1/catalogue/drafts/current",                "",   [401, 403, 404, 403, 403, 403, 404, 403, 403]),
    ("POST",   "/v1/catalogue/drafts",                        "",   [401, 403, 201, 403, 403, 403, 409, 403, 403]),
    ("POST",   "/v1/catalogue/migrations",                    "{}", [401, 403, 422, 403, 403, 403, 422, 403, 403]),
    ("GET",    "/v1/org-units",                               "",   [401, 403, 200, 200, 403, 403, 403, 403, 403]),
    ("POST",   "/v1/org-units",                               "{}", [401, 403, 422, 422, 403, 403, 403, 403, 403]),
    ("GET",    "/v1/org-units/{uuid}",                        "",   [401, 403, 404, 404, 403, 403, 403, 403, 403]),
    ("PATCH",  "/v1/org-units/{uuid}",                        "{}", [401, 403, 404, 404, 403, 403, 403, 403, 403]),
    ("GET",    "/v1/staff-types",                             "",   [401, 403, 200, 200, 403, 403, 403, 403, 403]),
    ("POST",   "/v1/staff-types",                             "{}", [401, 403, 422, 422, 403, 403, 403, 403, 403]),
    ("GET",    "/v1/staff-types/{uuid}",                      "",   [401, 403, 404, 404, 403, 403, 403, 403, 403]),
    ("PATCH",  "/v1/staff-types/{uuid}",                      "{}", [401, 403, 404, 404, 403, 403, 403, 403, 403]),
    ("GET",    "/v1/ranks",                                   "",   [401, 403, 200, 200, 403, 403, 403, 403, 403]),
    ("POST",   "/v1/ranks",                                   "{}", [401, 403, 422, 422, 403, 403, 403, 403, 403]),
    ("GET",    "/v1/ranks/{uuid}",                            "",   [401, 403, 404, 404, 403, 403, 403, 403, 403]),
    ("PATCH",  "/v1/ranks/{uuid}",                            "{}", [401, 403, 404, 404, 403, 403, 403, 403, 403]),
    ("DELETE", "/v1/org-units/{uuid}",                        "",   [401, 403, 404, 404, 403, 403, 403, 403, 403]),
    ("GET",    "/v1/employees",                               "",   [401, 403, 200, 200, 403, 403, 403, 403, 403]),
    ("GET",    "/v1/employees/{uuid}",                        "",   [401, 403, 404, 404, 403, 403, 403, 403, 403]),
    ("POST",   "/v1/sync/employees",                          "",   [401, 403, 415, 415, 403, 403, 403, 403, 403]),
    // Self-service: only the employee (linked to an employee record) reaches their own data.
    ("GET",    "/v1/me/consents",                             "",   [401, 200, 403, 403, 403, 403, 403, 403, 403]),
    ("PUT",    "/v1/me/consents",                             "{}", [401, 422, 403, 403, 403, 403, 403, 403, 403]),
    ("GET",    "/v1/me/declaration",                          "",   [401, 200, 403, 403, 403, 403, 403, 403, 403]),
    ("PUT",    "/v1/me/declaration",                          "{}", [401, 422, 403, 403, 403, 403, 403, 403, 403]),
    ("PATCH",  "/v1/me/declaration",                          "{}", [401, 422, 403, 403, 403, 403, 403, 403, 403]),
    ("GET",    "/v1/me/declaration/history",                  "",   [401, 200, 403, 403, 403, 403, 403, 403, 403]),
    // No consent yet, so confirming a review is refused.
    ("POST",   "/v1/me/declaration/review",                   "",   [401, 403, 403, 403, 403, 403, 403, 403, 403]),
    ("GET",    "/v1/me/export",                               "",   [401, 200, 403, 403, 403, 403, 403, 403, 403]),
    ("DELETE", "/v1/me/declaration",                          "",   [401, 204, 403, 403, 403, 403, 403, 403, 403]),
    ("GET",    "/v1/reviews",                                 "",   [401, 403, 200, 403, 403, 403, 403, 403, 403]),
    ("POST",   "/v1/privacy-notices",                         "{}", [401, 403, 422, 403, 403, 403, 422, 403, 403]),
    ("GET",    "/scim/v2/ServiceProviderConfig",              "",   [401, 403, 200, 200, 403, 403, 403, 403, 403]),
    ("GET",    "/scim/v2/Schemas",                            "",   [401, 403, 200, 200, 403, 403, 403, 403, 403]),
    ("GET",    "/scim/v2/Schemas/{uuid}",                     "",   [401, 403, 404, 404, 403, 403, 403, 403, 403]),
    ("GET",    "/scim/v2/ResourceTypes",                      "",   [401, 403, 200, 200, 403, 403, 403, 403, 403]),
    ("GET",    "/scim/v2/ResourceTypes/{uuid}",               "",   [401, 403, 404, 404, 403, 403, 403, 403, 403]),
    ("GET",    "/scim/v2/Users",                              "",   [401, 403, 200, 200, 403, 403, 403, 403, 403]),
    ("POST",   "/scim/v2/Users",                              "{}", [401, 403, 400, 400, 403, 403, 403, 403, 403]),
    ("GET",    "/scim/v2/Users/{uuid}",                       "",   [401, 403, 404, 404, 403, 403, 403, 403, 403]),
    ("PUT",    "/scim/v2/Users/{uuid}",                       "{}", [401, 403, 404, 404, 403, 403, 403, 403, 403]),
    ("PATCH",  "/scim/v2/Users/{uuid}",                       "{}", [401, 403, 404, 404, 403, 403, 403, 403, 403]),
    ("DELETE", "/scim/v2/Users/{uuid}",                       "",   [401, 403, 404, 404, 403, 403, 403, 403, 403]),
];

/// A version id that exists nowhere: callers past authorisation get 404.
const NO_SUCH_VERSION: &str = "00000000-0000-0000-0000-000000000000";

async fn tokens(app: &TestApp) -> (Vec<Option<String>>, uuid::Uuid, uuid::Uuid) {
    let org = app.create_org("matrix-force").await;
    let other = app.create_org("other-force").await;
    let mut tokens = vec![None];
    for (i, caller) in CALLERS.iter().enumerate().skip(1) {
        let username = format!("matrix-{caller}");
        let login = match *caller {
            "org_admin" => {
                app.create_account(Some(org.id), &username, &["admin"])
                    .await
            }
            "deployment_admin" => app.create_account(None, &username, &["admin"]).await,
            "national_viewer" => {
                app.create_account(None, &username, &["national_viewer"])
                    .await
            }
            "hr_sync" => {
                let client = declare::services::identity::create_client(
                    &app.state.db,
                    &app.state.auth,
                    org.id,
                    declare::services::identity::NewClient {
                        name: "HR".into(),
                        roles: vec!["hr_sync".into()],
                    },
                )
                .await
                .unwrap();
                let r = app
                    .token_response(&[
                        ("grant_type", "client_credentials"),
                        ("client_id", &client.client_id),
                        ("client_secret", &client.client_secret),
                    ])
                    .await;
                let body: serde_json::Value = r.json().await.unwrap();
                tokens.push(Some(body["access_token"].as_str().unwrap().to_owned()));
                continue;
            }
            // The employee is linked to an employee record, as staff who declare are.
            "employee" => app.create_employee_account(org.id, &username).await.0,
            role => app.create_account(Some(org.id), &username, &[role]).await,
        };
        assert_eq!(tokens.len(), i);
        tokens.push(Some(app.login(&login).await));
    }
    (tokens, org.id, other.id)
}

on_both_backends! {
    async fn every_endpoint_answers_every_role_as_the_matrix_says(backend) {
        let app = spawn_app(backend).await;
        let (tokens, org, other) = tokens(&app).await;
        let mut failures = Vec::new();
        for (method, path, body, expected) in MATRIX {
            let path = path
                .replace("{org}", &org.to_string())
                .replace("{other}", &other.to_string())
                .replace("{version}", NO_SUCH_VERSION)
                .replace("{uuid}", &uuid::Uuid::new_v4().to_string());
            for (i, caller) in CALLERS.iter().enumerate() {
                let mut request = app.client.request(method.parse::<Method>().unwrap(), app.url(&path));
                if let Some(token) = &tokens[i] {
                    request = request.bearer_auth(token);
                }
                if !body.is_empty() {
                    request = request.header("content-type", "application/json").body(body.to_string());
                }
                let status = request.send().await.unwrap().status().as_u16();
                if status != expected[i] {
                    failures.push(format!("{method} {path} as {caller}: expected {}, got {status}", expected[i]));
                }
            }
        }
        assert!(failures.is_empty(), "matrix mismatches:\n{}", failures.join("\n"));
    }
}

#[test]
fn every_documented_operation_has_a_matrix_row() {
    let spec = declare::http::openapi();
    let rows: Vec<(String, String)> = MATRIX
        .iter()
        .map(|(m, p, _, _)| {
            (
                m.to_string(),
                // A row may carry a query (a required parameter); the spec's path has none.
                p.split('?')
                    .next()
                    .unwrap_or(p)
                    .replace("{other}", "{organisation_id}")
                    .replace("{org}", "{organisation_id}")
                    .replace("{version}", "{version_id}")
                    .replace("{uuid}", "{id}"),
            )
        })
        .collect();
    for (path, item) in &spec.paths.paths {
        for (method, present) in [
            ("GET", item.get.is_some()),
            ("POST", item.post.is_some()),
            ("PUT", item.put.is_some()),
            ("PATCH", item.patch.is_some()),
            ("DELETE", item.delete.is_some()),
        ] {
            if present && path != "/oauth/token" {
                assert!(
                    rows.contains(&(method.to_owned(), path.clone())),
                    "{method} {path} has no row in the authorisation matrix"
                );
            }
        }
    }
}
