//! Catalogue versions: one row per version of an organisation's question catalogue, the
//! document stored as JSON text. Published rows are immutable: every update here is filtered
//! on `status = 'draft'`, and an update that finds only a published row fails with
//! [`StoreError::Immutable`] rather than silently doing nothing.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::catalogue_versions as cv;
use super::{Conn, StoreError, StoreResult};

pub const DRAFT: &str = "draft";
pub const PUBLISHED: &str = "published";

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = cv)]
pub struct CatalogueVersion {
    pub id: String,
    pub organisation_id: String,
    pub version_number: i64,
    pub label: String,
    pub status: String,
    pub document: String,
    pub etag: String,
    pub created_at: NaiveDateTime,
    pub published_at: Option<NaiveDateTime>,
}

pub fn insert(conn: &mut Conn, version: &CatalogueVersion) -> StoreResult<()> {
    crate::with_conn!(conn, |c| diesel::insert_into(cv::table)
        .values(version)
        .execute(c))?;
    Ok(())
}

/// The organisation's current version: its published version with the highest number.
pub fn current_published(conn: &mut Conn, org: &str) -> StoreResult<Option<CatalogueVersion>> {
    Ok(crate::with_conn!(conn, |c| cv::table
        .filter(cv::organisation_id.eq(org))
        .filter(cv::status.eq(PUBLISHED))
        .order(cv::version_number.desc())
        .select(CatalogueVersion::as_select())
        .first(c)
        .optional())?)
}

/// The id of the organisation's current version, without its document (callers that cache
/// parsed documents by id need only this).
pub fn current_published_id(conn: &mut Conn, org: &str) -> StoreResult<Option<String>> {
    // Every declaration read and write asks this, so it is written as "not a draft" (the
    // same rows: `status` is CHECKed to be one of the two). `status = ?` would be compared
    // with the partial index `catalogue_versions_one_draft` (`WHERE status = 'draft'`) by
    // SQLite's planner, which then marks the cached statement expired on every bind and
    // re-prepares it on every call (a tenth of a write's CPU, by `perf`).
    Ok(crate::with_conn!(conn, |c| cv::table
        .filter(cv::organisation_id.eq(org))
        .filter(cv::status.ne(DRAFT))
        .order(cv::version_number.desc())
        .select(cv::id)
        .first(c)
        .optional())?)
}

/// Published versions, newest first.
pub fn list_published(conn: &mut Conn, org: &str) -> StoreResult<Vec<CatalogueVersion>> {
    Ok(crate::with_conn!(conn, |c| cv::table
        .filter(cv::organisation_id.eq(org))
        .filter(cv::status.eq(PUBLISHED))
        .order(cv::version_number.desc())
        .select(CatalogueVersion::as_select())
        .load(c))?)
}

/// One published version of the organisation, by id.
pub fn find_published(conn: &mut Conn, org: &str, id: &str) -> StoreResult<CatalogueVersion> {
    Ok(crate::with_conn!(conn, |c| cv::table
        .filter(cv::organisation_id.eq(org))
        .filter(cv::status.eq(PUBLISHED))
        .filter(cv::id.eq(id))
        .select(CatalogueVersion::as_select())
        .first(c))?)
}

/// One published version of the organisation, by number.
pub fn find_published_number(
    conn: &mut Conn,
    org: &str,
    number: i64,
) -> StoreResult<CatalogueVersion> {
    Ok(crate::with_conn!(conn, |c| cv::table
        .filter(cv::organisation_id.eq(org))
        .filter(cv::status.eq(PUBLISHED))
        .filter(cv::version_number.eq(number))
        .select(CatalogueVersion::as_select())
        .first(c))?)
}

pub fn find_draft(conn: &mut Conn, org: &str) -> StoreResult<Option<CatalogueVersion>> {
    Ok(crate::with_conn!(conn, |c| cv::table
        .filter(cv::organisation_id.eq(org))
        .filter(cv::status.eq(DRAFT))
        .select(CatalogueVersion::as_select())
        .first(c)
        .optional())?)
}

/// The number the next version of the organisation takes.
pub fn next_version_number(conn: &mut Conn, org: &str) -> StoreResult<i64> {
    let max: Option<i64> = crate::with_conn!(conn, |c| cv::table
        .filter(cv::organisation_id.eq(org))
        .select(diesel::dsl::max(cv::version_number))
        .first(c))?;
    Ok(max.unwrap_or(0) + 1)
}

/// Replaces a draft's document. Refuses (`Immutable`) if the row is published.
pub fn update_draft(
    conn: &mut Conn,
    id: &str,
    label: &str,
    document: &str,
    etag: &str,
) -> StoreResult<()> {
    let changed = crate::with_conn!(conn, |c| diesel::update(
        cv::table.filter(cv::id.eq(id)).filter(cv::status.eq(DRAFT))
    )
    .set((
        cv::label.eq(label),
        cv::document.eq(document),
        cv::etag.eq(etag)
    ))
    .execute(c))?;
    draft_changed(conn, id, changed)
}

/// Marks a draft published. Refuses (`Immutable`) if it already is.
pub fn publish_draft(conn: &mut Conn, id: &str, at: NaiveDateTime) -> StoreResult<()> {
    let changed = crate::with_conn!(conn, |c| diesel::update(
        cv::table.filter(cv::id.eq(id)).filter(cv::status.eq(DRAFT))
    )
    .set((cv::status.eq(PUBLISHED), cv::published_at.eq(Some(at))))
    .execute(c))?;
    draft_changed(conn, id, changed)
}

/// Deletes a draft. A published row is never deleted (`Immutable`).
pub fn delete_draft(conn: &mut Conn, id: &str) -> StoreResult<()> {
    let changed = crate::with_conn!(conn, |c| diesel::delete(
        cv::table.filter(cv::id.eq(id)).filter(cv::status.eq(DRAFT))
    )
    .execute(c))?;
    draft_changed(conn, id, changed)
}

/// Organisations that have no published catalogue version yet.
pub fn organisations_without_published(conn: &mut Conn) -> StoreResult<Vec<String>> {
    use super::schema::organisations;
    Ok(crate::with_conn!(conn, |c| organisations::table
        .filter(diesel::dsl::not(diesel::dsl::exists(
            cv::table
                .filter(cv::organisation_id.eq(organisations::id))
                .filter(cv::status.eq(PUBLISHED))
        )))
        .select(organisations::id)
        .load(c))?)
}

/// Tells "it was published" (refused) apart from "there is no such row" after an update
/// filtered on draft status touched nothing.
fn draft_changed(conn: &mut Conn, id: &str, changed: usize) -> StoreResult<()> {
    if changed > 0 {
        return Ok(());
    }
    let exists: i64 = crate::with_conn!(conn, |c| cv::table
        .filter(cv::id.eq(id))
        .count()
        .get_result(c))?;
    if exists > 0 {
        Err(StoreError::Immutable)
    } else {
        Err(StoreError::Query(diesel::result::Error::NotFound))
    }
}
