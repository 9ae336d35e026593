import t from 'tap'
import { PermanentUpstreamError } from '../../../src/errors.js'
import { atlanCredentials } from '../../../src/provisioner/atlan/atlan-auth.js'
import { createAtlanClient, type AtlanClient } from '../../../src/provisioner/atlan/atlan-client.js'
import { memoryRateGate } from '../../../src/provisioner/atlan/atlan-rate-limit.js'
import { startAtlanSimulator, type AtlanSimulator } from '../../../src/sandbox/atlan/atlan-simulator.js'

const sim = await startAtlanSimulator({ indexLagMs: 0 })
t.teardown(sim.close)

function client (s: AtlanSimulator, auth: 'api_token' | 'oauth_client' = 'api_token', token = s.apiToken): AtlanClient {
  return createAtlanClient({
    url: s.url,
    auth: auth === 'api_token' ? { auth, apiToken: token } : { auth, clientId: 'sim-oauth-client', clientSecret: 'sim-oauth-secret' },
    requestTimeoutMs: 5000,
    retries: 2,
    retryBaseMs: 5
  }, { gate: memoryRateGate(1000) })
}

t.test('the current user, API keys, users and groups', async t => {
  const c = client(sim)
  t.equal((await c.currentUser()).username, `service-account-${sim.apiKey.clientId}`)
  t.equal((await c.apiKeyByClientId(sim.apiKey.clientId))?.id, sim.apiKey.id)
  t.equal((await c.apiKeyById(sim.otherApiKey.id))?.clientId, sim.otherApiKey.clientId)
  t.equal(await c.apiKeyById('00000000-0000-4000-8000-00000000dead'), undefined)
  t.same((await c.usersByEmail('Jane.Doe@company.com')).map((u) => u.username), ['jane.doe'])
  t.same((await c.groupsByAlias('datameshplatform')).map((g) => g.name), ['data_mesh_platform'])
  t.same(await c.groupsByName('datameshplatform'), [])
})

t.test('search keeps exact names only, and a miss is an empty list', async t => {
  const c = client(sim)
  const own = `service-account-${sim.apiKey.clientId}`
  await c.upsert([{ typeName: 'Connection', guid: '-1', attributes: { name: 'Orders', qualifiedName: 'default/snowflake/1', adminUsers: [own] } }])
  await c.upsert([{ typeName: 'Connection', guid: '-1', attributes: { name: 'orders', qualifiedName: 'default/snowflake/2', adminUsers: [own] } }])
  const found = await c.findByExactName('Connection', 'orders', ['adminUsers'])
  t.same(found.map((e) => e.attributes.qualifiedName), ['default/snowflake/2'])
  t.same(await c.findByExactName('Connection', 'nothing-like-it', []), [])
})

t.test('errors quote Atlas errorMessage and the gateway message, and never the token', async t => {
  const c = client(sim)
  const err = await c.upsert([{ typeName: 'Connection', attributes: { name: 'x', qualifiedName: 'default/snowflake/3' } }]).catch((e: unknown) => e)
  t.ok(err instanceof PermanentUpstreamError)
  t.match((err as Error).message, /Atlan rejected POST \/api\/meta\/entity\/bulk: 400 ATLAS-400-00-029: Connection must have at least one/)
  const bad = client(sim, 'api_token', 'atlan-wrong-token-0123456789abcdef')
  const unauthorized = await bad.currentUser().catch((e: unknown) => e) as Error
  t.match(unauthorized.message, /401.*Unauthorized/)
  t.notMatch(unauthorized.message, /atlan-wrong-token/)
  t.equal(await c.getByQualifiedName('Connection', 'default/none/0'), undefined, 'a 404 read is undefined')
  t.equal(await c.deleteEntity('00000000-0000-4000-8000-00000000dead', 'SOFT'), 'absent')
})

t.test('an unknown persona member (500 "not found") is not retried', async t => {
  const c = client(sim)
  const before = sim.requests.length
  const err = await c.upsert([{ typeName: 'Persona', guid: '-1', attributes: { name: 'p', qualifiedName: 'p', isAccessControlEnabled: true, personaUsers: ['ghost'] } }]).catch((e: unknown) => e)
  t.ok(err instanceof PermanentUpstreamError)
  t.match((err as Error).message, /Keycloak user not found: ghost/)
  t.equal(sim.requests.length - before, 1, 'one request')
})

t.test('an OAuth client token is minted once, cached, and minted again when it expires or is refused', async t => {
  let now = Date.now()
  const provider = atlanCredentials({ auth: 'oauth_client', clientId: 'sim-oauth-client', clientSecret: 'sim-oauth-secret' }, { baseUrl: sim.url, timeoutMs: 5000, fetch, now: () => now })
  const before = sim.store.tokensMinted
  const [h1, h2] = await Promise.all([provider.getAuthHeader(), provider.getAuthHeader()])
  t.equal(h1, h2)
  t.equal(sim.store.tokensMinted - before, 1, 'concurrent callers share one mint')
  now += 600_000
  const h3 = await provider.getAuthHeader()
  t.not(h3, h1, 'refreshed before expiry')
  provider.invalidate(h3)
  t.not(await provider.getAuthHeader(), h3, 'a refused token is replaced')
  const wrong = atlanCredentials({ auth: 'oauth_client', clientId: 'sim-oauth-client', clientSecret: 'not-the-secret-123456' }, { baseUrl: sim.url, timeoutMs: 5000, fetch })
  const err = await wrong.getAuthHeader().catch((e: unknown) => e) as Error
  t.ok(err instanceof PermanentUpstreamError)
  t.notMatch(err.message, /not-the-secret/)
  t.match(err.message, /ATLAN_CLIENT_ID/)
})

t.test('a client on an OAuth client works end to end', async t => {
  t.equal((await client(sim, 'oauth_client').currentUser()).username, 'service-account-sim-oauth-client')
})
