import t, { type Test } from 'tap'
import { readFileSync } from 'node:fs'
import { Ajv2020, type ErrorObject } from 'ajv/dist/2020.js'
import { parse as parseYaml } from 'yaml'
import type { AirbyteConfig } from '../../../src/provisioner/airbyte/airbyte-config.js'
import type { Component, DataProduct } from '../../../src/descriptor/types.js'
import { DescriptorInvalidError, PermanentUpstreamError } from '../../../src/errors.js'
import type { ComponentInfo, ComponentOperation, Handler } from '../../../src/provisioner/handler.js'
import { createAirbyteClient } from '../../../src/provisioner/airbyte/airbyte-client.js'
import { createAirbyteHandler, type AirbyteState } from '../../../src/provisioner/airbyte/airbyte-handler.js'
import {
  type AirbyteSimulator, type AirbyteSimulatorOptions, DESTINATION_DEFINITIONS, SOURCE_DEFINITIONS, startAirbyteSimulator
} from '../../../src/sandbox/airbyte/airbyte-simulator.js'
import { createSecretStore, resolveSecretRefs } from '../../../src/secrets/secret-store.js'
import { fakeStepContext, killAndResumeAtEveryStep, runSteps, type KitOptions } from '../../helpers/handler-kit.js'
import { newCheckpoint } from '../../../src/queue/step-checkpoint.js'

// The original Airbyte provisioner's descriptor shapes (test/fixtures/peer-shapes/README.md).
const SAMPLES = new URL('../../fixtures/peer-shapes/airbyte-provisioner/', import.meta.url)
const PG_PASSWORD = 'pg-secret-value-1'
const SNOW_PASSWORD = 'snow-secret-value-2'
const store = createSecretStore({ env: { DESCRIPTOR_SECRET_FINANCE__PG_PASSWORD: PG_PASSWORD, DESCRIPTOR_SECRET_FINANCE__SNOW_PASSWORD: SNOW_PASSWORD } })
const dataProduct: DataProduct = { id: 'urn:dmb:dp:finance:cashflow:0', components: [] }

type H = Handler<AirbyteState>
interface Logged { level: string, phase: string, message: string }
interface Run { state: AirbyteState, checkpoints: AirbyteState[], logs: Logged[], waits: number[], outcome: { result: string, info?: ComponentInfo } }

function baseSpecific (): Record<string, any> {
  return {
    source: {
      name: 'orders-pg',
      connectionConfiguration: { sourceType: 'postgres', host: 'db.internal', password: '${secret:pg-password}', streams: ['orders', 'customers', 'fullonly_audit'] }
    },
    destination: {
      name: 'warehouse',
      connectionConfiguration: { destinationType: 'snowflake', schema: 'raw', credentials: { password: '${secret:snow-password}' } }
    },
    connection: {
      name: 'orders-pg -> warehouse',
      schedule: { scheduleType: 'cron', cronExpression: '0 0 2 * * ?' },
      namespaceDefinition: 'custom_format',
      namespaceFormat: 'cashflow_0',
      prefix: 'raw_',
      streams: [{ name: 'orders', syncMode: 'incremental_deduped_history', cursorField: ['updated_at'], primaryKey: [['id']] }]
    }
  }
}

function component (specific: Record<string, unknown> | undefined, info?: ComponentInfo): Component {
  return {
    id: 'urn:dmb:cmp:finance:cashflow:0:orders-ingestion',
    name: 'Orders ingestion',
    kind: 'workload',
    useCaseTemplateId: 'urn:dmb:utm:airbyte-standard:0.0.0',
    specific,
    ...(info === undefined ? {} : { info })
  }
}

function configFor (sim: AirbyteSimulator | undefined, extra: Partial<AirbyteConfig> = {}): AirbyteConfig {
  return {
    apiUrl: sim?.url,
    auth: 'basic',
    username: 'airbyte',
    password: 'password',
    workspaceId: sim?.workspaceId ?? '00000000-0000-4000-8000-000000000001',
    uiUrl: 'http://airbyte.example',
    requestTimeoutMs: 5000,
    maxConcurrentRequests: 8,
    callRetries: 1,
    retryBaseMs: 5,
    syncPollMinMs: 20,
    syncPollMaxMs: 60,
    syncTimeoutMs: 10_000,
    listingTtlMs: 10_000,
    ...extra
  }
}

async function setup (t: Test, simOpts: AirbyteSimulatorOptions = {}, extra: Partial<AirbyteConfig> = {}): Promise<{ sim: AirbyteSimulator, handler: H, config: AirbyteConfig }> {
  const sim = await startAirbyteSimulator({ syncDurationMs: 200, ...simOpts })
  t.teardown(() => sim.close())
  const config = configFor(sim, extra)
  const client = createAirbyteClient(config)
  return { sim, handler: createAirbyteHandler({ config, client }), config }
}

