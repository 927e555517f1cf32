//! Completion and declaration figures: exact on a known workforce, small cells suppressed so
//! that none can be recovered, only for EDI viewers, and never from individual answers.

use std::collections::HashMap;

use declare::domain::disclosure::DisclosureConfig;
use declare::domain::tally::{Counted, Groups};
use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{assert_problem, spawn_app, spawn_app_with, TestApp};
use crate::on_both_backends;

pub(crate) const HEADER: &str =
    "employee_number,external_subject,org_unit,staff_type,rank,fte,start_date,leave_date\n";

/// A force with two command areas; returns (hr token, edi token, organisation id).
async fn force(app: &TestApp) -> (String, String, uuid::Uuid) {
    force_named(app, "stats").await
}

/// `force` with its own codes (`{name}-force`, `{name}-hr`, `{name}-edi`), so a test can
/// have several.
pub(crate) async fn force_named(app: &TestApp, name: &str) -> (String, String, uuid::Uuid) {
    let org = app.create_org(&format!("{name}-force")).await;
    let hr = app
        .login(
            &app.create_account(Some(org.id), &format!("{name}-hr"), &["hr_admin"])
                .await,
        )
        .await;
    let edi = app
        .login(
            &app.create_account(Some(org.id), &format!("{name}-edi"), &["edi_viewer"])
                .await,
        )
        .await;
    let post = |path: &'static str, body: Value| {
        let request = app.authed(Method::POST, path, &hr).json(&body);
        async move {
            let r = request.send().await.unwrap();
            assert_eq!(r.status(), 201, "{path}");
            r.json::<Value>().await.unwrap()
        }
    };
    let top = post(
        "/v1/org-units",
        json!({"code": "force", "name": "Force", "kind": "force"}),
    )
    .await;
    for code in ["north", "south"] {
        post("/v1/org-units", json!({"code": code, "name": code.to_uppercase(), "kind": "command_area", "parent_id": top["id"]}))
            .await;
    }
    post(
        "/v1/ranks",
        json!({"code": "pc", "name": "Constable", "order": 1}),
    )
    .await;
    (hr, edi, org.id)
}

/// People as (employee number, unit, staff type, rank, disability answer or "" for blank).
pub(crate) async fn sync_and_answer(
    app: &TestApp,
    hr: &str,
    org: uuid::Uuid,
    people: &[(String, &str, &str, &str, &str)],
) {
    let mut csv = HEADER.to_owned();
    for (number, unit, staff_type, rank, _) in people {
        csv.push_str(&format!(
            "{number},,{unit},{staff_type},{rank},1.0,2020-01-01,\n"
        ));
    }
    let r = app
        .authed(Method::POST, "/v1/sync/employees", hr)
        .header("content-type", "text/csv")
        .body(csv)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    // Declarations land separately; until then, feed the answers through the same recount
    // the sync uses, so the figures below are computed from real sealed tallies.
    let answers: HashMap<String, &str> = people
        .iter()
        .map(|(n, _, _, _, a)| (n.clone(), *a))
        .collect();
    let answers: HashMap<String, String> = answers
        .into_iter()
        .map(|(k, v)| (k, v.to_owned()))
        .collect();
    let sealer = app.state.sealer.clone();
    app.state
        .db
        .run(move |conn| {
            let employees =
                declare::store::workforce::list_employees(conn, &org.to_string(), None, 10_000)?;
            let by_id: HashMap<String, String> = employees
                .into_iter()
                .map(|e| {
                    (
                        e.id,
                        answers.get(&e.employee_number).cloned().unwrap_or_default(),
                    )
                })
                .collect();
            let org = org.to_string();
            Ok(conn.transaction(|conn| {
                let secret = declare::services::noise::secret(conn, &sealer, &org)?;
                declare::services::tallies::rebuild(conn, &sealer, &org, |_, id| {
                    let answer = by_id.get(id).cloned().unwrap_or_default();
                    let mut groups = Groups::new();
                    if !answer.is_empty() {
                        groups.insert("disability".into(), answer);
                    }
                    Ok(Counted::new(&secret, id, groups))
                })
            }))
        })
        .await
        .unwrap()
        .unwrap();
}

