import t, { type Test } from 'tap'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { PermanentUpstreamError, TransientUpstreamError } from '../../src/errors.js'
import { basicAuth, staticBearer, type CredentialProvider } from '../../src/outbound/credential-provider.js'
import { createUpstreamHttp, parseProblem, parseRetryAfter, type UpstreamHttpOptions } from '../../src/outbound/upstream-http.js'
import { type AirbyteSimulator, startAirbyteSimulator } from '../../src/sandbox/airbyte/airbyte-simulator.js'

type Reply = (req: IncomingMessage, res: ServerResponse) => void

/** A server answering with `replies` in turn (the last one repeats), recording each request. */
async function stub (t: Test, replies: Reply[]): Promise<{ url: string, hits: Array<{ method?: string, url?: string, at: number }> }> {
  const hits: Array<{ method?: string, url?: string, at: number }> = []
  const server = createServer((req, res) => {
    hits.push({ method: req.method, url: req.url, at: Date.now() })
    req.resume()
    const reply = replies[Math.min(hits.length - 1, replies.length - 1)] as Reply
    reply(req, res)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { server.closeAllConnections(); server.close() })
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, hits }
}

const json = (status: number, body: unknown, headers: Record<string, string> = {}, type = 'application/json'): Reply =>
  (_req, res) => { res.writeHead(status, { 'content-type': type, ...headers }).end(JSON.stringify(body)) }

async function simulator (t: Test): Promise<AirbyteSimulator> {
  const sim = await startAirbyteSimulator()
  t.teardown(() => sim.close())
  return sim
}

function http (baseUrl: string, extra: Partial<UpstreamHttpOptions> = {}) {
  return createUpstreamHttp({
    baseUrl, target: 'Airbyte', credentials: basicAuth('airbyte', 'password'), timeoutMs: 2000, retries: 3, retryBaseMs: 5, ...extra
  })
}

const statuses = (sim: AirbyteSimulator, path: RegExp): number[] => sim.requests.filter((r) => path.test(r.path)).map((r) => r.status)

t.test('a 429 without Retry-After backs off and then succeeds', async (t) => {
  const sim = await simulator(t)
  sim.faults.failNext = [{ status: 429 }, { status: 429 }]
  const res = await http(sim.url).request<{ workspaceId: string }>({ method: 'GET', path: `/workspaces/${sim.workspaceId}` })
  t.equal(res.status, 200)
  t.equal(res.body.workspaceId, sim.workspaceId)
  t.same(statuses(sim, /workspaces/), [429, 429, 200])
})

t.test('a 5xx then success is retried in-process', async (t) => {
  const sim = await simulator(t)
  sim.faults.failNext = [{ status: 500 }, { status: 503 }]
  const res = await http(sim.url).request({ method: 'GET', path: '/sources', query: { workspaceIds: sim.workspaceId } })
  t.equal(res.status, 200)
  t.same(statuses(sim, /sources/), [500, 503, 200])
})

t.test('a dropped connection is retried for a GET', async (t) => {
  const sim = await simulator(t)
  sim.faults.failNext = [{ status: 'drop' }]
  const res = await http(sim.url).request({ method: 'GET', path: `/workspaces/${sim.workspaceId}` })
  t.equal(res.status, 200)
  t.same(statuses(sim, /workspaces/), [0, 200])
})

t.test('a POST whose fate is unknown is not retried in-process, one refused before any work is', async (t) => {
  const sim = await simulator(t)
  const body = { name: 'pg', workspaceId: sim.workspaceId, configuration: { sourceType: 'postgres' } }
  sim.faults.failNext = [{ status: 'drop', method: 'POST' }]
  const err = await http(sim.url).request({ method: 'POST', path: '/sources', body }).catch((e: unknown) => e)
  t.type(err, TransientUpstreamError)
  t.match((err as Error).message, /may have been applied/)
  t.same(statuses(sim, /sources/), [0])

  sim.faults.failNext = [{ status: 429, method: 'POST' }, { status: 503, method: 'POST' }]
  const res = await http(sim.url).request({ method: 'POST', path: '/sources', body })
  t.equal(res.status, 200)
  t.equal(sim.state.sources.size, 1)
})

t.test('Retry-After in seconds is honoured', async (t) => {
  const server = await stub(t, [json(503, { message: 'busy' }, { 'retry-after': '1' }), json(200, { ok: true })])
  const res = await http(server.url).request<{ ok: boolean }>({ method: 'GET', path: '/x' })
  t.same(res.body, { ok: true })
  const waited = (server.hits[1]?.at ?? 0) - (server.hits[0]?.at ?? 0)
  t.ok(waited >= 950, `waited ${waited} ms`)
})

t.test('retry-after-ms is honoured', async (t) => {
  const server = await stub(t, [json(429, { message: 'slow down' }, { 'retry-after-ms': '300' }), json(200, {})])
  await http(server.url).request({ method: 'GET', path: '/x' })
  const waited = (server.hits[1]?.at ?? 0) - (server.hits[0]?.at ?? 0)
  t.ok(waited >= 280, `waited ${waited} ms`)
})

