//! The discovery documents (RFC 7644 §4): what this service provider supports, described
//! exactly, so a connector never tries what would fail. The User schema lists the calling
//! organisation's own org-unit, staff-type and rank codes as `canonicalValues`, which is
//! why discovery needs the same token as the Users endpoint.

use actix_web::http::StatusCode;
use actix_web::{get, web, HttpRequest, HttpResponse};
use serde_json::{json, Value};

use crate::domain::scim::{ScimError, ENTERPRISE, MAX_RESULTS, USER, WORKFORCE};
use crate::http::scim::{base_url, scim_response, ScimCaller};
use crate::http::AppState;
use crate::services::scim;

const SPC: &str = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig";
const RESOURCE_TYPE: &str = "urn:ietf:params:scim:schemas:core:2.0:ResourceType";
const SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Schema";

fn attr(name: &str, kind: &str, required: bool, mutability: &str, description: &str) -> Value {
    json!({
        "name": name, "type": kind, "multiValued": false, "description": description,
        "required": required, "caseExact": true, "mutability": mutability,
        "returned": "default", "uniqueness": "none",
    })
}

fn with(mut attribute: Value, key: &str, value: Value) -> Value {
    attribute[key] = value;
    attribute
}

fn meta(base: &str, kind: &str, id: &str) -> Value {
    json!({"resourceType": kind, "location": format!("{base}/{kind}s/{id}")})
}

fn schemas(base: &str, structure: &scim::Structure) -> Vec<Value> {
    let (units, types, ranks) = structure.codes();
    vec![
        json!({
            "schemas": [SCHEMA], "id": USER, "name": "User",
            "description": "An employee of the caller's organisation",
            "attributes": [
                with(attr("userName", "string", true, "readWrite", "The employee number (the HR key)"),
                    "uniqueness", json!("server")),
                attr("active", "boolean", false, "readWrite", "False once the person has left (a leave date is set)"),
            ],
            "meta": meta(base, "Schema", USER),
        }),
        json!({
            "schemas": [SCHEMA], "id": ENTERPRISE, "name": "EnterpriseUser",
            "description": "Enterprise User (RFC 7643 §4.3)",
            "attributes": [
                attr("employeeNumber", "string", false, "readOnly", "Always the userName"),
                attr("organization", "string", false, "readOnly", "The organisation's name"),
                attr("division", "string", false, "readOnly", "Code of the department's parent org unit"),
                with(attr("department", "string", true, "readWrite", "Code of the person's org unit; it must exist"),
                    "canonicalValues", json!(units)),
            ],
            "meta": meta(base, "Schema", ENTERPRISE),
        }),
        json!({
            "schemas": [SCHEMA], "id": WORKFORCE, "name": "WorkforceUser",
            "description": "Declare's workforce facts; never a protected characteristic",
            "attributes": [
                with(attr("staffType", "string", true, "readWrite", "Code of the person's staff type"),
                    "canonicalValues", json!(types)),
                with(attr("rank", "string", false, "readWrite", "Code of the person's rank or grade"),
                    "canonicalValues", json!(ranks)),
                attr("fte", "decimal", false, "readWrite", "Full-time equivalent, above 0 and at most 1 (default 1)"),
                attr("startDate", "dateTime", false, "readWrite", "Start date: a dateTime (only its date is kept; returned as midnight UTC) or YYYY-MM-DD (default: the day provisioned)"),
            ],
            "meta": meta(base, "Schema", WORKFORCE),
        }),
    ]
}

fn user_resource_type(base: &str) -> Value {
    json!({
        "schemas": [RESOURCE_TYPE], "id": "User", "name": "User", "endpoint": "/Users",
        "description": "Employees of the caller's organisation", "schema": USER,
        "schemaExtensions": [
            {"schema": ENTERPRISE, "required": true},
            {"schema": WORKFORCE, "required": true},
        ],
        "meta": meta(base, "ResourceType", "User"),
    })
}

