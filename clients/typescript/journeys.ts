// The quick start's three journeys (docs/integrating.md) through openapi-fetch, typed by
// openapi-typescript from openapi.yaml (generated/schema.d.ts; `npm run generate`).
//
// Run by scripts/client-journeys, which generates the types, type-checks and compiles this
// file (so a document change that breaks it fails there), starts a seeded server and sets
// DECLARE_BASE_URL, DECLARE_ORG, DECLARE_PASSWORD (of `<org>-admin` and `<org>-edi`),
// DECLARE_CLIENT_ID and DECLARE_CLIENT_SECRET (an hr_sync client). Every step asserts what it
// gets back; the first surprise exits 1.
import createClient, { type Client } from "openapi-fetch";
import type { components, paths } from "./generated/schema.js";

type Schemas = components["schemas"];
type Api = Client<paths>;

function env(name: string): string {
  const value = process.env[name];
  if (!value) throw new JourneyFailed(`${name} is not set`);
  return value;
}

class JourneyFailed extends Error {}

const BASE = env("DECLARE_BASE_URL");
const ORG = env("DECLARE_ORG");
const PASSWORD = env("DECLARE_PASSWORD");
// Enough people in each of two areas that disclosure control breaks them down (groups of 10).
const PER_AREA = 20;
const STAFF = 2 * PER_AREA;
// Staff who declare besides the one followed through the quick start, so some figures show.
const DECLARERS = 12;

function check(condition: boolean, what: string): asserts condition {
  if (!condition) throw new JourneyFailed(what);
}

/** The body of a response that must have `status`. */
function ok<T>(result: { data?: T; error?: unknown; response: Response }, status: number, what: string): T {
  if (result.response.status !== status || result.data === undefined) {
    throw new JourneyFailed(
      `${what}: expected ${status}, got ${result.response.status}: ${JSON.stringify(result.error)}`,
    );
  }
  return result.data;
}

function step(text: string): void {
  console.log(`  - ${text}`);
}

const anonymous: Api = createClient<paths>({ baseUrl: BASE });

async function token(body: Schemas["TokenRequest"]): Promise<string> {
  const result = await anonymous.POST("/oauth/token", {
    body,
    // RFC 6749 token requests are form-encoded, as the document says.
    bodySerializer: (fields) =>
      new URLSearchParams(Object.entries(fields).filter((e): e is [string, string] => typeof e[1] === "string")),
    headers: { "content-type": "application/x-www-form-urlencoded" },
  });
  const issued = ok(result, 200, "token");
  check(issued.token_type === "Bearer", `token_type ${issued.token_type}`);
  return issued.access_token;
}

function authed(accessToken: string): Api {
  return createClient<paths>({ baseUrl: BASE, headers: { authorization: `Bearer ${accessToken}` } });
}

async function signIn(username: string): Promise<Api> {
  return authed(await token({ grant_type: "password", username, password: PASSWORD }));
}

async function sync(
  hr: Api,
  mode: Schemas["Mode"],
  contentType: "text/csv" | "application/x-ndjson",
  body: string,
  idempotencyKey?: string,
): Promise<{ report: Schemas["SyncReport"]; response: Response }> {
  const result = await hr.POST("/v1/sync/employees", {
    params: { query: { mode }, header: idempotencyKey ? { "Idempotency-Key": idempotencyKey } : {} },
    body,
    // The body is the file itself, not JSON.
    bodySerializer: (text) => text,
    headers: { "content-type": contentType },
  });
  return { report: ok(result, 200, `${mode} sync`), response: result.response };
}

