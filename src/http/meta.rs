//! The API root: what this service is and where its description lives.

use actix_web::{get, web};
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Serialize, ToSchema)]
pub struct ApiRoot {
    pub service: &'static str,
    pub version: &'static str,
    /// Where the OpenAPI description of this API is served.
    pub openapi: &'static str,
}

/// Describes the API and links to its OpenAPI document.
#[utoipa::path(tag = "meta", operation_id = "get_api_root", responses((status = 200, body = ApiRoot)))]
#[get("")]
pub async fn get_api_root() -> web::Json<ApiRoot> {
    web::Json(ApiRoot {
        service: "declare",
        version: env!("CARGO_PKG_VERSION"),
        openapi: "/openapi.json",
    })
}
