//! Issue 15: the contract an integrator builds on. What the service answers is what the
//! OpenAPI document says: query problems name their parameter, page sizes outside the
//! documented range are refused (not clamped), pages link to the next one (RFC 8288),
//! timestamps carry their zone, and every error response and stats cell has a real schema.

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{assert_problem, spawn_app, Backend, TestApp};
use crate::on_both_backends;

fn spec() -> Value {
    serde_json::from_str(&declare::http::openapi().to_json().unwrap()).unwrap()
}

/// The one field a 400 names.
async fn named_parameter(response: reqwest::Response) -> (String, String) {
    let body = assert_problem(response, 400).await;
    let errors = body["errors"].as_array().cloned().unwrap_or_default();
    assert_eq!(errors.len(), 1, "{body}");
    (
        errors[0]["field"].as_str().unwrap().to_owned(),
        errors[0]["code"].as_str().unwrap().to_owned(),
    )
}

async fn get(app: &TestApp, token: &str, path: &str) -> reqwest::Response {
    app.authed(Method::GET, path, token).send().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn query_problems_name_the_parameter() {
    let app = spawn_app(Backend::Sqlite).await;
    let org = app.create_org("query-force").await;
    let edi = app
        .create_account(Some(org.id), "edith", &["edi_viewer"])
        .await;
    let edi = app.login(&edi).await;
    let auditor = app
        .create_account(Some(org.id), "audrey", &["auditor"])
        .await;
    let auditor = app.login(&auditor).await;

    let missing = get(&app, &edi, "/v1/stats/completion").await;
    assert_eq!(
        named_parameter(missing).await,
        ("characteristic".into(), "required".into())
    );
    let wrong_enum = get(
        &app,
        &edi,
        "/v1/stats/completion?characteristic=disability&by=sideways",
    )
    .await;
    assert_eq!(named_parameter(wrong_enum).await.0, "by");
    let not_a_number = get(&app, &auditor, "/v1/audit?limit=abc").await;
    assert_eq!(
        named_parameter(not_a_number).await,
        ("limit".into(), "invalid_query".into())
    );
    let unknown = get(&app, &auditor, "/v1/audit?colour=red").await;
    assert_eq!(
        named_parameter(unknown).await,
        ("colour".into(), "unknown_parameter".into())
    );
}

on_both_backends! {
    async fn page_sizes_outside_the_range_are_refused_and_pages_link_onwards(backend) {
        let app = spawn_app(backend).await;
        let org = app.create_org("paging-force").await;
        for n in ["E1", "E2", "E3"] {
            app.create_employee(org.id, n, None).await;
        }
        let hr = app.create_account(Some(org.id), "harriet", &["hr_admin"]).await;
        let hr = app.login(&hr).await;
        for limit in ["0", "1001", "2147483648", "-1"] {
            let r = get(&app, &hr, &format!("/v1/employees?limit={limit}")).await;
            assert_eq!(named_parameter(r).await.0, "limit", "limit={limit}");
        }

        let first = get(&app, &hr, "/v1/employees?limit=2").await;
        assert_eq!(first.status(), 200);
        let link = first.headers()["link"].to_str().unwrap().to_owned();
        assert_eq!(link, "</v1/employees?limit=2&after=E2>; rel=\"next\"");
        let body: Value = first.json().await.unwrap();
        assert_eq!(body["items"].as_array().unwrap().len(), 2);
        let next = link.trim_start_matches('<').split('>').next().unwrap().to_owned();
        let last = get(&app, &hr, &next).await;
        assert_eq!(last.status(), 200);
        assert!(last.headers().get("link").is_none(), "the last page links nowhere");
        let body: Value = last.json().await.unwrap();
        assert_eq!(body["items"][0]["employee_number"], "E3");

        let auditor = app.create_account(Some(org.id), "audrey", &["auditor"]).await;
        let auditor = app.login(&auditor).await;
        let page = get(&app, &auditor, "/v1/audit?limit=1").await;
        assert!(page.headers()["link"].to_str().unwrap().starts_with("</v1/audit?limit=1&after="));
    }

    async fn every_timestamp_is_rfc3339_with_its_zone(backend) {
        let app = spawn_app(backend).await;
        let org = app.create_org("clock-force").await;
        let (token, _) = app.consenting_employee(org.id, "tim").await;
        app.declare_answers(&token, json!({"sex": {"gateway": "prefer_not_to_say"}})).await;
        let declaration: Value = get(&app, &token, "/v1/me/declaration").await.json().await.unwrap();
        let consents: Value = get(&app, &token, "/v1/me/consents").await.json().await.unwrap();
        let history: Value = get(&app, &token, "/v1/me/declaration/history").await.json().await.unwrap();
        let versions: Value = get(&app, &token, "/v1/catalogue/versions").await.json().await.unwrap();
        let stamps = [
            &declaration["updated_at"],
            &declaration["last_reviewed_at"],
            &consents["notice"]["published_at"],
            &consents["consents"][0]["granted_at"],
            &history[0]["changed_at"],
            &versions[0]["created_at"],
            &versions[0]["published_at"],
        ];
        for stamp in stamps {
            let text = stamp.as_str().unwrap_or_else(|| panic!("not a timestamp: {stamp}"));
            assert!(text.ends_with('Z'), "{text} names no zone");
            chrono::DateTime::parse_from_rfc3339(text).unwrap_or_else(|e| panic!("{text}: {e}"));
        }
    }

    async fn a_real_migration_refuses_an_array_for_the_mapping(backend) {
        let app = spawn_app(backend).await;
        let org = app.create_org("mapping-force").await;
        let editor = app.create_account(Some(org.id), "edwin", &["hr_admin"]).await;
        let editor = app.login(&editor).await;
        for dry_run in [false, true] {
            let r = app
                .authed(Method::POST, "/v1/catalogue/migrations", &editor)
                .json(&json!({"mapping": [], "dry_run": dry_run}))
                .send()
                .await
                .unwrap();
            let body = assert_problem(r, 422).await;
            assert_eq!(body["errors"][0]["field"], "mapping", "{body}");
        }
    }
}

#[test]
fn every_error_response_has_the_problem_schema() {
    let spec = spec();
    let mut missing = Vec::new();
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let Some(responses) = operation["responses"].as_object() else {
                continue;
            };
            for (status, response) in responses {
                if !(status.starts_with('4') || status.starts_with('5')) {
                    continue;
                }
                let (media, schema) = if path.starts_with("/scim/") {
                    ("application/scim+json", "#/components/schemas/ScimError")
                } else if path == "/oauth/token" && ["400", "401", "429"].contains(&status.as_str())
                {
                    // RFC 6749 section 5.2: the grant's errors are application/json, the
                    // problem fields inside beside `error` and `error_description`.
                    ("application/json", "#/components/schemas/Problem")
                } else {
                    ("application/problem+json", "#/components/schemas/Problem")
                };
                if response["content"][media]["schema"]["$ref"] != schema {
                    missing.push(format!("{method} {path} {status}"));
                }
            }
            for status in ["400", "500"] {
                if !responses.contains_key(status) {
                    missing.push(format!("{method} {path} lacks {status}"));
                }
            }
            if operation.get("requestBody").is_some() {
                for status in ["413", "415"] {
                    if !responses.contains_key(status) {
                        missing.push(format!("{method} {path} lacks {status}"));
                    }
                }
            }
        }
    }
    assert!(
        missing.is_empty(),
        "error responses without their schema: {missing:#?}"
    );
}