const secrets = { resolve: async <T>(value: T): Promise<T> => resolveSecretRefs(value, store, dataProduct) }

/**
 * The shared kit's runner (test/helpers/handler-kit.ts) by step position: from step `from` with `state` (the
 * steps before it done), stopping after step `until`. `checkpoints` holds the state after each finished step;
 * `outcome` is reported even for a run stopped early.
 */
async function run (handler: H, operation: ComponentOperation, comp: Component,
  opts: { state?: AirbyteState, from?: number, until?: number, removeData?: boolean } = {}): Promise<Run> {
  const names = handler.steps(operation).map((step) => step.name)
  const from = opts.from ?? 0
  const kit: KitOptions = { operation, component: comp, dataProduct, removeData: opts.removeData ?? false, secrets }
  const start = { ...newCheckpoint(handler.id), done: names.slice(0, from), state: JSON.parse(JSON.stringify(opts.state ?? {})) as Record<string, unknown> }
  const r = await runSteps(handler, kit, { from: start, ...(opts.until === undefined ? {} : { stopAfterSteps: opts.until - from }) })
  const checkpoints = r.checkpoints.filter((cp) => cp.current === undefined).map((cp) => cp.state as AirbyteState)
  const outcome = r.outcome ?? handler.outcome(fakeStepContext(kit, r.state, 'outcome', r.logs))
  return { state: r.state, checkpoints, logs: r.logs, waits: r.waits, outcome }
}

const sizes = (sim: AirbyteSimulator): number[] => [sim.state.sources.size, sim.state.destinations.size, sim.state.connections.size]
const only = <T>(map: Map<unknown, T>): T => {
  if (map.size !== 1) throw new Error(`expected exactly one, found ${map.size}`)
  return [...map.values()][0] as T
}
const said = (r: Run, pattern: RegExp): boolean => r.logs.some((l) => pattern.test(l.message))
const stepIndex = (handler: H, operation: ComponentOperation, name: string): number => handler.steps(operation).findIndex((s) => s.name === name)

t.test('provision creates one source, destination and connection and waits for a succeeded sync', async (t) => {
  const { sim, handler } = await setup(t)
  const r = await run(handler, 'provision', component(baseSpecific()))
  t.same(sizes(sim), [1, 1, 1])
  const source = only(sim.state.sources)
  const destination = only(sim.state.destinations)
  const connection = only(sim.state.connections)
  t.equal(source.configuration.password, PG_PASSWORD, 'the secret reached Airbyte')
  t.same(connection.schedule, { scheduleType: 'cron', cronExpression: '0 0 2 * * ? UTC' })
  t.equal(connection.namespaceFormat, 'cashflow_0')
  t.equal(connection.prefix, 'raw_')
  t.same(connection.configurations.streams.map((s) => [s.name, s.syncMode]), [['orders', 'incremental_deduped_history']])
  const job = only(sim.state.jobs)
  t.equal(job.status, 'succeeded')

  t.same(r.outcome.result, 'OK')
  t.same(r.outcome.info?.publicInfo, {
    connection: {
      type: 'link',
      label: 'Airbyte connection',
      value: 'orders-pg -> warehouse',
      href: `http://airbyte.example/workspaces/${sim.workspaceId}/connections/${connection.connectionId}`
    },
    connectionId: { type: 'string', label: 'Connection id', value: connection.connectionId },
    lastSync: { type: 'string', label: 'Last sync', value: 'succeeded' },
    rowsSynced: { type: 'string', label: 'Rows synced', value: '100' }
  })
  t.same(r.outcome.info?.privateInfo, {
    workspaceId: sim.workspaceId, sourceId: source.sourceId, destinationId: destination.destinationId, connectionId: connection.connectionId, lastJobId: job.jobId
  })
  t.ok(said(r, /source "orders-pg" created/))
  t.ok(said(r, /connection "orders-pg -> warehouse" created/))
  t.ok(said(r, /sync job \d+ succeeded, 100 rows/))
  const everything = JSON.stringify({ checkpoints: r.checkpoints, logs: r.logs, outcome: r.outcome })
  t.notMatch(everything, new RegExp(`${PG_PASSWORD}|${SNOW_PASSWORD}`), 'no secret in state, logs or info')
})

t.test('without a UI url the connection is reported as a plain string', async (t) => {
  const { handler } = await setup(t, {}, { uiUrl: undefined })
  const r = await run(handler, 'provision', component({ ...baseSpecific(), connection: { ...baseSpecific().connection, syncOnProvision: false } }))
  t.same(r.outcome.info?.publicInfo.connection, { type: 'string', label: 'Airbyte connection', value: 'orders-pg -> warehouse' })
  t.equal(r.outcome.info?.publicInfo.lastSync, undefined)
})

