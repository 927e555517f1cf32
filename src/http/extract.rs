//! Request-body extraction that names the offending field.
//!
//! actix's own `web::Json` reports a type error as one line of text; boards and HR front ends
//! need to know which field was wrong, so bodies are read here with `serde_path_to_error`.
//! A body over the limit is refused from its `Content-Length` before it is read, and again
//! while streaming, so a client cannot make the service buffer more than the limit.

use std::collections::HashMap;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{web, FromRequest, HttpMessage as _, HttpRequest};
use futures_util::future::LocalBoxFuture;
use futures_util::StreamExt as _;
use serde::de::DeserializeOwned;

use crate::domain::text::nul_problem;
use crate::error::{AppError, FieldError};
use crate::http::strict::{Strict, NUL_CODE, NUL_MESSAGE};
use crate::http::AppState;

/// A JSON body of type `T`: media type and size are checked as it is read, but it is parsed
/// only when the handler calls [`JsonBody::parse`], after authorising. So a caller who may not
/// use an endpoint gets 403, never a 422 that describes the endpoint's body.
///
/// `MIN_LIMIT` raises the configured body limit for an endpoint whose documents are
/// legitimately larger (a whole question catalogue), without raising it everywhere.
pub struct JsonBody<T, const MIN_LIMIT: usize = 0> {
    bytes: web::Bytes,
    shape: std::marker::PhantomData<T>,
}

/// A body holding a whole catalogue document: the national one alone is about 64 KiB.
pub type LargeJsonBody<T> = JsonBody<T, { 2 * 1024 * 1024 }>;

impl<T: DeserializeOwned, const MIN_LIMIT: usize> JsonBody<T, MIN_LIMIT> {
    pub fn parse(self) -> Result<T, AppError> {
        parse_json(&self.bytes)
    }
}

const FALLBACK_LIMIT: usize = 64 * 1024;

impl<T: DeserializeOwned + 'static, const MIN_LIMIT: usize> FromRequest for JsonBody<T, MIN_LIMIT> {
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let limit = req
            .app_data::<web::Data<AppState>>()
            .map_or(FALLBACK_LIMIT, |state| state.config.body_limit)
            .max(MIN_LIMIT);
        let media_type_ok = is_json(req);
        let declared = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        let mut payload = payload.take();
        Box::pin(async move {
            if !media_type_ok {
                return Err(AppError::UnsupportedMediaType(
                    "the request body must be application/json".into(),
                ));
            }
            if declared.is_some_and(|len| len > limit) {
                return Err(AppError::PayloadTooLarge { limit });
            }
            let mut body = web::BytesMut::new();
            while let Some(chunk) = payload.next().await {
                let chunk = chunk
                    .map_err(|e| AppError::bad_request("body", "unreadable_body", e.to_string()))?;
                if body.len() + chunk.len() > limit {
                    return Err(AppError::PayloadTooLarge { limit });
                }
                body.extend_from_slice(&chunk);
            }
            Ok(JsonBody {
                bytes: body.freeze(),
                shape: std::marker::PhantomData,
            })
        })
    }
}

fn is_json(req: &HttpRequest) -> bool {
    match req.mime_type() {
        Ok(Some(mime)) => mime.subtype() == mime::JSON || mime.suffix() == Some(mime::JSON),
        _ => false,
    }
}

/// Parses JSON, reporting syntax errors as 400 and shape errors (wrong type, missing or unknown
/// field, a NUL character, an array where an object belongs) as 422 naming the field's path.
/// Nothing may follow the document: `{...} xyz` is malformed, not `{...}`.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, AppError> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(Strict(&mut deserializer)).map_err(|err| {
        let path = err.path().to_string();
        let field = if path == "." { "body".to_owned() } else { path };
        let inner = err.into_inner();
        match inner.classify() {
            serde_json::error::Category::Syntax
            | serde_json::error::Category::Eof
            | serde_json::error::Category::Io => malformed(&inner),
            serde_json::error::Category::Data => {
                let message = strip_position(&inner.to_string());
                let code = if message == NUL_MESSAGE {
                    NUL_CODE
                } else {
                    "invalid_value"
                };
                AppError::Validation(vec![FieldError::new(field, code, message)])
            }
        }
    })?;
    deserializer.end().map_err(|err| malformed(&err))?;
    Ok(value)
}

fn malformed(err: &serde_json::Error) -> AppError {
    AppError::bad_request(
        "body",
        "malformed_json",
        format!("the body is not valid JSON: {err}"),
    )
}

/// Parses an `application/x-www-form-urlencoded` body into its fields (a repeated name: the
/// last one wins). A NUL in a name or value is refused naming the field, as in JSON bodies.
pub fn parse_form(bytes: &[u8]) -> Result<HashMap<String, String>, AppError> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(bytes).map_err(|_| {
        AppError::bad_request("body", "malformed_form", "the form could not be parsed")
    })?;
    let mut form = HashMap::with_capacity(pairs.len());
    for (name, value) in pairs {
        refuse_nul(&name, &name)?;
        refuse_nul(&name, &value)?;
        form.insert(name, value);
    }
    Ok(form)
}

/// 400 naming `field` if `text` holds a NUL; for text read outside the JSON and form parsers
/// (credentials from a header).
pub fn refuse_nul(field: &str, text: &str) -> Result<(), AppError> {
    match nul_problem(&field.replace('\0', ""), text) {
        Some(problem) => Err(AppError::BadRequest {
            detail: problem.message.clone(),
            errors: vec![problem],
        }),
        None => Ok(()),
    }
}

/// serde_json appends " at line L column C"; the field path already says where.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(idx) => message[..idx].to_owned(),
        None => message.to_owned(),
    }
}

