/**
 * The cost figures of issue 9, measured against one service process (ROLE=all) and the in-process Airbyte
 * simulator, whose request log counts every call the service makes:
 *  - calls for a first provision in an empty workspace;
 *  - calls per new component, averaged over 30 provisioned one after another, with 5,000 sources and 5,000
 *    destinations already in the workspace;
 *  - calls (and PATCHes) for an unchanged re-provision with those 5,000 present, including the sync;
 *  - Redis bytes written by one DATAPRODUCT_DESCRIPTOR provision of 100 and of 300 components, from a private
 *    redis-server's `total_net_input_bytes` (nothing else writes to it).
 * The OAuth token call is not counted: the service makes it once per process, not per provision.
 */
import type { ChildProcess } from 'node:child_process'
import { Redis } from 'ioredis'
import { stringify } from 'yaml'
import { startAirbyteSimulator, type AirbyteSimulator } from '../src/sandbox/airbyte/airbyte-simulator.js'
import { startLocalRedis } from '../src/sandbox/local-redis.js'

export type SpawnService = (env: Record<string, string>) => Promise<{ child: ChildProcess, url: string }>

export function airbyteComponent (dp: string, c: number): Record<string, unknown> {
  return {
    id: `urn:dmb:cmp:finance:${dp}:0:ingest-${c}`,
    name: `Ingestion ${c} of ${dp}`,
    kind: 'workload',
    version: '0.0.1',
    infrastructureTemplateId: 'urn:dmb:itm:provisioner:0',
    useCaseTemplateId: 'urn:dmb:utm:airbyte-standard:0.0.0',
    dependsOn: [],
    specific: {
      source: { name: `${dp}-${c}-source`, connectionConfiguration: { sourceType: 'postgres', host: 'db.internal', port: 5432, database: 'orders', username: 'reader', password: '${secret:orders-db-password}' } },
      destination: { name: `${dp}-${c}-destination`, connectionConfiguration: { destinationType: 'snowflake', host: 'acme.snowflakecomputing.com', database: 'CASHFLOW', schema: 'ORDERS', username: 'loader', password: '${secret:snowflake-password}' } },
      connection: { name: `${dp}-${c}-connection`, schedule: { scheduleType: 'cron', cronExpression: '0 0 2 * * ?' }, namespaceDefinition: 'custom_format', namespaceFormat: 'cashflow_0', streams: [{ name: 'orders', syncMode: 'incremental_deduped_history', cursorField: ['updated_at'], primaryKey: [['id']] }, { name: 'users', syncMode: 'full_refresh_overwrite' }] }
    }
  }
}

/** A data product `dp` of the finance domain with `count` Airbyte components (about 1.3 KB each). */
export function benchDataProduct (dp: string, count: number): { id: string, components: Array<Record<string, unknown>> } & Record<string, unknown> {
  return {
    id: `urn:dmb:dp:finance:${dp}:0`,
    name: dp,
    description: 'A data product for the benchmark',
    kind: 'dataproduct',
    domain: 'finance',
    version: '0.2.0',
    environment: 'development',
    dataProductOwner: 'user:jane.doe_company.com',
    devGroup: 'group:datameshplatform',
    tags: [],
    specific: {},
    components: Array.from({ length: count }, (_, c) => airbyteComponent(dp, c))
  }
}