pub(crate) fn people(
    prefix: &str,
    unit: &'static str,
    staff_type: &'static str,
    rank: &'static str,
    mix: &[(&'static str, usize)],
) -> Vec<(
    String,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
)> {
    let mut out = Vec::new();
    for (answer, n) in mix {
        for _ in 0..*n {
            out.push((
                format!("{prefix}{:03}", out.len()),
                unit,
                staff_type,
                rank,
                *answer,
            ));
        }
    }
    out
}

pub(crate) async fn figures(app: &TestApp, token: &str, path: &str) -> Value {
    let r = app.authed(Method::GET, path, token).send().await.unwrap();
    assert_eq!(r.status(), 200, "{path}");
    r.json().await.unwrap()
}

pub(crate) fn row<'a>(figures: &'a Value, label: &str) -> &'a Value {
    figures["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["label"] == label)
        .unwrap_or_else(|| panic!("no row {label} in {figures}"))
}

pub(crate) fn cell(row: &Value, column: &str) -> Value {
    row["cells"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["column"] == column)
        .map(|c| c["count"].clone())
        .unwrap()
}

pub(crate) fn workforce() -> Vec<(
    String,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
)> {
    let mut all = people(
        "N",
        "north",
        "police_officer",
        "pc",
        &[("yes", 10), ("no", 10), ("prefer_not_to_say", 5), ("", 5)],
    );
    all.extend(people(
        "S",
        "south",
        "police_staff",
        "",
        &[("yes", 5), ("no", 10), ("prefer_not_to_say", 5), ("", 5)],
    ));
    all
}

on_both_backends! {
    async fn a_known_workforce_gives_exactly_the_expected_figures(backend) {
        let app = spawn_app(backend).await;
        let (hr, edi, org) = force(&app).await;
        sync_and_answer(&app, &hr, org, &workforce()).await;

        let overall = figures(&app, &edi, "/v1/stats/completion?characteristic=disability").await;
        assert_eq!(overall["columns"], json!(["declared", "prefer_not_to_say", "blank"]));
        assert_eq!(overall["rules"]["min_cell"], 5);
        let whole = row(&overall, "Whole organisation");
        assert_eq!(whole["headcount"], 55);
        assert_eq!((cell(whole, "declared"), cell(whole, "prefer_not_to_say"), cell(whole, "blank")), (json!(35), json!(10), json!(10)));
        let declared = whole["cells"].as_array().unwrap().iter().find(|c| c["column"] == "declared").unwrap();
        assert_eq!(declared["percent"], 63.6);

        let areas = figures(&app, &edi, "/v1/stats/completion?characteristic=disability&by=org_unit&level=1").await;
        let north = row(&areas, "NORTH");
        assert_eq!((north["headcount"].clone(), cell(north, "declared"), cell(north, "blank")), (json!(30), json!(20), json!(5)));
        let south = row(&areas, "SOUTH");
        assert_eq!((south["headcount"].clone(), cell(south, "declared"), cell(south, "prefer_not_to_say")), (json!(25), json!(15), json!(5)));

        let spread = figures(&app, &edi, "/v1/stats/distribution?characteristic=disability&by=rank").await;
        assert_eq!(spread["columns"], json!(["yes", "no", "prefer_not_to_say", "blank"]));
        let constables = row(&spread, "Constable");
        assert_eq!((cell(constables, "yes"), cell(constables, "no")), (json!(10), json!(10)));
    }

    async fn small_groups_are_not_broken_down_and_every_count_is_perturbed(backend) {
        // The production rules: noise, G = 10, k = 5 (figures still follow every write here).
        let app = spawn_app_with(backend, |config| {
            config.disclosure = DisclosureConfig { refresh_seconds: 0, ..DisclosureConfig::default() };
        })
        .await;
        let (hr, edi, org) = force(&app).await;
        let mut all = workforce();
        all.extend(people("P", "south", "pcso", "", &[("yes", 1), ("no", 1), ("", 1)]));
        sync_and_answer(&app, &hr, org, &all).await;

        for by in ["overall", "org_unit", "staff_type", "rank"] {
            for view in ["completion", "distribution"] {
                let f = figures(&app, &edi, &format!("/v1/stats/{view}?characteristic=disability&by={by}")).await;
                assert_eq!(f["rules"]["method"], "cell_key_perturbation");
                assert_eq!(f["rules"]["noise_sd"], 5.0);
                assert_eq!(f["rules"]["min_group"], 10);
                for r in f["rows"].as_array().unwrap() {
                    let headcount = r["headcount"].as_u64().expect("headcounts are exact numbers");
                    for c in r["cells"].as_array().unwrap() {
                        match c["count"].as_u64() {
                            Some(n) => {
                                // An empty group publishes zeros: there is nobody to protect.
                                assert!(headcount >= 10 || (headcount, n) == (0, 0), "a group of {headcount} is broken down: {r}");
                                assert!(n == 0 || n >= 5, "a count of {n} was published");
                            }
                            None => assert_eq!(c["count"], "suppressed"),
                        }
                    }
                }
                if by == "staff_type" {
                    let pcso = f["rows"].as_array().unwrap().iter().find(|r| r["key"] == "pcso").unwrap();
                    assert_eq!(pcso["headcount"], 3);
                    assert!(pcso["cells"].as_array().unwrap().iter().all(|c| c["count"] == "suppressed"));
                }
            }
        }
        // Asking again gives the same figures: the noise is fixed by the people behind it.
        let path = "/v1/stats/distribution?characteristic=disability&by=org_unit&level=1";
        let (once, twice) = (figures(&app, &edi, path).await, figures(&app, &edi, path).await);
        assert_eq!(once["rows"], twice["rows"]);
    }

    async fn only_edi_viewers_read_figures_and_only_for_known_characteristics(backend) {
        let app = spawn_app(backend).await;
        let (hr, edi, _) = force(&app).await;
        assert_eq!(app.authed(Method::GET, "/v1/stats/completion?characteristic=disability", &hr).send().await.unwrap().status(), 403);
        let unknown = app.authed(Method::GET, "/v1/stats/completion?characteristic=shoe_size", &edi).send().await.unwrap();
        let body = assert_problem(unknown, 422).await;
        assert_eq!(body["errors"][0]["field"], "characteristic");
        let free_filter = app.authed(Method::GET, "/v1/stats/completion?characteristic=disability&employee=E1", &edi).send().await.unwrap();
        assert_problem(free_filter, 400).await;
        // An empty organisation publishes zeros, not an error.
        let empty = figures(&app, &edi, "/v1/stats/completion?characteristic=sex").await;
        assert_eq!(row(&empty, "Whole organisation")["headcount"], 0);
    }

    async fn rounding_publishes_counts_to_the_nearest_five_and_rates_from_published_counts(backend) {
        let app = spawn_app_with(backend, |config| config.disclosure.round_to = Some(5)).await;
        let (hr, edi, org) = force(&app).await;
        // Exact figures (the test rules: no noise), so the rounding alone shows.
        let mut all = people("N", "north", "police_officer", "pc", &[("yes", 12), ("no", 9), ("prefer_not_to_say", 6), ("", 7)]);
        all.extend(people("S", "south", "police_staff", "", &[("yes", 6), ("no", 11), ("prefer_not_to_say", 5), ("", 8)]));
        sync_and_answer(&app, &hr, org, &all).await;

        let overall = figures(&app, &edi, "/v1/stats/completion?characteristic=disability").await;
        assert_eq!(overall["rules"]["round_to"], 5);
        assert_eq!(overall["rules"]["rate_decimals"], 1);
        let whole = row(&overall, "Whole organisation");
        // Exact: headcount 64 (published as it is), declared 38, prefer not to say 11, blank 15.
        assert_eq!(whole["headcount"], 64);
        assert_eq!((cell(whole, "declared"), cell(whole, "prefer_not_to_say"), cell(whole, "blank")), (json!(40), json!(10), json!(15)));
        // Rates come from the published counts (40 of 64), never the exact ones.
        let percent = |row: &Value, column: &str| row["cells"].as_array().unwrap().iter().find(|c| c["column"] == column).unwrap()["percent"].clone();
        assert_eq!(percent(whole, "declared"), 62.5);
        assert_eq!(percent(whole, "prefer_not_to_say"), 15.6);
        assert_eq!(percent(whole, "blank"), 23.4);

        // Exact: north 34 = 12 yes + 9 no + 6 pnts + 7 blank; south 30 = 6 + 11 + 5 + 8.
        let areas = figures(&app, &edi, "/v1/stats/distribution?characteristic=disability&by=org_unit&level=1").await;
        let north = row(&areas, "NORTH");
        assert_eq!(north["headcount"], 34);
        assert_eq!(["yes", "no", "prefer_not_to_say", "blank"].map(|c| cell(north, c)), [json!(10), json!(10), json!(5), json!(5)]);
        assert_eq!(percent(north, "yes"), 29.4);
        let south = row(&areas, "SOUTH");
        assert_eq!(south["headcount"], 30);
        assert_eq!(["yes", "no", "prefer_not_to_say", "blank"].map(|c| cell(south, c)), [json!(5), json!(10), json!(5), json!(10)]);
        assert_eq!(percent(south, "blank"), 33.3);

        let by_type = figures(&app, &edi, "/v1/stats/completion?characteristic=disability&by=staff_type").await;
        let staff = by_type["rows"].as_array().unwrap().iter().find(|r| r["key"] == "police_staff").unwrap();
        assert_eq!((staff["headcount"].clone(), cell(staff, "declared")), (json!(30), json!(15)));
        let pcso = by_type["rows"].as_array().unwrap().iter().find(|r| r["key"] == "pcso").unwrap();
        assert_eq!(pcso["headcount"], 0, "an empty group stays 0");
    }
}
