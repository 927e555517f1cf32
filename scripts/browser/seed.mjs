// Seeds a fresh Declare (already running at BASE, data in DATA_DIR) with a small force: a
// structure, 40 employees, an employee account for the journey (alice), declarations from
// twelve colleagues (so the figures have something to show) and an EDI viewer (board).
// Accounts are made with the CLI, as an operator would; everything else through the API. The
// organisation is made before the service starts (its single sign-on names it), with
// `createOrg`. A record takes one login, so the person signing in through the test identity
// provider is another employee, E14, linked by the provider's subject (`external_subject`).
import { execFileSync } from 'node:child_process'

const password = 'correct-horse-battery-staple'

export function createOrg ({ bin, env }) {
  execFileSync(bin, ['admin', 'create-org', '--code', 'demo', '--name', 'Demo Police'], { env, encoding: 'utf8' })
}

export async function seed ({ base, bin, env, subject }) {
  const cli = (args, input) => execFileSync(bin, args, { env, input, encoding: 'utf8' })
  cli(['admin', 'create-account', '--username', 'hradmin', '--org', 'demo', '--role', 'hr_admin', '--password-stdin'], password + '\n')
  cli(['admin', 'create-account', '--username', 'board', '--org', 'demo', '--role', 'edi_viewer', '--password-stdin'], password + '\n')

  const token = async (username) => {
    const r = await fetch(`${base}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'password', username, password })
    })
    if (!r.ok) throw new Error(`token for ${username}: ${r.status} ${await r.text()}`)
    return (await r.json()).access_token
  }
  const api = async (tok, method, path, body, headers = {}) => {
    const r = await fetch(`${base}${path}`, {
      method,
      headers: { authorization: `Bearer ${tok}`, 'content-type': 'application/json', ...headers },
      body: body === undefined ? undefined : (typeof body === 'string' ? body : JSON.stringify(body))
    })
    const text = await r.text()
    if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${text}`)
    return text ? JSON.parse(text) : null
  }

  const hr = await token('hradmin')
  const force = await api(hr, 'POST', '/v1/org-units', { code: 'force', name: 'Demo Police', kind: 'force', parent_id: null })
  for (const [code, name] of [['north', 'North command'], ['south', 'South command']]) {
    await api(hr, 'POST', '/v1/org-units', { code, name, kind: 'command_area', parent_id: force.id })
  }
  // A team under the north command, so the dashboard has a level to drill down to.
  const units = await api(hr, 'GET', '/v1/org-units')
  const north = (units.items ?? units).find((u) => u.code === 'north')
  await api(hr, 'POST', '/v1/org-units', { code: 'north-a', name: 'North response team', kind: 'team', parent_id: north.id })
  // Staff types (police_officer, police_staff, ...) come with every organisation.
  const rows = ['employee_number,external_subject,org_unit,staff_type,rank,fte,start_date,leave_date']
  for (let i = 1; i <= 40; i++) {
    const unit = i % 2 ? (i % 4 === 1 ? 'north-a' : 'north') : 'south'
    rows.push(`E${i},${i === 14 ? subject : ''},${unit},${i % 3 ? 'police_officer' : 'police_staff'},,1,2020-01-01,`)
  }
  await api(hr, 'POST', '/v1/sync/employees?mode=full', rows.join('\n') + '\n', { 'content-type': 'text/csv' })
  const employees = await api(hr, 'GET', '/v1/employees?limit=100')
  const items = employees.items ?? employees
  const idOf = (number) => items.find((e) => e.employee_number === number).id

  cli(['admin', 'create-account', '--username', 'alice', '--org', 'demo', '--role', 'employee', '--employee-id', idOf('E1'), '--password-stdin'], password + '\n')
  const answers = ['yes', 'no', 'prefer_not_to_say']
  for (let i = 2; i <= 13; i++) {
    cli(['admin', 'create-account', '--username', `staff${i}`, '--org', 'demo', '--role', 'employee', '--employee-id', idOf(`E${i}`), '--password-stdin'], password + '\n')
    const tok = await token(`staff${i}`)
    const consents = await api(tok, 'GET', '/v1/me/consents')
    await api(tok, 'PUT', '/v1/me/consents', { notice_version: consents.notice.version, purposes: { equality_monitoring: true } })
    await api(tok, 'PUT', '/v1/me/declaration', { answers: { disability: { gateway: answers[i % 3] } } }, { 'if-match': '"v0"' })
  }
  // A publication snapshot dated today, as an operator takes it (the default dates are
  // before this organisation existed, so nothing would be due), for the dashboard's trend.
  const today = new Date().toISOString().slice(5, 10)
  execFileSync(bin, ['stats', 'snapshot', '--org', 'demo', '--label', 'browser tests'], {
    env: { ...env, DECLARE_SNAPSHOT_PUBLICATION_DATES: today, DECLARE_SNAPSHOT_MONTHLY_DAY: 'none' },
    encoding: 'utf8'
  })
  return { password }
}