/** Journey 1: structure, a full CSV sync, an NDJSON delta, the workforce a page at a time. */
async function hrSystem(): Promise<{ ids: string[]; numbers: string[] }> {
  console.log("journey 1: the HR system");
  const hr = authed(
    await token({
      grant_type: "client_credentials",
      client_id: env("DECLARE_CLIENT_ID"),
      client_secret: env("DECLARE_CLIENT_SECRET"),
    }),
  );
  step("signed in with client credentials");

  const force = ok(
    await hr.POST("/v1/org-units", { body: { code: "force", name: `${ORG} Police`, kind: "force" } }),
    201,
    "create the force",
  );
  for (const [code, name] of [
    ["east", "East area"],
    ["west", "West area"],
  ] as const) {
    const unit = ok(
      await hr.POST("/v1/org-units", { body: { code, name, kind: "command_area", parent_id: force.id } }),
      201,
      `create ${code}`,
    );
    check(unit.parent_id === force.id, `${code} is under the force`);
  }
  const staffTypes = ok(await hr.GET("/v1/staff-types"), 200, "staff types");
  check(
    staffTypes.some((t) => t.code === "police_officer"),
    "police_officer is a shipped staff type",
  );
  const rank = ok(await hr.POST("/v1/ranks", { body: { code: "pc", name: "Constable", order: 1 } }), 201, "rank");
  check(rank.code === "pc", "rank code");
  step("org units east and west under the force, rank pc");

  const rows = ["employee_number,external_subject,org_unit,staff_type,rank,fte,start_date,leave_date"];
  for (let i = 1; i <= STAFF; i++) {
    const area = i <= PER_AREA ? "east" : "west";
    rows.push(`E${String(i).padStart(4, "0")},,${area},police_officer,pc,1.0,2020-04-01,`);
  }
  const csv = rows.join("\n") + "\n";
  const first = await sync(hr, "full", "text/csv", csv, `${ORG}-first-load`);
  check(first.report.created === STAFF && first.report.rejected.length === 0, `full sync ${JSON.stringify(first.report)}`);
  const again = await sync(hr, "full", "text/csv", csv, `${ORG}-first-load`);
  check(again.response.headers.get("idempotent-replayed") === "true", "a retried upload is replayed");
  check(again.report.created === STAFF, "the replay is the first answer");
  step(`full CSV sync: ${first.report.created} created; the retry was replayed`);

  const last = `E${String(STAFF).padStart(4, "0")}`;
  const move = {
    employee_number: last,
    org_unit: "west",
    staff_type: "police_officer",
    rank: "pc",
    fte: 0.8,
    start_date: "2020-04-01",
  };
  const delta = await sync(hr, "delta", "application/x-ndjson", JSON.stringify(move) + "\n");
  check(delta.report.updated === 1 && delta.report.created === 0, `delta sync ${JSON.stringify(delta.report)}`);
  step("NDJSON delta: 1 updated");

  const ids: string[] = [];
  const numbers: string[] = [];
  let after: string | undefined;
  let pages = 0;
  for (;;) {
    const result = await hr.GET("/v1/employees", { params: { query: { limit: 15, after } } });
    const page = ok(result, 200, "list employees");
    pages += 1;
    for (const e of page.items) {
      ids.push(e.id);
      numbers.push(e.employee_number);
    }
    after = page.next_after ?? undefined;
    if (after === undefined) break;
    check((result.response.headers.get("link") ?? "").includes('rel="next"'), "Link header on a page");
  }
  check(ids.length === STAFF && pages === 3, `${ids.length} employees in ${pages} pages`);
  const moved = ok(await hr.GET("/v1/employees/{id}", { params: { path: { id: ids[numbers.indexOf(last)] ?? "" } } }), 200, "moved");
  check(moved.fte === 0.8, `the delta changed fte: ${moved.fte}`);
  step(`read the workforce: ${ids.length} people in ${pages} pages of 15`);
  return { ids, numbers };
}

async function consent(staff: Api, grant: boolean): Promise<Schemas["ConsentsView"]> {
  const current = ok(await staff.GET("/v1/me/consents"), 200, "read consents");
  return ok(
    await staff.PUT("/v1/me/consents", {
      body: { notice_version: current.notice.version, purposes: { equality_monitoring: grant } },
    }),
    200,
    "update consents",
  );
}

async function declaration(staff: Api): Promise<{ view: Schemas["DeclarationView"]; etag: string }> {
  const result = await staff.GET("/v1/me/declaration");
  return { view: ok(result, 200, "read the declaration"), etag: result.response.headers.get("etag") ?? "" };
}

