//! Every error is RFC 9457 problem+json, whoever produces it.

use reqwest::Method;

use crate::helpers::{assert_problem, spawn_app};
use crate::on_both_backends;

on_both_backends! {
    async fn unknown_route_is_a_problem(backend) {
        let app = spawn_app(backend).await;
        let body = assert_problem(app.get("/v1/nothing-here").await, 404).await;
        assert_eq!(body["type"], "urn:declare:problem:unknown-route");
        for path in ["/healthzz", "/v1/ranks/a/b", "/v1/ranks/", "/oauth"] {
            let r = app.client.delete(app.url(path)).send().await.unwrap();
            assert!(!r.headers().contains_key("allow"), "{path}");
            assert_problem(r, 404).await;
        }
    }

    async fn a_wrong_method_on_a_known_path_is_405_with_allow(backend) {
        let app = spawn_app(backend).await;
        let uuid = uuid::Uuid::new_v4();
        let cases = [
            (Method::DELETE, "/healthz".to_owned(), "GET"),
            (Method::GET, "/oauth/token".to_owned(), "POST"),
            (Method::PUT, "/v1/me".to_owned(), "GET"),
            (Method::POST, "/v1/me/declaration".to_owned(), "GET, PUT, PATCH, DELETE"),
            (Method::DELETE, format!("/v1/ranks/{uuid}"), "GET, PATCH"),
            (Method::PUT, "/v1/org-units".to_owned(), "GET, POST"),
            (Method::DELETE, "/v1/catalogue/drafts".to_owned(), "POST"),
            (Method::POST, "/openapi.json".to_owned(), "GET"),
            (Method::from_bytes(b"BREW").unwrap(), "/v1/employees".to_owned(), "GET"),
        ];
        for (method, path, allow) in cases {
            // No credentials: which methods a path serves is public (it is in /openapi.json).
            let r = app.client.request(method.clone(), app.url(&path)).send().await.unwrap();
            assert_eq!(r.headers().get("allow").map(|v| v.to_str().unwrap()), Some(allow), "{method} {path}");
            let body = assert_problem(r, 405).await;
            assert_eq!(body["type"], "urn:declare:problem:method-not-allowed");
            assert!(body["detail"].as_str().unwrap().contains(allow), "{body}");
        }
    }
}
