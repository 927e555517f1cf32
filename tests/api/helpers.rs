//! `spawn_app`: a fresh database (temp SQLite file, or a PostgreSQL database created for the
//! test and dropped afterwards) and the real application on port 0.
#![allow(dead_code)]

use std::path::PathBuf;

use declare::config::Config;
use declare::startup::Application;
use diesel::{Connection as _, PgConnection, RunQueryDsl as _};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The PostgreSQL server tests create their databases on. The suite fails, rather than
/// quietly testing SQLite alone, when it cannot be reached.
pub fn postgres_admin_url() -> String {
    std::env::var("DECLARE_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// A database that exists for one test.
pub struct TestDatabase {
    pub url: String,
    pub backend: Backend,
    pg_name: Option<String>,
    pub dir: tempfile::TempDir,
}

impl TestDatabase {
    pub fn new(backend: Backend) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        match backend {
            Backend::Sqlite => {
                let url = format!("sqlite://{}", dir.path().join("declare.db").display());
                TestDatabase {
                    url,
                    backend,
                    pg_name: None,
                    dir,
                }
            }
            Backend::Postgres => {
                let name = format!("declare_test_{}", uuid::Uuid::new_v4().simple());
                let admin = postgres_admin_url();
                let mut conn = PgConnection::establish(&admin).unwrap_or_else(|e| {
                    panic!("PostgreSQL is required for the test suite ({admin}): {e}")
                });
                diesel::sql_query(format!("CREATE DATABASE {name}"))
                    .execute(&mut conn)
                    .expect("create test database");
                let base = admin
                    .rsplit_once('/')
                    .map_or(admin.as_str(), |(base, _)| base)
                    .to_owned();
                TestDatabase {
                    url: format!("{base}/{name}"),
                    backend,
                    pg_name: Some(name),
                    dir,
                }
            }
        }
    }

    /// Drops the PostgreSQL database now (connections and all), and the key store the
    /// service made beside it.
    pub fn destroy(&self) {
        if let Some(name) = &self.pg_name {
            if let Ok(mut conn) = PgConnection::establish(&postgres_admin_url()) {
                for db in [name.clone(), format!("{name}_keystore")] {
                    let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"))
                        .execute(&mut conn);
                }
            }
        }
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().to_path_buf()
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        self.destroy();
    }
}

pub struct TestApp {
    pub address: String,
    pub port: u16,
    pub client: reqwest::Client,
    pub db: TestDatabase,
    pub state: actix_web::web::Data<declare::http::AppState>,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.server.abort();
    }
}

pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, |_| {}).await
}

/// Starts the app with a config the caller may adjust first.
pub async fn spawn_app_with(backend: Backend, adjust: impl FnOnce(&mut Config)) -> TestApp {
    let db = TestDatabase::new(backend);
    let mut config = Config::for_tests(db.url.clone(), db.data_dir());
    adjust(&mut config);
    let app = Application::build(config).expect("application builds");
    let port = app.port();
    let state = app.state();
    let server = tokio::spawn(app.run_until_stopped());
    TestApp {
        address: format!("http://127.0.0.1:{port}"),
        port,
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client"),
        db,
        state,
        server,
    }
}

