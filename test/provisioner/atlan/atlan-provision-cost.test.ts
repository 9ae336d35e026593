/**
 * What an Atlan provision costs upstream (issue 9; Atlan allows 400 requests a minute): the connection and the
 * persona found by guid when one is known, with a logged fallback to the name; no duplicate after a crash
 * between a create and its record, even while the search index lags; nothing written, and the admin refs not
 * mapped again, when Atlan holds what this service last sent; a changed descriptor, or a change made in Atlan,
 * sent. Real Redis holds the resource ledger; the Atlan simulator's request log counts the calls.
 */
import t, { type Test } from 'tap'
import type { Component } from '../../../src/descriptor/types.js'
import type { ComponentInfo, ResourceLedger } from '../../../src/provisioner/handler.js'
import { createAtlanClient } from '../../../src/provisioner/atlan/atlan-client.js'
import { createAtlanHandler, type AtlanState } from '../../../src/provisioner/atlan/atlan-handler.js'
import { lookupMapper } from '../../../src/provisioner/atlan/atlan-principals.js'
import { memoryRateGate } from '../../../src/provisioner/atlan/atlan-rate-limit.js'
import type { AtlanSpecific } from '../../../src/provisioner/atlan/atlan-schema.js'
import { memoryRecentWrites } from '../../../src/provisioner/atlan/atlan-state.js'
import { startAtlanSimulator, type AtlanRequestRecord, type AtlanSimulator, type AtlanSimulatorOptions } from '../../../src/sandbox/atlan/atlan-simulator.js'
import { runSteps, type KitControl, type KitRun } from '../../helpers/handler-kit.js'
import { atlanTestConfig, atlanTestProduct } from '../../helpers/atlan-test-config.js'
import { ledgerRedis } from '../../helpers/ledger-redis.js'

const DP = atlanTestProduct()
const { redis, keys, ledgers } = await ledgerRedis(t, 'atlan-provision-cost')

let serial = 0
function component (specific: Partial<AtlanSpecific> = {}, info?: ComponentInfo): Component {
  return {
    id: `urn:dmb:cmp:finance:cashflow:0:catalog-${serial}`,
    kind: 'outputport',
    useCaseTemplateId: 'urn:dmb:utm:atlan-catalog:0.0.0',
    specific: { connection: { name: 'finance-cashflow-0', connectorType: 'snowflake' }, persona: { name: 'readers' }, ...specific } as Record<string, unknown>,
    ...(info === undefined ? {} : { info })
  }
}

async function simulator (t: Test, opts: AtlanSimulatorOptions = {}): Promise<AtlanSimulator> {
  const sim = await startAtlanSimulator({ indexLagMs: 0, workflowPendingMs: 0, workflowRunMs: 0, ...opts })
  t.teardown(sim.close)
  serial++
  return sim
}

/** A handler as a fresh process builds it: nothing cached, only Redis remembers. */
function handlerFor (sim: AtlanSimulator): ReturnType<typeof createAtlanHandler> {
  const client = createAtlanClient({ url: sim.url, auth: { auth: 'api_token', apiToken: sim.apiToken }, requestTimeoutMs: 5000, retries: 2, retryBaseMs: 5 }, { gate: memoryRateGate(1000) })
  return createAtlanHandler({
    config: atlanTestConfig(sim),
    client,
    mapper: lookupMapper(client),
    reserveQualifiedName: async () => true,
    recent: memoryRecentWrites()
  })
}

async function provision (sim: AtlanSimulator, comp: Component, ledger: ResourceLedger, control: KitControl = {}, handler = handlerFor(sim)): Promise<KitRun<AtlanState>> {
  return await runSteps(handler, { operation: 'provision', component: comp, dataProduct: DP, ledger, maxWaitMs: 5 }, control)
}

