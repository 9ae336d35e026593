import t from 'tap'
import { randomUUID } from 'node:crypto'
import { Redis } from 'ioredis'
import { RedisKeys } from '../../src/queue/redis-keys.js'
import { logEntry, MAX_LOG_ENTRIES, TaskStore } from '../../src/queue/task-store.js'
import { deleteKeys, testRedis, uniquePrefix } from '../helpers/redis-server.js'

const redis = await testRedis()
const prefix = uniquePrefix('task-store')
const client = new Redis(redis.url)
const keys = new RedisKeys(prefix)
const store = new TaskStore(client, keys, 60)
t.teardown(async () => { await deleteKeys(redis.url, prefix); client.disconnect(); await redis.stop() })

const entries = (from: number, n: number): ReturnType<typeof logEntry>[] => Array.from({ length: n }, (_, i) => logEntry('INFO', `line ${from + i}`))

t.test('a task log is capped at MAX_LOG_ENTRIES, keeping the newest, whichever write passes the cap', async t => {
  const token = randomUUID()
  await store.appendLogs(token, entries(0, MAX_LOG_ENTRIES - 10))
  t.equal(await client.llen(store.logsKey(token)), MAX_LOG_ENTRIES - 10, 'under the cap: nothing trimmed')
  await store.saveCheckpoint(token, 'urn:c', { handlerId: 'airbyte', status: 'pending', state: {}, retries: 0 }, entries(MAX_LOG_ENTRIES - 10, 25))
  t.equal(await client.llen(store.logsKey(token)), MAX_LOG_ENTRIES)
  const last = JSON.parse(await client.lindex(store.logsKey(token), -1) ?? '{}') as { message: string }
  const first = JSON.parse(await client.lindex(store.logsKey(token), 0) ?? '{}') as { message: string }
  t.equal(last.message, `line ${MAX_LOG_ENTRIES + 14}`)
  t.equal(first.message, 'line 15', 'the oldest went')
  await store.appendLogs(token, entries(5000, 3))
  t.equal(await client.llen(store.logsKey(token)), MAX_LOG_ENTRIES)
  t.equal(JSON.parse(await client.hget(store.checkpointsKey(token), 'urn:c') ?? '{}').handlerId, 'airbyte', 'the checkpoint was written with them')
})
