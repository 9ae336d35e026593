/**
 * What a provision costs upstream (issue 9): resources found by id when one is known, with a logged fallback
 * to the name; one workspace listing shared by concurrent name lookups; no duplicate after a crash between a
 * create and its record; no PATCH when nothing changed, a PATCH when the descriptor or a secret did. Real Redis
 * holds the resource ledger; the Airbyte simulator counts the calls.
 */
import t, { type Test } from 'tap'
import { createHash } from 'node:crypto'
import type { Component, DataProduct } from '../../../src/descriptor/types.js'
import type { ComponentInfo, ResourceLedger, SecretResolver } from '../../../src/provisioner/handler.js'
import { createAirbyteClient } from '../../../src/provisioner/airbyte/airbyte-client.js'
import type { AirbyteConfig } from '../../../src/provisioner/airbyte/airbyte-config.js'
import { createAirbyteHandler } from '../../../src/provisioner/airbyte/airbyte-handler.js'
import { canonicalJson } from '../../../src/queue/resource-ledger.js'
import { startAirbyteSimulator, type AirbyteSimulator, type SimulatorRequestRecord } from '../../../src/sandbox/airbyte/airbyte-simulator.js'
import { runSteps, type KitRun } from '../../helpers/handler-kit.js'
import { ledgerRedis } from '../../helpers/ledger-redis.js'

const dataProduct: DataProduct = { id: 'urn:dmb:dp:finance:cost:0', components: [] }
const { redis, keys, ledgers } = await ledgerRedis(t, 'airbyte-provision-cost')

function component (n: string, info?: ComponentInfo, host = 'db.internal'): Component {
  return {
    id: `urn:dmb:cmp:finance:cost:0:ingest-${n}`,
    name: `Ingest ${n}`,
    kind: 'workload',
    useCaseTemplateId: 'urn:dmb:utm:airbyte-standard:0.0.0',
    specific: {
      source: { name: `${n}-pg`, connectionConfiguration: { sourceType: 'postgres', host, password: '${secret:pg-password}' } },
      destination: { name: `${n}-warehouse`, connectionConfiguration: { destinationType: 'snowflake', schema: 'raw' } },
      connection: { name: `${n}-pg -> warehouse`, schedule: { scheduleType: 'manual' }, streams: [{ name: 'orders', syncMode: 'full_refresh_overwrite' }] }
    },
    ...(info === undefined ? {} : { info })
  }
}

/** Resolves `${secret:pg-password}` to whatever `value.current` holds now (a rotation changes it). */
function rotatingSecret (value: { current: string }): SecretResolver {
  return { resolve: async <T>(v: T): Promise<T> => JSON.parse(JSON.stringify(v).replaceAll('${secret:pg-password}', value.current)) as T }
}

async function setup (t: Test): Promise<{ sim: AirbyteSimulator, handler: ReturnType<typeof createAirbyteHandler>, config: AirbyteConfig }> {
  const sim = await startAirbyteSimulator({ syncDurationMs: 0 })
  t.teardown(() => sim.close())
  const config: AirbyteConfig = {
    apiUrl: sim.url,
    auth: 'basic',
    username: 'airbyte',
    password: 'password',
    workspaceId: sim.workspaceId,
    requestTimeoutMs: 5000,
    maxConcurrentRequests: 16,
    callRetries: 1,
    retryBaseMs: 5,
    syncPollMinMs: 10,
    syncPollMaxMs: 20,
    syncTimeoutMs: 10_000,
    listingTtlMs: 60_000
  }
  return { sim, handler: createAirbyteHandler({ config, client: createAirbyteClient(config) }), config }
}

const secret = { current: 'pg-secret-value-1' }

async function provision (handler: ReturnType<typeof createAirbyteHandler>, comp: Component, ledger: ResourceLedger): Promise<KitRun<unknown>> {
  const r = await runSteps(handler, { operation: 'provision', component: comp, dataProduct, secrets: rotatingSecret(secret), ledger })
  if (r.outcome === undefined) throw new Error('the provision did not finish')
  return r
}