#[test]
fn answers_consents_and_cells_have_real_schemas() {
    let spec = spec();
    let schemas = &spec["components"]["schemas"];
    let answers = &schemas["ReplaceDeclaration"]["properties"]["answers"];
    assert_eq!(
        answers["additionalProperties"]["$ref"], "#/components/schemas/Answer",
        "{answers}"
    );
    assert!(schemas["Answer"]["properties"]["gateway"].is_object());
    assert!(schemas["DetailAnswer"]["properties"]["selected"].is_object());
    assert!(schemas["DetailAnswer"]["properties"]["other_text"].is_object());
    assert!(schemas["ReplaceDeclaration"]["example"].is_object());
    assert!(schemas["PatchDeclaration"]["example"].is_object());

    let purposes = &schemas["ConsentPurposes"];
    assert_eq!(purposes["additionalProperties"], false);
    // `null` is refused, so the schema must not allow it (schemathesis sent one).
    assert_eq!(
        purposes["properties"]["equality_monitoring"]["type"],
        "boolean"
    );
    assert!(purposes["properties"]["workplace_adjustments"].is_object());
    assert_eq!(
        schemas["Purpose"]["enum"],
        json!(["equality_monitoring", "workplace_adjustments"])
    );

    let cells = &schemas["FigureRow"]["properties"]["cells"]["items"];
    assert_eq!(
        cells["$ref"], "#/components/schemas/PublishedCell",
        "{cells}"
    );
    let count = serde_json::to_string(&schemas["PublishedCount"]).unwrap();
    assert!(
        count.contains("integer") && count.contains("suppressed"),
        "{count}"
    );
    let percent = serde_json::to_string(&schemas["PublishedPercent"]).unwrap();
    assert!(
        percent.contains("number") && percent.contains("null"),
        "{percent}"
    );
    assert_eq!(
        schemas["Figures"]["properties"]["rules"]["$ref"],
        "#/components/schemas/RulesApplied"
    );
    for field in [
        "method",
        "noise_sd",
        "min_cell",
        "min_group",
        "round_to",
        "rate_decimals",
        "refresh_seconds",
        "small_count_suppressions",
        "small_group_suppressions",
    ] {
        assert!(
            schemas["RulesApplied"]["properties"][field].is_object(),
            "rules lack {field}"
        );
    }
    assert_eq!(
        schemas["FigureRow"]["properties"]["headcount"]["type"],
        "integer"
    );
}

