import t from 'tap'
import { Redis } from 'ioredis'
import { createRedisLimiter } from '../../src/queue/outbound-limiter.js'
import { deleteKeys, testRedis, uniquePrefix } from '../helpers/redis-server.js'

const redis = await testRedis()
const prefix = uniquePrefix('limiter')
const a = new Redis(redis.url)
const b = new Redis(redis.url)
t.teardown(async () => { await deleteKeys(redis.url, prefix); a.disconnect(); b.disconnect(); await redis.stop() })

t.test('two processes sharing a limit never exceed it together', async t => {
  const key = `${prefix}:limit:shared`
  const limiters = [createRedisLimiter(a, key, { max: 3, leaseMs: 10_000, pollMaxMs: 5 }), createRedisLimiter(b, key, { max: 3, leaseMs: 10_000, pollMaxMs: 5 })]
  let inFlight = 0
  let peak = 0
  let release: () => void = () => {}
  const gate = new Promise<void>(resolve => { release = resolve })
  const calls = Array.from({ length: 12 }, async (_, i) => await limiters[i % 2]?.run(async () => {
    inFlight++
    peak = Math.max(peak, inFlight)
    if (peak === 3) release()
    await gate
    await new Promise(resolve => setImmediate(resolve))
    inFlight--
  }))
  await Promise.all(calls)
  t.equal(peak, 3, 'the limit was reached and never exceeded')
  t.equal(await a.zcard(key), 0, 'every lease released')
})

t.test('a lease left by a dead process stops counting when it expires', async t => {
  const key = `${prefix}:limit:dead`
  const now = Date.now()
  await a.zadd(key, now + 100, 'dead-worker-lease')
  const limiter = createRedisLimiter(b, key, { max: 1, leaseMs: 10_000, pollMaxMs: 10 })
  const started = Date.now()
  t.equal(await limiter.run(async () => 'ran'), 'ran')
  t.ok(Date.now() - started >= 90, 'it waited for the dead lease to expire')
})
