//! Several instances (issue 17, decision 0022): three real `declare serve` processes on one
//! PostgreSQL database with the same secrets, driven together, one killed with SIGKILL in the
//! middle. Whatever one process keeps in memory must live in the database or be safe when
//! another process changes it. And SQLite refuses a second `serve` on the same file.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{
    cli, free_port, raw_count, serve_command, spawn_app, wait_ready, Backend, TestApp,
};

/// One `declare serve` process.
struct Instance {
    child: Child,
    base: String,
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn url(base: &str, path: &str) -> String {
    format!("{base}{path}")
}

/// Starts `declare serve` on `app`'s database with `app`'s secrets, every schedule running
/// often so that the instances race each other for snapshots, retention and sealing.
fn serve(app: &TestApp, extra: &[(&str, &str)]) -> (Child, u16) {
    // Today's monthly snapshot is due (an organisation made today has no earlier period).
    let today = chrono::Utc::now().format("%d").to_string();
    let today = today.trim_start_matches('0');
    let (mut command, port) = serve_command(app);
    let child = command
        .env("DECLARE_DATABASE_POOL_SIZE", "4")
        .env("DECLARE_WORKERS", "1")
        .env("DECLARE_SNAPSHOT_CHECK_SECONDS", "1")
        .env("DECLARE_SNAPSHOT_MONTHLY_DAY", today)
        .env("DECLARE_RETENTION_INTERVAL_SECONDS", "1")
        .env("DECLARE_AUDIT_SEAL_INTERVAL_MS", "20")
        .envs(extra.iter().copied())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    (child, port)
}

async fn start(app: &TestApp) -> Instance {
    let (child, port) = serve(app, &[]);
    let instance = Instance {
        child,
        base: format!("http://127.0.0.1:{port}"),
    };
    wait_ready(&instance.base).await;
    instance
}

/// A small deterministic generator (xorshift), so every run drives the same workload.
struct Seeded(u64);

impl Seeded {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

const ANSWERS: [&str; 3] = ["yes", "no", "prefer_not_to_say"];
const HEADER: &str =
    "employee_number,external_subject,org_unit,staff_type,rank,fte,start_date,leave_date\n";

async fn declare_on(client: &reqwest::Client, at: &str, token: &str, answer: &str) -> u16 {
    let Ok(r) = client
        .get(url(at, "/v1/me/declaration"))
        .bearer_auth(token)
        .send()
        .await
    else {
        return 0;
    };
    let etag = r.headers()["etag"].to_str().unwrap().to_owned();
    match client
        .put(url(at, "/v1/me/declaration"))
        .bearer_auth(token)
        .header("if-match", etag)
        .json(&json!({"answers": {"disability": {"gateway": answer}}}))
        .send()
        .await
    {
        Ok(r) => r.status().as_u16(),
        Err(_) => 0,
    }
}

/// A delta sync adding five people, under its own Idempotency-Key. `None` when the instance
/// died under it (the caller retries elsewhere with the same key).
async fn sync_on(
    client: &reqwest::Client,
    at: &str,
    token: &str,
    batch: usize,
) -> Option<(u16, bool, Value)> {
    let rows: String = (0..5)
        .map(|i| format!("S{batch}-{i},,north,officer,pc,1,2020-01-01,\n"))
        .collect();
    let r = client
        .post(url(at, "/v1/sync/employees?mode=delta"))
        .bearer_auth(token)
        .header("content-type", "text/csv")
        .header("idempotency-key", format!("batch-{batch}"))
        .body(format!("{HEADER}{rows}"))
        .send()
        .await
        .ok()?;
    let status = r.status().as_u16();
    let replayed = r.headers().contains_key("idempotent-replayed");
    Some((status, replayed, r.json().await.ok()?))
}

async fn scim_on(client: &reqwest::Client, at: &str, token: &str, n: usize) -> Option<u16> {
    let body = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
                    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
                    "urn:declare:scim:schemas:extension:workforce:1.0:User"],
        "userName": format!("SCIM{n}"),
        "externalId": format!("scim-sub-{n}"),
        "active": true,
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "south"},
        "urn:declare:scim:schemas:extension:workforce:1.0:User":
            {"staffType": "officer", "rank": "pc", "startDate": "2021-04-01"},
    });
    let r = client
        .post(url(at, "/scim/v2/Users"))
        .bearer_auth(token)
        .header("content-type", "application/scim+json")
        .body(body.to_string())
        .send()
        .await
        .ok()?;
    Some(r.status().as_u16())
}

