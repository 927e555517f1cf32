//! SCIM 2.0 Users over employees, discovery and SCIM error bodies, on both backends.

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{spawn_app, TestApp};
use crate::on_both_backends;

const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const WORKFORCE: &str = "urn:declare:scim:schemas:extension:workforce:1.0:User";
const SCIM_JSON: &str = "application/scim+json";

/// An organisation with units `force` > `north`, `south`, a rank `pc`; returns an hr_sync
/// client-credentials token (the usual SCIM caller).
async fn setup(app: &TestApp) -> String {
    let org = app.create_org("scim-force").await;
    let login = app
        .create_account(Some(org.id), "hr-lead", &["hr_admin"])
        .await;
    let admin = app.login(&login).await;
    let post = |path: &'static str, body: Value| {
        let request = app.authed(Method::POST, path, &admin).json(&body);
        async move {
            let r = request.send().await.unwrap();
            assert_eq!(r.status(), 201, "{path} {body}");
            r.json::<Value>().await.unwrap()
        }
    };
    let force = post(
        "/v1/org-units",
        json!({"code": "force", "name": "Force", "kind": "force"}),
    )
    .await;
    for code in ["north", "south"] {
        post(
            "/v1/org-units",
            json!({"code": code, "name": code, "kind": "command_area", "parent_id": force["id"]}),
        )
        .await;
    }
    post(
        "/v1/ranks",
        json!({"code": "pc", "name": "Constable", "order": 1}),
    )
    .await;
    let client = declare::services::identity::create_client(
        &app.state.db,
        &app.state.auth,
        org.id,
        declare::services::identity::NewClient {
            name: "Identity provider".into(),
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
    let body: Value = r.json().await.unwrap();
    body["access_token"].as_str().unwrap().to_owned()
}

fn user(number: &str, subject: &str, department: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE, WORKFORCE],
        "userName": number,
        "externalId": subject,
        "active": true,
        ENTERPRISE: {"department": department},
        WORKFORCE: {"staffType": "police_officer", "rank": "pc", "startDate": "2021-04-01"},
    })
}

async fn send(
    app: &TestApp,
    token: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
    if_match: Option<&str>,
) -> reqwest::Response {
    let mut request = app.authed(method, path, token);
    if let Some(body) = body {
        request = request
            .header("content-type", SCIM_JSON)
            .body(body.to_string());
    }
    if let Some(tag) = if_match {
        request = request.header("if-match", tag);
    }
    request.send().await.unwrap()
}

async fn create(app: &TestApp, token: &str, body: Value) -> (Value, String) {
    let r = send(app, token, Method::POST, "/scim/v2/Users", Some(body), None).await;
    assert_eq!(r.status(), 201);
    let etag = r.headers()["etag"].to_str().unwrap().to_owned();
    (r.json().await.unwrap(), etag)
}

/// Asserts a SCIM error body (RFC 7644 §3.12) with its media type, and returns it.
async fn assert_scim_error(r: reqwest::Response, status: u16, scim_type: Option<&str>) -> Value {
    assert_eq!(r.status().as_u16(), status);
    assert_eq!(r.headers()["content-type"], SCIM_JSON);
    let body: Value = r.json().await.unwrap();
    assert_eq!(
        body["schemas"],
        json!(["urn:ietf:params:scim:api:messages:2.0:Error"])
    );
    assert_eq!(body["status"], json!(status.to_string()));
    assert_eq!(body["scimType"].as_str(), scim_type, "{body}");
    assert!(body["detail"].is_string());
    body
}

