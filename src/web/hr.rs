//! HR's page: who has never declared or is due their annual review, by unit, as a list and a
//! CSV. The service gives employee numbers, unit codes and a status only, never what anyone
//! answered; every read of the list is audited there (`reviews.list`), as the API's is.

use std::collections::BTreeMap;

use actix_web::http::{header, StatusCode};
use actix_web::{HttpRequest, HttpResponse};
use maud::html;

use crate::auth::{Principal, Role};
use crate::error::AppError;
use crate::services::audit::Actor;
use crate::services::declarations::{self as service, DueReview, ReviewStatus};
use crate::services::structure;

use super::fields::{filled, query_fields};
use super::layout::page as layout;
use super::respond::{error_page, html as respond, require};
use super::session::{Page, State};

/// The most one page lists (the API's page-size ceiling); the CSV says when there are more.
const LIMIT: i64 = 500;

fn hr_admin(page: &Page, state: &State) -> Result<Principal, Box<HttpResponse>> {
    require(page, state, &[Role::HrAdmin])
}

/// The unit asked for (`?unit=CODE`, the API's filter): a code, nothing personal.
fn asked_unit(req: &HttpRequest) -> Option<String> {
    filled(&query_fields(req), "unit").map(str::to_owned)
}

/// Who is due, ordered by unit code then employee number (the page groups by unit).
async fn due(
    page: &Page,
    state: &State,
    principal: &Principal,
    unit: Option<String>,
) -> Result<Vec<DueReview>, AppError> {
    let org = crate::http::principal::own_organisation(principal)?;
    let actor = Actor::of(principal, page.request_id.clone());
    let now = chrono::Utc::now().naive_utc();
    let mut items = service::due_reviews(&state.db, org, actor, now, None, unit, LIMIT)
        .await?
        .items;
    items.sort_by(|a, b| (&a.org_unit, &a.employee_number).cmp(&(&b.org_unit, &b.employee_number)));
    Ok(items)
}

fn status_key(status: &ReviewStatus) -> &'static str {
    match status {
        ReviewStatus::NeverDeclared => "never_declared",
        ReviewStatus::ReviewDue => "review_due",
    }
}