/** Journey 2: a member of staff declares for themselves, changes it, and withdraws. */
async function frontEnd(ids: string[], numbers: string[]): Promise<void> {
  console.log("journey 2: the HR front end");
  const admin = await signIn(`${ORG}-admin`);
  const orgId = ok(await admin.GET("/v1/me"), 200, "admin me").organisation_id;
  check(typeof orgId === "string", "the admin belongs to the organisation");
  for (let i = 0; i <= DECLARERS; i++) {
    ok(
      await admin.POST("/v1/organisations/{organisation_id}/accounts", {
        params: { path: { organisation_id: orgId } },
        body: { username: `${ORG}-staff-${numbers[i]}`, password: PASSWORD, roles: ["employee"], employee_id: ids[i] },
      }),
      201,
      `create account ${numbers[i]}`,
    );
  }
  step(`the admin created ${DECLARERS + 1} staff accounts through the API`);

  const staff = await signIn(`${ORG}-staff-${numbers[0]}`);
  const me = ok(await staff.GET("/v1/me"), 200, "me");
  check(me.employee_id === ids[0] && me.roles.join() === "employee", `me ${JSON.stringify(me)}`);
  step("signed in as staff; /v1/me names the employee record");

  const before = ok(await staff.GET("/v1/me/consents"), 200, "consents");
  check(!before.may_declare && before.consents.length === 0, "no consent yet");
  check(before.notice.text_en !== "" && before.notice.text_cy !== "", "notice in both languages");
  const agreed = await consent(staff, true);
  check(agreed.may_declare, "may declare after agreeing");
  step(`agreed to privacy notice v${agreed.notice.version}`);

  const cy = await staff.GET("/v1/catalogue", { params: { query: { lang: "cy" } } });
  const catalogue = ok(cy, 200, "catalogue in Welsh");
  check(cy.response.headers.get("content-language") === "cy", "content-language cy");
  check((cy.response.headers.get("etag") ?? "").endsWith('-cy"'), `catalogue etag ${cy.response.headers.get("etag")}`);
  const disability = catalogue.document.characteristics.find((c) => c.code === "disability");
  check(disability !== undefined && disability.label === "Anabledd", "Welsh label of disability");
  const impairments = (disability.details ?? []).find((d) => d.code === "impairment_areas");
  check(
    impairments !== undefined && "gateway_in" in impairments.shown_when && impairments.shown_when.gateway_in.join() === "yes",
    "impairment_areas shown when disability is yes",
  );
  step(`catalogue: ${catalogue.document.characteristics.length} characteristics, in Welsh`);

  let { view, etag } = await declaration(staff);
  check(view.version === 0 && etag === '"v0"' && Object.keys(view.answers).length === 0, "empty, v0");
  const answers: Schemas["ReplaceDeclaration"]["answers"] = {
    disability: {
      gateway: "yes",
      details: {
        day_to_day_impact: { selected: ["yes_a_little"] },
        impairment_areas: { selected: ["hearing", "other"], other_text: "Tinnitus" },
      },
    },
    religion_belief: { gateway: "prefer_not_to_say" },
  };
  const stale = await staff.PUT("/v1/me/declaration", { params: { header: { "If-Match": '"v7"' } }, body: { answers } });
  check(stale.response.status === 412, `a stale If-Match is 412, got ${stale.response.status}`);
  const put = await staff.PUT("/v1/me/declaration", { params: { header: { "If-Match": etag } }, body: { answers } });
  view = ok(put, 200, "PUT the declaration");
  check(put.response.headers.get("etag") === '"v1"' && view.version === 1, "PUT gives v1");
  check(view.answers["disability"]?.details?.["impairment_areas"]?.other_text === "Tinnitus", "other text stored");
  step('PUT with If-Match "v0": ETag "v1"; a stale If-Match was 412');

  const patched = await staff.PATCH("/v1/me/declaration", {
    params: { header: { "If-Match": put.response.headers.get("etag") ?? "" } },
    body: { answers: { sex: { gateway: "female" }, religion_belief: null } },
  });
  view = ok(patched, 200, "PATCH the declaration");
  check(patched.response.headers.get("etag") === '"v2"', `PATCH etag ${patched.response.headers.get("etag")}`);
  check(Object.keys(view.answers).sort().join() === "disability,sex", `answers after PATCH ${Object.keys(view.answers)}`);
  step('PATCH sex and blank religion_belief: ETag "v2"');

  let history = ok(await staff.GET("/v1/me/declaration/history"), 200, "history");
  check(history.map((h) => h.seq).join() === "1,2", `history seqs ${history.map((h) => h.seq)}`);
  check("religion_belief" in (history[0]?.answers ?? {}), "history holds the PUT");
  check(
    history[1]?.answers["sex"]?.gateway === "female" && !("religion_belief" in (history[1]?.answers ?? {})),
    "history holds the PATCH",
  );
  step("history holds both changes");

  // Others declare, so the figures have something to show.
  for (let i = 1; i <= DECLARERS; i++) {
    const other = await signIn(`${ORG}-staff-${numbers[i]}`);
    await consent(other, true);
    ok(
      await other.PUT("/v1/me/declaration", {
        params: { header: { "If-Match": '"v0"' } },
        body: { answers: { disability: { gateway: i % 3 ? "no" : "prefer_not_to_say" } } },
      }),
      200,
      `staff ${numbers[i]} declares`,
    );
  }
  step(`${DECLARERS} more staff declared`);

  const withdrawn = await consent(staff, false);
  check(!withdrawn.may_declare, "may not declare after withdrawing");
  check(
    withdrawn.consents.some((c) => c.purpose === "equality_monitoring" && c.withdrawn_at),
    "the withdrawal is recorded",
  );
  ({ view } = await declaration(staff));
  check(Object.keys(view.answers).length === 0, `answers after withdrawal ${JSON.stringify(view.answers)}`);
  history = ok(await staff.GET("/v1/me/declaration/history"), 200, "history after");
  check(history.length === 0, `history after withdrawal: ${history.length} entries`);
  step("withdrew: a later GET shows no answers and no history");
}

