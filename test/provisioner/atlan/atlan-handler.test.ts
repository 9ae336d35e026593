import t from 'tap'
import type { Test } from 'tap'
import type { Component } from '../../../src/descriptor/types.js'
import { createAtlanClient } from '../../../src/provisioner/atlan/atlan-client.js'
import type { AtlanConfig } from '../../../src/provisioner/atlan/atlan-config.js'
import { createAtlanHandler, type AtlanState } from '../../../src/provisioner/atlan/atlan-handler.js'
import { lookupMapper } from '../../../src/provisioner/atlan/atlan-principals.js'
import { memoryRateGate } from '../../../src/provisioner/atlan/atlan-rate-limit.js'
import type { AtlanSpecific } from '../../../src/provisioner/atlan/atlan-schema.js'
import { memoryRecentWrites } from '../../../src/provisioner/atlan/atlan-state.js'
import { CONNECTION_ADMIN_PACKAGE, startAtlanSimulator, type AtlanSimulator, type AtlanSimulatorOptions } from '../../../src/sandbox/atlan/atlan-simulator.js'
import { atlanTestConfig, atlanTestProduct } from '../../helpers/atlan-test-config.js'
import { killAndResumeAtEveryStep, runSteps, type KitOptions } from '../../helpers/handler-kit.js'

const DP = atlanTestProduct()

function component (specific: Partial<AtlanSpecific> = {}): Component {
  return {
    id: 'urn:dmb:cmp:finance:cashflow:0:orders-catalog',
    kind: 'outputport',
    useCaseTemplateId: 'urn:dmb:utm:atlan-catalog:0.0.0',
    specific: { connection: { name: 'finance-cashflow-0', connectorType: 'snowflake' }, ...specific } as Record<string, unknown>
  }
}

const config = atlanTestConfig

async function setup (t: Test, simOpts: AtlanSimulatorOptions = {}, extra: Partial<AtlanConfig> = {}): Promise<{ sim: AtlanSimulator, handler: ReturnType<typeof createAtlanHandler> }> {
  const sim = await startAtlanSimulator({ indexLagMs: 0, workflowPendingMs: 0, workflowRunMs: 0, ...simOpts })
  t.teardown(sim.close)
  return { sim, handler: handlerFor(sim, extra) }
}

function handlerFor (sim: AtlanSimulator, extra: Partial<AtlanConfig> = {}, token = sim.apiToken): ReturnType<typeof createAtlanHandler> {
  const cfg = config(sim, { apiToken: token, ...extra })
  const client = createAtlanClient({ url: cfg.url, auth: { auth: 'api_token', apiToken: token }, requestTimeoutMs: 5000, retries: 2, retryBaseMs: 5 }, { gate: memoryRateGate(1000) })
  const reserved = new Set<string>()
  return createAtlanHandler({
    config: cfg,
    client,
    mapper: lookupMapper(client),
    reserveQualifiedName: async (qn) => { if (reserved.has(qn)) return false; reserved.add(qn); return true },
    recent: memoryRecentWrites()
  })
}

const opts = (c: Component, extra: Partial<KitOptions> = {}): KitOptions => ({ operation: 'provision', component: c, dataProduct: DP, maxWaitMs: 5, ...extra })
const connections = (sim: AtlanSimulator): Array<{ guid: string, attributes: Record<string, unknown>, status: string }> =>
  [...sim.store.entities.values()].filter((e) => e.typeName === 'Connection')
const own = (sim: AtlanSimulator): string => `service-account-${sim.apiKey.clientId}`

