"""The quick start's three journeys (docs/integrating.md) through a client that
openapi-python-client generated from openapi.yaml.

Run by scripts/client-journeys, which generates `declare_client`, starts a seeded server and
sets DECLARE_BASE_URL, DECLARE_ORG, DECLARE_PASSWORD (of `<org>-admin` and `<org>-edi`),
DECLARE_CLIENT_ID and DECLARE_CLIENT_SECRET (an hr_sync client). Every step asserts what it
gets back; the first surprise exits 1.
"""

from __future__ import annotations

import json
import os
import sys
from uuid import UUID

from declare_client import AuthenticatedClient, Client
from declare_client.api.auth import create_token, get_me
from declare_client.api.catalogue import get_catalogue
from declare_client.api.declarations import (
    get_consents,
    get_declaration,
    get_declaration_history,
    patch_declaration,
    replace_declaration,
    update_consents,
)
from declare_client.api.organisations import create_account
from declare_client.api.stats import get_completion, get_distribution
from declare_client.api.structure import create_org_unit, create_rank, list_staff_types
from declare_client.api.workforce import get_employee, list_employees
from declare_client.models import (
    Answer,
    AnswerDetails,
    ConsentPurposes,
    DeclarationView,
    DetailAnswer,
    Figures,
    NewAccount,
    NewOrgUnit,
    NewRank,
    PatchDeclaration,
    PatchDeclarationAnswers,
    ReplaceDeclaration,
    ReplaceDeclarationAnswers,
    SyncReport,
    TokenRequest,
    UnitKind,
    UpdateConsents,
)
from declare_client.types import Response

BASE = os.environ["DECLARE_BASE_URL"]
ORG = os.environ["DECLARE_ORG"]
PASSWORD = os.environ["DECLARE_PASSWORD"]
# Enough people in each of two areas that disclosure control breaks them down (groups of 10).
PER_AREA = 20
STAFF = 2 * PER_AREA
# Staff who declare besides the one followed through the quick start, so some figures show.
DECLARERS = 12


class JourneyFailed(Exception):
    pass


def check(condition: bool, what: str) -> None:
    if not condition:
        raise JourneyFailed(what)


def ok(response: Response, status: int, what: str):
    """The parsed body of a response that must have `status`."""
    if response.status_code != status:
        raise JourneyFailed(
            f"{what}: expected {status}, got {response.status_code}: {response.content[:400]!r}"
        )
    return response.parsed


def step(text: str) -> None:
    print(f"  - {text}", flush=True)


def token(body: TokenRequest) -> str:
    parsed = ok(create_token.sync_detailed(client=Client(base_url=BASE), body=body), 200, "token")
    check(parsed.token_type == "Bearer", f"token_type {parsed.token_type}")
    return parsed.access_token


def sign_in(username: str) -> AuthenticatedClient:
    body = TokenRequest(grant_type="password", username=username, password=PASSWORD)
    return AuthenticatedClient(base_url=BASE, token=token(body))


