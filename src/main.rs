//! The `declare` command line: serve (the default), migrate, print the OpenAPI document.

use clap::{Parser, Subcommand};
use secrecy::{ExposeSecret as _, SecretString};

use declare::config::Config;
use declare::startup::Application;
use declare::store::Database;

#[derive(Parser)]
#[command(
    name = "declare",
    version,
    about = "Voluntary, consented, anonymised equality monitoring"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP service (the default). Migrations are applied first.
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Organisations, accounts and API clients.
    #[command(subcommand)]
    Admin(AdminCommand),
    /// The audit trail.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// An organisation's question catalogue, managed as a file.
    #[command(subcommand)]
    Catalogue(CatalogueCommand),
    /// Import data from files.
    #[command(subcommand)]
    Import(ImportCommand),
    /// Anonymised figures.
    #[command(subcommand)]
    Stats(StatsCommand),
    /// Erasing leavers' answers once the retention period has run.
    #[command(subcommand)]
    Retention(RetentionCommand),
    /// Print the OpenAPI document generated from the code.
    Openapi {
        #[arg(long, value_enum, default_value = "yaml")]
        format: SpecFormat,
    },
}

#[derive(Subcommand)]
// The subcommand names (`create-org`, ...) are the documented CLI; clap derives them from these.
#[allow(clippy::enum_variant_names)]
enum AdminCommand {
    /// Create an organisation (a force).
    CreateOrg {
        #[arg(long)]
        code: String,
        #[arg(long)]
        name: String,
    },
    /// Create a local account. Without --org it is deployment-wide (admin or national_viewer):
    /// this is how the first administrator is made on a fresh install.
    CreateAccount {
        #[arg(long)]
        username: String,
        /// Organisation code; omit for a deployment-wide account.
        #[arg(long)]
        org: Option<String>,
        /// Repeat for several roles: employee, hr_admin, hr_sync, edi_viewer, auditor, admin, national_viewer.
        #[arg(long = "role", required = true)]
        roles: Vec<String>,
        #[arg(long)]
        employee_id: Option<uuid::Uuid>,
        /// Read the password from the first line of standard input; otherwise one is generated
        /// and printed once.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Re-seal everything sealed (declarations, their history, tallies, statistics snapshots)
    /// under the current encryption key (DECLARE_ENCRYPTION_KEY), opening old rows with
    /// DECLARE_ENCRYPTION_PREVIOUS_KEYS. Runs in small transactions while the service keeps
    /// serving; safe to rerun. Afterwards the previous keys can be dropped.
    RotateKey {
        /// Rows re-sealed per transaction.
        #[arg(long, default_value_t = 500)]
        batch: i64,
    },
    /// Write a consistent copy of the main database to a new file while the service runs
    /// (SQLite: VACUUM INTO; PostgreSQL: pg_dump's custom format). The key store and the
    /// service keys are not in it; README, "Backups".
    Backup {
        #[arg(long)]
        to: std::path::PathBuf,
    },
    /// After restoring a backup: erase for good the rows of everyone erased since it was
    /// taken (their keys no longer open), and recount their organisations' figures.
    PurgeErased,
    /// Create an API client (e.g. an HR system); its secret is printed once.
    CreateClient {
        #[arg(long)]
        org: String,
        #[arg(long)]
        name: String,
        #[arg(long = "role", required = true)]
        roles: Vec<String>,
    },
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Recompute the hash chain from the first event; exit 1 naming the first broken event.
    Verify,
}

#[derive(Subcommand)]
enum CatalogueCommand {
    /// Print a published catalogue version as JSON (the current one unless --version).
    Export {
        #[arg(long)]
        org: String,
        /// Version number (1 is the national catalogue).
        #[arg(long)]
        version: Option<i64>,
    },
    /// Validate a catalogue file and install it as the organisation's draft (or, with
    /// --publish, as its new current version). On any problem nothing is written: every
    /// problem is printed and the exit status is 1.
    Import {
        #[arg(long)]
        org: String,
        /// The catalogue JSON file.
        file: std::path::PathBuf,
        #[arg(long)]
        publish: bool,
    },
    /// Carry every stored declaration onto a published version (the current one unless
    /// --target-version) with a mapping file (`{"characteristics": {...}}`), in one
    /// transaction, and print the report (counts only). On any problem nothing is written:
    /// every problem is printed and the exit status is 1.
    Migrate {
        #[arg(long)]
        org: String,
        /// The mapping JSON file.
        file: std::path::PathBuf,
        /// Id of the published version to migrate onto.
        #[arg(long)]
        target_version: Option<uuid::Uuid>,
        /// Report what would change and write nothing.
        #[arg(long)]
        dry_run: bool,
    },
}

#[derive(Subcommand)]
enum ImportCommand {
    /// Sync the workforce from a CSV file, with the same validation as the bulk API. The file
    /// applies whole or not at all; every rejected row is printed with its line number.
    Employees {
        /// Organisation code.
        #[arg(long)]
        org: String,
        /// The CSV file (header: employee_number,external_subject,org_unit,staff_type,rank,fte,start_date,leave_date).
        file: std::path::PathBuf,
        #[arg(long, value_enum, default_value = "full")]
        mode: ImportMode,
        /// Report what would change and write nothing.
        #[arg(long)]
        dry_run: bool,
        /// Let a full import exceed the leaver ceiling (DECLARE_SYNC_MAX_LEAVER_FRACTION).
        #[arg(long)]
        allow_mass_leavers: bool,
    },
}

#[derive(Subcommand)]
enum StatsCommand {
    /// Take every statistics snapshot that is due (DECLARE_SNAPSHOT_PUBLICATION_DATES, the
    /// monthly day) and not yet taken, as the service's scheduled task does. Safe to rerun: a
    /// snapshot per organisation and period is taken once.
    Snapshot {
        /// Organisation code or id; all organisations when omitted.
        #[arg(long)]
        org: Option<String>,
        /// A note kept with the snapshots this run takes (e.g. "annual publication 2027").
        #[arg(long)]
        label: Option<String>,
    },
}

#[derive(Subcommand)]
enum RetentionCommand {
    /// Erase the declarations, answer history and consent records of every leaver whose leave
    /// date is more than DECLARE_RETENTION_PERIOD_DAYS ago, in short transactions, each person
    /// an audit event. Safe to rerun: a second run finds nothing to do.
    Run {
        /// Report what would be erased and erase nothing.
        #[arg(long)]
        dry_run: bool,
        /// People erased per transaction.
        #[arg(long, default_value_t = declare::services::retention::DEFAULT_BATCH)]
        batch: i64,
    },
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum ImportMode {
    Full,
    Delta,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum SpecFormat {
    Yaml,
    Json,
}

fn main() -> std::process::ExitCode {
    match run(Cli::parse()) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command.unwrap_or(Command::Serve) {
        Command::Openapi { format } => {
            let spec = declare::http::openapi();
            let text = match format {
                SpecFormat::Yaml => spec.to_yaml()?,
                SpecFormat::Json => spec.to_pretty_json()?,
            };
            print!("{text}");
            Ok(())
        }
        Command::Migrate => {
            let config = Config::from_env()?;
            declare::telemetry::init(config.log_format, &config.log_level, None);
            let db = Database::connect(&config.database_url, 1)?;
            let applied = db.migrate()?;
            println!("applied {} migration(s)", applied.len());
            for version in applied {
                println!("  {version}");
            }
            Ok(())
        }
        Command::Admin(command) => {
            let config = Config::from_env()?;
            declare::telemetry::init(config.log_format, "warn", None);
            actix_web::rt::System::new().block_on(admin(config, command))
        }
        Command::Audit(AuditCommand::Verify) => {
            let config = Config::from_env()?;
            declare::telemetry::init(config.log_format, "warn", None);
            let db = Database::connect(&config.database_url, 1)?;
            db.migrate()?;
            let report = actix_web::rt::System::new()
                .block_on(declare::services::audit::verify(&db))
                .map_err(|e| anyhow::anyhow!(describe(&e)))?;
            match report {
                Ok(report) => {
                    println!(
                        "audit chain intact: {} event(s), head {}",
                        report.events, report.head
                    );
                    Ok(())
                }
                Err(broken) => anyhow::bail!(
                    "audit chain broken at event {}: {}",
                    broken.seq,
                    broken.reason
                ),
            }
        }
        Command::Catalogue(command) => {
            let config = Config::from_env()?;
            declare::telemetry::init(config.log_format, "warn", None);
            actix_web::rt::System::new().block_on(catalogue(config, command))
        }
        Command::Import(ImportCommand::Employees {
            org,
            file,
            mode,
            dry_run,
            allow_mass_leavers,
        }) => {
            let config = Config::from_env()?;
            declare::telemetry::init(config.log_format, "warn", None);
            let mode = match mode {
                ImportMode::Full => declare::services::sync::Mode::Full,
                ImportMode::Delta => declare::services::sync::Mode::Delta,
            };
            import_employees(&config, &org, &file, mode, dry_run, allow_mass_leavers)
        }
        Command::Stats(StatsCommand::Snapshot { org, label }) => {
            let config = Config::from_env()?;
            declare::telemetry::init(config.log_format, "warn", None);
            actix_web::rt::System::new().block_on(snapshot(config, org, label))
        }
        Command::Retention(RetentionCommand::Run { dry_run, batch }) => {
            let config = Config::from_env()?;
            declare::telemetry::init(config.log_format, "warn", None);
            retention_run(&config, dry_run, batch)
        }
        Command::Serve => {
            let config = Config::from_env()?;
            // Only `serve` exports traces: the command-line tools are not requests.
            declare::telemetry::init(
                config.log_format,
                &config.log_level,
                config.otlp_endpoint.as_deref(),
            );
            let listen = config.listen;
            // Before anything touches the database: a second `serve` on one SQLite file stops
            // here with a clear message (decision 0022). Held until the process ends.
            let _single = declare::startup::claim_single_instance(&config)?;
            let served = actix_web::rt::System::new().block_on(async move {
                let app = Application::build(config)?;
                tracing::info!(%listen, port = app.port(), "declare is serving");
                app.run_until_stopped().await?;
                Ok(())
            });
            // After a graceful stop (SIGTERM, SIGINT) the last batch of spans still goes out.
            declare::telemetry::shutdown();
            served
        }
    }
}

async fn admin(config: Config, command: AdminCommand) -> anyhow::Result<()> {
    use declare::services::identity;
    let db = Database::connect(&config.database_url, 2)?;
    db.migrate()?;
    // The CLI never verifies the identity provider's tokens, and `create-org` may be what
    // creates DECLARE_IDP_ORGANISATION: only `serve` resolves and checks it, so every command
    // runs in the environment the service runs in.
    let local = Config {
        external_idp: None,
        ..config.clone()
    };
    let auth = std::sync::Arc::new(declare::auth::Authenticator::from_config(&local, None)?);
    let problem = |e: declare::error::AppError| anyhow::anyhow!(describe(&e));
    match command {
        AdminCommand::CreateOrg { code, name } => {
            let org = identity::create_organisation(&db, code, name)
                .await
                .map_err(problem)?;
            println!("created organisation {} ({})", org.code, org.id);
        }
        AdminCommand::CreateAccount {
            username,
            org,
            roles,
            employee_id,
            password_stdin,
        } => {
            let organisation_id = match org {
                Some(code) => Some(
                    identity::find_organisation_by_code(&db, code)
                        .await
                        .map_err(problem)?
                        .id,
                ),
                None => None,
            };
            let (password, generated) = if password_stdin {
                let mut line = String::new();
                std::io::stdin().read_line(&mut line)?;
                (line.trim_end_matches(['\r', '\n']).to_owned(), false)
            } else {
                (
                    declare::auth::secrets::random_b64(18)
                        .expose_secret()
                        .to_owned(),
                    true,
                )
            };
            let new = identity::NewAccount {
                username,
                password: SecretString::from(password.clone()),
                roles,
                employee_id,
            };
            let account = identity::create_account(&db, &auth, organisation_id, new)
                .await
                .map_err(problem)?;
            println!("created account {} ({})", account.username, account.id);
            if generated {
                println!("password (shown once): {password}");
            }
        }
        AdminCommand::RotateKey { batch } => {
            let sealer = std::sync::Arc::new(declare::services::key_tree::sealer(&config, &db)?);
            let key = sealer.current_key_id().to_owned();
            let done = declare::services::rotation::rotate_keys(&db, sealer, batch, |p| {
                println!("re-sealed {p} so far");
            })
            .await
            .map_err(problem)?;
            println!("done: {done} now under key `{key}`");
        }
        AdminCommand::Backup { to } => {
            declare::services::backup::create(&config, &db, &to)?;
            println!("backup written to {}", to.display());
            println!(
                "it holds no key: keep the service keys and the key store apart from it \
                 (README, Backups)"
            );
        }
        AdminCommand::PurgeErased => {
            let sealer = declare::services::key_tree::sealer(&config, &db)?;
            let mut conn = db.get(std::time::Duration::from_secs(30))?;
            let purged =
                declare::services::key_tree::purge_erased(&mut conn, &sealer).map_err(problem)?;
            println!(
                "purged {} erased person(s); recounted {} organisation(s)",
                purged.people, purged.organisations
            );
        }
        AdminCommand::CreateClient { org, name, roles } => {
            let organisation = identity::find_organisation_by_code(&db, org)
                .await
                .map_err(problem)?;
            let client = identity::create_client(
                &db,
                &auth,
                organisation.id,
                identity::NewClient { name, roles },
            )
            .await
            .map_err(problem)?;
            println!("client_id: {}", client.client_id);
            println!("client_secret (shown once): {}", client.client_secret);
        }
    }
    Ok(())
}

async fn snapshot(
    config: Config,
    org: Option<String>,
    label: Option<String>,
) -> anyhow::Result<()> {
    use declare::services::{audit::Actor, identity, stats::snapshots};
    let db = Database::connect(&config.database_url, 2)?;
    db.migrate()?;
    let problem = |e: declare::error::AppError| anyhow::anyhow!(describe(&e));
    let org = match org {
        None => None,
        Some(given) => Some(match uuid::Uuid::parse_str(&given) {
            Ok(id) => id,
            Err(_) => {
                identity::find_organisation_by_code(&db, given)
                    .await
                    .map_err(problem)?
                    .id
            }
        }),
    };
    let sealer = std::sync::Arc::new(declare::services::key_tree::sealer(&config, &db)?);
    let taken = snapshots::take_due(
        &db,
        sealer,
        config.snapshot_schedule.clone(),
        Actor::cli(),
        org,
        label,
        chrono::Utc::now().naive_utc(),
    )
    .await
    .map_err(problem)?;
    if taken.is_empty() {
        println!("no snapshot is due");
    }
    for t in taken {
        let what = if t.new { "taken" } else { "already taken" };
        let late = if t.new && t.late { " (late)" } else { "" };
        println!(
            "{} {} {}: {what}{late}",
            t.organisation,
            t.kind.as_str(),
            t.period
        );
    }
    Ok(())
}

async fn catalogue(config: Config, command: CatalogueCommand) -> anyhow::Result<()> {
    use declare::services::{catalogue, identity};
    let db = Database::connect(&config.database_url, 2)?;
    db.migrate()?;
    let problem = |e: declare::error::AppError| anyhow::anyhow!(describe_lines(&e));
    match command {
        CatalogueCommand::Export { org, version } => {
            let org = identity::find_organisation_by_code(&db, org)
                .await
                .map_err(problem)?;
            let document = catalogue::export(&db, org.id, version)
                .await
                .map_err(problem)?;
            println!("{}", serde_json::to_string_pretty(&document)?);
        }
        CatalogueCommand::Import { org, file, publish } => {
            let text = std::fs::read_to_string(&file)
                .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
            let org = identity::find_organisation_by_code(&db, org)
                .await
                .map_err(problem)?;
            let version = catalogue::import(&db, org.id, &text, publish)
                .await
                .map_err(problem)?;
            let state = if publish {
                "published"
            } else {
                "installed as the draft"
            };
            println!(
                "catalogue {} {state} as version {} ({})",
                version.label, version.version_number, version.id
            );
        }
        CatalogueCommand::Migrate {
            org,
            file,
            target_version,
            dry_run,
        } => {
            let text = std::fs::read_to_string(&file)
                .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
            let mapping = catalogue::parse_mapping(&text).map_err(problem)?;
            let org = identity::find_organisation_by_code(&db, org)
                .await
                .map_err(problem)?;
            let sealer = std::sync::Arc::new(declare::services::key_tree::sealer(&config, &db)?);
            let request = declare::services::catalogue_migration::MigrationRequest {
                mapping,
                target_version,
                dry_run,
            };
            let report = declare::services::catalogue_migration::migrate(
                &db,
                sealer,
                org.id,
                declare::services::audit::Actor::cli(),
                request,
            )
            .await
            .map_err(problem)?;
            println!("{}", serde_json::to_string_pretty(&report)?);
        }
    }
    Ok(())
}

/// A service error with each field problem on its own line (`field: message`), for files
/// with many problems.
fn describe_lines(error: &declare::error::AppError) -> String {
    match error {
        declare::error::AppError::Validation(problems) => {
            let lines: Vec<String> = problems
                .iter()
                .map(|p| format!("  {}: {}", p.field, p.message))
                .collect();
            format!("{} problem(s):\n{}", problems.len(), lines.join("\n"))
        }
        other => other.to_string(),
    }
}

/// `declare import employees`: the bulk sync service on a local file, with a progress bar.
fn import_employees(
    config: &Config,
    org_code: &str,
    file: &std::path::Path,
    mode: declare::services::sync::Mode,
    dry_run: bool,
    allow_mass_leavers: bool,
) -> anyhow::Result<()> {
    use declare::services::sync::{self, SyncOptions, SyncOutcome};
    let db = Database::connect(&config.database_url, 1)?;
    db.migrate()?;
    // Before the one connection is taken: opening the key tree needs it for a moment.
    let sealer = declare::services::key_tree::sealer(config, &db)?;
    let mut conn = db.get(std::time::Duration::from_secs(30))?;
    let org = declare::store::organisations::find_by_code(&mut conn, org_code)
        .map_err(|_| anyhow::anyhow!("no organisation has the code `{org_code}`"))?;
    let org_id = uuid::Uuid::parse_str(&org.id)?;
    let reader =
        std::fs::File::open(file).map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
    let size = reader.metadata().map(|m| m.len()).unwrap_or(0);
    let bar = indicatif::ProgressBar::new(size);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} ({eta})",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let ticker = bar.clone();
    let options = SyncOptions {
        mode,
        dry_run,
        allow_mass_leavers,
        idempotency_key: None,
        max_leaver_fraction: config.sync_max_leaver_fraction,
        actor: declare::services::audit::Actor::cli_for(org_id),
    };
    let outcome = sync::sync_blocking(
        &mut conn,
        &sealer,
        org_id,
        declare::services::rows::Format::Csv,
        std::io::BufReader::with_capacity(256 * 1024, reader),
        &options,
        Box::new(move |n| ticker.inc(n as u64)),
    );
    bar.finish_and_clear();
    match outcome {
        Ok(SyncOutcome::Applied(report)) => {
            let verb = if report.dry_run { "would be" } else { "were" };
            println!(
                "{} rows: {} created, {} updated, {} unchanged, {} leavers {verb} recorded{}",
                report.rows,
                report.created,
                report.updated,
                report.unchanged,
                report.leavers,
                if report.dry_run {
                    " (dry run: nothing written)"
                } else {
                    ""
                },
            );
            Ok(())
        }
        Ok(SyncOutcome::Replayed(_)) => Ok(()),
        Err(declare::error::AppError::RejectedRows(rows)) => {
            for row in &rows {
                for e in &row.errors {
                    println!("line {}: {}: {} ({})", row.line, e.field, e.message, e.code);
                }
            }
            anyhow::bail!("{} row(s) rejected; nothing was written", rows.len())
        }
        Err(other) => anyhow::bail!("{}; nothing was written", describe(&other)),
    }
}

/// `declare retention run`: the same erasure the scheduled task runs, with a progress bar.
fn retention_run(config: &Config, dry_run: bool, batch: i64) -> anyhow::Result<()> {
    use declare::services::retention::{self, RunOptions};
    let db = Database::connect(&config.database_url, 1)?;
    db.migrate()?;
    let sealer = declare::services::key_tree::sealer(config, &db)?;
    let mut conn = db.get(std::time::Duration::from_secs(30))?;
    let today = chrono::Utc::now().date_naive();
    let period_days = config.retention.period_days;
    let due = retention::count_due(&mut conn, today, period_days)
        .map_err(|e| anyhow::anyhow!(describe(&e)))?;
    let bar = indicatif::ProgressBar::new(due);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} people ({eta})",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let options = RunOptions {
        today,
        period_days,
        dry_run,
        batch,
        actor: declare::services::audit::Actor::cli(),
    };
    let ticker = bar.clone();
    let outcome = retention::run_blocking(&mut conn, &sealer, &options, move |n| ticker.inc(n));
    bar.finish_and_clear();
    let report = outcome.map_err(|e| {
        anyhow::anyhow!(
            "{}; batches already committed stay erased, rerun to finish",
            describe(&e)
        )
    })?;
    let verb = if report.dry_run { "would be" } else { "were" };
    println!(
        "{} leaver(s) in {} organisation(s) who left before {} (retention {} days): {} \
         declaration(s), {} history row(s) and {} consent record(s) {verb} erased{}",
        report.people,
        report.organisations,
        report.cutoff,
        period_days,
        report.erased.declarations,
        report.erased.history,
        report.erased.consents,
        if report.dry_run {
            " (dry run: nothing written)"
        } else {
            ""
        },
    );
    if report.leavers.people > 0 {
        println!(
            "{} person(s) whose leave date had arrived taken out of the current figures of {} \
             organisation(s)",
            report.leavers.people, report.leavers.organisations
        );
    }
    Ok(())
}

/// A service error as one readable line, with each field problem.
fn describe(error: &declare::error::AppError) -> String {
    match error {
        declare::error::AppError::Validation(problems) => problems
            .iter()
            .map(|p| format!("{}: {}", p.field, p.message))
            .collect::<Vec<_>>()
            .join("; "),
        other => other.to_string(),
    }
}
