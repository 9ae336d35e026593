import t, { type Test } from 'tap'
import type { AirbyteConfig } from '../../../src/provisioner/airbyte/airbyte-config.js'
import { ConfigError, PermanentUpstreamError } from '../../../src/errors.js'
import { classifyAirbyteAnswer, createAirbyteClient, PAGE_LIMIT, type AirbyteClient } from '../../../src/provisioner/airbyte/airbyte-client.js'
import { type AirbyteSimulator, type AirbyteSimulatorOptions, startAirbyteSimulator } from '../../../src/sandbox/airbyte/airbyte-simulator.js'

function configFor (sim: AirbyteSimulator, extra: Partial<AirbyteConfig> = {}): AirbyteConfig {
  return {
    apiUrl: sim.url,
    auth: 'basic',
    username: 'airbyte',
    password: 'password',
    workspaceId: sim.workspaceId,
    requestTimeoutMs: 5000,
    maxConcurrentRequests: 8,
    callRetries: 2,
    retryBaseMs: 5,
    syncPollMinMs: 20,
    syncPollMaxMs: 100,
    syncTimeoutMs: 10_000,
    listingTtlMs: 10_000,
    ...extra
  }
}

async function setup (t: Test, opts: AirbyteSimulatorOptions = {}, extra: Partial<AirbyteConfig> = {}): Promise<{ sim: AirbyteSimulator, client: AirbyteClient }> {
  const sim = await startAirbyteSimulator({ syncDurationMs: 300, ...opts })
  t.teardown(() => sim.close())
  return { sim, client: createAirbyteClient(configFor(sim, extra)) }
}

async function makeSources (client: AirbyteClient, ws: string, count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    await client.createSource({ name: `src-${i}`, workspaceId: ws, configuration: { sourceType: 'postgres' } })
  }
}

const listCalls = (sim: AirbyteSimulator): number => sim.requests.filter((r) => r.method === 'GET' && r.path.endsWith('/sources')).length

t.test('listing pages past 100 items and stops on the short page, whatever `next` says', async (t) => {
  const { sim, client } = await setup(t)
  await makeSources(client, sim.workspaceId, 150)
  const all = await client.listSources(sim.workspaceId)
  t.equal(all.length, 150)
  t.equal(new Set(all.map((s) => s.sourceId)).size, 150)
  t.equal(listCalls(sim), 2)
})

t.test('exactly 100 items: one more request finds the empty page and stops', async (t) => {
  const { sim, client } = await setup(t)
  await makeSources(client, sim.workspaceId, PAGE_LIMIT)
  t.equal((await client.listSources(sim.workspaceId)).length, 100)
  t.equal(listCalls(sim), 2)
})

t.test('find by name matches exactly, within the workspace, and picks the oldest of duplicates', async (t) => {
  const { sim, client } = await setup(t)
  const ws = sim.workspaceId
  const first = await client.createSource({ name: 'orders', workspaceId: ws, configuration: { sourceType: 'postgres' } })
  const second = await client.createSource({ name: 'orders', workspaceId: ws, configuration: { sourceType: 'postgres' } })
  await client.createSource({ name: 'orders-archive', workspaceId: ws, configuration: { sourceType: 'postgres' } })
  // Make the second one older than the first, so the choice cannot come from list order.
  const stored = sim.state.sources.get(second.sourceId)
  if (stored !== undefined) stored.createdAt = 1
  const found = await client.findSourceByName(ws, 'orders')
  t.equal(found?.count, 2)
  t.equal(found?.resource.sourceId, second.sourceId)
  t.not(found?.resource.sourceId, first.sourceId)
  t.equal(await client.findSourceByName(ws, 'Orders'), undefined)
  t.equal(await client.findSourceByName('00000000-0000-4000-8000-00000000dead', 'orders'), undefined)
})

t.test('get, patch and delete; a 404 on get or delete is not an error', async (t) => {
  const { sim, client } = await setup(t)
  const dst = await client.createDestination({ name: 'snow', workspaceId: sim.workspaceId, configuration: { destinationType: 'snowflake', password: 'pw' } })
  t.equal((await client.getDestination(dst.destinationId))?.configuration.password, '**********')
  t.equal((await client.patchDestination(dst.destinationId, { name: 'snow2' })).name, 'snow2')
  t.equal(await client.deleteDestination(dst.destinationId), 'deleted')
  t.equal(await client.deleteDestination(dst.destinationId), 'absent')
  t.equal(await client.getDestination(dst.destinationId), undefined)
  t.equal(await client.getSource('unknown'), undefined)
  t.equal(await client.deleteConnection('unknown'), 'absent')
})

