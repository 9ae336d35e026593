/**
 * The shared outbound limiter's own cost (not a test): 10,000 no-op calls at max 64 against a private
 * redis-server: the commands the limiter sent (round trips), the commands Redis ran (INFO's count, which includes
 * those a script runs: the acquire script is 5) and the CPU Redis spent on them.
 *  - burst: all 10,000 calls started at once (9,936 of them wait);
 *  - steady: 64 callers making their share of the calls one after another (never more than max in flight);
 *  - shared: two limiters on two connections (two processes) sharing the key, 64 such callers each, so each
 *    wants all the permits and the one refused polls.
 * Figures include the limiter's close(), when it has one (giving back what it holds).
 *
 *   npx tsx bench/outbound-limiter.ts [limiter module]
 *
 * The module defaults to src/queue/outbound-limiter.ts; to measure an older one, e.g. the per-call leases:
 *   git show d0d8c35:src/queue/outbound-limiter.ts > /tmp/outbound-limiter-before.ts
 *   npx tsx bench/outbound-limiter.ts /tmp/outbound-limiter-before.ts
 * BENCH_CALLS (10000), BENCH_MAX (64), BENCH_REPS (3).
 */
import { resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { Redis } from 'ioredis'
import type { createRedisLimiter as CreateRedisLimiter } from '../src/queue/outbound-limiter.js'
import { startLocalRedis } from '../src/sandbox/local-redis.js'

const CALLS = Number(process.env.BENCH_CALLS ?? 10_000)
const MAX = Number(process.env.BENCH_MAX ?? 64)
const REPS = Number(process.env.BENCH_REPS ?? 3)
const modulePath = process.argv[2]

interface Limiter { run: <T>(fn: () => Promise<T>) => Promise<T>, close?: () => Promise<void> }
type Scenario = (limiters: Limiter[]) => Promise<void>

async function serverCounters (client: Redis): Promise<{ commands: number, cpuMs: number }> {
  const info = await client.info()
  const field = (name: string): number => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1] ?? NaN)
  return { commands: field('total_commands_processed'), cpuMs: (field('used_cpu_user') + field('used_cpu_sys')) * 1000 }
}

async function callers (limiter: Limiter, calls: number): Promise<void> {
  await Promise.all(Array.from({ length: MAX }, async (_, caller) => {
    for (let i = caller; i < calls; i += MAX) await limiter.run(async () => {})
  }))
}

const scenarios: Array<[string, number, Scenario]> = [
  ['burst', 1, async ([limiter]) => { await Promise.all(Array.from({ length: CALLS }, async () => { await limiter?.run(async () => {}) })) }],
  ['steady', 1, async ([limiter]) => { if (limiter !== undefined) await callers(limiter, CALLS) }],
  ['shared', 2, async (limiters) => { await Promise.all(limiters.map(async limiter => { await callers(limiter, CALLS / limiters.length) })) }]
]

const { createRedisLimiter } = await import(modulePath === undefined ? '../src/queue/outbound-limiter.js' : pathToFileURL(resolve(modulePath)).href) as { createRedisLimiter: typeof CreateRedisLimiter }
const redis = await startLocalRedis()
const clients = [new Redis(redis.url), new Redis(redis.url)]
const stats = new Redis(redis.url)
let sent = 0
for (const client of clients) {
  await client.ping()
  const send = client.sendCommand.bind(client)
  client.sendCommand = (command, stream) => { sent++; return send(command, stream) }
}
try {
  console.log(`${modulePath ?? 'src/queue/outbound-limiter.ts'}: ${CALLS} no-op calls, max ${MAX}`)
  for (const [name, processes, scenario] of scenarios) {
    for (let rep = 0; rep < REPS; rep++) {
      const limiters: Limiter[] = clients.slice(0, processes).map(client => createRedisLimiter(client, `bench:limit:${name}:${rep}`, { max: MAX, leaseMs: 35_000 }))
      const before = await serverCounters(stats)
      const sentBefore = sent
      const cpu = process.cpuUsage()
      const started = performance.now()
      await scenario(limiters)
      for (const limiter of limiters) await limiter.close?.()
      const ms = performance.now() - started
      const used = process.cpuUsage(cpu)
      const after = await serverCounters(stats)
      // The first INFO is counted in the second reading.
      const commands = after.commands - before.commands - 1
      const roundTrips = sent - sentBefore
      console.log(`${name.padEnd(6)} ${Math.round(CALLS / ms * 1000).toString().padStart(7)} calls/s  ${ms.toFixed(0).padStart(5)} ms  ` +
        `sent ${roundTrips} (${(roundTrips / CALLS).toFixed(4)}/call)  ` +
        `Redis ran ${commands} (${(commands / CALLS).toFixed(4)}/call) in ${(after.cpuMs - before.cpuMs).toFixed(0)} ms CPU  ` +
        `node: ${((used.user + used.system) / 1000).toFixed(0)} ms CPU`)
    }
  }
} finally {
  for (const client of clients) client.disconnect()
  stats.disconnect()
  await redis.stop()
}
