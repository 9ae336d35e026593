/**
 * `npm run sandbox`: the whole service on one machine with no real SaaS. Starts every simulator of the list
 * (simulators.ts) in-process, uses REDIS_URL, else a Redis on 127.0.0.1:6379, else a private redis-server, and
 * runs API and worker (ROLE=all) with the simulators wired in. Anything set in the environment still wins,
 * except each target's connection settings, which always point at its simulator, and the listener: the sandbox has no caller
 * authentication (AUTH_MODE=none), so it only ever listens on 127.0.0.1. Descriptor secrets come from
 * examples/sandbox-secrets/descriptor (DESCRIPTOR_SECRETS_DIR), never from the service's own credentials.
 */
import { fileURLToPath } from 'node:url'
import { loadConfig } from '../config.js'
import { installSignalHandlers, startService } from '../main.js'
import { findOrStartRedis } from './local-redis.js'
import { startSimulators } from './simulators.js'

const simulators = await startSimulators(process.env)
const redis = await findOrStartRedis()
if (redis.started) process.stdout.write(`No Redis on 127.0.0.1:6379: started a private one at ${redis.url}\n`)
// Descriptor secrets come from their own store, apart from the service's credentials (given inline below):
// examples/sandbox-secrets/descriptor, laid out <domain>/<name> and <domain>/<dataProduct>/<name>.
const descriptorSecrets = fileURLToPath(new URL('../../examples/sandbox-secrets/descriptor', import.meta.url))
const env: Record<string, string | undefined> = {
  DESCRIPTOR_SECRETS_DIR: descriptorSecrets,
  ...Object.fromEntries(simulators.flatMap((s) => Object.entries(s.defaults))),
  ...process.env,
  HOST: '127.0.0.1',
  AUTH_MODE: 'none',
  REDIS_URL: redis.url,
  ...Object.fromEntries(simulators.flatMap((s) => Object.entries(s.env)))
}
const config = loadConfig(env)
const service = await startService(config)
const base = `${service.url ?? ''}${config.basePath}`
process.stdout.write([
  '',
  `Sandbox ready: tech adapter at ${base} (API docs at ${base}/docs)`,
  ...simulators.map((s) => s.summary),
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
    await Promise.allSettled(simulators.map(async (s) => await s.close()))
    await redis.stop()
  }
}, (msg) => { process.stdout.write(`${msg}\n`) })