def hr_system() -> tuple[list[str], list[str]]:
    """Journey 1: structure, a full CSV sync, an NDJSON delta, the workforce a page at a time."""
    print("journey 1: the HR system")
    body = TokenRequest(
        grant_type="client_credentials",
        client_id=os.environ["DECLARE_CLIENT_ID"],
        client_secret=os.environ["DECLARE_CLIENT_SECRET"],
    )
    hr = AuthenticatedClient(base_url=BASE, token=token(body))
    step("signed in with client credentials")

    force = ok(
        create_org_unit.sync_detailed(
            client=hr, body=NewOrgUnit(code="force", name=f"{ORG} Police", kind=UnitKind.FORCE)
        ),
        201,
        "create the force",
    )
    for code, name in (("east", "East area"), ("west", "West area")):
        unit = ok(
            create_org_unit.sync_detailed(
                client=hr,
                body=NewOrgUnit(
                    code=code, name=name, kind=UnitKind.COMMAND_AREA, parent_id=force.id
                ),
            ),
            201,
            f"create {code}",
        )
        check(unit.parent_id == force.id, f"{code} is under the force")
    staff_types = ok(list_staff_types.sync_detailed(client=hr), 200, "staff types")
    check(
        "police_officer" in [t.code for t in staff_types], "police_officer is a shipped staff type"
    )
    rank = ok(
        create_rank.sync_detailed(client=hr, body=NewRank(code="pc", name="Constable", order=1)),
        201,
        "create a rank",
    )
    check(rank.code == "pc", "rank code")
    step("org units east and west under the force, rank pc")

    rows = ["employee_number,external_subject,org_unit,staff_type,rank,fte,start_date,leave_date"]
    for i in range(1, STAFF + 1):
        area = "east" if i <= PER_AREA else "west"
        rows.append(f"E{i:04d},,{area},police_officer,pc,1.0,2020-04-01,")
    csv = "\n".join(rows) + "\n"
    # openapi-python-client 0.29 generates no function for a CSV or NDJSON request body, so
    # the upload goes through the generated client's own HTTP session (base URL and token set)
    # and its answer through the generated model.
    http = hr.get_httpx_client()
    report = sync(http, "full", "text/csv", csv, {"Idempotency-Key": f"{ORG}-first-load"})
    check(report.created == STAFF and report.rejected == [], f"full sync: {report.to_dict()}")
    again = http.post(
        "/v1/sync/employees",
        params={"mode": "full"},
        content=csv,
        headers={"content-type": "text/csv", "Idempotency-Key": f"{ORG}-first-load"},
    )
    check(again.headers.get("idempotent-replayed") == "true", "a retried upload is replayed")
    step(f"full CSV sync: {report.created} created; the retry was replayed")

    move = {
        "employee_number": f"E{STAFF:04d}",
        "org_unit": "west",
        "staff_type": "police_officer",
        "rank": "pc",
        "fte": 0.8,
        "start_date": "2020-04-01",
    }
    report = sync(http, "delta", "application/x-ndjson", json.dumps(move) + "\n", {})
    check(report.updated == 1 and report.created == 0, f"delta sync: {report.to_dict()}")
    step("NDJSON delta: 1 updated")

    ids: list[str] = []
    numbers: list[str] = []
    after = None
    pages = 0
    while True:
        kwargs = {"after": after} if after else {}
        page_response = list_employees.sync_detailed(client=hr, limit=15, **kwargs)
        page = ok(page_response, 200, "list employees")
        pages += 1
        ids += [str(e.id) for e in page.items]
        numbers += [e.employee_number for e in page.items]
        after = page.next_after if isinstance(page.next_after, str) else None
        if after is None:
            break
        check('rel="next"' in page_response.headers.get("link", ""), "Link header on a page")
    check(len(ids) == STAFF and pages == 3, f"{len(ids)} employees in {pages} pages")
    moved_id = UUID(ids[numbers.index(f"E{STAFF:04d}")])
    moved = ok(get_employee.sync_detailed(id=moved_id, client=hr), 200, "the moved employee")
    check(moved.fte == 0.8, f"the delta changed fte: {moved.fte}")
    step(f"read the workforce: {len(ids)} people in {pages} pages of 15")
    return ids, numbers


def sync(http, mode: str, content_type: str, body: str, headers: dict) -> SyncReport:
    response = http.post(
        "/v1/sync/employees",
        params={"mode": mode},
        content=body.encode(),
        headers={"content-type": content_type, **headers},
    )
    if response.status_code != 200:
        raise JourneyFailed(f"{mode} sync: {response.status_code} {response.text[:400]}")
    return SyncReport.from_dict(response.json())


def staff_account(admin: AuthenticatedClient, org_id: UUID, employee_id: str, username: str):
    ok(
        create_account.sync_detailed(
            organisation_id=org_id,
            client=admin,
            body=NewAccount(
                username=username,
                password=PASSWORD,
                roles=["employee"],
                employee_id=UUID(employee_id),
            ),
        ),
        201,
        f"create account {username}",
    )


def consent(staff: AuthenticatedClient, grant: bool):
    current = ok(get_consents.sync_detailed(client=staff), 200, "read consents")
    purposes = ConsentPurposes(equality_monitoring=grant)
    body = UpdateConsents(notice_version=current.notice.version, purposes=purposes)
    return ok(update_consents.sync_detailed(client=staff, body=body), 200, "update consents")


def declaration(staff: AuthenticatedClient) -> tuple[DeclarationView, str]:
    response = get_declaration.sync_detailed(client=staff)
    return ok(response, 200, "read the declaration"), response.headers.get("etag", "")


