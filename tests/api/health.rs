use crate::helpers::{assert_problem, spawn_app, Backend, TestDatabase};
use crate::on_both_backends;
use declare::config::Config;
use declare::startup::Application;

on_both_backends! {
    async fn health_and_readiness_answer(backend) {
        let app = spawn_app(backend).await;
        let health = app.get("/healthz").await;
        assert_eq!(health.status(), 200);
        assert!(health.headers().contains_key("x-request-id"));
        let ready: serde_json::Value = app.get("/readyz").await.json().await.unwrap();
        assert_eq!(ready["status"], "ready");
        let expected = if backend == Backend::Sqlite { "sqlite" } else { "postgres" };
        assert_eq!(ready["backend"], expected);
        assert!(ready["migrations_applied"].as_u64().unwrap() >= 1);
    }

    async fn migrations_are_idempotent_on_restart(backend) {
        let db = TestDatabase::new(backend);
        let first = declare::store::Database::connect(&db.url, 2).unwrap();
        assert!(!first.migrate().unwrap().is_empty(), "a fresh database gets every migration");
        assert!(first.migrate().unwrap().is_empty(), "a second run applies nothing");
        // A full application start on the migrated database works and reports ready.
        let app = Application::build(Config::for_tests(db.url.clone(), db.data_dir())).unwrap();
        let port = app.port();
        let server = tokio::spawn(app.run_until_stopped());
        let ready = reqwest::get(format!("http://127.0.0.1:{port}/readyz")).await.unwrap();
        assert_eq!(ready.status(), 200);
        server.abort();
    }

    async fn request_ids_are_kept_or_made(backend) {
        let app = spawn_app(backend).await;
        let mine = app.client.get(app.url("/healthz")).header("x-request-id", "trace-123.abc").send().await.unwrap();
        assert_eq!(mine.headers()["x-request-id"], "trace-123.abc");
        // An id that could forge log lines is replaced, not echoed.
        let forged = app.client.get(app.url("/healthz")).header("x-request-id", "a b\tc").send().await.unwrap();
        let id = forged.headers()["x-request-id"].to_str().unwrap().to_owned();
        assert_ne!(id, "a b\tc");
        assert!(uuid::Uuid::parse_str(&id).is_ok());
        let a = app.get("/healthz").await.headers()["x-request-id"].clone();
        let b = app.get("/healthz").await.headers()["x-request-id"].clone();
        assert_ne!(a, b);
    }

    async fn metrics_count_requests_by_route(backend) {
        let app = spawn_app(backend).await;
        for _ in 0..3 {
            app.get("/healthz").await;
        }
        app.get("/no/such/thing").await;
        let text = app.get("/metrics").await.text().await.unwrap();
        assert!(
            text.contains(r#"declare_http_requests_total{method="GET",route="/healthz",status="200"} 3"#),
            "{text}"
        );
        assert!(text.contains(r#"declare_http_requests_total{method="GET",route="unmatched",status="404"} 1"#));
        assert!(text.contains("declare_http_request_duration_seconds_bucket"));
        assert!(!text.contains("/no/such/thing"), "concrete paths never become labels");
    }

    async fn invented_methods_and_unknown_paths_add_no_metrics_series(backend) {
        let app = spawn_app(backend).await;
        let series = |text: &str| text.lines().filter(|l| l.starts_with("declare_http_requests_total{")).count();
        let send = |method: &str, path: String| {
            let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
            app.client.request(method, app.url(&path)).send()
        };
        // Warm every label the loop below can reach, then count.
        for i in 0..2 {
            for path in ["/healthz".to_owned(), format!("/v1/nothing-{i}"), format!("/scim/v2/Nothing{i}")] {
                send("GET", path.clone()).await.unwrap();
                send(&format!("INVENTED{i}"), path).await.unwrap();
            }
        }
        let before = series(&app.get("/metrics").await.text().await.unwrap());
        for i in 2..60 {
            for path in ["/healthz".to_owned(), format!("/v1/nothing-{i}"), format!("/scim/v2/Nothing{i}/x")] {
                send(&format!("INVENTED{i}"), path.clone()).await.unwrap();
                send(&format!("X-{i}"), path).await.unwrap();
            }
        }
        let text = app.get("/metrics").await.text().await.unwrap();
        assert!(!text.contains("INVENTED") && !text.contains("X-"), "{text}");
        assert!(text.contains(r#"method="OTHER""#), "{text}");
        // The /metrics request itself is the only new series.
        assert!(series(&text) <= before + 1, "{before} -> {}:\n{text}", series(&text));
        let routes: std::collections::BTreeSet<&str> = text.lines()
            .filter(|l| l.starts_with("declare_http_requests_total{"))
            .filter_map(|l| l.split("route=\"").nth(1)?.split('"').next())
            .collect();
        assert!(routes.iter().all(|r| !r.contains("nothing") && !r.contains("Nothing")), "{routes:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_fails_when_postgres_database_is_gone() {
    let app = spawn_app(Backend::Postgres).await;
    assert_eq!(app.get("/readyz").await.status(), 200);
    app.db.destroy();
    let body = assert_problem(app.get("/readyz").await, 503).await;
    assert_eq!(body["type"], "urn:declare:problem:unavailable");
    // Liveness does not depend on the database.
    assert_eq!(app.get("/healthz").await.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_fails_when_sqlite_schema_is_not_migrated() {
    use diesel::{Connection as _, RunQueryDsl as _};
    let app = spawn_app(Backend::Sqlite).await;
    assert_eq!(app.get("/readyz").await.status(), 200);
    let path = app.db.url.trim_start_matches("sqlite://").to_owned();
    let mut raw = diesel::SqliteConnection::establish(&path).unwrap();
    diesel::sql_query("DELETE FROM __diesel_schema_migrations")
        .execute(&mut raw)
        .unwrap();
    let body = assert_problem(app.get("/readyz").await, 503).await;
    assert!(
        body["detail"].as_str().unwrap().contains("not migrated"),
        "{body}"
    );
}
