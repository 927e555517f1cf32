//! Examples for the request and response bodies whose types live outside `src/http` (or are
//! written by hand), put into the OpenAPI document by `http::contract`. Each is a body the
//! running service sent or accepted (see docs/integrating.md), ids shortened to real shapes.
//! A schema that has its own `#[schema(example)]` keeps it.

use serde_json::{json, Value};

const UNIT: &str = "849d5b2b-0b00-4317-bc49-66273c7720a8";
const ORG: &str = "3b49aff8-94fe-44ba-a8ee-06efc311957d";
const EMPLOYEE: &str = "f7bf30af-54c2-4141-9fc8-31458f910a28";
const VERSION: &str = "5b2b81c5-b4f5-4c9c-af8b-f405409f1df7";
const SNAPSHOT: &str = "18dbf063-65e8-43b1-8de5-2b5324574c4a";

fn snapshot() -> Value {
    json!({"id": SNAPSHOT, "period": "2026-12", "kind": "monthly", "due_on": "2026-12-04",
           "taken_at": "2026-12-04T08:33:44Z", "late": false, "label": "demo",
           "catalogue_version_id": VERSION})
}

fn rules() -> Value {
    json!({"method": "cell_key_perturbation", "noise_sd": 5.0, "min_cell": 5, "min_group": 10,
           "round_to": null, "rate_decimals": 1, "refresh_seconds": 86400,
           "small_count_suppressions": 1, "small_group_suppressions": 4})
}

fn employee() -> Value {
    json!({"id": EMPLOYEE, "employee_number": "E0001", "external_subject": null,
           "org_unit_id": UNIT, "staff_type_id": "944f8b9d-d6d8-4849-b1ce-17dc1bd03a09",
           "rank_id": "df83be07-4551-4e43-9b64-bbbf14e9495d", "fte": 1.0,
           "start_date": "2020-04-01", "leave_date": null,
           "updated_at": "2026-12-04T08:32:51.098037870Z"})
}

fn notice() -> Value {
    json!({"version": 1, "text_en": "Telling us about yourself is voluntary...",
           "text_cy": "Mae dweud wrthym amdanoch eich hun yn wirfoddol...",
           "lawful_basis": "UK GDPR Article 9(2)(b) and (g) with the Data Protection Act 2018, ...",
           "published_at": "2026-12-04T08:33:02.828313Z"})
}

fn version_summary() -> Value {
    json!({"id": VERSION, "version_number": 1, "label": "national-2025.1", "status": "published",
           "etag": "9b1116572fe8e31b594e57d6100ad24c", "created_at": "2026-12-04T08:31:40.112233Z",
           "published_at": "2026-12-04T08:31:40.112233Z"})
}

fn audit_event() -> Value {
    json!({"seq": 42, "occurred_at": "2026-12-04T08:33:12.463482Z", "actor": "user:769b9cbd-fabd-4ae7-8df3-2deacf9331eb",
           "action": "declaration.replace", "subject": format!("employee:{EMPLOYEE}"),
           "request_id": "0193a1b2c3d4", "detail": null, "hash": "5e3c...e1"})
}