def front_end(ids: list[str], numbers: list[str]) -> None:
    """Journey 2: a member of staff declares for themselves, changes it, and withdraws."""
    print("journey 2: the HR front end")
    admin = sign_in(f"{ORG}-admin")
    org_id = ok(get_me.sync_detailed(client=admin), 200, "admin me").organisation_id
    for i in range(DECLARERS + 1):
        staff_account(admin, org_id, ids[i], f"{ORG}-staff-{numbers[i]}")
    step(f"the admin created {DECLARERS + 1} staff accounts through the API")

    staff = sign_in(f"{ORG}-staff-{numbers[0]}")
    me = ok(get_me.sync_detailed(client=staff), 200, "me")
    check(str(me.employee_id) == ids[0] and me.roles == ["employee"], f"me: {me.to_dict()}")
    step("signed in as staff; /v1/me names the employee record")

    before = ok(get_consents.sync_detailed(client=staff), 200, "consents")
    check(not before.may_declare and before.consents == [], "no consent yet")
    check(before.notice.text_en != "" and before.notice.text_cy != "", "notice in both languages")
    after = consent(staff, True)
    check(after.may_declare, "may declare after agreeing")
    step(f"agreed to privacy notice v{after.notice.version}")

    cy = get_catalogue.sync_detailed(client=staff, lang="cy")
    catalogue = ok(cy, 200, "catalogue in Welsh")
    check(cy.headers.get("content-language") == "cy", "content-language cy")
    check(cy.headers.get("etag", "").endswith('-cy"'), f"catalogue etag {cy.headers.get('etag')}")
    disability = next(c for c in catalogue.document.characteristics if c.code == "disability")
    check(disability.label == "Anabledd", f"Welsh label {disability.label}")
    details = {d.code: d for d in disability.details}
    check(
        details["impairment_areas"].shown_when.gateway_in == ["yes"],
        "impairment_areas shown when disability is yes",
    )
    full = ok(get_catalogue.sync_detailed(client=staff), 200, "catalogue in both languages")
    check(len(full.document.characteristics) == len(catalogue.document.characteristics), "same")
    step(f"catalogue: {len(catalogue.document.characteristics)} characteristics, in Welsh")

    view, etag = declaration(staff)
    check(view.version == 0 and etag == '"v0"' and view.answers.to_dict() == {}, "empty, v0")
    answers = ReplaceDeclarationAnswers()
    answers["disability"] = Answer(
        gateway="yes",
        details=AnswerDetails.from_dict(
            {
                "day_to_day_impact": {"selected": ["yes_a_little"]},
                "impairment_areas": {"selected": ["hearing", "other"], "other_text": "Tinnitus"},
            }
        ),
    )
    answers["religion_belief"] = Answer(gateway="prefer_not_to_say")
    stale = replace_declaration.sync_detailed(
        client=staff, body=ReplaceDeclaration(answers=answers), if_match='"v7"'
    )
    check(stale.status_code == 412, f"a stale If-Match is 412, got {stale.status_code}")
    put = replace_declaration.sync_detailed(
        client=staff, body=ReplaceDeclaration(answers=answers), if_match=etag
    )
    view = ok(put, 200, "PUT the declaration")
    check(put.headers.get("etag") == '"v1"' and view.version == 1, "PUT gives v1")
    impairments = view.answers["disability"].details["impairment_areas"]
    check(isinstance(impairments, DetailAnswer), "details parse as DetailAnswer")
    check(impairments.other_text == "Tinnitus", "other text stored")
    step('PUT with If-Match "v0": ETag "v1"; a stale If-Match was 412')

    patch = PatchDeclarationAnswers()
    patch["sex"] = Answer(gateway="female")
    patch["religion_belief"] = None
    patched = patch_declaration.sync_detailed(
        client=staff, body=PatchDeclaration(answers=patch), if_match=put.headers["etag"]
    )
    view = ok(patched, 200, "PATCH the declaration")
    check(patched.headers.get("etag") == '"v2"', f"PATCH etag {patched.headers.get('etag')}")
    check(
        sorted(view.answers.additional_keys) == ["disability", "sex"],
        f"answers after PATCH: {view.answers.additional_keys}",
    )
    step('PATCH sex and blank religion_belief: ETag "v2"')

    history = ok(get_declaration_history.sync_detailed(client=staff), 200, "history")
    check([h.seq for h in history] == [1, 2], f"history seqs {[h.seq for h in history]}")
    check("religion_belief" in history[0].answers.additional_keys, "history holds the PUT")
    check(
        history[1].answers["sex"].gateway == "female"
        and "religion_belief" not in history[1].answers.additional_keys,
        "history holds the PATCH",
    )
    step("history holds both changes")

    # Others declare, so the figures have something to show.
    for i in range(1, DECLARERS + 1):
        other = sign_in(f"{ORG}-staff-{numbers[i]}")
        consent(other, True)
        answers = ReplaceDeclarationAnswers()
        answers["disability"] = Answer(gateway="no" if i % 3 else "prefer_not_to_say")
        ok(
            replace_declaration.sync_detailed(
                client=other, body=ReplaceDeclaration(answers=answers), if_match='"v0"'
            ),
            200,
            f"staff {numbers[i]} declares",
        )
    step(f"{DECLARERS} more staff declared")

    withdrawn = consent(staff, False)
    check(not withdrawn.may_declare, "may not declare after withdrawing")
    check(
        any(c.purpose == "equality_monitoring" and c.withdrawn_at for c in withdrawn.consents),
        "the withdrawal is recorded",
    )
    view, etag = declaration(staff)
    check(view.answers.to_dict() == {}, f"answers after withdrawal: {view.answers.to_dict()}")
    history = ok(get_declaration_history.sync_detailed(client=staff), 200, "history after")
    check(history == [], f"history after withdrawal: {len(history)} entries")
    step("withdrew: a later GET shows no answers and no history")


