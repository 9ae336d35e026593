/**
 * The real thing for end-to-end tests: Airbyte simulator, real Redis (unique key prefix per stack, removed at
 * teardown), and the service (API + worker in this process, or as child processes) on a real port.
 * Timings are shortened through the same environment variables operators use.
 */
import type { Test } from 'tap'
import { loadConfig, type Config } from '../../src/config.js'
import { startService, type RunningService } from '../../src/main.js'
import { startAirbyteSimulator, type AirbyteSimulator, type AirbyteSimulatorOptions } from '../../src/sandbox/airbyte/airbyte-simulator.js'
import { deleteKeys, testRedis, uniquePrefix, type TestRedis } from './redis-server.js'

export const FAST_ENV: Record<string, string> = {
  PORT: '0',
  HOST: '127.0.0.1',
  // A worker-only process listens on METRICS_PORT (default 9464): a free one each, as test files run side by side.
  METRICS_PORT: '0',
  LOG_LEVEL: 'silent',
  // The end-to-end tests exercise the API, not its callers' credentials (test/plugins/authentication.test.ts does).
  AUTH_MODE: 'none',
  // Tests poll dozens of tasks every 50 ms from one address; test/plugins/rate-limiting.test.ts covers the limiter.
  RATE_LIMIT_MAX: '0',
  // A loaded CI machine delays every event loop past a second; test/plugins/load-shedding.test.ts covers shedding.
  LOAD_SHED_MAX_EVENT_LOOP_DELAY_MS: '0',
  AIRBYTE_AUTH: 'client_credentials',
  AIRBYTE_CLIENT_ID: 'sim-client',
  AIRBYTE_CLIENT_SECRET: 'sim-secret',
  AIRBYTE_SYNC_POLL_MIN_MS: '50',
  AIRBYTE_SYNC_POLL_MAX_MS: '200',
  AIRBYTE_RETRY_BASE_MS: '10',
  AIRBYTE_REQUEST_TIMEOUT_MS: '5000',
  STEP_RETRY_BASE_MS: '50',
  STEP_RETRY_MAX_MS: '500',
  COMPONENT_LOCK_POLL_MS: '100',
  WORKER_LOCK_MS: '2000',
  WORKER_STALLED_INTERVAL_MS: '1000',
  SHUTDOWN_GRACE_MS: '5000',
  // Secrets of the example descriptors, granted to the finance domain as a deployment would.
  DESCRIPTOR_SECRET_FINANCE__ORDERS_DB_PASSWORD: 'e2e-db-password-4711',
  DESCRIPTOR_SECRET_FINANCE__SNOWFLAKE_PASSWORD: 'e2e-warehouse-password-4712'
}

export interface Stack {
  base: string
  sim: AirbyteSimulator
  redis: TestRedis
  prefix: string
  env: Record<string, string>
  config: Config
  service?: RunningService
}

export interface StackOptions {
  env?: Record<string, string>
  sim?: AirbyteSimulatorOptions
  /** Start the service in this process (default true). */
  inProcess?: boolean
  redis?: TestRedis
  /** Where the in-process service's log lines go (default stdout, silenced by LOG_LEVEL). */
  logDestination?: { write: (line: string) => void }
}

export async function startStack (t: Test, opts: StackOptions = {}): Promise<Stack> {
  const redis = opts.redis ?? await testRedis()
  const sim = await startAirbyteSimulator({ syncDurationMs: 200, ...opts.sim })
  const prefix = uniquePrefix(t.name.replace(/[^a-z0-9]+/gi, '-').slice(0, 30))
  const env = {
    ...FAST_ENV,
    REDIS_URL: redis.url,
    QUEUE_PREFIX: prefix,
    AIRBYTE_API_URL: sim.url,
    AIRBYTE_WORKSPACE_ID: sim.workspaceId,
    AIRBYTE_UI_URL: sim.origin,
    ...opts.env
  }
  const config = loadConfig(env)
  const stack: Stack = { base: '', sim, redis, prefix, env, config }
  if (opts.inProcess !== false) {
    stack.service = await startService(config, { logDestination: opts.logDestination })
    stack.base = `${stack.service.url ?? ''}${config.basePath}`
  }
  t.teardown(async () => {
    await stack.service?.close()
    await sim.close()
    await deleteKeys(redis.url, prefix)
    if (opts.redis === undefined) await redis.stop()
  })
  return stack
}

export async function postJson (url: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number, contentType: string, text: string, json: () => any }> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) })
  const text = await res.text()
  return { status: res.status, contentType: res.headers.get('content-type') ?? '', text, json: () => JSON.parse(text) }
}

export async function getJson (url: string, headers: Record<string, string> = {}): Promise<{ status: number, contentType: string, body: any }> {
  const res = await fetch(url, { headers })
  const text = await res.text()
  return { status: res.status, contentType: res.headers.get('content-type') ?? '', body: text === '' ? undefined : JSON.parse(text) }
}

/** Polls a status route until the task leaves RUNNING (or `until` holds), failing after `deadlineMs`. */
export async function waitForStatus (url: string, opts: { deadlineMs?: number, until?: (body: any) => boolean, headers?: Record<string, string> } = {}): Promise<any> {
  const deadline = Date.now() + (opts.deadlineMs ?? 20_000)
  const until = opts.until ?? ((body: any) => body.status !== 'RUNNING')
  let last: unknown
  while (Date.now() < deadline) {
    const res = await getJson(url, opts.headers)
    last = res.body
    if (res.status === 200 && until(res.body)) return res.body
    await new Promise(resolve => setTimeout(resolve, 50))
  }
  throw new Error(`status at ${url} did not reach the expected state in time; last: ${JSON.stringify(last)}`)
}

/** A COMPONENT_DESCRIPTOR request for one Airbyte component; `mutate` edits the data product before it is sent. */
export function airbyteRequest (name: string, mutate: (specific: any, dp: any) => void = () => {}, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const componentId = `urn:dmb:cmp:finance:cashflow:0:${name}`
  const specific: any = {
    source: { name: `${name}-source`, connectionConfiguration: { sourceType: 'postgres', host: 'db', port: 5432, database: 'orders', username: 'reader', password: '${secret:orders-db-password}' } },
    destination: { name: `${name}-destination`, connectionConfiguration: { destinationType: 'snowflake', host: 'wh', database: 'DB', schema: 'S', username: 'loader', password: '${secret:snowflake-password}' } },
    connection: { name: `${name}-connection`, schedule: { scheduleType: 'cron', cronExpression: '0 0 2 * * ?' } }
  }
  const dp: any = {
    id: 'urn:dmb:dp:finance:cashflow:0',
    name: 'CashFlow',
    kind: 'dataproduct',
    domain: 'finance',
    version: '0.2.0',
    environment: 'development',
    dataProductOwner: 'user:jane.doe_company.com',
    devGroup: 'group:datameshplatform',
    components: [{
      id: componentId,
      name,
      kind: 'workload',
      version: '0.0.1',
      useCaseTemplateId: 'urn:dmb:utm:airbyte-standard:0.0.0',
      infrastructureTemplateId: 'urn:dmb:itm:provisioner:0',
      dependsOn: [],
      specific
    }]
  }
  mutate(specific, dp)
  return {
    descriptorKind: 'COMPONENT_DESCRIPTOR',
    descriptor: JSON.stringify({ dataProduct: dp, componentIdToProvision: componentId }),
    ...extra
  }
}
