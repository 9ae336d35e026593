import t, { type Test } from 'tap'
import { setTimeout as sleep } from 'node:timers/promises'
import {
  type AirbyteSimulator, type AirbyteSimulatorOptions, type JobResponse, startAirbyteSimulator
} from '../../../src/sandbox/airbyte/airbyte-simulator.js'

const BASIC = `Basic ${Buffer.from('airbyte:password').toString('base64')}`

interface Reply {
  status: number
  headers: Headers
  body: any
}

async function start (t: Test, opts: AirbyteSimulatorOptions = {}): Promise<AirbyteSimulator> {
  const sim = await startAirbyteSimulator(opts)
  t.teardown(() => sim.close())
  return sim
}

async function call (sim: AirbyteSimulator, method: string, path: string, body?: unknown,
  headers: Record<string, string> = { authorization: BASIC }): Promise<Reply> {
  const init: RequestInit = { method, headers: { ...headers } }
  if (body !== undefined) {
    init.body = typeof body === 'string' ? body : JSON.stringify(body)
    ;(init.headers as Record<string, string>)['content-type'] ??= 'application/json'
  }
  const res = await fetch(`${sim.url}${path}`, init)
  const text = await res.text()
  return { status: res.status, headers: res.headers, body: text === '' ? undefined : JSON.parse(text) }
}

async function until<T> (what: string, probe: () => Promise<T | undefined>, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    const value = await probe()
    if (value !== undefined) return value
    await sleep(25)
  }
  throw new Error(`timed out waiting for ${what}`)
}

function source (sim: AirbyteSimulator, name = 'pg', configuration: Record<string, unknown> = {}) {
  return call(sim, 'POST', '/sources', {
    name, workspaceId: sim.workspaceId, configuration: { sourceType: 'postgres', host: 'db', password: 'pw', ...configuration }
  })
}

function destination (sim: AirbyteSimulator, name = 'snow') {
  return call(sim, 'POST', '/destinations', {
    name, workspaceId: sim.workspaceId, configuration: { destinationType: 'snowflake', credentials: { password: 'pw' } }
  })
}

async function connection (sim: AirbyteSimulator, extra: Record<string, unknown> = {}) {
  const src = await source(sim)
  const dst = await destination(sim)
  return call(sim, 'POST', '/connections', { sourceId: src.body.sourceId, destinationId: dst.body.destinationId, ...extra })
}

t.test('a client-credentials token authorizes until its TTL passes, then answers 401 invalid-api-key', async (t) => {
  const sim = await start(t, { tokenTtlSeconds: 1 })
  const minted = await call(sim, 'POST', '/applications/token',
    { client_id: 'sim-client', client_secret: 'sim-secret', 'grant-type': 'client_credentials' }, {})
  t.equal(minted.status, 200)
  t.match(minted.body, { access_token: String, token_type: 'Bearer', expires_in: 1 })
  const bearer = { authorization: `Bearer ${minted.body.access_token as string}` }
  t.equal((await call(sim, 'GET', `/workspaces/${sim.workspaceId}`, undefined, bearer)).status, 200)
  const expired = await until('token expiry', async () => {
    const reply = await call(sim, 'GET', `/workspaces/${sim.workspaceId}`, undefined, bearer)
    return reply.status === 401 ? reply : undefined
  })
  t.match(expired.body, { status: 401, type: 'https://reference.airbyte.com/reference/errors#invalid-api-key' })
  t.equal(sim.state.tokensIssued, 1)
})

t.test('the token endpoint takes a form body and refuses wrong credentials with 401', async (t) => {
  const sim = await start(t)
  const form = { 'content-type': 'application/x-www-form-urlencoded' }
  const ok = await call(sim, 'POST', '/applications/token', 'client_id=sim-client&client_secret=sim-secret&grant_type=client_credentials', form)
  t.equal(ok.status, 200)
  t.equal(ok.body.expires_in, 900)
  const bad = await call(sim, 'POST', '/applications/token', { client_id: 'sim-client', client_secret: 'nope' }, {})
  t.equal(bad.status, 401)
  t.equal(bad.headers.get('content-type'), 'application/json')
})

