//! Issue 15, item 2: what schemathesis (scripts/schemathesis, decision 0024) found the service
//! refusing although the OpenAPI document allows it, fixed in the service, on both backends.

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{assert_problem, spawn_app, TestApp};
use crate::on_both_backends;

/// An hr_admin token in a fresh organisation.
async fn hr_admin(app: &TestApp) -> String {
    let org = app.create_org("conformance-force").await;
    let login = app
        .create_account(Some(org.id), "hr-lead", &["hr_admin"])
        .await;
    app.login(&login).await
}

async fn send(
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

on_both_backends! {
    async fn an_integer_written_with_a_zero_fraction_or_an_exponent_is_that_integer(backend) {
        // JSON Schema's `integer` is any number with a zero fractional part: `7.0` is one.
        let app = spawn_app(backend).await;
        let token = hr_admin(&app).await;
        let r = send(&app, &token, Method::POST, "/v1/ranks",
            r#"{"code":"pc","name":"Constable","order":7.0}"#).await;
        assert_eq!(r.status(), 201);
        let rank: Value = r.json().await.unwrap();
        assert_eq!(rank["order"], json!(7), "{rank}");
        let id = rank["id"].as_str().unwrap();
        let r = send(&app, &token, Method::PATCH, &format!("/v1/ranks/{id}"), r#"{"order":2e1}"#).await;
        assert_eq!(r.status(), 200);
        let rank: Value = r.json().await.unwrap();
        assert_eq!(rank["order"], json!(20), "{rank}");

        // A fraction is still not an integer, named by its field; nothing changes.
        let r = send(&app, &token, Method::PATCH, &format!("/v1/ranks/{id}"), r#"{"order":2.5}"#).await;
        let problem = assert_problem(r, 422).await;
        assert_eq!(problem["errors"][0]["field"], "order", "{problem}");
        let ranks: Value = app.authed(Method::GET, "/v1/ranks", &token).send().await.unwrap()
            .json().await.unwrap();
        assert_eq!(ranks[0]["order"], json!(20), "{ranks}");
    }

    async fn a_name_of_200_characters_fits_however_many_bytes_they_take(backend) {
        // `maxLength: 200` counts characters; "ŵ" is two bytes in UTF-8.
        let app = spawn_app(backend).await;
        let token = hr_admin(&app).await;
        let long = "ŵ".repeat(200);
        let r = send(&app, &token, Method::POST, "/v1/org-units",
            &json!({"code": "gwynedd", "name": long, "kind": "force"}).to_string()).await;
        assert_eq!(r.status(), 201);
        let unit: Value = r.json().await.unwrap();
        assert_eq!(unit["name"], json!(long));
        let r = send(&app, &token, Method::POST, "/v1/ranks",
            &json!({"code": "pc", "name": long, "order": 1}).to_string()).await;
        assert_eq!(r.status(), 201);
        let types: Value = app.authed(Method::GET, "/v1/staff-types", &token).send().await.unwrap()
            .json().await.unwrap();
        let staff_type = types[0]["id"].as_str().unwrap();
        let r = send(&app, &token, Method::PATCH, &format!("/v1/staff-types/{staff_type}"),
            &json!({"name": long}).to_string()).await;
        assert_eq!(r.status(), 200);

        // 201 characters is one too many.
        let r = send(&app, &token, Method::POST, "/v1/org-units",
            &json!({"code": "conwy", "name": "ŵ".repeat(201), "kind": "force"}).to_string()).await;
        let problem = assert_problem(r, 422).await;
        assert_eq!(problem["errors"][0]["field"], "name", "{problem}");
    }
}
