// Declare's browser tests: headless Chromium (the Debian package; no browser download) driven
// by playwright-core. Starts a local OpenID Connect provider (idp.mjs) and the built binary on
// a fresh SQLite database trusting it, seeds it, then: the whole staff journey in English and
// in Welsh (a wrong password, then sign in through the provider, consent, the form with a
// revealed detail list, check answers, a refused answer explained in Welsh, remove one, save,
// confirmation, a stale save showing the conflict, history, export, withdraw, sign out at the
// provider), a keyboard-only pass of the form (signed in with a Declare account), the form
// one question per page with JavaScript off, the dashboard for an EDI viewer (figures, trend
// and a clicked unit's figures equal to the API's, [c] shown), HR's list filtered by unit, and
// axe-core on every page in both languages (0 violations, WCAG 2.2 A/AA rules). Screenshots
// go to target/browser/.
import { spawn } from 'node:child_process'
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { createRequire } from 'node:module'
import { chromium } from 'playwright-core'
import { createOrg, seed } from './seed.mjs'
import { startIdp } from './idp.mjs'

const require = createRequire(import.meta.url)
const root = resolve(new URL('../..', import.meta.url).pathname)
const bin = process.env.DECLARE_BIN ?? join(root, 'target/debug/declare')
const shots = join(root, 'target/browser')
mkdirSync(shots, { recursive: true })
const axeSource = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8')
const port = 18000 + Math.floor(Math.random() * 2000)
const base = `http://127.0.0.1:${port}`
const dataDir = mkdtempSync(join(tmpdir(), 'declare-browser-'))
const env = {
  ...process.env,
  DECLARE_LISTEN: `127.0.0.1:${port}`,
  DECLARE_DATA_DIR: dataDir,
  DECLARE_LOG_LEVEL: 'warn'
}
for (const name of Object.keys(env)) {
  if (name.startsWith('DECLARE_') && !['DECLARE_LISTEN', 'DECLARE_DATA_DIR', 'DECLARE_LOG_LEVEL'].includes(name)) delete env[name]
}
// The CLI (seeding) runs without single sign-on; the service with it, against the local
// provider in idp.mjs. Employee E14's record carries the provider's subject (seed.mjs).
const cliEnv = { ...env }
const subject = 'force-subject-e14'
const clientId = 'declare-browser-tests'
const idp = await startIdp({
  clientId,
  clientSecret: 'browser-tests-client-secret',
  redirectUri: `${base}/sign-in/idp/callback`,
  postLogoutRedirectUri: `${base}/signed-out`,
  subject
})
Object.assign(env, {
  DECLARE_IDP_ISSUER: idp.issuer,
  DECLARE_IDP_AUDIENCE: clientId,
  DECLARE_IDP_DISCOVERY_URL: `${idp.issuer}/.well-known/openid-configuration`,
  DECLARE_IDP_ORGANISATION: 'demo',
  DECLARE_IDP_CLIENT_ID: clientId,
  DECLARE_IDP_CLIENT_SECRET: 'browser-tests-client-secret',
  DECLARE_IDP_REDIRECT_URI: `${base}/sign-in/idp/callback`
})

let failures = 0
const check = (ok, message) => {
  if (ok) {
    console.log(`  ok   ${message}`)
  } else {
    failures++
    console.log(`  FAIL ${message}`)
  }
}

async function axe (page, label) {
  await page.addScriptTag({ content: axeSource }).catch(async () => {
    // The CSP forbids inline script on our pages, so inject through evaluate instead.
    await page.evaluate(axeSource)
  })
  const result = await page.evaluate(async () => await window.axe.run(document, {
    runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'] }
  }))
  const detail = result.violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ') + ' ' + n.failureSummary).join(', ')}`)
  check(result.violations.length === 0, `axe: ${label}${detail.length ? ' – ' + detail.join('; ') : ''}`)
}

async function shot (page, name) {
  await page.screenshot({ path: join(shots, `${name}.png`), fullPage: true })
}