t.test('basic auth and static bearer tokens are accepted; missing or wrong credentials get 401', async (t) => {
  const sim = await start(t, { bearerTokens: ['static-token'] })
  t.equal((await call(sim, 'GET', '/sources')).status, 200)
  t.equal((await call(sim, 'GET', '/sources', undefined, { authorization: 'Bearer static-token' })).status, 200)
  const none = await call(sim, 'GET', '/sources', undefined, {})
  t.equal(none.status, 401)
  t.equal(none.body.type, 'https://reference.airbyte.com/reference/errors#invalid-api-key')
  const wrong = `Basic ${Buffer.from('airbyte:wrong').toString('base64')}`
  t.equal((await call(sim, 'GET', '/sources', undefined, { authorization: wrong })).status, 401)
})

t.test('creates answer 200 and are not idempotent: the same body twice makes two sources', async (t) => {
  const sim = await start(t)
  const first = await source(sim, 'same-name')
  const second = await source(sim, 'same-name')
  t.equal(first.status, 200)
  t.equal(second.status, 200)
  t.not(first.body.sourceId, second.body.sourceId)
  t.match(first.body, { sourceType: 'postgres', definitionId: 'decd338e-5647-4c0b-adf4-da0e75f5a750', createdAt: Number })
  const list = await call(sim, 'GET', `/sources?workspaceIds=${sim.workspaceId}`)
  t.equal(list.body.data.filter((s: any) => s.name === 'same-name').length, 2)
})

t.test('secrets come back masked and a PATCH sending the mask keeps the stored secret', async (t) => {
  const sim = await start(t)
  const created = await source(sim, 'pg', { tunnel: { ssh_key: 'k1' } })
  t.same(created.body.configuration, { sourceType: 'postgres', host: 'db', password: '**********', tunnel: { ssh_key: '**********' } })
  const id = created.body.sourceId as string
  const patched = await call(sim, 'PATCH', `/sources/${id}`, { name: 'renamed', configuration: { ...created.body.configuration, host: 'db2' } })
  t.equal(patched.status, 200)
  t.match(patched.body, { name: 'renamed', configuration: { host: 'db2', password: '**********' } })
  t.match(sim.state.sources.get(id)?.configuration, { host: 'db2', password: 'pw', tunnel: { ssh_key: 'k1' } })
  await call(sim, 'PATCH', `/sources/${id}`, { configuration: { sourceType: 'postgres', password: 'new' } })
  t.same(sim.state.sources.get(id)?.configuration, { sourceType: 'postgres', password: 'new' }, 'PATCH replaces the configuration')
})

t.test('pagination sends next even on the last short page and previous after the first', async (t) => {
  const sim = await start(t)
  for (let i = 0; i < 5; i++) await source(sim, `s${i}`)
  const pages = []
  for (let offset = 0; offset <= 6; offset += 2) pages.push((await call(sim, 'GET', `/sources?limit=2&offset=${offset}`)).body)
  t.same(pages.map((p) => p.data.map((s: any) => s.name)), [['s0', 's1'], ['s2', 's3'], ['s4'], []])
  t.match(pages[2].next, /\/api\/public\/v1\/sources\?.*offset=6/, 'the last short page still has next')
  t.notOk(pages[3].next, 'an empty page has no next')
  t.notOk(pages[0].previous)
  t.match(pages[1].previous, /offset=0/)
  t.equal((await call(sim, 'GET', '/sources?limit=0')).status, 400)
  t.equal((await call(sim, 'GET', '/sources?limit=101')).status, 400)
})

t.test('workspaceIds filters accept exploded and comma-joined forms', async (t) => {
  const sim = await start(t)
  await source(sim)
  const other = '00000000-0000-4000-8000-00000000ffff'
  t.equal((await call(sim, 'GET', `/sources?workspaceIds=${other},${sim.workspaceId}`)).body.data.length, 1)
  t.equal((await call(sim, 'GET', `/sources?workspaceIds=${other}&workspaceIds=${sim.workspaceId}`)).body.data.length, 1)
  t.equal((await call(sim, 'GET', `/sources?workspaceIds=${other}`)).body.data.length, 0)
})

