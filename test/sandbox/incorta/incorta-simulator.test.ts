import t, { type Test } from 'tap'
import { startIncortaSimulator, type IncortaSimulator, type IncortaSimulatorOptions } from '../../../src/sandbox/incorta/incorta-simulator.js'

async function sim (t: Test, opts: IncortaSimulatorOptions = {}): Promise<IncortaSimulator> {
  const s = await startIncortaSimulator(opts)
  t.teardown(() => s.close())
  return s
}

async function call (s: IncortaSimulator, method: string, path: string, body?: unknown, token = s.pat): Promise<{ status: number, body: any }> {
  const res = await fetch(`${s.url}/incorta/api/v2${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body)
  })
  const text = await res.text()
  return { status: res.status, body: text === '' ? undefined : JSON.parse(text) }
}

async function token (s: IncortaSimulator, form: Record<string, string>): Promise<{ status: number, body: any }> {
  const res = await fetch(s.tokenUrl, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(form).toString() })
  return { status: res.status, body: await res.json() }
}

t.test('the Bearer check: no token and a wrong token are 401, a user without Enable Public API is 403', async (t) => {
  const s = await sim(t)
  t.equal((await call(s, 'POST', '/demo/schema/list', {}, '')).status, 401)
  const wrong = await call(s, 'POST', '/demo/schema/list', {}, 'nope-nope-nope')
  t.equal(wrong.status, 401)
  t.match(wrong.body.message, /^INC_\d+: /)
  s.addPat('viewer-token-123456', 'viewer')
  const denied = await call(s, 'POST', '/demo/schema/list', {}, 'viewer-token-123456')
  t.equal(denied.status, 403)
  t.match(denied.body.message, /Public API/)
})

t.test('the tenant is in the path and case-sensitive', async (t) => {
  const s = await sim(t)
  t.equal((await call(s, 'POST', '/demo/schema/list', {})).status, 200)
  const other = await call(s, 'POST', '/Demo/schema/list', {})
  t.equal(other.status, 404)
  t.match(other.body.message, /Tenant \[Demo\]/)
})

t.test('schema list pages with limit and offset and reports the total; limit above 200 is refused', async (t) => {
  const names = Array.from({ length: 450 }, (_, i) => `s${String(i).padStart(3, '0')}`)
  const s = await sim(t, { tenants: { big: { schemas: names, businessSchemas: ['biz'] } } })
  const first = await call(s, 'POST', '/big/schema/list?schemaType=ALL', { limit: 200, offset: 0 })
  t.equal(first.body.total, 451)
  t.equal(first.body.schemasDetails.length, 200)
  t.same(Object.keys(first.body.schemasDetails[0]).sort(), ['schemaDescription', 'schemaID', 'schemaName', 'schemaType'])
  const last = await call(s, 'POST', '/big/schema/list?schemaType=PHYSICAL', { limit: 200, offset: 400 })
  t.equal(last.body.schemasDetails.length, 50)
  t.equal(last.body.total, 450)
  t.equal((await call(s, 'POST', '/big/schema/list', { limit: 201 })).status, 400)
})

t.test('a schema load moves In Queue -> In Progress -> Succeeded, one step per request', async (t) => {
  const s = await sim(t, { clock: { queueSteps: 1, runSteps: 2 } })
  const accepted = await call(s, 'POST', '/demo/schema/load', { schemaNames: ['sales'], loadSource: 'FULL' })
  t.equal(accepted.status, 200)
  t.same(accepted.body, { loadingStatus: { sales: 'In Queue' } })
  const states: string[] = []
  for (let i = 0; i < 4; i++) states.push((await call(s, 'GET', '/demo/schema/sales/status')).body.physicalSchemaDetails.loadJobs[0].status)
  t.same(states, ['In Progress', 'In Progress', 'Succeeded', 'Succeeded'])
})

t.test('manual clock: nothing moves until advance()', async (t) => {
  const s = await sim(t, { clock: { stepPerRequest: false } })
  await call(s, 'POST', '/demo/schema/load', { schemaNames: ['hr'] })
  t.equal((await call(s, 'GET', '/demo/schema/hr/status')).body.physicalSchemaDetails.loadJobs[0].status, 'In Queue')
  s.advance(3)
  t.equal((await call(s, 'GET', '/demo/schema/hr/status')).body.physicalSchemaDetails.loadJobs[0].status, 'Succeeded')
})

t.test('a configured failure ends the load with its state and message, in the last-load variant and upper spelling', async (t) => {
  const s = await sim(t, { bodies: { variant: 'last-load', spelling: 'upper' }, clock: { stepPerRequest: false } })
  s.failSchema('sales', 'Finished With Errors', 'table ORDERS: 12 rows rejected')
  await call(s, 'POST', '/demo/schema/load', { schemaNames: ['sales'] })
  s.advance(5)
  const body = (await call(s, 'GET', '/demo/schema/sales/status')).body
  t.equal(body.physicalSchemaDetails.lastLoadStatus.loadJobStatus, 'FINISHED_WITH_ERRORS')
  t.equal(body.physicalSchemaDetails.lastLoadStatus.errorMessage, 'table ORDERS: 12 rows rejected')
  t.match(body.physicalSchemaDetails.lastLoadStatus.loadStartTime, /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{3}$/)
})

t.test('unknown schemas, business schemas and a bad loadSource are 400 INC_ errors', async (t) => {
  const s = await sim(t, { tenants: { demo: { schemas: ['sales'], businessSchemas: ['biz'] } } })
  for (const body of [{ schemaNames: ['nope'] }, { schemaNames: ['biz'] }, { schemaNames: ['sales'], loadSource: 'WEEKLY' }, { schemaNames: [] }]) {
    const res = await call(s, 'POST', '/demo/schema/load', body)
    t.equal(res.status, 400)
    t.match(res.body.message, /^INC_\d+: /)
  }
})

t.test('load plans: an execution id, status by level, and the already-running 400 without an id', async (t) => {
  const s = await sim(t, { clock: { stepPerRequest: false } })
  const first = await call(s, 'POST', '/demo/load-plan/execute', { loadPlanName: 'nightly' })
  t.equal(first.status, 200)
  t.type(first.body.loadPlanExecutionId, 'number')
  const again = await call(s, 'POST', '/demo/load-plan/execute', { loadPlanName: 'nightly' })
  t.equal(again.status, 400)
  t.same(again.body, { message: 'INC_05290501: A load job cannot be started as another job of the same load plan is being executed.' })
  const id = first.body.loadPlanExecutionId as number
  t.equal((await call(s, 'GET', `/demo/load-plan/status/${id}?level=1`)).body.status, 'In Queue')
  s.advance(3)
  const done = (await call(s, 'GET', `/demo/load-plan/status/${id}?level=3`)).body
  t.equal(done.status, 'Succeeded')
  t.same(done.groups[0].schemas.map((x: { schemaName: string }) => x.schemaName), ['sales', 'hr'])
  t.equal((await call(s, 'POST', '/demo/load-plan/execute', { loadPlanName: 'nightly' })).status, 200)
  t.equal((await call(s, 'POST', '/demo/load-plan/execute', { loadPlanName: 'weekly' })).status, 400)
})

t.test('a failing plan reports the failing schema with its message in the second variant', async (t) => {
  const s = await sim(t, { clock: { stepPerRequest: false }, bodies: { variant: 'last-load', spelling: 'upper' } })
  s.failSchema('hr', 'Failed', 'source connection refused')
  const id = (await call(s, 'POST', '/demo/load-plan/execute', { loadPlanName: 'nightly' })).body.loadPlanExecutionId as number
  s.advance(5)
  const body = (await call(s, 'GET', `/demo/load-plan/status/${id}?level=3`)).body
  t.equal(body.execution.executionStatus, 'FAILED')
  const hr = body.details.loadGroups[0].schemaLoads.find((x: { schema: string }) => x.schema === 'hr')
  t.same(hr, { schema: 'hr', loadStatus: 'FAILED', errorMessage: 'source connection refused' })
})

t.test('OIDC token endpoint: Keycloak shapes, refresh, invalid_grant, invalid_client, and the JWT works on Incorta', async (t) => {
  const s = await sim(t)
  const cc = await token(s, { grant_type: 'client_credentials', client_id: 'incorta-client', client_secret: 'incorta-secret' })
  t.equal(cc.status, 200)
  t.equal(cc.body.refresh_expires_in, 0)
  t.equal(cc.body.refresh_token, undefined)
  t.equal(cc.body.token_type, 'Bearer')
  t.equal((await call(s, 'POST', '/demo/schema/list', {}, cc.body.access_token)).status, 200)

  const pw = await token(s, { grant_type: 'password', client_id: 'incorta-client', client_secret: 'incorta-secret', username: 'loader', password: 'loader-password' })
  t.type(pw.body.refresh_token, 'string')
  t.ok(pw.body.expires_in > 0 && pw.body.refresh_expires_in > 0)
  const refreshed = await token(s, { grant_type: 'refresh_token', client_id: 'incorta-client', client_secret: 'incorta-secret', refresh_token: pw.body.refresh_token })
  t.equal(refreshed.status, 200)
  const reused = await token(s, { grant_type: 'refresh_token', client_id: 'incorta-client', client_secret: 'incorta-secret', refresh_token: pw.body.refresh_token })
  t.same([reused.status, reused.body.error, reused.body.error_description], [400, 'invalid_grant', 'Token is not active'])
  const badPw = await token(s, { grant_type: 'password', client_id: 'incorta-client', client_secret: 'incorta-secret', username: 'loader', password: 'x' })
  t.same([badPw.status, badPw.body.error], [401, 'invalid_grant'])
  const badClient = await token(s, { grant_type: 'client_credentials', client_id: 'incorta-client', client_secret: 'wrong' })
  t.same([badClient.status, badClient.body.error], [401, 'invalid_client'])
  t.equal((await token(s, { grant_type: 'implicit', client_id: 'incorta-client' })).body.error, 'unsupported_grant_type')

  s.oidc.expireAll()
  t.equal((await call(s, 'POST', '/demo/schema/list', {}, refreshed.body.access_token)).status, 401)
})

t.test('a rotated PAT stops working and the new one works; an expired one is refused', async (t) => {
  const s = await sim(t)
  s.addPat('short-lived-token-1', 'admin', Date.now() + 3_600_000)
  t.equal((await call(s, 'POST', '/demo/schema/list', {}, 'short-lived-token-1')).status, 200)
  s.expirePat('short-lived-token-1')
  t.equal((await call(s, 'POST', '/demo/schema/list', {}, 'short-lived-token-1')).status, 401)
  const next = s.rotatePat(s.pat)
  t.equal((await call(s, 'POST', '/demo/schema/list', {})).status, 401)
  t.equal((await call(s, 'POST', '/demo/schema/list', {}, next)).status, 200)
})

t.test('faults: a 502 comes as HTML, a 500 as an INC body, both consumed once', async (t) => {
  const s = await sim(t)
  s.faults.failNext = [{ status: 502, path: /schema\/list/ }, { status: 500 }]
  const gateway = await fetch(`${s.url}/incorta/api/v2/demo/schema/list`, { method: 'POST', headers: { authorization: `Bearer ${s.pat}` } })
  t.equal(gateway.status, 502)
  t.match(await gateway.text(), /<html>/)
  const internal = await call(s, 'POST', '/demo/schema/list', {})
  t.equal(internal.status, 500)
  t.equal((await call(s, 'POST', '/demo/schema/list', {})).status, 200)
  t.same(s.requests.map((r) => r.status), [502, 500, 200])
})