/// Flattens `validator` errors into field errors with dotted paths.
pub fn validation_errors(errors: &validator::ValidationErrors) -> Vec<FieldError> {
    let mut out = Vec::new();
    flatten("", errors, &mut out);
    out
}

fn flatten(prefix: &str, errors: &validator::ValidationErrors, out: &mut Vec<FieldError>) {
    use validator::ValidationErrorsKind as Kind;
    for (field, kind) in errors.errors() {
        let path = if prefix.is_empty() {
            field.to_string()
        } else {
            format!("{prefix}.{field}")
        };
        match kind {
            Kind::Field(list) => out.extend(list.iter().map(|e| {
                let message = e.message.as_ref().map_or_else(
                    || format!("failed the `{}` check", e.code),
                    |m| m.to_string(),
                );
                FieldError::new(path.clone(), e.code.to_string(), message)
            })),
            Kind::Struct(inner) => flatten(&path, inner, out),
            Kind::List(items) => {
                for (index, inner) in items {
                    flatten(&format!("{path}[{index}]"), inner, out);
                }
            }
        }
    }
}

impl From<validator::ValidationErrors> for AppError {
    fn from(errors: validator::ValidationErrors) -> Self {
        AppError::Validation(validation_errors(&errors))
    }
}

/// Query parameters of type `T`, read so that a problem names the parameter: a missing
/// `characteristic`, `limit=abc` or `by=sideways` is a 400 whose `errors` entry has
/// `field: "characteristic"`, `"limit"` or `"by"`. actix's `web::Query` reports only
/// serde's sentence (`Query deserialize error: invalid digit found in string`), which names
/// nothing a client can act on.
pub struct Query<T>(pub T);

impl<T> Query<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> std::ops::Deref for Query<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: DeserializeOwned> FromRequest for Query<T> {
    type Error = AppError;
    type Future = std::future::Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(parse_query(req.query_string()).map(Query))
    }
}

/// Parses a query string into `T`, naming the parameter on any problem (400, `invalid_query`
/// for a value of the wrong type, `required` for a missing one, `unknown_parameter` for one
/// the operation does not take).
pub fn parse_query<T: DeserializeOwned>(query: &str) -> Result<T, AppError> {
    let deserializer =
        serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
    serde_path_to_error::deserialize(deserializer).map_err(|err| {
        let path = err.path().to_string();
        let message = err.into_inner().to_string();
        // serde names a missing or unknown field only in its message, between backticks.
        let named = || {
            message
                .split('`')
                .nth(1)
                .map(str::to_owned)
                .unwrap_or_else(|| "query".to_owned())
        };
        let (field, code) = if message.starts_with("missing field") {
            (named(), "required")
        } else if message.starts_with("unknown field") {
            (named(), "unknown_parameter")
        } else if path == "." {
            ("query".to_owned(), "invalid_query")
        } else {
            (path, "invalid_query")
        };
        let detail = format!("query parameter `{field}`: {message}");
        AppError::bad_request(field, code, detail)
    })
}

/// The error handlers for actix's own query and path extractors.
pub fn query_error(err: actix_web::error::QueryPayloadError, _: &HttpRequest) -> actix_web::Error {
    AppError::bad_request("query", "invalid_query", err.to_string()).into()
}

pub fn path_error(err: actix_web::error::PathError, _: &HttpRequest) -> actix_web::Error {
    AppError::bad_request("path", "invalid_path", err.to_string()).into()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Person {
        name: String,
        team: Team,
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Team {
        size: u32,
    }

    fn fields(err: AppError) -> Vec<(String, String)> {
        match err {
            AppError::Validation(list) | AppError::BadRequest { errors: list, .. } => {
                list.into_iter().map(|e| (e.field, e.code)).collect()
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn wrong_type_names_the_nested_field() {
        let err = parse_json::<Person>(br#"{"name":"a","team":{"size":"big"}}"#).unwrap_err();
        assert_eq!(
            fields(err),
            vec![("team.size".to_owned(), "invalid_value".to_owned())]
        );
    }

    #[test]
    fn malformed_json_is_a_bad_request_on_the_body() {
        let err = parse_json::<Person>(br#"{"name":"#).unwrap_err();
        assert!(matches!(err, AppError::BadRequest { .. }));
        assert_eq!(
            fields(err),
            vec![("body".to_owned(), "malformed_json".to_owned())]
        );
    }

    #[test]
    fn nothing_may_follow_the_document() {
        for body in [
            &br#"{"name":"a","team":{"size":1}} xyz"#[..],
            br#"{"name":"a","team":{"size":1}}}"#,
        ] {
            let err = parse_json::<Person>(body).unwrap_err();
            assert_eq!(
                fields(err),
                vec![("body".to_owned(), "malformed_json".to_owned())]
            );
        }
        assert!(parse_json::<Person>(b"{\"name\":\"a\",\"team\":{\"size\":1}}\r\n ").is_ok());
    }

    #[test]
    fn an_array_for_the_body_or_a_nul_is_a_validation_error() {
        let err = parse_json::<Person>(br#"["x",{"size":1}]"#).unwrap_err();
        assert_eq!(
            fields(err),
            vec![("body".to_owned(), "invalid_value".to_owned())]
        );
        let err = parse_json::<Person>(br#"{"name":"a\u0000","team":{"size":1}}"#).unwrap_err();
        assert_eq!(
            fields(err),
            vec![("name".to_owned(), "nul_character".to_owned())]
        );
    }

    #[test]
    fn unknown_field_is_refused() {
        let err =
            parse_json::<Person>(br#"{"name":"a","team":{"size":1},"ethnicity":"x"}"#).unwrap_err();
        assert!(matches!(err, AppError::Validation(_)));
    }
}