async function waitForServer () {
  for (let i = 0; i < 200; i++) {
    try {
      const r = await fetch(`${base}/healthz`)
      if (r.ok) return
    } catch {}
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  throw new Error('the server did not start')
}

async function signIn (page, username, password) {
  await page.goto(`${base}/sign-in`)
  await page.fill('#username', username)
  await page.fill('#password', password)
  await page.click('form[action="/sign-in"] button')
}

async function signOut (page) {
  await page.click('form[action="/sign-out"] button')
}

async function staffJourney (browser, lang, password) {
  console.log(`staff journey (${lang})`)
  const context = await browser.newContext()
  const page = await context.newPage()
  await page.goto(`${base}/`)
  if (lang === 'cy') {
    await page.click('a[hreflang="cy"]')
    check(await page.getAttribute('html', 'lang') === 'cy', 'language toggle sets lang="cy"')
  }
  await axe(page, `sign in (${lang})`)
  await shot(page, `${lang}-01-sign-in`)
  await page.fill('#username', 'alice')
  await page.fill('#password', 'wrong password')
  await page.click('form[action="/sign-in"] button')
  check(await page.isVisible('.govuk-error-summary'), 'a wrong password shows the error summary')
  await axe(page, `sign in error (${lang})`)
  // Then in through the force's identity provider (idp.mjs) as the person linked to E14.
  const before = idp.stats.tokens
  await page.click('a[href="/sign-in/idp"]')
  await page.waitForURL(`${base}/`)
  check(idp.stats.tokens === before + 1, 'signed in through the test OIDC provider (code exchanged once, PKCE checked)')
  const cookies = await context.cookies()
  const session = cookies.find((c) => c.name === 'declare_session')
  check(session && session.httpOnly && session.sameSite === 'Lax', 'session cookie is HttpOnly and SameSite=Lax')
  check(!page.url().includes('alice'), 'no personal data in the URL')
  await axe(page, `start (${lang})`)
  await shot(page, `${lang}-02-start`)

  // Consent: first decline (nothing stored), then agree.
  await page.goto(`${base}/declare/privacy`)
  await axe(page, `privacy (${lang})`)
  await shot(page, `${lang}-03-privacy`)
  if (lang === 'en') {
    await page.click('form[action="/declare/privacy"] button[type=submit]')
    check((await page.textContent('h1')).includes('Nothing has been stored'), 'declining stores nothing')
    await axe(page, `declined (${lang})`)
    await page.goto(`${base}/declare/privacy`)
  }
  await page.check('#purpose-equality_monitoring')
  await page.click('form[action="/declare/privacy"] button[type=submit]')
  check(page.url().endsWith('/declare/answers'), 'agreeing leads to the form')

  // The form: a gateway answer revealing its detail list, 'Prefer not to say', blanks.
  await axe(page, `form (${lang})`)
  check(!(await page.isVisible('#conditional-disability-yes')), 'detail lists are hidden until the answer reveals them')
  await page.check('#disability-yes')
  check(await page.isVisible('#conditional-disability-yes'), 'answering yes reveals the detail lists')
  await page.selectOption('#disability-day_to_day_impact', { index: 1 })
  await page.check('#sex-prefer_not_to_say')
  await page.check('#age-age_26_40')
  await axe(page, `form revealed (${lang})`)
  await shot(page, `${lang}-04-form`)
  await page.click('form[action="/declare/check"] > button[type=submit]')

  // Check your answers: blank and 'Prefer not to say' look different; remove one.
  await axe(page, `check answers (${lang})`)
  await shot(page, `${lang}-05-check`)
  if (lang === 'cy') {
    // An answer the service refuses (an option the catalogue does not have, as a stale or
    // forged form would send): the form again, every message in Welsh.
    await page.evaluate(() => { document.querySelector('input[type=hidden][name="a.disability"]').value = 'maybe' })
    await page.click('form[action="/declare/save"] > button:not([formaction])')
    check(await page.isVisible('.govuk-error-summary'), 'a refused answer shows the error summary')
    const summary = (await page.textContent('.govuk-error-summary')).replace(/\s+/g, ' ').trim()
    check(summary.includes('Dewiswch un o’r opsiynau a ddangosir') && !summary.includes('is not an option'), `the error summary is in Welsh (${summary})`)
    check((await page.textContent('#disability-error')).includes('Dewiswch un o’r opsiynau'), 'the inline message is in Welsh')
    await axe(page, 'form with errors (cy)')
    await shot(page, 'cy-04b-form-errors')
    await page.check('#disability-yes')
    await page.selectOption('#disability-day_to_day_impact', { index: 1 })
    await page.click('form[action="/declare/check"] > button[type=submit]')
  }
  const blanks = await page.locator('.app-blank').count()
  check(blanks > 0, 'blank answers are shown as blank, apart from prefer not to say')
  await page.click('button[name=remove][value=age]')
  check(await page.locator('button[name=remove][value=age]').count() === 0, 'remove takes one answer out')
  await page.click('form[action="/declare/save"] > button:not([formaction])')
  check(page.url().endsWith('/declare/saved'), 'saving leads to the confirmation')
  await axe(page, `confirmation (${lang})`)
  await shot(page, `${lang}-06-saved`)

  // A stale save: the form read at one version, saved after another save.
  await page.goto(`${base}/declare/answers`)
  const other = await context.newPage()
  await other.goto(`${base}/declare/answers`)
  await other.check('#disability-no')
  await other.click('form[action="/declare/check"] > button[type=submit]')
  await other.click('form[action="/declare/save"] > button:not([formaction])')
  await page.check('#disability-prefer_not_to_say')
  await page.click('form[action="/declare/check"] > button[type=submit]')
  await page.click('form[action="/declare/save"] > button:not([formaction])')
  check(await page.isVisible('.govuk-warning-text'), 'a stale save shows the conflict')
  check((await page.inputValue('input[type=hidden][name="a.disability"]')) === 'prefer_not_to_say', 'the conflict keeps what was entered')
  await axe(page, `conflict (${lang})`)
  await shot(page, `${lang}-07-conflict`)
  await page.click('form[action="/declare/save"] > button:not([formaction])')
  check(page.url().endsWith('/declare/saved'), 'saving again after the conflict succeeds')
  await other.close()

  await page.goto(`${base}/declare/history`)
  check(await page.locator('.govuk-summary-list').count() >= 2, 'history lists the changes')
  await axe(page, `history (${lang})`)
  await page.goto(`${base}/`)
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.click('a[href="/declare/export"]')
  ])
  const exported = JSON.parse(readFileSync(await download.path(), 'utf8'))
  check(exported.declaration && exported.declaration.answers.disability.gateway === 'prefer_not_to_say', 'the export holds the answers')

  await page.goto(`${base}/declare/withdraw`)
  await axe(page, `withdraw (${lang})`)
  await shot(page, `${lang}-08-withdraw`)
  await page.click('form[action="/declare/withdraw"] button')
  await axe(page, `withdrawn (${lang})`)
  await page.goto(`${base}/declare/history`)
  check(await page.locator('.govuk-summary-list').count() === 0, 'withdrawal erased the history')

  // A form posted without its token is refused.
  const forged = await page.evaluate(async () => (await fetch('/declare/check', { method: 'POST', body: new URLSearchParams({ 'a.sex': 'male' }) })).status)
  check(forged === 403, 'a form without a CSRF token is refused')
  const headers = (await page.goto(`${base}/declare/answers`)).headers()
  check(headers['content-security-policy']?.includes("frame-ancestors 'none'") && !headers['content-security-policy'].includes('unsafe-inline'), 'CSP forbids framing and inline script')
  check(headers['cache-control'] === 'no-store', 'pages with personal data are not stored')
  const logouts = idp.stats.logouts
  await signOut(page)
  await page.waitForURL(`${base}/signed-out`, { timeout: 5000 }).catch(() => {})
  check(idp.stats.logouts === logouts + 1, 'signing out ends the session at the provider too')
  check(page.url() === `${base}/signed-out`, 'the provider sends the browser back to the signed-out page')
  check(!(await context.cookies()).some((c) => c.name === 'declare_session'), 'the session cookie is gone')
  await axe(page, `signed out (${lang})`)
  await page.goto(`${base}/declare/answers`)
  check(page.url().endsWith('/sign-in'), 'signed out: the form asks to sign in again')
  await context.close()
}

