/**
 * Upgrade of the Redis keys of a release before the hash tag (`<prefix>:...`) to this release's names
 * (`{<prefix>}:...`, src/queue/redis-keys.ts): each key is renamed in place, BullMQ's queue keys included, so tasks
 * in flight, finished tasks still within retention and the provisioned-component records carry over. Run with
 * every API and worker process stopped (a new worker would race it, an old one would write under the old names).
 * Only on one server or a Sentinel primary: the earlier releases could not run on a Cluster.
 */
import { Cluster } from 'ioredis'
import type { RedisClient } from './redis-connection.js'
import { RedisKeys } from './redis-keys.js'

export interface KeyMigrationReport {
  /** Keys renamed (or, in a dry run, that would be). */
  renamed: number
  /** Old keys left in place because the new name already exists (written by this release already). */
  conflicts: string[]
}

export async function migrateUntaggedKeys (redis: RedisClient, queuePrefix: string, opts: { dryRun?: boolean } = {}): Promise<KeyMigrationReport> {
  if (redis instanceof Cluster) throw new Error('the key migration runs on one server or a Sentinel primary, not on a Cluster (earlier releases could not use one)')
  const keys = new RedisKeys(queuePrefix)
  const report: KeyMigrationReport = { renamed: 0, conflicts: [] }
  // The old names start with the bare prefix; the new ones with `{`, so the pattern never matches a migrated key.
  const pattern = `${queuePrefix}:*`
  let cursor = '0'
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000)
    cursor = next
    for (const old of batch) {
      const renamed = `${keys.tagged}${old.slice(queuePrefix.length)}`
      if (opts.dryRun === true) {
        if (await redis.exists(renamed) === 1) report.conflicts.push(old)
        else report.renamed++
      } else if (await redis.renamenx(old, renamed) === 1) {
        report.renamed++
      } else {
        report.conflicts.push(old)
      }
    }
  } while (cursor !== '0')
  return report
}