/// openapi-python-client 0.29 generates an object nested inline in a `oneOf` member twice,
/// drops it, and leaves the union importing a module that does not exist: a generated client
/// then could not read a catalogue (`Selection`, `Condition`). Every such object is a named
/// schema instead.
#[test]
fn objects_inside_one_of_members_are_named_schemas() {
    let spec = spec();
    let schemas = spec["components"]["schemas"].as_object().unwrap();
    let mut inline = Vec::new();
    for (name, schema) in schemas {
        for (i, member) in schema["oneOf"].as_array().into_iter().flatten().enumerate() {
            for (property, value) in member["properties"].as_object().into_iter().flatten() {
                if value["properties"].is_object() {
                    inline.push(format!("{name}.oneOf[{i}].{property}"));
                }
            }
        }
    }
    assert!(
        inline.is_empty(),
        "unnamed objects in oneOf members: {inline:?}"
    );

    // The named schemas describe what the catalogue's own types serialize to.
    let condition = serde_json::to_value(declare::domain::catalogue::Condition::DetailIn {
        list: "ethnic_group".into(),
        options: vec!["white".into()],
    })
    .unwrap();
    let members = &schemas["Condition"]["oneOf"];
    assert_eq!(
        members[1]["properties"]["detail_in"]["$ref"],
        "#/components/schemas/DetailCondition"
    );
    let mut sent: Vec<&String> = condition["detail_in"].as_object().unwrap().keys().collect();
    sent.sort();
    assert_eq!(sent, ["list", "options"]);
    assert_eq!(
        schemas["DetailCondition"]["required"],
        json!(["list", "options"])
    );
    let gateway = serde_json::to_value(declare::domain::catalogue::Condition::GatewayIn(vec![
        "yes".into(),
    ]))
    .unwrap();
    assert_eq!(gateway, json!({"gateway_in": ["yes"]}));
    assert_eq!(members[0]["required"], json!(["gateway_in"]));

    let multi =
        serde_json::to_value(declare::domain::catalogue::Selection::Multi { max: 3 }).unwrap();
    assert_eq!(multi, json!({"multi": {"max": 3}}));
    let members = &schemas["Selection"]["oneOf"];
    assert_eq!(members[0]["enum"], json!(["single"]));
    assert_eq!(
        members[1]["properties"]["multi"]["$ref"],
        "#/components/schemas/MultiSelection"
    );
    assert_eq!(schemas["MultiSelection"]["required"], json!(["max"]));
}

