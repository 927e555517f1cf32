//! Schema-only types: how `openapi.yaml` describes the published cells, whose serialization
//! (`domain::disclosure::{PublishedCell, Published, PublishedRate}`) is hand-written there.
//! A client generator needs a real schema for `cells`, not `object`: openapi-python-client
//! crashed reading a count of `"suppressed"` into a declared object.

use std::borrow::Cow;

use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Schema, Type};
use utoipa::openapi::RefOr;
use utoipa::{PartialSchema, ToSchema};

/// One published cell of a row.
#[derive(ToSchema)]
#[schema(as = PublishedCell, example = json!({"column": "declared", "count": 130, "percent": 86.7}))]
#[allow(dead_code)] // never built: it only describes `domain::disclosure::PublishedCell`
pub struct PublishedCellSchema {
    /// The column this cell belongs to (one of the response's `columns`).
    column: String,
    count: PublishedCount,
    percent: PublishedPercent,
}

/// A published (perturbed, perhaps rounded) count: a non-negative integer, or the string
/// `"suppressed"` (never shown as zero).
pub struct PublishedCount;

impl PartialSchema for PublishedCount {
    fn schema() -> RefOr<Schema> {
        OneOfBuilder::new()
            .item(
                ObjectBuilder::new()
                    .schema_type(Type::Integer)
                    .minimum(Some(0)),
            )
            .item(
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .enum_values(Some(["suppressed"])),
            )
            .description(Some(
                "A published count (non-negative integer), or \"suppressed\"",
            ))
            .into()
    }
}

impl ToSchema for PublishedCount {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("PublishedCount")
    }
}

/// A percentage of the row's headcount from the published count: a number, `"suppressed"`
/// when the count is, or `null` when the headcount is zero.
pub struct PublishedPercent;

impl PartialSchema for PublishedPercent {
    fn schema() -> RefOr<Schema> {
        OneOfBuilder::new()
            .item(ObjectBuilder::new().schema_type(Type::Number))
            .item(
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .enum_values(Some(["suppressed"])),
            )
            .item(ObjectBuilder::new().schema_type(Type::Null))
            .description(Some(
                "Percent of the headcount (number), \"suppressed\", or null when the headcount is zero",
            ))
            .into()
    }
}

impl ToSchema for PublishedPercent {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("PublishedPercent")
    }
}
