//! Completes the generated OpenAPI document with what every operation shares, so each
//! handler's annotation lists only what is particular to it and no error goes undocumented:
//!
//! - every 4xx and 5xx response carries its body's schema: RFC 9457 `Problem` as
//!   `application/problem+json`, or under `/scim/v2` the RFC 7644 `ScimError` as
//!   `application/scim+json`;
//! - every operation may answer 400 (a NUL or malformed value in the path or query is refused
//!   before routing) and 500; a secured one 401; one that reads a body 413 and 415.
//!
//! Integrators generate clients from this document (schemathesis counted 25 operations with
//! undocumented status codes), so a status the service can send must be listed here.

use std::borrow::Cow;

use utoipa::openapi::path::Operation;
use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Schema, Type};
use utoipa::openapi::{Content, OpenApi, Ref, RefOr, Response};
use utoipa::{PartialSchema, ToSchema};

use crate::error::PROBLEM_JSON;
use crate::http::scim::error::SCIM_JSON;

/// The RFC 7644 §3.12 error body every failure under `/scim/v2` carries (schema only: the body
/// is built by `domain::scim::ScimError::body`).
pub struct ScimErrorBody;

impl PartialSchema for ScimErrorBody {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .description(Some("A SCIM error (RFC 7644 section 3.12)"))
            .property(
                "schemas",
                ArrayBuilder::new().items(
                    ObjectBuilder::new()
                        .schema_type(Type::String)
                        .enum_values(Some(["urn:ietf:params:scim:api:messages:2.0:Error"])),
                ),
            )
            .required("schemas")
            .property(
                "status",
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .description(Some("The HTTP status, as a string (e.g. \"400\")")),
            )
            .required("status")
            .property(
                "scimType",
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .description(Some(
                        "e.g. invalidFilter, invalidValue, uniqueness, invalidSyntax",
                    )),
            )
            .property("detail", ObjectBuilder::new().schema_type(Type::String))
            .into()
    }
}

impl ToSchema for ScimErrorBody {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("ScimError")
    }
}

/// The catalogue schemas that hold `Localised` text, directly or beneath.
const LOCALISED_HOLDERS: [&str; 6] = [
    "Catalogue",
    "Characteristic",
    "Question",
    "AnswerOption",
    "DetailList",
    "CatalogueVersionView",
];

/// The catalogue reads that take `?lang` (or `Accept-Language`), by path.
const LANGUAGE_READS: [&str; 3] = [
    "/v1/catalogue/national",
    "/v1/catalogue",
    "/v1/catalogue/versions/{version_id}",
];

/// Applies the shared responses and error schemas to every operation of `doc`, and describes
/// the catalogue's single-language form.
pub fn complete(doc: &mut OpenApi) {
    let components = doc.components.get_or_insert_with(Default::default);
    components
        .schemas
        .insert(ScimErrorBody::name().into_owned(), ScimErrorBody::schema());
    single_language_form(doc);
    add_examples(doc);
    at_least_one_purpose(doc);
    for (path, item) in doc.paths.paths.iter_mut() {
        let scim = path.starts_with("/scim/");
        for operation in [
            &mut item.get,
            &mut item.post,
            &mut item.put,
            &mut item.patch,
            &mut item.delete,
        ]
        .into_iter()
        .flatten()
        {
            complete_operation(operation, scim);
        }
    }
}

/// `PUT /v1/me/consents` with no purpose named changes nothing and is refused (422 naming
/// `purposes`), so the document says so. Set here because utoipa 5.5's `min_properties`
/// attribute writes `maxProperties` instead.
fn at_least_one_purpose(doc: &mut OpenApi) {
    let Some(components) = doc.components.as_mut() else {
        return;
    };
    if let Some(RefOr::T(Schema::Object(purposes))) = components.schemas.get_mut("ConsentPurposes")
    {
        purposes.min_properties = Some(1);
    }
}

/// With `?lang=en|cy` every `Localised` `{en, cy}` object of a catalogue is sent as the plain
/// string in that language. So each schema holding one gets an `...InLanguage` twin with
/// strings in their place, and the 200 of each catalogue read is one of the two shapes:
/// a client generated from the document then reads either.
fn single_language_form(doc: &mut OpenApi) {
    let Some(components) = doc.components.as_mut() else {
        return;
    };
    for name in LOCALISED_HOLDERS {
        let Some(schema) = components.schemas.get(name) else {
            continue;
        };
        let Ok(mut value) = serde_json::to_value(schema) else {
            continue;
        };
        to_single_language(&mut value);
        if let Ok(twin) = serde_json::from_value::<RefOr<Schema>>(value) {
            components.schemas.insert(format!("{name}InLanguage"), twin);
        }
    }
    for path in LANGUAGE_READS {
        let Some(operation) = doc.paths.paths.get_mut(path).and_then(|p| p.get.as_mut()) else {
            continue;
        };
        let Some(RefOr::T(ok)) = operation.responses.responses.get_mut("200") else {
            continue;
        };
        let Some(content) = ok.content.get_mut("application/json") else {
            continue;
        };
        let Some(RefOr::Ref(reference)) = &content.schema else {
            continue;
        };
        let bilingual = reference.ref_location.clone();
        let one_of = utoipa::openapi::schema::OneOfBuilder::new()
            .item(Ref::new(bilingual.clone()))
            .item(Ref::new(format!("{bilingual}InLanguage")))
            .description(Some(
                "Bilingual (`{en, cy}` objects) by default; with `?lang=en|cy` (or \
                 `Accept-Language` preferring Welsh) every such object is the plain string in \
                 that language (`Content-Language` says which)",
            ));
        content.schema = Some(one_of.into());
    }
}