t.test('provisioning again after a schedule change updates in place', async (t) => {
  const { sim, handler } = await setup(t)
  const first = await run(handler, 'provision', component(baseSpecific()))
  const changed = baseSpecific()
  changed.connection.schedule.cronExpression = '0 30 3 ? * MON-FRI'
  const second = await run(handler, 'provision', component(changed))
  t.same(sizes(sim), [1, 1, 1])
  const { lastJobId: _a, ...firstIds } = first.outcome.info?.privateInfo ?? {}
  const { lastJobId: _b, ...secondIds } = second.outcome.info?.privateInfo ?? {}
  t.same(secondIds, firstIds, 'same ids')
  t.equal(only(sim.state.connections).schedule.cronExpression, '0 30 3 ? * MON-FRI UTC')
  t.ok(said(second, /source "orders-pg" updated/))
  t.ok(said(second, /destination "warehouse" updated/))
  t.ok(said(second, /connection "orders-pg -> warehouse" updated \(.*\): schedule$/))

  const third = await run(handler, 'provision', component(changed))
  t.ok(said(third, /connection "orders-pg -> warehouse" left as it was/), 'the " UTC" read back is not taken for a change')
  t.same(sizes(sim), [1, 1, 1])
  t.equal(sim.state.jobs.size, 3)
})

t.test('a run resumed from its last checkpoint creates nothing twice', async (t) => {
  const { sim, handler } = await setup(t)
  const comp = component(baseSpecific())
  const ensureDestination = stepIndex(handler, 'provision', 'ensure-destination')
  const crashed = await run(handler, 'provision', comp, { until: ensureDestination + 1 })
  t.same(sizes(sim), [1, 1, 0])
  await run(handler, 'provision', comp, { state: crashed.checkpoints.at(-1), from: ensureDestination + 1 })
  t.same(sizes(sim), [1, 1, 1])
})

t.test('a run resumed from a checkpoint older than the source it created finds it by name', async (t) => {
  const { sim, handler } = await setup(t)
  const comp = component(baseSpecific())
  const ensureSource = stepIndex(handler, 'provision', 'ensure-source')
  const crashed = await run(handler, 'provision', comp, { until: ensureSource + 1 })
  t.ok(crashed.state.sourceId)
  const older = crashed.checkpoints[ensureSource - 1]
  t.equal(older?.sourceId, undefined, 'the older checkpoint has no source id')
  const resumed = await run(handler, 'provision', comp, { state: older, from: ensureSource })
  t.same(sizes(sim), [1, 1, 1])
  t.equal(resumed.state.sourceId, crashed.state.sourceId)
  t.ok(said(resumed, /source "orders-pg" updated/))
})

t.test('a sync started before a crash is adopted, never started twice', async (t) => {
  const { sim, handler } = await setup(t, { syncDurationMs: 1000 })
  const comp = component(baseSpecific())
  const startSync = stepIndex(handler, 'provision', 'start-sync')
  const crashed = await run(handler, 'provision', comp, { until: startSync + 1 })
  const jobId = crashed.state.job?.jobId
  t.type(jobId, 'number')

  // The job id was recorded: re-running the start step follows it.
  const rerun = await run(handler, 'provision', comp, { state: crashed.checkpoints.at(-1), from: startSync, until: startSync + 1 })
  t.equal(rerun.state.job?.jobId, jobId)
  t.ok(said(rerun, /started earlier in this task/))

  // The checkpoint before the start was the last one saved: Airbyte answers 409 and the running job is adopted.
  const adopted = await run(handler, 'provision', comp, { state: crashed.checkpoints[startSync - 1], from: startSync })
  t.equal(adopted.state.job?.jobId, jobId)
  t.ok(said(adopted, /already running on the connection: following job/))
  t.equal(sim.state.jobs.size, 1)
  t.equal(adopted.outcome.info?.publicInfo.lastSync && (adopted.outcome.info.publicInfo.lastSync as { value: string }).value, 'succeeded')
})

t.test('of several resources sharing the name the oldest is adopted, with a warning', async (t) => {
  const { sim, handler, config } = await setup(t)
  const client = createAirbyteClient(config)
  const older = await client.createSource({ name: 'orders-pg', workspaceId: sim.workspaceId, configuration: { sourceType: 'postgres' } })
  await client.createSource({ name: 'orders-pg', workspaceId: sim.workspaceId, configuration: { sourceType: 'postgres' } })
  const r = await run(handler, 'provision', component(baseSpecific()))
  t.equal(r.state.sourceId, older.sourceId)
  t.equal(sim.state.sources.size, 2, 'nothing more is created')
  t.ok(said(r, new RegExp(`2 sources are named "orders-pg" in workspace \\S+; using the oldest, ${older.sourceId}`)))
})