async function calls<T> (sim: AtlanSimulator, run: () => Promise<T>): Promise<{ made: AtlanRequestRecord[], result: T }> {
  const before = sim.requests.length
  const result = await run()
  return { made: sim.requests.slice(before), result }
}
const searches = (made: AtlanRequestRecord[]): number => made.filter((r) => r.path === '/api/meta/search/indexsearch').length
const writes = (made: AtlanRequestRecord[]): AtlanRequestRecord[] => made.filter((r) => r.method === 'DELETE' || (r.method === 'POST' && !r.path.endsWith('/indexsearch')))
const mappings = (made: AtlanRequestRecord[]): number => made.filter((r) => r.path === '/api/service/users' || r.path === '/api/service/v2/groups').length
const listing = (made: AtlanRequestRecord[]): string => made.map((r) => `${r.method} ${r.path}`).join(', ')
const said = (r: KitRun<AtlanState>, pattern: RegExp): boolean => r.logs.some((l) => pattern.test(l.message))
const entities = (sim: AtlanSimulator, typeName: string): Array<{ guid: string, status: string, attributes: Record<string, unknown> }> =>
  [...sim.store.entities.values()].filter((e) => e.typeName === typeName)
const counts = (sim: AtlanSimulator): number[] => ['Connection', 'Persona', 'AuthPolicy'].map((type) => entities(sim, type).length)