async function provision (url: string, body: Record<string, unknown>): Promise<void> {
  const res = await fetch(`${url}/v1/provision`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
  const token = await res.text()
  if (res.status !== 202) throw new Error(`provision refused: ${res.status} ${token.slice(0, 500)}`)
  for (;;) {
    const status = await (await fetch(`${url}/v1/provision/${token}/status`)).json() as { status: string, result?: string, logs?: unknown[] }
    if (status.status === 'COMPLETED') return
    if (status.status !== 'RUNNING') throw new Error(`provision ${status.status}: ${JSON.stringify(status).slice(0, 2000)}`)
    await new Promise(resolve => setTimeout(resolve, 10))
  }
}

function componentRequest (dp: string, c: number): Record<string, unknown> {
  const product = benchDataProduct(dp, 0)
  const component = airbyteComponent(dp, c)
  return { descriptorKind: 'COMPONENT_DESCRIPTOR', descriptor: stringify({ dataProduct: { ...product, components: [component] }, componentIdToProvision: component.id }) }
}

/** Counts the calls `run` makes the service send to the simulator (the token call excluded). */
async function counted (sim: AirbyteSimulator, run: () => Promise<void>): Promise<{ calls: number, patches: number }> {
  const before = sim.requests.length
  await run()
  const made = sim.requests.slice(before).filter((r) => !r.path.endsWith('/applications/token'))
  return { calls: made.length, patches: made.filter((r) => r.method === 'PATCH').length }
}

/** 5,000 sources and 5,000 destinations of someone else, put straight into the simulator's state. */
function crowd (sim: AirbyteSimulator, count: number): void {
  const createdAt = Math.floor(Date.now() / 1000) - 3600
  for (let i = 0; i < count; i++) {
    const sourceId = `00000000-0000-4000-a000-${String(i).padStart(12, '0')}`
    const destinationId = `00000000-0000-4000-b000-${String(i).padStart(12, '0')}`
    sim.state.sources.set(sourceId, { sourceId, name: `existing-${i}-source`, sourceType: 'postgres', definitionId: 'decd338e-5647-4c0b-adf4-da0e75f5a750', workspaceId: sim.workspaceId, configuration: { host: 'h' }, createdAt } as never)
    sim.state.destinations.set(destinationId, { destinationId, name: `existing-${i}-destination`, destinationType: 'snowflake', definitionId: '424892c4-daac-4491-b35d-c6688ba547ba', workspaceId: sim.workspaceId, configuration: { host: 'h' }, createdAt } as never)
  }
}

function serviceEnv (base: Record<string, string>, sim: AirbyteSimulator, redisUrl: string, prefix: string): Record<string, string> {
  return {
    ...base,
    ROLE: 'all',
    // info: the service prints its URL at start-up.
    LOG_LEVEL: 'info',
    REDIS_URL: redisUrl,
    QUEUE_PREFIX: prefix,
    AIRBYTE_API_URL: sim.url,
    AIRBYTE_AUTH: 'client_credentials',
    AIRBYTE_CLIENT_ID: 'sim-client',
    AIRBYTE_CLIENT_SECRET: 'sim-secret',
    AIRBYTE_WORKSPACE_ID: sim.workspaceId,
    AIRBYTE_SYNC_POLL_MIN_MS: '20',
    AIRBYTE_SYNC_POLL_MAX_MS: '100',
    WORKER_CONCURRENCY: '32',
    AIRBYTE_MAX_CONCURRENT_REQUESTS: '64'
  }
}

export async function callsPerProvision (spawnService: SpawnService, base: Record<string, string>, redisUrl: string, prefix: string): Promise<void> {
  console.log('\n-- calls per provision (zero-latency simulator; the token call is not counted) --')
  const sim = await startAirbyteSimulator({ syncDurationMs: 0 })
  let service = await spawnService(serviceEnv(base, sim, redisUrl, `${prefix}-calls`))
  try {
    const first = await counted(sim, async () => { await provision(service.url, componentRequest('first', 0)) })
    console.log(`first provision, empty workspace:                           ${first.calls} calls (goal <= 8)`)
    crowd(sim, 5000)
    // A new process: nothing it remembers of the workspace predates the 5,000.
    service.child.kill('SIGTERM')
    service = await spawnService(serviceEnv(base, sim, redisUrl, `${prefix}-calls`))
    let total = 0
    for (let c = 0; c < 30; c++) total += (await counted(sim, async () => { await provision(service.url, componentRequest('crowded', c)) })).calls
    const average = total / 30
    console.log(`5,000 existing, 30 new components one after another:        ${average.toFixed(1)} calls each on average (goal <= ${(1.5 * first.calls).toFixed(1)}, 1.5x the first)`)
    const again = await counted(sim, async () => { await provision(service.url, componentRequest('first', 0)) })
    console.log(`unchanged re-provision, 5,000 existing, sync included:      ${again.calls} calls, ${again.patches} PATCH (goal <= 6, no PATCH)`)
  } finally {
    service.child.kill('SIGTERM')
    await sim.close()
  }
}

export async function redisBytesPerDataProduct (spawnService: SpawnService, base: Record<string, string>, counts: number[]): Promise<void> {
  console.log('\n-- Redis bytes written by one DATAPRODUCT_DESCRIPTOR provision (private redis-server, INFO total_net_input_bytes) --')
  const redis = await startLocalRedis()
  const sim = await startAirbyteSimulator({ syncDurationMs: 0 })
  const client = new Redis(redis.url)
  const service = await spawnService({ ...serviceEnv(base, sim, redis.url, 'bench-bytes'), MAX_DESCRIPTOR_BYTES: String(8 * 1024 * 1024) })
  const inputBytes = async (): Promise<number> => Number(/total_net_input_bytes:(\d+)/.exec(await client.info('stats'))?.[1] ?? 0)
  try {
    const figures: number[] = []
    for (const count of counts) {
      const dp = `bytes${count}`
      const before = await inputBytes()
      await provision(service.url, { descriptorKind: 'DATAPRODUCT_DESCRIPTOR', descriptor: stringify(benchDataProduct(dp, count)) })
      const bytes = await inputBytes() - before
      figures.push(bytes)
      console.log(`${String(count).padStart(4)} components: ${(bytes / 1e6).toFixed(1)} MB written to Redis (${Math.round(bytes / count)} bytes per component)`)
    }
    if (figures.length === 2) console.log(`ratio ${counts[1]} vs ${counts[0]}: ${((figures[1] ?? 0) / (figures[0] ?? 1)).toFixed(2)} (linear: ${((counts[1] ?? 0) / (counts[0] ?? 1)).toFixed(1)}; goal for 300: <= 20 MB)`)
  } finally {
    service.child.kill('SIGTERM')
    client.disconnect()
    await sim.close()
    await redis.stop()
  }
}