t.test('an existing resource with another explicit connector definition is not silently reused', async (t) => {
  const { sim, handler, config } = await setup(t)
  await createAirbyteClient(config).createSource({ name: 'orders-pg', workspaceId: sim.workspaceId, configuration: { sourceType: 'mysql' } })
  const spec = baseSpecific()
  spec.source.definitionId = SOURCE_DEFINITIONS.postgres
  await t.rejects(run(handler, 'provision', component(spec)), { constructor: PermanentUpstreamError, message: /exists with connector definition .* cannot change a source's connector/ })
})

t.test('every stream the source offers is selected when none are requested', async (t) => {
  const { sim, handler } = await setup(t)
  const narrowed = await run(handler, 'provision', component(baseSpecific()))
  t.ok(narrowed)
  const all = baseSpecific()
  delete all.connection.streams
  const r = await run(handler, 'provision', component(all))
  const streams = only(sim.state.connections).configurations.streams
  t.same(streams.map((s) => s.name), ['orders', 'customers', 'fullonly_audit'])
  t.ok(streams.every((s) => s.syncMode === 'full_refresh_overwrite'))
  t.ok(said(r, /3 stream\(s\) selected, every stream the source offers/))
  t.ok(said(r, /updated .*streams/))
})

t.test('an unknown stream or an unsupported sync mode fails permanently, naming it', async (t) => {
  const { sim, handler } = await setup(t)
  const unknown = baseSpecific()
  unknown.connection.streams = [{ name: 'orders' }, { name: 'invoices' }]
  await t.rejects(run(handler, 'provision', component(unknown)), { constructor: PermanentUpstreamError, message: /connection\.streams\.1\.name: the source offers no stream "invoices" \(streams offered: orders, customers, fullonly_audit\)/ })
  t.equal(sim.state.connections.size, 0)

  const badMode = baseSpecific()
  badMode.connection.streams = [{ name: 'fullonly_audit', syncMode: 'incremental_append' }]
  await t.rejects(run(handler, 'provision', component(badMode)), { message: /connection\.streams\.0\.syncMode: stream "fullonly_audit" does not support incremental_append \(supported sync modes: full_refresh_overwrite, full_refresh_append\)/ })
})

t.test('a connector configuration Airbyte rejects fails with its validator text', async (t) => {
  const { sim, handler } = await setup(t)
  sim.faults.rejectConfig = (kind) => kind === 'destination' ? '$.schema: does not match the regex pattern ^[A-Z]+$' : undefined
  await t.rejects(run(handler, 'provision', component(baseSpecific())), {
    constructor: PermanentUpstreamError, message: 'Airbyte rejected POST /destinations: 422 unprocessable-entity: $.schema: does not match the regex pattern ^[A-Z]+$'
  })
})

t.test('a failed sync is a permanent error naming the job', async (t) => {
  const { sim, handler } = await setup(t)
  sim.faults.failSyncs = true
  await t.rejects(run(handler, 'provision', component(baseSpecific())), { constructor: PermanentUpstreamError, message: /^sync job \d+ failed/ })
})

t.test('the sync is polled at intervals growing 1.5x up to the max', async (t) => {
  const { handler } = await setup(t, { syncDurationMs: 700 })
  const r = await run(handler, 'provision', component(baseSpecific()))
  t.same(r.waits.slice(0, 5), [20, 30, 45, 60, 60])
  t.equal(r.state.job?.status, 'succeeded')
})

t.test('an incomplete attempt does not fail the sync', async (t) => {
  const { sim, handler } = await setup(t, { syncDurationMs: 700 })
  sim.faults.incompleteFirst = true
  const r = await run(handler, 'provision', component(baseSpecific()))
  t.ok(said(r, /sync job \d+ is incomplete/))
  t.equal(r.state.job?.status, 'succeeded')
})

t.test('a sync running past the timeout fails with a clear message', async (t) => {
  const { handler } = await setup(t, { syncDurationMs: 10_000 }, { syncTimeoutMs: 150 })
  await t.rejects(run(handler, 'provision', component(baseSpecific())), {
    message: /^sync job \d+ did not finish within 150 ms \(still (pending|running)\); it was left running in Airbyte$/
  })
})

t.test('syncOnProvision false provisions without a sync', async (t) => {
  const { sim, handler } = await setup(t)
  const spec = baseSpecific()
  spec.connection.syncOnProvision = false
  const r = await run(handler, 'provision', component(spec))
  t.equal(sim.state.jobs.size, 0)
  t.ok(said(r, /syncOnProvision is false/))
  t.equal(r.outcome.info?.privateInfo.lastJobId, undefined)
})

t.test('unprovision deletes connection, destination and source, leaving the data by default', async (t) => {
  const { sim, handler } = await setup(t)
  const provisioned = await run(handler, 'provision', component(baseSpecific()))
  const r = await run(handler, 'unprovision', component(baseSpecific(), provisioned.outcome.info))
  t.same(sizes(sim), [0, 0, 0])
  t.equal([...sim.state.jobs.values()].filter((j) => j.jobType === 'clear').length, 0)
  t.ok(said(r, /data left in place in the destination \(removeData is false\)/))
  t.ok(said(r, /connection \S+ deleted/))
  t.same(r.outcome, { result: 'OK' })

  const again = await run(handler, 'unprovision', component(baseSpecific(), provisioned.outcome.info))
  t.ok(said(again, /connection "orders-pg -> warehouse" not found/), 'already gone counts as done')
})

t.test('unprovision with removeData clears the destination first', async (t) => {
  const { sim, handler } = await setup(t)
  await run(handler, 'provision', component(baseSpecific()))
  const r = await run(handler, 'unprovision', component(baseSpecific()), { removeData: true })
  const clear = [...sim.state.jobs.values()].find((j) => j.jobType === 'clear')
  t.equal(clear?.status, 'succeeded')
  t.same(sizes(sim), [0, 0, 0])
  const clearAt = sim.requests.findIndex((q) => q.method === 'POST' && q.path.endsWith('/jobs'))
  const deleteAt = sim.requests.findIndex((q) => q.method === 'DELETE' && q.path.includes('/connections/'))
  t.ok(clearAt > 0 && clearAt < deleteAt, 'clear before delete')
  t.ok(said(r, /clear job \d+ succeeded/))
})

t.test('a clear blocked by a running sync cancels the sync and then clears', async (t) => {
  const { sim, handler } = await setup(t, { syncDurationMs: 5000 })
  const spec = baseSpecific()
  spec.connection.syncOnProvision = false
  const provisioned = await run(handler, 'provision', component(spec))
  const client = createAirbyteClient(configFor(sim))
  await client.startJob(String(provisioned.state.connectionId), 'sync')
  const r = await run(handler, 'unprovision', component(spec), { removeData: true, until: stepIndex(handler, 'unprovision', 'start-clear') + 1 })
  t.ok(said(r, /sync job \d+ was running; cancelled it/))
  t.equal(r.state.job?.jobType, 'clear')
})

t.test('a source another connection still uses is left in place', async (t) => {
  const { sim, handler, config } = await setup(t)
  const provisioned = await run(handler, 'provision', component(baseSpecific()))
  const client = createAirbyteClient(config)
  const otherDestination = await client.createDestination({ name: 'other', workspaceId: sim.workspaceId, configuration: { destinationType: 'postgres' } })
  await client.createConnection({ sourceId: String(provisioned.state.sourceId), destinationId: otherDestination.destinationId, name: 'someone else' })
  const r = await run(handler, 'unprovision', component(baseSpecific()))
  t.equal(sim.state.sources.size, 1, 'the shared source stays')
  t.equal(sim.state.connections.size, 1, 'the other connection stays')
  t.equal(sim.state.destinations.size, 1, 'only the other destination remains')
  t.ok(said(r, /source \S+ is left in place: still used by connection\(s\) "someone else"/))
})

t.test('reverse provisioning describes a connection, with placeholders for masked secrets', async (t) => {
  const { sim, handler } = await setup(t)
  const provisioned = await run(handler, 'provision', component(baseSpecific()))
  const logs: string[] = []
  const log = { debug: () => {}, info: (m: string) => logs.push(m), warn: (m: string) => logs.push(m), error: () => {} }
  const ctx = { useCaseTemplateId: 'urn:dmb:utm:airbyte-standard:0.0.0', environment: 'development', catalogInfo: {}, log, signal: new AbortController().signal }
  const { updates } = await handler.reverseProvision({ ...ctx, params: { connectionId: provisioned.state.connectionId } })
  const p = 'spec.mesh.specific'
  t.equal(updates[`${p}.source.name`], 'orders-pg')
  t.equal(updates[`${p}.source.definitionId`], SOURCE_DEFINITIONS.postgres)
  t.same(updates[`${p}.source.connectionConfiguration`], {
    sourceType: 'postgres', host: 'db.internal', password: '${secret:orders-pg-warehouse-source-password}', streams: ['orders', 'customers', 'fullonly_audit']
  })
  t.same(updates[`${p}.destination.connectionConfiguration`], {
    destinationType: 'snowflake', schema: 'raw', credentials: { password: '${secret:orders-pg-warehouse-destination-credentials.password}' }
  })
  t.equal(updates[`${p}.connection.name`], 'orders-pg -> warehouse')
  t.same(updates[`${p}.connection.schedule`], { scheduleType: 'cron', cronExpression: '0 0 2 * * ?' })
  t.equal(updates[`${p}.connection.namespaceDefinition`], 'custom_format')
  t.equal(updates[`${p}.connection.prefix`], 'raw_')
  t.same(updates[`${p}.connection.streams`], [{ name: 'orders', syncMode: 'incremental_deduped_history', cursorField: ['updated_at'], primaryKey: [['id']] }])
  t.notMatch(JSON.stringify(updates), /\*\*\*\*|pg-secret|snow-secret/)
  t.ok(logs.some((m) => /create these in the descriptor secret store \(DESCRIPTOR_SECRETS_DIR\/<domain>\/<name>.*orders-pg-warehouse-source-password/.test(m)))

  const byName = await handler.reverseProvision({ ...ctx, params: { connectionName: 'orders-pg -> warehouse', workspaceId: sim.workspaceId } })
  t.same(byName.updates, updates)
  await t.rejects(handler.reverseProvision({ ...ctx, params: { connectionId: 'nope' } }), { constructor: PermanentUpstreamError, message: /no connection nope/ })
  await t.rejects(handler.reverseProvision({ ...ctx, params: { connectionName: 'nope' } }), { constructor: PermanentUpstreamError, message: /no connection named "nope"/ })
  await t.rejects(handler.reverseProvision({ ...ctx, params: {} }), { constructor: DescriptorInvalidError, message: /params\.connectionId or params\.connectionName/ })
})

function sampleSpecific (file: string): Record<string, unknown> | undefined {
  const doc = parseYaml(readFileSync(new URL(file, SAMPLES), 'utf8')) as { dataProduct: { components?: Component[] } }
  return doc.dataProduct.components?.[0]?.specific ?? undefined
}

t.test('the original provisioner\'s valid descriptor provisions unchanged with the configured default definitions', async (t) => {
  const { sim, handler } = await setup(t, {}, {
    sourceDefinitionId: SOURCE_DEFINITIONS.file, destinationDefinitionId: DESTINATION_DEFINITIONS.snowflake
  })
  const comp = component(sampleSpecific('component-valid.yaml'))
  const check = handler.checkSpecific(comp, { dataProduct, hasSecret: () => true })
  t.same(check.problems, [])
  t.match(check.warnings.join('\n'), /source "Parcel Scans CSV" names no connector: the deployment default AIRBYTE_SOURCE_DEFINITION_ID/)
  t.match(check.warnings.join('\n'), /destination "Warehouse" names no connector: the deployment default AIRBYTE_DESTINATION_DEFINITION_ID/)
  const r = await run(handler, 'provision', comp)
  t.equal(only(sim.state.sources).definitionId, SOURCE_DEFINITIONS.file)
  t.equal(only(sim.state.destinations).definitionId, DESTINATION_DEFINITIONS.snowflake)
  t.same(only(sim.state.connections).configurations.streams.map((s) => s.name), ['users', 'orders', 'products'])
  t.equal(only(sim.state.connections).schedule.scheduleType, 'manual')
  t.equal((r.outcome.info?.publicInfo.rowsSynced as { value: string }).value, '300')
})

t.test('a connector named nowhere and with no default is a problem naming the variable', async (t) => {
  const handler = createAirbyteHandler({ config: configFor(undefined), client: () => { throw new Error('not used') } })
  const check = handler.checkSpecific(component(sampleSpecific('component-valid.yaml')), { dataProduct, hasSecret: () => true })
  t.match(check.problems, [
    { path: 'source.definitionId', message: 'the source names no connector', hint: /AIRBYTE_SOURCE_DEFINITION_ID/ },
    { path: 'destination.definitionId', message: 'the destination names no connector', hint: /AIRBYTE_DESTINATION_DEFINITION_ID/ }
  ])
})

t.test('the specific schema accepts the original samples and rejects broken ones at precise paths', async (t) => {
  const handler = createAirbyteHandler({ config: configFor(undefined), client: () => { throw new Error('not used') } })
  const validate = new Ajv2020({ allErrors: true, strict: false }).compile(handler.specificSchema)
  const problems = (specific: unknown): string[] => {
    if (validate(specific)) return []
    // `if` only announces the `then` errors that follow it.
    return (validate.errors ?? []).filter((e) => e.keyword !== 'if').map((e: ErrorObject) => {
      const at = e.instancePath.slice(1).replace(/\//g, '.')
      const extra = e.params as { missingProperty?: string, additionalProperty?: string }
      const leaf = extra.missingProperty ?? extra.additionalProperty
      return `${[at, leaf].filter(Boolean).join('.')} ${e.keyword}`
    })
  }
  for (const file of ['component-valid.yaml', 'component-legacy-dbt-url.yaml', 'component-legacy-dbt-url-empty.yaml']) {
    t.same(problems(sampleSpecific(file)), [], file)
  }
  t.same(problems(sampleSpecific('component-missing-source.yaml')), ['source.name required', 'source.connectionConfiguration required'])
  t.same(problems(sampleSpecific('component-missing-destination.yaml')), ['destination.name required', 'destination.connectionConfiguration required'])
  t.same(problems(sampleSpecific('component-missing-connection-name.yaml')), ['connection type'])
  t.same(problems(sampleSpecific('component-empty-specific.yaml')), ['source required', 'destination required', 'connection required'])
  t.equal(sampleSpecific('component-missing-specific.yaml'), undefined)
  t.same(problems({}), ['source required', 'destination required', 'connection required'], 'a missing section fails as an empty one')

  const typo = baseSpecific()
  typo.connection.schedul = typo.connection.schedule
  typo.connection.schedule = { scheduleType: 'cron' }
  typo.connection.streams = [{ name: 'orders', syncMode: 'incremental' }]
  typo.source.name = ''
  t.same(problems(typo).sort(), [
    'connection.schedul additionalProperties',
    'connection.schedule.cronExpression required',
    'connection.streams.0.syncMode enum',
    'source.name minLength'
  ])
  t.same(problems({ ...baseSpecific(), extraTopLevel: 1, source: { ...baseSpecific().source, extra: 1 } }), [], 'open at the top and in connectors')
})

t.test('checkSpecific reports cron, duplicate streams, workspace, misplaced secrets; warns about dbtGitUrl', async (t) => {
  const handler = createAirbyteHandler({ config: configFor(undefined, { workspaceId: undefined }), client: () => { throw new Error('not used') } })
  const spec = baseSpecific()
  spec.connection.schedule.cronExpression = '0 0 2 * * *'
  spec.connection.streams = [{ name: 'orders' }, { name: 'customers' }, { name: 'orders' }]
  spec.connection.name = '${secret:pg-password}'
  spec.connection.dbtGitUrl = 'https://gitlab.com/x/dbt.git'
  const check = handler.checkSpecific(component(spec), { dataProduct, hasSecret: () => true })
  t.same(check.problems.map((p) => p.path), [
    'connection.schedule.cronExpression', 'connection.streams.2.name', 'workspaceId', 'connection.name'
  ])
  t.match(check.problems[0]?.message, /\? in exactly one of day-of-month and day-of-week/)
  t.match(check.problems[2]?.hint, /AIRBYTE_WORKSPACE_ID/)
  t.same(check.warnings, ['connection.dbtGitUrl is ignored: current Airbyte has no dbt operations'])

  const withWorkspace = { ...baseSpecific(), workspaceId: 'ws-1' }
  t.same(handler.checkSpecific(component(withWorkspace), { dataProduct, hasSecret: () => true }), { problems: [], warnings: [] })
  const dbt = handler.checkSpecific(component({ ...sampleSpecific('component-legacy-dbt-url.yaml'), workspaceId: 'ws-1', source: { ...baseSpecific().source }, destination: baseSpecific().destination }), { dataProduct, hasSecret: () => true })
  t.same(dbt, { problems: [], warnings: ['connection.dbtGitUrl is ignored: current Airbyte has no dbt operations'] })
})

t.test('checkSpecific warns when a secret is put in a field Airbyte stores in clear (host)', async (t) => {
  const handler = createAirbyteHandler({ config: configFor(undefined), client: () => { throw new Error('not used') } })
  const spec: Record<string, any> = { ...baseSpecific(), workspaceId: 'ws-1' }
  spec.source.connectionConfiguration.host = '${secret:pg-password}'
  const check = handler.checkSpecific(component(spec), { dataProduct, hasSecret: () => true })
  t.same(check.problems, [])
  t.same(check.warnings, ['source.connectionConfiguration.host: secret "pg-password" is put in a field that does not look like a secret field; Airbyte may store and show it in clear'])
})

t.test('checkUpstream checks streams of an existing source, read-only', async (t) => {
  const { sim, handler } = await setup(t)
  const ctx = (spec: Record<string, unknown>) => ({
    component: component(spec),
    dataProduct,
    log: { debug () {}, info () {}, warn () {}, error () {} },
    secrets: { resolve: async <T>(v: T) => v },
    signal: new AbortController().signal
  })
  const absent = await handler.checkUpstream(ctx(baseSpecific()))
  t.same(absent, { problems: [], warnings: ['source "orders-pg" not yet created; stream names and sync modes will be checked at provision'] })

  const spec = baseSpecific()
  spec.connection.syncOnProvision = false
  await run(handler, 'provision', component(spec))
  const before = sim.requests.length
  const good = await handler.checkUpstream(ctx(spec))
  t.same(good, { problems: [], warnings: [] })

  const bad = baseSpecific()
  bad.connection.streams = [{ name: 'invoices' }, { name: 'fullonly_audit', syncMode: 'incremental_append' }]
  const checked = await handler.checkUpstream(ctx(bad))
  t.same(checked.problems.map((p) => p.path), ['connection.streams.0.name', 'connection.streams.1.syncMode'])
  t.ok(sim.requests.slice(before).every((r) => r.method === 'GET'), 'only reads')

  const reconfigured = baseSpecific()
  reconfigured.source.connectionConfiguration.streams = ['orders', 'invoices']
  reconfigured.connection.streams = [{ name: 'invoices' }]
  const pending = await handler.checkUpstream(ctx(reconfigured))
  t.same(pending.problems, [], 'a configuration change may add the stream: not a problem yet')
  t.match(pending.warnings[0], /connection\.streams\.0\.name: the source offers no stream "invoices" in the source as configured today/)
})

t.test('checkUpstream without Airbyte, or with Airbyte unreachable, only warns', async (t) => {
  const unset = createAirbyteHandler({ config: configFor(undefined), client: () => { throw new Error('not used') } })
  const ctx = { component: component(baseSpecific()), dataProduct, log: { debug () {}, info () {}, warn () {}, error () {} }, secrets: { resolve: async <T>(v: T) => v }, signal: new AbortController().signal }
  t.match(await unset.checkUpstream(ctx), { problems: [], warnings: [/Airbyte is not configured \(AIRBYTE_API_URL is unset\)/] })

  const sim = await startAirbyteSimulator()
  const config = configFor(sim)
  await sim.close()
  const down = createAirbyteHandler({ config, client: createAirbyteClient(config) })
  t.match(await down.checkUpstream(ctx), { problems: [], warnings: [/Airbyte could not be checked \(.*ECONNREFUSED.*\)/] })
})

t.test('updateacl has one step that changes nothing', async (t) => {
  const { sim, handler } = await setup(t)
  t.same(handler.steps('updateacl').map((s) => s.name), ['no-acl'])
  const r = await run(handler, 'updateacl', component(baseSpecific()))
  t.ok(said(r, /^Airbyte connections have no consumer ACL; nothing changed$/))
  t.equal(sim.requests.length, 0)
  t.same(r.outcome, { result: 'OK' })
})

t.test('the handler claims the Airbyte use case template', async (t) => {
  const handler = createAirbyteHandler({ config: configFor(undefined), client: () => { throw new Error('not used') } })
  t.equal(handler.id, 'airbyte')
  t.same(handler.useCaseTemplateIds, ['urn:dmb:utm:airbyte-standard'])
  t.same(handler.steps('provision').map((s) => s.name), [
    'resolve-workspace', 'ensure-source', 'ensure-destination', 'check-streams', 'ensure-connection', 'start-sync', 'wait-sync'
  ])
  t.same(handler.steps('unprovision').map((s) => s.name), [
    'find-resources', 'start-clear', 'wait-clear', 'delete-connection', 'delete-destination', 'delete-source'
  ])
})

t.test('provision killed inside any step and resumed from its checkpoint creates everything exactly once', async (t) => {
  let sim: AirbyteSimulator | undefined
  const rounds = await killAndResumeAtEveryStep(async () => {
    // A job must outlive the gap between the kill and the resume (which adopts it), even on a busy machine.
    const fresh = await setup(t, { syncDurationMs: 600 })
    sim = fresh.sim
    return { handler: fresh.handler, opts: { operation: 'provision', component: component(baseSpecific()), dataProduct, secrets } }
  }, ({ killedIn, resumed }) => {
    if (sim === undefined) throw new Error('no simulator')
    t.same(sizes(sim), [1, 1, 1], `killed in ${killedIn}: one source, destination, connection`)
    t.equal([...sim.state.jobs.values()].filter((j) => j.jobType === 'sync').length, 1, `killed in ${killedIn}: one sync`)
    t.equal(resumed.outcome?.result, 'OK', `killed in ${killedIn}: finished`)
    t.notMatch(JSON.stringify(resumed.checkpoints), PG_PASSWORD, `killed in ${killedIn}: no secret in any checkpoint`)
  })
  t.equal(rounds, 7)
})

t.test('unprovision killed inside any step and resumed removes everything', async (t) => {
  let sim: AirbyteSimulator | undefined
  const rounds = await killAndResumeAtEveryStep(async () => {
    // A job must outlive the gap between the kill and the resume (which adopts it), even on a busy machine.
    const fresh = await setup(t, { syncDurationMs: 600 })
    sim = fresh.sim
    const provisioned = await runSteps(fresh.handler, { operation: 'provision', component: component(baseSpecific()), dataProduct, secrets })
    return { handler: fresh.handler, opts: { operation: 'unprovision', component: component(baseSpecific(), provisioned.outcome?.info), dataProduct, secrets, removeData: true } }
  }, ({ killedIn, resumed }) => {
    if (sim === undefined) throw new Error('no simulator')
    t.same(sizes(sim), [0, 0, 0], `killed in ${killedIn}: nothing left`)
    t.equal([...sim.state.jobs.values()].filter((j) => j.jobType === 'clear').length, 1, `killed in ${killedIn}: one clear`)
    t.equal(resumed.outcome?.result, 'OK')
  })
  t.equal(rounds, 6)
})
