import t, { type Test } from 'tap'
import { Redis } from 'ioredis'
import { checkReply } from '../../src/openapi/contract-check.js'
import { CONNECTION_ADMIN_PACKAGE, startAtlanSimulator, type AtlanSimulator, type AtlanSimulatorOptions } from '../../src/sandbox/atlan/atlan-simulator.js'
import { eventually, spawnService } from '../helpers/service-process.js'
import { getJson, postJson, startStack, waitForStatus, type Stack } from '../helpers/stack.js'
import { cashflowProduct } from '../fixtures/cashflow-product.js'

const COMPONENT = 'urn:dmb:cmp:finance:cashflow:0:orders-catalog'

async function atlanStack (t: Test, simOpts: AtlanSimulatorOptions = {}, env: Record<string, string> = {}): Promise<{ stack: Stack, atlan: AtlanSimulator }> {
  const atlan = await startAtlanSimulator({ indexLagMs: 300, postCreateForbiddenMs: 500, workflowPendingMs: 100, workflowRunMs: 300, ...simOpts })
  t.teardown(atlan.close)
  const stack = await startStack(t, {
    env: {
      ATLAN_URL: atlan.url,
      ATLAN_API_TOKEN: atlan.apiToken,
      ATLAN_POLL_INTERVAL_MS: '50',
      ATLAN_RETRY_BASE_MS: '10',
      ...env
    }
  })
  return { stack, atlan }
}

function atlanRequest (specific: Record<string, unknown>, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const dp = cashflowProduct([{
    id: COMPONENT,
    name: 'Orders catalog entry',
    kind: 'outputport',
    version: '0.0.1',
    useCaseTemplateId: 'urn:dmb:utm:atlan-catalog:0.0.0',
    infrastructureTemplateId: 'urn:dmb:itm:provisioner:0',
    dependsOn: [],
    specific: { connection: { name: 'finance-cashflow-0', connectorType: 'snowflake' }, ...specific }
  }])
  return { descriptorKind: 'COMPONENT_DESCRIPTOR', descriptor: JSON.stringify({ dataProduct: dp, componentIdToProvision: COMPONENT }), ...extra }
}

/** Posts, checks the 202 against the contract, polls the status (each reply checked) to its end. */
async function run (stack: Stack, path: string, body: Record<string, unknown>, deadlineMs = 30_000): Promise<any> {
  const res = await postJson(`${stack.base}${path}`, body)
  if (res.status !== 202) throw new Error(`${path} answered ${res.status}: ${res.text}`)
  const accepted = checkReply('POST', path, 202, res.contentType, res.text)
  if (accepted.length > 0) throw new Error(`contract: ${accepted.join('; ')}`)
  const statusPath = path.startsWith('/v2/validate') ? `/v2/validate/${res.text}/status` : `/v1/provision/${res.text}/status`
  const deadline = Date.now() + deadlineMs
  for (;;) {
    const reply = await getJson(`${stack.base}${statusPath}`)
    const problems = checkReply('GET', statusPath, reply.status, reply.contentType, reply.body)
    if (problems.length > 0) throw new Error(`contract: ${problems.join('; ')}`)
    if (reply.body.status !== 'RUNNING') return reply.body
    if (Date.now() > deadline) throw new Error(`still RUNNING: ${JSON.stringify(reply.body)}`)
    await new Promise(resolve => setTimeout(resolve, 50))
  }
}

const connections = (atlan: AtlanSimulator): Array<{ status: string, attributes: Record<string, unknown> }> =>
  [...atlan.store.entities.values()].filter((e) => e.typeName === 'Connection')

t.test('provision creates the connection with mapped admins and its own user; a second finds it and applies an admin change', async t => {
  const { stack, atlan } = await atlanStack(t)
  const first = await run(stack, '/v1/provision', atlanRequest({}))
  t.equal(first.status, 'COMPLETED', first.result)
  const own = `service-account-${atlan.apiKey.clientId}`
  t.same(connections(atlan)[0]?.attributes.adminUsers, ['jane.doe', own].sort())
  t.same(connections(atlan)[0]?.attributes.adminGroups, ['data_mesh_platform'])
  t.match(first.info, { publicInfo: { connection: { type: 'link', value: 'finance-cashflow-0' } }, privateInfo: { connectionGuid: String } })
  const second = await run(stack, '/v1/provision', atlanRequest({ connection: { name: 'finance-cashflow-0', connectorType: 'snowflake', adminUsers: ['user:john.smith_company.com'] } }))
  t.equal(second.status, 'COMPLETED', second.result)
  t.equal(connections(atlan).length, 1, 'one connection')
  t.same(connections(atlan)[0]?.attributes.adminUsers, ['john.smith', own].sort())
  t.notMatch(JSON.stringify([first, second]), new RegExp(atlan.apiToken), 'the API token is in no reply')
})

