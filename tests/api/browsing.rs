//! Browsing the pages as a browser would, without one: a cookie jar, GETs and form POSTs that
//! do not follow redirects, and the CSRF token read off a form. Shared by the page tests.

use std::collections::BTreeMap;

use reqwest::header::{HeaderMap, COOKIE, SET_COOKIE};

use crate::helpers::TestApp;

/// A browser's cookie jar, enough for these tests (reqwest's own needs a feature).
#[derive(Default, Clone)]
pub struct Jar(pub BTreeMap<String, String>);

impl Jar {
    pub fn take(&mut self, headers: &HeaderMap) {
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

    pub fn header(&self) -> String {
        self.0
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// The form's CSRF token.
pub fn csrf_of(html: &str) -> String {
    let start = html.find("name=\"csrf\" value=\"").expect("a CSRF field") + 19;
    html[start..start + 64].to_owned()
}

/// GETs a path of the service.
pub async fn get(app: &TestApp, jar: &mut Jar, path: &str) -> (u16, HeaderMap, String) {
    visit(app, jar, &app.url(path)).await
}

/// GETs an absolute URL (the service's, or a provider's).
pub async fn visit(app: &TestApp, jar: &mut Jar, url: &str) -> (u16, HeaderMap, String) {
    let r = app
        .client
        .get(url)
        .header(COOKIE, jar.header())
        .send()
        .await
        .unwrap();
    jar.take(r.headers());
    let (status, headers) = (r.status().as_u16(), r.headers().clone());
    (status, headers, r.text().await.unwrap())
}

/// POSTs a form to a path of the service.
pub async fn post(
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