t.test('a second sync on a busy connection reports alreadyRunning, and the running job is found', async (t) => {
  const { sim, client } = await setup(t, { syncDurationMs: 2000 })
  const ws = sim.workspaceId
  const src = await client.createSource({ name: 's', workspaceId: ws, configuration: { sourceType: 'postgres' } })
  const dst = await client.createDestination({ name: 'd', workspaceId: ws, configuration: { destinationType: 'snowflake' } })
  const conn = await client.createConnection({ sourceId: src.sourceId, destinationId: dst.destinationId, name: 'c' })
  const started = await client.startJob(conn.connectionId, 'sync')
  if (!('job' in started)) throw new Error('the first sync should start')
  t.type(started.job.jobId, 'number')
  const again = await client.startJob(conn.connectionId, 'sync')
  t.same(again, { alreadyRunning: true, message: `A sync is already running for: ${conn.connectionId}` })
  const running = await client.findRunningJob(conn.connectionId, 'sync')
  t.equal(running?.jobId, started.job.jobId)
  t.equal(await client.findRunningJob(conn.connectionId, 'clear'), undefined)
  t.equal(sim.state.jobs.size, 1)

  const cancelled = await client.cancelJob(started.job.jobId)
  t.equal(cancelled?.status, 'cancelled')
  t.equal(await client.cancelJob(started.job.jobId), undefined, 'cancelling an ended job is not an error')
  t.equal((await client.getJob(started.job.jobId)).status, 'cancelled')
  t.equal(await client.findRunningJob(conn.connectionId, 'sync'), undefined)
})

t.test('streams come from GET /streams; connections read cron back with UTC', async (t) => {
  const { sim, client } = await setup(t)
  const ws = sim.workspaceId
  const src = await client.createSource({ name: 's', workspaceId: ws, configuration: { sourceType: 'postgres', streams: ['a', 'fullonly_b'] } })
  const streams = await client.getStreams(src.sourceId)
  t.same(streams.map((s) => s.streamName), ['a', 'fullonly_b'])
  t.notOk(streams[1]?.syncModes.includes('incremental_append'))
  const dst = await client.createDestination({ name: 'd', workspaceId: ws, configuration: { destinationType: 'snowflake' } })
  const conn = await client.createConnection({
    sourceId: src.sourceId, destinationId: dst.destinationId, name: 'c', schedule: { scheduleType: 'cron', cronExpression: '0 0 2 * * ?' }
  })
  t.equal(conn.schedule.cronExpression, '0 0 2 * * ? UTC')
  t.equal((await client.findConnectionByName(ws, 'c'))?.resource.connectionId, conn.connectionId)
})

t.test('client credentials: one token serves many calls', async (t) => {
  const { sim, client } = await setup(t, {}, { auth: 'client_credentials', clientId: 'sim-client', clientSecret: 'sim-secret' })
  await client.getWorkspace(sim.workspaceId)
  await client.listSources(sim.workspaceId)
  await client.listConnections(sim.workspaceId)
  t.equal(sim.state.tokensIssued, 1)
})

t.test('bad credentials are a permanent error that does not quote the secret', async (t) => {
  const { sim, client } = await setup(t, {}, { auth: 'client_credentials', clientId: 'sim-client', clientSecret: 'wrong-secret-123' })
  const err = await client.getWorkspace(sim.workspaceId).catch((e: unknown) => e)
  t.type(err, PermanentUpstreamError)
  t.notMatch((err as Error).message, /wrong-secret-123/)
})

t.test('an unknown workspace is a permanent error', async (t) => {
  const { client } = await setup(t)
  await t.rejects(client.getWorkspace('00000000-0000-4000-8000-00000000dead'), { message: /404 resource-not-found/ })
})

t.test('creating a client without AIRBYTE_API_URL is a configuration error', async (t) => {
  t.throws(() => createAirbyteClient({ ...configFor({ url: 'x' } as AirbyteSimulator), apiUrl: undefined }), ConfigError)
})

t.test("Airbyte's try-again-later 409 is a refusal to retry; any other 409 is left to the generic rule", async (t) => {
  t.equal(classifyAirbyteAnswer(409, { type: 'try-again-later', reason: '409 try-again-later' }), 'refused')
  t.equal(classifyAirbyteAnswer(409, { type: 'Try Again Later', reason: '409' }), 'refused')
  t.equal(classifyAirbyteAnswer(409, { type: 'conflict', reason: '409 conflict' }), undefined)
  t.equal(classifyAirbyteAnswer(503, { type: 'try-again-later', reason: '503' }), undefined)
})