async function keyboardPass (browser, password) {
  console.log('keyboard-only pass of the declaration form')
  const context = await browser.newContext()
  const page = await context.newPage()
  await signIn(page, 'alice', password)
  await page.goto(`${base}/declare/privacy`)
  await page.focus('#purpose-equality_monitoring')
  await page.keyboard.press('Space')
  await page.keyboard.press('Tab')
  await page.keyboard.press('Tab')
  await page.keyboard.press('Enter')
  await page.waitForURL('**/declare/answers')
  check(page.url().endsWith('/declare/answers'), 'consent given with the keyboard')
  // Tab to the first radio of the first question, choose with the arrow keys.
  let reached = false
  for (let i = 0; i < 40 && !reached; i++) {
    await page.keyboard.press('Tab')
    reached = await page.evaluate(() => document.activeElement?.name === 'a.age')
  }
  check(reached, 'the first question is reachable by Tab')
  await page.keyboard.press('ArrowDown')
  const chosen = await page.evaluate(() => document.querySelector('input[name="a.age"]:checked')?.value)
  check(Boolean(chosen), 'arrow keys choose an answer')
  // GOV.UK Frontend draws the focus ring as a box-shadow on the label's ::before (the circle).
  const ring = await page.evaluate(() => ['::before', '::after'].map((p) => getComputedStyle(document.activeElement.nextElementSibling, p).boxShadow))
  check(ring.some((r) => r && r !== 'none'), `the focused answer shows a focus ring (${ring.join(' | ')})`)
  await page.focus('form[action="/declare/check"] > button[type=submit]')
  await page.keyboard.press('Enter')
  await page.waitForURL('**/declare/check')
  await page.focus('form[action="/declare/save"] > button:not([formaction])')
  await page.keyboard.press('Enter')
  await page.waitForURL('**/declare/saved')
  check(true, 'saved with the keyboard alone')
  await context.close()
}