t.test('an unchanged re-provision through the service finds its connection and persona by guid and writes nothing', async t => {
  const { stack, atlan } = await atlanStack(t)
  const specific = { persona: { name: 'readers' } }
  const firstFrom = atlan.requests.length
  t.equal((await run(stack, '/v1/provision', atlanRequest(specific))).status, 'COMPLETED')
  const first = atlan.requests.slice(firstFrom).filter((r) => r.status !== 403)
  const from = atlan.requests.length
  const again = await run(stack, '/v1/provision', atlanRequest(specific))
  t.equal(again.status, 'COMPLETED', again.result)
  // The 403s of the fresh connection are Atlan's propagation delay, ridden out: not what the provision costs.
  const made = atlan.requests.slice(from).filter((r) => r.status !== 403)
  t.same(made.filter((r) => r.path.endsWith('/indexsearch')), [], 'nothing looked up by name')
  t.same(made.filter((r) => r.method === 'DELETE' || (r.method === 'POST' && !r.path.endsWith('/indexsearch'))), [], 'nothing written')
  t.ok(made.length < first.length, `${first.length} calls, then ${made.length}`)
  const messages = again.logs.map((l: { message: string }) => l.message).join('\n')
  t.match(messages, /connection "finance-cashflow-0" left as it was/)
  t.match(messages, /policies on "finance-cashflow-0" left as they were/)
  t.equal(connections(atlan).length, 1)
})

t.test('with an OAuth client the minted token acts, and its user administers the connection', async t => {
  const { stack, atlan } = await atlanStack(t, {}, { ATLAN_AUTH: 'oauth_client', ATLAN_API_TOKEN: '', ATLAN_CLIENT_ID: 'sim-oauth-client', ATLAN_CLIENT_SECRET: 'sim-oauth-secret' })
  const done = await run(stack, '/v1/provision', atlanRequest({}))
  t.equal(done.status, 'COMPLETED', done.result)
  t.ok((connections(atlan)[0]?.attributes.adminUsers as string[]).includes('service-account-sim-oauth-client'))
  t.equal(atlan.store.tokensMinted, 1, 'one token for the whole task')
  t.notMatch(JSON.stringify(done), /sim-oauth-secret|atlan-oauth-/, 'neither the secret nor the token is in the reply')
})