fn list(items: Vec<Value>) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
        "totalResults": items.len(), "startIndex": 1, "itemsPerPage": items.len(),
        "Resources": items,
    })
}

/// What this service provider supports.
#[utoipa::path(tag = "scim", operation_id = "scim_service_provider_config", security(("bearer" = [])),
    responses((status = 200, description = "ServiceProviderConfig", content_type = "application/scim+json"),
        (status = 401), (status = 403)))]
#[get("/ServiceProviderConfig")]
pub async fn service_provider_config(
    _caller: ScimCaller,
    req: HttpRequest,
) -> Result<HttpResponse, ScimError> {
    let base = base_url(&req);
    Ok(scim_response(
        StatusCode::OK,
        &json!({
            "schemas": [SPC],
            "patch": {"supported": true},
            "bulk": {"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
            "filter": {"supported": true, "maxResults": MAX_RESULTS},
            "changePassword": {"supported": false},
            "sort": {"supported": false},
            "etag": {"supported": true},
            "authenticationSchemes": [{
                "type": "oauthbearertoken", "name": "OAuth Bearer Token", "primary": true,
                "description": "A bearer token from /oauth/token (client_credentials for HR systems)",
            }],
            "meta": {"resourceType": "ServiceProviderConfig", "location": format!("{base}/ServiceProviderConfig")},
        }),
    ))
}

/// The schemas: core User, the enterprise extension and Declare's workforce extension.
#[utoipa::path(tag = "scim", operation_id = "scim_list_schemas", security(("bearer" = [])),
    responses((status = 200, description = "ListResponse of Schema", content_type = "application/scim+json"),
        (status = 401), (status = 403)))]
#[get("/Schemas")]
pub async fn list_schemas(
    caller: ScimCaller,
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ScimError> {
    let structure = scim::structure(&state.db, caller.org).await?;
    Ok(scim_response(
        StatusCode::OK,
        &list(schemas(&base_url(&req), &structure)),
    ))
}

#[utoipa::path(tag = "scim", operation_id = "scim_get_schema", security(("bearer" = [])),
    params(("id" = String, Path, description = "The schema URN")),
    responses((status = 200, description = "Schema", content_type = "application/scim+json"),
        (status = 401), (status = 403), (status = 404)))]
#[get("/Schemas/{id}")]
pub async fn get_schema(
    caller: ScimCaller,
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, ScimError> {
    let structure = scim::structure(&state.db, caller.org).await?;
    schemas(&base_url(&req), &structure)
        .into_iter()
        .find(|s| s["id"] == json!(path.as_str()))
        .map(|s| scim_response(StatusCode::OK, &s))
        .ok_or_else(|| ScimError::new(404, None, "no such schema"))
}

#[utoipa::path(tag = "scim", operation_id = "scim_list_resource_types", security(("bearer" = [])),
    responses((status = 200, description = "ListResponse of ResourceType", content_type = "application/scim+json"),
        (status = 401), (status = 403)))]
#[get("/ResourceTypes")]
pub async fn list_resource_types(
    _caller: ScimCaller,
    req: HttpRequest,
) -> Result<HttpResponse, ScimError> {
    Ok(scim_response(
        StatusCode::OK,
        &list(vec![user_resource_type(&base_url(&req))]),
    ))
}

#[utoipa::path(tag = "scim", operation_id = "scim_get_resource_type", security(("bearer" = [])),
    params(("id" = String, Path, description = "`User`")),
    responses((status = 200, description = "ResourceType", content_type = "application/scim+json"),
        (status = 401), (status = 403), (status = 404)))]
#[get("/ResourceTypes/{id}")]
pub async fn get_resource_type(
    _caller: ScimCaller,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, ScimError> {
    if path.as_str() == "User" {
        Ok(scim_response(
            StatusCode::OK,
            &user_resource_type(&base_url(&req)),
        ))
    } else {
        Err(ScimError::new(404, None, "no such resource type"))
    }
}
