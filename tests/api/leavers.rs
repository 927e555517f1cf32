//! Leavers drop out of the current figures on their leave date: a date set in advance is
//! counted as in post by the write that set it, and the leavers' pass (in `declare retention
//! run` and on a schedule in `serve`) takes the person out once it arrives. Idempotent,
//! audited with counts only, equal to a recount, and safe beside concurrent declaration writes.

use declare::services::audit::Actor;
use declare::services::leavers;
use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::cli;
use crate::helpers::spawn_app;
use crate::helpers::TestApp;
use crate::on_both_backends;
use crate::retention::{audit_events, counted, days_ago, declared, set_leave_dates, HEADER};
use crate::stats::{figures, force_named, row};
use crate::tallies::{recount, snapshot};

fn execute(app: &TestApp, sql: &str) {
    let mut conn = app.raw_connection();
    declare::with_conn!(&mut conn, |c| diesel::RunQueryDsl::execute(
        diesel::sql_query(sql),
        c
    ))
    .unwrap();
}

/// What days passing does to a leave date set in advance: the write that set it (and the
/// recount it made) happened `days` ago, and the leave date was yesterday.
fn let_days_pass(app: &TestApp, org: uuid::Uuid, employee_numbers: &[&str], days: u64) {
    let numbers: Vec<String> = employee_numbers.iter().map(|n| format!("'{n}'")).collect();
    execute(
        app,
        &format!(
            "UPDATE employees SET leave_date = '{}', updated_at = '{} 09:00:00' \
             WHERE organisation_id = '{org}' AND employee_number IN ({})",
            days_ago(1),
            days_ago(days),
            numbers.join(",")
        ),
    );
    execute(
        app,
        &format!(
            "UPDATE tally_state SET counted_on = '{}' WHERE organisation_id = '{org}'",
            days_ago(days)
        ),
    );
}

async fn pass(app: &TestApp) -> leavers::LeaversReport {
    leavers::run(
        &app.state.db,
        app.state.sealer.clone(),
        Actor::system("leavers"),
    )
    .await
    .unwrap()
}

async fn headcount(app: &TestApp, edi: &str) -> Value {
    let f = figures(app, edi, "/v1/stats/completion?characteristic=disability").await;
    row(&f, "Whole organisation")["headcount"].clone()
}

fn actions(events: &[Value], action: &str) -> Vec<Value> {
    events
        .iter()
        .filter(|e| e["action"] == action)
        .cloned()
        .collect()
}

/// A person with consent and a declaration, and their token to change it.
async fn declaring(app: &TestApp, org: uuid::Uuid, name: &str) -> String {
    let (token, _) = app.consenting_employee(org, name).await;
    answer(app, &token, "yes").await;
    token
}

async fn answer(app: &TestApp, token: &str, disability: &str) {
    app.declare_answers(token, json!({"disability": {"gateway": disability}}))
        .await;
}

