/**
 * One-off upgrade step (README, "Redis"): renames the keys an earlier release wrote under `<QUEUE_PREFIX>:...` to
 * this release's hash-tagged `{<QUEUE_PREFIX>}:...`. Reads the same environment as the service. With every API and
 * worker stopped: `node dist/src/migrate-redis-keys.js [--dry-run]`. Exit 0 when done, 1 on an error, 2 when
 * some keys could not be moved because the new name already exists.
 */
import { loadConfig } from './config.js'
import { describeRedis } from './config-redis.js'
import { quitOrDisconnect } from './queue/bounded-close.js'
import { createRedisConnection } from './queue/redis-connection.js'
import { migrateUntaggedKeys } from './queue/redis-key-migration.js'

const dryRun = process.argv.includes('--dry-run')
const config = loadConfig()
const redis = createRedisConnection(config.redis, 'worker', `${config.queuePrefix}:key-migration`)
try {
  const report = await migrateUntaggedKeys(redis, config.queuePrefix, { dryRun })
  process.stdout.write(`${describeRedis(config.redis)}: ${dryRun ? 'would rename' : 'renamed'} ${report.renamed} keys from ${config.queuePrefix}:* to {${config.queuePrefix}}:*\n`)
  for (const key of report.conflicts) process.stdout.write(`left in place (the new name exists already): ${key}\n`)
  process.exitCode = report.conflicts.length > 0 ? 2 : 0
} catch (err) {
  process.stderr.write(`key migration failed: ${err instanceof Error ? err.message : String(err)}\n`)
  process.exitCode = 1
} finally {
  await quitOrDisconnect(redis, 1_000)
}