t.test('a create names its connector by definitionId or short type; neither is 422, an unknown type 400', async (t) => {
  const sim = await start(t)
  const none = await call(sim, 'POST', '/sources', { name: 'x', workspaceId: sim.workspaceId, configuration: { host: 'h' } })
  t.equal(none.status, 422)
  t.equal(none.body.type, 'https://reference.airbyte.com/reference/errors#unprocessable-entity')
  const unknown = await call(sim, 'POST', '/sources', { name: 'x', workspaceId: sim.workspaceId, configuration: { sourceType: 'oracle' } })
  t.match(unknown, { status: 400, body: { type: /#value-not-found$/ } })
  const byId = await call(sim, 'POST', '/destinations',
    { name: 'd', workspaceId: sim.workspaceId, definitionId: '4816b78f-1489-44c1-9060-4b19d5fa9362', configuration: {} })
  t.match(byId, { status: 200, body: { destinationType: 's3' } })
})

t.test('rejectConfig turns a configuration into 422 with the validator text in data.message', async (t) => {
  const sim = await start(t)
  sim.faults.rejectConfig = (kind, config) => kind === 'source' && config.port === 'x' ? '$.port: string found, integer expected' : undefined
  const rejected = await source(sim, 'pg', { port: 'x' })
  t.match(rejected, { status: 422, body: { data: { message: '$.port: string found, integer expected' } } })
  t.equal((await source(sim, 'pg', { port: 5432 })).status, 200)
})

t.test('the stream catalog follows the configuration and fullonly_ streams support only full refresh', async (t) => {
  const sim = await start(t)
  const plain = await source(sim)
  const listed = await source(sim, 'listed', { streams: ['a', 'fullonly_b'] })
  const defaults = await call(sim, 'GET', `/streams?sourceId=${plain.body.sourceId as string}`)
  t.same(defaults.body.map((s: any) => s.streamName), ['users', 'orders', 'products'])
  const custom = await call(sim, 'GET', `/streams?sourceId=${listed.body.sourceId as string}`)
  t.same(custom.body[1], {
    streamName: 'fullonly_b',
    syncModes: ['full_refresh_overwrite', 'full_refresh_append'],
    defaultCursorField: [],
    sourceDefinedCursorField: false,
    sourceDefinedPrimaryKey: [['id']],
    propertyFields: [['id'], ['name']]
  })
  t.equal((await call(sim, 'GET', '/streams?sourceId=00000000-0000-4000-8000-000000000999')).status, 404)
})

t.test('a connection without configurations selects every stream with full_refresh_overwrite', async (t) => {
  const sim = await start(t)
  const created = await connection(sim)
  t.equal(created.status, 200)
  t.match(created.body, { status: 'active', schedule: { scheduleType: 'manual' }, namespaceDefinition: 'destination', workspaceId: sim.workspaceId })
  t.same(created.body.configurations.streams.map((s: any) => [s.name, s.syncMode]),
    [['users', 'full_refresh_overwrite'], ['orders', 'full_refresh_overwrite'], ['products', 'full_refresh_overwrite']])
})

t.test('a connection naming an unknown stream or an unsupported sync mode is a 400 naming it', async (t) => {
  const sim = await start(t)
  const src = await source(sim, 'pg', { tables: ['fullonly_x'] })
  const dst = await destination(sim)
  const base = { sourceId: src.body.sourceId, destinationId: dst.body.destinationId }
  const unknown = await call(sim, 'POST', '/connections', { ...base, configurations: { streams: [{ name: 'nope' }] } })
  t.match(unknown, { status: 400, body: { type: /#bad-request$/, detail: /nope/ } })
  const mode = await call(sim, 'POST', '/connections', { ...base, configurations: { streams: [{ name: 'fullonly_x', syncMode: 'incremental_append' }] } })
  t.match(mode, { status: 400, body: { detail: /incremental_append.*fullonly_x/ } })
  const missing = await call(sim, 'POST', '/connections', { ...base, sourceId: '00000000-0000-4000-8000-000000000999' })
  t.match(missing, { status: 404, body: { data: { resourceType: 'source' } } })
})

t.test('a cron schedule is read back with " UTC" appended and a malformed one is a 400', async (t) => {
  const sim = await start(t)
  const created = await connection(sim, { schedule: { scheduleType: 'cron', cronExpression: '0 0 12 * * ?' } })
  t.same(created.body.schedule, { scheduleType: 'cron', cronExpression: '0 0 12 * * ? UTC' })
  const read = await call(sim, 'GET', `/connections/${created.body.connectionId as string}`)
  t.equal(read.body.schedule.cronExpression, '0 0 12 * * ? UTC')
  const bad = await call(sim, 'PATCH', `/connections/${created.body.connectionId as string}`, { schedule: { scheduleType: 'cron', cronExpression: '0 12 * * *' } })
  t.equal(bad.status, 400)
  const roundTripped = await call(sim, 'PATCH', `/connections/${created.body.connectionId as string}`, { schedule: read.body.schedule })
  t.equal(roundTripped.status, 400, 'sending the read-back " UTC" form is refused')
})

t.test('a sync goes pending -> succeeded with an integer job id and reports rows per stream', async (t) => {
  const sim = await start(t, { syncDurationMs: 200 })
  const conn = await connection(sim)
  const started = await call(sim, 'POST', '/jobs', { connectionId: conn.body.connectionId, jobType: 'sync' })
  t.equal(started.status, 200)
  t.ok(Number.isInteger(started.body.jobId), 'jobId is an integer')
  t.match(started.body, { status: 'pending', jobType: 'sync', startTime: String })
  t.notOk('lastUpdatedAt' in started.body, 'no lastUpdatedAt before the job ends')
  const done = await until('sync to end', async () => {
    const job: JobResponse = (await call(sim, 'GET', `/jobs/${started.body.jobId as number}`)).body
    return ['succeeded', 'failed', 'cancelled'].includes(job.status) ? job : undefined
  })
  t.match(done, { status: 'succeeded', rowsSynced: 300, bytesSynced: Number, duration: 'PT0.2S', lastUpdatedAt: String })
  t.equal(sim.state.jobs.get(started.body.jobId)?.status, 'succeeded')
})

t.test('a second sync on a busy connection is a 409 try-again-later and the running job can be found', async (t) => {
  const sim = await start(t, { syncDurationMs: 2000 })
  const conn = await connection(sim)
  const connectionId = conn.body.connectionId as string
  const first = await call(sim, 'POST', '/jobs', { connectionId, jobType: 'sync' })
  const second = await call(sim, 'POST', '/jobs', { connectionId, jobType: 'sync' })
  t.match(second, {
    status: 409,
    body: { type: /#try-again-later$/, detail: 'Please try again later.', data: { message: `A sync is already running for: ${connectionId}` } }
  })
  const running = await until('the job to run', async () => {
    const list = await call(sim, 'GET', `/jobs?connectionId=${connectionId}&status=running&orderBy=createdAt|DESC&limit=1`)
    return list.body.data[0] as JobResponse | undefined
  })
  t.equal(running.jobId, first.body.jobId)
  const cancelled = await call(sim, 'DELETE', `/jobs/${running.jobId}`)
  t.match(cancelled, { status: 200, body: { status: 'cancelled' } })
  t.match(await call(sim, 'DELETE', `/jobs/${running.jobId}`), { status: 409, body: { type: /#state-conflict$/ } })
})

t.test('failSyncs makes new syncs end failed', async (t) => {
  const sim = await start(t, { syncDurationMs: 50 })
  sim.faults.failSyncs = true
  const conn = await connection(sim)
  const job = await call(sim, 'POST', '/jobs', { connectionId: conn.body.connectionId, jobType: 'sync' })
  const done = await until('failure', async () => {
    const reply = await call(sim, 'GET', `/jobs/${job.body.jobId as number}`)
    return reply.body.status === 'failed' ? reply.body : undefined
  })
  t.equal(done.rowsSynced, 0)
})

t.test('incompleteFirst syncs report incomplete before they succeed; a clear reports zero rows', async (t) => {
  const sim = await start(t, { syncDurationMs: 400 })
  sim.faults.incompleteFirst = true
  const conn = await connection(sim)
  const connectionId = conn.body.connectionId as string
  const job = await call(sim, 'POST', '/jobs', { connectionId, jobType: 'sync' })
  const seen = new Set<string>()
  const done = await until('sync to succeed', async () => {
    const reply = await call(sim, 'GET', `/jobs/${job.body.jobId as number}`)
    seen.add(reply.body.status)
    return reply.body.status === 'succeeded' ? reply.body : undefined
  })
  t.ok(seen.has('incomplete'), `statuses seen: ${[...seen].join(', ')}`)
  t.equal(done.rowsSynced, 300)
  const clear = await call(sim, 'POST', '/jobs', { connectionId, jobType: 'clear' })
  t.equal(clear.body.jobId, job.body.jobId + 1, 'job ids increment')
  const cleared = await until('clear to end', async () => {
    const reply = await call(sim, 'GET', `/jobs/${clear.body.jobId as number}`)
    return reply.body.status === 'succeeded' ? reply.body : undefined
  })
  t.equal(cleared.rowsSynced, 0)
})

t.test('latencyMs delays every reply', async (t) => {
  const sim = await start(t)
  sim.faults.latencyMs = 100
  const startedAt = Date.now()
  t.equal((await call(sim, 'GET', '/sources')).status, 200)
  t.ok(Date.now() - startedAt >= 95, 'the reply waited for the injected latency')
})

t.test('delete answers 204 with an empty body, then the resource is 404 resource-not-found', async (t) => {
  const sim = await start(t)
  const id = (await source(sim)).body.sourceId as string
  const deleted = await call(sim, 'DELETE', `/sources/${id}`)
  t.equal(deleted.status, 204)
  t.equal(deleted.body, undefined)
  const gone = await call(sim, 'GET', `/sources/${id}`)
  t.match(gone, { status: 404, body: { type: /#resource-not-found$/, data: { resourceType: 'source', resourceId: id } } })
  t.equal((await call(sim, 'DELETE', `/sources/${id}`)).status, 404)
})

t.test('deleting a source deletes the connections that use it', async (t) => {
  const sim = await start(t)
  const conn = await connection(sim)
  t.equal((await call(sim, 'DELETE', `/sources/${conn.body.sourceId as string}`)).status, 204)
  t.equal((await call(sim, 'GET', `/connections/${conn.body.connectionId as string}`)).status, 404)
  t.equal(sim.state.connections.size, 0)
})

t.test('an injected 429 has the bare rate-limit body, no Retry-After, and is consumed once', async (t) => {
  const sim = await start(t)
  sim.faults.failNext = [{ status: 429, path: /\/sources$/, method: 'GET' }]
  t.equal((await call(sim, 'GET', '/destinations')).status, 200, 'a non-matching request is not affected')
  const limited = await call(sim, 'GET', '/sources')
  t.equal(limited.status, 429)
  t.same(limited.body, { message: 'You are being rate limited.' })
  t.equal(limited.headers.get('retry-after'), null)
  t.equal((await call(sim, 'GET', '/sources')).status, 200)
  t.same(sim.requests.map((r) => r.status), [200, 429, 200])
})

t.test('a drop fault destroys the socket so fetch rejects', async (t) => {
  const sim = await start(t)
  sim.faults.failNext = [{ status: 'drop', path: /\/jobs/ }]
  await t.rejects(call(sim, 'POST', '/jobs', { connectionId: 'x', jobType: 'sync' }))
  t.same(sim.requests.at(-1), { method: 'POST', path: '/api/public/v1/jobs', status: 0 })
})

t.test('injected 503 and 500 faults answer problem objects; resetFaults clears them', async (t) => {
  const sim = await start(t)
  sim.faults.failNext = [{ status: 503 }, { status: 500 }]
  t.match(await call(sim, 'GET', '/sources'), { status: 503, body: { type: /#service-unavailable$/ } })
  t.match(await call(sim, 'GET', '/sources'), { status: 500, body: { type: /#unexpected-problem$/ } })
  sim.faults.errorRate = { rate: 1, status: 503 }
  sim.resetFaults()
  t.equal((await call(sim, 'GET', '/sources')).status, 200)
})

t.test('unknown routes are 404, wrong methods 405, and invalid JSON is 400 bad-request', async (t) => {
  const sim = await start(t)
  t.equal((await call(sim, 'GET', '/nowhere')).status, 404)
  t.equal((await call(sim, 'PUT', '/sources')).status, 405)
  t.match(await call(sim, 'POST', '/sources', '{not json'), { status: 400, body: { type: /#bad-request$/ } })
  t.match(await call(sim, 'GET', '/workspaces/00000000-0000-4000-8000-000000000999'), { status: 404 })
})
