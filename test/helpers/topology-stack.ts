/**
 * The end-to-end stack (Airbyte simulator, the service's API and worker in this process) on a Redis Cluster or
 * Sentinel setup instead of one server: the service gets that Redis only through the REDIS_* settings an operator
 * would set. The caller starts that Redis (test/helpers/redis-cluster.ts, redis-sentinel.ts) and hands over its
 * `stop`, run at teardown once the service has closed.
 */
import type { Test } from 'tap'
import { loadConfig, type Config } from '../../src/config.js'
import { startService, type RunningService } from '../../src/main.js'
import { startAirbyteSimulator, type AirbyteSimulator, type AirbyteSimulatorOptions } from '../../src/sandbox/airbyte/airbyte-simulator.js'
import { FAST_ENV } from './stack.js'
import { uniquePrefix } from './redis-server.js'

export interface TopologyStack {
  base: string
  sim: AirbyteSimulator
  prefix: string
  config: Config
  service: RunningService
}

export interface TopologyRedis { env: Record<string, string>, stop: () => Promise<void> }

export async function startTopologyStack (t: Test, redis: TopologyRedis, opts: { env?: Record<string, string>, sim?: AirbyteSimulatorOptions } = {}): Promise<TopologyStack> {
  const sim = await startAirbyteSimulator({ syncDurationMs: 200, ...opts.sim })
  const prefix = uniquePrefix(t.name.replace(/[^a-z0-9]+/gi, '-').slice(0, 30))
  const config = loadConfig({
    ...FAST_ENV,
    ...redis.env,
    QUEUE_PREFIX: prefix,
    AIRBYTE_API_URL: sim.url,
    AIRBYTE_WORKSPACE_ID: sim.workspaceId,
    AIRBYTE_UI_URL: sim.origin,
    // These tests are about Redis; a busy CI machine's event loop must not shed their requests with a 503.
    LOAD_SHED_MAX_EVENT_LOOP_DELAY_MS: '0',
    ...opts.env
  })
  const service = await startService(config).catch(async (err: unknown) => {
    await sim.close()
    await redis.stop()
    throw err
  })
  t.teardown(async () => {
    await service.close()
    await sim.close()
    await redis.stop()
  })
  return { base: `${service.url ?? ''}${config.basePath}`, sim, prefix, config, service }
}
