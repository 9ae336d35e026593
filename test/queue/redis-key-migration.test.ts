import t from 'tap'
import { Queue } from 'bullmq'
import { Redis } from 'ioredis'
import { migrateUntaggedKeys } from '../../src/queue/redis-key-migration.js'
import { ProvisionedRegistry } from '../../src/queue/provisioned-registry.js'
import { RedisKeys } from '../../src/queue/redis-keys.js'
import { TaskStore } from '../../src/queue/task-store.js'
import { TASK_QUEUE_NAME } from '../../src/queue/task-types.js'
import { deleteKeys, testRedis, uniquePrefix } from '../helpers/redis-server.js'

const server = await testRedis()
const redis = new Redis(server.url, { maxRetriesPerRequest: null })
t.teardown(async () => { redis.disconnect(); await server.stop() })

const TOKEN = '7d3c4c1e-5a0b-4e51-9a43-0c2f6f1d8a10'
const COMPONENT = 'urn:dmb:cmp:finance:cashflow:0:orders'

/** What an earlier release left: its task, log, component FIFO and registry keys and a waiting BullMQ job, untagged. */
async function earlierRelease (prefix: string): Promise<void> {
  const old = new Queue(TASK_QUEUE_NAME, { connection: redis, prefix })
  await old.add('provision', { kind: 'provision', token: TOKEN }, { jobId: TOKEN })
  await old.close()
  await redis.hset(`${prefix}:task:${TOKEN}`, { kind: 'provision', status: 'RUNNING', result: 'Task accepted', createdAt: new Date().toISOString() })
  await redis.rpush(`${prefix}:task:${TOKEN}:logs`, JSON.stringify({ timestamp: new Date().toISOString(), level: 'INFO', message: 'accepted' }))
  await redis.zadd(`${prefix}:component:${COMPONENT}`, 1, TOKEN)
  await redis.hset(`${prefix}:provisioned:urn:dmb:cmp:finance:cashflow:0:older`, { handler: 'airbyte', token: TOKEN, provisionedAt: '2026-01-01T00:00:00.000Z' })
  await redis.set(`${prefix}:seq`, '41')
}

t.test('the keys of a release before the hash tag are renamed in place: tasks, registry and queued jobs carry over', async t => {
  const prefix = uniquePrefix('key-migration')
  t.teardown(async () => { await deleteKeys(server.url, prefix) })
  await earlierRelease(prefix)
  const keys = new RedisKeys(prefix)
  const oldCount = (await redis.keys(`${prefix}:*`)).length

  const dry = await migrateUntaggedKeys(redis, prefix, { dryRun: true })
  t.same(dry, { renamed: oldCount, conflicts: [] }, 'a dry run counts')
  t.equal((await redis.keys(keys.everyKey)).length, 0, 'and renames nothing')

  t.same(await migrateUntaggedKeys(redis, prefix), { renamed: oldCount, conflicts: [] })
  t.same(await redis.keys(`${prefix}:*`), [], 'no key left under the old names')
  const store = new TaskStore(redis, keys, 60)
  t.match(await store.get(TOKEN), { kind: 'provision', status: 'RUNNING', logs: [{ message: 'accepted' }] }, 'the task answers status polls under its new name')
  t.match(await new ProvisionedRegistry(redis, keys).get('urn:dmb:cmp:finance:cashflow:0:older'), { handlerId: 'airbyte' }, 'the provisioned record is kept')
  t.same(await redis.zrange(keys.componentQueue(COMPONENT), 0, -1), [TOKEN], 'the component FIFO is kept')
  t.equal(await redis.get(keys.sequence), '41', 'the arrival counter continues')
  const queue = new Queue(TASK_QUEUE_NAME, { connection: redis, prefix: keys.bullPrefix })
  t.teardown(async () => { await queue.close() })
  t.equal(await queue.getWaitingCount(), 1, 'the waiting job is in the new queue')
  t.same((await queue.getJob(TOKEN))?.data, { kind: 'provision', token: TOKEN })

  t.same(await migrateUntaggedKeys(redis, prefix), { renamed: 0, conflicts: [] }, 'running it again changes nothing')
})

t.test('a key whose new name exists already is left in place and reported, never overwritten', async t => {
  const prefix = uniquePrefix('key-migration-conflict')
  t.teardown(async () => { await deleteKeys(server.url, prefix) })
  const keys = new RedisKeys(prefix)
  await redis.set(`${prefix}:seq`, '5')
  await redis.set(keys.sequence, '9')
  await redis.set(`${prefix}:dedupe:abc`, TOKEN)
  t.same(await migrateUntaggedKeys(redis, prefix), { renamed: 1, conflicts: [`${prefix}:seq`] })
  t.equal(await redis.get(keys.sequence), '9', 'the new key is untouched')
  t.equal(await redis.get(`${prefix}:seq`), '5', 'the old one is still there to look at')
  t.equal(await redis.get(keys.dedupe('abc')), TOKEN)
})
