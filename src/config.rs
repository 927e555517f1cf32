//! Typed settings, read once from `DECLARE_*` environment variables.
//!
//! The rule a reader must keep: every variable the service reads is listed in [`VARIABLES`],
//! which is also what the README table and the docker-compose check are built from. Unknown
//! `DECLARE_*` names are refused at start-up so a typo never silently falls back to a default.
//! There is no global: a `Config` is passed in, so tests run side by side.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

/// One documented environment variable.
pub struct Variable {
    pub name: &'static str,
    pub default: &'static str,
    pub meaning: &'static str,
}

/// Every variable the service reads. Keep in step with `Config::from_vars`.
pub const VARIABLES: &[Variable] = &[
    Variable {
        name: "DECLARE_ENV",
        default: "development",
        meaning: "`development` or `production`; production refuses to start without its secrets",
    },
    Variable {
        name: "DECLARE_LISTEN",
        default: "127.0.0.1:8080",
        meaning: "address and port the HTTP server binds",
    },
    Variable {
        name: "DECLARE_DATA_DIR",
        default: "./data",
        meaning: "where the embedded SQLite file and generated development secrets live",
    },
    Variable {
        name: "DECLARE_DATABASE_URL",
        default: "sqlite://<data dir>/declare.db",
        meaning: "`sqlite://PATH`, a plain path, or `postgres://...`",
    },
    Variable {
        name: "DECLARE_DATABASE_POOL_SIZE",
        default: "8",
        meaning: "connections kept in the pool",
    },
    Variable {
        name: "DECLARE_WORKERS",
        default: "number of cores",
        meaning: "HTTP worker threads",
    },
    Variable {
        name: "DECLARE_LOG_FORMAT",
        default: "pretty (json in production)",
        meaning: "`pretty` or `json`",
    },
    Variable {
        name: "DECLARE_LOG_LEVEL",
        default: "info",
        meaning: "a tracing filter, e.g. `info,declare=debug`",
    },
    Variable {
        name: "DECLARE_OTLP_ENDPOINT",
        default: "(none: no trace export)",
        meaning: "base URL of an OpenTelemetry collector's OTLP/HTTP receiver beside the service (`http://otel-collector:4318`; plain HTTP); spans are sent, JSON-encoded, to its `/v1/traces`",
    },
    Variable {
        name: "DECLARE_CORS_ALLOWED_ORIGINS",
        default: "(none: no CORS headers)",
        meaning: "comma-separated exact origins (`https://hr.example.org`) of browser front ends on another origin that may call the API; never `*`",
    },
    Variable {
        name: "DECLARE_BODY_LIMIT",
        default: "1048576",
        meaning: "largest JSON request body in bytes",
    },
    Variable {
        name: "DECLARE_SYNC_BODY_LIMIT",
        default: "536870912",
        meaning: "largest bulk sync upload (CSV or NDJSON, streamed) in bytes",
    },
    Variable {
        name: "DECLARE_SYNC_MAX_LEAVER_FRACTION",
        default: "0.1",
        meaning: "most of the workforce in post one `full` sync may mark as leavers without `allow_mass_leavers=true`",
    },
    Variable {
        name: "DECLARE_RETENTION_PERIOD_DAYS",
        default: "365",
        meaning: "days after a leaver's leave date before their answers, history and consents are erased",
    },
    Variable {
        name: "DECLARE_RETENTION_INTERVAL_SECONDS",
        default: "86400",
        meaning: "how often `serve` runs the retention erasure (first run at start-up); 0 turns the schedule off",
    },
    Variable {
        name: "DECLARE_AUDIT_SEAL_INTERVAL_MS",
        default: "200",
        meaning: "how often `serve` chains audit events recorded but not yet sealed (PostgreSQL; readers of the trail also seal first); 0 leaves it to readers",
    },
    Variable {
        name: "DECLARE_TOKEN_SIGNING_KEY",
        default: "generated in development",
        meaning: "base64 secret (32+ bytes) that signs access tokens",
    },
    Variable {
        name: "DECLARE_TOKEN_SIGNING_KEY_ID",
        default: "t1",
        meaning: "key id (`kid`) of the signing key, so keys rotate",
    },
    Variable {
        name: "DECLARE_TOKEN_PREVIOUS_KEYS",
        default: "(none)",
        meaning: "`kid:base64,...` keys still accepted for verification during rotation",
    },
    Variable {
        name: "DECLARE_TOKEN_ISSUER",
        default: "declare",
        meaning: "`iss` of issued tokens",
    },
    Variable {
        name: "DECLARE_TOKEN_AUDIENCE",
        default: "declare-api",
        meaning: "`aud` of issued tokens",
    },
    Variable {
        name: "DECLARE_TOKEN_TTL_SECONDS",
        default: "900",
        meaning: "lifetime of access tokens",
    },
    Variable {
        name: "DECLARE_LOGIN_MAX_FAILURES_PER_ACCOUNT",
        default: "5",
        meaning: "failed sign-ins of one account from one address (and, for passwords, from all the addresses it never signed in from) before each further attempt waits (429)",
    },
    Variable {
        name: "DECLARE_LOGIN_MAX_FAILURES_PER_ADDRESS",
        default: "20",
        meaning: "failed sign-ins from one address, whatever the account, before each further attempt waits (429)",
    },
    Variable {
        name: "DECLARE_LOGIN_WINDOW_SECONDS",
        default: "900",
        meaning: "the longest wait after failed sign-ins; the first is a quarter of it, doubling with each further failure (decision 0018)",
    },
    Variable {
        name: "DECLARE_KEY_STORE_URL",
        default: "beside the database: `NAME.keystore` for SQLite's `NAME.db`, database `NAME_keystore` on the same PostgreSQL server (created if absent)",
        meaning: "the key store: the key tree every person key is also sealed under, kept out of the database's backups so an erasure reaches them (decision 0027)",
    },
    Variable {
        name: "DECLARE_IDP_ISSUER",
        default: "(none: external tokens refused)",
        meaning: "`iss` of the force's identity provider, whose tokens staff front ends send",
    },
    Variable {
        name: "DECLARE_IDP_AUDIENCE",
        default: "declare-api",
        meaning: "`aud` the identity provider puts in tokens for Declare",
    },
    Variable {
        name: "DECLARE_IDP_ALGORITHMS",
        default: "RS256",
        meaning: "comma-separated: RS256, ES256, EdDSA (never HS*)",
    },
    Variable {
        name: "DECLARE_IDP_SUBJECT_CLAIM",
        default: "sub",
        meaning: "claim holding the employee's external identity subject (e.g. `oid`)",
    },
    Variable {
        name: "DECLARE_IDP_DISCOVERY_URL",
        default: "(none)",
        meaning: "the identity provider's OpenID Connect discovery document (`.../.well-known/openid-configuration`); its `issuer` must equal `DECLARE_IDP_ISSUER` and its `jwks_uri` gives the keys, fetched and refreshed (https, or http to a loopback address)",
    },
    Variable {
        name: "DECLARE_IDP_JWKS_URL",
        default: "(none)",
        meaning: "the identity provider's JWKS, fetched and refreshed (https, or http to a loopback address); instead of the discovery URL",
    },
    Variable {
        name: "DECLARE_IDP_JWKS_FILE",
        default: "(none)",
        meaning: "path of the identity provider's JWKS document, read once at start (instead of a URL; a rotation then needs a restart)",
    },
    Variable {
        name: "DECLARE_IDP_KEYS_REFRESH_SECONDS",
        default: "3600",
        meaning: "how often the keys are fetched again from a URL (at start, then every interval), so keys the provider dropped stop being trusted",
    },
    Variable {
        name: "DECLARE_IDP_KEYS_COOLDOWN_SECONDS",
        default: "30",
        meaning: "a token naming an unknown `kid` fetches the keys again at most once in this many seconds, so forged key ids cannot make the service hammer the provider",
    },
    Variable {
        name: "DECLARE_IDP_ORGANISATION",
        default: "(none)",
        meaning: "code of the organisation whose staff the identity provider signs in",
    },
    Variable {
        name: "DECLARE_IDP_CLIENT_ID",
        default: "(none: no single sign-on button)",
        meaning: "Declare's client id at the identity provider, for staff signing in to the pages (OIDC authorization code with PKCE); needs DECLARE_IDP_DISCOVERY_URL and must equal DECLARE_IDP_AUDIENCE (the ID token is verified as the API verifies the provider's tokens)",
    },
    Variable {
        name: "DECLARE_IDP_CLIENT_SECRET",
        default: "(none: a public client, PKCE alone)",
        meaning: "the client secret, if the identity provider requires one (sent in the token request's body)",
    },
    Variable {
        name: "DECLARE_IDP_REDIRECT_URI",
        default: "(derived: /sign-in/idp/callback on the host the browser used)",
        meaning: "the redirect URI registered at the identity provider (https, or http to a loopback address)",
    },
    Variable {
        name: "DECLARE_DISCLOSURE_MIN_CELL",
        default: "5",
        meaning: "k: perturbed counts from 1 to k-1 are published as suppressed (`[c]`)",
    },
    Variable {
        name: "DECLARE_DISCLOSURE_MIN_GROUP",
        default: "10",
        meaning: "G: a group under G people is not broken down; where fewer than G answered, completion is shown but not the split of answers",
    },
    Variable {
        name: "DECLARE_DISCLOSURE_NOISE_SD",
        default: "5",
        meaning: "standard deviation of the cell-key perturbation on every published count but headcounts (at least 1 in production; 0, exact figures, only for tests)",
    },
    Variable {
        name: "DECLARE_FIGURES_REFRESH_SECONDS",
        default: "86400",
        meaning: "live figures move to a new publication epoch this often; between epochs every figure stays the same (0: figures follow every write)",
    },
    Variable {
        name: "DECLARE_DISCLOSURE_ROUND_TO",
        default: "(none)",
        meaning: "round published counts to the nearest multiple of this (e.g. 5), after perturbation",
    },
    Variable {
        name: "DECLARE_SNAPSHOT_PUBLICATION_DATES",
        default: "03-31,09-30",
        meaning: "`MM-DD,...` publication dates on which every organisation's figures are frozen in a snapshot (`none` for no publication snapshots)",
    },
    Variable {
        name: "DECLARE_SNAPSHOT_MONTHLY_DAY",
        default: "1",
        meaning: "day of the month of the monthly snapshot (past a month's end means its last day; `none` for no monthly snapshots)",
    },
    Variable {
        name: "DECLARE_SNAPSHOT_CHECK_SECONDS",
        default: "3600",
        meaning: "how often `declare serve` takes any due snapshot (0: never; `declare stats snapshot` still does)",
    },
    Variable {
        name: "DECLARE_FIGURE_CACHE_CELLS",
        default: "250000",
        meaning: "published cells of figures kept in memory until their tallies, structure or catalogue change (0: no cache)",
    },
    Variable {
        name: "DECLARE_ENCRYPTION_KEY",
        default: "generated in development",
        meaning: "base64 32-byte AEAD key that encrypts the per-person answer keys, tallies and snapshots at rest",
    },
    Variable {
        name: "DECLARE_ENCRYPTION_KEY_ID",
        default: "k1",
        meaning: "id stored beside every ciphertext, so keys rotate (`person` is reserved)",
    },
    Variable {
        name: "DECLARE_ENCRYPTION_PREVIOUS_KEYS",
        default: "(none)",
        meaning: "`id:base64,...` keys still readable during re-encryption after a rotation",
    },
];