t.test('provision creates the connection with the mapped admins and its own user; a second provision finds it and applies an admin change', async t => {
  const { sim, handler } = await setup(t)
  const first = await runSteps(handler, opts(component()))
  t.ok(first.outcome)
  const [conn] = connections(sim)
  t.same(conn?.attributes.adminUsers, ['jane.doe', own(sim)].sort())
  t.same(conn?.attributes.adminGroups, ['data_mesh_platform'])
  t.match(String(conn?.attributes.qualifiedName), /^default\/snowflake\/\d{10}$/)
  t.match(first.outcome?.info?.privateInfo, { connectionGuid: conn?.guid, connectionQualifiedName: conn?.attributes.qualifiedName })
  t.match(first.outcome?.info?.publicInfo, { connection: { type: 'link', href: `${sim.url}/assets/${String(conn?.guid)}/overview` } })

  const changed = component({ connection: { name: 'finance-cashflow-0', connectorType: 'snowflake', adminUsers: ['user:john.smith_company.com'], adminGroups: ['group:analysts'] } })
  const second = await runSteps(handler, opts(changed))
  t.ok(second.outcome)
  t.equal(connections(sim).length, 1, 'still one connection')
  t.same(connections(sim)[0]?.attributes.adminUsers, ['john.smith', own(sim)].sort(), 'jane.doe removed, john.smith added')
  t.same(connections(sim)[0]?.attributes.adminGroups, ['analysts'])
  t.ok(second.logs.some((l) => /admins updated/.test(l.message)))
})

t.test('the 403s after a fresh connection are ridden out, not failed', async t => {
  const { sim, handler } = await setup(t, { postCreateForbiddenMs: 3_600_000 })
  const killed = await runSteps(handler, opts(component({ persona: { name: 'readers' } })), { stopAtWait: true })
  t.ok(killed.waits.length > 0, 'the step waits')
  sim.store.forbiddenUntil.clear()
  const resumed = await runSteps(handler, opts(component({ persona: { name: 'readers' } })), { from: killed.checkpoint })
  t.ok(resumed.outcome)
  t.equal(connections(sim).length, 1)
})

t.test('two connections created in the same second get distinct qualified names', async t => {
  const { sim, handler } = await setup(t)
  const a = component({ connection: { name: 'one', connectorType: 'snowflake' } })
  const b = component({ connection: { name: 'two', connectorType: 'snowflake' } })
  await Promise.all([runSteps(handler, opts(a)), runSteps(handler, opts(b))])
  const qns = connections(sim).map((c) => c.attributes.qualifiedName)
  t.equal(qns.length, 2)
  t.not(qns[0], qns[1])
})

t.test('every provision step is safe to run twice: one connection, one persona, the policies once', async t => {
  let sim: AtlanSimulator | undefined
  const rounds = await killAndResumeAtEveryStep<AtlanState>(async () => {
    const made = await setup(t, { indexLagMs: 0 })
    sim = made.sim
    return { handler: made.handler, opts: opts(component({ persona: { name: 'readers' }, apiTokenGuid: made.sim.otherApiKey.id })) }
  }, async ({ killedIn, resumed }) => {
    t.ok(resumed.outcome, `resumed after a kill inside ${killedIn}`)
    const types = [...(sim?.store.entities.values() ?? [])].map((e) => e.typeName).sort()
    t.same(types, ['AuthPolicy', 'AuthPolicy', 'Connection', 'Persona'], `one connection, one persona, two policies after a kill inside ${killedIn}`)
  })
  t.ok(rounds >= 7)
})

t.test('every workflow-path step is safe to run twice: one run, and the declared admins applied once this service is admin', async t => {
  let sim: AtlanSimulator | undefined
  const rounds = await killAndResumeAtEveryStep<AtlanState>(async () => {
    const made = await setup(t)
    sim = made.sim
    await foreignConnection(made.sim)
    return { handler: made.handler, opts: opts(component({ apiTokenGuid: made.sim.apiKey.id, persona: { name: 'readers' } })) }
  }, async ({ killedIn, resumed }) => {
    t.ok(resumed.outcome, `resumed after a kill inside ${killedIn}`)
    t.equal(sim?.store.runs.length, 1, `one workflow run after a kill inside ${killedIn}`)
    const conn = [...(sim?.store.entities.values() ?? [])].find((e) => e.typeName === 'Connection')
    t.same(conn?.attributes.adminUsers, ['jane.doe', own(sim as AtlanSimulator)].sort(), 'the declared admins, applied after the workflow')
    t.equal([...(sim?.store.entities.values() ?? [])].filter((e) => e.typeName === 'AuthPolicy').length, 2)
  })
  t.ok(rounds >= 9)
})

