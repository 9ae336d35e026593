import t, { type Test } from 'tap'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { PermanentUpstreamError, TransientUpstreamError } from '../../src/errors.js'
import { basicAuth, noAuth, oauthClientCredentials, staticBearer } from '../../src/outbound/credential-provider.js'
import { createUpstreamHttp } from '../../src/outbound/upstream-http.js'
import { type AirbyteSimulator, type AirbyteSimulatorOptions, startAirbyteSimulator } from '../../src/sandbox/airbyte/airbyte-simulator.js'

async function simulator (t: Test, opts: AirbyteSimulatorOptions = {}): Promise<AirbyteSimulator> {
  const sim = await startAirbyteSimulator(opts)
  t.teardown(() => sim.close())
  return sim
}

function provider (sim: AirbyteSimulator, extra: Partial<Parameters<typeof oauthClientCredentials>[0]> = {}) {
  return oauthClientCredentials({
    tokenUrl: `${sim.url}/applications/token`, clientId: 'sim-client', clientSecret: 'sim-secret', body: 'json', target: 'Airbyte', ...extra
  })
}

t.test('static bearer, basic and no-auth providers give fixed headers', async (t) => {
  t.equal(await staticBearer('abc').getAuthHeader(), 'Bearer abc')
  t.equal(await basicAuth('airbyte', 'password').getAuthHeader(), `Basic ${Buffer.from('airbyte:password').toString('base64')}`)
  t.equal(await noAuth().getAuthHeader(), undefined)
})

t.test('a client-credentials token is minted once and then served from the cache', async (t) => {
  const sim = await simulator(t)
  const creds = provider(sim)
  const first = await creds.getAuthHeader()
  t.match(first, /^Bearer \S+$/)
  t.equal(await creds.getAuthHeader(), first)
  t.equal(await creds.getAuthHeader(), first)
  t.equal(sim.state.tokensIssued, 1)
})

t.test('the token is refreshed once it comes within the skew of its expiry', async (t) => {
  const sim = await simulator(t, { tokenTtlSeconds: 900 })
  let clock = 1_000_000
  const creds = provider(sim, { now: () => clock, refreshSkewMs: 60_000 })
  const first = await creds.getAuthHeader()
  clock += 839_000 // 61 s before expiry: still fresh
  t.equal(await creds.getAuthHeader(), first)
  t.equal(sim.state.tokensIssued, 1)
  clock += 2_000 // 59 s before expiry: inside the skew
  const second = await creds.getAuthHeader()
  t.not(second, first)
  t.equal(sim.state.tokensIssued, 2)
})

t.test('a skew longer than a short token lifetime does not re-mint on every call', async (t) => {
  const sim = await simulator(t, { tokenTtlSeconds: 30 })
  const creds = provider(sim, { refreshSkewMs: 60_000 })
  await creds.getAuthHeader()
  await creds.getAuthHeader()
  t.equal(sim.state.tokensIssued, 1)
})

t.test('concurrent callers share one token call', async (t) => {
  const sim = await simulator(t)
  sim.faults.latencyMs = 50
  const creds = provider(sim)
  const headers = await Promise.all(Array.from({ length: 10 }, async () => await creds.getAuthHeader()))
  t.equal(new Set(headers).size, 1)
  t.equal(sim.state.tokensIssued, 1)
})

t.test('invalidate drops the token so the next caller mints a new one', async (t) => {
  const sim = await simulator(t)
  const creds = provider(sim)
  const first = await creds.getAuthHeader()
  creds.invalidate()
  t.not(await creds.getAuthHeader(), first)
  t.equal(sim.state.tokensIssued, 2)
})

t.test('invalidating with a header that was already replaced keeps the newer token', async (t) => {
  const sim = await simulator(t)
  const creds = provider(sim)
  const first = await creds.getAuthHeader()
  creds.invalidate(first)
  const second = await creds.getAuthHeader()
  creds.invalidate(first) // a concurrent caller's 401 on the old token
  t.equal(await creds.getAuthHeader(), second)
  t.equal(sim.state.tokensIssued, 2)
})

t.test('the form body is accepted too', async (t) => {
  const sim = await simulator(t)
  t.match(await provider(sim, { body: 'form' }).getAuthHeader(), /^Bearer /)
})

t.test('a 401 from the API re-mints once and retries (token expired early)', async (t) => {
  const sim = await simulator(t)
  const clock = 0 // the provider's clock stands still, so it believes its token is fresh
  const creds = provider(sim, { now: () => clock })
  const http = createUpstreamHttp({ baseUrl: sim.url, target: 'Airbyte', credentials: creds, timeoutMs: 5000, retries: 0, retryBaseMs: 1 })
  await http.request({ method: 'GET', path: `/workspaces/${sim.workspaceId}` })
  sim.expireTokens()
  const res = await http.request<{ workspaceId: string }>({ method: 'GET', path: `/workspaces/${sim.workspaceId}` })
  t.equal(res.body.workspaceId, sim.workspaceId)
  t.equal(sim.state.tokensIssued, 2)
  t.same(sim.requests.filter((r) => r.path.endsWith(sim.workspaceId)).map((r) => r.status), [200, 401, 200])
})

t.test('wrong client credentials fail permanently without echoing the secret', async (t) => {
  const sim = await simulator(t)
  const creds = provider(sim, { clientSecret: 'a-very-secret-value' })
  const err = await creds.getAuthHeader().catch((e: unknown) => e)
  t.type(err, PermanentUpstreamError)
  const { message, upstreamStatus } = err as PermanentUpstreamError
  t.equal(upstreamStatus, 401)
  t.match(message, /client credentials were refused/)
  t.match(message, /invalid-api-key/)
  t.notMatch(message, /a-very-secret-value/)
})

t.test('a 5xx or 429 from the token endpoint is transient', async (t) => {
  const sim = await simulator(t)
  const creds = provider(sim)
  sim.faults.failNext = [{ status: 503, path: /applications\/token/ }, { status: 429, path: /applications\/token/ }]
  const first = await creds.getAuthHeader().catch((e: unknown) => e)
  t.type(first, TransientUpstreamError)
  t.equal((first as TransientUpstreamError).upstreamStatus, 503)
  const second = await creds.getAuthHeader().catch((e: unknown) => e)
  t.type(second, TransientUpstreamError)
  t.equal((second as TransientUpstreamError).upstreamStatus, 429)
  t.match(await creds.getAuthHeader(), /^Bearer /)
})

t.test('an unreachable token endpoint is transient', async (t) => {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port
  await new Promise((resolve) => server.close(resolve))
  const creds = oauthClientCredentials({ tokenUrl: `http://127.0.0.1:${port}/token`, clientId: 'c', clientSecret: 's', body: 'form' })
  const err = await creds.getAuthHeader().catch((e: unknown) => e)
  t.type(err, TransientUpstreamError)
  t.match((err as Error).message, /ECONNREFUSED/)
})

t.test('a token answer without access_token is a permanent error', async (t) => {
  const server = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"token_type":"Bearer"}'))
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => server.close())
  const creds = oauthClientCredentials({
    tokenUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/token`, clientId: 'c', clientSecret: 's', body: 'json'
  })
  await t.rejects(creds.getAuthHeader(), PermanentUpstreamError)
})