t.test('Retry-After as an HTTP date is understood', async (t) => {
  const now = Date.parse('2025-01-01T00:00:00Z')
  t.equal(parseRetryAfter(new Headers({ 'retry-after': 'Wed, 01 Jan 2025 00:00:05 GMT' }), now), 5000)
  t.equal(parseRetryAfter(new Headers({ 'retry-after': '7' }), now), 7000)
  t.equal(parseRetryAfter(new Headers({ 'retry-after-ms': '250' }), now), 250)
  t.equal(parseRetryAfter(new Headers({}), now), undefined)
})

t.test('a Retry-After longer than the in-process limit is handed to the engine', async (t) => {
  const server = await stub(t, [json(503, { message: 'maintenance' }, { 'retry-after': '120' })])
  const err = await http(server.url).request({ method: 'GET', path: '/x' }).catch((e: unknown) => e)
  t.type(err, TransientUpstreamError)
  t.equal((err as TransientUpstreamError).retryAfterMs, 120_000)
  t.equal(server.hits.length, 1)
})

t.test('retries exhausted -> TransientUpstreamError with the last reason', async (t) => {
  const sim = await simulator(t)
  sim.faults.failNext = Array.from({ length: 10 }, () => ({ status: 503 as const }))
  const err = await http(sim.url, { retries: 2 }).request({ method: 'GET', path: `/workspaces/${sim.workspaceId}` }).catch((e: unknown) => e)
  t.type(err, TransientUpstreamError)
  t.equal((err as TransientUpstreamError).upstreamStatus, 503)
  t.match((err as Error).message, /Airbyte GET \/workspaces\/\S+ still failing after 3 attempts: 503 service-unavailable/)
  t.equal(statuses(sim, /workspaces/).length, 3)
})

t.test('a permanent 422 quotes the validator text from data.message', async (t) => {
  const sim = await simulator(t)
  sim.faults.rejectConfig = () => '$.port: string found, integer expected'
  const id = 'x'
  const err = await http(sim.url).request({
    method: 'POST', path: '/sources', body: { name: 'pg', workspaceId: sim.workspaceId, configuration: { sourceType: 'postgres', password: 'hunter2', id } }
  }).catch((e: unknown) => e)
  t.type(err, PermanentUpstreamError)
  t.equal((err as Error).message, 'Airbyte rejected POST /sources: 422 unprocessable-entity: $.port: string found, integer expected')
  t.notMatch((err as Error).message, /hunter2/)
  t.equal(statuses(sim, /sources/).length, 1)
})

t.test('a 404 problem names the resource', async (t) => {
  const sim = await simulator(t)
  const err = await http(sim.url).request({ method: 'PATCH', path: '/sources/nope', body: { name: 'x' } }).catch((e: unknown) => e)
  t.type(err, PermanentUpstreamError)
  t.equal((err as PermanentUpstreamError).upstreamStatus, 404)
  t.equal((err as Error).message, 'Airbyte rejected PATCH /sources/nope: 404 resource-not-found: Could not find a resource for: nope')
})

t.test('okStatuses hand a status back with its problem instead of throwing', async (t) => {
  const sim = await simulator(t)
  const res = await http(sim.url).request({ method: 'DELETE', path: '/sources/nope', okStatuses: [404] })
  t.equal(res.status, 404)
  t.equal(res.problem?.type, 'resource-not-found')
})

t.test('problem+json and non-JSON error bodies are both read', async (t) => {
  const server = await stub(t, [
    json(400, { type: 'about:blank', title: 'Bad Request', detail: 'limit must be <= 100' }, {}, 'application/problem+json'),
    (_req, res) => { res.writeHead(403, { 'content-type': 'text/html' }).end(`<html><body>${'Forbidden by proxy '.repeat(40)}</body></html>`) }
  ])
  const api = http(server.url)
  const first = await api.request({ method: 'GET', path: '/a' }).catch((e: unknown) => e)
  t.equal((first as Error).message, 'Airbyte rejected GET /a: 400 Bad Request: limit must be <= 100')
  const second = await api.request({ method: 'GET', path: '/b' }).catch((e: unknown) => e)
  t.match((second as Error).message, /^Airbyte rejected GET \/b: 403: <html><body>Forbidden by proxy/)
  t.ok((second as Error).message.length < 360, 'the body is cut at 300 characters')
})