t.test('updateacl and unprovision steps are safe to run twice', async t => {
  const c = component({ persona: { name: 'readers' } })
  let sim: AtlanSimulator | undefined
  await killAndResumeAtEveryStep<AtlanState>(async () => {
    const made = await setup(t)
    sim = made.sim
    await runSteps(made.handler, opts(c))
    return { handler: made.handler, opts: opts(c, { operation: 'updateacl', refs: ['user:alice.rossi_company.com', 'group:analysts'] }) }
  }, async ({ killedIn, resumed }) => {
    t.ok(resumed.outcome, killedIn)
    const persona = [...(sim?.store.entities.values() ?? [])].find((e) => e.typeName === 'Persona')
    t.same([persona?.attributes.personaUsers, persona?.attributes.personaGroups], [['alice.rossi'], ['analysts']])
  })
  await killAndResumeAtEveryStep<AtlanState>(async () => {
    const made = await setup(t)
    sim = made.sim
    await runSteps(made.handler, opts(c))
    return { handler: made.handler, opts: opts(c, { operation: 'unprovision', removeData: true }) }
  }, async ({ killedIn, resumed }) => {
    t.ok(resumed.outcome, killedIn)
    t.equal(sim?.store.entities.size, 0, `everything purged after a kill inside ${killedIn}`)
  })
})

t.test('API token: made an admin directly when this service administers the connection', async t => {
  const { sim, handler } = await setup(t)
  const run = await runSteps(handler, opts(component({ apiTokenGuid: sim.otherApiKey.id })))
  t.ok(run.outcome)
  t.ok((connections(sim)[0]?.attributes.adminUsers as string[]).includes(`service-account-${sim.otherApiKey.clientId}`))
  t.equal(sim.store.runs.length, 0, 'no workflow')
  t.equal(run.state.apiToken?.via, 'admin-list')
})

async function foreignConnection (sim: AtlanSimulator): Promise<string> {
  // A person's workflow made it: this service is not among its admins.
  const res = await fetch(`${sim.url}/api/meta/entity/bulk`, {
    method: 'POST',
    headers: { authorization: `Bearer ${sim.otherApiKey.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ entities: [{ typeName: 'Connection', guid: '-1', attributes: { name: 'finance-cashflow-0', qualifiedName: 'default/snowflake/1700000000', connectorName: 'snowflake', adminUsers: ['john.smith', `service-account-${sim.otherApiKey.clientId}`] } }] })
  })
  t.equal(res.status, 200)
  return 'default/snowflake/1700000000'
}

t.test('API token: through the workflow when the connection is administered elsewhere', async t => {
  const { sim, handler } = await setup(t, { workflowPendingMs: 10, workflowRunMs: 10 })
  await foreignConnection(sim)
  const run = await runSteps(handler, opts(component({ apiTokenGuid: sim.apiKey.id })))
  t.ok(run.outcome, run.logs.map((l) => l.message).join('\n'))
  t.equal(sim.store.runs.length, 1)
  t.equal(run.state.apiToken?.run?.how, 'submitted')
  t.ok((connections(sim)[0]?.attributes.adminUsers as string[]).includes(own(sim)))
  t.same(connections(sim)[0]?.attributes.adminUsers, ['jane.doe', own(sim)].sort(), 'once admin, the declared admin lists are applied')
})

t.test('API token workflow: a Running run is adopted, an old template is re-run, a failed run fails readably', async t => {
  const { sim, handler } = await setup(t, { workflowPendingMs: 60_000, workflowRunMs: 60_000 })
  const qn = await foreignConnection(sim)
  const submit = async (): Promise<void> => {
    const res = await fetch(`${sim.url}/api/service/workflows?submit=true`, {
      method: 'POST',
      headers: { authorization: `Bearer ${sim.otherApiKey.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ metadata: { name: `${CONNECTION_ADMIN_PACKAGE}-42` }, spec: { templates: [{ name: 'main', dag: { tasks: [{ name: 'run', arguments: { parameters: [{ name: 'connection_qualified_name', value: qn }, { name: 'api_token_guid', value: sim.apiKey.id }] }, templateRef: { name: CONNECTION_ADMIN_PACKAGE, template: 'main', clusterScope: true } }] } }] } })
    })
    t.equal(res.status, 200)
  }
  await submit()
  const adopted = await runSteps(handler, opts(component({ apiTokenGuid: sim.apiKey.id })), { stopAtWait: true })
  t.equal(adopted.state.apiToken?.run?.how, 'adopted')
  t.equal(sim.store.runs.length, 1, 'no second run')
  sim.advance(120_000)
  const done = await runSteps(handler, opts(component({ apiTokenGuid: sim.apiKey.id })), { from: adopted.checkpoint })
  t.ok(done.outcome)
  t.equal(sim.store.runs.length, 1, 'a killed worker resumed without a second run')

  // Remove the admin again: the next provision re-runs the existing template.
  const conn = sim.store.findByQualifiedName('Connection', qn)
  if (conn !== undefined) conn.attributes.adminUsers = ['john.smith']
  sim.faults.workflowEnding = 'Failed'
  const rerun = await runSteps(handler, opts(component({ apiTokenGuid: sim.apiKey.id })), { stopAtWait: true })
  t.equal(rerun.state.apiToken?.run?.how, 'rerun')
  t.equal(sim.store.runs.length, 2)
  sim.advance(120_000)
  const failed = await runSteps(handler, opts(component({ apiTokenGuid: sim.apiKey.id })), { from: rerun.checkpoint }).catch((e: unknown) => e)
  t.match((failed as Error).message, /workflow run .* ended Failed: .*is not a connection admin/)
  t.equal(sim.store.runs.length, 2, 'no endless re-runs')
})