/// A one-characteristic catalogue, to show the shape: a real draft must keep every
/// characteristic and list the published version has (retire, never remove), so start from
/// `GET /v1/catalogue/drafts/current`.
fn catalogue() -> Value {
    let option = |code: &str, order: u32, en: &str, cy: &str| json!({"code": code, "order": order, "label": {"en": en, "cy": cy}, "publication_group": code});
    json!({"version": "north-wales-2026.1", "characteristics": [{
        "code": "disability",
        "label": {"en": "Disability", "cy": "Anabledd"},
        "why_we_ask": {"en": "To check our policies are fair to disabled colleagues.",
                       "cy": "I wirio bod ein polisïau'n deg i gydweithwyr anabl."},
        "gateway": {"text": {"en": "Do you consider yourself to have a disability?",
                             "cy": "Ydych chi'n ystyried bod gennych anabledd?"},
                    "kind": "yes_no_prefer",
                    "options": [option("yes", 1, "Yes", "Ie"), option("no", 2, "No", "Na"),
                                option("prefer_not_to_say", 3, "Prefer not to say", "Mae'n well gennyf beidio â dweud")]},
        "details": [{"code": "day_to_day_impact",
                     "label": {"en": "Does it affect your day-to-day activities?", "cy": "A yw'n effeithio ar eich gweithgareddau o ddydd i ddydd?"},
                     "selection": "single",
                     "options": [option("yes_a_lot", 1, "Yes, a lot", "Ydy, llawer"),
                                 option("yes_a_little", 2, "Yes, a little", "Ydy, ychydig"),
                                 option("not_at_all", 3, "Not at all", "Dim o gwbl")],
                     "shown_when": {"gateway_in": ["yes"]}}],
        "review_wording": false}]})
}