t.test('API token: direct when administered, through a workflow otherwise (adopted, re-run, failed)', async t => {
  const { stack, atlan } = await atlanStack(t, { workflowPendingMs: 100, workflowRunMs: 600 })
  const direct = await run(stack, '/v1/provision', atlanRequest({ apiTokenGuid: atlan.otherApiKey.id }))
  t.equal(direct.status, 'COMPLETED', direct.result)
  t.equal(atlan.store.runs.length, 0, 'no workflow when this service administers the connection')

  // Another connection, made by someone else's token: this service is not its admin.
  const qn = 'default/snowflake/1700000001'
  const made = await fetch(`${atlan.url}/api/meta/entity/bulk`, {
    method: 'POST',
    headers: { authorization: `Bearer ${atlan.otherApiKey.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ entities: [{ typeName: 'Connection', guid: '-1', attributes: { name: 'foreign', qualifiedName: qn, connectorName: 'snowflake', adminUsers: ['john.smith', `service-account-${atlan.otherApiKey.clientId}`] } }] })
  })
  t.equal(made.status, 200)
  // Made long ago: its index entry and its policies are settled.
  atlan.flushIndex()
  atlan.store.forbiddenUntil.clear()
  const foreign = { connection: { name: 'foreign', connectorType: 'snowflake' }, apiTokenGuid: atlan.apiKey.id }
  const submitted = await run(stack, '/v1/provision', atlanRequest(foreign))
  t.equal(submitted.status, 'COMPLETED', submitted.result)
  t.equal(atlan.store.runs.length, 1)
  t.match(submitted.info.privateInfo, { apiTokenWorkflow: { how: 'submitted', phase: 'Succeeded' } })

  // A run already going is adopted.
  const conn = atlan.store.findByQualifiedName('Connection', qn)
  const removeOwn = (): void => { if (conn !== undefined) conn.attributes.adminUsers = ['john.smith'] }
  removeOwn()
  const template = atlan.store.runs[0]?.templateName ?? ''
  // This run lasts until the test moves the simulator's clock, so it is surely Running when the task looks.
  atlan.settings.workflowRunMs = 3_600_000
  await fetch(`${atlan.url}/api/service/workflows/submit`, { method: 'POST', headers: { authorization: `Bearer ${atlan.otherApiKey.token}`, 'content-type': 'application/json' }, body: JSON.stringify({ namespace: 'default', resourceKind: 'WorkflowTemplate', resourceName: template }) })
  atlan.settings.workflowRunMs = 600
  const started = await postJson(`${stack.base}/v1/provision`, atlanRequest(foreign))
  t.equal(started.status, 202, started.text)
  await eventually('the task adopts the running run', async () =>
    (await getJson(`${stack.base}/v1/provision/${started.text}/status`)).body.logs.some((l: { message: string }) => /adopted workflow run/.test(l.message)), 30_000)
  atlan.advance(3_600_000)
  const adopted = await waitForStatus(`${stack.base}/v1/provision/${started.text}/status`, { deadlineMs: 30_000 })
  t.equal(adopted.status, 'COMPLETED', adopted.result)
  t.equal(atlan.store.runs.length, 2, 'the running one was adopted')
  t.match(adopted.info.privateInfo, { apiTokenWorkflow: { how: 'adopted' } })

  removeOwn()
  const rerun = await run(stack, '/v1/provision', atlanRequest(foreign))
  t.equal(rerun.status, 'COMPLETED', rerun.result)
  t.equal(atlan.store.runs.length, 3)
  t.match(rerun.info.privateInfo, { apiTokenWorkflow: { how: 'rerun', template } })
  t.equal(atlan.store.templates.size, 1, 'the template was re-run, not a new one made')

  removeOwn()
  atlan.faults.workflowEnding = 'Failed'
  const failed = await run(stack, '/v1/provision', atlanRequest(foreign))
  t.equal(failed.status, 'FAILED')
  t.match(failed.result, /workflow run .* ended Failed/)
  t.equal(atlan.store.runs.length, 4, 'one failed run, no endless re-runs')
  t.ok(template.startsWith(CONNECTION_ADMIN_PACKAGE))
})

t.test('a worker killed while the workflow runs is resumed without a second run', async t => {
  const atlan = await startAtlanSimulator({ indexLagMs: 300, workflowPendingMs: 100, workflowRunMs: 4000 })
  t.teardown(atlan.close)
  const stack = await startStack(t, { env: { ROLE: 'api', ATLAN_URL: atlan.url, ATLAN_API_TOKEN: atlan.apiToken, ATLAN_POLL_INTERVAL_MS: '100', ATLAN_RETRY_BASE_MS: '10' } })
  const qn = 'default/snowflake/1700000002'
  await fetch(`${atlan.url}/api/meta/entity/bulk`, {
    method: 'POST',
    headers: { authorization: `Bearer ${atlan.otherApiKey.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ entities: [{ typeName: 'Connection', guid: '-1', attributes: { name: 'foreign', qualifiedName: qn, connectorName: 'snowflake', adminUsers: ['john.smith'] } }] })
  })
  atlan.flushIndex()
  const workerEnv = { ...stack.env, ROLE: 'worker', LOG_LEVEL: 'warn' }
  const first = spawnService(workerEnv)
  t.teardown(() => { first.child.kill('SIGKILL') })
  const res = await postJson(`${stack.base}/v1/provision`, atlanRequest({ connection: { name: 'foreign', connectorType: 'snowflake' }, apiTokenGuid: atlan.apiKey.id }))
  t.equal(res.status, 202)
  await eventually('the workflow run is Running', () => atlan.store.runs.length === 1 && atlan.store.now() >= (atlan.store.runs[0]?.runningAt ?? Infinity), 30_000)
  first.child.kill('SIGKILL')
  t.equal(await first.exited, 'SIGKILL')
  const second = spawnService(workerEnv)
  t.teardown(async () => { second.child.kill('SIGTERM'); await second.exited })
  const deadline = Date.now() + 60_000
  let status: any
  do {
    await new Promise(resolve => setTimeout(resolve, 100))
    status = (await getJson(`${stack.base}/v1/provision/${res.text}/status`)).body
  } while (status.status === 'RUNNING' && Date.now() < deadline)
  t.equal(status.status, 'COMPLETED', status.result)
  t.equal(atlan.store.runs.length, 1, 'no second run')
})