t.test('workflows off: a connection administered elsewhere fails with a readable message', async t => {
  const { sim } = await setup(t)
  await foreignConnection(sim)
  const handler = handlerFor(sim, { useWorkflows: false })
  const err = await runSteps(handler, opts(component({ apiTokenGuid: sim.apiKey.id }))).catch((e: unknown) => e)
  t.match((err as Error).message, /ATLAN_USE_WORKFLOWS=false/)
})

t.test('persona and policies are created once and unchanged on re-provision; members are never touched', async t => {
  const { sim, handler } = await setup(t)
  const c = component({ persona: { name: 'finance-readers', metadataActions: ['persona-asset-read', 'persona-asset-update'] } })
  const first = await runSteps(handler, opts(c))
  const persona = [...sim.store.entities.values()].find((e) => e.typeName === 'Persona')
  t.match(String(persona?.attributes.qualifiedName), /^default\/.{22}$/)
  const policies = (): Array<{ guid: string, attributes: Record<string, unknown> }> => [...sim.store.entities.values()].filter((e) => e.typeName === 'AuthPolicy')
  t.equal(policies().length, 2)
  const info = first.outcome?.info?.privateInfo as { personaGuid: string, personaQualifiedName: string, policies: Record<string, { guid: string, qualifiedName: string }> }
  t.equal(info.personaGuid, persona?.guid)
  t.equal(info.personaQualifiedName, persona?.attributes.qualifiedName, 'the rewritten qualified name is recorded')
  t.equal(info.policies['finance-cashflow-0 metadata']?.qualifiedName, policies().find((p) => p.attributes.name === 'finance-cashflow-0 metadata')?.attributes.qualifiedName)

  if (persona !== undefined) persona.attributes.personaUsers = ['alice.rossi']
  const guids = policies().map((p) => p.guid).sort()
  const before = sim.requests.filter((r) => r.method === 'POST' && r.path === '/api/meta/entity/bulk').length
  await runSteps(handler, opts(c))
  t.same(policies().map((p) => p.guid).sort(), guids, 'same policies')
  t.equal(sim.requests.filter((r) => r.method === 'POST' && r.path === '/api/meta/entity/bulk').length, before, 'nothing written')
  t.same(persona?.attributes.personaUsers, ['alice.rossi'], 'members untouched')

  const noData = component({ persona: { name: 'finance-readers', dataAccess: false } })
  await runSteps(handler, opts(noData))
  t.same(policies().map((p) => p.attributes.name), ['finance-cashflow-0 metadata'], 'the undeclared data policy is removed')
  t.same(policies()[0]?.attributes.policyActions, ['persona-asset-read'], 'the changed one is updated')
})