/** The JSON form of a stats answer (the document gives JSON or CSV for the same status). */
function json(figures: Schemas["Figures"] | string, what: string): Schemas["Figures"] {
  check(typeof figures !== "string", `${what} came back as CSV`);
  return figures;
}

/** Journey 3: anonymised, disclosure-controlled figures. */
async function ediDashboard(): Promise<void> {
  console.log("journey 3: the EDI dashboard");
  const edi = await signIn(`${ORG}-edi`);
  const figures = json(
    ok(await edi.GET("/v1/stats/completion", { params: { query: { characteristic: "disability" } } }), 200, "completion"),
    "completion",
  );
  check(figures.characteristic === "disability", "characteristic");
  check(figures.rows.length === 1 && figures.rows[0]?.key === "overall", "one overall row");
  const overall = figures.rows[0];
  check(overall.headcount === STAFF, `completion headcount ${overall.headcount}, want ${STAFF}`);
  check(figures.columns.join() === "declared,prefer_not_to_say,blank", `columns ${figures.columns}`);
  check(overall.cells.map((c) => c.column).join() === figures.columns.join(), "one cell per column");
  for (const cell of overall.cells) {
    check(cell.count === "suppressed" || (Number.isInteger(cell.count) && cell.count >= 0), `cell ${JSON.stringify(cell)}`);
  }
  check(figures.rules.min_group === 10 && figures.rules.min_cell === 5, "production rules");
  step(`completion: headcount ${overall.headcount}, cells ${JSON.stringify(overall.cells)}`);

  const byArea = json(
    ok(
      await edi.GET("/v1/stats/distribution", {
        params: { query: { characteristic: "disability", by: "org_unit", level: 1 } },
      }),
      200,
      "distribution by area",
    ),
    "distribution",
  );
  const heads = Object.fromEntries(byArea.rows.map((r) => [r.label, r.headcount]));
  // Besides the two areas, a row for people placed on the force itself (none here).
  check(heads["East area"] === PER_AREA && heads["West area"] === PER_AREA, `headcounts ${JSON.stringify(heads)}`);
  check(byArea.rows.reduce((n, r) => n + r.headcount, 0) === STAFF, `headcounts add up to ${STAFF}`);
  check(byArea.columns.join() === "yes,no,prefer_not_to_say,blank", `columns ${byArea.columns}`);
  step(`distribution by area: headcounts ${JSON.stringify(heads)}`);

  const csv = await edi.GET("/v1/stats/completion", {
    params: { query: { characteristic: "disability", format: "csv" } },
    parseAs: "text",
  });
  check(csv.response.status === 200, `CSV completion ${csv.response.status}`);
  check((csv.response.headers.get("content-type") ?? "").startsWith("text/csv"), "CSV content type");
  check(typeof csv.data === "string" && csv.data.includes(`,${STAFF},`), `the CSV has the headcount: ${csv.data}`);
  step("completion as CSV");
}

try {
  const { ids, numbers } = await hrSystem();
  await frontEnd(ids, numbers);
  await ediDashboard();
  console.log("typescript client: all three journeys passed");
} catch (failure) {
  console.error(`FAILED: ${failure instanceof Error ? failure.stack ?? failure.message : String(failure)}`);
  process.exitCode = 1;
}