async function calls (sim: AirbyteSimulator, run: () => Promise<unknown>): Promise<SimulatorRequestRecord[]> {
  const before = sim.requests.length
  await run()
  return sim.requests.slice(before)
}
const lists = (made: SimulatorRequestRecord[], collection: string): number => made.filter((r) => r.method === 'GET' && r.path.endsWith(`/${collection}`)).length
const patches = (made: SimulatorRequestRecord[]): SimulatorRequestRecord[] => made.filter((r) => r.method === 'PATCH')
const said = (r: KitRun<unknown>, pattern: RegExp): boolean => r.logs.some((l) => pattern.test(l.message))
const sizes = (sim: AirbyteSimulator): number[] => [sim.state.sources.size, sim.state.destinations.size, sim.state.connections.size]

t.test('a re-provision in a new task finds everything by the ids the service recorded: no listing, no PATCH, at most 6 calls with its sync', async (t) => {
  const { sim, config } = await setup(t)
  const comp = component('by-ledger')
  const ledger = ledgers.for('airbyte', comp.id)
  const first = await calls(sim, async () => await provision(createAirbyteHandler({ config, client: createAirbyteClient(config) }), comp, ledger))
  t.ok(first.length <= 8, `first provision in an empty workspace: ${first.length} calls`)
  t.equal(lists(first, 'connections'), 0, 'a workspace with no source has no connection to look for')

  // A new handler is a new process: nothing cached, only Redis remembers.
  let r: KitRun<unknown> | undefined
  const again = await calls(sim, async () => { r = await provision(createAirbyteHandler({ config, client: createAirbyteClient(config) }), comp, ledger) })
  t.same(['sources', 'destinations', 'connections'].map((c) => lists(again, c)), [0, 0, 0], 'nothing listed')
  t.same(patches(again), [], 'nothing patched')
  t.ok(again.length <= 6, `${again.length} calls: ${again.map((c) => `${c.method} ${c.path}`).join(', ')}`)
  t.ok(r !== undefined && said(r, /source "by-ledger-pg" left as it was .*what this service last sent/))
  t.same(sizes(sim), [1, 1, 1])
})

t.test('the deployed descriptor\'s privateInfo ids are used when the service has no record', async (t) => {
  const { sim, handler, config } = await setup(t)
  const comp = component('by-info')
  const first = await provision(handler, comp, ledgers.for('airbyte', comp.id))
  const info = first.outcome?.info
  t.ok(info !== undefined)
  const fresh = createAirbyteHandler({ config, client: createAirbyteClient(config) })
  const made = await calls(sim, async () => await provision(fresh, component('by-info', info), ledgers.for('airbyte', `${comp.id}-elsewhere`)))
  t.same(['sources', 'destinations', 'connections'].map((c) => lists(made, c)), [0, 0, 0], 'found by the ids of privateInfo')
  t.same(sizes(sim), [1, 1, 1])
})