/// Schema name -> example, for component schemas without one of their own.
pub fn schema_examples() -> Vec<(&'static str, Value)> {
    let mut version = version_summary();
    if let Some(object) = version.as_object_mut() {
        object.insert("document".into(), catalogue());
    }
    vec![
        ("Catalogue", catalogue()),
        ("CatalogueVersionView", version),
        (
            "Export",
            json!({"employee": employee(), "privacy_notice": notice(),
            "consents": [{"purpose": "equality_monitoring", "notice_version": 1, "granted_at": "2026-12-04T08:33:02.874070Z", "withdrawn_at": null}],
            "declaration": {"version": 1, "catalogue_version_id": VERSION, "current_catalogue_version_id": VERSION,
                "answers": {"sex": {"gateway": "female"}}, "unanswered": ["age"], "new_since_answered": [],
                "last_reviewed_at": "2026-12-04T08:33:12.463482Z", "updated_at": "2026-12-04T08:33:12.463482Z"},
            "history": [{"seq": 1, "changed_at": "2026-12-04T08:33:12.463482Z", "answers": {"sex": {"gateway": "female"}}}],
            "audit_events": [audit_event()]}),
        ),
        (
            "MigrationRequest",
            json!({"mapping": {"characteristics": {"ethnicity": {"to": "race",
            "gateway": {"white_british": {"map_to": {"option": "white", "set_details": {"white_background": ["welsh_english_scottish_ni_british"]}}},
                        "not_known": "needs_reasking"}}}}, "dry_run": true}),
        ),
        (
            "MigrationReport",
            json!({"target_version_id": VERSION, "dry_run": true, "declarations": 24,
            "rewritten": 20, "left_alone": 4, "mapping": {"characteristics": {"ethnicity": {"mapped": 18,
            "unchanged": 0, "needs_reasking": 2, "invalid_after_mapping": 0, "gateway_options": {}, "detail_options": {}}}}}),
        ),
        (
            "NewAccount",
            json!({"username": "hr-admin", "password": "a long passphrase of your own", "roles": ["hr_admin"], "employee_id": null}),
        ),
        (
            "AccountView",
            json!({"id": "3f521475-f0ff-4952-959c-34e05328b467", "username": "hr-admin", "organisation_id": ORG, "roles": ["hr_admin"]}),
        ),
        (
            "NewClient",
            json!({"name": "HR system", "roles": ["hr_sync"]}),
        ),
        (
            "ClientCredentials",
            json!({"client_id": "dc_b75c2bb430d840e4897c7904e7fa43f6", "client_secret": "HAMYwvyK...(shown once)", "organisation_id": ORG, "roles": ["hr_sync"]}),
        ),
        (
            "NewOrganisation",
            json!({"code": "north-wales", "name": "North Wales Police"}),
        ),
        (
            "OrganisationView",
            json!({"id": ORG, "code": "north-wales", "name": "North Wales Police"}),
        ),
        (
            "NewNotice",
            json!({"text_en": "Telling us about yourself is voluntary...", "text_cy": "Mae dweud wrthym amdanoch eich hun yn wirfoddol...", "lawful_basis": "UK GDPR Article 9(2)(b) and (g) ..."}),
        ),
        ("NoticeView", notice()),
        (
            "NewOrgUnit",
            json!({"code": "east", "name": "East area", "kind": "command_area", "parent_id": UNIT}),
        ),
        ("OrgUnitChanges", json!({"name": "Eastern area"})),
        (
            "OrgUnitView",
            json!({"id": "dfcd26c3-930f-429a-8c1f-009305c801af", "code": "east", "name": "East area", "kind": "command_area", "parent_id": UNIT}),
        ),
        (
            "NewStaffType",
            json!({"code": "police_staff", "name": "Police staff"}),
        ),
        (
            "StaffTypeChanges",
            json!({"name": "Police staff (civilian)"}),
        ),
        (
            "StaffTypeView",
            json!({"id": "2c8937d8-dd3c-4b59-bc2b-e6c44c6cf884", "code": "police_staff", "name": "Police staff"}),
        ),
        (
            "NewRank",
            json!({"code": "pc", "name": "Constable", "order": 1}),
        ),
        ("RankChanges", json!({"order": 2})),
        (
            "RankView",
            json!({"id": "df83be07-4551-4e43-9b64-bbbf14e9495d", "code": "pc", "name": "Constable", "order": 1, "staff_type_id": null}),
        ),
        (
            "TokenRequest",
            json!({"grant_type": "password", "username": "staff-E0001", "password": "..."}),
        ),
        (
            "TokenResponse",
            json!({"access_token": "eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiIsImtpZCI6InQxIn0...", "token_type": "Bearer", "expires_in": 900}),
        ),
        (
            "ApiRoot",
            json!({"service": "declare", "version": "0.1.0", "openapi": "/openapi.json"}),
        ),
        ("Health", json!({"status": "ok", "version": "0.1.0"})),
        (
            "Readiness",
            json!({"status": "ready", "backend": "sqlite", "migrations_applied": 13}),
        ),
        (
            "Me",
            json!({"subject": "769b9cbd-fabd-4ae7-8df3-2deacf9331eb", "kind": "user", "organisation_id": ORG, "roles": ["employee"], "employee_id": EMPLOYEE}),
        ),
        ("EmployeeView", employee()),
        (
            "EmployeePage",
            json!({"items": [employee()], "next_after": "E0001"}),
        ),
        (
            "SyncReport",
            json!({"mode": "full", "dry_run": false, "rows": 24, "created": 24, "updated": 0, "unchanged": 0, "leavers": 0, "rejected": []}),
        ),
        ("AuditEventView", audit_event()),
        (
            "AuditPage",
            json!({"events": [audit_event()], "next_after": 42}),
        ),
        (
            "DueReview",
            json!({"employee_id": EMPLOYEE, "employee_number": "E0001", "org_unit": "north", "status": "never_declared"}),
        ),
        (
            "ReviewPage",
            json!({"items": [{"employee_id": EMPLOYEE, "employee_number": "E0001", "org_unit": "north", "status": "never_declared"}], "next_after": "E0001"}),
        ),
        (
            "HistoryEntry",
            json!({"seq": 1, "changed_at": "2026-12-04T08:33:12.463482Z", "answers": {"sex": {"gateway": "female"}}}),
        ),
        (
            "ConsentView",
            json!({"purpose": "equality_monitoring", "notice_version": 1, "granted_at": "2026-12-04T08:33:02.874070Z", "withdrawn_at": null}),
        ),
        ("CatalogueVersionSummary", version_summary()),
        (
            "DraftValidation",
            json!({"valid": false, "problems": [{"field": "characteristics[1].gateway.options[2].label.cy", "code": "required", "message": "Welsh text is required before publishing"}], "changes": [{"path": "characteristics[1].gateway.options[3]", "kind": "added"}]}),
        ),
        ("SnapshotSummary", snapshot()),
        ("RulesApplied", rules()),
        (
            "Figures",
            json!({"characteristic": "disability", "breakdown": "overall", "level": null, "unit": null,
            "as_at": "2026-12-04T08:33:31Z", "snapshot": null, "columns": ["declared", "prefer_not_to_say", "blank"],
            "rows": [{"key": "overall", "label": "Whole organisation", "headcount": 24, "cells": [
                {"column": "declared", "count": 18, "percent": 75.0},
                {"column": "prefer_not_to_say", "count": "suppressed", "percent": "suppressed"},
                {"column": "blank", "count": 5, "percent": 20.8}]}],
            "rules": rules()}),
        ),
        (
            "Trend",
            json!({"characteristic": "disability", "breakdown": "overall", "level": null, "kind": "monthly",
            "points": [{"snapshot": snapshot(), "columns": ["declared", "yes", "no", "prefer_not_to_say", "blank"],
                "rows": [{"key": "overall", "label": "Whole organisation", "headcount": 24, "cells": [
                    {"column": "declared", "count": 18, "percent": 75.0}, {"column": "yes", "count": 16, "percent": 66.7},
                    {"column": "no", "count": 18, "percent": 75.0}, {"column": "prefer_not_to_say", "count": 5, "percent": 20.8},
                    {"column": "blank", "count": 0, "percent": 0.0}]}],
                "rules": rules()}]}),
        ),
    ]
}

