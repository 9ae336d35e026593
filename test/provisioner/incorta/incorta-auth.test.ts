import t, { type Test } from 'tap'
import { ConfigError, PermanentUpstreamError, TransientUpstreamError } from '../../../src/errors.js'
import { incortaCredentials, oidcProvider, type OidcProviderOptions } from '../../../src/provisioner/incorta/incorta-auth.js'
import { createIncortaClient } from '../../../src/provisioner/incorta/incorta-client.js'
import { INCORTA_DEFAULTS, type IncortaConfig } from '../../../src/provisioner/incorta/incorta-config.js'
import { startIncortaSimulator, type IncortaSimulator } from '../../../src/sandbox/incorta/incorta-simulator.js'

async function sim (t: Test, ttl = 300): Promise<IncortaSimulator> {
  const s = await startIncortaSimulator({ oidc: { accessTokenTtlSeconds: ttl } })
  t.teardown(() => s.close())
  return s
}

const clock = (): { now: () => number, advance: (ms: number) => void } => {
  let at = 1_000_000
  return { now: () => at, advance: (ms) => { at += ms } }
}

function password (s: IncortaSimulator, extra: Partial<OidcProviderOptions> = {}): OidcProviderOptions {
  return { tokenUrl: s.tokenUrl, clientId: 'incorta-client', clientSecret: 'incorta-secret', username: 'loader', password: 'loader-password', ...extra }
}

async function failure (p: Promise<unknown>): Promise<Error> {
  try {
    await p
  } catch (err) {
    return err as Error
  }
  throw new Error('expected a failure')
}

t.test('client_credentials: one login, cached until shortly before expires_in, then a new login', async (t) => {
  const s = await sim(t, 300)
  const c = clock()
  const p = oidcProvider({ tokenUrl: s.tokenUrl, clientId: 'incorta-client', clientSecret: 'incorta-secret', now: c.now })
  const first = await p.getAuthHeader()
  t.match(first, /^Bearer ey/)
  t.equal(await p.getAuthHeader(), first)
  c.advance(300_000 - 31_000)
  t.equal(await p.getAuthHeader(), first, 'still cached just before the skew')
  c.advance(2000)
  t.not(await p.getAuthHeader(), first)
  t.same(s.oidc.calls, { client_credentials: 2, password: 0, refresh_token: 0 })
})

t.test('password grant: renewed with the refresh token, then a full login when the refresh is refused', async (t) => {
  const s = await sim(t)
  const c = clock()
  const p = oidcProvider(password(s, { now: c.now }))
  await p.getAuthHeader()
  c.advance(400_000)
  await p.getAuthHeader()
  t.same(s.oidc.calls, { client_credentials: 0, password: 1, refresh_token: 1 })
  s.oidc.revokeRefreshTokens()
  c.advance(400_000)
  const header = await p.getAuthHeader()
  t.same(s.oidc.calls, { client_credentials: 0, password: 2, refresh_token: 2 })
  t.match(header, /^Bearer /)
})

t.test('concurrent callers share one token call', async (t) => {
  const s = await sim(t)
  const p = oidcProvider(password(s))
  const headers = await Promise.all(Array.from({ length: 20 }, async () => await p.getAuthHeader()))
  t.equal(new Set(headers).size, 1)
  t.equal(s.oidc.calls.password, 1)
})

t.test('a 401 from Incorta re-mints once (through the refresh token) and the call succeeds', async (t) => {
  const s = await sim(t)
  const config: IncortaConfig = {
    ...INCORTA_DEFAULTS, auth: 'oidc', url: s.url, oidcTokenUrl: s.tokenUrl, oidcClientId: 'incorta-client', oidcClientSecret: 'incorta-secret', oidcUsername: 'loader', oidcPassword: 'loader-password'
  }
  const client = createIncortaClient(config)
  t.equal((await client.listSchemas('demo')).length, 3)
  // Incorta stops accepting the cached JWT before its expires_in: the client renews once and goes on.
  s.oidc.expireAll()
  t.equal((await client.listSchemas('demo')).length, 3)
  t.same(s.oidc.calls, { client_credentials: 0, password: 2, refresh_token: 1 })
  t.same(s.requests.filter((r) => r.path.includes('/schema/list')).map((r) => r.status), [200, 401, 200])
})

t.test('refused logins name the variables to fix and carry no secret', async (t) => {
  const s = await sim(t)
  const badClient = await failure(oidcProvider({ tokenUrl: s.tokenUrl, clientId: 'incorta-client', clientSecret: 'not-the-secret-123' }).getAuthHeader())
  t.type(badClient, PermanentUpstreamError)
  t.match(badClient.message, /invalid_client/)
  t.match(badClient.message, /INCORTA_OIDC_CLIENT_ID and INCORTA_OIDC_CLIENT_SECRET/)
  t.notMatch(badClient.message, /not-the-secret-123/)
  const badUser = await failure(oidcProvider(password(s, { password: 'wrong-password-456' })).getAuthHeader())
  t.match(badUser.message, /invalid_grant/)
  t.match(badUser.message, /INCORTA_OIDC_USERNAME and INCORTA_OIDC_PASSWORD/)
  t.notMatch(badUser.message, /wrong-password-456/)
})

t.test('an unreachable or failing token endpoint is transient', async (t) => {
  const s = await sim(t)
  s.faults.failNext = [{ status: 503, path: /openid-connect/ }]
  t.type(await failure(oidcProvider(password(s)).getAuthHeader()), TransientUpstreamError)
  await s.close()
  const down = await failure(oidcProvider(password(s)).getAuthHeader())
  t.type(down, TransientUpstreamError)
  t.match(down.message, /could not be reached/)
})

t.test('missing settings are ConfigErrors naming the variable', async (t) => {
  const base: IncortaConfig = { ...INCORTA_DEFAULTS, url: 'http://x' }
  t.throws(() => incortaCredentials(base), new ConfigError('INCORTA_PAT (or INCORTA_PAT_FILE) is required when INCORTA_AUTH=pat'))
  t.throws(() => incortaCredentials({ ...base, auth: 'oidc', oidcClientId: 'c' }), /INCORTA_OIDC_TOKEN_URL/)
  t.throws(() => incortaCredentials({ ...base, auth: 'oidc', oidcTokenUrl: 'http://x/t' }), /INCORTA_OIDC_CLIENT_ID/)
  t.throws(() => incortaCredentials({ ...base, auth: 'oidc', oidcTokenUrl: 'http://x/t', oidcClientId: 'c', oidcUsername: 'u' }), /INCORTA_OIDC_PASSWORD/)
  t.throws(() => incortaCredentials({ ...base, auth: 'oidc', oidcTokenUrl: 'http://x/t', oidcClientId: 'c' }), /INCORTA_OIDC_CLIENT_SECRET/)
})

t.test('a token endpoint quoting the password or client secret back has them masked', async (t) => {
  const echo = async (): Promise<Response> => new Response(JSON.stringify({ error: 'invalid_grant', error_description: 'rejected loader / my-oidc-password-77 via client-secret-zz9' }), { status: 401 })
  const err = await failure(oidcProvider({ tokenUrl: 'http://kc.invalid/realms/r/protocol/openid-connect/token', clientId: 'c', clientSecret: 'client-secret-zz9', username: 'loader', password: 'my-oidc-password-77', fetch: echo }).getAuthHeader())
  t.notMatch(err.message, 'my-oidc-password-77')
  t.notMatch(err.message, 'client-secret-zz9')
  t.match(err.message, /invalid_grant/)
})
