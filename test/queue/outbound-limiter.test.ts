import t from 'tap'
import { Redis } from 'ioredis'
import { createRedisLimiter } from '../../src/queue/outbound-limiter.js'
import { deleteKeys, testRedis, uniquePrefix } from '../helpers/redis-server.js'

const redis = await testRedis()
const prefix = uniquePrefix('limiter')
const a = new Redis(redis.url)
const b = new Redis(redis.url)
const extra: Redis[] = []
t.teardown(async () => {
  await deleteKeys(redis.url, prefix)
  for (const client of [a, b, ...extra]) client.disconnect()
  await redis.stop()
})

/** A connection of its own (a process's), ready, with every command it sends from now on and every reply recorded. */
async function recordedConnection (): Promise<{ client: Redis, sent: string[], replies: unknown[] }> {
  const client = new Redis(redis.url)
  extra.push(client)
  await client.ping()
  const sent: string[] = []
  const replies: unknown[] = []
  const send = client.sendCommand.bind(client)
  client.sendCommand = (command, stream) => {
    sent.push(command.name)
    command.promise.then(reply => { replies.push(reply) }, () => {})
    return send(command, stream)
  }
  return { client, sent, replies }
}

async function until (check: () => Promise<boolean> | boolean, what: string, deadlineMs = 10_000): Promise<void> {
  const deadline = Date.now() + deadlineMs
  while (!await check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`)
    await new Promise(resolve => setTimeout(resolve, 10))
  }
}

function gate (): { open: () => void, opened: Promise<void> } {
  let open: () => void = () => {}
  const opened = new Promise<void>(resolve => { open = resolve })
  return { open, opened }
}

t.test('two processes sharing a limit never exceed it together', async t => {
  const key = `${prefix}:limit:shared`
  const limiters = [createRedisLimiter(a, key, { max: 3, leaseMs: 10_000, pollMaxMs: 5 }), createRedisLimiter(b, key, { max: 3, leaseMs: 10_000, pollMaxMs: 5 })]
  let inFlight = 0
  let peak = 0
  const full = gate()
  const calls = Array.from({ length: 12 }, async (_, i) => await limiters[i % 2]?.run(async () => {
    inFlight++
    peak = Math.max(peak, inFlight)
    if (peak === 3) full.open()
    await full.opened
    await new Promise(resolve => setImmediate(resolve))
    inFlight--
  }))
  await Promise.all(calls)
  t.equal(peak, 3, 'the limit was reached and never exceeded')
  for (const limiter of limiters) await limiter.close()
  t.equal(await a.zcard(key), 0, 'every permit given back once both closed')
})

t.test('a lease left by a dead process stops counting when it expires', async t => {
  const key = `${prefix}:limit:dead`
  const now = Date.now()
  await a.zadd(key, now + 100, 'dead-worker-lease')
  const limiter = createRedisLimiter(b, key, { max: 1, leaseMs: 10_000, pollMaxMs: 10 })
  t.teardown(async () => { await limiter.close() })
  const started = Date.now()
  t.equal(await limiter.run(async () => 'ran'), 'ran')
  t.ok(Date.now() - started >= 90, 'it waited for the dead lease to expire')
})

t.test('steady-state calls reuse the permits held and send Redis nothing', async t => {
  const key = `${prefix}:limit:steady`
  const { client, sent } = await recordedConnection()
  const max = 4
  // No renewal nor idle give-back falls inside the test.
  const limiter = createRedisLimiter(client, key, { max, leaseMs: 600_000, idleMs: 600_000 })
  t.teardown(async () => { await limiter.close() })
  let inFlight = 0
  let peak = 0
  let calls = 0
  for (let round = 0; round < 100; round++) {
    await Promise.all(Array.from({ length: 10 }, async () => await limiter.run(async () => {
      inFlight++
      peak = Math.max(peak, inFlight)
      await new Promise(resolve => setImmediate(resolve))
      inFlight--
      calls++
    })))
  }
  t.equal(calls, 1000)
  t.equal(peak, max, 'the local permits are all used and never exceeded')
  const acquires = sent.filter(name => name === 'evalsha' || name === 'eval').length
  // One acquire per permit; ioredis resends one as EVAL if the server lacks the script (NOSCRIPT).
  t.ok(acquires >= max && acquires <= 2 * max, `one acquire per permit (${acquires})`)
  t.equal(sent.length, acquires, 'no other command: the waiting calls were woken locally')
})

t.test('a freed permit is kept for the idle period, then given back', async t => {
  const key = `${prefix}:limit:idle`
  const limiter = createRedisLimiter(a, key, { max: 2, leaseMs: 10_000, idleMs: 1_000 })
  t.teardown(async () => { await limiter.close() })
  await Promise.all([limiter.run(async () => {}), limiter.run(async () => {})])
  t.equal(await b.zcard(key), 2, 'both permits kept for the next calls')
  await until(async () => await b.zcard(key) === 0, 'the idle permits are given back')
  t.equal(await limiter.run(async () => 'again'), 'again', 'a later call wins a permit anew')
})

t.test('close() fails the calls still waiting and gives back a busy permit when its call ends', async t => {
  const key = `${prefix}:limit:close`
  const limiter = createRedisLimiter(a, key, { max: 2, leaseMs: 10_000, idleMs: 600_000 })
  const busy = gate()
  const running = [limiter.run(async () => { await busy.opened }), limiter.run(async () => { await busy.opened })]
  const waiting = [limiter.run(async () => {}), limiter.run(async () => {})]
    .map(async call => { await t.rejects(call, { code: 'PRV_ERR_LIMITER_CLOSED' }, 'a waiting call fails') })
  await until(async () => await b.zcard(key) === 2, 'both permits are won')
  await limiter.close()
  await Promise.all(waiting)
  t.equal(await b.zcard(key), 2, 'the busy permits are kept for their calls')
  busy.open()
  await Promise.all(running)
  await until(async () => await b.zcard(key) === 0, 'the busy permits are given back when their calls end')
  await t.rejects(limiter.run(async () => {}), { code: 'PRV_ERR_LIMITER_CLOSED' }, 'run after close fails')
})

t.test('a call that throws frees its permit', async t => {
  const key = `${prefix}:limit:throws`
  const limiter = createRedisLimiter(a, key, { max: 1, leaseMs: 10_000 })
  for (let i = 0; i < 3; i++) await t.rejects(limiter.run(async () => { throw new Error('upstream said no') }), { message: 'upstream said no' })
  t.equal(await limiter.run(async () => 'ran'), 'ran', 'the one permit is free again')
  await limiter.close()
  t.equal(await b.zcard(key), 0)
})

t.test('a process that stops renewing loses its permits to another after leaseMs', async t => {
  const key = `${prefix}:limit:stopped`
  const { client } = await recordedConnection()
  const stopped = createRedisLimiter(client, key, { max: 1, leaseMs: 300, idleMs: 600_000 })
  await stopped.run(async () => {})
  // Its connection gone, the process can no longer renew (as when it is killed or its event loop stalls).
  client.disconnect()
  const [permit, expiry] = await b.zrange(key, 0, -1, 'WITHSCORES')
  t.ok(permit !== undefined && expiry !== undefined, 'the idle permit is held in Redis')
  const other = createRedisLimiter(b, key, { max: 1, leaseMs: 10_000, pollMaxMs: 10 })
  t.teardown(async () => { await other.close(); await stopped.close() })
  const ranAt = await other.run(async () => Date.now())
  t.ok(ranAt >= Number(expiry), 'the other process ran only once the permit had expired')
  t.notOk((await b.zrange(key, 0, -1)).includes(permit ?? ''), 'the stopped process no longer holds it')
})

t.test('a permit busy for longer than leaseMs is renewed, so no other process takes it', async t => {
  const key = `${prefix}:limit:renewed`
  const holder = createRedisLimiter(a, key, { max: 1, leaseMs: 200 })
  const other = createRedisLimiter(b, key, { max: 1, leaseMs: 10_000, pollMaxMs: 10 })
  t.teardown(async () => { await holder.close(); await other.close() })
  let holderBusy = true
  let otherRan: Promise<boolean> | undefined
  await holder.run(async () => {
    const [permit, firstExpiry] = await a.zrange(key, 0, -1, 'WITHSCORES')
    otherRan = other.run(async () => holderBusy)
    // Past the expiry the permit was won with, and renewed at least twice since.
    await until(async () => Date.now() > Number(firstExpiry) + 200 && Number(await a.zscore(key, permit ?? '')) > Number(firstExpiry) + 100, 'the lease has been renewed past its first expiry')
    holderBusy = false
  })
  t.equal(await otherRan, false, 'the other process ran only after the holder\'s call ended')
})

t.test('a renewal that finds a permit gone drops it, so the process no longer counts it', async t => {
  const key = `${prefix}:limit:gone`
  const { client, replies } = await recordedConnection()
  const stalled = createRedisLimiter(client, key, { max: 1, leaseMs: 300, idleMs: 600_000 })
  const other = createRedisLimiter(b, key, { max: 1, leaseMs: 10_000, pollMaxMs: 10, idleMs: 20 })
  t.teardown(async () => { await stalled.close(); await other.close() })
  await stalled.run(async () => {})
  const [permit] = await a.zrange(key, 0, -1)
  t.ok(permit !== undefined, 'the idle permit is held in Redis')
  // What another process's acquire does to a permit that expired while its holder's event loop stalled.
  await a.zrem(key, permit ?? '')
  let otherBusy = false
  const otherDone = gate()
  const otherRunning = gate()
  const otherCall = other.run(async () => { otherBusy = true; otherRunning.open(); await otherDone.opened; otherBusy = false })
  await otherRunning.opened
  // A renewal's reply: [other processes contending, the permits it found missing].
  await until(() => replies.some(reply => Array.isArray(reply) && Array.isArray(reply[1]) && reply[1].includes(permit)), 'a renewal reports the permit missing')
  const call = stalled.run(async () => otherBusy)
  otherDone.open()
  await otherCall
  t.equal(await call, false, 'the dropped permit was not handed to a call while the other held the slot')
})

t.test('a process waiting for a permit gets one once the holder goes idle', async t => {
  const key = `${prefix}:limit:fair`
  const holder = createRedisLimiter(a, key, { max: 2, leaseMs: 10_000, idleMs: 50 })
  const waiter = createRedisLimiter(b, key, { max: 2, leaseMs: 10_000, pollMaxMs: 10 })
  t.teardown(async () => { await holder.close(); await waiter.close() })
  let inFlight = 0
  let peak = 0
  const both = gate()
  const busy = gate()
  const track = async <T>(fn: () => Promise<T>): Promise<T> => {
    inFlight++
    peak = Math.max(peak, inFlight)
    try { return await fn() } finally { inFlight-- }
  }
  const held = [0, 1].map(async () => await holder.run(async () => await track(async () => {
    if (inFlight === 2) both.open()
    await busy.opened
  })))
  await both.opened
  let holderDone = false
  const waited = waiter.run(async () => await track(async () => holderDone))
  busy.open()
  await Promise.all(held)
  holderDone = true
  t.equal(await waited, true, 'the waiting process ran after the holder finished')
  t.equal(peak, 2, 'never more than max together')
})

t.test('a process that stays busy yields part of its permits to one Redis keeps refusing', async t => {
  const key = `${prefix}:limit:share`
  // Renewals (which tell the busy process that another waits) every 100 ms.
  const busy = createRedisLimiter(a, key, { max: 2, leaseMs: 300 })
  const refused = createRedisLimiter(b, key, { max: 2, leaseMs: 10_000, pollMaxMs: 10 })
  t.teardown(async () => { await busy.close(); await refused.close() })
  let inFlight = 0
  let peak = 0
  const state = { stopped: false, busyCalls: 0 }
  const track = async <T>(fn: () => Promise<T>): Promise<T> => {
    inFlight++
    peak = Math.max(peak, inFlight)
    try { return await fn() } finally { inFlight-- }
  }
  // Four callers keep both permits of the busy process in use: never idle, never given back on their own.
  const load = Array.from({ length: 4 }, async () => {
    while (!state.stopped) await busy.run(async () => await track(async () => { state.busyCalls++; await new Promise(resolve => setImmediate(resolve)) }))
  })
  await until(() => peak === 2, 'the busy process uses both permits')
  const callsBefore = state.busyCalls
  let ran = false
  const refusedCall = refused.run(async () => await track(async () => { ran = true; return !state.stopped }))
  await until(() => ran, 'the refused process gets a permit while the busy one keeps calling')
  t.ok(await refusedCall, 'it ran while the busy process still had calls to make')
  t.ok(state.busyCalls > callsBefore, 'the busy process kept calling meanwhile')
  state.stopped = true
  await Promise.all(load)
  t.equal(peak, 2, 'never more than max together')
})
