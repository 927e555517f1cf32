//! Issue 14, item 10: `X-Content-Type-Options: nosniff` on every response, and
//! `Cache-Control: no-store` on every response that carries personal data or secrets.

use reqwest::Method;

use crate::helpers::spawn_app;
use crate::on_both_backends;

on_both_backends! {
    async fn every_response_is_nosniff_and_personal_data_is_never_stored(backend) {
        let app = spawn_app(backend).await;
        let org = app.create_org("headers-force").await;
        let (employee, employee_id) = app.consenting_employee(org.id, "alice").await;
        let hr = app.login(&app.create_account(Some(org.id), "hr-lead", &["hr_admin"]).await).await;
        let auditor = app.login(&app.create_account(Some(org.id), "auditor", &["auditor"]).await).await;

        let personal = [
            (Method::GET, "/v1/me".to_owned(), &employee, 200),
            (Method::GET, "/v1/me/consents".to_owned(), &employee, 200),
            (Method::GET, "/v1/me/declaration".to_owned(), &employee, 200),
            (Method::GET, "/v1/me/declaration/history".to_owned(), &employee, 200),
            (Method::GET, "/v1/me/export".to_owned(), &employee, 200),
            (Method::GET, "/v1/employees".to_owned(), &hr, 200),
            (Method::GET, format!("/v1/employees/{employee_id}"), &hr, 200),
            (Method::GET, "/scim/v2/Users".to_owned(), &hr, 200),
            (Method::GET, format!("/scim/v2/Users/{employee_id}"), &hr, 200),
            (Method::GET, "/v1/reviews".to_owned(), &hr, 200),
            (Method::GET, "/v1/audit".to_owned(), &auditor, 200),
            // Errors too: a problem can echo what was sent.
            (Method::GET, "/v1/employees/not-a-uuid".to_owned(), &hr, 400),
            (Method::GET, "/v1/audit".to_owned(), &employee, 403),
        ];
        for (method, path, token, status) in personal {
            let r = app.authed(method.clone(), &path, token).send().await.unwrap();
            assert_eq!(r.status(), status, "{method} {path}");
            assert_eq!(r.headers()["cache-control"], "no-store", "{method} {path}");
            assert_eq!(r.headers()["x-content-type-options"], "nosniff", "{method} {path}");
        }

        // The token endpoint (RFC 6749 section 5.1), issued or refused.
        let issued = app.token_response(&[("grant_type", "password"), ("username", "alice"), ("password", "pw-alice-correct-horse")]).await;
        assert_eq!(issued.status(), 200);
        let refused = app.token_response(&[("grant_type", "password"), ("username", "alice"), ("password", "wrong")]).await;
        assert_eq!(refused.status(), 400);
        for r in [issued, refused] {
            assert_eq!(r.headers()["cache-control"], "no-store");
            assert_eq!(r.headers()["x-content-type-options"], "nosniff");
        }

        // Everything else is nosniff too: health, metrics, the OpenAPI document, 404s, 405s.
        for (method, path) in [
            (Method::GET, "/healthz"), (Method::GET, "/readyz"), (Method::GET, "/metrics"),
            (Method::GET, "/openapi.json"), (Method::GET, "/v1/nothing"), (Method::DELETE, "/healthz"),
            (Method::GET, "/scim/v2/Nothing"), (Method::GET, "/v1/catalogue/national"),
        ] {
            let r = app.client.request(method.clone(), app.url(path)).send().await.unwrap();
            assert_eq!(r.headers()["x-content-type-options"], "nosniff", "{method} {path}");
        }
        // The catalogue keeps its own caching policy: front ends revalidate it by ETag.
        let r = app.get("/v1/catalogue/national").await;
        assert_eq!(r.headers()["cache-control"], "public, no-cache");
    }
}