t.test('persona and policies once, unchanged on re-provision; updateacl grant, revoke through the legacy shape, unknown user reported', async t => {
  const { stack, atlan } = await atlanStack(t)
  const specific = { persona: { name: 'finance-cashflow-0-consumers' } }
  const first = await run(stack, '/v1/provision', atlanRequest(specific))
  t.equal(first.status, 'COMPLETED', first.result)
  const entities = (type: string): Array<{ guid: string, attributes: Record<string, unknown> }> => [...atlan.store.entities.values()].filter((e) => e.typeName === type)
  t.equal(entities('Persona').length, 1)
  t.equal(entities('AuthPolicy').length, 2)
  const policyGuids = entities('AuthPolicy').map((p) => p.guid).sort()
  t.equal(first.info.privateInfo.personaQualifiedName, entities('Persona')[0]?.attributes.qualifiedName)
  const again = await run(stack, '/v1/provision', atlanRequest(specific))
  t.equal(again.status, 'COMPLETED', again.result)
  t.equal(entities('Persona').length, 1)
  t.same(entities('AuthPolicy').map((p) => p.guid).sort(), policyGuids, 'policies unchanged')

  const request = atlanRequest(specific)
  const provisionInfo = { request: request.descriptor, result: 'OK' }
  const granted = await run(stack, '/v1/updateacl', { refs: ['user:alice.rossi_company.com', 'user:bob.lee_company.com', 'group:analysts'], provisionInfo })
  t.equal(granted.status, 'COMPLETED', granted.result)
  t.same(entities('Persona')[0]?.attributes.personaUsers, ['alice.rossi', 'bob.lee'])
  t.ok(granted.logs.some((l: { message: string }) => /within about a minute/.test(l.message)))
  const revoked = await run(stack, '/updateacl', { acl: { users: ['bob.lee_company.com', 'ghost_company.com'], groups: [] }, provisionInfo })
  t.equal(revoked.status, 'COMPLETED', revoked.result)
  t.same(entities('Persona')[0]?.attributes.personaUsers, ['bob.lee'], 'alice revoked, bob kept')
  t.same(entities('Persona')[0]?.attributes.personaGroups, [], 'the group revoked')
  t.match(revoked.result, /user:ghost_company\.com/)
  t.ok(revoked.logs.some((l: { level: string, message: string }) => l.level === 'WARNING' && /user:ghost_company\.com/.test(l.message)))
  t.notOk(atlan.requests.some((r) => r.status === 500), 'no 500 was provoked')
})

t.test('unprovision archives, removeData purges, absent is success', async t => {
  const { stack, atlan } = await atlanStack(t)
  const specific = { persona: { name: 'readers' } }
  t.equal((await run(stack, '/v1/provision', atlanRequest(specific))).status, 'COMPLETED')
  const soft = await run(stack, '/v1/unprovision', atlanRequest(specific, { removeData: false }))
  t.equal(soft.status, 'COMPLETED', soft.result)
  t.equal(connections(atlan)[0]?.status, 'DELETED')
  t.equal([...atlan.store.entities.values()].filter((e) => e.typeName === 'Persona').length, 0)
  atlan.flushIndex()
  const purge = await run(stack, '/v1/unprovision', atlanRequest(specific, { removeData: true }))
  t.equal(purge.status, 'COMPLETED', purge.result)
  t.equal(connections(atlan).length, 0)
  const absent = await run(stack, '/v1/unprovision', atlanRequest(specific, { removeData: true }))
  t.equal(absent.status, 'COMPLETED', absent.result)
})