async function stepsPass (browser, password) {
  console.log('one question per page, JavaScript off')
  const context = await browser.newContext({ javaScriptEnabled: false })
  const page = await context.newPage()
  await signIn(page, 'alice', password)
  await page.goto(`${base}/declare/answers`)
  await page.click('a[href="/declare/steps"]')
  check((await page.textContent('.govuk-caption-l')).includes('Question 1 of'), 'the steps start at the first question')
  check(await page.locator('input[type=radio][name^="a."]').evaluateAll((rs) => new Set(rs.map((r) => r.name)).size) === 1, 'one question per page')
  await page.check('#age-under_26')
  await page.click('button[name=go][value=next]')
  check((await page.textContent('.govuk-caption-l')).includes('Question 2 of'), 'Continue goes to the next question')
  await page.click('button[name=go][value=back]')
  check(await page.isChecked('#age-under_26'), 'Back returns with the answer kept')
  await page.click('button[name=go][value=next]')
  await page.check('#disability-no')
  let steps = 0
  while (await page.locator('button[name=go][value=next]').count() && steps < 30) {
    await page.click('button[name=go][value=next]')
    steps++
  }
  check(page.url().endsWith('/declare/steps') && !page.url().includes('?'), 'no answers in the URL')
  check(await page.locator('form[action="/declare/save"]').count() === 1, 'the last Continue leads to check your answers')
  check((await page.inputValue('input[type=hidden][name="a.age"]')) === 'under_26' && (await page.inputValue('input[type=hidden][name="a.disability"]')) === 'no', 'check your answers holds every step\'s answer')
  await page.click('form[action="/declare/save"] > button:not([formaction])')
  check(page.url().endsWith('/declare/saved'), 'saved from the steps with JavaScript off')
  await context.close()
  // axe on a step in both languages (axe itself needs JavaScript).
  for (const lang of ['en', 'cy']) {
    const context = await browser.newContext()
    const page = await context.newPage()
    await signIn(page, 'alice', password)
    if (lang === 'cy') await page.click('a[hreflang="cy"]')
    await page.goto(`${base}/declare/steps`)
    await axe(page, `one question per page (${lang})`)
    await shot(page, `${lang}-04c-step`)
    await context.close()
  }
}