/// Puts `http::examples` into the document: on component schemas that have no example of
/// their own, and on bodies (CSV, NDJSON, SCIM) that have no schema to carry one.
fn add_examples(doc: &mut OpenApi) {
    if let Some(components) = doc.components.as_mut() {
        for (name, example) in crate::http::examples::schema_examples() {
            let Some(schema) = components.schemas.get_mut(name) else {
                continue;
            };
            let Ok(mut value) = serde_json::to_value(&*schema) else {
                continue;
            };
            let Some(object) = value.as_object_mut() else {
                continue;
            };
            if object.contains_key("example") || object.contains_key("examples") {
                continue;
            }
            object.insert("example".into(), example);
            if let Ok(with_example) = serde_json::from_value::<RefOr<Schema>>(value) {
                *schema = with_example;
            }
        }
    }
    for (path, method, media_type, request, example) in crate::http::examples::media_examples() {
        let Some(item) = doc.paths.paths.get_mut(path) else {
            continue;
        };
        let operation = match method {
            "get" => item.get.as_mut(),
            "post" => item.post.as_mut(),
            "put" => item.put.as_mut(),
            "patch" => item.patch.as_mut(),
            _ => None,
        };
        let Some(operation) = operation else {
            continue;
        };
        let content = if request {
            operation
                .request_body
                .as_mut()
                .and_then(|body| body.content.get_mut(media_type))
        } else {
            operation
                .responses
                .responses
                .iter_mut()
                .filter(|(status, _)| status.starts_with('2'))
                .find_map(|(_, response)| match response {
                    RefOr::T(response) => response.content.get_mut(media_type),
                    RefOr::Ref(_) => None,
                })
        };
        if let Some(content) = content {
            content.example = Some(example);
        }
    }
}

/// Rewrites one schema (as JSON) into its single-language twin.
fn to_single_language(value: &mut serde_json::Value) {
    use serde_json::Value;
    match value {
        Value::Object(map) => {
            if let Some(Value::String(reference)) = map.get("$ref") {
                let name = reference.trim_start_matches("#/components/schemas/");
                if name == "Localised" {
                    map.clear();
                    map.insert("type".into(), Value::String("string".into()));
                    return;
                }
                if LOCALISED_HOLDERS.contains(&name) {
                    let twin = format!("{reference}InLanguage");
                    map.insert("$ref".into(), Value::String(twin));
                    return;
                }
            }
            map.values_mut().for_each(to_single_language);
        }
        Value::Array(items) => items.iter_mut().for_each(to_single_language),
        _ => {}
    }
}

fn complete_operation(operation: &mut Operation, scim: bool) {
    let secured = operation
        .security
        .as_ref()
        .is_some_and(|requirements| !requirements.is_empty());
    let reads_body = operation.request_body.is_some();
    let shared: [(&str, bool, &str); 5] = [
        (
            "400",
            true,
            "Malformed request: a parameter, header or body that cannot be read; `errors` names each",
        ),
        (
            "401",
            secured,
            "No valid bearer token (`WWW-Authenticate` says why)",
        ),
        (
            "413",
            reads_body,
            "The body is larger than the limit",
        ),
        (
            "415",
            reads_body,
            "The body is not of a media type this operation reads",
        ),
        (
            "500",
            true,
            "An unexpected error; it is logged with the request id and its cause is never sent",
        ),
    ];
    let responses = &mut operation.responses.responses;
    for (status, applies, description) in shared {
        if applies && !responses.contains_key(status) {
            responses.insert(
                status.to_owned(),
                RefOr::T(Response::new(description.to_owned())),
            );
        }
    }
    let (media_type, schema) = if scim {
        (SCIM_JSON, "ScimError")
    } else {
        (PROBLEM_JSON, "Problem")
    };
    for (status, response) in responses.iter_mut() {
        let RefOr::T(response) = response else {
            continue;
        };
        if !(status.starts_with('4') || status.starts_with('5')) {
            continue;
        }
        if response.description.is_empty() {
            response.description = reason(status).to_owned();
        }
        // A response documented with its own content (none today) keeps it.
        if response.content.values().all(|c| c.schema.is_none()) {
            response.content.clear();
            response.content.insert(
                media_type.to_owned(),
                Content::new(Some(Ref::from_schema_name(schema))),
            );
        }
    }
}

/// RFC 9110 reason phrases for the statuses the service documents.
fn reason(status: &str) -> &'static str {
    status
        .parse::<u16>()
        .ok()
        .and_then(|code| actix_web::http::StatusCode::from_u16(code).ok())
        .and_then(|code| code.canonical_reason())
        .unwrap_or("Error")
}