/// (path, method, media type, request or 2xx response) -> example, for bodies with no schema
/// of their own to carry one.
pub fn media_examples() -> Vec<(&'static str, &'static str, &'static str, bool, Value)> {
    let user = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
                    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
                    "urn:declare:scim:schemas:extension:workforce:1.0:User"],
        "userName": "E0001", "externalId": "00u1abcd", "active": true,
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "east"},
        "urn:declare:scim:schemas:extension:workforce:1.0:User":
            {"staffType": "police_officer", "rank": "pc", "fte": 1.0, "startDate": "2020-04-01T00:00:00Z"}});
    let csv = "employee_number,external_subject,org_unit,staff_type,rank,fte,start_date,leave_date\nE0001,,east,police_officer,pc,1.0,2020-04-01,\n";
    let ndjson = "{\"employee_number\":\"E0024\",\"org_unit\":\"east\",\"staff_type\":\"police_officer\",\"rank\":\"pc\",\"fte\":0.8,\"start_date\":\"2020-04-01\"}\n";
    let completion_csv = "key,label,headcount,declared,declared_percent,prefer_not_to_say,prefer_not_to_say_percent,blank,blank_percent\noverall,Whole organisation,24,18,75.0,[c],[c],5,20.8\n";
    vec![
        (
            "/v1/sync/employees",
            "post",
            "text/csv",
            true,
            Value::String(csv.into()),
        ),
        (
            "/v1/sync/employees",
            "post",
            "application/x-ndjson",
            true,
            Value::String(ndjson.into()),
        ),
        (
            "/v1/stats/completion",
            "get",
            "text/csv",
            false,
            Value::String(completion_csv.into()),
        ),
        (
            "/v1/stats/distribution",
            "get",
            "text/csv",
            false,
            Value::String(completion_csv.into()),
        ),
        (
            "/v1/stats/trend",
            "get",
            "text/csv",
            false,
            Value::String(completion_csv.into()),
        ),
        (
            "/scim/v2/Users",
            "post",
            "application/scim+json",
            true,
            user.clone(),
        ),
        (
            "/scim/v2/Users/{id}",
            "put",
            "application/scim+json",
            true,
            user,
        ),
        (
            "/scim/v2/Users/{id}",
            "patch",
            "application/scim+json",
            true,
            json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "path": "active", "value": false}]}),
        ),
    ]
}
