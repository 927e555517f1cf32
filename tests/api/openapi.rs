//! The committed `openapi.yaml` is what the code generates, and every documented operation is
//! served (the reverse holds by construction: routes are registered through utoipa).

use crate::helpers::{spawn_app, Backend};

fn committed() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.yaml")).unwrap()
}

#[test]
fn committed_openapi_matches_the_code() {
    let generated = declare::http::openapi().to_yaml().unwrap();
    assert!(
        committed() == generated,
        "openapi.yaml is out of date: run `cargo run -q -- openapi > openapi.yaml`"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_documented_operation_is_served() {
    let app = spawn_app(Backend::Sqlite).await;
    let spec = declare::http::openapi();
    let mut checked = 0;
    for (path, item) in &spec.paths.paths {
        let concrete = path
            .split('/')
            .map(|seg| {
                if seg.starts_with('{') {
                    uuid::Uuid::nil().to_string()
                } else {
                    seg.to_owned()
                }
            })
            .collect::<Vec<_>>()
            .join("/");
        let operations = [
            ("GET", item.get.is_some()),
            ("POST", item.post.is_some()),
            ("PUT", item.put.is_some()),
            ("PATCH", item.patch.is_some()),
            ("DELETE", item.delete.is_some()),
        ];
        for (method, present) in operations {
            if !present {
                continue;
            }
            let response = app
                .client
                .request(method.parse().unwrap(), app.url(&concrete))
                .send()
                .await
                .unwrap();
            if response.status() == 404 {
                let body: serde_json::Value = response.json().await.unwrap_or_default();
                assert_ne!(
                    body["type"], "urn:declare:problem:unknown-route",
                    "{method} {path} is documented but not served"
                );
            }
            checked += 1;
        }
    }
    assert!(checked >= 4, "only {checked} operations checked");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_serves_its_own_description() {
    let app = spawn_app(Backend::Sqlite).await;
    let served: serde_json::Value = app.get("/openapi.json").await.json().await.unwrap();
    let generated: serde_json::Value =
        serde_json::from_str(&declare::http::openapi().to_json().unwrap()).unwrap();
    assert_eq!(served, generated);
}

/// Every `$ref` points at a schema the document defines (schemathesis found one that did not).
#[test]
fn every_reference_resolves() {
    fn walk(value: &serde_json::Value, root: &serde_json::Value, dangling: &mut Vec<String>) {
        match value {
            serde_json::Value::Object(map) => {
                if let Some(serde_json::Value::String(reference)) = map.get("$ref") {
                    let pointer = reference.trim_start_matches('#');
                    if root.pointer(pointer).is_none() {
                        dangling.push(reference.clone());
                    }
                }
                map.values().for_each(|v| walk(v, root, dangling));
            }
            serde_json::Value::Array(items) => items.iter().for_each(|v| walk(v, root, dangling)),
            _ => {}
        }
    }
    let spec: serde_json::Value =
        serde_json::from_str(&declare::http::openapi().to_json().unwrap()).unwrap();
    let mut dangling = Vec::new();
    walk(&spec, &spec, &mut dangling);
    assert!(dangling.is_empty(), "unresolvable references: {dangling:?}");
}