on_both_backends! {
    async fn a_leaver_drops_out_of_the_tallies_on_their_date_and_once(backend) {
        let app = spawn_app(backend).await;
        let org = app.create_org("notice-force").await;
        let hr = app.create_account(Some(org.id), "hr-lead", &["hr_admin"]).await;
        let hr_token = app.login(&hr).await;
        declared(&app, org.id, "notice").await;
        declared(&app, org.id, "stays").await;
        // HR records the notice: the leave date is still to come, so the person counts.
        let tomorrow = (chrono::Utc::now().date_naive() + chrono::Days::new(1)).to_string();
        set_leave_dates(&app, &hr_token, &[("notice", &tomorrow)]).await;
        assert_eq!(counted(&app, org.id).await, (2, 2));
        let_days_pass(&app, org.id, &["E-notice"], 3);
        assert_eq!(counted(&app, org.id).await, (2, 2), "nothing moved the tallies when the date came");

        // `declare retention run` runs the pass first (nobody is past the retention period).
        let (ok, out) = cli(&app, &["retention", "run"]);
        assert!(ok && out.contains("1 person(s) whose leave date had arrived"), "{out}");
        assert_eq!(counted(&app, org.id).await, (1, 1));
        assert_eq!(snapshot(&app, org.id).await, recount(&app, org.id).await);
        let events = audit_events(&app, org.id).await;
        let passes = actions(&events, "tallies.leavers");
        assert_eq!(passes.len(), 1, "{events:?}");
        assert_eq!(passes[0]["actor"], "cli");
        assert_eq!(passes[0]["detail"], json!({"people": 1, "on": days_ago(0)}));
        assert_eq!(passes[0]["subject"], Value::Null);

        // Idempotent: a second pass (the schedule's) finds nothing and records nothing.
        assert_eq!(pass(&app).await, leavers::LeaversReport::default());
        assert_eq!(counted(&app, org.id).await, (1, 1));
        assert_eq!(actions(&audit_events(&app, org.id).await, "tallies.leavers").len(), 1);
        assert!(declare::services::audit::verify(&app.state.db).await.unwrap().is_ok());
    }

    async fn without_a_record_of_the_last_count_the_last_write_decides(backend) {
        let app = spawn_app(backend).await;
        let org = app.create_org("unrecorded-force").await;
        declared(&app, org.id, "advance").await;
        declared(&app, org.id, "after").await;
        declared(&app, org.id, "stays").await;
        // Tallies from before the record existed. One leave date was set after it had
        // passed: that write already left the person out (a recount stands in for it). The
        // other was set in advance and has arrived since: the tallies still count them.
        execute(&app, &format!("UPDATE employees SET leave_date = '{}' WHERE employee_number = 'E-after'", days_ago(2)));
        recount(&app, org.id).await;
        let_days_pass(&app, org.id, &["E-advance"], 3);
        execute(&app, &format!("DELETE FROM tally_state WHERE organisation_id = '{}'", org.id));
        assert_eq!(counted(&app, org.id).await, (2, 2));
        let report = pass(&app).await;
        assert_eq!(report, leavers::LeaversReport { people: 1, organisations: 1 });
        assert_eq!(counted(&app, org.id).await, (1, 1));
        assert_eq!(snapshot(&app, org.id).await, recount(&app, org.id).await);
        assert_eq!(pass(&app).await, leavers::LeaversReport::default());
    }

    async fn the_published_figures_drop_leavers_on_their_date(backend) {
        let app = spawn_app(backend).await;
        let (hr, edi, org) = force_named(&app, "figures").await;
        let tomorrow = (chrono::Utc::now().date_naive() + chrono::Days::new(1)).to_string();
        let mut csv = HEADER.to_owned();
        for i in 0..30 {
            let leave = if i < 6 { tomorrow.as_str() } else { "" };
            csv.push_str(&format!("N{i:03},,north,police_officer,pc,1,2020-01-01,{leave}\n"));
        }
        let r = app.authed(Method::POST, "/v1/sync/employees", &hr)
            .header("content-type", "text/csv").body(csv).send().await.unwrap();
        assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
        assert_eq!(headcount(&app, &edi).await, 30);
        let leavers: Vec<String> = (0..6).map(|i| format!("N{i:03}")).collect();
        let leavers: Vec<&str> = leavers.iter().map(String::as_str).collect();
        let_days_pass(&app, org, &leavers, 2);
        assert_eq!(headcount(&app, &edi).await, 30, "the figures still count them");
        assert_eq!(pass(&app).await, leavers::LeaversReport { people: 6, organisations: 1 });
        assert_eq!(headcount(&app, &edi).await, 24);
    }

    async fn the_pass_beside_concurrent_declaration_writes_equals_a_recount(backend) {
        let app = spawn_app(backend).await;
        let org = app.create_org("busy-force").await;
        let hr = app.create_account(Some(org.id), "hr-lead", &["hr_admin"]).await;
        let hr_token = app.login(&hr).await;
        let mut writers = Vec::new();
        for name in ["writer-1", "writer-2", "writer-3"] {
            writers.push(declaring(&app, org.id, name).await);
        }
        let tomorrow = (chrono::Utc::now().date_naive() + chrono::Days::new(1)).to_string();
        for round in 0..3 {
            let name = format!("notice{round}");
            declared(&app, org.id, &name).await;
            set_leave_dates(&app, &hr_token, &[(&name, &tomorrow)]).await;
            let_days_pass(&app, org.id, &[&format!("E-{name}")], 3);
            let writes = async {
                for (i, answer_value) in ["no", "yes", "prefer_not_to_say", "no"].iter().enumerate() {
                    let token = &writers[(i + round) % writers.len()];
                    answer(&app, token, answer_value).await;
                }
            };
            let (report, ()) = tokio::join!(pass(&app), writes);
            assert_eq!(report.people, 1, "round {round}");
            assert_eq!(snapshot(&app, org.id).await, recount(&app, org.id).await, "round {round}");
            // Out for good: move their date before the next round's rewound record.
            execute(&app, &format!("UPDATE employees SET leave_date = '{}' WHERE employee_number = 'E-{name}'", days_ago(10)));
        }
        assert_eq!(counted(&app, org.id).await.0, 3);
    }

    async fn serve_runs_the_pass_at_start_up(backend) {
        let app = spawn_app(backend).await;
        let org = app.create_org("restart-force").await;
        let hr = app.create_account(Some(org.id), "hr-lead", &["hr_admin"]).await;
        let hr_token = app.login(&hr).await;
        declared(&app, org.id, "notice").await;
        let tomorrow = (chrono::Utc::now().date_naive() + chrono::Days::new(1)).to_string();
        set_leave_dates(&app, &hr_token, &[("notice", &tomorrow)]).await;
        let_days_pass(&app, org.id, &["E-notice"], 3);
        assert_eq!(counted(&app, org.id).await, (1, 1));
        let restarted = app
            .restart_with(|config| {
                config.retention = declare::config::Retention { period_days: 365, interval_seconds: 3600 };
            })
            .await;
        let mut waited = 0;
        while counted(&restarted, org.id).await != (0, 0) {
            assert!(waited < 600, "the scheduled pass never ran");
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            waited += 1;
        }
        let events = audit_events(&restarted, org.id).await;
        // The retention schedule also runs the pass first at start-up: either task may get there.
        let actor = actions(&events, "tallies.leavers")[0]["actor"].clone();
        assert!(actor == "system:leavers" || actor == "system:retention", "{actor}");
        assert_eq!(actions(&events, "tallies.leavers").len(), 1);
    }
}
