//! Identity benchmarks (issue 3): what authentication costs per request, what a login costs,
//! and whether a burst of logins stalls other requests; and (issue 14 item 4) login p99 and the
//! resident set of a real `declare serve` through 1,000 failed logins from 10 addresses.
//!
//! Run: `cargo bench --bench auth` (set DECLARE_BENCH_POSTGRES_URL to add nothing here: the
//! token path never touches the database, which is the point being measured).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use declare::auth::{Principal, PrincipalKind, Role};
use diesel::prelude::*;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    println!("== identity: token verification vs a raw database session lookup");
    let app = common::start(|_| {}).await;
    let org = declare::services::identity::create_organisation(
        &app.state.db,
        "bench".into(),
        "Bench".into(),
    )
    .await
    .unwrap();
    let principal = Principal {
        subject: uuid::Uuid::new_v4().to_string(),
        org_id: Some(org.id),
        roles: vec![Role::Employee],
        employee_id: Some(uuid::Uuid::new_v4()),
        kind: PrincipalKind::User,
    };
    let (token, _) = app
        .state
        .auth
        .tokens
        .issue(&principal, Duration::from_secs(900))
        .unwrap();
    let verify = common::per_call(50_000, || {
        app.state.auth.verify(&token).unwrap();
    });

    // The alternative design: an opaque session id looked up by primary key on every request.
    let login = declare::services::identity::create_account(
        &app.state.db,
        &app.state.auth,
        Some(org.id),
        declare::services::identity::NewAccount {
            username: "bench.user".into(),
            password: "bench-password-long-enough".to_owned().into(),
            roles: vec!["employee".into()],
            employee_id: None,
        },
    )
    .await
    .unwrap();
    let path = app.database_url.trim_start_matches("sqlite://").to_owned();
    let mut raw = diesel::SqliteConnection::establish(&path).unwrap();
    let id = login.id.to_string();
    let lookup = common::per_call(50_000, || {
        use declare::store::schema::accounts::dsl;
        let _: (String, String) = dsl::accounts
            .filter(dsl::id.eq(&id))
            .select((dsl::id, dsl::roles))
            .first(&mut raw)
            .unwrap();
    });
    common::row(
        "verify a bearer token (in process)",
        verify,
        "SQLite SELECT by primary key",
        lookup,
    );

    println!("\n== identity: login cost (argon2id, OWASP m=19456 KiB t=2 p=1)");
    let owasp = declare::auth::Argon2Hasher::default();
    let hash = owasp
        .hash_password(&"a-long-enough-password".to_owned().into())
        .unwrap();
    let verify_pw = common::per_call(10, || {
        assert!(owasp.verify_password(&"a-long-enough-password".to_owned().into(), Some(&hash)));
    });
    println!(
        "{:<46} {:>12}",
        "argon2id verify (one login)",
        common::ms(verify_pw)
    );
    drop(app);

    println!("\n== identity: /healthz latency during a burst of 40 logins (OWASP cost, 2 workers)");
    let app = common::start(|c| c.argon2_cost = declare::config::OWASP_ARGON2).await;
    let org = declare::services::identity::create_organisation(
        &app.state.db,
        "burst".into(),
        "Burst".into(),
    )
    .await
    .unwrap();
    declare::services::identity::create_account(
        &app.state.db,
        &app.state.auth,
        Some(org.id),
        declare::services::identity::NewAccount {
            username: "burst.user".into(),
            password: "burst-password-long-enough".to_owned().into(),
            roles: vec!["employee".into()],
            employee_id: None,
        },
    )
    .await
    .unwrap();
    let client = reqwest::Client::new();
    let health = format!("{}/healthz", app.address);
    let probe = |n: usize| {
        let client = client.clone();
        let health = health.clone();
        async move {
            let mut samples = Vec::with_capacity(n);
            for _ in 0..n {
                let started = Instant::now();
                client.get(&health).send().await.unwrap();
                samples.push(started.elapsed());
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            samples
        }
    };
    let mut quiet = probe(200).await;
    let quiet = common::percentiles(&mut quiet);

    let token_url = format!("{}/oauth/token", app.address);
    let burst_started = Instant::now();
    let logins: Vec<_> = (0..40)
        .map(|_| {
            let client = client.clone();
            let url = token_url.clone();
            tokio::spawn(async move {
                let started = Instant::now();
                let r = client
                    .post(&url)
                    .form(&[
                        ("grant_type", "password"),
                        ("username", "burst.user"),
                        ("password", "burst-password-long-enough"),
                    ])
                    .send()
                    .await
                    .unwrap();
                (r.status().as_u16(), started.elapsed())
            })
        })
        .collect();
    let mut busy = probe(200).await;
    let mut login_times = Vec::new();
    for handle in logins {
        let (status, elapsed) = handle.await.unwrap();
        assert_eq!(status, 200);
        login_times.push(elapsed);
    }
    let burst = burst_started.elapsed();
    let busy = common::percentiles(&mut busy);
    let logins = common::percentiles(&mut login_times);
    println!(
        "{:<46} p50 {:>10}  p99 {:>10}",
        "/healthz, quiet",
        common::ms(quiet.p50),
        common::ms(quiet.p99)
    );
    println!(
        "{:<46} p50 {:>10}  p99 {:>10}",
        "/healthz, during the login burst",
        common::ms(busy.p50),
        common::ms(busy.p99)
    );
    println!(
        "{:<46} p50 {:>10}  p99 {:>10}",
        "login latency within the burst",
        common::ms(logins.p50),
        common::ms(logins.p99)
    );
    println!(
        "{:<46} {:>10}",
        "burst of 40 logins, wall time",
        common::ms(burst)
    );
    println!(
        "{:<46} {:>9.2}x",
        "/healthz p99 during burst / quiet p99",
        busy.p99.as_secs_f64() / quiet.p99.as_secs_f64()
    );
    drop(app);

    failed_login_flood().await;
}

