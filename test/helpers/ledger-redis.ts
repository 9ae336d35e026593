/**
 * A real Redis with resource ledgers under a key prefix of the test file's own, cleaned up when the file ends:
 * what the provision-cost tests of every handler need to run steps against the service's durable records.
 */
import type { Test } from 'tap'
import { Redis } from 'ioredis'
import { RedisKeys } from '../../src/queue/redis-keys.js'
import { RedisResourceLedgers } from '../../src/queue/resource-ledger.js'
import { deleteKeys, testRedis, uniquePrefix } from './redis-server.js'

export interface LedgerRedis {
  redis: Redis
  keys: RedisKeys
  ledgers: RedisResourceLedgers
}

export async function ledgerRedis (t: Test, name: string): Promise<LedgerRedis> {
  const server = await testRedis()
  const prefix = uniquePrefix(name)
  const redis = new Redis(server.url)
  const keys = new RedisKeys(prefix)
  t.teardown(async () => {
    await deleteKeys(server.url, prefix)
    redis.disconnect()
    await server.stop()
  })
  return { redis, keys, ledgers: new RedisResourceLedgers(redis, keys) }
}
