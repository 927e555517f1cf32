//! What operators expect (issue 17, decision 0026): the new series in `/metrics` move when
//! their action happens, and traces reach an OTLP collector (a stub here) with the request id
//! and never any personal data.

use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{serve_command, spawn_app, wait_ready, Backend, TestApp};
use crate::on_both_backends;
use crate::stub_http::{self, Response};

/// The value of one sample (`name` with its labels exactly as exposed, e.g.
/// `declare_syncs_total{result="applied"}`); panics naming it when the series is missing.
fn sample(metrics: &str, series: &str) -> f64 {
    metrics
        .lines()
        .filter(|line| !line.starts_with('#'))
        .find_map(|line| {
            let (name, value) = line.rsplit_once(' ')?;
            (name == series).then(|| value.parse::<f64>().ok())?
        })
        .unwrap_or_else(|| panic!("{series} is not in /metrics"))
}

async fn scrape(app: &TestApp) -> String {
    let r = app.get("/metrics").await;
    assert_eq!(r.status(), 200);
    r.text().await.unwrap()
}

const HEADER: &str =
    "employee_number,external_subject,org_unit,staff_type,rank,fte,start_date,leave_date\n";

on_both_backends! {
    async fn every_new_series_is_exposed_and_moves_with_its_action(backend) {
        let app = spawn_app(backend).await;
        let before = scrape(&app).await;
        // Present from the first scrape, whatever has happened yet.
        for series in [
            "process_resident_memory_bytes",
            "process_cpu_seconds_total",
            "process_open_fds",
            "process_max_fds",
            "declare_db_pool_connections{state=\"in_use\"}",
            "declare_db_pool_connections{state=\"idle\"}",
            "declare_db_pool_max_connections",
            "declare_db_pool_waiting",
            "declare_db_pool_wait_seconds_count",
            "declare_db_pool_timeouts_total",
            "declare_blocking_queue_depth",
            "declare_declarations_written_total",
            "declare_syncs_total{result=\"applied\"}",
            "declare_syncs_total{result=\"refused\"}",
            "declare_figure_cache_lookups_total{result=\"hit\"}",
            "declare_figure_cache_lookups_total{result=\"miss\"}",
            "declare_disclosure_seconds_count",
        ] {
            sample(&before, series);
        }
        assert!(sample(&before, "process_resident_memory_bytes") > 1e6);
        assert!(sample(&before, "process_open_fds") >= 3.0);
        assert!(sample(&before, "process_cpu_seconds_total") > 0.0);
        assert_eq!(sample(&before, "declare_db_pool_max_connections"), 4.0);

        // A declaration, a sync, the same figures twice. Other tests in this process count
        // too (the counters are process-wide), so each must have moved by at least ours.
        let org = app.create_org("observed").await.id;
        let hr = app
            .login(&app.create_account(Some(org), "obs-hr", &["hr_admin"]).await)
            .await;
        let edi = app
            .login(&app.create_account(Some(org), "obs-edi", &["edi_viewer"]).await)
            .await;
        let r = app
            .authed(Method::POST, "/v1/org-units", &hr)
            .json(&json!({"code": "north", "name": "North", "kind": "force"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
        let r = app
            .authed(Method::POST, "/v1/ranks", &hr)
            .json(&json!({"code": "pc", "name": "Constable", "order": 1}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
        let r = app
            .authed(Method::POST, "/v1/staff-types", &hr)
            .json(&json!({"code": "officer", "name": "Police officer"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
        let middle = scrape(&app).await;

        let (token, _) = app.consenting_employee(org, "obs-person").await;
        app.declare_answers(&token, json!({"disability": {"gateway": "yes"}})).await;
        let r = app
            .authed(Method::POST, "/v1/sync/employees?mode=delta", &hr)
            .header("content-type", "text/csv")
            .body(format!("{HEADER}OBS-1,,north,officer,pc,1,2020-01-01,\n"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
        for _ in 0..2 {
            let r = app
                .authed(Method::GET, "/v1/stats/completion?characteristic=disability", &edi)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200);
        }
        let after = scrape(&app).await;
        let moved = |series: &str, by: f64| {
            let (from, to) = (sample(&middle, series), sample(&after, series));
            assert!(to - from >= by, "{series} went from {from} to {to}, not up by {by}");
        };
        moved("declare_declarations_written_total", 1.0);
        moved("declare_syncs_total{result=\"applied\"}", 1.0);
        moved("declare_figure_cache_lookups_total{result=\"miss\"}", 1.0);
        moved("declare_figure_cache_lookups_total{result=\"hit\"}", 1.0);
        moved("declare_disclosure_seconds_count", 1.0);
        moved("declare_db_pool_wait_seconds_count", 5.0);
        // Between requests nothing holds a connection or waits for the blocking pool.
        assert!(sample(&after, "declare_db_pool_connections{state=\"idle\"}") >= 1.0);
    }
}

/// A stub OTLP/HTTP collector: accepts `POST /v1/traces`, answers 200 and hands each body on.
fn stub_collector() -> (String, mpsc::Receiver<Value>) {
    let (listener, base) = stub_http::listen();
    let (sender, receiver) = mpsc::channel();
    stub_http::serve(listener, move |request| {
        assert_eq!(request.target, "/v1/traces");
        if let Ok(json) = serde_json::from_slice(&request.body) {
            let _ = sender.send(json);
        }
        Response::json("200 OK", "{}".into())
    });
    (base, receiver)
}

struct Served(Child);

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Every span in an OTLP JSON export request.
fn spans(export: &Value) -> Vec<Value> {
    let mut out = Vec::new();
    for resource in export["resourceSpans"].as_array().into_iter().flatten() {
        for scope in resource["scopeSpans"].as_array().into_iter().flatten() {
            out.extend(scope["spans"].as_array().into_iter().flatten().cloned());
        }
    }
    out
}

fn attribute<'a>(span: &'a Value, key: &str) -> Option<&'a Value> {
    span["attributes"]
        .as_array()?
        .iter()
        .find(|a| a["key"] == key)
        .map(|a| &a["value"])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn traces_reach_the_collector_with_the_request_id_and_no_personal_data() {
    // Set-up in process; the traced server is a real `declare serve` on the same database,
    // since the trace exporter is the process's global subscriber.
    let app = spawn_app(Backend::Sqlite).await;
    let org = app.create_org("traced").await.id;
    let username = "trace-subject-7q2";
    let (login, employee) = app.create_employee_account(org, username).await;
    let employee_number = format!("E-{username}");
    let (collector, exports) = stub_collector();

    let (mut command, port) = serve_command(&app);
    let _served = Served(
        command
            .env("DECLARE_DISCLOSURE_NOISE_SD", "0")
            .env("DECLARE_OTLP_ENDPOINT", &collector)
            .env("OTEL_BSP_SCHEDULE_DELAY", "100")
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap(),
    );
    let base = format!("http://127.0.0.1:{port}");
    wait_ready(&base).await;
    let client = reqwest::Client::new();

    // Sign in (the username and password go in the body), consent, declare: the answer
    // `female` and the person's ids pass through the traced server.
    let r = client
        .post(format!("{base}/oauth/token"))
        .form(&[
            ("grant_type", "password"),
            ("username", login.username.as_str()),
            ("password", login.password.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let token = r.json::<Value>().await.unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = client
        .put(format!("{base}/v1/me/consents"))
        .bearer_auth(&token)
        .json(&json!({"notice_version": 1, "purposes": {"equality_monitoring": true}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = client
        .get(format!("{base}/v1/me/declaration"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    let etag = r.headers()["etag"].to_str().unwrap().to_owned();
    let request_id = "trace-check-0026";
    let r = client
        .put(format!("{base}/v1/me/declaration"))
        .bearer_auth(&token)
        .header("x-request-id", request_id)
        .header("if-match", etag)
        .json(&json!({"answers": {"sex": {"gateway": "female"}}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // A query string never reaches a span, whatever the server answers to it.
    client
        .get(format!("{base}/v1/me/declaration?who={employee_number}"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();

    // Everything the collector received until the request's span and a database span
    // under it have arrived.
    let mut received = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    let (request, db) = loop {
        while let Ok(export) = exports.try_recv() {
            received.push(export);
        }
        let all: Vec<Value> = received.iter().flat_map(spans).collect();
        let request = all.iter().find(|s| {
            s["name"] == "request"
                && attribute(s, "request_id") == Some(&json!({"stringValue": request_id}))
        });
        if let Some(request) = request {
            let db = all.iter().find(|s| {
                s["name"] == "db"
                    && s["traceId"] == request["traceId"]
                    && attribute(s, "db.operation").is_some()
            });
            if let Some(db) = db {
                break (request.clone(), db.clone());
            }
        }
        assert!(
            Instant::now() < deadline,
            "no request span with its database span reached the collector: {received:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(
        attribute(&request, "route"),
        Some(&json!({"stringValue": "/v1/me/declaration"}))
    );
    assert_eq!(
        attribute(&request, "method"),
        Some(&json!({"stringValue": "PUT"}))
    );
    // A field recorded after the span opened is exported as a string; either form will do.
    let status = attribute(&request, "status")
        .and_then(|v| v.get("intValue").or_else(|| v.get("stringValue")))
        .map(|v| v.to_string().replace('"', ""));
    assert_eq!(status.as_deref(), Some("200"), "{request}");
    let operation = attribute(&db, "db.operation").unwrap()["stringValue"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(operation.starts_with("services::"), "{operation}");

    // No span attribute anywhere holds the seeded personal data.
    let exported = serde_json::to_string(&received).unwrap();
    for personal in [
        username,
        &employee_number,
        &employee.to_string(),
        &login.password,
        "female",
    ] {
        assert!(
            !exported.contains(personal),
            "`{personal}` reached the trace collector"
        );
    }
}