/// The resident set of process `pid`, in KiB (`VmRSS` in /proc).
fn vm_rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

/// Issue 14 item 4: 1,000 failed logins from 10 addresses (10 concurrent callers, 127.0.0.x)
/// against a real `declare serve`, throttle lifted so each one hashes at OWASP cost: login
/// p50/p99 and the process's resident set before and after (the goal: under 100 MB).
async fn failed_login_flood() {
    println!("\n== identity: 1,000 failed logins from 10 addresses, a real `declare serve`");
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut server = std::process::Command::new(env!("CARGO_BIN_EXE_declare"))
        .arg("serve")
        .env("DECLARE_DATA_DIR", dir.path())
        .env("DECLARE_LISTEN", format!("127.0.0.1:{port}"))
        .env("DECLARE_LOG_LEVEL", "error")
        .env("DECLARE_RETENTION_INTERVAL_SECONDS", "0")
        .env("DECLARE_SNAPSHOT_CHECK_SECONDS", "0")
        .env("DECLARE_LOGIN_MAX_FAILURES_PER_ACCOUNT", "1000000")
        .env("DECLARE_LOGIN_MAX_FAILURES_PER_ADDRESS", "1000000")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let pid = server.id();
    let base = format!("http://127.0.0.1:{port}");
    let started = Instant::now();
    while !reqwest::get(format!("{base}/readyz"))
        .await
        .is_ok_and(|r| r.status() == 200)
    {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "declare serve did not start"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let before = vm_rss_kib(pid);
    let flood_started = Instant::now();
    let callers: Vec<_> = (0..10u8)
        .map(|i| {
            let client = reqwest::Client::builder()
                .local_address(std::net::IpAddr::V4(std::net::Ipv4Addr::new(
                    127,
                    0,
                    0,
                    10 + i,
                )))
                .build()
                .unwrap();
            let url = format!("{base}/oauth/token");
            tokio::spawn(async move {
                let mut took = Vec::with_capacity(100);
                for n in 0..100 {
                    let sent = Instant::now();
                    let username = format!("nobody-{i}-{n}");
                    let r = client
                        .post(&url)
                        .form(&[
                            ("grant_type", "password"),
                            ("username", username.as_str()),
                            ("password", "wrong-password"),
                        ])
                        .send()
                        .await
                        .unwrap();
                    assert_eq!(r.status(), 400);
                    took.push(sent.elapsed());
                }
                took
            })
        })
        .collect();
    let mut took = Vec::new();
    let mut peak = before;
    for caller in callers {
        took.extend(caller.await.unwrap());
        peak = peak.max(vm_rss_kib(pid));
    }
    let wall = flood_started.elapsed();
    let after = vm_rss_kib(pid);
    let _ = server.kill();
    let _ = server.wait();
    let logins = common::percentiles(&mut took);
    println!(
        "{:<46} p50 {:>10}  p99 {:>10}",
        "failed login latency (10 concurrent)",
        common::ms(logins.p50),
        common::ms(logins.p99)
    );
    println!(
        "{:<46} {:>10}",
        "1,000 failed logins, wall time",
        common::ms(wall)
    );
    println!(
        "{:<46} {:>7.1} MB -> {:.1} MB (peak {:.1} MB; goal < 100 MB)",
        "VmRSS before -> after",
        before as f64 * 1024.0 / 1e6,
        after as f64 * 1024.0 / 1e6,
        peak as f64 * 1024.0 / 1e6
    );
}
