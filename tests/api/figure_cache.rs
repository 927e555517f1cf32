//! The figures cache never serves figures older than their inputs: after a declaration
//! change, a move, a structure rename and a catalogue publish, what the API returns equals
//! figures computed afresh, and differs from what it returned before.

use declare::services::stats::{self, Breakdown, FigureCache, FigureRequest, View};
use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{spawn_app, TestApp};
use crate::on_both_backends;

const PEOPLE: [&str; 6] = ["ana", "ben", "cat", "dev", "eve", "fay"];

struct Force {
    org: uuid::Uuid,
    hr: String,
    edi: String,
    staff: Vec<(String, uuid::Uuid)>,
}

/// Six people, each in their own top-level unit; everyone says yes to disability but fay, who
/// says no.
async fn force(app: &TestApp) -> Force {
    let org = app.create_org("cache-force").await.id;
    let hr = app
        .login(
            &app.create_account(Some(org), "cache-hr", &["hr_admin"])
                .await,
        )
        .await;
    let edi = app
        .login(
            &app.create_account(Some(org), "cache-edi", &["edi_viewer"])
                .await,
        )
        .await;
    let mut staff = Vec::new();
    for name in PEOPLE {
        let (login, id) = app.create_employee_account(org, name).await;
        let token = app.login(&login).await;
        let r = app
            .authed(Method::PUT, "/v1/me/consents", &token)
            .json(&json!({"notice_version": 1, "purposes": {"equality_monitoring": true}}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let gateway = if name == "fay" { "no" } else { "yes" };
        app.declare_answers(
            &token,
            json!({"disability": {"gateway": gateway}, "race": {"gateway": "white"}}),
        )
        .await;
        staff.push((token, id));
    }
    Force {
        org,
        hr,
        edi,
        staff,
    }
}

/// What the API returns now (cached or not), without the time it is stamped with.
async fn served(app: &TestApp, edi: &str, view: &str, query: &str) -> Value {
    let r = app
        .authed(Method::GET, &format!("/v1/stats/{view}?{query}"), edi)
        // A fresh connection each time: on SQLite a pooled keep-alive connection was reset
        // by the server after the catalogue publish (see the report of the stats bench work).
        .header("connection", "close")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let mut body: Value = r.json().await.unwrap();
    body.as_object_mut().unwrap().remove("as_at");
    body
}

/// The same figures computed afresh, bypassing every cache.
async fn fresh(app: &TestApp, org: uuid::Uuid, request: FigureRequest) -> Value {
    let figures = stats::figures(
        &app.state.db,
        app.state.sealer.clone(),
        app.state.config.disclosure,
        &FigureCache::with_limits(0, 0),
        org,
        request,
    )
    .await
    .unwrap();
    let mut body = serde_json::to_value(figures).unwrap();
    body.as_object_mut().unwrap().remove("as_at");
    body
}

fn request(characteristic: &str, breakdown: Breakdown, view: View) -> FigureRequest {
    FigureRequest {
        characteristic: characteristic.into(),
        breakdown,
        level: 1,
        unit: None,
        view,
    }
}

/// Asks twice (so the second is a cache hit), checks it matches a fresh computation, and
/// returns it.
async fn check(app: &TestApp, f: &Force, characteristic: &str, breakdown: Breakdown) -> Value {
    let by = match breakdown {
        Breakdown::Overall => "overall",
        Breakdown::OrgUnit => "org_unit",
        Breakdown::StaffType => "staff_type",
        Breakdown::Rank => "rank",
    };
    let query = format!("characteristic={characteristic}&by={by}");
    served(app, &f.edi, "distribution", &query).await;
    let hit = served(app, &f.edi, "distribution", &query).await;
    let truth = fresh(
        app,
        f.org,
        request(characteristic, breakdown, View::Distribution),
    )
    .await;
    assert_eq!(hit, truth, "served figures differ from a fresh computation");
    hit
}

on_both_backends! {
    async fn cached_figures_follow_declarations_moves_renames_and_catalogue_publishes(backend) {
        let app = spawn_app(backend).await;
        let f = force(&app).await;
        let overall = check(&app, &f, "disability", Breakdown::Overall).await;
        let types = check(&app, &f, "disability", Breakdown::StaffType).await;
        let race = check(&app, &f, "race", Breakdown::Overall).await;
        let (entries, _) = app.state.figures.size();
        assert_eq!(entries, 2, "one protected family is kept per characteristic, whatever the breakdown");

        // A declaration changes: ben says no instead of yes.
        app.declare_answers(&f.staff[1].0, json!({"disability": {"gateway": "no"}})).await;
        let after = check(&app, &f, "disability", Breakdown::Overall).await;
        assert_ne!(after, overall, "the change must show");

        // A move: ana joins ben's unit and staff type (a delta sync): one group empties.
        let csv = "employee_number,external_subject,org_unit,staff_type,rank,fte,start_date,leave_date\n\
                   E-ana,,unit-E-ben,type-E-ben,,1.0,2020-01-01,\n";
        let r = app.authed(Method::POST, "/v1/sync/employees?mode=delta", &f.hr)
            .header("content-type", "text/csv").body(csv).send().await.unwrap();
        assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
        let moved = check(&app, &f, "disability", Breakdown::StaffType).await;
        assert_ne!(moved, types, "the move must show");
        let ana = moved["rows"].as_array().unwrap().iter().find(|r| r["key"] == "type-E-ana").unwrap();
        assert_eq!(ana["headcount"], 0, "{moved}");

        // A structure rename: only a label changes, and it must show.
        let r = app.authed(Method::GET, "/v1/staff-types", &f.hr).send().await.unwrap();
        let list: Value = r.json().await.unwrap();
        let id = list.as_array().unwrap().iter().find(|t| t["code"] == "type-E-cat").unwrap()["id"].as_str().unwrap().to_owned();
        let r = app.authed(Method::PATCH, &format!("/v1/staff-types/{id}"), &f.hr)
            .json(&json!({"name": "Renamed type"})).send().await.unwrap();
        assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
        let renamed = check(&app, &f, "disability", Breakdown::StaffType).await;
        assert!(renamed["rows"].as_array().unwrap().iter().any(|r| r["label"] == "Renamed type"), "{renamed}");

        // A catalogue publish adds a race group: it must appear as a column.
        let r = app.authed(Method::POST, "/v1/catalogue/drafts", &f.hr).send().await.unwrap();
        assert_eq!(r.status(), 201);
        let draft: Value = r.json().await.unwrap();
        let mut document = draft["document"].clone();
        let race_entry = document["characteristics"].as_array_mut().unwrap().iter_mut()
            .find(|c| c["code"] == "race").unwrap();
        let options = race_entry["gateway"]["options"].as_array_mut().unwrap();
        options.insert(options.len() - 1, json!({
            "code": "gypsy_or_irish_traveller", "order": 6,
            "label": {"en": "Gypsy or Irish Traveller", "cy": "Sipsi neu Deithiwr Gwyddelig"},
            "publication_group": "gypsy_or_irish_traveller", "retired": false
        }));
        let last = options.len() - 1;
        options[last]["order"] = json!(7);
        let r = app.authed(Method::PUT, "/v1/catalogue/drafts/current", &f.hr)
            .header("if-match", format!("\"{}\"", draft["etag"].as_str().unwrap()))
            .json(&document).send().await.unwrap();
        assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
        let r = app.authed(Method::POST, "/v1/catalogue/drafts/current/publish", &f.hr).send().await.unwrap();
        assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
        let republished = check(&app, &f, "race", Breakdown::Overall).await;
        assert_ne!(republished["columns"], race["columns"]);
        assert!(republished["columns"].as_array().unwrap().contains(&json!("gypsy_or_irish_traveller")));
    }
}
