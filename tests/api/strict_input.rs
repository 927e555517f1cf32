//! Issue 14, items 7 and 8: text with a NUL character, JSON with something after the document
//! and JSON of the wrong shape are refused as bad input (never a 500, never stored), wherever
//! they enter, on both backends.

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{assert_problem, spawn_app, TestApp};
use crate::on_both_backends;

const SCIM_JSON: &str = "application/scim+json";

/// An organisation with a unit `north`, a rank `pc` and one employee (via SCIM); returns an
/// hr_admin token, the rank's id and the SCIM user's id.
async fn setup(app: &TestApp) -> (String, String, String) {
    let org = app.create_org("strict-force").await;
    let login = app
        .create_account(Some(org.id), "hr-lead", &["hr_admin"])
        .await;
    let token = app.login(&login).await;
    let post = |path: &str, body: Value| {
        let request = app
            .authed(Method::POST, path, &token)
            .header(
                "content-type",
                if path.starts_with("/scim") {
                    SCIM_JSON
                } else {
                    "application/json"
                },
            )
            .body(body.to_string());
        async move {
            let r = request.send().await.unwrap();
            assert_eq!(r.status(), 201);
            r.json::<Value>().await.unwrap()
        }
    };
    post(
        "/v1/org-units",
        json!({"code": "north", "name": "North", "kind": "force"}),
    )
    .await;
    let rank = post(
        "/v1/ranks",
        json!({"code": "pc", "name": "Constable", "order": 1}),
    )
    .await;
    let user = post(
        "/scim/v2/Users",
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": "E1",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "north"},
            "urn:declare:scim:schemas:extension:workforce:1.0:User":
                {"staffType": "police_officer", "rank": "pc", "startDate": "2021-04-01"},
        }),
    )
    .await;
    (
        token,
        rank["id"].as_str().unwrap().to_owned(),
        user["id"].as_str().unwrap().to_owned(),
    )
}

/// The one problem of a refused request: its field and code.
fn first_error(problem: &Value) -> (&str, &str) {
    let error = &problem["errors"][0];
    (
        error["field"].as_str().unwrap_or_default(),
        error["code"].as_str().unwrap_or_default(),
    )
}

async fn send_json(
    app: &TestApp,
    token: &str,
    method: Method,
    path: &str,
    body: &str,
) -> reqwest::Response {
    app.authed(method, path, token)
        .header("content-type", "application/json")
        .body(body.to_owned())
        .send()
        .await
        .unwrap()
}