async function createDirectly (sim: AtlanSimulator, typeName: string, attributes: Record<string, unknown>): Promise<string> {
  const res = await fetch(`${sim.url}/api/meta/entity/bulk`, {
    method: 'POST',
    headers: { authorization: `Bearer ${sim.apiToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ entities: [{ typeName, guid: '-1', attributes }] })
  })
  const body = await res.json() as { guidAssignments: Record<string, string> }
  const guid = body.guidAssignments['-1']
  if (guid === undefined) throw new Error(`the simulator created no ${typeName}`)
  return guid
}

t.test('an unchanged re-provision in a new process finds everything by guid: no search, no admin mapping, no write, fewer calls', async (t) => {
  const sim = await simulator(t)
  const comp = component({ apiTokenGuid: sim.otherApiKey.id })
  const ledger = ledgers.for('atlan', comp.id)
  const first = await calls(sim, async () => await provision(sim, comp, ledger))
  t.ok(first.result.outcome, 'the first provision finished')
  t.same(counts(sim), [1, 1, 2])

  const again = await calls(sim, async () => await provision(sim, comp, ledger))
  t.ok(again.result.outcome, 'the re-provision finished')
  t.equal(searches(again.made), 0, 'nothing looked up by name')
  t.equal(mappings(again.made), 0, 'no admin ref mapped again')
  t.same(writes(again.made), [], 'nothing written')
  t.ok(again.made.length < first.made.length, `fewer calls: ${first.made.length} then ${again.made.length}`)
  t.ok(again.made.length <= 4, `${again.made.length} calls: ${listing(again.made)}`)
  t.comment(`Atlan calls: first provision ${first.made.length} (${writes(first.made).length} writes), unchanged re-provision ${again.made.length} (${writes(again.made).length} writes)`)
  t.ok(said(again.result, /connection "finance-cashflow-0" left as it was .*the admins this service last sent/))
  t.ok(said(again.result, /policies on "finance-cashflow-0" left as they were/))
  t.same(counts(sim), [1, 1, 2])
  t.match(again.result.outcome?.info?.privateInfo, first.result.outcome?.info?.privateInfo as Record<string, unknown>, 'the same guids reported')

  const stored = await redis.hgetall(keys.ownedResources('atlan', comp.id))
  t.same(Object.keys(stored).sort(), ['connection', 'persona', 'policies'])
  for (const raw of Object.values(stored)) t.same(Object.keys(JSON.parse(raw) as object).filter((k) => !['id', 'sent'].includes(k)), [], 'ids and fingerprints only')
})

t.test('in the same process a re-provision does not ask Atlan again who this service is', async (t) => {
  const sim = await simulator(t)
  const comp = component({ apiTokenGuid: sim.otherApiKey.id })
  const ledger = ledgers.for('atlan', comp.id)
  const handler = handlerFor(sim)
  const first = await calls(sim, async () => await provision(sim, comp, ledger, {}, handler))
  const again = await calls(sim, async () => await provision(sim, comp, ledger, {}, handler))
  t.ok(again.result.outcome)
  t.equal(first.made.filter((r) => r.path === '/api/service/users/current').length, 1)
  t.same(again.made.filter((r) => r.path === '/api/service/users/current'), [], 'its own user is known')
  t.same(writes(again.made), [])
  t.ok(again.made.length <= 3, `${again.made.length} calls: ${listing(again.made)}`)
  t.comment(`Atlan calls in one process: first provision ${first.made.length}, unchanged re-provision ${again.made.length}`)
})

t.test('the deployed descriptor\'s privateInfo guids are used when the service has no record', async (t) => {
  const sim = await simulator(t)
  const comp = component()
  const first = await provision(sim, comp, ledgers.for('atlan', comp.id))
  const again = await calls(sim, async () => await provision(sim, component({}, first.outcome?.info), ledgers.for('atlan', `${comp.id}-elsewhere`)))
  t.ok(again.result.outcome)
  t.equal(searches(again.made), 0, 'found by the guids of privateInfo')
  t.same(writes(again.made), [], 'Atlan holds what would be sent: nothing written')
  t.same(counts(sim), [1, 1, 2])
})

t.test('a changed descriptor is sent: the new admins and the changed policies, nothing else', async (t) => {
  const sim = await simulator(t)
  const comp = component()
  const ledger = ledgers.for('atlan', comp.id)
  await provision(sim, comp, ledger)
  const conn = entities(sim, 'Connection')[0]
  const metadata = entities(sim, 'AuthPolicy').find((p) => String(p.attributes.name).endsWith(' metadata'))

  const admins = component({ connection: { name: 'finance-cashflow-0', connectorType: 'snowflake', adminUsers: ['user:john.smith_company.com'] } })
  const adminChange = await calls(sim, async () => await provision(sim, { ...admins, id: comp.id }, ledger))
  t.same(writes(adminChange.made).map((r) => `${r.method} ${r.path}`), ['POST /api/meta/entity/bulk'], 'one write: the connection')
  t.same(entities(sim, 'Connection')[0]?.attributes.adminUsers, ['john.smith', `service-account-${sim.apiKey.clientId}`].sort())
  t.ok(said(adminChange.result, /admins updated: users \+\[john\.smith\] -\[jane\.doe\]/))

  const actions = component({
    connection: { name: 'finance-cashflow-0', connectorType: 'snowflake', adminUsers: ['user:john.smith_company.com'] },
    persona: { name: 'readers', metadataActions: ['persona-asset-read', 'persona-asset-update'] }
  })
  const policyChange = await calls(sim, async () => await provision(sim, { ...actions, id: comp.id }, ledger))
  t.same(writes(policyChange.made).map((r) => `${r.method} ${r.path}`), ['POST /api/meta/entity/bulk'], 'one write: the changed policy')
  t.same(entities(sim, 'AuthPolicy').find((p) => p.guid === metadata?.guid)?.attributes.policyActions, ['persona-asset-read', 'persona-asset-update'])
  t.equal(entities(sim, 'Connection')[0]?.guid, conn?.guid, 'the same connection')

  const settled = await calls(sim, async () => await provision(sim, { ...actions, id: comp.id }, ledger))
  t.same(writes(settled.made), [], 'and then left alone')
  t.same(counts(sim), [1, 1, 2])
})

t.test('a token no longer named in the descriptor leaves the admins, though the declared refs are the same', async (t) => {
  const sim = await simulator(t)
  const comp = component({ apiTokenGuid: sim.otherApiKey.id })
  const ledger = ledgers.for('atlan', comp.id)
  await provision(sim, comp, ledger)
  const tokenUser = `service-account-${sim.otherApiKey.clientId}`
  t.ok((entities(sim, 'Connection')[0]?.attributes.adminUsers as string[]).includes(tokenUser))
  const without = await calls(sim, async () => await provision(sim, { ...component(), id: comp.id }, ledger))
  t.equal(writes(without.made).length, 1, 'the connection written')
  t.notOk((entities(sim, 'Connection')[0]?.attributes.adminUsers as string[]).includes(tokenUser), 'the token user is no admin any more')
})

t.test('a create Atlan refused withdraws its announcement; one whose answer was lost keeps it, and the next run waits', async (t) => {
  const sim = await simulator(t)
  const comp = component()
  const ledger = ledgers.for('atlan', comp.id)
  sim.faults.failNext = [{ method: 'POST', path: /\/api\/meta\/entity\/bulk$/, status: 400 }]
  const refused = await provision(sim, comp, ledger).catch((e: unknown) => e)
  t.match((refused as Error).message, /rejected POST \/api\/meta\/entity\/bulk/)
  t.same(await ledger.read(), {}, 'nothing announced: Atlan made nothing')

  sim.faults.failNext = [{ method: 'POST', path: /\/api\/meta\/entity\/bulk$/, status: 'drop' }]
  const lost = await provision(sim, comp, ledger).catch((e: unknown) => e)
  t.match((lost as Error).message, /may have been applied/)
  t.type((await ledger.read()).connection?.creating, 'number', 'the create stays announced: its fate is unknown')
  const next = await provision(sim, comp, ledger, { stopAtWait: true })
  t.equal(next.waits.length, 1, 'a new task waits for the index before creating')
  t.same(counts(sim), [0, 0, 0])
})

t.test('a change made in Atlan since the last provision is put back: the fingerprint hides no drift', async (t) => {
  const sim = await simulator(t)
  const comp = component()
  const ledger = ledgers.for('atlan', comp.id)
  await provision(sim, comp, ledger)
  const conn = entities(sim, 'Connection')[0]
  if (conn !== undefined) conn.attributes.adminUsers = [`service-account-${sim.apiKey.clientId}`, 'bob.lee']
  const policy = entities(sim, 'AuthPolicy').find((p) => String(p.attributes.name).endsWith(' data'))
  if (policy !== undefined) policy.attributes.policyActions = []
  const again = await calls(sim, async () => await provision(sim, comp, ledger))
  t.equal(writes(again.made).length, 2, `the connection and the policy written: ${listing(writes(again.made))}`)
  t.same(entities(sim, 'Connection')[0]?.attributes.adminUsers, ['jane.doe', `service-account-${sim.apiKey.clientId}`].sort())
  t.same(entities(sim, 'AuthPolicy').find((p) => p.guid === policy?.guid)?.attributes.policyActions, ['select'])
})

t.test('a recorded guid Atlan no longer has falls back to the name, says so, and corrects the record', async (t) => {
  const sim = await simulator(t)
  const comp = component()
  const ledger = ledgers.for('atlan', comp.id)
  await provision(sim, comp, ledger)
  const [conn] = entities(sim, 'Connection')
  const [persona] = entities(sim, 'Persona')
  await ledger.write('connection', { id: 'c0ffee00-0000-4000-8000-00000000dead', sent: 'stale' })
  await ledger.write('persona', { id: 'c0ffee00-0000-4000-8000-00000000beef' })
  const r = await provision(sim, comp, ledger)
  t.ok(r.outcome)
  t.ok(said(r, /connection c0ffee00-0000-4000-8000-00000000dead \(from this service's resource record\) no longer exists in Atlan; looking it up by name "finance-cashflow-0"/))
  t.ok(said(r, /persona c0ffee00-0000-4000-8000-00000000beef \(from this service's resource record\) no longer exists in Atlan; looking it up by name "readers"/))
  const record = await ledger.read()
  t.equal(record.connection?.id, conn?.guid, 'the record holds the connection Atlan has')
  t.equal(record.persona?.id, persona?.guid, 'the record holds the persona Atlan has')
  t.same(counts(sim), [1, 1, 2], 'nothing created twice')
})

t.test('a connection created before a crash, its guid never recorded and not yet searchable, is waited for, not created twice', async (t) => {
  const sim = await simulator(t, { indexLagMs: 3_600_000 })
  const comp = component()
  const ledger = ledgers.for('atlan', comp.id)
  // The previous worker announced the create, Atlan made the connection, the worker died before recording it.
  await ledger.write('connection', { creating: Date.now() })
  const landed = await createDirectly(sim, 'Connection', {
    name: 'finance-cashflow-0', qualifiedName: 'default/snowflake/1700000002', connectorName: 'snowflake', adminUsers: [`service-account-${sim.apiKey.clientId}`], adminGroups: []
  })
  const waited = await provision(sim, comp, ledger, { stopAtWait: true })
  t.equal(waited.waits.length, 1, 'the step waits for the index')
  t.ok(said(waited, /connection "finance-cashflow-0" was being created .* instead of creating a second one/))
  t.same(entities(sim, 'Connection').map((c) => c.guid), [landed], 'no second connection')

  sim.flushIndex()
  const resumed = await provision(sim, comp, ledger, { from: waited.checkpoint })
  t.ok(resumed.outcome)
  t.same(entities(sim, 'Connection').map((c) => c.guid), [landed], 'the one that landed is used')
  t.equal((await ledger.read()).connection?.id, landed, 'and recorded')
})

t.test('a persona created before a crash, its guid never recorded and not yet searchable, is waited for, not created twice', async (t) => {
  const sim = await simulator(t, { indexLagMs: 3_600_000 })
  const comp = component()
  const ledger = ledgers.for('atlan', comp.id)
  await ledger.write('persona', { creating: Date.now() })
  const landed = await createDirectly(sim, 'Persona', { name: 'readers', qualifiedName: 'readers', isAccessControlEnabled: true })
  const waited = await provision(sim, comp, ledger, { stopAtWait: true })
  t.equal(waited.waits.length, 1)
  t.ok(said(waited, /persona "readers" was being created .* instead of creating a second one/))
  t.same(entities(sim, 'Persona').map((p) => p.guid), [landed], 'no second persona')
  sim.flushIndex()
  const resumed = await provision(sim, comp, ledger, { from: waited.checkpoint })
  t.ok(resumed.outcome)
  t.same(entities(sim, 'Persona').map((p) => p.guid), [landed])
  t.equal((await ledger.read()).persona?.id, landed)
  t.equal(entities(sim, 'AuthPolicy').length, 2, 'its policies written once')
})

t.test('an announcement long past with nothing behind it does not hold the provision up', async (t) => {
  const sim = await simulator(t, { indexLagMs: 3_600_000 })
  const comp = component()
  const ledger = ledgers.for('atlan', comp.id)
  await ledger.write('connection', { creating: Date.now() - 60 * 60_000 })
  await ledger.write('persona', { creating: Date.now() - 60 * 60_000 })
  const r = await provision(sim, comp, ledger)
  t.ok(r.outcome)
  t.same(r.waits, [], 'no wait')
  t.same(counts(sim), [1, 1, 2])
})

t.test('killed inside any provision step and resumed, with the ledger in Redis, nothing is created twice', async (t) => {
  const sim = await simulator(t)
  const names = handlerFor(sim).steps('provision').map((s) => s.name)
  for (let i = 0; i < names.length; i++) {
    const comp = component({ connection: { name: `kill-${i}`, connectorType: 'snowflake' }, persona: { name: `kill-${i}-readers` }, apiTokenGuid: sim.otherApiKey.id })
    const ledger = ledgers.for('atlan', `${comp.id}-${i}`)
    const killed = await provision(sim, comp, ledger, { killInside: i })
    const resumed = await provision(sim, comp, ledger, { from: killed.checkpoint })
    t.ok(resumed.outcome, `resumed after a kill inside ${names[i] ?? i}`)
  }
  t.same(counts(sim), [names.length, names.length, 2 * names.length])
})

t.test('unprovision forgets what it removed: the next provision creates afresh without trying old guids', async (t) => {
  const sim = await simulator(t)
  const comp = component()
  const ledger = ledgers.for('atlan', comp.id)
  const first = await provision(sim, comp, ledger)
  const unprovision = async (c: Component, removeData: boolean): Promise<KitRun<AtlanState>> =>
    await runSteps(handlerFor(sim), { operation: 'unprovision', component: c, dataProduct: DP, ledger, removeData })
  const soft = await unprovision(comp, false)
  t.ok(soft.outcome)
  t.same(await ledger.read(), {}, 'nothing recorded once archived')
  // Archived long ago: the search index holds it. The deployed descriptor still names its guid.
  sim.flushIndex()
  const again = await unprovision(component({}, first.outcome?.info), false)
  t.match(again.outcome?.result, /OK/)
  t.ok(said(again, /connection "finance-cashflow-0" is already archived/), 'an archived connection named by privateInfo is reported as such')
  const un = await unprovision(comp, true)
  t.ok(un.outcome)
  t.equal(entities(sim, 'Connection').length, 0, 'purged')
  t.same(await ledger.read(), {}, 'nothing recorded')
  const fresh = await provision(sim, comp, ledger)
  t.ok(fresh.outcome)
  t.notOk(said(fresh, /no longer exists in Atlan/), 'no stale guid tried')
  t.same(counts(sim), [1, 1, 2])
})
