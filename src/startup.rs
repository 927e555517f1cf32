//! Builds the application the binary runs and the tests start: bind, migrate, serve.

use std::net::TcpListener;
use std::sync::Arc;

use actix_web::dev::Server;
use actix_web::middleware::{from_fn, Condition};
use actix_web::{web, App, HttpServer};

use crate::auth::Authenticator;
use crate::config::Config;
use crate::http::{self, AppState, Metrics};
use crate::store::Database;

/// A bound, migrated, not-yet-running server.
pub struct Application {
    port: u16,
    server: Server,
    state: web::Data<AppState>,
}

impl Application {
    /// Connects to the database, applies pending migrations and binds the listener
    /// (port 0 picks a free port, which tests read back with [`Application::port`]).
    pub fn build(config: Config) -> anyhow::Result<Self> {
        let db = Database::connect(&config.database_url, config.pool_size)?;
        let applied = db.migrate()?;
        if !applied.is_empty() {
            tracing::info!(count = applied.len(), "applied migrations");
        }
        install_missing_catalogues(&db)?;
        let external_org = resolve_idp_organisation(&db, &config)?;
        let mut auth = Authenticator::from_config(&config, external_org)?;
        // Several instances share one PostgreSQL, so they must share the throttle's counts or
        // N instances give an attacker N times the guesses (decision 0022). SQLite serves one
        // instance only, so memory is enough there and costs no writes.
        if db.backend() == crate::store::Backend::Postgres {
            let forget_after = crate::auth::throttle_settings(&config).forget_after;
            auth.share_throttle(
                &config,
                Box::new(crate::store::throttle::DatabaseStore::new(
                    db.clone(),
                    forget_after,
                )),
            );
        }
        let auth = Arc::new(auth);
        let listener = TcpListener::bind(config.listen)?;
        let port = listener.local_addr()?.port();
        let workers = config.workers;
        let sealer = Arc::new(crate::services::key_tree::sealer(&config, &db)?);
        let figures = Arc::new(crate::services::stats::FigureCache::with_limits(
            crate::services::figure_cache::MAX_ENTRIES,
            config.figure_cache_cells,
        ));
        let state = web::Data::new(AppState {
            figures,
            config: Arc::new(config),
            db,
            metrics: Metrics::new()?,
            auth,
            sealer,
        });
        let app_state = state.clone();
        let origins = state.config.cors_allowed_origins.clone();
        let server = HttpServer::new(move || {
            App::new()
                .wrap(from_fn(http::middleware::refuse_nul_in_url))
                // Inside `observe`, so preflights and refused origins are logged, counted and
                // answered as problem+json like everything else.
                .wrap(Condition::new(
                    !origins.is_empty(),
                    http::cors::policy(&origins),
                ))
                .wrap(from_fn(http::middleware::observe))
                .configure(http::configure(app_state.clone()))
                // The pages, beside the API (not part of its document).
                .configure(crate::web::routes)
        })
        .workers(workers)
        .shutdown_timeout(10)
        .listen(listener)?
        .run();
        Ok(Application {
            port,
            server,
            state,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn state(&self) -> web::Data<AppState> {
        self.state.clone()
    }

    /// Serves until SIGINT/SIGTERM, then drains in-flight requests. Alongside, the scheduled
    /// tasks run and stop with the server: statistics snapshots as they fall due (when
    /// `snapshot_check_seconds` is set) and, unless `DECLARE_RETENTION_INTERVAL_SECONDS` is 0,
    /// the erasure of leavers past the retention period, at start-up and then every interval,
    /// and (with it) the pass that takes leavers out of the figures, at start-up and each
    /// midnight (UTC); and on PostgreSQL the sealing of pending audit events every
    /// `DECLARE_AUDIT_SEAL_INTERVAL_MS` (decision 0013); and the fetching of the identity
    /// provider's keys from its URL, at start and every `DECLARE_IDP_KEYS_REFRESH_SECONDS`
    /// (decision 0023).
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let _snapshots = self.state.config.snapshot_check_seconds.map(|seconds| {
            AbortOnDrop(tokio::spawn(
                crate::services::stats::snapshots::run_schedule(
                    self.state.db.clone(),
                    self.state.sealer.clone(),
                    self.state.config.snapshot_schedule.clone(),
                    std::time::Duration::from_secs(seconds),
                ),
            ))
        });
        let retention = self.state.config.retention;
        let _retention = (retention.interval_seconds > 0).then(|| {
            tracing::info!(
                period_days = retention.period_days,
                interval_seconds = retention.interval_seconds,
                "retention erasure scheduled"
            );
            AbortOnDrop(tokio::spawn(crate::services::retention::schedule(
                self.state.db.clone(),
                self.state.sealer.clone(),
                retention.period_days,
                std::time::Duration::from_secs(retention.interval_seconds),
            )))
        });
        // Same switch: a deployment that runs `declare retention run` from cron gets the
        // leavers' pass from it too (decision 0014).
        let _leavers = (retention.interval_seconds > 0).then(|| {
            AbortOnDrop(tokio::spawn(crate::services::leavers::schedule(
                self.state.db.clone(),
                self.state.sealer.clone(),
            )))
        });
        // Keys fetched from the identity provider: at start, then on the schedule.
        let _idp_keys = self
            .state
            .auth
            .external
            .as_ref()
            .filter(|external| external.keys.is_remote())
            .map(|external| AbortOnDrop(tokio::spawn(external.keys.clone().run_schedule())));
        let seal_every = self.state.config.audit_seal_interval_ms;
        let _audit_seal = (seal_every > 0
            && self.state.db.backend() == crate::store::Backend::Postgres)
            .then(|| {
                AbortOnDrop(tokio::spawn(crate::services::audit::seal_schedule(
                    self.state.db.clone(),
                    std::time::Duration::from_millis(seal_every),
                )))
            });
        self.server.await
    }
}

/// Held by `declare serve` on SQLite for as long as it runs: SQLite serves one instance only
/// (decision 0022), and a second `serve` on the same file would bring back every per-process
/// state (throttle counts in memory, two sealers) that PostgreSQL deployments share.
#[derive(Debug)]
pub struct InstanceLock {
    _file: std::fs::File,
}

/// On SQLite, takes an exclusive lock on `<database>.lock` next to the database file, or fails
/// with a message saying that another `declare serve` holds it. The operating system releases
/// the lock when the process ends, however it ends (even `kill -9`), so a crash never leaves a
/// stale lock behind. On PostgreSQL, nothing: any number of instances may share it.
pub fn claim_single_instance(config: &Config) -> anyhow::Result<Option<InstanceLock>> {
    let Some(path) = crate::store::sqlite_path(&config.database_url) else {
        return Ok(None);
    };
    let lock_path = std::path::PathBuf::from(format!("{path}.lock"));
    if let Some(parent) = lock_path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)?;
    }
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|e| anyhow::anyhow!("{}: {e}", lock_path.display()))?;
    // `File::try_lock` is Rust 1.89; the toolchain is 1.95. `rust-version` still says 1.80
    // because raising it turns on lints (`is_none_or`) across files outside this change; raise
    // it separately and drop this allow.
    #[allow(clippy::incompatible_msrv)]
    let locked = file.try_lock();
    match locked {
        Ok(()) => Ok(Some(InstanceLock { _file: file })),
        Err(std::fs::TryLockError::WouldBlock) => anyhow::bail!(
            "another `declare serve` is already running on the SQLite database {path} (it holds \
             {}); SQLite serves a single instance: stop the other one, or run several instances \
             on PostgreSQL (README, \"Several instances\")",
            lock_path.display()
        ),
        Err(std::fs::TryLockError::Error(e)) => {
            anyhow::bail!("locking {}: {e}", lock_path.display())
        }
    }
}

