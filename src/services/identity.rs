//! Organisations, local accounts, API clients, and the two OAuth grants that log them in.

use std::time::Instant;

use chrono::Utc;
use secrecy::{ExposeSecret as _, SecretString};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::{Authenticator, Credential, PhcString, Principal, PrincipalKind, Role};
use crate::error::{AppError, AppResult, FieldError};
use crate::store::accounts::{self, Account, ApiClient};
use crate::store::organisations::{self, Organisation};
use crate::store::{owners, Conn, Database};

use super::audit::Actor;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OrganisationView {
    pub id: Uuid,
    pub code: String,
    pub name: String,
}

impl From<Organisation> for OrganisationView {
    fn from(org: Organisation) -> Self {
        OrganisationView {
            id: Uuid::parse_str(&org.id).unwrap_or_default(),
            code: org.code,
            name: org.name,
        }
    }
}

/// A code is what HR systems and the CLI name an organisation by: short, stable, plain.
fn check_code(field: &str, code: &str, problems: &mut Vec<FieldError>) {
    let ok = (2..=40).contains(&code.len())
        && code
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
    if !ok {
        problems.push(FieldError::new(
            field,
            "invalid_code",
            "2 to 40 characters of a-z, 0-9, '-' and '_'",
        ));
    }
}

fn parse_roles(roles: &[String], problems: &mut Vec<FieldError>) -> Vec<Role> {
    if roles.is_empty() {
        problems.push(FieldError::new(
            "roles",
            "required",
            "at least one role is required",
        ));
    }
    let mut parsed = Vec::new();
    for (i, role) in roles.iter().enumerate() {
        match role.parse::<Role>() {
            Ok(role) if !parsed.contains(&role) => parsed.push(role),
            Ok(_) => problems.push(FieldError::new(
                format!("roles[{i}]"),
                "duplicate",
                "role listed twice",
            )),
            Err(_) => problems.push(FieldError::new(
                format!("roles[{i}]"),
                "unknown_role",
                format!("`{role}` is not a role"),
            )),
        }
    }
    parsed
}