impl TestApp {
    /// Replaces `token`'s whole declaration through the API, with the current ETag.
    pub async fn declare_answers(&self, token: &str, answers: serde_json::Value) {
        let r = self
            .authed(reqwest::Method::GET, "/v1/me/declaration", token)
            .send()
            .await
            .unwrap();
        let etag = r.headers()["etag"].to_str().unwrap().to_owned();
        let r = self
            .authed(reqwest::Method::PUT, "/v1/me/declaration", token)
            .header("if-match", etag)
            .json(&serde_json::json!({ "answers": answers }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    }

    /// An employee with an account who has consented to equality monitoring: (token, id).
    pub async fn consenting_employee(
        &self,
        org: uuid::Uuid,
        username: &str,
    ) -> (String, uuid::Uuid) {
        let (login, id) = self.create_employee_account(org, username).await;
        let token = self.login(&login).await;
        let r = self
            .authed(reqwest::Method::PUT, "/v1/me/consents", &token)
            .json(&serde_json::json!({"notice_version": 1, "purposes": {"equality_monitoring": true}}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        (token, id)
    }

    /// Stops this app's server and starts the application again on the same database, with
    /// this app's configuration adjusted by `adjust` (an operator's restart with new settings;
    /// tokens stay valid, the signing keys being kept). The new app does not own the
    /// database: keep `self` alive while it is used.
    pub async fn restart_with(&self, adjust: impl FnOnce(&mut Config)) -> TestApp {
        self.server.abort();
        let mut config = (*self.state.config).clone();
        adjust(&mut config);
        let app = Application::build(config).expect("application builds");
        let port = app.port();
        let state = app.state();
        let server = tokio::spawn(app.run_until_stopped());
        TestApp {
            address: format!("http://127.0.0.1:{port}"),
            port,
            client: self.client.clone(),
            db: TestDatabase {
                url: self.db.url.clone(),
                backend: self.db.backend,
                pg_name: None,
                dir: tempfile::tempdir().expect("temp dir"),
            },
            state,
            server,
        }
    }

    /// A second instance of the application on the same database and secrets, serving beside
    /// this one (both keep running), as two instances behind a load balancer would.
    pub async fn second_instance(&self) -> TestApp {
        let config = (*self.state.config).clone();
        let app = Application::build(config).expect("application builds");
        let port = app.port();
        let state = app.state();
        let server = tokio::spawn(app.run_until_stopped());
        TestApp {
            address: format!("http://127.0.0.1:{port}"),
            port,
            client: self.client.clone(),
            db: TestDatabase {
                url: self.db.url.clone(),
                backend: self.db.backend,
                pg_name: None,
                dir: tempfile::tempdir().expect("temp dir"),
            },
            state,
            server,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .send()
            .await
            .expect("request sent")
    }
}

/// Asserts a response is an RFC 9457 problem with the given status and returns its body. The
/// token endpoint's errors are `application/json`, as RFC 6749 section 5.2 says, with the same
/// body.
pub async fn assert_problem(response: reqwest::Response, status: u16) -> serde_json::Value {
    assert_eq!(response.status().as_u16(), status, "status");
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap_or("").to_owned());
    // The grant's own errors (400, 401, 429); a wrong method there is the router's, a problem.
    let oauth_error = response.url().path() == "/oauth/token" && matches!(status, 400 | 401 | 429);
    let expected = if oauth_error {
        "application/json"
    } else {
        "application/problem+json"
    };
    assert_eq!(content_type.as_deref(), Some(expected));
    assert!(response.headers().contains_key("x-request-id"));
    let body: serde_json::Value = response.json().await.expect("problem body is JSON");
    assert_eq!(body["status"], status);
    assert!(
        body["type"]
            .as_str()
            .is_some_and(|t| t.starts_with("urn:declare:problem:")),
        "{body}"
    );
    assert!(body["title"].is_string());
    body
}

/// Declares a test that runs once on SQLite and once on PostgreSQL, as `name::sqlite` and
/// `name::postgres`.
#[macro_export]
macro_rules! on_both_backends {
    ($(async fn $name:ident($backend:ident) $body:block)*) => {
        $(
            mod $name {
                #[allow(unused_imports)]
                use super::*;
                async fn run($backend: $crate::helpers::Backend) $body
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() { run($crate::helpers::Backend::Sqlite).await }
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() { run($crate::helpers::Backend::Postgres).await }
            }
        )*
    };
}

/// A role-holder the tests log in as.
pub struct Login {
    pub username: String,
    pub password: String,
}

impl TestApp {
    pub async fn create_org(&self, code: &str) -> declare::services::identity::OrganisationView {
        declare::services::identity::create_organisation(
            &self.state.db,
            code.into(),
            format!("{code} police"),
        )
        .await
        .expect("organisation created")
    }

    /// Creates an account directly through the identity service (as `declare admin` does).
    pub async fn create_account(
        &self,
        org: Option<uuid::Uuid>,
        username: &str,
        roles: &[&str],
    ) -> Login {
        let password = format!("pw-{username}-correct-horse");
        declare::services::identity::create_account(
            &self.state.db,
            &self.state.auth,
            org,
            declare::services::identity::NewAccount {
                username: username.into(),
                password: password.clone().into(),
                roles: roles.iter().map(|r| r.to_string()).collect(),
                employee_id: None,
            },
        )
        .await
        .expect("account created");
        Login {
            username: username.into(),
            password,
        }
    }

    pub async fn token_response(&self, form: &[(&str, &str)]) -> reqwest::Response {
        self.client
            .post(self.url("/oauth/token"))
            .form(form)
            .send()
            .await
            .expect("token request sent")
    }

    pub async fn login(&self, login: &Login) -> String {
        let response = self
            .token_response(&[
                ("grant_type", "password"),
                ("username", &login.username),
                ("password", &login.password),
            ])
            .await;
        assert_eq!(response.status(), 200, "login of {} failed", login.username);
        let body: serde_json::Value = response.json().await.unwrap();
        body["access_token"].as_str().unwrap().to_owned()
    }

    pub fn authed(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &str,
    ) -> reqwest::RequestBuilder {
        self.client
            .request(method, self.url(path))
            .bearer_auth(token)
    }
}

impl TestApp {
    /// Adds an employee (with its own unit and staff type) straight through the store, as a
    /// sync would, and returns its id.
    pub async fn create_employee(
        &self,
        org: uuid::Uuid,
        number: &str,
        external_subject: Option<&str>,
    ) -> uuid::Uuid {
        use declare::store::schema::employees;
        use declare::store::structure::{insert_staff_types, insert_unit, OrgUnit, StaffType};
        let now = chrono::Utc::now().naive_utc();
        let (org, number) = (org.to_string(), number.to_owned());
        let subject = external_subject.map(str::to_owned);
        let id = uuid::Uuid::new_v4();
        let sealer = self.state.sealer.clone();
        self.state
            .db
            .run(move |conn| {
                let unit = OrgUnit {
                    id: uuid::Uuid::new_v4().to_string(),
                    organisation_id: org.clone(),
                    code: format!("unit-{number}"),
                    name: "Unit".into(),
                    kind: "team".into(),
                    parent_id: None,
                    created_at: now,
                    updated_at: now,
                };
                insert_unit(conn, &unit)?;
                let staff_type = StaffType {
                    id: uuid::Uuid::new_v4().to_string(),
                    organisation_id: org.clone(),
                    code: format!("type-{number}"),
                    name: "Police staff".into(),
                    created_at: now,
                };
                insert_staff_types(conn, std::slice::from_ref(&staff_type))?;
                let employee = declare::store::workforce::Employee {
                    id: id.to_string(),
                    organisation_id: org,
                    employee_number: number,
                    external_subject: subject,
                    org_unit_id: unit.id,
                    staff_type_id: staff_type.id,
                    rank_id: None,
                    fte: 1.0,
                    start_date: "2020-01-01".into(),
                    leave_date: None,
                    updated_at: now,
                };
                declare::with_conn!(conn, |c| diesel::insert_into(employees::table)
                    .values(&employee)
                    .execute(c))?;
                // Every real path (sync, SCIM) counts a joiner in the tallies; so does this one.
                declare::services::tallies::follow_person(conn, &sealer, None, &employee)
                    .expect("the tallies count the new employee");
                Ok(())
            })
            .await
            .expect("employee created");
        id
    }

    /// An `employee` account linked to a new employee record; returns the login and the id.
    pub async fn create_employee_account(
        &self,
        org: uuid::Uuid,
        username: &str,
    ) -> (Login, uuid::Uuid) {
        let employee = self
            .create_employee(org, &format!("E-{username}"), None)
            .await;
        let password = format!("pw-{username}-correct-horse");
        declare::services::identity::create_account(
            &self.state.db,
            &self.state.auth,
            Some(org),
            declare::services::identity::NewAccount {
                username: username.into(),
                password: password.clone().into(),
                roles: vec!["employee".into()],
                employee_id: Some(employee),
            },
        )
        .await
        .expect("employee account created");
        (
            Login {
                username: username.into(),
                password,
            },
            employee,
        )
    }

    /// A direct connection to the test database, as a database administrator would have.
    /// Pending audit events are sealed first (as every reader of the trail does), so a count
    /// of `audit_events` sees every event committed so far (decision 0013).
    pub fn raw_connection(&self) -> declare::store::Conn {
        let mut conn = declare::store::Database::connect(&self.db.url, 1)
            .expect("raw database")
            .get(std::time::Duration::from_secs(5))
            .expect("raw connection");
        declare::store::audit::seal(&mut conn).expect("sealing the audit trail");
        conn
    }
}

#[derive(diesel::QueryableByName)]
struct RawCount {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

#[derive(diesel::QueryableByName)]
struct RawBytes {
    #[diesel(sql_type = diesel::sql_types::Binary)]
    sealed: Vec<u8>,
}

/// `SELECT COUNT(*) AS n ...` on a raw connection.
pub fn raw_count(conn: &mut declare::store::Conn, sql: &str) -> i64 {
    let row: RawCount =
        declare::with_conn!(conn, |c| diesel::sql_query(sql).get_result(c)).expect("count query");
    row.n
}

/// `SELECT sealed FROM ...` on a raw connection.
pub fn raw_sealed(conn: &mut declare::store::Conn, sql: &str) -> Vec<Vec<u8>> {
    let rows: Vec<RawBytes> =
        declare::with_conn!(conn, |c| diesel::sql_query(sql).load(c)).expect("sealed query");
    rows.into_iter().map(|r| r.sealed).collect()
}

impl TestApp {
    /// The tallies table as a dump shows it: cell key and sealed bytes.
    pub fn raw_tally_rows(&self) -> Vec<(String, Vec<u8>)> {
        use declare::store::schema::tallies::dsl as t;
        use diesel::prelude::*;
        let mut conn = self
            .state
            .db
            .get(std::time::Duration::from_secs(5))
            .expect("connection");
        declare::with_conn!(&mut conn, |c| t::tallies
            .select((t::cell, t::sealed))
            .load(c))
        .expect("tally rows")
    }
}

/// Runs the `declare` binary against the app's database with its encryption key (and the
/// retention period the tests assume); (succeeded, stdout then stderr).
pub(crate) fn cli(app: &TestApp, args: &[&str]) -> (bool, String) {
    cli_with_env(app, args, &[("DECLARE_RETENTION_PERIOD_DAYS", "365")])
}

/// [`cli`] with more environment variables, e.g. the settings a deployment serves with.
pub(crate) fn cli_with_env(app: &TestApp, args: &[&str], env: &[(&str, &str)]) -> (bool, String) {
    use secrecy::ExposeSecret as _;
    let key = &app.state.config.encryption_key;
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_declare"))
        .args(args)
        .env("DECLARE_DATABASE_URL", &app.db.url)
        .env("DECLARE_DATA_DIR", app.db.data_dir())
        .env("DECLARE_ENCRYPTION_KEY", key.secret.expose_secret())
        .env("DECLARE_ENCRYPTION_KEY_ID", &key.id)
        .envs(env.iter().copied())
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// A free loopback port (free when asked; a test binds it soon after).
pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `declare serve` on the app's database with its encryption and token keys, on a free
/// loopback port, logging errors only and its stdout discarded; the caller adds its own
/// settings, then spawns it and waits with [`wait_ready`].
pub(crate) fn serve_command(app: &TestApp) -> (std::process::Command, u16) {
    use secrecy::ExposeSecret as _;
    let config = &app.state.config;
    let port = free_port();
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_declare"));
    command
        .arg("serve")
        .env("DECLARE_DATABASE_URL", &app.db.url)
        .env("DECLARE_DATA_DIR", app.db.data_dir())
        .env("DECLARE_LISTEN", format!("127.0.0.1:{port}"))
        .env(
            "DECLARE_ENCRYPTION_KEY",
            config.encryption_key.secret.expose_secret(),
        )
        .env("DECLARE_ENCRYPTION_KEY_ID", &config.encryption_key.id)
        .env(
            "DECLARE_TOKEN_SIGNING_KEY",
            config.token_signing_key.secret.expose_secret(),
        )
        .env("DECLARE_TOKEN_SIGNING_KEY_ID", &config.token_signing_key.id)
        .env("DECLARE_LOG_LEVEL", "error")
        .stdout(std::process::Stdio::null());
    (command, port)
}

/// Waits (at most 30 s) until the service at `base` answers `/readyz` with 200.
pub(crate) async fn wait_ready(base: &str) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        if let Ok(r) = reqwest::get(format!("{base}/readyz")).await {
            if r.status() == 200 {
                return;
            }
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{base} never became ready"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}
