//! GOV.UK Frontend's CSS and JS (vendored by `scripts/vendor-govuk` from the pinned npm
//! package) and the pages' own few files, embedded in the binary so `cargo run` alone serves
//! the pages. Their names do not change between releases, so they are cached for a day and
//! revalidated by ETag rather than marked immutable.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};

struct Asset {
    name: &'static str,
    content_type: &'static str,
    bytes: &'static [u8],
}

const ASSETS: &[Asset] = &[
    Asset {
        name: "govuk-frontend.min.css",
        content_type: "text/css; charset=utf-8",
        bytes: include_bytes!("../../assets/govuk/govuk-frontend.min.css"),
    },
    Asset {
        name: "govuk-frontend.min.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("../../assets/govuk/govuk-frontend.min.js"),
    },
    Asset {
        name: "govuk-crest.svg",
        content_type: "image/svg+xml",
        bytes: include_bytes!("../../assets/govuk/govuk-crest.svg"),
    },
    Asset {
        name: "favicon.ico",
        content_type: "image/x-icon",
        bytes: include_bytes!("../../assets/govuk/favicon.ico"),
    },
    Asset {
        name: "declare.css",
        content_type: "text/css; charset=utf-8",
        bytes: include_bytes!("../../assets/declare.css"),
    },
    Asset {
        name: "declare.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("../../assets/declare.js"),
    },
];

/// The strong ETag of an asset: its SHA-256, truncated (computed once per asset per process).
fn etag(asset: &Asset) -> String {
    use sha2::Digest as _;
    let digest = sha2::Sha256::digest(asset.bytes);
    format!("\"{}\"", hex::encode(&digest[..12]))
}

/// `GET /assets/{file}` (and `/assets/images/{file}`, where GOV.UK Frontend's CSS looks).
pub async fn serve(req: HttpRequest, file: web::Path<String>) -> HttpResponse {
    let Some(asset) = ASSETS.iter().find(|a| a.name == file.as_str()) else {
        return HttpResponse::NotFound()
            .content_type("text/plain; charset=utf-8")
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .body("not found");
    };
    let tag = etag(asset);
    let cached = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == tag));
    let mut response = if cached {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    response
        .insert_header((header::ETAG, tag))
        .insert_header((header::CACHE_CONTROL, "public, max-age=86400"))
        .insert_header((header::CONTENT_TYPE, asset.content_type));
    if cached {
        response.finish()
    } else {
        response.body(asset.bytes)
    }
}