def cells(row) -> dict:
    return {c.column: c for c in row.cells}


def edi_dashboard() -> None:
    """Journey 3: anonymised, disclosure-controlled figures."""
    print("journey 3: the EDI dashboard")
    edi = sign_in(f"{ORG}-edi")
    figures: Figures = ok(
        get_completion.sync_detailed(client=edi, characteristic="disability"), 200, "completion"
    )
    check(figures.characteristic == "disability", "characteristic")
    check([r.key for r in figures.rows] == ["overall"], f"rows {[r.key for r in figures.rows]}")
    overall = figures.rows[0]
    check(overall.headcount == STAFF, f"completion headcount {overall.headcount}, want {STAFF}")
    check(figures.columns == ["declared", "prefer_not_to_say", "blank"], f"{figures.columns}")
    check(list(cells(overall)) == figures.columns, "one cell per column")
    for cell in overall.cells:
        count = cell.count if isinstance(cell.count, int) else cell.count.value
        check(count == "suppressed" or count >= 0, f"cell {cell.to_dict()}")
    check(figures.rules.min_group == 10 and figures.rules.min_cell == 5, "production rules")
    step(f"completion: headcount {overall.headcount}, cells {[c.to_dict() for c in overall.cells]}")

    by_area: Figures = ok(
        get_distribution.sync_detailed(
            client=edi, characteristic="disability", by="org_unit", level=1
        ),
        200,
        "distribution by area",
    )
    heads = {r.label: r.headcount for r in by_area.rows}
    # Besides the two areas, a row for people placed on the force itself (none here).
    check(heads.get("East area") == PER_AREA and heads.get("West area") == PER_AREA, f"{heads}")
    check(sum(heads.values()) == STAFF, f"headcounts {heads} add up to {STAFF}")
    check(by_area.columns == ["yes", "no", "prefer_not_to_say", "blank"], f"{by_area.columns}")
    step(f"distribution by area: headcounts {heads}")

    # The generated function parses every 200 as JSON (the generator reads one content type
    # per response), so the CSV form is read through the generated client's HTTP session.
    csv = edi.get_httpx_client().get(
        "/v1/stats/completion", params={"characteristic": "disability", "format": "csv"}
    )
    check(csv.status_code == 200, f"CSV completion {csv.status_code}")
    check(csv.headers.get("content-type", "").startswith("text/csv"), "CSV content type")
    check(f",{STAFF}," in csv.content.decode(), f"the CSV has the headcount: {csv.content[:300]!r}")
    step("completion as CSV")


def main() -> int:
    try:
        ids, numbers = hr_system()
        front_end(ids, numbers)
        edi_dashboard()
    except JourneyFailed as failure:
        print(f"FAILED: {failure}", file=sys.stderr)
        return 1
    print("python client: all three journeys passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
