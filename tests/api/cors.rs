//! Issue 14, item 11: CORS for browser front ends on listed origins only; off by default.

use reqwest::header::HeaderMap;
use reqwest::Method;

use crate::helpers::{assert_problem, spawn_app, spawn_app_with, TestApp};
use crate::on_both_backends;

const FRONT_END: &str = "https://hr.example.org";

fn cors_headers(headers: &HeaderMap) -> Vec<String> {
    headers
        .keys()
        .map(|k| k.as_str().to_owned())
        .filter(|k| k.starts_with("access-control-"))
        .collect()
}

fn listed(headers: &HeaderMap, name: &str) -> Vec<String> {
    headers
        .get(name)
        .map(|v| {
            v.to_str()
                .unwrap()
                .split(',')
                .map(|s| s.trim().to_ascii_lowercase())
                .collect()
        })
        .unwrap_or_default()
}

async fn preflight(app: &TestApp, origin: &str, method: &str, headers: &str) -> reqwest::Response {
    app.client
        .request(Method::OPTIONS, app.url("/v1/me/declaration"))
        .header("origin", origin)
        .header("access-control-request-method", method)
        .header("access-control-request-headers", headers)
        .send()
        .await
        .unwrap()
}

on_both_backends! {
    async fn without_the_setting_no_response_carries_cors_headers(backend) {
        let app = spawn_app(backend).await;
        let r = app.client.get(app.url("/v1/catalogue/national")).header("origin", FRONT_END).send().await.unwrap();
        assert_eq!(r.status(), 200);
        assert!(cors_headers(r.headers()).is_empty(), "{:?}", r.headers());
        let r = preflight(&app, FRONT_END, "PUT", "authorization").await;
        assert!(cors_headers(r.headers()).is_empty(), "{:?}", r.headers());
        assert_problem(r, 405).await;
    }

    async fn a_listed_origin_gets_preflights_and_exposed_headers_and_no_other_does(backend) {
        let app = spawn_app_with(backend, |c| {
            c.cors_allowed_origins = vec![FRONT_END.into(), "http://localhost:3000".into()];
        }).await;
        let org = app.create_org("cors-force").await;
        let (token, _) = app.consenting_employee(org.id, "alice").await;

        // Preflight from a listed origin.
        let r = preflight(&app, FRONT_END, "PUT", "authorization, content-type, if-match, idempotency-key").await;
        assert_eq!(r.status(), 200);
        let h = r.headers();
        assert_eq!(h["access-control-allow-origin"], FRONT_END);
        for method in ["get", "post", "put", "patch", "delete"] {
            assert!(listed(h, "access-control-allow-methods").contains(&method.to_owned()), "{h:?}");
        }
        for name in ["authorization", "content-type", "if-match", "idempotency-key"] {
            assert!(listed(h, "access-control-allow-headers").contains(&name.to_owned()), "{h:?}");
        }
        assert_eq!(h["access-control-max-age"], "3600");
        assert!(listed(h, "vary").contains(&"origin".to_owned()), "{h:?}");
        assert!(!h.contains_key("access-control-allow-credentials"));

        // The real request: the origin echoed (never *), the headers a front end reads exposed.
        let r = app.authed(Method::GET, "/v1/me/declaration", &token).header("origin", FRONT_END).send().await.unwrap();
        assert_eq!(r.status(), 200);
        let h = r.headers();
        assert_eq!(h["access-control-allow-origin"], FRONT_END);
        let exposed = listed(h, "access-control-expose-headers");
        for name in ["etag", "location", "x-request-id", "retry-after"] {
            assert!(exposed.contains(&name.to_owned()), "{h:?}");
        }
        assert!(listed(h, "vary").contains(&"origin".to_owned()), "{h:?}");
        assert!(!h.contains_key("access-control-allow-credentials"));
        // An error is readable by the front end too.
        let r = app.client.get(app.url("/v1/me")).header("origin", "http://localhost:3000").send().await.unwrap();
        assert_eq!(r.headers()["access-control-allow-origin"], "http://localhost:3000");
        assert_problem(r, 401).await;

        // Any other origin, or a near miss, gets no CORS header at all; non-browser clients
        // (no Origin) are served as before.
        for origin in ["https://evil.example", "https://hr.example.org.evil.example", "http://hr.example.org", "null"] {
            let r = preflight(&app, origin, "PUT", "authorization").await;
            assert!(cors_headers(r.headers()).is_empty(), "{origin}: {:?}", r.headers());
            assert_problem(r, 400).await;
            let r = app.authed(Method::GET, "/v1/me", &token).header("origin", origin).send().await.unwrap();
            assert_eq!(r.status(), 200);
            assert!(cors_headers(r.headers()).is_empty(), "{origin}: {:?}", r.headers());
        }
        let r = app.authed(Method::GET, "/v1/me", &token).send().await.unwrap();
        assert_eq!(r.status(), 200);
        assert!(cors_headers(r.headers()).is_empty(), "{:?}", r.headers());
        // A method the API does not use is not allowed by a preflight.
        let r = preflight(&app, FRONT_END, "TRACE", "authorization").await;
        assert!(!r.headers().contains_key("access-control-allow-origin"));
    }
}