async function dashboard (browser, password) {
  console.log('dashboard (edi_viewer)')
  for (const lang of ['en', 'cy']) {
    const context = await browser.newContext()
    const page = await context.newPage()
    await signIn(page, 'board', password)
    if (lang === 'cy') await page.click('a[hreflang="cy"]')
    check(page.url().includes('/dashboard'), `a viewer lands on the dashboard (${lang})`)
    await page.goto(`${base}/dashboard?characteristic=disability&by=staff_type`)
    await axe(page, `dashboard (${lang})`)
    await shot(page, `${lang}-09-dashboard`)
    if (lang === 'en') {
      const tok = await (await fetch(`${base}/oauth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'password', username: 'board', password })
      })).json()
      const api = await (await fetch(`${base}/v1/stats/completion?characteristic=disability&by=staff_type`, {
        headers: { authorization: `Bearer ${tok.access_token}` }
      })).json()
      const shown = await page.$$eval('#figures tbody tr', (rows) => rows.map((r) => [...r.children].map((c) => c.textContent.trim())))
      const expected = api.rows.map((r) => [r.label, String(r.headcount), ...r.cells.map((c) => c.count === 'suppressed' ? '[c]' : `${c.count}${c.percent === null || c.percent === 'suppressed' ? '' : ` (${Number(c.percent).toFixed(1)}%)`}`)])
      check(JSON.stringify(shown) === JSON.stringify(expected), `the table equals the API's figures ${JSON.stringify(shown)} vs ${JSON.stringify(expected)}`)
      check(shown.flat().includes('[c]') === api.rows.some((r) => r.cells.some((c) => c.count === 'suppressed')), 'suppressed cells are shown as [c]')
      check(await page.locator('svg.app-chart rect').count() > 0, 'an SVG bar chart is drawn beside the table')
      const csv = await page.evaluate(async (href) => (await fetch(href)).text(), await page.getAttribute('a[download][href^="/dashboard/completion.csv"]', 'href'))
      check(csv.includes('completion'), 'the CSV download serves the table')
      const dist = await (await fetch(`${base}/v1/stats/distribution?characteristic=disability&by=staff_type`, {
        headers: { authorization: `Bearer ${tok.access_token}` }
      })).json()
      const distShown = await page.$$eval('#distribution tbody tr', (rows) => rows.map((r) => [...r.children].map((c) => c.textContent.trim())))
      const distExpected = dist.rows.map((r) => [r.label, String(r.headcount), ...r.cells.map((c) => c.count === 'suppressed' ? '[c]' : `${c.count}${c.percent === null || c.percent === 'suppressed' ? '' : ` (${Number(c.percent).toFixed(1)}%)`}`)])
      check(JSON.stringify(distShown) === JSON.stringify(distExpected), 'the distribution table equals the API\'s')
      // The trend across snapshots: the API's, table and chart, and its CSV.
      const trend = await (await fetch(`${base}/v1/stats/trend?characteristic=disability`, {
        headers: { authorization: `Bearer ${tok.access_token}` }
      })).json()
      check(trend.points.length > 0, 'the seed took a snapshot')
      {
        const trendShown = await page.$$eval('#trend tbody tr', (rows) => rows.map((r) => [...r.children].map((c) => c.textContent.trim())))
        const trendExpected = trend.points.map((p) => {
          const whole = p.rows[0]
          const cell = (column) => shownCell(whole.cells.find((c) => c.column === column))
          return [`${p.snapshot.period} (${p.snapshot.kind})${p.snapshot.late ? ` – taken late, on ${p.snapshot.taken_at.slice(0, 10)}` : ''}`,
            String(whole.headcount), cell('declared'), cell('prefer_not_to_say'), cell('blank')]
        })
        check(JSON.stringify(trendShown) === JSON.stringify(trendExpected), `the trend table equals the API's trend ${JSON.stringify(trendShown)} vs ${JSON.stringify(trendExpected)}`)
        check(await page.locator('svg[aria-labelledby="trend-chart-title trend-chart-desc"] rect').count() > 0, 'an SVG chart of the trend is drawn beside it')
        const trendCsv = await page.evaluate(async (href) => (await fetch(href)).text(), await page.getAttribute('a[download][href^="/dashboard/trend.csv"]', 'href'))
        check(trendCsv.startsWith('title,Completion and declaration trend'), 'the trend CSV download serves the trend')
      }
      await page.goto(`${base}/dashboard?characteristic=disability&by=org_unit&level=1`)
      const units = await page.$$eval('#figures tbody th', (cells) => cells.map((c) => c.textContent.trim()))
      check(units.includes('North command') && units.includes('South command'), `command areas at level 1 (${units})`)
      await axe(page, 'dashboard by command area (en)')
      // Drill down by clicking the north command; the figures are the API's for that unit.
      check(await page.locator('#figures tbody th a', { hasText: 'South command' }).count() === 0, 'a unit with nothing under it is not a link')
      await page.click('#figures tbody th a:text-is("North command")')
      await page.waitForURL(/unit=/)
      const unit = new URL(page.url()).searchParams.get('unit')
      const scoped = await (await fetch(`${base}/v1/stats/completion?characteristic=disability&by=org_unit&unit=${unit}`, {
        headers: { authorization: `Bearer ${tok.access_token}` }
      })).json()
      const scopedShown = await page.$$eval('#figures tbody tr', (rows) => rows.map((r) => [...r.children].map((c) => c.textContent.trim())))
      const scopedExpected = scoped.rows.map((r) => [r.label, String(r.headcount), ...r.cells.map(shownCell)])
      check(scopedExpected.length > 0 && JSON.stringify(scopedShown) === JSON.stringify(scopedExpected), `clicking a unit shows the API's figures for its units ${JSON.stringify(scopedShown)} vs ${JSON.stringify(scopedExpected)}`)
      check((await page.textContent('#unit-trail [aria-current="page"]')).trim() === 'North command', 'the breadcrumb names the unit')
      await axe(page, 'dashboard drilled into a unit (en)')
      await shot(page, 'en-10-dashboard-unit')
      await page.click('#unit-trail a.govuk-breadcrumbs__link')
      const back = await page.$$eval('#figures tbody th', (cells) => cells.map((c) => c.textContent.trim()))
      check(back.includes('South command'), 'the breadcrumb goes back up to the command areas')
    }
    await context.close()
  }
}

// A published cell as the pages show it: [c], or the count and its rate.
function shownCell (c) {
  return c.count === 'suppressed' ? '[c]' : `${c.count}${c.percent === null || c.percent === 'suppressed' ? '' : ` (${Number(c.percent).toFixed(1)}%)`}`
}

async function hrPage (browser, password) {
  console.log('HR: who is due to declare')
  for (const lang of ['en', 'cy']) {
    const context = await browser.newContext()
    const page = await context.newPage()
    await signIn(page, 'hradmin', password)
    if (lang === 'cy') await page.click('a[hreflang="cy"]')
    check(page.url().endsWith('/hr/reviews'), `HR lands on the review list (${lang})`)
    const numbers = await page.$$eval('#reviews tbody td:first-child', (cells) => cells.map((c) => c.textContent.trim()))
    check(numbers.includes('E40'), 'people who never declared are listed by employee number')
    await axe(page, `HR reviews (${lang})`)
    // One unit, chosen with the filter (a GET form, no script needed).
    await page.selectOption('#unit', 'south')
    await page.click('form[action="/hr/reviews"] button')
    await page.waitForURL(/unit=south/)
    const units = await page.$$eval('#reviews tbody td:nth-child(2)', (cells) => cells.map((c) => c.textContent.trim()))
    check(units.length > 0 && units.every((u) => u.endsWith('(south)')), `the unit filter lists that unit only (${lang})`)
    await axe(page, `HR reviews of one unit (${lang})`)
    if (lang === 'en') await shot(page, 'en-11-hr-unit')
    await context.close()
  }
}

createOrg({ bin, env: cliEnv })
const server = spawn(bin, ['serve'], { env, stdio: ['ignore', 'inherit', 'inherit'] })
let browser
try {
  await waitForServer()
  const { password } = await seed({ base, bin, env: cliEnv, subject })
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync']
  })
  await staffJourney(browser, 'en', password)
  await staffJourney(browser, 'cy', password)
  await keyboardPass(browser, password)
  await stepsPass(browser, password)
  check(idp.stats.refusals.length === 0, `the test provider refused nothing (${idp.stats.refusals.join('; ')})`)
  await dashboard(browser, password)
  await hrPage(browser, password)
} catch (e) {
  failures++
  console.error(e)
} finally {
  await browser?.close()
  server.kill('SIGTERM')
  await idp.close()
  rmSync(dataDir, { recursive: true, force: true })
}
// `--readme`: the README's two screenshots are copied from this run.
if (!failures && process.argv.includes('--readme')) {
  mkdirSync(join(root, 'docs/screenshots'), { recursive: true })
  for (const name of ['cy-05-check', 'en-09-dashboard']) {
    copyFileSync(join(shots, `${name}.png`), join(root, 'docs/screenshots', `${name}.png`))
  }
}
console.log(failures ? `${failures} browser check(s) failed` : 'all browser checks passed')
console.log(`screenshots: ${shots}`)
process.exit(failures ? 1 : 0)