/// The settings that hold secrets. Each may instead be read from the file named by the same
/// name with `_FILE` appended, as Docker and Kubernetes mount secrets, so the secret never has
/// to sit in the process environment (visible in `docker inspect`, `/proc/PID/environ`).
pub const SECRET_VARIABLES: &[&str] = &[
    "DECLARE_DATABASE_URL",
    "DECLARE_KEY_STORE_URL",
    "DECLARE_TOKEN_SIGNING_KEY",
    "DECLARE_TOKEN_PREVIOUS_KEYS",
    "DECLARE_ENCRYPTION_KEY",
    "DECLARE_ENCRYPTION_PREVIOUS_KEYS",
    "DECLARE_IDP_CLIENT_SECRET",
];

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ConfigError {
    #[error("{0} and {0}_FILE are both set; set only one of them")]
    BothSet(&'static str),
    #[error("{name}_FILE: could not read {path}: {reason}")]
    SecretFile {
        name: &'static str,
        path: String,
        reason: String,
    },
    #[error("unknown setting {0}: not one of the DECLARE_* variables the service reads")]
    Unknown(String),
    #[error("{name} is invalid: {reason}")]
    Invalid { name: &'static str, reason: String },
    #[error("{0} is required when DECLARE_ENV=production")]
    MissingSecret(&'static str),
    #[error("could not keep generated secrets in {path}: {reason}")]
    SecretsFile { path: String, reason: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Environment {
    Development,
    Production,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Pretty,
    Json,
}

/// A key with the id stored beside what it protects.
#[derive(Debug, Clone)]
pub struct KeyedSecret {
    pub id: String,
    pub secret: SecretString,
}

impl KeyedSecret {
    /// The decoded key bytes (base64 was checked when the config was read).
    pub fn bytes(&self) -> Vec<u8> {
        B64.decode(self.secret.expose_secret()).unwrap_or_default()
    }
}

#[derive(Debug, Clone)]
pub struct Config {
    pub environment: Environment,
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    pub database_url: String,
    /// Where the key tree's cover lives (decision 0027); `None`: beside the database.
    pub key_store_url: Option<String>,
    pub pool_size: u32,
    pub workers: usize,
    pub log_format: LogFormat,
    pub log_level: String,
    /// OTLP/HTTP base URL of the trace collector; `None`: spans are not exported.
    pub otlp_endpoint: Option<String>,
    /// Origins of browser front ends allowed to call the API across origins; empty: CORS off.
    pub cors_allowed_origins: Vec<String>,
    pub body_limit: usize,
    /// Largest bulk sync upload; separate from `body_limit` because a national file is big.
    pub sync_body_limit: usize,
    /// Ceiling on leavers one `full` sync may create, as a fraction of those in post, so a
    /// truncated file cannot mark half the force as leavers.
    pub sync_max_leaver_fraction: f64,
    pub retention: Retention,
    /// How often `serve` seals pending audit events (PostgreSQL); 0: only readers seal.
    pub audit_seal_interval_ms: u64,
    pub token_signing_key: KeyedSecret,
    pub token_previous_keys: Vec<KeyedSecret>,
    pub token_issuer: String,
    pub token_audience: String,
    pub token_ttl_seconds: u64,
    pub encryption_key: KeyedSecret,
    pub encryption_previous_keys: Vec<KeyedSecret>,
    pub login_throttle: LoginLimits,
    pub disclosure: crate::domain::disclosure::DisclosureConfig,
    /// When statistics snapshots fall due.
    pub snapshot_schedule: crate::domain::schedule::Schedule,
    /// How often the service looks for a due snapshot; `None`: it never does.
    pub snapshot_check_seconds: Option<u64>,
    /// Bound of the figures cache in published cells; 0 turns it off.
    pub figure_cache_cells: usize,
    pub external_idp: Option<ExternalIdp>,
    /// Sign-in through the identity provider from the pages (OIDC authorization code with
    /// PKCE); `None` hides the button. Needs `external_idp` with a discovery document.
    pub idp_client: Option<IdpClient>,
    /// argon2id cost (memory KiB, iterations, parallelism); OWASP's in production, cheap in tests.
    pub argon2_cost: (u32, u32, u32),
}

/// How long leavers' answers are kept, and how often `serve` erases those past it.
#[derive(Debug, Clone, Copy)]
pub struct Retention {
    pub period_days: u32,
    /// 0: `serve` never runs it (run `declare retention run` from a scheduler instead).
    pub interval_seconds: u64,
}

#[derive(Debug, Clone, Copy)]
pub struct LoginLimits {
    pub per_account: u32,
    pub per_address: u32,
    pub window_seconds: u64,
}

/// A force's identity provider, whose tokens are accepted for members of staff.
#[derive(Debug, Clone)]
pub struct ExternalIdp {
    pub issuer: String,
    pub audience: String,
    pub algorithms: Vec<String>,
    pub subject_claim: String,
    /// Where its public keys come from.
    pub keys: IdpKeySource,
    /// When keys from a URL are fetched again.
    pub key_refresh: KeyRefresh,
    pub organisation: String,
}

/// Declare as an OpenID Connect client of the identity provider, for the pages' sign-in.
#[derive(Debug, Clone)]
pub struct IdpClient {
    /// `DECLARE_IDP_CLIENT_ID`; must equal `DECLARE_IDP_AUDIENCE`, because the ID token (whose
    /// `aud` is the client id) is verified exactly as the API verifies the provider's tokens.
    pub client_id: String,
    /// `DECLARE_IDP_CLIENT_SECRET` (or from `DECLARE_IDP_CLIENT_SECRET_FILE`, as any secret); `None`
    /// for a public client (PKCE alone).
    pub client_secret: Option<SecretString>,
    /// `DECLARE_IDP_REDIRECT_URI`; `None`: derived from the request (`/sign-in/idp/callback`
    /// on the host the browser used).
    pub redirect_uri: Option<String>,
}

/// Where the identity provider's public keys come from: exactly one of these is configured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdpKeySource {
    /// A JWKS file read once at start (`DECLARE_IDP_JWKS_FILE`).
    File(PathBuf),
    /// A JWKS URL (`DECLARE_IDP_JWKS_URL`).
    JwksUrl(String),
    /// An OpenID Connect discovery document naming the JWKS (`DECLARE_IDP_DISCOVERY_URL`).
    Discovery(String),
}

/// How keys fetched from a URL are kept fresh (decision 0023).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyRefresh {
    /// Scheduled refetch; a key the provider dropped is trusted at most this long after.
    pub interval_seconds: u64,
    /// Least time between fetches that a token with an unknown `kid` may cause.
    pub cooldown_seconds: u64,
}

impl Default for KeyRefresh {
    fn default() -> Self {
        KeyRefresh {
            interval_seconds: 3600,
            cooldown_seconds: 30,
        }
    }
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_vars(std::env::vars())
    }

    /// Reads settings from any list of `(name, value)` pairs; names without the `DECLARE_`
    /// prefix are ignored, unknown `DECLARE_` names are refused.
    pub fn from_vars(
        vars: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let mut vars: BTreeMap<String, String> = vars
            .into_iter()
            .filter(|(name, _)| name.starts_with("DECLARE_") && !is_harness_variable(name))
            .collect();
        read_secret_files(&mut vars)?;
        if let Some(unknown) = vars
            .keys()
            .find(|name| !VARIABLES.iter().any(|v| v.name == name.as_str()))
        {
            return Err(ConfigError::Unknown(unknown.clone()));
        }
        let mut take = |name: &'static str| vars.remove(name).filter(|v| !v.trim().is_empty());

        let environment = match take("DECLARE_ENV").as_deref() {
            None | Some("development") => Environment::Development,
            Some("production") => Environment::Production,
            Some(other) => {
                return Err(invalid(
                    "DECLARE_ENV",
                    format!("`{other}` is not development or production"),
                ))
            }
        };
        let listen = parse_or(
            "DECLARE_LISTEN",
            take("DECLARE_LISTEN"),
            "127.0.0.1:8080".parse().ok(),
        )?;
        let data_dir = PathBuf::from(take("DECLARE_DATA_DIR").unwrap_or_else(|| "./data".into()));
        let database_url = take("DECLARE_DATABASE_URL")
            .unwrap_or_else(|| format!("sqlite://{}", data_dir.join("declare.db").display()));
        let pool_size = parse_or(
            "DECLARE_DATABASE_POOL_SIZE",
            take("DECLARE_DATABASE_POOL_SIZE"),
            Some(8),
        )?;
        if pool_size == 0 {
            return Err(invalid(
                "DECLARE_DATABASE_POOL_SIZE",
                "must be at least 1".into(),
            ));
        }
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        let workers = parse_or("DECLARE_WORKERS", take("DECLARE_WORKERS"), Some(cores))?;
        let log_format = match take("DECLARE_LOG_FORMAT").as_deref() {
            None if environment == Environment::Production => LogFormat::Json,
            None | Some("pretty") => LogFormat::Pretty,
            Some("json") => LogFormat::Json,
            Some(other) => {
                return Err(invalid(
                    "DECLARE_LOG_FORMAT",
                    format!("`{other}` is not pretty or json"),
                ))
            }
        };
        let log_level = take("DECLARE_LOG_LEVEL").unwrap_or_else(|| "info".into());
        let key_store_url = take("DECLARE_KEY_STORE_URL");
        let otlp_endpoint = match take("DECLARE_OTLP_ENDPOINT") {
            None => None,
            Some(raw) => {
                let url = raw.trim().trim_end_matches('/').to_owned();
                // The exporter is built without TLS (decision 0026): spans go to a collector
                // beside the service (an agent or sidecar), which forwards them onwards.
                if !url.starts_with("http://") {
                    return Err(invalid(
                        "DECLARE_OTLP_ENDPOINT",
                        format!("`{url}` is not an http:// URL (a collector beside the service)"),
                    ));
                }
                Some(url)
            }
        };
        let cors_allowed_origins = match take("DECLARE_CORS_ALLOWED_ORIGINS") {
            None => Vec::new(),
            Some(raw) => raw
                .split(',')
                .map(parse_origin)
                .collect::<Result<_, _>>()
                .map_err(|reason| invalid("DECLARE_CORS_ALLOWED_ORIGINS", reason))?,
        };
        let body_limit = parse_or(
            "DECLARE_BODY_LIMIT",
            take("DECLARE_BODY_LIMIT"),
            Some(1024 * 1024),
        )?;
        let sync_body_limit = parse_or(
            "DECLARE_SYNC_BODY_LIMIT",
            take("DECLARE_SYNC_BODY_LIMIT"),
            Some(512 * 1024 * 1024),
        )?;
        let sync_max_leaver_fraction: f64 = parse_or(
            "DECLARE_SYNC_MAX_LEAVER_FRACTION",
            take("DECLARE_SYNC_MAX_LEAVER_FRACTION"),
            Some(0.1),
        )?;
        if !(0.0..=1.0).contains(&sync_max_leaver_fraction) {
            return Err(invalid(
                "DECLARE_SYNC_MAX_LEAVER_FRACTION",
                format!("`{sync_max_leaver_fraction}` is not between 0 and 1"),
            ));
        }
        let retention = Retention {
            period_days: parse_or(
                "DECLARE_RETENTION_PERIOD_DAYS",
                take("DECLARE_RETENTION_PERIOD_DAYS"),
                Some(365),
            )?,
            interval_seconds: parse_or(
                "DECLARE_RETENTION_INTERVAL_SECONDS",
                take("DECLARE_RETENTION_INTERVAL_SECONDS"),
                Some(86_400),
            )?,
        };
        let audit_seal_interval_ms = parse_or(
            "DECLARE_AUDIT_SEAL_INTERVAL_MS",
            take("DECLARE_AUDIT_SEAL_INTERVAL_MS"),
            Some(200),
        )?;
        let token_issuer = take("DECLARE_TOKEN_ISSUER").unwrap_or_else(|| "declare".into());
        let token_audience = take("DECLARE_TOKEN_AUDIENCE").unwrap_or_else(|| "declare-api".into());
        let token_ttl_seconds = parse_or(
            "DECLARE_TOKEN_TTL_SECONDS",
            take("DECLARE_TOKEN_TTL_SECONDS"),
            Some(900),
        )?;
        let token_previous_keys = parse_previous_keys(
            "DECLARE_TOKEN_PREVIOUS_KEYS",
            take("DECLARE_TOKEN_PREVIOUS_KEYS"),
            32..=512,
        )?;
        let encryption_previous_keys = parse_previous_keys(
            "DECLARE_ENCRYPTION_PREVIOUS_KEYS",
            take("DECLARE_ENCRYPTION_PREVIOUS_KEYS"),
            32..=32,
        )?;
        let signing_id = take("DECLARE_TOKEN_SIGNING_KEY_ID").unwrap_or_else(|| "t1".into());
        let encryption_id = take("DECLARE_ENCRYPTION_KEY_ID").unwrap_or_else(|| "k1".into());
        let login_throttle = LoginLimits {
            per_account: parse_or(
                "DECLARE_LOGIN_MAX_FAILURES_PER_ACCOUNT",
                take("DECLARE_LOGIN_MAX_FAILURES_PER_ACCOUNT"),
                Some(5),
            )?,
            per_address: parse_or(
                "DECLARE_LOGIN_MAX_FAILURES_PER_ADDRESS",
                take("DECLARE_LOGIN_MAX_FAILURES_PER_ADDRESS"),
                Some(20),
            )?,
            window_seconds: parse_or(
                "DECLARE_LOGIN_WINDOW_SECONDS",
                take("DECLARE_LOGIN_WINDOW_SECONDS"),
                Some(900),
            )?,
        };
        let min_cell: u64 = parse_or(
            "DECLARE_DISCLOSURE_MIN_CELL",
            take("DECLARE_DISCLOSURE_MIN_CELL"),
            Some(5),
        )?;
        if min_cell < 2 {
            return Err(invalid(
                "DECLARE_DISCLOSURE_MIN_CELL",
                "must be at least 2".into(),
            ));
        }
        let round_to: Option<u64> = match take("DECLARE_DISCLOSURE_ROUND_TO") {
            None => None,
            Some(raw) => Some(parse_or("DECLARE_DISCLOSURE_ROUND_TO", Some(raw), None)?),
        };
        let defaults = crate::domain::disclosure::DisclosureConfig::default();
        let min_group: u64 = parse_or(
            "DECLARE_DISCLOSURE_MIN_GROUP",
            take("DECLARE_DISCLOSURE_MIN_GROUP"),
            Some(defaults.min_group),
        )?;
        if min_group < min_cell {
            return Err(invalid(
                "DECLARE_DISCLOSURE_MIN_GROUP",
                format!("must be at least DECLARE_DISCLOSURE_MIN_CELL ({min_cell})"),
            ));
        }
        let noise_sd: f64 = parse_or(
            "DECLARE_DISCLOSURE_NOISE_SD",
            take("DECLARE_DISCLOSURE_NOISE_SD"),
            Some(defaults.noise_sd()),
        )?;
        if !(0.0..=50.0).contains(&noise_sd) {
            return Err(invalid(
                "DECLARE_DISCLOSURE_NOISE_SD",
                format!("`{noise_sd}` is not between 0 and 50"),
            ));
        }
        if environment == Environment::Production && noise_sd < 1.0 {
            return Err(invalid(
                "DECLARE_DISCLOSURE_NOISE_SD",
                "must be at least 1 in production: smaller noise does not hide one person's change"
                    .into(),
            ));
        }
        let refresh_seconds: u64 = parse_or(
            "DECLARE_FIGURES_REFRESH_SECONDS",
            take("DECLARE_FIGURES_REFRESH_SECONDS"),
            Some(defaults.refresh_seconds),
        )?;
        let disclosure = crate::domain::disclosure::DisclosureConfig {
            min_cell,
            min_group,
            noise_sd_centi: (noise_sd * 100.0).round() as u32,
            round_to: round_to.filter(|r| *r > 1),
            refresh_seconds,
            ..defaults
        };
        let publication_dates = match take("DECLARE_SNAPSHOT_PUBLICATION_DATES") {
            None => vec![(3, 31), (9, 30)],
            Some(raw) => crate::domain::schedule::parse_publication_dates(&raw)
                .map_err(|e| invalid("DECLARE_SNAPSHOT_PUBLICATION_DATES", e.to_string()))?,
        };
        let monthly_day = match take("DECLARE_SNAPSHOT_MONTHLY_DAY") {
            None => Some(1),
            Some(raw) if raw.trim().eq_ignore_ascii_case("none") => None,
            Some(raw) => {
                let day: u32 = parse_or("DECLARE_SNAPSHOT_MONTHLY_DAY", Some(raw), None)?;
                if !(1..=31).contains(&day) {
                    return Err(invalid(
                        "DECLARE_SNAPSHOT_MONTHLY_DAY",
                        format!("`{day}` is not a day of the month"),
                    ));
                }
                Some(day)
            }
        };
        let snapshot_schedule = crate::domain::schedule::Schedule {
            publication_dates,
            monthly_day,
        };
        let snapshot_check_seconds: u64 = parse_or(
            "DECLARE_SNAPSHOT_CHECK_SECONDS",
            take("DECLARE_SNAPSHOT_CHECK_SECONDS"),
            Some(3600),
        )?;
        let snapshot_check_seconds = (snapshot_check_seconds > 0).then_some(snapshot_check_seconds);
        let figure_cache_cells = parse_or(
            "DECLARE_FIGURE_CACHE_CELLS",
            take("DECLARE_FIGURE_CACHE_CELLS"),
            Some(250_000),
        )?;
        let external_idp = match take("DECLARE_IDP_ISSUER") {
            None => None,
            Some(issuer) => Some(ExternalIdp {
                issuer,
                audience: take("DECLARE_IDP_AUDIENCE").unwrap_or_else(|| "declare-api".into()),
                algorithms: take("DECLARE_IDP_ALGORITHMS")
                    .unwrap_or_else(|| "RS256".into())
                    .split(',')
                    .map(|a| a.trim().to_owned())
                    .collect(),
                subject_claim: take("DECLARE_IDP_SUBJECT_CLAIM").unwrap_or_else(|| "sub".into()),
                keys: idp_key_source(
                    take("DECLARE_IDP_JWKS_FILE"),
                    take("DECLARE_IDP_JWKS_URL"),
                    take("DECLARE_IDP_DISCOVERY_URL"),
                )?,
                key_refresh: KeyRefresh {
                    interval_seconds: parse_or(
                        "DECLARE_IDP_KEYS_REFRESH_SECONDS",
                        take("DECLARE_IDP_KEYS_REFRESH_SECONDS"),
                        Some(KeyRefresh::default().interval_seconds),
                    )
                    .and_then(|s| at_least_one("DECLARE_IDP_KEYS_REFRESH_SECONDS", s))?,
                    cooldown_seconds: parse_or(
                        "DECLARE_IDP_KEYS_COOLDOWN_SECONDS",
                        take("DECLARE_IDP_KEYS_COOLDOWN_SECONDS"),
                        Some(KeyRefresh::default().cooldown_seconds),
                    )
                    .and_then(|s| at_least_one("DECLARE_IDP_KEYS_COOLDOWN_SECONDS", s))?,
                },
                organisation: take("DECLARE_IDP_ORGANISATION").ok_or_else(|| {
                    invalid(
                        "DECLARE_IDP_ORGANISATION",
                        "is required with DECLARE_IDP_ISSUER".into(),
                    )
                })?,
            }),
        };
        let idp_client = match take("DECLARE_IDP_CLIENT_ID") {
            None => None,
            Some(client_id) => {
                let Some(idp) = &external_idp else {
                    return Err(invalid(
                        "DECLARE_IDP_CLIENT_ID",
                        "needs DECLARE_IDP_ISSUER and DECLARE_IDP_DISCOVERY_URL".into(),
                    ));
                };
                if !matches!(idp.keys, IdpKeySource::Discovery(_)) {
                    return Err(invalid(
                        "DECLARE_IDP_CLIENT_ID",
                        "needs DECLARE_IDP_DISCOVERY_URL (it names the sign-in endpoints)".into(),
                    ));
                }
                if client_id.trim() != idp.audience {
                    return Err(invalid(
                        "DECLARE_IDP_CLIENT_ID",
                        "must equal DECLARE_IDP_AUDIENCE: the ID token's `aud` is the client id"
                            .into(),
                    ));
                }
                // `DECLARE_IDP_CLIENT_SECRET_FILE` has become this by now, like every secret.
                let client_secret = take("DECLARE_IDP_CLIENT_SECRET")
                    .map(|v| SecretString::from(v.trim().to_owned()));
                let redirect_uri = match take("DECLARE_IDP_REDIRECT_URI") {
                    None => None,
                    Some(uri) => Some(
                        crate::fetch_url::check_fetch_url(&uri)
                            .map_err(|e| invalid("DECLARE_IDP_REDIRECT_URI", e))?
                            .to_string(),
                    ),
                };
                Some(IdpClient {
                    client_id: client_id.trim().to_owned(),
                    client_secret,
                    redirect_uri,
                })
            }
        };
        let signing = take("DECLARE_TOKEN_SIGNING_KEY");
        let encryption = take("DECLARE_ENCRYPTION_KEY");

        let mut generated = GeneratedSecrets::default();
        if environment == Environment::Development && (signing.is_none() || encryption.is_none()) {
            generated = GeneratedSecrets::load_or_create(&data_dir)?;
        }
        let token_signing_key = secret(
            "DECLARE_TOKEN_SIGNING_KEY",
            signing_id,
            signing.or(generated.token_signing_key),
            environment,
            32..=512,
        )?;
        let encryption_key = secret(
            "DECLARE_ENCRYPTION_KEY",
            encryption_id,
            encryption.or(generated.encryption_key),
            environment,
            32..=32,
        )?;

        Ok(Config {
            environment,
            listen,
            data_dir,
            database_url,
            key_store_url,
            pool_size,
            workers,
            log_format,
            log_level,
            otlp_endpoint,
            cors_allowed_origins,
            body_limit,
            sync_body_limit,
            sync_max_leaver_fraction,
            retention,
            audit_seal_interval_ms,
            token_signing_key,
            token_previous_keys,
            token_issuer,
            token_audience,
            token_ttl_seconds,
            encryption_key,
            encryption_previous_keys,
            login_throttle,
            disclosure,
            snapshot_schedule,
            snapshot_check_seconds,
            figure_cache_cells,
            external_idp,
            idp_client,
            argon2_cost: OWASP_ARGON2,
        })
    }

    /// A development config on the given database with fresh random secrets and port 0:
    /// what tests and benchmarks start from.
    pub fn for_tests(database_url: String, data_dir: PathBuf) -> Self {
        Config {
            environment: Environment::Development,
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            data_dir,
            database_url,
            key_store_url: None,
            pool_size: 4,
            workers: 2,
            log_format: LogFormat::Pretty,
            log_level: "warn".into(),
            otlp_endpoint: None,
            cors_allowed_origins: Vec::new(),
            body_limit: 64 * 1024,
            sync_body_limit: 64 * 1024 * 1024,
            sync_max_leaver_fraction: 0.1,
            // Off unless a test turns it on: a background erasure would race what tests check.
            retention: Retention {
                period_days: 365,
                interval_seconds: 0,
            },
            // Off unless a test turns it on, so tests prove that readers seal before reading.
            audit_seal_interval_ms: 0,
            token_signing_key: KeyedSecret {
                id: "t1".into(),
                secret: random_secret(32),
            },
            token_previous_keys: Vec::new(),
            token_issuer: "declare".into(),
            token_audience: "declare-api".into(),
            token_ttl_seconds: 900,
            encryption_key: KeyedSecret {
                id: "k1".into(),
                secret: random_secret(32),
            },
            encryption_previous_keys: Vec::new(),
            login_throttle: LoginLimits {
                per_account: 5,
                per_address: 20,
                window_seconds: 900,
            },
            // Exact figures that follow every write, so tests can assert what the tallies hold;
            // the tests of protection itself set the production defaults.
            disclosure: crate::domain::disclosure::DisclosureConfig {
                noise_sd_centi: 0,
                min_group: 5,
                refresh_seconds: 0,
                ..Default::default()
            },
            snapshot_schedule: Default::default(),
            // Tests that want the scheduled task turn it on; the others must not race it.
            snapshot_check_seconds: None,
            figure_cache_cells: 250_000,
            external_idp: None,
            idp_client: None,
            // Cheap hashing keeps the suite fast; production uses OWASP_ARGON2.
            argon2_cost: (1024, 1, 1),
        }
    }
}

/// Replaces each `<secret>_FILE` by `<secret>` holding the file's content, less one trailing
/// newline (what `echo` and editors leave; anything else is the secret's own). A secret set
/// both ways is refused rather than one silently winning. An empty `<secret>` counts as unset,
/// as it does everywhere else in the settings.
fn read_secret_files(vars: &mut BTreeMap<String, String>) -> Result<(), ConfigError> {
    for &name in SECRET_VARIABLES {
        let Some(path) = vars.remove(&format!("{name}_FILE")) else {
            continue;
        };
        if vars.get(name).is_some_and(|v| !v.trim().is_empty()) {
            return Err(ConfigError::BothSet(name));
        }
        let text = std::fs::read_to_string(&path).map_err(|e| ConfigError::SecretFile {
            name,
            path: path.clone(),
            reason: e.to_string(),
        })?;
        let value = text
            .strip_suffix("\r\n")
            .or_else(|| text.strip_suffix('\n'))
            .unwrap_or(&text);
        vars.insert(name.to_owned(), value.to_owned());
    }
    Ok(())
}

/// OWASP's recommended argon2id parameters: 19 MiB, 2 iterations, 1 lane.
pub const OWASP_ARGON2: (u32, u32, u32) = (19_456, 2, 1);

/// The test suite and benchmarks read their own `DECLARE_TEST_*` / `DECLARE_BENCH_*` settings;
/// a CLI they start inherits them, and they are not the service's to refuse.
fn is_harness_variable(name: &str) -> bool {
    name.starts_with("DECLARE_TEST_") || name.starts_with("DECLARE_BENCH_")
}

fn invalid(name: &'static str, reason: String) -> ConfigError {
    ConfigError::Invalid { name, reason }
}

fn parse_or<T: std::str::FromStr>(
    name: &'static str,
    raw: Option<String>,
    default: Option<T>,
) -> Result<T, ConfigError>
where
    T::Err: std::fmt::Display,
{
    match raw {
        Some(raw) => raw
            .trim()
            .parse()
            .map_err(|e| invalid(name, format!("`{raw}`: {e}"))),
        None => default.ok_or_else(|| invalid(name, "is required".into())),
    }
}

/// Exactly one of the three key sources, its URL checked (https, or http to loopback).
fn idp_key_source(
    file: Option<String>,
    jwks_url: Option<String>,
    discovery_url: Option<String>,
) -> Result<IdpKeySource, ConfigError> {
    match (file, jwks_url, discovery_url) {
        (Some(file), None, None) => Ok(IdpKeySource::File(PathBuf::from(file))),
        (None, Some(url), None) => crate::fetch_url::check_fetch_url(&url)
            .map(|u| IdpKeySource::JwksUrl(u.to_string()))
            .map_err(|reason| invalid("DECLARE_IDP_JWKS_URL", reason)),
        (None, None, Some(url)) => crate::fetch_url::check_fetch_url(&url)
            .map(|u| IdpKeySource::Discovery(u.to_string()))
            .map_err(|reason| invalid("DECLARE_IDP_DISCOVERY_URL", reason)),
        (None, None, None) => Err(invalid(
            "DECLARE_IDP_DISCOVERY_URL",
            "is required with DECLARE_IDP_ISSUER (or DECLARE_IDP_JWKS_URL, or \
             DECLARE_IDP_JWKS_FILE)"
                .into(),
        )),
        (file, jwks, _) => Err(invalid(
            if file.is_some() {
                "DECLARE_IDP_JWKS_FILE"
            } else if jwks.is_some() {
                "DECLARE_IDP_JWKS_URL"
            } else {
                "DECLARE_IDP_DISCOVERY_URL"
            },
            "set exactly one of DECLARE_IDP_DISCOVERY_URL, DECLARE_IDP_JWKS_URL and \
             DECLARE_IDP_JWKS_FILE"
                .into(),
        )),
    }
}

/// A period of 0 would mean fetching without pause.
fn at_least_one(name: &'static str, seconds: u64) -> Result<u64, ConfigError> {
    if seconds == 0 {
        return Err(invalid(name, "must be at least 1".into()));
    }
    Ok(seconds)
}

/// One allowed origin exactly as a browser sends it in `Origin`: `http` or `https`, a host and
/// an optional port, nothing after. Browsers send scheme and host in lower case, so it is kept
/// that way; a wildcard is refused, since the API's answers are personal data.
fn parse_origin(raw: &str) -> Result<String, String> {
    let origin = raw.trim().to_ascii_lowercase();
    if origin == "*" {
        return Err("`*` is not allowed: list the exact origins of the front ends".into());
    }
    let host = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"))
        .ok_or_else(|| format!("`{origin}` is not an http:// or https:// origin"))?;
    let plain = !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'));
    if !plain {
        return Err(format!(
            "`{origin}` is not an origin: scheme://host[:port], no path, no trailing slash"
        ));
    }
    Ok(origin)
}

fn secret(
    name: &'static str,
    id: String,
    value: Option<String>,
    environment: Environment,
    allowed_len: std::ops::RangeInclusive<usize>,
) -> Result<KeyedSecret, ConfigError> {
    let value = match value {
        Some(value) => value,
        None if environment == Environment::Production => {
            return Err(ConfigError::MissingSecret(name))
        }
        None => return Err(invalid(name, "no value and none could be generated".into())),
    };
    let decoded = B64
        .decode(value.trim())
        .map_err(|_| invalid(name, "is not valid base64".into()))?;
    if !allowed_len.contains(&decoded.len()) {
        return Err(invalid(
            name,
            format!(
                "decodes to {} bytes; expected {}..={}",
                decoded.len(),
                allowed_len.start(),
                allowed_len.end()
            ),
        ));
    }
    Ok(KeyedSecret {
        id,
        secret: SecretString::from(value.trim().to_owned()),
    })
}

fn parse_previous_keys(
    name: &'static str,
    raw: Option<String>,
    allowed_len: std::ops::RangeInclusive<usize>,
) -> Result<Vec<KeyedSecret>, ConfigError> {
    let Some(raw) = raw else {
        return Ok(Vec::new());
    };
    raw.split(',')
        .map(|entry| {
            let (id, value) = entry
                .split_once(':')
                .ok_or_else(|| invalid(name, "entries are `id:base64`".into()))?;
            secret(
                name,
                id.trim().into(),
                Some(value.into()),
                Environment::Development,
                allowed_len.clone(),
            )
        })
        .collect()
}

/// A fresh random key, base64-encoded.
pub fn random_secret(bytes: usize) -> SecretString {
    let mut buf = vec![0u8; bytes];
    rand::thread_rng().fill_bytes(&mut buf);
    SecretString::from(B64.encode(buf))
}

/// Secrets generated for the embedded development set-up, kept so restarts can still read
/// what earlier runs encrypted and signed.
#[derive(Default, Serialize, Deserialize)]
struct GeneratedSecrets {
    token_signing_key: Option<String>,
    encryption_key: Option<String>,
}

impl GeneratedSecrets {
    const FILE: &'static str = "secrets.json";

    fn load_or_create(data_dir: &Path) -> Result<Self, ConfigError> {
        let path = data_dir.join(Self::FILE);
        let failed = |reason: String| ConfigError::SecretsFile {
            path: path.display().to_string(),
            reason,
        };
        if path.exists() {
            let text = std::fs::read_to_string(&path).map_err(|e| failed(e.to_string()))?;
            return serde_json::from_str(&text).map_err(|e| failed(e.to_string()));
        }
        std::fs::create_dir_all(data_dir).map_err(|e| failed(e.to_string()))?;
        let fresh = GeneratedSecrets {
            token_signing_key: Some(random_secret(32).expose_secret().to_owned()),
            encryption_key: Some(random_secret(32).expose_secret().to_owned()),
        };
        let text = serde_json::to_string_pretty(&fresh).map_err(|e| failed(e.to_string()))?;
        write_private(&path, &text).map_err(|e| failed(e.to_string()))?;
        Ok(fresh)
    }
}

#[cfg(unix)]
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(text.as_bytes())
}

#[cfg(not(unix))]
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    std::fs::write(path, text)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn development_generates_and_keeps_secrets() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().to_str().unwrap();
        let first = Config::from_vars(vars(&[("DECLARE_DATA_DIR", d)])).unwrap();
        let second = Config::from_vars(vars(&[("DECLARE_DATA_DIR", d)])).unwrap();
        assert_eq!(first.encryption_key.bytes().len(), 32);
        assert_eq!(first.encryption_key.bytes(), second.encryption_key.bytes());
        assert_eq!(
            first.token_signing_key.bytes(),
            second.token_signing_key.bytes()
        );
        assert!(first.database_url.starts_with("sqlite://"));
    }

    #[test]
    fn every_documented_variable_is_accepted_from_the_environment() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().to_str().unwrap();
        let config = Config::from_vars(vars(&[
            ("DECLARE_DATA_DIR", d),
            ("DECLARE_LOGIN_MAX_FAILURES_PER_ACCOUNT", "3"),
            ("DECLARE_LOGIN_WINDOW_SECONDS", "60"),
            ("DECLARE_RETENTION_PERIOD_DAYS", "730"),
            ("DECLARE_RETENTION_INTERVAL_SECONDS", "0"),
            ("DECLARE_IDP_ISSUER", "https://idp.test"),
            ("DECLARE_IDP_JWKS_FILE", "/etc/declare/jwks.json"),
            ("DECLARE_IDP_ORGANISATION", "north-wales"),
            ("DECLARE_IDP_ALGORITHMS", "RS256, EdDSA"),
            ("DECLARE_SNAPSHOT_PUBLICATION_DATES", "03-31"),
            ("DECLARE_SNAPSHOT_MONTHLY_DAY", "none"),
            ("DECLARE_SNAPSHOT_CHECK_SECONDS", "0"),
            (
                "DECLARE_ENCRYPTION_PREVIOUS_KEYS",
                "k0:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
            ),
        ]))
        .unwrap();
        assert_eq!(config.login_throttle.per_account, 3);
        assert_eq!(config.login_throttle.window_seconds, 60);
        assert_eq!(config.retention.period_days, 730);
        assert_eq!(config.retention.interval_seconds, 0);
        let idp = config.external_idp.unwrap();
        assert_eq!(idp.algorithms, vec!["RS256".to_owned(), "EdDSA".to_owned()]);
        assert_eq!(idp.organisation, "north-wales");
        assert_eq!(config.encryption_previous_keys[0].id, "k0");
        assert_eq!(config.snapshot_schedule.publication_dates, [(3, 31)]);
        assert_eq!(config.snapshot_schedule.monthly_day, None);
        assert_eq!(config.snapshot_check_seconds, None);
        // Every name the service documents is one it reads, and vice versa.
        for variable in VARIABLES {
            assert!(
                src_reads(variable.name),
                "{} is documented but never read",
                variable.name
            );
        }
    }

    fn src_reads(name: &str) -> bool {
        include_str!("config.rs")
            .matches(&format!("take(\"{name}\")"))
            .count()
            >= 1
    }

    #[test]
    fn idp_without_its_keys_names_the_missing_variable() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().to_str().unwrap();
        let err = Config::from_vars(vars(&[
            ("DECLARE_DATA_DIR", d),
            ("DECLARE_IDP_ISSUER", "https://idp.test"),
            ("DECLARE_IDP_ORGANISATION", "north-wales"),
        ]))
        .unwrap_err();
        assert!(matches!(
            err,
            ConfigError::Invalid {
                name: "DECLARE_IDP_DISCOVERY_URL",
                ..
            }
        ));
        assert!(err.to_string().contains("DECLARE_IDP_JWKS_FILE"), "{err}");
    }

    fn idp_config(extra: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().to_str().unwrap().to_owned();
        let mut pairs = vec![
            ("DECLARE_DATA_DIR", d.as_str()),
            ("DECLARE_IDP_ISSUER", "https://idp.test"),
            ("DECLARE_IDP_ORGANISATION", "north-wales"),
        ];
        pairs.extend_from_slice(extra);
        Config::from_vars(vars(&pairs))
    }

    #[test]
    fn the_pages_sign_in_client_needs_discovery_and_the_audience_as_its_id() {
        let discovery = "https://idp.test/.well-known/openid-configuration";
        let dir = tempfile::tempdir().unwrap();
        let secret_file = dir.path().join("client-secret");
        std::fs::write(&secret_file, "s3cret\n").unwrap();
        let secret_path = secret_file.to_str().unwrap();
        let config = idp_config(&[
            ("DECLARE_IDP_DISCOVERY_URL", discovery),
            ("DECLARE_IDP_AUDIENCE", "declare-app"),
            ("DECLARE_IDP_CLIENT_ID", "declare-app"),
            ("DECLARE_IDP_CLIENT_SECRET_FILE", secret_path),
            (
                "DECLARE_IDP_REDIRECT_URI",
                "https://declare.test/sign-in/idp/callback",
            ),
        ])
        .unwrap();
        let client = config.idp_client.unwrap();
        assert_eq!(client.client_id, "declare-app");
        assert_eq!(client.client_secret.unwrap().expose_secret(), "s3cret");
        assert_eq!(
            client.redirect_uri.as_deref(),
            Some("https://declare.test/sign-in/idp/callback")
        );
        // Without it, no button.
        assert!(idp_config(&[("DECLARE_IDP_DISCOVERY_URL", discovery)])
            .unwrap()
            .idp_client
            .is_none());
        let refused = |extra: &[(&str, &str)]| match idp_config(extra).unwrap_err() {
            ConfigError::Invalid { name, .. } => name,
            other => panic!("{other}"),
        };
        // The ID token's `aud` is the client id: it must be the audience the API accepts.
        assert_eq!(
            refused(&[
                ("DECLARE_IDP_DISCOVERY_URL", discovery),
                ("DECLARE_IDP_CLIENT_ID", "other")
            ]),
            "DECLARE_IDP_CLIENT_ID"
        );
        // The endpoints come from the discovery document.
        assert_eq!(
            refused(&[
                ("DECLARE_IDP_JWKS_URL", "https://idp.test/keys"),
                ("DECLARE_IDP_AUDIENCE", "a"),
                ("DECLARE_IDP_CLIENT_ID", "a")
            ]),
            "DECLARE_IDP_CLIENT_ID"
        );
        assert_eq!(
            refused(&[
                ("DECLARE_IDP_DISCOVERY_URL", discovery),
                ("DECLARE_IDP_AUDIENCE", "a"),
                ("DECLARE_IDP_CLIENT_ID", "a"),
                (
                    "DECLARE_IDP_REDIRECT_URI",
                    "http://declare.test/sign-in/idp/callback"
                )
            ]),
            "DECLARE_IDP_REDIRECT_URI"
        );
        // Both the secret and its file: refused, as for every secret.
        assert!(idp_config(&[
            ("DECLARE_IDP_DISCOVERY_URL", discovery),
            ("DECLARE_IDP_AUDIENCE", "a"),
            ("DECLARE_IDP_CLIENT_ID", "a"),
            ("DECLARE_IDP_CLIENT_SECRET", "x"),
            ("DECLARE_IDP_CLIENT_SECRET_FILE", secret_path)
        ])
        .is_err());
    }

    #[test]
    fn idp_keys_come_from_exactly_one_source() {
        let discovery = "https://idp.test/.well-known/openid-configuration";
        let idp = idp_config(&[("DECLARE_IDP_DISCOVERY_URL", discovery)])
            .unwrap()
            .external_idp
            .unwrap();
        assert_eq!(idp.keys, IdpKeySource::Discovery(discovery.into()));
        assert_eq!(idp.key_refresh, KeyRefresh::default());
        let idp = idp_config(&[
            ("DECLARE_IDP_JWKS_URL", "http://127.0.0.1:8081/keys"),
            ("DECLARE_IDP_KEYS_REFRESH_SECONDS", "60"),
            ("DECLARE_IDP_KEYS_COOLDOWN_SECONDS", "5"),
        ])
        .unwrap()
        .external_idp
        .unwrap();
        assert_eq!(
            idp.keys,
            IdpKeySource::JwksUrl("http://127.0.0.1:8081/keys".into())
        );
        assert_eq!(
            idp.key_refresh,
            KeyRefresh {
                interval_seconds: 60,
                cooldown_seconds: 5
            }
        );
        let two = idp_config(&[
            ("DECLARE_IDP_JWKS_FILE", "/etc/declare/jwks.json"),
            ("DECLARE_IDP_DISCOVERY_URL", discovery),
        ])
        .unwrap_err();
        assert!(
            matches!(two, ConfigError::Invalid { name: "DECLARE_IDP_JWKS_FILE", ref reason }
                if reason.contains("exactly one")),
            "{two}"
        );
        for (name, bad) in [
            ("DECLARE_IDP_JWKS_URL", "http://idp.test/keys"),
            (
                "DECLARE_IDP_DISCOVERY_URL",
                "http://10.0.0.1/.well-known/openid-configuration",
            ),
            ("DECLARE_IDP_DISCOVERY_URL", "ftp://idp.test/x"),
            ("DECLARE_IDP_JWKS_URL", "not a url"),
            ("DECLARE_IDP_KEYS_COOLDOWN_SECONDS", "0"),
            ("DECLARE_IDP_KEYS_REFRESH_SECONDS", "soon"),
        ] {
            let mut extra = vec![(name, bad)];
            if !name.ends_with("_URL") {
                extra.push(("DECLARE_IDP_JWKS_URL", "https://idp.test/keys"));
            }
            let err = idp_config(&extra).unwrap_err();
            assert!(
                matches!(err, ConfigError::Invalid { name: n, .. } if n == name),
                "{name}={bad}: {err}"
            );
        }
    }

    #[test]
    fn cors_origins_are_exact_origins() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().to_str().unwrap();
        let config = Config::from_vars(vars(&[
            ("DECLARE_DATA_DIR", d),
            (
                "DECLARE_CORS_ALLOWED_ORIGINS",
                "https://HR.example.org, http://localhost:3000",
            ),
        ]))
        .unwrap();
        assert_eq!(
            config.cors_allowed_origins,
            ["https://hr.example.org", "http://localhost:3000"]
        );
        let off = Config::from_vars(vars(&[("DECLARE_DATA_DIR", d)])).unwrap();
        assert!(off.cors_allowed_origins.is_empty());
        for bad in [
            "*",
            "https://hr.example.org/",
            "hr.example.org",
            "https://a.example,",
            "null",
            "https://*.example.org",
        ] {
            let err = Config::from_vars(vars(&[
                ("DECLARE_DATA_DIR", d),
                ("DECLARE_CORS_ALLOWED_ORIGINS", bad),
            ]))
            .unwrap_err();
            assert!(
                matches!(
                    err,
                    ConfigError::Invalid {
                        name: "DECLARE_CORS_ALLOWED_ORIGINS",
                        ..
                    }
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn harness_variables_are_left_to_the_harness() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().to_str().unwrap();
        let config = Config::from_vars(vars(&[
            ("DECLARE_DATA_DIR", d),
            ("DECLARE_TEST_POSTGRES_URL", "postgres://x"),
            ("DECLARE_BENCH_POSTGRES_URL", "postgres://y"),
        ]));
        assert!(config.is_ok());
    }

    #[test]
    fn secrets_are_read_from_files_less_one_trailing_newline() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().to_str().unwrap();
        let key = "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=";
        let signing = "AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI=";
        let write = |name: &str, text: &str| {
            let path = dir.path().join(name);
            std::fs::write(&path, text).unwrap();
            path.to_str().unwrap().to_owned()
        };
        let encryption_file = write("encryption", &format!("{key}\n"));
        let signing_file = write("signing", &format!("{signing}\r\n"));
        let url_file = write("url", "postgres://declare:p%20w@db/declare\n");
        let previous_file = write("previous", &format!("k0:{key}"));
        let config = Config::from_vars(vars(&[
            ("DECLARE_ENV", "production"),
            ("DECLARE_DATA_DIR", d),
            ("DECLARE_ENCRYPTION_KEY_FILE", &encryption_file),
            ("DECLARE_TOKEN_SIGNING_KEY_FILE", &signing_file),
            ("DECLARE_DATABASE_URL_FILE", &url_file),
            ("DECLARE_ENCRYPTION_PREVIOUS_KEYS_FILE", &previous_file),
        ]))
        .unwrap();
        assert_eq!(config.encryption_key.secret.expose_secret(), key);
        assert_eq!(config.token_signing_key.secret.expose_secret(), signing);
        assert_eq!(config.database_url, "postgres://declare:p%20w@db/declare");
        assert_eq!(config.encryption_previous_keys[0].id, "k0");
        // Only one newline is the file's: a second one is part of the value.
        let two = write("two", "postgres://db/x\n\n");
        let config = Config::from_vars(vars(&[
            ("DECLARE_DATA_DIR", d),
            ("DECLARE_DATABASE_URL_FILE", &two),
        ]))
        .unwrap();
        assert_eq!(config.database_url, "postgres://db/x\n");
    }

    #[test]
    fn a_secret_set_both_ways_names_both_and_a_missing_file_names_its_variable() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().to_str().unwrap();
        let key = "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=";
        let file = dir.path().join("key");
        std::fs::write(&file, key).unwrap();
        let err = Config::from_vars(vars(&[
            ("DECLARE_DATA_DIR", d),
            ("DECLARE_ENCRYPTION_KEY", key),
            ("DECLARE_ENCRYPTION_KEY_FILE", file.to_str().unwrap()),
        ]))
        .unwrap_err();
        assert_eq!(err, ConfigError::BothSet("DECLARE_ENCRYPTION_KEY"));
        let message = err.to_string();
        assert!(message.contains("DECLARE_ENCRYPTION_KEY and DECLARE_ENCRYPTION_KEY_FILE"));
        assert!(!message.contains(key));

        let missing = dir.path().join("absent");
        let err = Config::from_vars(vars(&[
            ("DECLARE_DATA_DIR", d),
            ("DECLARE_TOKEN_SIGNING_KEY_FILE", missing.to_str().unwrap()),
        ]))
        .unwrap_err();
        assert!(matches!(
            err,
            ConfigError::SecretFile {
                name: "DECLARE_TOKEN_SIGNING_KEY",
                ..
            }
        ));
        assert!(err
            .to_string()
            .starts_with("DECLARE_TOKEN_SIGNING_KEY_FILE:"));
        // `_FILE` exists only for secrets: any other setting stays an unknown name.
        let err = Config::from_vars(vars(&[
            ("DECLARE_DATA_DIR", d),
            ("DECLARE_LISTEN_FILE", missing.to_str().unwrap()),
        ]))
        .unwrap_err();
        assert_eq!(err, ConfigError::Unknown("DECLARE_LISTEN_FILE".into()));
    }

    #[test]
    fn production_names_the_missing_secret() {
        let err = Config::from_vars(vars(&[("DECLARE_ENV", "production")])).unwrap_err();
        assert_eq!(err, ConfigError::MissingSecret("DECLARE_TOKEN_SIGNING_KEY"));
    }

    #[test]
    fn unknown_declare_variable_is_refused() {
        let err =
            Config::from_vars(vars(&[("DECLARE_LISTN", "x"), ("HOME", "/root")])).unwrap_err();
        assert_eq!(err, ConfigError::Unknown("DECLARE_LISTN".into()));
    }

    #[test]
    fn bad_values_name_the_variable() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().to_str().unwrap();
        let err = Config::from_vars(vars(&[
            ("DECLARE_DATA_DIR", d),
            ("DECLARE_LISTEN", "nowhere"),
        ]))
        .unwrap_err();
        assert!(matches!(
            err,
            ConfigError::Invalid {
                name: "DECLARE_LISTEN",
                ..
            }
        ));
        let err = Config::from_vars(vars(&[
            ("DECLARE_DATA_DIR", d),
            ("DECLARE_ENCRYPTION_KEY", "c2hvcnQ="),
        ]))
        .unwrap_err();
        assert!(matches!(
            err,
            ConfigError::Invalid {
                name: "DECLARE_ENCRYPTION_KEY",
                ..
            }
        ));
    }
}