/// Stops a background task when its owner is dropped (the server stopped, or a test's
/// server task was aborted), so it never outlives the database it works on.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Organisations created before catalogues existed (or restored from an older backup) get the
/// national catalogue as their first version, so every organisation serves one.
fn install_missing_catalogues(db: &Database) -> anyhow::Result<()> {
    let mut conn = db.get(std::time::Duration::from_secs(10))?;
    let installed = crate::services::catalogue::install_national_where_missing(&mut conn)
        .map_err(|e| anyhow::anyhow!("installing the national catalogue: {e}"))?;
    if installed > 0 {
        tracing::info!(count = installed, "installed the national catalogue");
    }
    Ok(())
}

/// The organisation whose staff the identity provider signs in must exist before start.
fn resolve_idp_organisation(db: &Database, config: &Config) -> anyhow::Result<Option<uuid::Uuid>> {
    let Some(idp) = &config.external_idp else {
        return Ok(None);
    };
    let mut conn = db.get(std::time::Duration::from_secs(10))?;
    let org =
        crate::store::organisations::find_by_code(&mut conn, &idp.organisation).map_err(|e| {
            anyhow::anyhow!(
            "DECLARE_IDP_ORGANISATION `{}`: {e}; create it first with `declare admin create-org`",
            idp.organisation
        )
        })?;
    Ok(Some(uuid::Uuid::parse_str(&org.id)?))
}
