import t from 'tap'
import { Redis } from 'ioredis'
import { TransientUpstreamError } from '../../../src/errors.js'
import {
  AtlanThrottledError, memoryRateGate, pauseWhenThrottled, rateLimitedFetch, redisRateGate, throttleWait
} from '../../../src/provisioner/atlan/atlan-rate-limit.js'
import type { StepContext } from '../../../src/provisioner/handler.js'
import { metricsRegistry } from '../../../src/observability/metrics.js'
import { deleteKeys, testRedis, uniquePrefix } from '../../helpers/redis-server.js'
import { parseExposition, valueOf } from '../../observability/exposition.js'

const redis = await testRedis()
const prefix = uniquePrefix('atlan-rate')
const a = new Redis(redis.url)
const b = new Redis(redis.url)
t.teardown(async () => { await deleteKeys(redis.url, prefix); a.disconnect(); b.disconnect(); await redis.stop() })

t.test('two workers share one per-minute budget', async t => {
  const gates = [redisRateGate(a, `${prefix}:budget`, 5), redisRateGate(b, `${prefix}:budget`, 5)]
  const answers = await Promise.all(Array.from({ length: 8 }, async (_, i) => await gates[i % 2]?.acquire()))
  t.equal(answers.filter((x) => x?.kind === 'ok').length, 5, 'exactly the budget is granted')
  const refused = answers.find((x) => x?.kind === 'full')
  t.ok(refused !== undefined && refused.kind !== 'ok' && refused.waitMs > 0 && refused.waitMs <= 60_000, 'a refusal says when the next slot frees')
})

t.test('a lock-out set by one worker pauses the other, and is never shortened', async t => {
  const key = `${prefix}:lock`
  const one = redisRateGate(a, key, 100)
  const other = redisRateGate(b, key, 100)
  await one.lockOut(30_000)
  await one.lockOut(1_000)
  const answer = await other.acquire()
  t.equal(answer.kind, 'locked')
  t.ok(answer.kind !== 'ok' && answer.waitMs > 20_000, 'the longer lock-out stands')
})

t.test('rateLimitedFetch: a 429 locks out every caller for Retry-After, a minute without it; nothing is sent meanwhile', async t => {
  let now = 1_000_000
  const gate = memoryRateGate(100, () => now)
  let sent = 0
  let answer429: Record<string, string> | undefined = { 'retry-after': '30' }
  const inner: typeof fetch = async () => {
    sent++
    if (answer429 !== undefined) return new Response('{"status":429,"message":"Too many requests"}', { status: 429, headers: answer429 })
    return new Response('{}', { status: 200 })
  }
  const limited = rateLimitedFetch(gate, inner, { maxInlineWaitMs: 0 })
  t.equal((await limited('http://atlan.test/x')).status, 429)
  answer429 = undefined
  const err = await limited('http://atlan.test/x').catch((e: unknown) => e)
  t.ok(err instanceof AtlanThrottledError)
  t.equal(throttleWait(err), 30_000)
  t.equal(sent, 1, 'no request left during the lock-out')
  now += 30_000
  answer429 = {}
  t.equal((await limited('http://atlan.test/x')).status, 429)
  now += 59_000
  t.ok(await limited('http://atlan.test/x').catch((e: unknown) => e) instanceof AtlanThrottledError, 'without Retry-After the pause is a minute')
  now += 1_000
  answer429 = undefined
  t.equal((await limited('http://atlan.test/x')).status, 200)
  t.equal(sent, 3)
})

t.test('a step paused by throttling returns a wait instead of failing; other errors pass through', async t => {
  const ctx = { log: { info: () => {}, warn: () => {}, debug: () => {}, error: () => {} } } as unknown as StepContext<object>
  const throttled = pauseWhenThrottled({ name: 's', run: async () => { throw new AtlanThrottledError('paused', 12_000) } })
  t.same(await throttled.run(ctx), { waitMs: 12_000 })
  const atlan429 = pauseWhenThrottled({ name: 's', run: async () => { throw new TransientUpstreamError('Atlan 429', 429) } })
  t.same(await atlan429.run(ctx), { waitMs: 60_000 })
  const other = pauseWhenThrottled({ name: 's', run: async () => { throw new TransientUpstreamError('Atlan 502', 502) } })
  await t.rejects(other.run(ctx), /502/)
})

t.test('lock-outs and waits on the shared budget show in the upstream metrics of the atlan target', async t => {
  const read = async (name: string): Promise<number> => valueOf(parseExposition(await metricsRegistry.metrics()), name, { target: 'atlan' })
  const before = { waits: await read('tech_adapter_upstream_rate_limit_waits_total'), lockouts: await read('tech_adapter_upstream_lockouts_total') }
  const now = 2_000_000
  const gate = memoryRateGate(1, () => now)
  const limited = rateLimitedFetch(gate, async () => new Response('{}', { status: 429, headers: { 'retry-after': '5' } }), { maxInlineWaitMs: 0 })
  t.equal((await limited('http://atlan.test/x')).status, 429)
  t.ok(await limited('http://atlan.test/x').catch((e: unknown) => e) instanceof AtlanThrottledError)
  t.equal(await read('tech_adapter_upstream_lockouts_total') - before.lockouts, 1, 'one lock-out')
  t.equal(await read('tech_adapter_upstream_rate_limit_waits_total') - before.waits, 1, 'one wait')
})
