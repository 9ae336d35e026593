import t from 'tap'
import { CONNECTION_ADMIN_PACKAGE, startAtlanSimulator, type AtlanSimulator } from '../../../src/sandbox/atlan/atlan-simulator.js'

interface Reply { status: number, body: any, headers: Headers }

function caller (sim: AtlanSimulator, token = sim.apiToken) {
  return async (method: string, path: string, body?: unknown): Promise<Reply> => {
    const res = await fetch(`${sim.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body)
    })
    const text = await res.text()
    return { status: res.status, body: text === '' ? undefined : JSON.parse(text), headers: res.headers }
  }
}

const own = (sim: AtlanSimulator): string => `service-account-${sim.apiKey.clientId}`

function connection (sim: AtlanSimulator, name: string, qn: string, extra: Record<string, unknown> = {}): unknown {
  return { entities: [{ typeName: 'Connection', guid: '-1', attributes: { name, qualifiedName: qn, connectorName: 'snowflake', category: 'warehouse', adminUsers: [own(sim)], ...extra } }] }
}

const search = (typeName: string, name: string): unknown => ({
  dsl: { from: 0, size: 10, query: { bool: { filter: [{ term: { '__typeName.keyword': typeName } }, { term: { 'name.keyword': name } }, { term: { __state: 'ACTIVE' } }] } } },
  attributes: ['adminUsers']
})

t.test('Bearer check: no token, a wrong token and an expired minted token are 401 in the gateway shape', async t => {
  const sim = await startAtlanSimulator({ tokenTtlSeconds: 60 })
  t.teardown(sim.close)
  t.equal((await caller(sim, 'nope')('GET', '/api/service/users/current')).status, 401)
  const minted = await fetch(`${sim.url}/api/service/oauth-clients/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ clientId: 'sim-oauth-client', clientSecret: 'sim-oauth-secret' }) })
  const token = (await minted.json() as { access_token: string, expires_in: number }).access_token
  const me = await caller(sim, token)('GET', '/api/service/users/current')
  t.equal(me.body.username, 'service-account-sim-oauth-client')
  sim.advance(61_000)
  const expired = await caller(sim, token)('GET', '/api/service/users/current')
  t.equal(expired.status, 401)
  t.match(expired.body, { status: 401, message: /Unauthorized/ })
  const bad = await fetch(`${sim.url}/api/service/oauth-clients/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ clientId: 'sim-oauth-client', clientSecret: 'wrong' }) })
  t.equal(bad.status, 401)
})

t.test('bulk upsert: placeholder guids, upsert by qualified name, unchanged entities left out, index lag', async t => {
  const sim = await startAtlanSimulator({ indexLagMs: 1000 })
  t.teardown(sim.close)
  const call = caller(sim)
  const created = await call('POST', '/api/meta/entity/bulk', connection(sim, 'c1', 'default/snowflake/1700000000'))
  t.equal(created.status, 200)
  const guid = created.body.guidAssignments['-1']
  t.ok(guid)
  t.equal(created.body.mutatedEntities.CREATE[0].guid, guid)
  t.same((await call('POST', '/api/meta/search/indexsearch', search('Connection', 'c1'))).body, { queryType: 'INDEX', approximateCount: 0 }, 'the index lags: no entities key')
  sim.advance(1000)
  const found = await call('POST', '/api/meta/search/indexsearch', search('Connection', 'C1'))
  t.equal(found.body.entities[0].guid, guid, 'names match case-insensitively')
  const again = await call('POST', '/api/meta/entity/bulk', connection(sim, 'c1', 'default/snowflake/1700000000'))
  t.same(again.body.mutatedEntities, {}, 'an unchanged entity is in neither list')
  const changed = await call('POST', '/api/meta/entity/bulk', connection(sim, 'c1', 'default/snowflake/1700000000', { adminGroups: ['analysts'] }))
  t.equal(changed.body.mutatedEntities.UPDATE[0].guid, guid, 'the same qualified name updates the entity')
  const got = await call('GET', `/api/meta/entity/uniqueAttribute/type/Connection?attr:qualifiedName=${encodeURIComponent('default/snowflake/1700000000')}`)
  t.same(got.body.entity.attributes.adminGroups, ['analysts'])
  const missing = await call('GET', '/api/meta/entity/uniqueAttribute/type/Connection?attr:qualifiedName=nope')
  t.equal(missing.status, 404)
  t.equal(missing.body.errorCode, 'ATLAS-404-00-009')
  const noAdmins = await call('POST', '/api/meta/entity/bulk', connection(sim, 'c2', 'default/snowflake/2', { adminUsers: [] }))
  t.equal(noAdmins.status, 400)
  t.ok(noAdmins.body.errorMessage)
})

t.test('the post-create 403 window, then reads work', async t => {
  const sim = await startAtlanSimulator({ postCreateForbiddenMs: 5000 })
  t.teardown(sim.close)
  const call = caller(sim)
  const guid = (await call('POST', '/api/meta/entity/bulk', connection(sim, 'c', 'default/snowflake/9'))).body.guidAssignments['-1']
  const early = await call('GET', `/api/meta/entity/guid/${guid as string}`)
  t.equal(early.status, 403)
  t.equal(early.body.errorCode, 'ATLAS-403-00-001')
  sim.advance(5000)
  t.equal((await call('GET', `/api/meta/entity/guid/${guid as string}`)).status, 200)
})

t.test('personas and policies follow the server rules', async t => {
  const sim = await startAtlanSimulator()
  t.teardown(sim.close)
  const call = caller(sim)
  await call('POST', '/api/meta/entity/bulk', connection(sim, 'c', 'default/snowflake/10'))
  const p = await call('POST', '/api/meta/entity/bulk', { entities: [{ typeName: 'Persona', guid: '-1', attributes: { name: 'readers', qualifiedName: 'readers', displayName: 'readers', isAccessControlEnabled: true } }] })
  const persona = p.body.mutatedEntities.CREATE[0]
  t.match(persona.attributes.qualifiedName, /^default\/[A-Za-z0-9_-]{22}$/, 'the server rewrites the qualified name')
  const embedded = await call('POST', '/api/meta/entity/bulk', { entities: [{ typeName: 'Persona', attributes: { name: 'x', qualifiedName: 'x', policies: [] } }] })
  t.equal(embedded.status, 409)
  const policy = (name: string, actions = ['persona-asset-read']): unknown => ({
    entities: [{
      typeName: 'AuthPolicy',
      guid: '-2',
      attributes: {
        name,
        qualifiedName: name,
        policyCategory: 'persona',
        policyType: 'allow',
        policySubCategory: 'metadata',
        policyServiceName: 'atlas',
        policyResourceCategory: 'CUSTOM',
        policyActions: actions,
        policyResources: ['entity:default/snowflake/10'],
        connectionQualifiedName: 'default/snowflake/10',
        accessControl: { typeName: 'Persona', guid: persona.guid }
      }
    }]
  })
  const made = await call('POST', '/api/meta/entity/bulk', policy('meta'))
  t.equal(made.status, 200)
  t.match(made.body.mutatedEntities.CREATE[0].attributes.qualifiedName, new RegExp(`^${String(persona.attributes.qualifiedName)}/`))
  t.equal((await call('POST', '/api/meta/entity/bulk', policy('meta'))).status, 409, 'policy names are unique per persona')
  t.equal((await call('POST', '/api/meta/entity/bulk', policy('other', ['fly']))).status, 400, 'unknown actions are refused')

  const stranger = sim.otherApiKey.token
  const denied = await caller(sim, stranger)('POST', '/api/meta/entity/bulk', policy('x'))
  t.equal(denied.status, 403)
  t.equal(denied.body.errorCode, 'ATLAS-403-00-002')
  t.match(denied.body.errorMessage, /is not admin for connection/)

  const members = (users?: string[], groups?: string[]): unknown => ({
    entities: [{ typeName: 'Persona', guid: persona.guid, attributes: { name: 'readers', qualifiedName: persona.attributes.qualifiedName, isAccessControlEnabled: true, ...(users === undefined ? {} : { personaUsers: users }), ...(groups === undefined ? {} : { personaGroups: groups }) } }]
  })
  const unknown = await call('POST', '/api/meta/entity/bulk', members(['jane.doe', 'ghost']))
  t.equal(unknown.status, 500)
  t.equal(unknown.body.errorCode, 'ATLAS-500-00-001')
  t.equal((await call('POST', '/api/meta/entity/bulk', members(['jane.doe'], ['analysts']))).status, 200)
  await call('POST', '/api/meta/entity/bulk', members(['bob.lee']))
  const read = await call('GET', `/api/meta/entity/guid/${String(persona.guid)}`)
  t.same(read.body.entity.attributes.personaUsers, ['bob.lee'], 'the list is replaced')
  t.same(read.body.entity.attributes.personaGroups, ['analysts'], 'a missing key leaves the list unchanged')
  t.equal(read.body.entity.relationshipAttributes.policies.length, 1)

  await call('DELETE', `/api/meta/entity/bulk?guid=${String(persona.guid)}&deleteType=SOFT`)
  const policies = [...sim.store.entities.values()].filter((e) => e.typeName === 'AuthPolicy')
  t.equal(policies.length, 0, 'deleting the persona removes its policies')
  const absent = await call('DELETE', '/api/meta/entity/bulk?guid=00000000-0000-0000-0000-000000000000&deleteType=SOFT')
  t.equal(absent.status, 404)
})

t.test('users, groups and API keys with filters', async t => {
  const sim = await startAtlanSimulator()
  t.teardown(sim.close)
  const call = caller(sim)
  const users = await call('GET', `/api/service/users?filter=${encodeURIComponent(JSON.stringify({ email: 'jane.doe@company.com' }))}`)
  t.same(users.body.records.map((u: { username: string }) => u.username), ['jane.doe'])
  const groups = await call('GET', `/api/service/v2/groups?filter=${encodeURIComponent(JSON.stringify({ alias: 'datameshplatform' }))}`)
  t.same(groups.body.records.map((g: { name: string }) => g.name), ['data_mesh_platform'])
  const keys = await call('GET', `/api/service/apikeys?filter=${encodeURIComponent(JSON.stringify({ id: sim.otherApiKey.id }))}`)
  t.equal(keys.body.records[0].clientId, sim.otherApiKey.clientId)
  t.equal((await call('GET', '/api/service/users/current')).body.username, own(sim))
})

t.test('workflow runs go Pending -> Running -> Succeeded and make the token a connection admin; reruns and failures', async t => {
  const sim = await startAtlanSimulator({ workflowPendingMs: 1000, workflowRunMs: 1000 })
  t.teardown(sim.close)
  const call = caller(sim)
  await call('POST', '/api/meta/entity/bulk', connection(sim, 'c', 'default/snowflake/11'))
  const body = {
    metadata: { name: `${CONNECTION_ADMIN_PACKAGE}-1`, namespace: 'default' },
    spec: { entrypoint: 'main', templates: [{ name: 'main', dag: { tasks: [{ name: 'run', arguments: { parameters: [{ name: 'connection_qualified_name', value: 'default/snowflake/11' }, { name: 'api_token_guid', value: sim.otherApiKey.id }] }, templateRef: { name: CONNECTION_ADMIN_PACKAGE, template: 'main', clusterScope: true } }] } }] },
    payload: []
  }
  t.equal((await call('POST', '/api/service/workflows?submit=true', body)).body.status.phase, 'Pending')
  const runs = async (): Promise<any> => (await call('POST', '/api/service/runs/indexsearch', { from: 0, size: 1, query: { bool: { filter: [{ term: { 'spec.workflowTemplateRef.name.keyword': `${CONNECTION_ADMIN_PACKAGE}-1` } }] } } })).body.hits.hits
  sim.advance(1000)
  t.equal((await runs())[0]._source.status.phase, 'Running')
  sim.advance(1000)
  t.equal((await runs())[0]._source.status.phase, 'Succeeded')
  const conn = sim.store.findByQualifiedName('Connection', 'default/snowflake/11')
  t.ok((conn?.attributes.adminUsers as string[]).includes(`service-account-${sim.otherApiKey.clientId}`))
  const templates = await call('POST', '/api/service/workflows/indexsearch', { from: 0, size: 10, query: { bool: { filter: [{ prefix: { 'metadata.name.keyword': CONNECTION_ADMIN_PACKAGE } }] } } })
  t.equal(templates.body.hits.hits.length, 1)
  t.equal((await call('POST', '/api/service/workflows?submit=true', body)).status, 409, 'a template name is taken once')
  sim.faults.workflowEnding = 'Failed'
  const rerun = await call('POST', '/api/service/workflows/submit', { namespace: 'default', resourceKind: 'WorkflowTemplate', resourceName: `${CONNECTION_ADMIN_PACKAGE}-1` })
  t.equal(rerun.status, 200)
  sim.advance(2000)
  const latest = (await runs())[0]._source
  t.equal(latest.status.phase, 'Failed')
  t.ok(latest.status.message)
})

t.test('the per-minute limit locks the tenant out with Retry-After, then lets it back in', async t => {
  const sim = await startAtlanSimulator({ rateLimitPerMinute: 3, lockoutMs: 10_000 })
  t.teardown(sim.close)
  const call = caller(sim)
  for (let i = 0; i < 3; i++) t.equal((await call('GET', '/api/service/users/current')).status, 200)
  const limited = await call('GET', '/api/service/users/current')
  t.equal(limited.status, 429)
  t.equal(limited.headers.get('retry-after'), '10')
  t.match(limited.body, { status: 429, message: /Too many requests/ })
  sim.advance(5000)
  t.equal((await call('GET', '/api/service/users/current')).status, 429, 'still locked out')
  sim.advance(60_000)
  t.equal((await call('GET', '/api/service/users/current')).status, 200)
})