async fn figures(client: &reqwest::Client, at: &str, token: &str) -> Value {
    let r = client
        .get(url(
            at,
            "/v1/stats/completion?characteristic=disability&by=org_unit",
        ))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

async fn password(client: &reqwest::Client, at: &str, user: &str, pw: &str) -> u16 {
    client
        .post(url(at, "/oauth/token"))
        .form(&[
            ("grant_type", "password"),
            ("username", user),
            ("password", pw),
        ])
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_instances_on_one_postgresql_act_as_one_even_when_one_is_killed() {
    let started = Instant::now();
    let app = spawn_app(Backend::Postgres).await;
    let mut rng = Seeded(0x5eed_1717);

    // Set-up through the in-process app: an organisation, its structure, the roles.
    let org = app.create_org("multi").await;
    let hr = app
        .create_account(Some(org.id), "hr-lead", &["hr_admin"])
        .await;
    let hr = app.login(&hr).await;
    let post = |path: &'static str, body: Value| {
        let request = app.authed(Method::POST, path, &hr).json(&body);
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
            json!({"code": code, "name": code, "kind": "command_area",
                                      "parent_id": force["id"]}),
        )
        .await;
    }
    post(
        "/v1/ranks",
        json!({"code": "pc", "name": "Constable", "order": 1}),
    )
    .await;
    post(
        "/v1/staff-types",
        json!({"code": "officer", "name": "Police officer"}),
    )
    .await;
    let client = declare::services::identity::create_client(
        &app.state.db,
        &app.state.auth,
        org.id,
        declare::services::identity::NewClient {
            name: "HR".into(),
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
    let sync_token = r.json::<Value>().await.unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let edi = app
        .create_account(Some(org.id), "edi", &["edi_viewer"])
        .await;
    let edi = app.login(&edi).await;
    let mut staff = Vec::new();
    for i in 0..24 {
        staff.push(
            app.consenting_employee(org.id, &format!("staff{i}"))
                .await
                .0,
        );
    }
    // Six leavers past the retention period, each with answers for the instances to erase.
    let mut leavers = Vec::new();
    for i in 0..6 {
        let (token, id) = app.consenting_employee(org.id, &format!("leaver{i}")).await;
        app.declare_answers(&token, json!({"disability": {"gateway": "yes"}}))
            .await;
        leavers.push(id);
    }
    {
        let mut conn = app.raw_connection();
        let ids: Vec<String> = leavers.iter().map(|id| format!("'{id}'")).collect();
        let sql = format!(
            "UPDATE employees SET leave_date = '2020-01-31' WHERE id IN ({})",
            ids.join(",")
        );
        declare::with_conn!(&mut conn, |c| diesel::RunQueryDsl::execute(
            diesel::sql_query(&sql),
            c
        ))
        .unwrap();
    }
    let victim = app
        .create_account(Some(org.id), "victim", &["employee"])
        .await;

    // Three instances, every schedule racing.
    let mut instances = Vec::new();
    for _ in 0..3 {
        instances.push(start(&app).await);
    }
    let http = reqwest::Client::new();

    // Phase 1, all three: declarations, syncs, SCIM, figures, spread by the seed.
    let mut syncs: Vec<(usize, Value)> = Vec::new();
    let mut tasks = Vec::new();
    for (i, token) in staff.iter().enumerate().take(12) {
        let at = rng.below(3);
        let answer = ANSWERS[rng.below(3)];
        let (http, token, base) = (http.clone(), token.clone(), instances[at].base.clone());
        tasks.push(tokio::spawn(async move {
            let at = base.as_str();
            let status = declare_on(&http, at, &token, answer).await;
            (i, status)
        }));
    }
    for task in tasks {
        let (i, status) = task.await.unwrap();
        assert_eq!(status, 200, "declaration {i}");
    }
    for batch in 0..6 {
        let at = instances[rng.below(3)].base.as_str();
        let (status, replayed, body) = sync_on(&http, at, &sync_token, batch).await.unwrap();
        assert_eq!((status, replayed), (200, false), "{body}");
        syncs.push((batch, body));
    }
    for n in 0..6 {
        assert_eq!(
            scim_on(&http, &instances[n % 3].base, &sync_token, n).await,
            Some(201)
        );
    }
    // A sync retried at another instance with the same key is replayed, never applied twice.
    for (batch, body) in &syncs {
        let at = instances[(batch + 1) % 3].base.as_str();
        let (status, replayed, again) = sync_on(&http, at, &sync_token, *batch).await.unwrap();
        assert_eq!((status, replayed), (200, true));
        assert_eq!(&again, body);
    }

    // Throttling counts across instances: eight guesses from one address spread over three.
    let mut statuses = Vec::new();
    for i in 0..8 {
        statuses.push(password(&http, &instances[i % 3].base, "victim", "wrong").await);
    }
    assert_eq!(
        statuses,
        [400, 400, 400, 400, 400, 429, 429, 429],
        "five free guesses in all"
    );
    for at in instances.iter().map(|i| i.base.as_str()) {
        assert_eq!(
            password(&http, at, "victim", "wrong").await,
            429,
            "throttled everywhere"
        );
        assert_eq!(password(&http, at, "victim", &victim.password).await, 429);
    }

    // Phase 2: SIGKILL one instance while writes are in flight at every instance; a write the
    // dead instance may or may not have committed is retried at a live one.
    let mut in_flight = Vec::new();
    for batch in 6..12 {
        let (http, token, base) = (
            http.clone(),
            sync_token.clone(),
            instances[batch % 3].base.clone(),
        );
        in_flight.push(tokio::spawn(async move {
            let at = base.as_str();
            let outcome = sync_on(&http, at, &token, batch).await;
            (batch, outcome)
        }));
    }
    let mut declarations = Vec::new();
    for (i, token) in staff.iter().enumerate().skip(12) {
        let (http, token, base) = (http.clone(), token.clone(), instances[i % 3].base.clone());
        let answer = ANSWERS[rng.below(3)];
        declarations.push(tokio::spawn(async move {
            let at = base.as_str();
            let status = declare_on(&http, at, &token, answer).await;
            (token, answer, status)
        }));
    }
    tokio::time::sleep(Duration::from_millis(30)).await;
    instances[2].child.kill().unwrap(); // SIGKILL
    instances[2].child.wait().unwrap();
    let live = [instances[0].base.as_str(), instances[1].base.as_str()];
    for task in in_flight {
        let (batch, outcome) = task.await.unwrap();
        let outcome = match outcome {
            Some((200, _, body)) => Some(body),
            _ => None,
        };
        // Retried (or replayed) at a live instance: the same key gives one application.
        let (status, _, body) = sync_on(&http, live[batch % 2], &sync_token, batch)
            .await
            .unwrap();
        assert_eq!(status, 200);
        if let Some(first) = outcome {
            assert_eq!(first, body);
        }
        syncs.push((batch, body));
    }
    for task in declarations {
        let (token, answer, status) = task.await.unwrap();
        if status != 200 {
            assert_eq!(declare_on(&http, live[0], &token, answer).await, 200);
        }
    }
    for n in 6..12 {
        assert_eq!(scim_on(&http, live[n % 2], &sync_token, n).await, Some(201));
    }

    // Let the schedules run at least once more on the live instances.
    tokio::time::sleep(Duration::from_millis(2500)).await;

    // No lost or duplicated write.
    let mut conn = app.raw_connection();
    let count = |conn: &mut declare::store::Conn, sql: &str| raw_count(conn, sql);
    assert_eq!(
        count(
            &mut conn,
            "SELECT COUNT(*) AS n FROM employees WHERE employee_number LIKE 'S%-%'"
        ),
        60
    );
    assert_eq!(
        count(
            &mut conn,
            "SELECT COUNT(*) AS n FROM employees WHERE employee_number LIKE 'SCIM%'"
        ),
        12
    );
    assert_eq!(
        count(&mut conn, "SELECT COUNT(*) AS n FROM sync_requests"),
        12,
        "one record per key"
    );
    assert_eq!(
        count(
            &mut conn,
            "SELECT COUNT(*) AS n FROM audit_events WHERE action = 'workforce.sync'"
        ),
        12,
        "each sync applied once"
    );
    assert_eq!(
        count(&mut conn, "SELECT COUNT(*) AS n FROM declarations"),
        24
    );
    // Retention erased each leaver exactly once, whichever instance ran it.
    assert_eq!(
        count(
            &mut conn,
            "SELECT COUNT(*) AS n FROM audit_events WHERE action = 'retention.erase'"
        ),
        6
    );
    // Each snapshot taken once.
    let snapshots = count(
        &mut conn,
        "SELECT COUNT(*) AS n FROM stats_snapshots WHERE kind <> 'epoch'",
    );
    assert!(snapshots >= 1, "the schedules took the due snapshots");
    assert_eq!(
        count(
            &mut conn,
            "SELECT COUNT(*) AS n FROM (SELECT DISTINCT organisation_id, period, kind \
                          FROM stats_snapshots) AS d"
        ),
        count(&mut conn, "SELECT COUNT(*) AS n FROM stats_snapshots"),
    );
    assert_eq!(
        count(
            &mut conn,
            "SELECT COUNT(*) AS n FROM audit_events WHERE action = 'stats.snapshot.take'"
        ),
        snapshots
    );
    drop(conn);

    // Every live instance gives the same figures, and a restarted third one too.
    let restarted = start(&app).await;
    let restarted = restarted.base.as_str();
    let expected = figures(&http, live[0], &edi).await;
    assert_eq!(figures(&http, live[1], &edi).await, expected);
    assert_eq!(figures(&http, restarted, &edi).await, expected);

    // The trail is one chain.
    let (ok, out) = cli(&app, &["audit", "verify"]);
    assert!(ok && out.contains("audit chain intact"), "{out}");
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn a_second_serve_on_one_sqlite_file_is_refused_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("declare.db").display());
    let run = |port: u16| {
        Command::new(env!("CARGO_BIN_EXE_declare"))
            .arg("serve")
            .env("DECLARE_DATABASE_URL", &db)
            .env("DECLARE_DATA_DIR", dir.path())
            .env("DECLARE_LISTEN", format!("127.0.0.1:{port}"))
            .env("DECLARE_LOG_LEVEL", "error")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let first_port = free_port();
    let mut first = run(first_port);
    let deadline = Instant::now() + Duration::from_secs(30);
    while reqwest::blocking::get(format!("http://127.0.0.1:{first_port}/readyz"))
        .map_or(true, |r| r.status() != 200)
    {
        assert!(
            Instant::now() < deadline,
            "the first instance never became ready"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let second = run(free_port()).wait_with_output().unwrap();
    let message = String::from_utf8_lossy(&second.stderr);
    assert!(!second.status.success());
    assert!(
        message.contains("another `declare serve` is already running on the SQLite database"),
        "{message}"
    );
    // The lock goes with the process, however it ends: after SIGKILL a new one starts.
    first.kill().unwrap();
    first.wait().unwrap();
    let port = free_port();
    let mut third = run(port);
    let deadline = Instant::now() + Duration::from_secs(30);
    while reqwest::blocking::get(format!("http://127.0.0.1:{port}/readyz"))
        .map_or(true, |r| r.status() != 200)
    {
        assert!(
            third.try_wait().unwrap().is_none(),
            "the restart was refused"
        );
        assert!(Instant::now() < deadline, "the restart never became ready");
        std::thread::sleep(Duration::from_millis(50));
    }
    third.kill().unwrap();
    third.wait().unwrap();
}