async fn rank_names(app: &TestApp, token: &str) -> Vec<String> {
    let ranks: Vec<Value> = app
        .authed(Method::GET, "/v1/ranks", token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    ranks
        .iter()
        .map(|r| r["name"].as_str().unwrap().to_owned())
        .collect()
}

on_both_backends! {
    async fn a_nul_at_the_token_endpoint_is_an_invalid_request_naming_the_field(backend) {
        let app = spawn_app(backend).await;
        let cases: [(&[(&str, &str)], &str); 3] = [
            (&[("grant_type", "password"), ("username", "ro\0ot"), ("password", "x")], "username"),
            (&[("grant_type", "client_credentials"), ("client_id", "c\0"), ("client_secret", "s")], "client_id"),
            (&[("grant_type", "password\0"), ("username", "root"), ("password", "x")], "grant_type"),
        ];
        for (form, field) in cases {
            let problem = assert_problem(app.token_response(form).await, 400).await;
            assert_eq!(problem["error"], "invalid_request", "{problem}");
            assert_eq!(first_error(&problem), (field, "nul_character"), "{problem}");
        }
        // Client credentials in HTTP Basic are form fields too.
        let r = app.client.post(app.url("/oauth/token"))
            .basic_auth("client\0id", Some("secret"))
            .form(&[("grant_type", "client_credentials")])
            .send().await.unwrap();
        let problem = assert_problem(r, 400).await;
        assert_eq!(first_error(&problem), ("client_id", "nul_character"), "{problem}");
    }

    async fn a_nul_in_a_query_or_path_parameter_is_refused_naming_it(backend) {
        let app = spawn_app(backend).await;
        let (token, _, user) = setup(&app).await;
        let r = app.authed(Method::GET, "/v1/employees?limit=5&after=E%001", &token).send().await.unwrap();
        let problem = assert_problem(r, 400).await;
        assert_eq!(first_error(&problem), ("after", "nul_character"), "{problem}");

        // SCIM ids, filters and paths: SCIM error bodies (decision 0006), naming the parameter.
        for (method, path) in [
            (Method::GET, "/scim/v2/Users/a%00b".to_owned()),
            (Method::PUT, format!("/scim/v2/Users/{user}%00")),
            (Method::DELETE, "/scim/v2/Users/%00".to_owned()),
            (Method::GET, "/scim/v2/Users?filter=userName%20eq%20%22E%001%22".to_owned()),
        ] {
            let mut request = app.authed(method.clone(), &path, &token);
            if method == Method::PUT {
                request = request.header("content-type", SCIM_JSON).body(json!({
                    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "E1",
                }).to_string());
            }
            let r = request.send().await.unwrap();
            assert_eq!(r.status(), 400, "{method} {path}");
            assert_eq!(r.headers()["content-type"], SCIM_JSON);
            let body: Value = r.json().await.unwrap();
            assert_eq!(body["scimType"], "invalidValue", "{body}");
            let named = if path.contains("filter") { "filter" } else { "id" };
            assert!(body["detail"].as_str().unwrap().starts_with(named), "{body}");
        }
        // The user is still there, untouched.
        let r = app.authed(Method::GET, &format!("/scim/v2/Users/{user}"), &token).send().await.unwrap();
        assert_eq!(r.status(), 200);
    }

    async fn a_nul_in_a_json_body_is_refused_naming_the_field_and_nothing_is_written(backend) {
        let app = spawn_app(backend).await;
        let (token, rank, user) = setup(&app).await;
        let r = send_json(&app, &token, Method::POST, "/v1/ranks",
            r#"{"code":"sgt","name":"Ser\u0000geant","order":2}"#).await;
        let problem = assert_problem(r, 422).await;
        assert_eq!(first_error(&problem), ("name", "nul_character"), "{problem}");
        let r = send_json(&app, &token, Method::PATCH, &format!("/v1/ranks/{rank}"),
            r#"{"name":"\u0000"}"#).await;
        let problem = assert_problem(r, 422).await;
        assert_eq!(first_error(&problem), ("name", "nul_character"), "{problem}");
        let r = send_json(&app, &token, Method::POST, "/v1/org-units",
            r#"{"code":"so\u0000uth","name":"South","kind":"team"}"#).await;
        let problem = assert_problem(r, 422).await;
        assert_eq!(first_error(&problem), ("code", "nul_character"), "{problem}");
        assert_eq!(rank_names(&app, &token).await, ["Constable"]);

        // SCIM bodies: a SCIM 400 naming the attribute; the user keeps their userName.
        let r = app.authed(Method::PUT, &format!("/scim/v2/Users/{user}"), &token)
            .header("content-type", SCIM_JSON)
            .body(r#"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"E\u00001"}"#)
            .send().await.unwrap();
        assert_eq!(r.status(), 400);
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["scimType"], "invalidValue", "{body}");
        assert!(body["detail"].as_str().unwrap().starts_with("userName"), "{body}");
        let current: Value = app.authed(Method::GET, &format!("/scim/v2/Users/{user}"), &token)
            .send().await.unwrap().json().await.unwrap();
        assert_eq!(current["userName"], "E1");
    }

    async fn a_nul_in_a_sync_upload_rejects_its_row_and_nothing_is_written(backend) {
        let app = spawn_app(backend).await;
        let (token, _, _) = setup(&app).await;
        let uploads = [
            ("text/csv", "employee_number,external_subject,org_unit,staff_type,rank,fte,start_date,leave_date\n\
                E2,,north,police_staff,,1,2020-01-01,\nE\u{0}3,,north,police_staff,,1,2020-01-01,\n".to_owned(), 3),
            ("application/x-ndjson", format!("{}\n{}\n",
                json!({"employee_number": "E2", "org_unit": "north", "staff_type": "police_staff", "fte": 1, "start_date": "2020-01-01"}),
                json!({"employee_number": "E3", "org_unit": "nor\u{0}th", "staff_type": "police_staff", "fte": 1, "start_date": "2020-01-01"})), 2),
        ];
        for (media, body, line) in uploads {
            let r = app.authed(Method::POST, "/v1/sync/employees?mode=delta", &token)
                .header("content-type", media)
                .body(body)
                .send().await.unwrap();
            let problem = assert_problem(r, 422).await;
            let rows = problem["rejected_rows"].as_array().unwrap();
            assert_eq!(rows.len(), 1, "{problem}");
            assert_eq!(rows[0]["line"], line, "{problem}");
            assert_eq!(rows[0]["errors"][0]["code"], "nul_character", "{problem}");
            let field = if media == "text/csv" { "employee_number" } else { "org_unit" };
            assert_eq!(rows[0]["errors"][0]["field"], field, "{problem}");
        }
        let page: Value = app.authed(Method::GET, "/v1/employees", &token)
            .send().await.unwrap().json().await.unwrap();
        let numbers: Vec<&str> = page["items"].as_array().unwrap().iter()
            .map(|e| e["employee_number"].as_str().unwrap()).collect();
        assert_eq!(numbers, ["E1"], "only the SCIM user of the set-up exists");
    }

    async fn json_with_anything_after_the_document_is_refused(backend) {
        let app = spawn_app(backend).await;
        let (token, rank, _) = setup(&app).await;
        for body in [r#"{"name":"Renamed"} xyz"#, r#"{"name":"Renamed"}}"#, r#"{"name":"Renamed"}{}"#] {
            let r = send_json(&app, &token, Method::PATCH, &format!("/v1/ranks/{rank}"), body).await;
            let problem = assert_problem(r, 400).await;
            assert_eq!(first_error(&problem), ("body", "malformed_json"), "{body}: {problem}");
        }
        let r = send_json(&app, &token, Method::POST, "/v1/ranks",
            r#"{"code":"sgt","name":"Sergeant","order":2} trailing"#).await;
        assert_problem(r, 400).await;
        assert_eq!(rank_names(&app, &token).await, ["Constable"]);
        // Whitespace after the document is still fine.
        let r = send_json(&app, &token, Method::PATCH, &format!("/v1/ranks/{rank}"), "{\"order\":3}\r\n ").await;
        assert_eq!(r.status(), 200);
    }

    async fn an_array_where_an_object_belongs_is_refused(backend) {
        let app = spawn_app(backend).await;
        let (token, rank, _) = setup(&app).await;
        let r = send_json(&app, &token, Method::PATCH, &format!("/v1/ranks/{rank}"), r#"["Renamed by array",7]"#).await;
        let problem = assert_problem(r, 422).await;
        assert_eq!(first_error(&problem), ("body", "invalid_value"), "{problem}");
        let r = send_json(&app, &token, Method::POST, "/v1/ranks", r#"["sgt","Sergeant",2,null]"#).await;
        assert_problem(r, 422).await;
        let r = send_json(&app, &token, Method::POST, "/v1/org-units", r#"["x","n","team"]"#).await;
        assert_problem(r, 422).await;
        assert_eq!(rank_names(&app, &token).await, ["Constable"]);
        let units: Vec<Value> = app.authed(Method::GET, "/v1/org-units", &token)
            .send().await.unwrap().json().await.unwrap();
        assert_eq!(units.len(), 1);
    }
}