t.test('two personas with the exact name are a conflict; a case-different name is not', async t => {
  const { sim, handler } = await setup(t)
  const make = async (name: string): Promise<void> => {
    await fetch(`${sim.url}/api/meta/entity/bulk`, { method: 'POST', headers: { authorization: `Bearer ${sim.apiToken}`, 'content-type': 'application/json' }, body: JSON.stringify({ entities: [{ typeName: 'Persona', guid: '-1', attributes: { name, qualifiedName: name, isAccessControlEnabled: true } }] }) })
  }
  await make('READERS')
  const ok = await runSteps(handler, opts(component({ persona: { name: 'readers' } })))
  t.ok(ok.outcome, 'READERS is another persona')
  await make('readers')
  const err = await runSteps(handler, opts(component({ persona: { name: 'readers' } }), {})).catch((e: unknown) => e)
  t.match((err as Error).message, /2 Atlan personas are named exactly "readers"/)
})

t.test('updateacl: grant, then revoke through the same desired state; an unknown user is reported and the others applied', async t => {
  const { sim, handler } = await setup(t)
  const c = component({ persona: { name: 'readers' } })
  await runSteps(handler, opts(c))
  const persona = (): Record<string, unknown> | undefined => [...sim.store.entities.values()].find((e) => e.typeName === 'Persona')?.attributes
  const grant = await runSteps(handler, opts(c, { operation: 'updateacl', refs: ['user:alice.rossi_company.com', 'group:analysts', 'user:bob.lee_company.com'] }))
  t.same(persona()?.personaUsers, ['alice.rossi', 'bob.lee'])
  t.same(persona()?.personaGroups, ['analysts'])
  t.equal(persona()?.isAccessControlEnabled, true)
  t.ok(grant.logs.some((l) => /within about a minute/.test(l.message)))
  const revoke = await runSteps(handler, opts(c, { operation: 'updateacl', refs: ['user:bob.lee_company.com', 'user:ghost_company.com'] }))
  t.same(persona()?.personaUsers, ['bob.lee'])
  t.same(persona()?.personaGroups, [])
  t.match(revoke.outcome?.result, /user:ghost_company\.com/)
  t.ok(revoke.logs.some((l) => l.level === 'WARNING' && /user:ghost_company\.com/.test(l.message)))
  t.notOk(sim.requests.some((r) => r.status === 500), 'no 500 was provoked')
})

t.test('unprovision deletes the persona and archives the connection; removeData purges it; absent is success', async t => {
  const { sim, handler } = await setup(t)
  const c = component({ persona: { name: 'readers' } })
  await runSteps(handler, opts(c))
  const soft = await runSteps(handler, opts(c, { operation: 'unprovision' }))
  t.ok(soft.outcome)
  t.equal([...sim.store.entities.values()].filter((e) => e.typeName === 'Persona' || e.typeName === 'AuthPolicy').length, 0)
  t.equal(connections(sim)[0]?.status, 'DELETED', 'archived')
  const purge = await runSteps(handler, opts(c, { operation: 'unprovision', removeData: true }))
  t.ok(purge.outcome)
  t.equal(connections(sim).length, 0, 'purged')
  const again = await runSteps(handler, opts(c, { operation: 'unprovision', removeData: true }))
  t.ok(again.outcome, 'absent is success')
})

t.test('reverse provisioning describes a connection and its persona as specific', async t => {
  const { sim, handler } = await setup(t)
  await runSteps(handler, opts(component({ persona: { name: 'readers', dataAccess: false } })))
  const log = { info: () => {}, warn: () => {}, debug: () => {}, error: () => {} }
  const { updates } = await handler.reverseProvision({ useCaseTemplateId: 'urn:dmb:utm:atlan-catalog:0', environment: 'dev', params: { connection: 'finance-cashflow-0', persona: 'readers' }, catalogInfo: {}, log, signal: new AbortController().signal })
  t.same(updates, {
    'spec.mesh.specific.connection.name': 'finance-cashflow-0',
    'spec.mesh.specific.connection.connectorType': 'snowflake',
    'spec.mesh.specific.connection.adminUsers': ['user:jane.doe_company.com'],
    'spec.mesh.specific.connection.adminGroups': ['group:data_mesh_platform'],
    'spec.mesh.specific.persona.name': 'readers',
    'spec.mesh.specific.persona.metadataActions': ['persona-asset-read'],
    'spec.mesh.specific.persona.dataAccess': false
  })
  t.ok(sim.requests.length > 0)
})
