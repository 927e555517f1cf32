//! Every HR write leaves an audit event in the same transaction: structure CRUD, bulk sync
//! (API and CLI, one event per batch with its counts), and SCIM provisioning. Events name the
//! actor, the action, the record or the counts, and the request; never a field value.

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{cli, spawn_app, TestApp};
use crate::on_both_backends;

const HEADER: &str =
    "employee_number,external_subject,org_unit,staff_type,rank,fte,start_date,leave_date\n";
const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const WORKFORCE: &str = "urn:declare:scim:schemas:extension:workforce:1.0:User";

async fn send(
    app: &TestApp,
    token: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
    request_id: &str,
) -> Value {
    let mut request = app
        .authed(method, path, token)
        .header("x-request-id", request_id);
    if let Some(body) = body {
        let media = if path.starts_with("/scim") {
            "application/scim+json"
        } else {
            "application/json"
        };
        request = request.header("content-type", media).body(body.to_string());
    }
    let r = request.send().await.unwrap();
    assert!(r.status().is_success(), "{path}: {}", r.status());
    r.json().await.unwrap_or(Value::Null)
}

async fn sync(app: &TestApp, token: &str, query: &str, csv: &str, request_id: &str) -> Value {
    let r = app
        .authed(Method::POST, &format!("/v1/sync/employees{query}"), token)
        .header("content-type", "text/csv")
        .header("x-request-id", request_id)
        .body(format!("{HEADER}{csv}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

/// Events of the organisation with this action, as its auditor reads them.
async fn events(app: &TestApp, auditor: &str, action: &str) -> Vec<Value> {
    let page: Value = app
        .authed(Method::GET, "/v1/audit?limit=1000", auditor)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    page["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == action)
        .cloned()
        .collect()
}

fn one(found: Vec<Value>, action: &str) -> Value {
    assert_eq!(found.len(), 1, "{action}: {found:?}");
    found.into_iter().next().unwrap()
}

on_both_backends! {
    async fn every_hr_write_is_audited_once_with_counts_not_values(backend) {
        let app = spawn_app(backend).await;
        let org = app.create_org("hr-audit-force").await;
        let hr = app.create_account(Some(org.id), "hr-lead", &["hr_admin"]).await;
        let token = app.login(&hr).await;
        let auditor = app.create_account(Some(org.id), "aud", &["auditor"]).await;
        let auditor = app.login(&auditor).await;

        // Structure CRUD.
        let force = send(&app, &token, Method::POST, "/v1/org-units", Some(json!({"code": "force", "name": "Force", "kind": "force"})), "req-unit-1").await;
        let north = send(&app, &token, Method::POST, "/v1/org-units", Some(json!({"code": "north", "name": "North", "kind": "command_area", "parent_id": force["id"]})), "req-unit-2").await;
        send(&app, &token, Method::PATCH, &format!("/v1/org-units/{}", north["id"].as_str().unwrap()), Some(json!({"name": "North area"})), "req-unit-3").await;
        let spare = send(&app, &token, Method::POST, "/v1/org-units", Some(json!({"code": "spare", "name": "Spare", "kind": "team"})), "req-unit-4").await;
        send(&app, &token, Method::DELETE, &format!("/v1/org-units/{}", spare["id"].as_str().unwrap()), None, "req-unit-5").await;
        let staff_type = send(&app, &token, Method::POST, "/v1/staff-types", Some(json!({"code": "cadet", "name": "Cadet"})), "req-type-1").await;
        send(&app, &token, Method::PATCH, &format!("/v1/staff-types/{}", staff_type["id"].as_str().unwrap()), Some(json!({"name": "Police cadet"})), "req-type-2").await;
        let rank = send(&app, &token, Method::POST, "/v1/ranks", Some(json!({"code": "pc", "name": "Constable", "order": 1})), "req-rank-1").await;
        send(&app, &token, Method::PATCH, &format!("/v1/ranks/{}", rank["id"].as_str().unwrap()), Some(json!({"order": 2})), "req-rank-2").await;

        assert_eq!(events(&app, &auditor, "org_unit.create").await.len(), 3);
        let updated = one(events(&app, &auditor, "org_unit.update").await, "org_unit.update");
        assert_eq!(updated["subject"], format!("org_unit:{}", north["id"].as_str().unwrap()));
        assert_eq!(updated["request_id"], "req-unit-3");
        assert!(updated["actor"].as_str().unwrap().starts_with("account:"));
        let deleted = one(events(&app, &auditor, "org_unit.delete").await, "org_unit.delete");
        assert_eq!(deleted["subject"], format!("org_unit:{}", spare["id"].as_str().unwrap()));
        assert_eq!(one(events(&app, &auditor, "staff_type.create").await, "staff_type.create")["request_id"], "req-type-1");
        one(events(&app, &auditor, "staff_type.update").await, "staff_type.update");
        assert_eq!(one(events(&app, &auditor, "rank.create").await, "rank.create")["subject"], format!("rank:{}", rank["id"].as_str().unwrap()));
        one(events(&app, &auditor, "rank.update").await, "rank.update");

        // Bulk sync: one event per applied batch with its counts; a dry run writes nothing.
        let rows = "E1,,north,police_officer,pc,1,2020-01-01,\nE2,,north,police_staff,,0.5,2021-01-01,\nE3,,force,police_officer,pc,1,2019-01-01,\n";
        sync(&app, &token, "?dry_run=true", rows, "req-sync-dry").await;
        assert!(events(&app, &auditor, "workforce.sync").await.is_empty(), "a dry run is not a write");
        sync(&app, &token, "", rows, "req-sync-1").await;
        let synced = one(events(&app, &auditor, "workforce.sync").await, "workforce.sync");
        assert_eq!(synced["request_id"], "req-sync-1");
        assert_eq!(synced["detail"], json!({"mode": "full", "rows": 3, "created": 3, "updated": 0, "unchanged": 0, "leavers": 0}));

        // The CLI import is one event too, by `cli`, in the organisation's trail.
        let file = app.db.data_dir().join("people.csv");
        std::fs::write(&file, format!("{HEADER}E1,,north,police_officer,pc,1,2020-01-01,\nE2,,force,police_staff,,0.5,2021-01-01,\n")).unwrap();
        let (ok, out) = cli(&app, &["import", "employees", "--org", "hr-audit-force", "--mode", "delta", file.to_str().unwrap()]);
        assert!(ok, "{out}");
        let synced = events(&app, &auditor, "workforce.sync").await;
        assert_eq!(synced.len(), 2);
        assert_eq!(synced[1]["actor"], "cli");
        assert_eq!(synced[1]["detail"]["updated"], 1);
        assert_eq!(synced[1]["detail"]["mode"], "delta");

        // SCIM provisioning: create, update, de-provision, each naming the employee.
        let user = json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE, WORKFORCE],
            "userName": "E9", "externalId": "sub-9", "active": true,
            ENTERPRISE: {"department": "north"},
            WORKFORCE: {"staffType": "police_officer", "rank": "pc", "startDate": "2021-04-01"},
        });
        let created = send(&app, &token, Method::POST, "/scim/v2/Users", Some(user), "req-scim-1").await;
        let id = created["id"].as_str().unwrap();
        let patch = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "path": "externalId", "value": "sub-9b"}]});
        send(&app, &token, Method::PATCH, &format!("/scim/v2/Users/{id}"), Some(patch), "req-scim-2").await;
        send(&app, &token, Method::DELETE, &format!("/scim/v2/Users/{id}"), None, "req-scim-3").await;
        for (action, request) in [("scim.user.create", "req-scim-1"), ("scim.user.update", "req-scim-2"), ("scim.user.delete", "req-scim-3")] {
            let event = one(events(&app, &auditor, action).await, action);
            assert_eq!(event["subject"], format!("employee:{id}"));
            assert_eq!(event["request_id"], request);
        }
        let all = serde_json::to_string(&events(&app, &auditor, "scim.user.update").await).unwrap();
        assert!(!all.contains("sub-9"), "no field value in an event");

        let (ok, out) = cli(&app, &["audit", "verify"]);
        assert!(ok && out.contains("audit chain intact"), "{out}");
    }
}