on_both_backends! {
    async fn a_user_is_created_read_found_patched_replaced_and_deleted(backend) {
        let app = spawn_app(backend).await;
        let token = setup(&app).await;
        let (created, etag) = create(&app, &token, user("E100", "sub-100", "north")).await;
        let id = created["id"].as_str().unwrap().to_owned();
        assert_eq!(created["userName"], "E100");
        assert_eq!(created["active"], true);
        assert_eq!(created[ENTERPRISE]["employeeNumber"], "E100");
        assert_eq!(created[ENTERPRISE]["division"], "force");
        assert_eq!(created[ENTERPRISE]["organization"], "scim-force police");
        assert_eq!(created[WORKFORCE]["rank"], "pc");
        assert_eq!(created["meta"]["version"], json!(etag));
        assert!(etag.starts_with("W/\""));
        assert!(created["meta"]["location"].as_str().unwrap().ends_with(&format!("/scim/v2/Users/{id}")));

        let r = send(&app, &token, Method::GET, &format!("/scim/v2/Users/{id}"), None, None).await;
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["content-type"], SCIM_JSON);
        assert_eq!(r.headers()["etag"].to_str().unwrap(), etag);

        for filter in ["userName%20eq%20%22E100%22", "externalId%20eq%20%22sub-100%22"] {
            let r = send(&app, &token, Method::GET, &format!("/scim/v2/Users?filter={filter}"), None, None).await;
            let page: Value = r.json().await.unwrap();
            assert_eq!(page["totalResults"], 1, "{filter}");
            assert_eq!(page["Resources"][0]["id"], json!(id));
        }
        let r = send(&app, &token, Method::GET, "/scim/v2/Users?filter=userName%20eq%20%22nobody%22", None, None).await;
        assert_eq!(r.json::<Value>().await.unwrap()["totalResults"], 0);

        let patch = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [
            {"op": "replace", "path": "active", "value": false},
            {"op": "replace", "path": format!("{ENTERPRISE}:department"), "value": "south"},
        ]});
        let r = send(&app, &token, Method::PATCH, &format!("/scim/v2/Users/{id}"), Some(patch), Some(&etag)).await;
        assert_eq!(r.status(), 200);
        let patched: Value = r.json().await.unwrap();
        assert_eq!(patched["active"], false);
        assert_eq!(patched[ENTERPRISE]["department"], "south");
        assert_ne!(patched["meta"]["version"], json!(etag));

        let mut replacement = user("E100", "sub-new", "north");
        replacement[WORKFORCE]["fte"] = json!(0.5);
        let r = send(&app, &token, Method::PUT, &format!("/scim/v2/Users/{id}"), Some(replacement), None).await;
        assert_eq!(r.status(), 200);
        let replaced: Value = r.json().await.unwrap();
        assert_eq!(replaced["externalId"], "sub-new");
        assert_eq!(replaced["active"], true);
        assert_eq!(replaced[WORKFORCE]["fte"], 0.5);

        let r = send(&app, &token, Method::DELETE, &format!("/scim/v2/Users/{id}"), None, None).await;
        assert_eq!(r.status(), 204);
        let r = send(&app, &token, Method::GET, &format!("/scim/v2/Users/{id}"), None, None).await;
        assert_scim_error(r, 404, None).await;
        // Never a hard delete: the workforce record stays, as a leaver.
        let r = app.authed(Method::GET, &format!("/v1/employees/{id}"), &token).send().await.unwrap();
        assert_eq!(r.status(), 200);
        let employee: Value = r.json().await.unwrap();
        assert!(employee["leave_date"].is_string(), "{employee}");
        // The person rejoins: the same record is revived, not duplicated.
        let (revived, _) = create(&app, &token, user("E100", "sub-100", "north")).await;
        assert_eq!(revived["id"], json!(id));
        assert_eq!(revived["active"], true);
    }

    async fn users_are_paged_with_start_index_and_count(backend) {
        let app = spawn_app(backend).await;
        let token = setup(&app).await;
        for n in 1..=5 {
            create(&app, &token, user(&format!("E{n}"), &format!("s{n}"), "north")).await;
        }
        let r = send(&app, &token, Method::GET, "/scim/v2/Users?startIndex=2&count=2", None, None).await;
        assert_eq!(r.headers()["content-type"], SCIM_JSON);
        let page: Value = r.json().await.unwrap();
        assert_eq!(page["schemas"], json!(["urn:ietf:params:scim:api:messages:2.0:ListResponse"]));
        assert_eq!(page["totalResults"], 5);
        assert_eq!(page["startIndex"], 2);
        assert_eq!(page["itemsPerPage"], 2);
        let names: Vec<&str> = page["Resources"].as_array().unwrap().iter().map(|u| u["userName"].as_str().unwrap()).collect();
        assert_eq!(names, ["E2", "E3"]);
        let r = send(&app, &token, Method::GET, "/scim/v2/Users?startIndex=5&count=10", None, None).await;
        assert_eq!(r.json::<Value>().await.unwrap()["itemsPerPage"], 1);
    }

    async fn a_stale_if_match_is_412_and_a_duplicate_user_name_409(backend) {
        let app = spawn_app(backend).await;
        let token = setup(&app).await;
        let (created, etag) = create(&app, &token, user("E1", "s1", "north")).await;
        let path = format!("/scim/v2/Users/{}", created["id"].as_str().unwrap());
        let patch = json!({"Operations": [{"op": "replace", "path": "externalId", "value": "s1b"}]});
        let r = send(&app, &token, Method::PATCH, &path, Some(patch.clone()), Some(&etag)).await;
        assert_eq!(r.status(), 200);
        for method in [Method::PATCH, Method::PUT] {
            let body = if method == Method::PUT { user("E1", "s1", "north") } else { patch.clone() };
            let r = send(&app, &token, method, &path, Some(body), Some(&etag)).await;
            assert_scim_error(r, 412, None).await;
        }
        let r = send(&app, &token, Method::DELETE, &path, None, Some(&etag)).await;
        assert_scim_error(r, 412, None).await;

        let r = send(&app, &token, Method::POST, "/scim/v2/Users", Some(user("E1", "other", "north")), None).await;
        assert_scim_error(r, 409, Some("uniqueness")).await;
        create(&app, &token, user("E2", "s2", "north")).await;
        let rename = json!({"Operations": [{"op": "replace", "path": "userName", "value": "E2"}]});
        let r = send(&app, &token, Method::PATCH, &path, Some(rename), None).await;
        assert_scim_error(r, 409, Some("uniqueness")).await;
    }

    async fn bad_requests_get_scim_error_bodies(backend) {
        let app = spawn_app(backend).await;
        let token = setup(&app).await;
        let r = send(&app, &token, Method::GET, "/scim/v2/Users?filter=displayName%20co%20%22x%22", None, None).await;
        assert_scim_error(r, 400, Some("invalidFilter")).await;
        let r = send(&app, &token, Method::POST, "/scim/v2/Users", Some(user("E1", "s1", "atlantis")), None).await;
        let body = assert_scim_error(r, 400, Some("invalidValue")).await;
        assert!(body["detail"].as_str().unwrap().contains("atlantis"));
        let r = app.authed(Method::POST, "/scim/v2/Users", &token)
            .header("content-type", SCIM_JSON).body("{not json").send().await.unwrap();
        assert_scim_error(r, 400, Some("invalidSyntax")).await;
        let r = send(&app, &token, Method::GET, "/scim/v2/Groups", None, None).await;
        assert_scim_error(r, 404, None).await;
        let r = app.client.get(app.url("/scim/v2/Users")).send().await.unwrap();
        assert_scim_error(r, 401, None).await;
        // Outside /scim/v2, errors stay RFC 9457 problems.
        let r = app.client.get(app.url("/v1/employees")).send().await.unwrap();
        assert_eq!(r.headers()["content-type"], "application/problem+json");
    }

    async fn protected_characteristics_are_refused_by_name(backend) {
        let app = spawn_app(backend).await;
        let token = setup(&app).await;
        let mut body = user("E1", "s1", "north");
        body[WORKFORCE]["ethnicity"] = json!("White British");
        let r = send(&app, &token, Method::POST, "/scim/v2/Users", Some(body), None).await;
        let error = assert_scim_error(r, 400, Some("invalidValue")).await;
        assert!(error["detail"].as_str().unwrap().contains("ethnicity"));
        let (created, _) = create(&app, &token, user("E1", "s1", "north")).await;
        let path = format!("/scim/v2/Users/{}", created["id"].as_str().unwrap());
        let patch = json!({"Operations": [{"op": "add", "value": {"gender": "x"}}]});
        let r = send(&app, &token, Method::PATCH, &path, Some(patch), None).await;
        let error = assert_scim_error(r, 400, Some("invalidValue")).await;
        assert!(error["detail"].as_str().unwrap().contains("gender"));
    }

    async fn discovery_describes_what_is_supported(backend) {
        let app = spawn_app(backend).await;
        let token = setup(&app).await;
        let r = send(&app, &token, Method::GET, "/scim/v2/ServiceProviderConfig", None, None).await;
        assert_eq!(r.headers()["content-type"], SCIM_JSON);
        let spc: Value = r.json().await.unwrap();
        assert_eq!(spc["patch"]["supported"], true);
        assert_eq!(spc["bulk"]["supported"], false);
        assert_eq!(spc["filter"]["maxResults"], 200);
        assert_eq!(spc["etag"]["supported"], true);
        assert_eq!(spc["authenticationSchemes"][0]["type"], "oauthbearertoken");
        let r = send(&app, &token, Method::GET, &format!("/scim/v2/Schemas/{ENTERPRISE}"), None, None).await;
        let schema: Value = r.json().await.unwrap();
        let department = schema["attributes"].as_array().unwrap().iter().find(|a| a["name"] == "department").unwrap().clone();
        assert_eq!(department["canonicalValues"], json!(["force", "north", "south"]));
        let r = send(&app, &token, Method::GET, "/scim/v2/ResourceTypes/User", None, None).await;
        assert_eq!(r.json::<Value>().await.unwrap()["endpoint"], "/Users");
        let r = send(&app, &token, Method::GET, "/scim/v2/Schemas", None, None).await;
        assert_eq!(r.json::<Value>().await.unwrap()["totalResults"], 3);
    }

    async fn a_bulk_sync_that_lists_a_deleted_user_in_post_makes_them_visible_again(backend) {
        let app = spawn_app(backend).await;
        let token = setup(&app).await;
        let (created, _) = create(&app, &token, user("E100", "sub-100", "north")).await;
        let path = format!("/scim/v2/Users/{}", created["id"].as_str().unwrap());
        let r = send(&app, &token, Method::DELETE, &path, None, None).await;
        assert_eq!(r.status(), 204);
        let r = send(&app, &token, Method::GET, &path, None, None).await;
        assert_scim_error(r, 404, None).await;

        let bulk = |leave_date: String| {
            app.authed(Method::POST, "/v1/sync/employees?mode=delta", &token)
                .header("content-type", "text/csv")
                .body(format!(
                    "employee_number,external_subject,org_unit,staff_type,rank,fte,start_date,leave_date\n\
                     E100,sub-100,north,police_officer,pc,1,2021-04-01,{leave_date}\n"
                ))
                .send()
        };
        // The HR file agrees they left (SCIM DELETE made today their leave date): still hidden.
        let today = chrono::Utc::now().date_naive().to_string();
        let r = bulk(today).await.unwrap();
        assert_eq!(r.status(), 200);
        let report: Value = r.json().await.unwrap();
        assert_eq!((report["updated"].as_u64(), report["unchanged"].as_u64()), (Some(0), Some(1)));
        let r = send(&app, &token, Method::GET, &path, None, None).await;
        assert_scim_error(r, 404, None).await;

        // The HR file has them in post: SCIM sees them again, the same record, active.
        let r = bulk(String::new()).await.unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(r.json::<Value>().await.unwrap()["updated"], 1);
        let r = send(&app, &token, Method::GET, &path, None, None).await;
        assert_eq!(r.status(), 200);
        let revived: Value = r.json().await.unwrap();
        assert_eq!(revived["id"], created["id"]);
        assert_eq!(revived["active"], true);
        let r = send(&app, &token, Method::GET, "/scim/v2/Users?filter=userName%20eq%20%22E100%22", None, None).await;
        assert_eq!(r.json::<Value>().await.unwrap()["totalResults"], 1);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_method_on_a_scim_endpoint_is_405() {
    let app = spawn_app(crate::helpers::Backend::Sqlite).await;
    let token = setup(&app).await;
    let r = send(
        &app,
        &token,
        Method::DELETE,
        "/scim/v2/ServiceProviderConfig",
        None,
        None,
    )
    .await;
    assert_eq!(r.headers()["allow"], "GET");
    assert_scim_error(r, 405, None).await;
}

/// A move locks its two tally cells in the order every multi-cell writer uses (the cell's
/// bytes), so it cannot hold one cell while waiting for another that a recount, or a move the
/// other way, holds while waiting for the first: PostgreSQL would abort one as a deadlock.
/// Here a second transaction plays the recount: it holds the lower cell, the move (out of the
/// higher cell into the lower) must then wait without having taken the higher, and the
/// holder's `NOWAIT` lock of the higher cell succeeds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_move_locks_its_cells_in_the_recounts_order_postgres() {
    use diesel::{Connection as _, RunQueryDsl as _};
    let app = spawn_app(crate::helpers::Backend::Postgres).await;
    let token = setup(&app).await;
    let (north, _) = create(&app, &token, user("E1", "sub-1", "north")).await;
    let (south, _) = create(&app, &token, user("E2", "sub-2", "south")).await;

    #[derive(diesel::QueryableByName)]
    struct Cell {
        #[diesel(sql_type = diesel::sql_types::Text)]
        cell: String,
        #[diesel(sql_type = diesel::sql_types::Text)]
        employee_id: String,
    }
    let mut holder = diesel::PgConnection::establish(&app.db.url).unwrap();
    let cells: Vec<Cell> = diesel::sql_query(
        "SELECT t.cell, e.id AS employee_id FROM tallies t JOIN employees e \
         ON t.cell = e.org_unit_id || '|' || e.staff_type_id || '|' || COALESCE(e.rank_id, '-') \
         ORDER BY t.cell COLLATE \"C\"",
    )
    .load(&mut holder)
    .unwrap();
    assert_eq!(cells.len(), 2, "one cell each for north and south");
    let (low, high) = (&cells[0], &cells[1]);
    let (mover, destination) = if high.employee_id == north["id"].as_str().unwrap() {
        (&north, "south")
    } else {
        (&south, "north")
    };
    assert_eq!(mover["id"].as_str().unwrap(), high.employee_id);

    holder.begin_test_transaction().unwrap();
    let lock = |cell: &str, nowait: &str| {
        format!("SELECT cell FROM tallies WHERE cell = '{cell}' FOR UPDATE{nowait}")
    };
    diesel::sql_query(lock(&low.cell, ""))
        .execute(&mut holder)
        .unwrap();

    let patch = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [
        {"op": "replace", "path": format!("{ENTERPRISE}:department"), "value": destination},
    ]});
    let path = format!("/scim/v2/Users/{}", mover["id"].as_str().unwrap());
    let request = app
        .authed(Method::PATCH, &path, &token)
        .header("content-type", SCIM_JSON)
        .body(patch.to_string());
    let moving = tokio::spawn(async move { request.send().await.unwrap() });

    // Until the move waits on a row lock (the lower cell's, with the fix).
    let mut waited = false;
    for _ in 0..200 {
        #[derive(diesel::QueryableByName)]
        struct Waiting {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        let waiting: Waiting = diesel::sql_query(
            "SELECT count(*) AS n FROM pg_stat_activity \
             WHERE datname = current_database() AND wait_event_type = 'Lock'",
        )
        .get_result(&mut holder)
        .unwrap();
        if waiting.n > 0 {
            waited = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    assert!(waited, "the move never waited on the held cell");
    let higher = diesel::sql_query(lock(&high.cell, " NOWAIT")).execute(&mut holder);
    assert!(
        higher.is_ok(),
        "the move held the higher cell while waiting for the lower: {higher:?}"
    );
    // Ending the holder's transaction lets the move finish.
    diesel::sql_query("ROLLBACK").execute(&mut holder).unwrap();
    let r = moving.await.unwrap();
    assert_eq!(r.status(), 200);
    let moved: Value = r.json().await.unwrap();
    assert_eq!(moved[ENTERPRISE]["department"], destination);
    let org = uuid::Uuid::parse_str(
        &app.state
            .db
            .run(|conn| {
                Ok(declare::with_conn!(conn, |c| {
                    use declare::store::schema::employees::dsl as e;
                    use diesel::prelude::*;
                    e::employees.select(e::organisation_id).first::<String>(c)
                })?)
            })
            .await
            .unwrap(),
    )
    .unwrap();
    // The move carried the headcount (the emptied cell stays as a zero row until a recount).
    let mut kept = crate::tallies::snapshot(&app, org).await;
    kept.retain(|(_, counts)| counts.headcount > 0 || !counts.answers.is_empty());
    assert_eq!(kept, crate::tallies::recount(&app, org).await);
}

// Issue 15: what identity providers send beyond `eq`, projections, and a typed startDate.
on_both_backends! {
    async fn filters_with_sw_co_and_and_and_projections_work(backend) {
        let app = spawn_app(backend).await;
        let token = setup(&app).await;
        for (number, subject) in [("E100", "okta|a_1"), ("E101", "okta|b%2"), ("X200", "entra|c")] {
            create(&app, &token, user(number, subject, "north")).await;
        }
        let list = |filter: &'static str| {
            let path = format!("/scim/v2/Users?filter={}", urlencode(filter));
            let request = app.authed(Method::GET, &path, &token);
            async move {
                let r = request.send().await.unwrap();
                assert_eq!(r.status(), 200, "{filter}");
                let body: Value = r.json().await.unwrap();
                body["Resources"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|u| u["userName"].as_str().unwrap().to_owned())
                    .collect::<Vec<_>>()
            }
        };
        assert_eq!(list(r#"userName sw "E1""#).await, ["E100", "E101"]);
        assert_eq!(list(r#"userName sw "e1""#).await, ["E100", "E101"], "case-insensitive");
        assert_eq!(list(r#"userName co "20""#).await, ["X200"]);
        assert_eq!(list(r#"externalId co "%""#).await, ["E101"], "% is literal");
        assert_eq!(list(r#"externalId sw "okta|" and userName eq "E100""#).await, ["E100"]);
        assert_eq!(list(r#"userName co "_""#).await, Vec::<String>::new(), "_ is literal");
        let r = send(&app, &token, Method::GET, &format!("/scim/v2/Users?filter={}", urlencode(r#"userName eq "a" or userName eq "b""#)), None, None).await;
        assert_scim_error(r, 400, Some("invalidFilter")).await;

        let r = send(&app, &token, Method::GET, &format!("/scim/v2/Users?filter={}&attributes=userName", urlencode(r#"userName eq "E100""#)), None, None).await;
        let body: Value = r.json().await.unwrap();
        let only = body["Resources"][0].as_object().unwrap();
        let mut keys: Vec<&str> = only.keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(keys, ["id", "schemas", "userName"]);

        let id = only["id"].as_str().unwrap().to_owned();
        let r = send(&app, &token, Method::GET, &format!("/scim/v2/Users/{id}?excludedAttributes=externalId,{WORKFORCE}"), None, None).await;
        assert_eq!(r.status(), 200);
        let one: Value = r.json().await.unwrap();
        assert!(one.get("externalId").is_none() && one.get(WORKFORCE).is_none(), "{one}");
        assert_eq!(one["userName"], "E100");

        let full: Value = send(&app, &token, Method::GET, &format!("/scim/v2/Users/{id}"), None, None).await.json().await.unwrap();
        assert_eq!(full[WORKFORCE]["startDate"], "2021-04-01T00:00:00Z");
        let schema: Value = send(&app, &token, Method::GET, &format!("/scim/v2/Schemas/{WORKFORCE}"), None, None).await.json().await.unwrap();
        let start = schema["attributes"].as_array().unwrap().iter().find(|a| a["name"] == "startDate").unwrap();
        assert_eq!(start["type"], "dateTime");
    }
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