t.test('a target classify hook makes its busy 409 a refusal; without it a 409 is permanent', async (t) => {
  const busy = json(409, { status: 409, type: 'https://example.test/errors#busy', title: 'busy', detail: 'Please try again later.', data: { message: 'A job is already running for: c1' } })
  const server = await stub(t, [busy])
  const classify: UpstreamHttpOptions['classify'] = (status, problem) => status === 409 && problem.type === 'busy' ? 'refused' : undefined
  const err = await http(server.url, { retries: 1, classify }).request({ method: 'POST', path: '/x', body: {} }).catch((e: unknown) => e)
  t.type(err, TransientUpstreamError)
  t.match((err as Error).message, /409 busy: A job is already running for: c1/)
  t.equal(server.hits.length, 2, 'a refusal is retried even for a POST')
  const plain = await http(server.url, { retries: 1 }).request({ method: 'GET', path: '/y' }).catch((e: unknown) => e)
  t.type(plain, PermanentUpstreamError, 'the generic layer knows no target rule for a 409')
  t.equal(server.hits.length, 3)
  const res = await http(server.url, { classify }).request({ method: 'POST', path: '/jobs', body: {}, passStatuses: [409] })
  t.equal(res.status, 409)
  t.equal(res.problem?.message, 'A job is already running for: c1')
})

t.test('a classify hook can make a generic transient status permanent', async (t) => {
  const server = await stub(t, [json(503, { title: 'maintenance', detail: 'down for good' })])
  const err = await http(server.url, { retries: 2, classify: (status) => status === 503 ? 'permanent' : undefined }).request({ method: 'GET', path: '/z' }).catch((e: unknown) => e)
  t.type(err, PermanentUpstreamError)
  t.equal(server.hits.length, 1)
})

t.test('a second 401 after re-minting is permanent', async (t) => {
  const server = await stub(t, [json(401, { status: 401, type: 'invalid-api-key', title: 'invalid-api-key', detail: 'The access token is invalid or has expired.' })])
  let invalidated = 0
  const creds: CredentialProvider = { getAuthHeader: async () => 'Bearer t', invalidate: () => { invalidated++ } }
  const err = await http(server.url, { credentials: creds }).request({ method: 'GET', path: '/x' }).catch((e: unknown) => e)
  t.type(err, PermanentUpstreamError)
  t.match((err as Error).message, /401 invalid-api-key/)
  t.equal(invalidated, 1)
  t.equal(server.hits.length, 2)
})

t.test('a hanging server times out and counts as transient', async (t) => {
  const server = await stub(t, [() => { /* never answers */ }])
  const err = await http(server.url, { timeoutMs: 100, retries: 1 }).request({ method: 'GET', path: '/slow' }).catch((e: unknown) => e)
  t.type(err, TransientUpstreamError)
  t.match((err as Error).message, /timed out/)
  t.equal(server.hits.length, 2)
})

t.test('the caller aborting stops at once, without retries', async (t) => {
  const server = await stub(t, [() => { /* never answers */ }])
  const controller = new AbortController()
  setTimeout(() => controller.abort(new Error('shutting down')), 50)
  const err = await http(server.url).request({ method: 'GET', path: '/slow', signal: controller.signal }).catch((e: unknown) => e)
  t.match((err as Error).message, /shutting down/)
  t.equal(server.hits.length, 1)
})

t.test('no secret, header or request body in error messages', async (t) => {
  const server = await stub(t, [json(400, { message: 'bad password s3cr3t-token for user' })])
  const api = http(server.url, { credentials: staticBearer('s3cr3t-token'), redact: (s) => s.split('s3cr3t-token').join('[redacted]') })
  const err = await api.request({ method: 'POST', path: '/x', body: { password: 'body-secret' } }).catch((e: unknown) => e)
  t.equal((err as Error).message, 'Airbyte rejected POST /x: 400: bad password [redacted] for user')
  t.notMatch((err as Error).message, /body-secret|Bearer/)
})

t.test('a 204 gives an undefined body; query arrays are exploded', async (t) => {
  const server = await stub(t, [(_req, res) => { res.writeHead(204).end() }])
  const res = await http(server.url).request({ method: 'DELETE', path: '/x', query: { a: ['1', '2'], b: undefined, c: 3 } })
  t.equal(res.status, 204)
  t.equal(res.body, undefined)
  t.equal(server.hits[0]?.url, '/x?a=1&a=2&c=3')
})

t.test('the limiter wraps every attempt', async (t) => {
  const sim = await simulator(t)
  sim.faults.failNext = [{ status: 503 }]
  let runs = 0
  const limiter = { run: async <T>(fn: () => Promise<T>): Promise<T> => { runs++; return await fn() } }
  await http(sim.url, { limiter }).request({ method: 'GET', path: `/workspaces/${sim.workspaceId}` })
  t.equal(runs, 2)
})

t.test('an Atlas error body is quoted by its errorCode and errorMessage', async (t) => {
  const problem = parseProblem({ status: 404, text: JSON.stringify({ errorCode: 'ATLAS-404-00-009', errorMessage: 'Instance Connection with unique attribute {qualifiedName:x} does not exist' }) })
  t.equal(problem.type, 'ATLAS-404-00-009')
  t.equal(problem.reason, '404 ATLAS-404-00-009: Instance Connection with unique attribute {qualifiedName:x} does not exist')
  t.match(parseProblem({ status: 429, text: JSON.stringify({ status: 429, message: 'Too many requests' }) }).reason, /Too many requests/)
})