/// `GET /hr/reviews[?unit=CODE]`.
pub async fn reviews(req: HttpRequest, state: State) -> HttpResponse {
    let page = Page::of(&req, &state);
    let principal = match hr_admin(&page, &state) {
        Ok(p) => p,
        Err(response) => return *response,
    };
    let unit = asked_unit(&req);
    let units = match crate::http::principal::own_organisation(&principal) {
        Ok(org) => structure::list_units(&state.db, org).await,
        Err(e) => Err(e),
    };
    let units = match units {
        Ok(units) => units,
        Err(e) => return error_page(&page, &state, &e),
    };
    let items = match due(&page, &state, &principal, unit.clone()).await {
        Ok(items) => items,
        Err(e) => return error_page(&page, &state, &e),
    };
    let names: BTreeMap<&str, &str> = units
        .iter()
        .map(|u| (u.code.as_str(), u.name.as_str()))
        .collect();
    let unit_text = |code: &str| match names.get(code) {
        Some(name) => format!("{name} ({code})"),
        None => code.to_owned(),
    };
    let mut per_unit: BTreeMap<&str, usize> = BTreeMap::new();
    for item in &items {
        *per_unit.entry(item.org_unit.as_str()).or_default() += 1;
    }
    let csv_href = match &unit {
        Some(code) => format!(
            "/hr/reviews.csv?{}",
            form_urlencoded::Serializer::new(String::new())
                .append_pair("unit", code)
                .finish()
        ),
        None => "/hr/reviews.csv".to_owned(),
    };
    let unit_href = |code: &str| {
        format!(
            "/hr/reviews?{}",
            form_urlencoded::Serializer::new(String::new())
                .append_pair("unit", code)
                .finish()
        )
    };
    let t = |k| page.lang.t(k);
    let body = html! {
        h1 class="govuk-heading-l" { (t("hr_title")) }
        p class="govuk-body" { (t("hr_lead")) }
        form method="get" action="/hr/reviews" class="govuk-!-margin-bottom-6" {
            div class="govuk-form-group" {
                label class="govuk-label" for="unit" { (t("filter_unit")) }
                select class="govuk-select" id="unit" name="unit" {
                    option value="" selected[unit.is_none()] { (t("all_units")) }
                    @for u in &units {
                        option value=(u.code) selected[unit.as_deref() == Some(u.code.as_str())] { (u.name) " (" (u.code) ")" }
                    }
                }
            }
            button type="submit" class="govuk-button govuk-button--secondary" data-module="govuk-button" { (t("filter")) }
        }
        p class="govuk-body" { a class="govuk-link" href=(csv_href) download { (t("csv")) } }
        @if unit.is_none() && !per_unit.is_empty() {
            table class="govuk-table" id="reviews-by-unit" {
                caption class="govuk-table__caption govuk-table__caption--m" { (t("hr_by_unit")) }
                thead class="govuk-table__head" {
                    tr class="govuk-table__row" {
                        th scope="col" class="govuk-table__header" { (t("unit")) }
                        th scope="col" class="govuk-table__header govuk-table__header--numeric" { (t("hr_people_due")) }
                    }
                }
                tbody class="govuk-table__body" {
                    @for (code, n) in &per_unit {
                        tr class="govuk-table__row" {
                            th scope="row" class="govuk-table__header" {
                                a class="govuk-link" href=(unit_href(code)) { (unit_text(code)) }
                            }
                            td class="govuk-table__cell govuk-table__cell--numeric" { (n) }
                        }
                    }
                }
            }
        }
        table class="govuk-table" id="reviews" {
            caption class="govuk-table__caption govuk-table__caption--m" {
                (items.len()) " " (t("hr_people"))
                @if let Some(code) = &unit { " – " (unit_text(code)) }
            }
            thead class="govuk-table__head" {
                tr class="govuk-table__row" {
                    th scope="col" class="govuk-table__header" { (t("employee_number")) }
                    th scope="col" class="govuk-table__header" { (t("unit")) }
                    th scope="col" class="govuk-table__header" { (t("status")) }
                }
            }
            tbody class="govuk-table__body" {
                @for item in &items {
                    tr class="govuk-table__row" {
                        td class="govuk-table__cell" { (item.employee_number) }
                        td class="govuk-table__cell" { (unit_text(&item.org_unit)) }
                        td class="govuk-table__cell" { (t(status_key(&item.status))) }
                    }
                }
            }
        }
    };
    respond(
        &page,
        StatusCode::OK,
        layout(&page, &state, t("hr_title"), false, body),
    )
}

/// `GET /hr/reviews.csv[?unit=CODE]`: the same list as CSV, with each person's unit code.
pub async fn reviews_csv(req: HttpRequest, state: State) -> HttpResponse {
    let page = Page::of(&req, &state);
    let principal = match hr_admin(&page, &state) {
        Ok(p) => p,
        Err(response) => return *response,
    };
    let items = match due(&page, &state, &principal, asked_unit(&req)).await {
        Ok(items) => items,
        Err(e) => return error_page(&page, &state, &e),
    };
    let mut w = csv::Writer::from_writer(Vec::new());
    // The unit comes last, so the columns readers already use keep their places.
    let mut rows = vec![[
        "employee_id".to_owned(),
        "employee_number".to_owned(),
        "status".to_owned(),
        "org_unit".to_owned(),
    ]];
    rows.extend(items.iter().map(|i| {
        [
            i.employee_id.to_string(),
            i.employee_number.clone(),
            status_key(&i.status).to_owned(),
            i.org_unit.clone(),
        ]
    }));
    for row in rows {
        if let Err(e) = w.write_record(row) {
            return error_page(&page, &state, &AppError::internal(e));
        }
    }
    match w.into_inner() {
        Ok(body) => HttpResponse::Ok()
            .content_type("text/csv; charset=utf-8")
            .insert_header((
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"due-reviews.csv\"",
            ))
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .body(body),
        Err(e) => error_page(&page, &state, &AppError::internal(e.to_string())),
    }
}