t.test('an id Airbyte no longer knows falls back to the name, says so, and corrects the record', async (t) => {
  const { sim, handler } = await setup(t)
  const comp = component('stale-id')
  const ledger = ledgers.for('airbyte', comp.id)
  await provision(handler, comp, ledger)
  const sourceId = [...sim.state.sources.keys()][0]
  await ledger.write('source', { id: '00000000-0000-4000-8000-00000000dead' })
  const r = await provision(handler, comp, ledger)
  t.ok(said(r, /source 00000000-0000-4000-8000-00000000dead \(from this service's resource record\) no longer exists in Airbyte; looking it up by name/))
  t.equal((await ledger.read()).source?.id, sourceId, 'the record holds the id Airbyte has')
  t.same(sizes(sim), [1, 1, 1], 'nothing created twice')
})

t.test('new components provisioned side by side share one listing of each collection', async (t) => {
  const { sim, handler, config } = await setup(t)
  const client = createAirbyteClient(config)
  for (let i = 0; i < 250; i++) await client.createSource({ name: `someone-else-${i}`, workspaceId: sim.workspaceId, configuration: { sourceType: 'postgres' } })
  const comps = Array.from({ length: 6 }, (_, i) => component(`shared-${i}`))
  const made = await calls(sim, async () => await Promise.all(comps.map(async (c) => await provision(handler, c, ledgers.for('airbyte', c.id)))))
  t.equal(lists(made, 'sources'), 3, 'one listing of 250 sources (3 pages) for six lookups')
  t.equal(lists(made, 'destinations'), 1)
  t.equal(lists(made, 'connections'), 1)
  t.same(sizes(sim), [256, 6, 6])
  // The listing now holds this service's own creates: a component created earlier is found in it, by name.
  const again = component('shared-0')
  const found = await calls(sim, async () => await provision(handler, again, ledgers.for('airbyte', `${again.id}-forgotten`)))
  t.equal(lists(found, 'sources'), 0, 'served from the listing this service kept current')
  t.same(sizes(sim), [256, 6, 6], 'found, not created again')
})

t.test('a create that landed before a crash, with no id recorded, is found afresh by name, not created twice', async (t) => {
  const { sim, handler, config } = await setup(t)
  // The listing of this process is warm and predates the create below.
  await provision(handler, component('warm'), ledgers.for('airbyte', 'warm'))
  const comp = component('crashed')
  const ledger = ledgers.for('airbyte', comp.id)
  // The previous worker announced the create, Airbyte made the source, the worker died before recording its id.
  await ledger.write('source', { creating: Date.now() })
  const landed = await createAirbyteClient(config).createSource({ name: 'crashed-pg', workspaceId: sim.workspaceId, configuration: { sourceType: 'postgres' } })
  const r = await provision(handler, comp, ledger)
  t.same([...sim.state.sources.values()].filter((s) => s.name === 'crashed-pg').map((s) => s.sourceId), [landed.sourceId], 'one source of that name')
  t.equal((await ledger.read()).source?.id, landed.sourceId)
  t.ok(said(r, /source "crashed-pg" updated/))
})

t.test('killed inside any provision step and resumed, nothing is created twice', async (t) => {
  const { sim, handler } = await setup(t)
  const steps = handler.steps('provision').map((s) => s.name)
  for (let i = 0; i < steps.length; i++) {
    const comp = component(`kill-${i}`)
    const opts = { operation: 'provision' as const, component: comp, dataProduct, secrets: rotatingSecret(secret), ledger: ledgers.for('airbyte', comp.id) }
    const killed = await runSteps(handler, opts, { killInside: i })
    await runSteps(handler, opts, { from: killed.checkpoint })
  }
  t.same(sizes(sim), [steps.length, steps.length, steps.length])
})

t.test('unchanged: no PATCH; a changed descriptor or a rotated secret is sent; the record holds no secret nor a plain hash', async (t) => {
  const { sim, handler } = await setup(t)
  const comp = component('fingerprint')
  const ledger = ledgers.for('airbyte', comp.id)
  await provision(handler, comp, ledger)
  const sourcePath = `/api/public/v1/sources/${[...sim.state.sources.keys()][0] ?? ''}`
  const unchanged = await calls(sim, async () => await provision(handler, comp, ledger))
  t.same(patches(unchanged), [])

  const changed = await calls(sim, async () => await provision(handler, component('fingerprint', undefined, 'db2.internal'), ledger))
  t.same(patches(changed).map((c) => c.path), [sourcePath], 'the changed source only')
  t.equal([...sim.state.sources.values()][0]?.configuration.host, 'db2.internal')

  secret.current = 'pg-secret-value-2'
  const rotated = await calls(sim, async () => await provision(handler, component('fingerprint', undefined, 'db2.internal'), ledger))
  t.same(patches(rotated).map((c) => c.path), [sourcePath], 'the rotated secret is sent')
  t.equal([...sim.state.sources.values()][0]?.configuration.password, 'pg-secret-value-2')
  const settled = await calls(sim, async () => await provision(handler, component('fingerprint', undefined, 'db2.internal'), ledger))
  t.same(patches(settled), [], 'and then left alone')

  const stored = JSON.stringify(await redis.hgetall(keys.ownedResources('airbyte', comp.id)))
  t.notMatch(stored, /pg-secret-value/)
  const sent = { name: 'fingerprint-pg', configuration: { sourceType: 'postgres', host: 'db2.internal', password: 'pg-secret-value-2' } }
  for (const encoding of ['hex', 'base64', 'base64url'] as const) {
    t.notOk(stored.includes(createHash('sha256').update(canonicalJson(sent)).digest(encoding)), `no plain SHA-256 (${encoding})`)
  }
})
