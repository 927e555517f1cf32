//! Snapshots, trends, CSV and national viewers: a snapshot answers the same question the same
//! way however the live data change; trend points equal the snapshot figures; CSV shows
//! suppressed cells as `[c]`; national viewers read any organisation's figures and nothing else.

use chrono::{Datelike, Months, NaiveDate, NaiveDateTime};
use declare::domain::schedule::Schedule;
use declare::services::audit::Actor;
use declare::services::stats::{self, snapshots, Breakdown, FigureCache, FigureRequest, View};
use reqwest::Method;
use secrecy::ExposeSecret as _;
use serde_json::{json, Value};

use crate::helpers::{assert_problem, spawn_app, spawn_app_with, TestApp};
use crate::on_both_backends;
use crate::stats::{cell, figures, force_named, people, row, sync_and_answer, workforce};

type Person = (
    String,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
);

/// The known workforce after a year: everyone in the north answered, and a new east command
/// area of ten police staff (five yes, five no).
fn workforce_later() -> Vec<Person> {
    let mut all = people(
        "N",
        "north",
        "police_officer",
        "pc",
        &[("yes", 10), ("no", 15), ("prefer_not_to_say", 5)],
    );
    all.extend(people(
        "S",
        "south",
        "police_staff",
        "",
        &[("yes", 5), ("no", 10), ("prefer_not_to_say", 5), ("", 5)],
    ));
    all.extend(people(
        "E",
        "east",
        "police_staff",
        "",
        &[("yes", 5), ("no", 5)],
    ));
    all
}

