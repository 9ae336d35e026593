/**
 * `npm run sandbox`: the whole service on one machine with no real SaaS. Starts the Airbyte simulator in-process,
 * uses REDIS_URL, else a Redis on 127.0.0.1:6379, else a private redis-server, and runs API and worker
 * (ROLE=all) with the simulator wired in. Anything set in the environment still wins, except the Airbyte
 * connection settings, which always point at the simulator, and the listener: the sandbox has no caller
 * authentication (AUTH_MODE=none), so it only ever listens on 127.0.0.1.
 */
import { loadConfig } from '../config.js'
import { installSignalHandlers, startService } from '../main.js'
import { startAirbyteSimulator } from './airbyte-simulator.js'
import { findOrStartRedis } from './local-redis.js'

const simulator = await startAirbyteSimulator({
  port: Number(process.env.SIM_PORT ?? 0),
  syncDurationMs: Number(process.env.SIM_SYNC_MS ?? 2000)
})
const redis = await findOrStartRedis()
if (redis.started) process.stdout.write(`No Redis on 127.0.0.1:6379: started a private one at ${redis.url}\n`)
const env: Record<string, string | undefined> = {
  SECRET_ORDERS_DB_PASSWORD: 'sandbox-db-password',
  SECRET_SNOWFLAKE_PASSWORD: 'sandbox-warehouse-password',
  AIRBYTE_SYNC_POLL_MIN_MS: '500',
  AIRBYTE_SYNC_POLL_MAX_MS: '2000',
  ...process.env,
  HOST: '127.0.0.1',
  AUTH_MODE: 'none',
  REDIS_URL: redis.url,
  AIRBYTE_API_URL: simulator.url,
  AIRBYTE_AUTH: 'client_credentials',
  AIRBYTE_CLIENT_ID: 'sim-client',
  AIRBYTE_CLIENT_SECRET: 'sim-secret',
  AIRBYTE_WORKSPACE_ID: simulator.workspaceId,
  AIRBYTE_UI_URL: simulator.origin
}
// The sandbox's secrets come from its environment, like a deployment's SECRET_<NAME> variables.
for (const [name, value] of Object.entries(env)) {
  if (name.startsWith('SECRET_') && process.env[name] === undefined && value !== undefined) process.env[name] = value
}
const config = loadConfig(env)
const service = await startService(config)
const base = `${service.url ?? ''}${config.basePath}`
process.stdout.write([
  '',
  `Sandbox ready: tech adapter at ${base} (API docs at ${base}/docs)`,
  `Airbyte simulator at ${simulator.url} (workspace ${simulator.workspaceId})`,
  'Authentication is off (AUTH_MODE=none): the sandbox listens on 127.0.0.1 only. Never expose it; deployments use AUTH_MODE=bearer or jwt.',
  'Try:',
  `  TOKEN=$(curl -s -X POST ${base}/v1/provision -H 'content-type: application/json' -d @examples/provision-request.json)`,
  `  curl -s ${base}/v1/provision/$TOKEN/status`,
  ''
].join('\n') + '\n')
installSignalHandlers({
  ...service,
  close: async () => {
    await service.close()
    await simulator.close()
    await redis.stop()
  }
}, (msg) => { process.stdout.write(`${msg}\n`) })