fn join_roles(roles: &[Role]) -> String {
    roles
        .iter()
        .map(|r| r.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

fn split_roles(stored: &str) -> Vec<Role> {
    stored.split(',').filter_map(|r| r.parse().ok()).collect()
}

/// Creates an organisation from the command line (`declare admin create-org`).
pub async fn create_organisation(
    db: &Database,
    code: String,
    name: String,
) -> AppResult<OrganisationView> {
    create_organisation_by(db, Actor::cli(), code, name).await
}

/// Creates an organisation, recording `actor` in the audit trail in the same transaction.
pub async fn create_organisation_by(
    db: &Database,
    actor: Actor,
    code: String,
    name: String,
) -> AppResult<OrganisationView> {
    let mut problems = Vec::new();
    check_code("code", &code, &mut problems);
    if name.trim().is_empty() || name.len() > 200 {
        problems.push(FieldError::new(
            "name",
            "invalid_length",
            "1 to 200 characters",
        ));
    }
    if !problems.is_empty() {
        return Err(AppError::Validation(problems));
    }
    let org = Organisation {
        id: Uuid::new_v4().to_string(),
        code,
        name,
        created_at: Utc::now().naive_utc(),
    };
    let stored = org.clone();
    let org_id = Uuid::parse_str(&org.id).map_err(AppError::internal)?;
    // Every organisation starts from the national catalogue: installed in the same
    // transaction, so no organisation is ever without a published catalogue.
    let catalogue = crate::services::catalogue::initial_version(org_id)?;
    let event = actor.in_organisation(org_id).event(
        "organisation.create",
        Some(format!("organisation:{org_id}")),
    );
    db.run(move |conn| {
        conn.transaction(|conn| {
            organisations::insert(conn, &stored)?;
            crate::store::catalogue::insert(conn, &catalogue)?;
            super::audit::append(conn, event)
        })
    })
    .await
    .map_err(|e| {
        if e.is_unique_violation() {
            AppError::Conflict("an organisation with this code already exists".into())
        } else {
            e.into()
        }
    })?;
    Ok(org.into())
}

pub async fn list_organisations(db: &Database) -> AppResult<Vec<OrganisationView>> {
    Ok(db
        .run(organisations::list)
        .await?
        .into_iter()
        .map(Into::into)
        .collect())
}

pub async fn find_organisation(db: &Database, id: Uuid) -> AppResult<OrganisationView> {
    db.run(move |conn| organisations::find(conn, &id.to_string()))
        .await
        .map(Into::into)
        .map_err(|e| {
            if e.is_not_found() {
                AppError::NotFound("no such organisation".into())
            } else {
                e.into()
            }
        })
}

pub async fn find_organisation_by_code(db: &Database, code: String) -> AppResult<OrganisationView> {
    db.run(move |conn| organisations::find_by_code(conn, &code))
        .await
        .map(Into::into)
        .map_err(|e| {
            if e.is_not_found() {
                AppError::NotFound("no organisation with this code".into())
            } else {
                e.into()
            }
        })
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAccount {
    pub username: String,
    /// At least 12 characters. Stored only as an argon2id hash.
    #[schema(value_type = String, format = Password)]
    pub password: SecretString,
    pub roles: Vec<String>,
    /// The employee record a staff account declares for.
    pub employee_id: Option<Uuid>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AccountView {
    pub id: Uuid,
    pub username: String,
    pub organisation_id: Option<Uuid>,
    pub roles: Vec<Role>,
}

/// Creates a local account from the command line (`declare admin create-account`).
pub async fn create_account(
    db: &Database,
    auth: &std::sync::Arc<Authenticator>,
    organisation_id: Option<Uuid>,
    new: NewAccount,
) -> AppResult<AccountView> {
    let actor = match organisation_id {
        Some(org) => Actor::cli_for(org),
        None => Actor::cli(),
    };
    create_account_by(db, auth, actor, organisation_id, new).await
}

/// Why an account cannot be linked to the employee record it names. The record must be in the
/// account's organisation and have no other login (decision 0017).
fn link_refusal(conn: &mut Conn, org: &str, employee: &str) -> AppResult<()> {
    let record = match crate::store::workforce::find_employee(conn, org, employee) {
        Ok(record) => record,
        Err(e) if e.is_not_found() => {
            return Err(AppError::Validation(vec![FieldError::new(
                "employee_id",
                "not_in_organisation",
                "no employee record with this id in this organisation; an account is linked only \
                 to a record of its own organisation",
            )]))
        }
        Err(e) => return Err(e.into()),
    };
    if record.external_subject.is_some() {
        return Err(AppError::Conflict(
            "employee_id: this employee record signs in through the identity provider; a record \
             takes one login, so no local account is linked to it"
                .into(),
        ));
    }
    if owners::account_for_employee(conn, employee)?.is_some() {
        return Err(AppError::Conflict(
            "employee_id: this employee record already has an account; a record takes one login"
                .into(),
        ));
    }
    Ok(())
}

/// Creates a local account; `organisation_id: None` makes a deployment-wide account, which may
/// only hold `admin` or `national_viewer`. The account, and any link to an employee record,
/// is recorded in the audit trail (as `actor`) in the same transaction.
pub async fn create_account_by(
    db: &Database,
    auth: &std::sync::Arc<Authenticator>,
    actor: Actor,
    organisation_id: Option<Uuid>,
    new: NewAccount,
) -> AppResult<AccountView> {
    let mut problems = Vec::new();
    let username = new.username.trim().to_lowercase();
    if !(3..=64).contains(&username.len())
        || username
            .chars()
            .any(|c| c.is_whitespace() || c.is_control())
    {
        problems.push(FieldError::new(
            "username",
            "invalid_username",
            "3 to 64 characters, no spaces",
        ));
    }
    let password_len = new.password.expose_secret().chars().count();
    if !(12..=256).contains(&password_len) {
        problems.push(FieldError::new(
            "password",
            "weak_password",
            "12 to 256 characters",
        ));
    }
    let roles = parse_roles(&new.roles, &mut problems);
    if organisation_id.is_none() && roles.iter().any(|r| !r.may_be_unscoped()) {
        problems.push(FieldError::new(
            "roles",
            "needs_organisation",
            "an account outside any organisation may only be admin or national_viewer",
        ));
    }
    if organisation_id.is_some() && roles.contains(&Role::NationalViewer) {
        problems.push(FieldError::new(
            "roles",
            "national_role",
            "national_viewer is held outside organisations",
        ));
    }
    if new.employee_id.is_some() && organisation_id.is_none() {
        problems.push(FieldError::new(
            "employee_id",
            "needs_organisation",
            "an account outside any organisation is linked to no employee record",
        ));
    }
    if new.employee_id.is_some() && !roles.contains(&Role::Employee) {
        problems.push(FieldError::new(
            "employee_id",
            "not_an_employee_account",
            "only an account with the employee role is linked to an employee record",
        ));
    }
    if !problems.is_empty() {
        return Err(AppError::Validation(problems));
    }
    let password = new.password;
    let hash = auth
        .hash_work(move |hasher| hasher.hash_password(&password))
        .await
        .map_err(AppError::internal)?
        .map_err(AppError::internal)?;
    let account = Account {
        id: Uuid::new_v4().to_string(),
        organisation_id: organisation_id.map(|id| id.to_string()),
        username: username.clone(),
        password_hash: hash.into_string(),
        roles: join_roles(&roles),
        employee_id: new.employee_id.map(|id| id.to_string()),
        disabled: false,
        created_at: Utc::now().naive_utc(),
    };
    let id = account.id.clone();
    let actor = match organisation_id {
        Some(org) => actor.in_organisation(org),
        None => actor,
    };
    let role_names: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
    let created = actor
        .event("account.create", Some(format!("account:{id}")))
        .with_detail(serde_json::json!({
            "roles": role_names,
            "linked_employee": account.employee_id.is_some(),
        }));
    db.run(move |conn| {
        Ok(conn.transaction(|conn| -> AppResult<()> {
            if let Some(org) = &account.organisation_id {
                organisations::find(conn, org).map_err(|e| {
                    if e.is_not_found() {
                        AppError::NotFound("no such organisation".into())
                    } else {
                        e.into()
                    }
                })?;
                if let Some(employee) = &account.employee_id {
                    link_refusal(conn, org, employee)?;
                }
            }
            accounts::insert_account(conn, &account).map_err(|e| {
                if e.is_unique_violation() {
                    AppError::Conflict(
                        "an account with this username, or for this employee record, already exists"
                            .into(),
                    )
                } else {
                    AppError::from(e)
                }
            })?;
            super::audit::append(conn, created)?;
            if let Some(employee) = &account.employee_id {
                // The link itself, on the employee's trail: any answers already on the record
                // stay with the sign-in that gave them (decision 0017).
                let held = owners::has_answers(conn, employee)?;
                super::audit::append(
                    conn,
                    actor
                        .event("identity.link", Some(format!("employee:{employee}")))
                        .with_detail(serde_json::json!({
                            "via": "account",
                            "login": format!("account:{}", account.id),
                            "answers_held": held,
                        })),
                )?;
            }
            Ok(())
        }))
    })
    .await??;
    Ok(AccountView {
        id: Uuid::parse_str(&id).unwrap_or_default(),
        username,
        organisation_id,
        roles,
    })
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewClient {
    /// What the client is, e.g. "SAP SuccessFactors nightly sync".
    pub name: String,
    pub roles: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ClientCredentials {
    pub client_id: String,
    /// Shown once, now. Only its argon2id hash is kept.
    pub client_secret: String,
    pub organisation_id: Uuid,
    pub roles: Vec<Role>,
}

/// Creates an API client from the command line (`declare admin create-client`).
pub async fn create_client(
    db: &Database,
    auth: &std::sync::Arc<Authenticator>,
    organisation_id: Uuid,
    new: NewClient,
) -> AppResult<ClientCredentials> {
    create_client_by(
        db,
        auth,
        Actor::cli_for(organisation_id),
        organisation_id,
        new,
    )
    .await
}

/// Creates an API client, recording `actor` in the audit trail in the same transaction.
pub async fn create_client_by(
    db: &Database,
    auth: &std::sync::Arc<Authenticator>,
    actor: Actor,
    organisation_id: Uuid,
    new: NewClient,
) -> AppResult<ClientCredentials> {
    let mut problems = Vec::new();
    if new.name.trim().is_empty() || new.name.len() > 200 {
        problems.push(FieldError::new(
            "name",
            "invalid_length",
            "1 to 200 characters",
        ));
    }
    let roles = parse_roles(&new.roles, &mut problems);
    if roles
        .iter()
        .any(|r| matches!(r, Role::Employee | Role::NationalViewer | Role::Admin))
    {
        problems.push(FieldError::new(
            "roles",
            "not_for_clients",
            "clients act for systems, not people: employee, admin and national_viewer are refused",
        ));
    }
    if !problems.is_empty() {
        return Err(AppError::Validation(problems));
    }
    let (secret, hash) = auth
        .hash_work(|hasher| hasher.generate_client_secret())
        .await
        .map_err(AppError::internal)?
        .map_err(AppError::internal)?;
    let client = ApiClient {
        id: Uuid::new_v4().to_string(),
        organisation_id: organisation_id.to_string(),
        client_id: format!("dc_{}", Uuid::new_v4().simple()),
        name: new.name,
        secret_hash: hash.into_string(),
        roles: join_roles(&roles),
        disabled: false,
        created_at: Utc::now().naive_utc(),
    };
    let client_id = client.client_id.clone();
    let role_names: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
    let event = actor
        .in_organisation(organisation_id)
        .event("client.create", Some(format!("client:{client_id}")))
        .with_detail(serde_json::json!({ "roles": role_names }));
    db.run(move |conn| {
        conn.transaction(|conn| {
            organisations::find(conn, &client.organisation_id)?;
            accounts::insert_client(conn, &client)?;
            super::audit::append(conn, event)
        })
    })
    .await
    .map_err(|e| {
        if e.is_not_found() {
            AppError::NotFound("no such organisation".into())
        } else {
            e.into()
        }
    })?;
    Ok(ClientCredentials {
        client_id,
        client_secret: secret.expose_secret().to_owned(),
        organisation_id,
        roles,
    })
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TokenResponse {
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Seconds until the token expires.
    pub expires_in: u64,
}

fn oauth(status: u16, error: &'static str, description: &str) -> AppError {
    AppError::OAuth {
        status,
        error,
        description: description.to_owned(),
        retry_after: None,
    }
}

fn throttled(retry: crate::auth::RetryAfter) -> AppError {
    AppError::OAuth {
        status: 429,
        // RFC 6749 names no error for throttling; `temporarily_unavailable` is the registered
        // code for "try again later" (section 4.1.2.1), and Retry-After says when.
        error: "temporarily_unavailable",
        description: "too many failed attempts; try again later".into(),
        retry_after: Some(retry.secs_ceil()),
    }
}

/// Runs `work` on the throttle from the blocking pool: on PostgreSQL its state is in the
/// database (decision 0022), and database work never runs on an async worker.
async fn throttle<T: Send + 'static>(
    auth: &std::sync::Arc<Authenticator>,
    work: impl FnOnce(&crate::auth::LoginThrottle) -> T + Send + 'static,
) -> AppResult<T> {
    let auth = auth.clone();
    crate::metrics::block(move || work(&auth.throttle))
        .await
        .map_err(AppError::internal)
}

fn parse_uuid(value: &str) -> Option<Uuid> {
    Uuid::parse_str(value).ok()
}

/// RFC 6749 section 4.3. The same answer for an unknown account and a wrong password, and the
/// same work (argon2 against a dummy hash) so timing does not tell them apart either.
pub async fn password_grant(
    db: &Database,
    auth: &std::sync::Arc<Authenticator>,
    username: String,
    password: SecretString,
    address: String,
) -> AppResult<TokenResponse> {
    let username = username.trim().to_lowercase();
    throttle(auth, {
        let (username, address) = (username.clone(), address.clone());
        move |t| t.check(&username, &address, Credential::Password, Instant::now())
    })
    .await?
    .map_err(throttled)?;
    let lookup = username.clone();
    let account = db
        .run(move |conn| accounts::find_account_by_username(conn, &lookup))
        .await?;
    let stored = account
        .as_ref()
        .filter(|a| !a.disabled)
        .map(|a| a.password_hash.clone());
    let verified = auth
        .hash_work(move |hasher| {
            let phc = stored.and_then(|s| PhcString::parse(s).ok());
            hasher.verify_password(&password, phc.as_ref())
        })
        .await
        .map_err(AppError::internal)?;
    let account = match (verified, account) {
        (true, Some(account)) => account,
        _ => {
            throttle(auth, move |t| {
                t.record_failure(&username, &address, Credential::Password, Instant::now())
            })
            .await?;
            return Err(oauth(
                400,
                "invalid_grant",
                "the username or password is not correct",
            ));
        }
    };
    throttle(auth, move |t| {
        t.record_success(&username, &address, Instant::now())
    })
    .await?;
    let principal = Principal {
        subject: account.id.clone(),
        org_id: account.organisation_id.as_deref().and_then(parse_uuid),
        roles: split_roles(&account.roles),
        employee_id: account.employee_id.as_deref().and_then(parse_uuid),
        kind: PrincipalKind::User,
    };
    let token = issue(auth, &principal)?;
    super::audit::record(
        db,
        super::audit::Actor::of(&principal, None).event("auth.login", None),
    )
    .await?;
    Ok(token)
}

/// RFC 6749 section 4.4, for HR systems and other machine clients.
pub async fn client_credentials_grant(
    db: &Database,
    auth: &std::sync::Arc<Authenticator>,
    client_id: String,
    client_secret: SecretString,
    address: String,
) -> AppResult<TokenResponse> {
    throttle(auth, {
        let (client_id, address) = (client_id.clone(), address.clone());
        move |t| {
            t.check(
                &client_id,
                &address,
                Credential::ClientSecret,
                Instant::now(),
            )
        }
    })
    .await?
    .map_err(throttled)?;
    let lookup = client_id.clone();
    let client = db
        .run(move |conn| accounts::find_client(conn, &lookup))
        .await?;
    let stored = client
        .as_ref()
        .filter(|c| !c.disabled)
        .map(|c| c.secret_hash.clone());
    let verified = auth
        .hash_work(move |hasher| {
            let phc = stored.and_then(|s| PhcString::parse(s).ok());
            hasher.verify_client_secret(&client_secret, phc.as_ref())
        })
        .await
        .map_err(AppError::internal)?;
    let client = match (verified, client) {
        (true, Some(client)) => client,
        _ => {
            throttle(auth, move |t| {
                t.record_failure(
                    &client_id,
                    &address,
                    Credential::ClientSecret,
                    Instant::now(),
                )
            })
            .await?;
            return Err(oauth(401, "invalid_client", "client authentication failed"));
        }
    };
    throttle(auth, {
        let client_id = client_id.clone();
        move |t| t.record_success(&client_id, &address, Instant::now())
    })
    .await?;
    let principal = Principal {
        subject: client.client_id.clone(),
        org_id: parse_uuid(&client.organisation_id),
        roles: split_roles(&client.roles),
        employee_id: None,
        kind: PrincipalKind::Client,
    };
    let token = issue(auth, &principal)?;
    super::audit::record(
        db,
        super::audit::Actor::of(&principal, None).event("auth.token", None),
    )
    .await?;
    Ok(token)
}

fn issue(auth: &Authenticator, principal: &Principal) -> AppResult<TokenResponse> {
    let (access_token, expires_in) = auth.tokens.issue(principal, auth.token_ttl)?;
    Ok(TokenResponse {
        access_token,
        token_type: "Bearer",
        expires_in,
    })
}

/// Whether answers on the caller's employee record are held for another sign-in, for the
/// notice on `GET /v1/me` (decision 0017). Reads no answer.
pub async fn held_notice(
    db: &Database,
    principal: Principal,
) -> AppResult<Option<super::subject::HeldAnswers>> {
    if !principal.roles.contains(&Role::Employee) {
        return Ok(None);
    }
    db.run(move |conn| Ok(super::subject::notice_for(conn, &principal)))
        .await?
}