t.test('the rate-limit lock-out is survived: every task completes and no request is sent during it', async t => {
  const { stack, atlan } = await atlanStack(t, { rateLimitPerMinute: 12, lockoutMs: 1500, indexLagMs: 0 }, { ATLAN_MAX_CONCURRENT_REQUESTS: '1' })
  const names = ['a', 'b', 'c']
  const results = await Promise.all(names.map(async (n) => await run(stack, '/v1/provision', atlanRequest({ connection: { name: `conn-${n}`, connectorType: 'snowflake' } }), 60_000)))
  for (const r of results) t.equal(r.status, 'COMPLETED', r.result)
  t.equal(connections(atlan).length, 3)
  const limited = atlan.requests.filter((r) => r.status === 429)
  t.ok(limited.length >= 1, 'the tenant limit was hit')
  const redis = new Redis(stack.redis.url)
  t.teardown(() => { redis.disconnect() })
  t.ok(await redis.zcard(`{${stack.prefix}}:atlan:rate:window`) > 0, 'the budget is counted in Redis, shared by every worker')
  for (const hit of limited) {
    // Each 429 starts a lock-out of 1.5 s on the simulator's clock: no other request may arrive inside it.
    const during = atlan.requests.filter((r) => r !== hit && r.at >= hit.at && r.at < hit.at + 1500)
    t.same(during, [], `no request during the lock-out that began at ${hit.at}`)
  }
})

t.test('async validation names each unresolvable ref; reverse provisioning describes the connection', async t => {
  const { stack, atlan } = await atlanStack(t)
  const bad = await run(stack, '/v2/validate', atlanRequest({ connection: { name: 'finance-cashflow-0', connectorType: 'snowflake', adminUsers: ['user:ghost_company.com', 'user:jane.doe_company.com'], adminGroups: ['group:nobody'] } }))
  t.equal(bad.info.publicInfo.valid, false)
  const errors = bad.info.publicInfo.error.errors.join('\n')
  t.match(errors, /adminUsers\.0.*user:ghost_company\.com/)
  t.match(errors, /adminGroups\.0.*group:nobody/)
  t.notMatch(errors, /jane\.doe/)
  const bad2 = await postJson(`${stack.base}/v1/validate`, atlanRequest({ connection: { name: 'x', connectorType: 'Snow Flake' } }))
  t.equal(bad2.json().valid, false)
  t.match(bad2.json().error.errors.join('\n'), /connectorType/)
  const offline = async (specific: Record<string, unknown>, mutate: (dp: any) => void = () => {}): Promise<string> => {
    const body = atlanRequest(specific)
    const doc = JSON.parse(String(body.descriptor))
    mutate(doc.dataProduct)
    const res = await postJson(`${stack.base}/v1/validate`, { ...body, descriptor: JSON.stringify(doc) })
    t.same(checkReply('POST', '/v1/validate', res.status, res.contentType, res.json()), [])
    t.equal(res.json().valid, false)
    return res.json().error.errors.join('\n')
  }
  t.match(await offline({ persona: { name: 'p', metadataActions: ['persona-asset-fly'] } }), /persona\.metadataActions\.0/)
  t.match(await offline({}, (dp) => { delete dp.dataProductOwner }), /connection\.adminUsers.*dataProductOwner/)
  t.match(await offline({}, (dp) => { delete dp.devGroup }), /connection\.adminGroups.*devGroup/)
  t.match(await offline({ connection: { name: 'x', connectorType: 'snowflake', adminUsers: [] } }), /adminUsers/)
  t.match(await offline({ apiTokenGuid: 'apikey-123' }), /apiTokenGuid/)
  t.match(await offline({ personna: { name: 'typo' } }), /personna/)
  t.match(await offline({ persona: { name: '${secret:orders-db-password}' } }), /persona\.name.*no Atlan field takes a secret/)

  t.equal((await run(stack, '/v1/provision', atlanRequest({}))).status, 'COMPLETED')
  // Reverse provisioning describes connections that exist for a while, past Atlan's post-create window.
  atlan.store.forbiddenUntil.clear()
  const res = await postJson(`${stack.base}/v1/reverse-provisioning`, { useCaseTemplateId: 'urn:dmb:utm:atlan-catalog:0.0.0', environment: 'development', params: { connection: 'finance-cashflow-0' }, catalogInfo: {} })
  t.equal(res.status, 202, res.text)
  const statusPath = `/v1/reverse-provisioning/${res.text}/status`
  let status: any
  await eventually('reverse provisioning ends', async () => { status = (await getJson(`${stack.base}${statusPath}`)).body; return status.status !== 'RUNNING' })
  t.same(checkReply('GET', statusPath, 200, 'application/json', status), [])
  t.equal(status.status, 'COMPLETED', JSON.stringify(status.logs))
  t.equal(status.updates['spec.mesh.specific.connection.connectorType'], 'snowflake')
  t.same(status.updates['spec.mesh.specific.connection.adminUsers'], ['user:jane.doe_company.com'])
})