#[test]
fn timestamps_limits_and_if_match_are_documented() {
    let spec = spec();
    let schemas = &spec["components"]["schemas"];
    for (schema, field) in [
        ("DeclarationView", "updated_at"),
        ("HistoryEntry", "changed_at"),
        ("ConsentView", "granted_at"),
        ("NoticeView", "published_at"),
        ("CatalogueVersionSummary", "created_at"),
        ("AuditEventView", "occurred_at"),
        ("SnapshotSummary", "taken_at"),
        ("Figures", "as_at"),
    ] {
        assert_eq!(
            schemas[schema]["properties"][field]["format"], "date-time",
            "{schema}.{field}"
        );
    }
    for path in ["/v1/employees", "/v1/audit", "/v1/reviews"] {
        let operation = &spec["paths"][path]["get"];
        let limit = operation["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == "limit")
            .unwrap_or_else(|| panic!("{path} has no limit"));
        assert_eq!(limit["schema"]["minimum"], 1, "{path}");
        assert_eq!(limit["schema"]["maximum"], 1000, "{path}");
        assert!(
            operation["responses"]["200"]["headers"]["Link"].is_object(),
            "{path}"
        );
    }
    for path in [
        "/v1/stats/completion",
        "/v1/stats/distribution",
        "/v1/stats/trend",
    ] {
        let parameters = spec["paths"][path]["get"]["parameters"].as_array().unwrap();
        let level = parameters.iter().find(|p| p["name"] == "level").unwrap();
        assert_eq!(
            (
                level["schema"]["minimum"].as_i64(),
                level["schema"]["maximum"].as_i64()
            ),
            (Some(1), Some(8)),
            "{path}"
        );
    }
    assert!(schemas["NewOrgUnit"]["properties"]["code"]["pattern"].is_string());
    for method in ["put", "patch"] {
        let operation = &spec["paths"]["/v1/me/declaration"][method];
        let if_match = operation["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == "If-Match")
            .unwrap();
        assert_eq!(if_match["required"], true);
        assert!(operation["responses"]["428"].is_object());
    }
}

#[test]
fn the_single_language_catalogue_is_described() {
    let spec = spec();
    let schemas = &spec["components"]["schemas"];
    let label = &schemas["CharacteristicInLanguage"]["properties"]["label"];
    assert_eq!(label["type"], "string", "{label}");
    assert_eq!(
        schemas["Characteristic"]["properties"]["label"]["$ref"],
        "#/components/schemas/Localised"
    );
    for path in [
        "/v1/catalogue/national",
        "/v1/catalogue",
        "/v1/catalogue/versions/{version_id}",
    ] {
        let shapes = &spec["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]
            ["schema"]["oneOf"];
        assert_eq!(shapes.as_array().map(Vec::len), Some(2), "{path}: {shapes}");
        assert!(shapes[1]["$ref"].as_str().unwrap().ends_with("InLanguage"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn welsh_catalogue_strings_are_plain_strings() {
    let app = spawn_app(Backend::Sqlite).await;
    let body: Value = app
        .get("/v1/catalogue/national?lang=cy")
        .await
        .json()
        .await
        .unwrap();
    assert!(body["characteristics"][0]["label"].is_string());
    let body: Value = app
        .get("/v1/catalogue/national")
        .await
        .json()
        .await
        .unwrap();
    assert!(body["characteristics"][0]["label"]["cy"].is_string());
}

/// Every JSON request body, and every 2xx JSON body of the `/v1` and token APIs, has an
/// example (on its schema or its media type), so an integrator sees a real one.
#[test]
fn bodies_have_examples() {
    let spec = spec();
    let schemas = &spec["components"]["schemas"];
    let has_example = |content: &Value| {
        if content.get("example").is_some() {
            return true;
        }
        let schema = &content["schema"];
        let reference = schema["$ref"]
            .as_str()
            .or_else(|| schema["items"]["$ref"].as_str());
        reference.is_some_and(|r| {
            schemas[r.trim_start_matches("#/components/schemas/")]
                .get("example")
                .is_some()
        })
    };
    let mut missing = Vec::new();
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            if let Some(content) = operation["requestBody"]["content"].as_object() {
                for (media, c) in content {
                    if !has_example(c) {
                        missing.push(format!("{method} {path} request {media}"));
                    }
                }
            }
            if !(path.starts_with("/v1") || path.starts_with("/oauth")) {
                continue;
            }
            for (status, response) in operation["responses"].as_object().unwrap() {
                if !status.starts_with('2') {
                    continue;
                }
                for (media, c) in response["content"].as_object().into_iter().flatten() {
                    let lang_read = c["schema"]["oneOf"].is_array();
                    if !lang_read && !has_example(c) {
                        missing.push(format!("{method} {path} {status} {media}"));
                    }
                }
            }
        }
    }
    assert!(
        missing.is_empty(),
        "bodies without an example: {missing:#?}"
    );
}