/// Restructures the force: renames NORTH and adds an EAST command area.
async fn restructure(app: &TestApp, hr: &str) {
    let units: Value = app
        .authed(Method::GET, "/v1/org-units", hr)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let units = units
        .as_array()
        .or_else(|| units["items"].as_array())
        .cloned()
        .unwrap_or_else(|| panic!("unit list: {units}"));
    let id_of = |code: &str| {
        units
            .iter()
            .find(|u| u["code"] == code)
            .map(|u| u["id"].as_str().unwrap().to_owned())
            .unwrap()
    };
    let r = app
        .authed(Method::POST, "/v1/org-units", hr)
        .json(&json!({"code": "east", "name": "EAST", "kind": "command_area", "parent_id": id_of("force")}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let r = app
        .authed(
            Method::PATCH,
            &format!("/v1/org-units/{}", id_of("north")),
            hr,
        )
        .json(&json!({"name": "NORTH AND WEST"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
}

pub(crate) fn first_of_month(months_ahead: u32) -> NaiveDateTime {
    let today = chrono::Utc::now().date_naive();
    NaiveDate::from_ymd_opt(today.year(), today.month(), 1)
        .unwrap()
        .checked_add_months(Months::new(months_ahead))
        .unwrap()
        .and_hms_opt(0, 0, 0)
        .unwrap()
}

fn monthly() -> Schedule {
    Schedule {
        publication_dates: vec![],
        monthly_day: Some(1),
    }
}

/// Takes the monthly snapshot due at `now` through the same service the CLI and scheduler use.
pub(crate) async fn take_at(app: &TestApp, org: uuid::Uuid, now: NaiveDateTime) {
    let taken = snapshots::take_due(
        &app.state.db,
        app.state.sealer.clone(),
        monthly(),
        Actor::cli(),
        Some(org),
        None,
        now,
    )
    .await
    .unwrap();
    assert_eq!(taken.len(), 1);
    assert!(taken[0].new);
}

async fn get(app: &TestApp, token: &str, path: &str) -> reqwest::Response {
    app.authed(Method::GET, path, token).send().await.unwrap()
}

async fn snapshot_list(app: &TestApp, token: &str, query: &str) -> Vec<Value> {
    let r = get(app, token, &format!("/v1/stats/snapshots{query}")).await;
    assert_eq!(r.status(), 200);
    r.json::<Value>().await.unwrap().as_array().unwrap().clone()
}

async fn text(app: &TestApp, token: &str, path: &str) -> String {
    let r = get(app, token, path).await;
    assert_eq!(r.status(), 200, "{path}");
    assert_eq!(
        r.headers()["content-type"].to_str().unwrap(),
        "text/csv; charset=utf-8"
    );
    r.text().await.unwrap()
}

/// The tests' rules: exact figures (no noise), G = k = 5, figures follow every write.
const RULES_BLOCK: &str = "method,\"cell_key_perturbation: every count but the headcount carries noise (two-sided geometric, standard deviation 0) fixed by the people behind it, so counts do not add up exactly and one person's change cannot be told apart\"\r\n\
suppression,\"perturbed counts from 1 to 4 are shown as [c]; groups under 5 are not broken down, and answers are not split where fewer than 5 answered\"\r\n\
refresh,live figures follow every change\r\n\
rounding,none\r\n\
rates,\"percent of the row's exact headcount from the published count, to 1 decimal place(s); [z] where the headcount is 0\"\r\n";

on_both_backends! {
    async fn a_snapshot_taken_by_the_cli_answers_the_same_however_live_data_change(backend) {
        let today = chrono::Utc::now().date_naive();
        let app = spawn_app(backend).await;
        let (hr, edi, org) = force_named(&app, "frozen").await;
        sync_and_answer(&app, &hr, org, &workforce()).await;

        let dir = tempfile::tempdir().unwrap();
        let cli = || {
            let out = std::process::Command::new(env!("CARGO_BIN_EXE_declare"))
                .args(["stats", "snapshot", "--org", "frozen-force", "--label", "annual publication"])
                .env("DECLARE_DATABASE_URL", &app.db.url)
                .env("DECLARE_DATA_DIR", dir.path())
                .env("DECLARE_ENCRYPTION_KEY", app.state.config.encryption_key.secret.expose_secret())
                .env("DECLARE_SNAPSHOT_PUBLICATION_DATES", today.format("%m-%d").to_string())
                .env("DECLARE_SNAPSHOT_MONTHLY_DAY", "none")
                .output()
                .unwrap();
            assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
            String::from_utf8(out.stdout).unwrap()
        };
        let period = today.to_string();
        assert_eq!(cli(), format!("frozen-force publication {period}: taken\n"));
        // Rerunning (a restart, a second operator) never duplicates.
        assert_eq!(cli(), format!("frozen-force publication {period}: already taken\n"));

        let list = snapshot_list(&app, &edi, "").await;
        assert_eq!(list.len(), 1, "{list:?}");
        let snapshot = &list[0];
        assert_eq!((snapshot["period"].as_str(), snapshot["kind"].as_str()), (Some(period.as_str()), Some("publication")));
        assert_eq!((snapshot["late"].clone(), snapshot["label"].clone()), (json!(false), json!("annual publication")));
        let id = snapshot["id"].as_str().unwrap().to_owned();
        assert_eq!(snapshot_list(&app, &edi, "?kind=monthly").await.len(), 0);

        let questions = [
            format!("/v1/stats/completion?characteristic=disability&snapshot={id}"),
            format!("/v1/stats/completion?characteristic=disability&by=org_unit&snapshot={id}"),
            format!("/v1/stats/distribution?characteristic=disability&by=staff_type&snapshot={id}"),
            format!("/v1/stats/distribution?characteristic=disability&by=rank&snapshot={id}"),
        ];
        let mut before = Vec::new();
        for q in &questions {
            before.push(figures(&app, &edi, q).await);
        }
        let areas = &before[1];
        assert_eq!(areas["snapshot"]["id"], id.as_str());
        assert_eq!(row(areas, "NORTH")["headcount"], 30);
        // The snapshot figures are the live figures at the time it was taken.
        let live_then = figures(&app, &edi, "/v1/stats/completion?characteristic=disability&by=org_unit").await;
        assert_eq!(areas["rows"], live_then["rows"]);

        // A year of change: answers, joiners, a renamed unit and a new one.
        restructure(&app, &hr).await;
        sync_and_answer(&app, &hr, org, &workforce_later()).await;
        let live_now = figures(&app, &edi, "/v1/stats/completion?characteristic=disability&by=org_unit").await;
        assert_eq!(row(&live_now, "NORTH AND WEST")["headcount"], 30);
        assert_eq!(row(&live_now, "EAST")["headcount"], 10);
        assert_ne!(live_now["rows"], live_then["rows"]);

        for (q, then) in questions.iter().zip(&before) {
            assert_eq!(&figures(&app, &edi, q).await, then, "{q} changed");
        }
        // Snapshot figures are protected once per characteristic and kept; frozen in fact, not
        // only in the cache: recomputed from the sealed snapshot with no cache, the same.
        let (entries, _) = app.state.figures.size();
        figures(&app, &edi, &format!("/v1/stats/completion?characteristic=race&snapshot={id}")).await;
        figures(&app, &edi, &format!("/v1/stats/distribution?characteristic=race&by=rank&snapshot={id}")).await;
        assert_eq!(app.state.figures.size().0, entries + 1, "one more family kept, for race at the snapshot");
        let uncached = stats::figures_at(
            &app.state.db,
            app.state.sealer.clone(),
            app.state.config.disclosure,
            &FigureCache::with_limits(0, 0),
            org,
            Some(id.parse().unwrap()),
            FigureRequest { characteristic: "disability".into(), breakdown: Breakdown::OrgUnit, level: 1, unit: None, view: View::Completion },
        )
        .await
        .unwrap();
        assert_eq!(serde_json::to_value(uncached).unwrap(), before[1]);
        // Kept figures are never served to another organisation's viewer.
        let (_, stranger, _) = force_named(&app, "elsewhere").await;
        assert_problem(get(&app, &stranger, &questions[1]).await, 404).await;
    }

    async fn the_scheduled_task_takes_a_due_snapshot_once(backend) {
        let today = chrono::Utc::now().date_naive();
        let app = spawn_app_with(backend, |config| {
            config.snapshot_schedule = Schedule { publication_dates: vec![], monthly_day: Some(today.day()) };
            config.snapshot_check_seconds = Some(1);
        })
        .await;
        let (_, edi, org) = force_named(&app, "scheduled").await;
        let mut list = Vec::new();
        for _ in 0..300 {
            list = snapshot_list(&app, &edi, "").await;
            if !list.is_empty() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert_eq!(list.len(), 1, "the scheduled task took no snapshot");
        assert_eq!(list[0]["kind"], "monthly");
        assert_eq!(list[0]["period"], today.format("%Y-%m").to_string());
        assert_eq!(list[0]["late"], false);
        // Further ticks, and a restart's first run, find it taken.
        tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
        let again = snapshots::take_due(
            &app.state.db,
            app.state.sealer.clone(),
            app.state.config.snapshot_schedule.clone(),
            Actor::cli(),
            Some(org),
            None,
            chrono::Utc::now().naive_utc(),
        )
        .await
        .unwrap();
        assert!(again.iter().all(|t| !t.new), "{again:?}");
        assert_eq!(snapshot_list(&app, &edi, "").await, list);
    }

    async fn a_trend_skips_snapshots_from_before_its_characteristic_and_remembers_it(backend) {
        let app = spawn_app(backend).await;
        let (hr, edi, org) = force_named(&app, "added").await;
        sync_and_answer(&app, &hr, org, &workforce()).await;
        take_at(&app, org, first_of_month(1)).await;
        // The force starts asking about armed forces service (a copy of caring, recoded).
        let mut catalogue = declare::domain::catalogue::national().unwrap();
        let mut added = catalogue.characteristics.iter().find(|c| c.code == "caring_responsibilities").unwrap().clone();
        added.code = "armed_forces".into();
        catalogue.characteristics.push(added);
        catalogue.version = "added-2026.1".into();
        let r = app.authed(Method::POST, "/v1/catalogue/drafts", &hr).send().await.unwrap();
        assert_eq!(r.status(), 201);
        let draft: Value = r.json().await.unwrap();
        let r = app.authed(Method::PUT, "/v1/catalogue/drafts/current", &hr)
            .header("if-match", format!("\"{}\"", draft["etag"].as_str().unwrap()))
            .json(&catalogue).send().await.unwrap();
        assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
        let r = app.authed(Method::POST, "/v1/catalogue/drafts/current/publish", &hr).send().await.unwrap();
        assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
        take_at(&app, org, first_of_month(2)).await;

        let path = "/v1/stats/trend?characteristic=armed_forces";
        let trend = figures(&app, &edi, path).await;
        let points = trend["points"].as_array().unwrap();
        assert_eq!(points.len(), 1, "only the snapshot taken after it was asked: {trend}");
        assert_eq!(points[0]["snapshot"]["period"], first_of_month(2).format("%Y-%m").to_string());
        // Both snapshots were looked at once; asking again opens neither.
        let computed = app.state.figures.computations();
        assert_eq!(figures(&app, &edi, path).await, trend);
        assert_eq!(app.state.figures.computations(), computed);
    }

    async fn the_trend_is_exact_and_each_point_equals_its_snapshot(backend) {
        let app = spawn_app(backend).await;
        let (hr, edi, org) = force_named(&app, "trend").await;
        sync_and_answer(&app, &hr, org, &workforce()).await;
        let (first, second) = (first_of_month(1), first_of_month(2));
        take_at(&app, org, first).await;
        restructure(&app, &hr).await;
        sync_and_answer(&app, &hr, org, &workforce_later()).await;
        take_at(&app, org, second).await;

        let trend = figures(&app, &edi, "/v1/stats/trend?characteristic=disability").await;
        let points = trend["points"].as_array().unwrap();
        assert_eq!(points.len(), 2);
        assert_eq!(points[0]["snapshot"]["period"], first.format("%Y-%m").to_string());
        assert_eq!(points[1]["snapshot"]["period"], second.format("%Y-%m").to_string());
        assert_eq!(points[0]["columns"], json!(["declared", "yes", "no", "prefer_not_to_say", "blank"]));
        let overall = |p: &Value| {
            let whole = &p["rows"][0];
            let cells: Vec<(Value, Value)> = whole["cells"].as_array().unwrap().iter().map(|c| (c["count"].clone(), c["percent"].clone())).collect();
            (whole["headcount"].clone(), cells)
        };
        assert_eq!(overall(&points[0]), (json!(55), vec![
            (json!(35), json!(63.6)), (json!(15), json!(27.3)), (json!(20), json!(36.4)), (json!(10), json!(18.2)), (json!(10), json!(18.2)),
        ]));
        assert_eq!(overall(&points[1]), (json!(65), vec![
            (json!(50), json!(76.9)), (json!(20), json!(30.8)), (json!(30), json!(46.2)), (json!(10), json!(15.4)), (json!(5), json!(7.7)),
        ]));
        // Each point is what asking that snapshot gives.
        for point in points {
            let id = point["snapshot"]["id"].as_str().unwrap();
            let single = figures(&app, &edi, &format!("/v1/stats/distribution?characteristic=disability&by=org_unit&snapshot={id}")).await;
            let by_unit = figures(&app, &edi, "/v1/stats/trend?characteristic=disability&by=org_unit").await;
            let same = by_unit["points"].as_array().unwrap().iter().find(|p| p["snapshot"]["id"] == id).unwrap();
            for r in single["rows"].as_array().unwrap() {
                let t = same["rows"].as_array().unwrap().iter().find(|t| t["key"] == r["key"]).unwrap();
                assert_eq!(t["headcount"], r["headcount"]);
                for c in r["cells"].as_array().unwrap() {
                    let column = c["column"].as_str().unwrap();
                    assert_eq!(cell(t, column), c["count"], "{column}");
                }
            }
        }
        let monthly_only = figures(&app, &edi, "/v1/stats/trend?characteristic=disability&kind=monthly").await;
        assert_eq!(monthly_only["points"].as_array().unwrap().len(), 2);
        let none = figures(&app, &edi, "/v1/stats/trend?characteristic=disability&kind=publication").await;
        assert_eq!(none["points"], json!([]));
        let unknown = get(&app, &edi, "/v1/stats/trend?characteristic=shoe_size").await;
        assert_problem(unknown, 422).await;

        // The trend in CSV, exactly.
        let csv = text(&app, &edi, "/v1/stats/trend?characteristic=disability&format=csv").await;
        let (p1, p2) = (first.format("%Y-%m"), second.format("%Y-%m"));
        let (d1, d2) = (first.format("%Y-%m-%d"), second.format("%Y-%m-%d"));
        let (t1, t2) = (first.format("%Y-%m-%dT%H:%M:%SZ"), second.format("%Y-%m-%dT%H:%M:%SZ"));
        let expected = format!("title,Completion and declaration trend\r\n\
characteristic,disability\r\n\
breakdown,overall\r\n\
snapshots,\"all snapshots, oldest first\"\r\n\
{RULES_BLOCK}\
protection,each snapshot is protected on its own; see each line's snapshot\r\n\
\r\n\
period,kind,due_on,taken_at,late,key,label,headcount,declared,declared_percent,yes,yes_percent,no,no_percent,prefer_not_to_say,prefer_not_to_say_percent,blank,blank_percent\r\n\
{p1},monthly,{d1},{t1},false,overall,Whole organisation,55,35,63.6,15,27.3,20,36.4,10,18.2,10,18.2\r\n\
{p2},monthly,{d2},{t2},false,overall,Whole organisation,65,50,76.9,20,30.8,30,46.2,10,15.4,5,7.7\r\n");
        assert_eq!(csv, expected);
    }

    async fn csv_figures_state_their_snapshot_and_rules_and_mark_suppressed_cells(backend) {
        let app = spawn_app(backend).await;
        let (hr, edi, org) = force_named(&app, "csv").await;
        let mut all = workforce();
        all.extend(people("P", "south", "pcso", "", &[("yes", 1), ("no", 1), ("", 1)]));
        sync_and_answer(&app, &hr, org, &all).await;
        let at = first_of_month(1);
        take_at(&app, org, at).await;
        let id = snapshot_list(&app, &edi, "").await[0]["id"].as_str().unwrap().to_owned();

        let by_accept = app
            .authed(Method::GET, &format!("/v1/stats/completion?characteristic=disability&snapshot={id}"), &edi)
            .header("accept", "text/csv")
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let csv = text(&app, &edi, &format!("/v1/stats/completion?characteristic=disability&snapshot={id}&format=csv")).await;
        assert_eq!(by_accept, csv);
        let json = figures(&app, &edi, &format!("/v1/stats/completion?characteristic=disability&snapshot={id}")).await;
        let rules = &json["rules"];
        let whole = row(&json, "Whole organisation");
        let shown = |column: &str| match cell(whole, column) {
            Value::String(_) => "[c]".to_owned(),
            n => n.to_string(),
        };
        let percent = |column: &str| {
            let c = whole["cells"].as_array().unwrap().iter().find(|c| c["column"] == column).unwrap();
            match &c["percent"] { Value::String(_) => "[c]".to_owned(), p => format!("{:.1}", p.as_f64().unwrap()) }
        };
        let period = at.format("%Y-%m");
        let taken = at.format("%Y-%m-%dT%H:%M:%SZ");
        let expected = format!("title,Completion: disability\r\n\
characteristic,disability\r\n\
breakdown,overall\r\n\
as_at,{taken}\r\n\
snapshot,monthly {period} {id}\r\n\
{RULES_BLOCK}\
cells suppressed,\"{} small, {} in small groups\"\r\n\
\r\n\
key,label,headcount,declared,declared_percent,prefer_not_to_say,prefer_not_to_say_percent,blank,blank_percent\r\n\
overall,Whole organisation,58,{},{},{},{},{},{}\r\n",
            rules["small_count_suppressions"], rules["small_group_suppressions"],
            shown("declared"), percent("declared"), shown("prefer_not_to_say"), percent("prefer_not_to_say"), shown("blank"), percent("blank"));
        assert_eq!(csv, expected);

        let by_type = text(&app, &edi, &format!("/v1/stats/distribution?characteristic=disability&by=staff_type&snapshot={id}&format=csv")).await;
        let pcso = by_type.lines().find(|l| l.starts_with("pcso,")).unwrap();
        assert_eq!(pcso.split(',').skip(2).collect::<Vec<_>>(), ["3", "[c]", "[c]", "[c]", "[c]", "[c]", "[c]", "[c]", "[c]"], "three PCSOs: headcount shown, nothing broken down: {pcso}");
        let table = by_type.split("\r\n\r\n").nth(1).unwrap();
        assert!(!table.contains("suppressed"), "a cell says `suppressed`, not [c]: {table}");
        // Live figures say so too.
        let live = text(&app, &edi, "/v1/stats/completion?characteristic=disability&format=csv").await;
        assert!(live.contains("snapshot,none (live figures)\r\n"), "{live}");
    }

    async fn national_viewers_read_any_organisation_and_viewers_only_their_own(backend) {
        let app = spawn_app(backend).await;
        let (hr_a, edi_a, a) = force_named(&app, "alpha").await;
        let (hr_b, edi_b, b) = force_named(&app, "bravo").await;
        sync_and_answer(&app, &hr_a, a, &workforce()).await;
        sync_and_answer(&app, &hr_b, b, &workforce_later_without_east()).await;
        let national = app.login(&app.create_account(None, "national", &["national_viewer"]).await).await;
        take_at(&app, a, first_of_month(1)).await;
        let snapshot_a = snapshot_list(&app, &edi_a, "").await[0]["id"].as_str().unwrap().to_owned();

        for (org, edi) in [(a, &edi_a), (b, &edi_b)] {
            for path in ["/v1/stats/completion?characteristic=disability&by=org_unit", "/v1/stats/distribution?characteristic=disability"] {
                let own = figures(&app, edi, path).await;
                let theirs = figures(&app, &national, &format!("{path}&organisation={org}")).await;
                assert_eq!(own["rows"], theirs["rows"], "{path}");
            }
        }
        let whole_b = figures(&app, &national, &format!("/v1/stats/completion?characteristic=disability&organisation={b}")).await;
        assert_eq!(row(&whole_b, "Whole organisation")["headcount"], 55);
        assert_eq!(cell(row(&whole_b, "Whole organisation"), "blank"), 5);
        assert_eq!(snapshot_list(&app, &national, &format!("?organisation={a}")).await.len(), 1);
        assert_eq!(snapshot_list(&app, &national, &format!("?organisation={b}")).await.len(), 0);
        let via_national = figures(&app, &national, &format!("/v1/stats/completion?characteristic=disability&organisation={a}&snapshot={snapshot_a}")).await;
        assert_eq!(via_national["snapshot"]["id"], snapshot_a.as_str());

        // The organisation is required of a national viewer, and must exist.
        assert_problem(get(&app, &national, "/v1/stats/completion?characteristic=disability").await, 400).await;
        let nowhere = uuid::Uuid::new_v4();
        assert_problem(get(&app, &national, &format!("/v1/stats/trend?characteristic=disability&organisation={nowhere}")).await, 404).await;
        // An organisation's viewer may name their own organisation, never another.
        assert_eq!(get(&app, &edi_a, &format!("/v1/stats/completion?characteristic=disability&organisation={a}")).await.status(), 200);
        assert_problem(get(&app, &edi_a, &format!("/v1/stats/completion?characteristic=disability&organisation={b}")).await, 403).await;
        assert_problem(get(&app, &edi_b, &format!("/v1/stats/snapshots?organisation={a}")).await, 403).await;
        // Snapshots are per organisation: another's id, or no such id, is a 404.
        assert_problem(get(&app, &edi_b, &format!("/v1/stats/completion?characteristic=disability&snapshot={snapshot_a}")).await, 404).await;
        assert_problem(get(&app, &national, &format!("/v1/stats/completion?characteristic=disability&organisation={b}&snapshot={snapshot_a}")).await, 404).await;
        assert_problem(get(&app, &edi_a, &format!("/v1/stats/completion?characteristic=disability&snapshot={nowhere}")).await, 404).await;
        assert_problem(get(&app, &edi_a, "/v1/stats/completion?characteristic=disability&snapshot=not-an-id").await, 400).await;
        // Figures only: a national viewer reaches no workforce or answer.
        for path in ["/v1/employees", "/v1/org-units", "/v1/reviews", "/v1/audit"] {
            assert_eq!(get(&app, &national, path).await.status(), 403, "{path}");
        }
    }
}

/// `workforce_later` without the east unit (an organisation that never restructured).
fn workforce_later_without_east() -> Vec<Person> {
    workforce_later()
        .into_iter()
        .filter(|p| p.1 != "east")
        .collect()
}
