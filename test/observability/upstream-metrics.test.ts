import t from 'tap'
import { randomUUID } from 'node:crypto'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createUpstreamHttp, type UpstreamHttp } from '../../src/outbound/upstream-http.js'
import { noAuth, oauthClientCredentials } from '../../src/outbound/credential-provider.js'
import { metricsRegistry } from '../../src/observability/metrics.js'
import { MAX_OPERATIONS_PER_TARGET, operationOf } from '../../src/observability/upstream-telemetry.js'
import { freePort } from '../helpers/redis-server.js'
import { parseExposition, seriesKeys, valueOf, type Sample } from './exposition.js'

// A target that answers by path: /busy/* 429 (Retry-After 60 s on /busy/long), /flaky/* 503 once then 200, else 200.
const seenFlaky = new Set<string>()
const server = createServer((req, res) => {
  const url = req.url ?? '/'
  if (url.startsWith('/token')) {
    res.writeHead(url.includes('bad') ? 401 : 200, { 'content-type': 'application/json' })
    res.end(url.includes('bad') ? '{"error":"invalid_client"}' : '{"access_token":"tok-1234567890abcdef","expires_in":3600}')
    return
  }
  if (url.startsWith('/busy')) {
    res.writeHead(429, { 'content-type': 'application/json', 'retry-after': url.startsWith('/busy/long') ? '60' : '0' })
    res.end('{"message":"slow down"}')
    return
  }
  if (url.startsWith('/flaky') && !seenFlaky.has(url)) {
    seenFlaky.add(url)
    res.writeHead(503).end()
    return
  }
  res.writeHead(200, { 'content-type': 'application/json' }).end('{}')
})
await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
t.teardown(() => { server.close() })
const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`

function client (target: string, url = baseUrl): UpstreamHttp {
  return createUpstreamHttp({ baseUrl: url, target, credentials: noAuth(), timeoutMs: 2000, retries: 2, retryBaseMs: 1, maxRetryWaitMs: 1000 })
}

async function samples (): Promise<Sample[]> {
  return parseExposition(await metricsRegistry.metrics())
}

t.test('operations are method and template: ids become {id}, a named template wins, the query is dropped', async t => {
  t.equal(operationOf('x', 'GET', `/sources/${randomUUID()}`), 'GET /sources/{id}')
  t.equal(operationOf('x', 'GET', '/jobs/12345?limit=1'), 'GET /jobs/{id}')
  t.equal(operationOf('x', 'GET', '/tenant-a1/schema/Sales%20EU/status'), 'GET /{id}/schema/{id}/status')
  t.equal(operationOf('x', 'GET', '/t/schema/Sales/status', '/{tenant}/schema/{schemaName}/status'), 'GET /{tenant}/schema/{schemaName}/status')
  t.equal(operationOf('x', 'POST', '/api/meta/search/indexsearch'), 'POST /api/meta/search/indexsearch')
})

t.test('distinct ids and names never grow the series past a fixed bound', async t => {
  const http = client('Cardinal')
  for (let i = 0; i < 40; i++) await http.request({ method: 'GET', path: `/sources/${randomUUID()}` })
  const afterIds = seriesKeys(await samples(), 'tech_adapter_upstream_requests_total').size
  for (let i = 0; i < 40; i++) await http.request({ method: 'GET', path: `/jobs/${i * 7919}` })
  const afterJobs = seriesKeys(await samples(), 'tech_adapter_upstream_requests_total').size
  t.equal(afterJobs, afterIds + 1, '40 job ids: one operation')
  // Word-like names a client forgot to template: capped per target.
  const words = Array.from({ length: 200 }, (_, i) => `schema${String.fromCharCode(97 + (i % 26))}${String.fromCharCode(97 + Math.floor(i / 26))}`.replace(/\d/g, ''))
  for (const word of words) await http.request({ method: 'GET', path: `/named/${word}` })
  const cardinal = (await samples()).filter(s => s.name === 'tech_adapter_upstream_requests_total' && s.labels.target === 'cardinal')
  t.ok(cardinal.length <= MAX_OPERATIONS_PER_TARGET + 1, `at most ${MAX_OPERATIONS_PER_TARGET} operations and the overflow (${cardinal.length})`)
  t.ok(cardinal.some(s => s.labels.operation === 'GET other'), 'the overflow counts as <METHOD> other')
  t.equal(valueOf(await samples(), 'tech_adapter_upstream_requests_total', { target: 'cardinal' }), 280, 'every call still counts')
})

t.test('status classes, retries, rate-limit waits and lock-outs', async t => {
  const http = client('Classy')
  await http.request({ method: 'GET', path: '/flaky/a' })
  await t.rejects(http.request({ method: 'GET', path: '/busy/short' }), /still failing/)
  await t.rejects(http.request({ method: 'GET', path: '/busy/long' }), /asked to wait 60 s/)
  const closed = await freePort()
  await t.rejects(client('Classy', `http://127.0.0.1:${closed}`).request({ method: 'GET', path: '/down' }))
  const s = await samples()
  t.equal(valueOf(s, 'tech_adapter_upstream_requests_total', { target: 'classy', operation: 'GET /flaky/a', status_class: '5xx' }), 1)
  t.equal(valueOf(s, 'tech_adapter_upstream_requests_total', { target: 'classy', operation: 'GET /flaky/a', status_class: '2xx' }), 1)
  t.equal(valueOf(s, 'tech_adapter_upstream_retries_total', { target: 'classy', operation: 'GET /flaky/a' }), 1)
  t.equal(valueOf(s, 'tech_adapter_upstream_requests_total', { target: 'classy', operation: 'GET /busy/short', status_class: '4xx' }), 3, 'three attempts')
  t.equal(valueOf(s, 'tech_adapter_upstream_retries_total', { target: 'classy', operation: 'GET /busy/short' }), 2)
  t.equal(valueOf(s, 'tech_adapter_upstream_rate_limit_waits_total', { target: 'classy' }), 4, 'three 429s waited here, one handed on')
  t.equal(valueOf(s, 'tech_adapter_upstream_lockouts_total', { target: 'classy' }), 1, 'the 60 s pause is a lock-out')
  t.equal(valueOf(s, 'tech_adapter_upstream_requests_total', { target: 'classy', status_class: 'network' }), 3, 'refused connections are `network`')
  t.ok(valueOf(s, 'tech_adapter_upstream_request_duration_seconds_count', { target: 'classy', operation: 'GET /flaky/a' }) === 2)
})

t.test('token calls count as success or failure', async t => {
  const good = oauthClientCredentials({ tokenUrl: `${baseUrl}/token`, clientId: 'c', clientSecret: 'secret-secret-secret', body: 'json', target: 'Minty' })
  await good.getAuthHeader()
  await good.getAuthHeader()
  const bad = oauthClientCredentials({ tokenUrl: `${baseUrl}/token/bad`, clientId: 'c', clientSecret: 'secret-secret-secret', body: 'form', target: 'Minty' })
  await t.rejects(bad.getAuthHeader())
  const s = await samples()
  t.equal(valueOf(s, 'tech_adapter_upstream_token_refreshes_total', { target: 'minty', outcome: 'success' }), 1, 'a cached token is not a refresh')
  t.equal(valueOf(s, 'tech_adapter_upstream_token_refreshes_total', { target: 'minty', outcome: 'failure' }), 1)
})
