//! HR's page: who has never declared or is due their annual review, as a list and a CSV.
//! The service gives employee numbers and a status only, never what anyone answered.

use actix_web::http::{header, StatusCode};
use actix_web::{HttpRequest, HttpResponse};
use maud::html;

use crate::auth::{Principal, Role};
use crate::error::AppError;
use crate::services::audit::Actor;
use crate::services::declarations::{self as service, DueReview, ReviewStatus};

use super::layout::page as layout;
use super::session::{Page, State};
use super::{error_page, html as respond, require};

/// The most one page lists (the API's page-size ceiling); the CSV says when there are more.
const LIMIT: i64 = 500;

fn hr_admin(page: &Page, state: &State) -> Result<Principal, Box<HttpResponse>> {
    require(page, state, &[Role::HrAdmin])
}

async fn due(
    page: &Page,
    state: &State,
    principal: &Principal,
) -> Result<Vec<DueReview>, AppError> {
    let org = crate::http::principal::own_organisation(principal)?;
    let actor = Actor::of(principal, page.request_id.clone());
    let now = chrono::Utc::now().naive_utc();
    Ok(
        service::due_reviews(&state.db, org, actor, now, None, LIMIT)
            .await?
            .items,
    )
}

fn status_key(status: &ReviewStatus) -> &'static str {
    match status {
        ReviewStatus::NeverDeclared => "never_declared",
        ReviewStatus::ReviewDue => "review_due",
    }
}

/// `GET /hr/reviews`.
pub async fn reviews(req: HttpRequest, state: State) -> HttpResponse {
    let page = Page::of(&req, &state);
    let principal = match hr_admin(&page, &state) {
        Ok(p) => p,
        Err(response) => return *response,
    };
    let items = match due(&page, &state, &principal).await {
        Ok(items) => items,
        Err(e) => return error_page(&page, &state, &e),
    };
    let t = |k| page.lang.t(k);
    let body = html! {
        h1 class="govuk-heading-l" { (t("hr_title")) }
        p class="govuk-body" { (t("hr_lead")) }
        p class="govuk-body" { a class="govuk-link" href="/hr/reviews.csv" download { (t("csv")) } }
        table class="govuk-table" id="reviews" {
            caption class="govuk-table__caption govuk-table__caption--m" { (items.len()) " " (t("hr_people")) }
            thead class="govuk-table__head" {
                tr class="govuk-table__row" {
                    th scope="col" class="govuk-table__header" { (t("employee_number")) }
                    th scope="col" class="govuk-table__header" { (t("status")) }
                }
            }
            tbody class="govuk-table__body" {
                @for item in &items {
                    tr class="govuk-table__row" {
                        td class="govuk-table__cell" { (item.employee_number) }
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

/// `GET /hr/reviews.csv`: the same list as CSV.
pub async fn reviews_csv(req: HttpRequest, state: State) -> HttpResponse {
    let page = Page::of(&req, &state);
    let principal = match hr_admin(&page, &state) {
        Ok(p) => p,
        Err(response) => return *response,
    };
    let items = match due(&page, &state, &principal).await {
        Ok(items) => items,
        Err(e) => return error_page(&page, &state, &e),
    };
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut rows = vec![[
        "employee_id".to_owned(),
        "employee_number".to_owned(),
        "status".to_owned(),
    ]];
    rows.extend(items.iter().map(|i| {
        [
            i.employee_id.to_string(),
            i.employee_number.clone(),
            status_key(&i.status).to_owned(),
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
