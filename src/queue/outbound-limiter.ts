/**
 * A concurrency limit on calls to one target system, shared by every worker process through Redis: a sorted
 * set of permits scored by expiry, so a worker killed mid-call frees what it held when the lease times out.
 * Target clients wrap each HTTP attempt in `run`.
 *
 * Asking Redis for a permit per call cost two round trips per call (a third of a provision's Redis commands), so
 * each process keeps the permits it won and hands them out locally: it asks Redis for one more only when all it
 * holds are busy, keeps a freed one for `idleMs` for the next local call, and renews all it holds in one command
 * every `leaseMs / 3`. It must never count a permit Redis no longer holds for it, nor keep one it no longer needs.
 * A process Redis refuses is noted as contending; while any is, the others learn it at their next renewal and
 * keep to an equal share of `max`, so a process that stays busy cannot starve one that is not.
 */
import { randomUUID } from 'node:crypto'
import type { RedisClient } from './redis-connection.js'

// Drops expired permits, then adds one if fewer than max remain; a process refused is noted as contending until
// ARGV[7]. KEYS: permits, contenders. ARGV: now, expiry, max, permit, key ttl, process id, contending until.
const ACQUIRE = `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[3]) then
  redis.call('ZADD', KEYS[1], ARGV[2], ARGV[4])
  redis.call('PEXPIRE', KEYS[1], ARGV[5])
  redis.call('ZREM', KEYS[2], ARGV[6])
  return 1
end
redis.call('ZADD', KEYS[2], ARGV[7], ARGV[6])
redis.call('PEXPIRE', KEYS[2], ARGV[5])
return 0
`

// Moves the expiry of the permits still in the set and returns how many other processes contend, and the permits
// no longer in the set (another process's acquire removed them once expired). An expired permit still present
// was never counted free by anyone, so renewing it keeps the limit.
// KEYS: permits, contenders. ARGV: now, expiry, key ttl, process id, permits...
const RENEW = `
local missing = {}
for i = 5, #ARGV do
  if redis.call('ZSCORE', KEYS[1], ARGV[i]) then
    redis.call('ZADD', KEYS[1], 'XX', ARGV[2], ARGV[i])
  else
    missing[#missing + 1] = ARGV[i]
  end
end
redis.call('PEXPIRE', KEYS[1], ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[1])
local others = redis.call('ZCARD', KEYS[2])
if redis.call('ZSCORE', KEYS[2], ARGV[4]) then others = others - 1 end
return {others, missing}
`

export interface OutboundLimiter {
  run: <T>(fn: () => Promise<T>) => Promise<T>
  /**
   * Gives back every idle permit (and each busy one as its call ends), fails the calls still waiting and stops
   * the timers. Later `run` calls fail. Call it on shutdown: permits not given back stop counting only after
   * `leaseMs`. It waits for acquisitions already sent, so with Redis away bound it (settlesWithin).
   */
  close: () => Promise<void>
}

export interface RedisLimiterOptions {
  /** Most calls in flight at once across every process. */
  max: number
  /** A permit not renewed within this time (a dead or stalled worker's) stops counting. */
  leaseMs: number
  /** Longest pause between two attempts to win a permit from Redis, ms. Default 100. */
  pollMaxMs?: number
  /** How long a freed permit is kept for the next local call before it is given back, ms. Default 250. */
  idleMs?: number
}

type LeaseScripts = RedisClient & {
  acquireOutboundPermit?: (key: string, contendersKey: string, now: number, expires: number, max: number, permit: string, ttl: number, id: string, contending: number) => Promise<number>
  renewOutboundPermits?: (key: string, contendersKey: string, now: number, expires: number, ttl: number, id: string, ...permits: string[]) => Promise<[number, string[]]>
}

/** `run` on a closed limiter, or a call still waiting for a permit when it closed. */
export class LimiterClosedError extends Error {
  readonly code = 'PRV_ERR_LIMITER_CLOSED'
  constructor () {
    super('the outbound limiter is closed (the worker is shutting down)')
    this.name = 'LimiterClosedError'
  }
}

interface Waiter { resolve: (permit: string) => void, reject: (err: unknown) => void }

/** FIFO without Array#shift's copying, for thousands of waiting calls. */
class WaiterQueue {
  private items: Waiter[] = []
  private head = 0
  get length (): number { return this.items.length - this.head }
  push (waiter: Waiter): void { this.items.push(waiter) }
  shift (): Waiter | undefined {
    if (this.head === this.items.length) return undefined
    const waiter = this.items[this.head++]
    if (this.head === this.items.length) {
      this.items = []
      this.head = 0
    } else if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head)
      this.head = 0
    }
    return waiter
  }
}

class SharedPermits implements OutboundLimiter {
  private readonly id = randomUUID()
  private seq = 0
  /** Every permit this process holds in Redis, busy or idle. */
  private readonly held = new Set<string>()
  /** Held permits no call is using, oldest first; calls take the newest so the oldest age out. */
  private readonly idle: Array<{ permit: string, since: number }> = []
  private readonly waiters = new WaiterQueue()
  /** Acquire scripts in flight, awaited by close. */
  private readonly acquisitions = new Set<Promise<void>>()
  private acquiring = 0
  /** Other processes refused a permit lately, as of the last renewal: while any, this one keeps to its share. */
  private contenders = 0
  private pollAttempt = 0
  private pollTimer: NodeJS.Timeout | undefined
  private idleTimer: NodeJS.Timeout | undefined
  private renewTimer: NodeJS.Timeout | undefined
  private renewing = false
  private closed = false

  private readonly contendersKey: string

  constructor (
    private readonly redis: RedisClient,
    private readonly key: string,
    private readonly opts: Required<RedisLimiterOptions>,
    private readonly acquireScript: NonNullable<LeaseScripts['acquireOutboundPermit']>,
    private readonly renewScript: NonNullable<LeaseScripts['renewOutboundPermits']>
  ) {
    // Same hash tag as the permits' key, so both scripts' keys stay in one Redis Cluster slot.
    this.contendersKey = `${key}:contenders`
  }

  async run<T>(fn: () => Promise<T>): Promise<T> {
    const permit = await this.take()
    try {
      return await fn()
    } finally {
      this.release(permit)
    }
  }

  async close (): Promise<void> {
    if (this.closed) return
    this.closed = true
    clearTimeout(this.pollTimer)
    clearTimeout(this.idleTimer)
    this.pollTimer = undefined
    this.idleTimer = undefined
    const err = new LimiterClosedError()
    for (let waiter = this.waiters.shift(); waiter !== undefined; waiter = this.waiters.shift()) waiter.reject(err)
    // A permit won while closing joins the idle ones: wait for it so the set is clean once close resolves.
    await Promise.all(this.acquisitions)
    await this.giveBack(this.idle.splice(0).map(p => p.permit))
  }

  private async take (): Promise<string> {
    if (this.closed) throw new LimiterClosedError()
    // Never overtake a local call already waiting.
    if (this.waiters.length === 0) {
      const free = this.idle.pop()
      if (free !== undefined) return free.permit
    }
    return await new Promise<string>((resolve, reject) => {
      this.waiters.push({ resolve, reject })
      this.pump()
    })
  }

  private release (permit: string): void {
    // A renewal found it gone (expired while the event loop stalled): it is not ours to hand on.
    if (!this.held.has(permit)) return
    // Keeping permits beyond its share would starve a process that Redis keeps refusing.
    if (this.closed || this.held.size > this.share()) {
      this.giveBack([permit]).catch(() => {})
      return
    }
    const waiter = this.waiters.shift()
    if (waiter !== undefined) {
      waiter.resolve(permit)
      return
    }
    this.idle.push({ permit, since: Date.now() })
    this.armIdleTimer()
  }

  /** Permits this process may hold: `max`, or an equal part of it while other processes are refused. */
  private share (): number {
    return this.contenders === 0 ? this.opts.max : Math.max(1, Math.floor(this.opts.max / (this.contenders + 1)))
  }

  /** Asks Redis for as many more permits as there are calls waiting for one, within its share. */
  private pump (): void {
    while (!this.closed && this.pollTimer === undefined && this.waiters.length > this.acquiring &&
      this.held.size + this.acquiring < this.share()) {
      this.acquiring++
      const acquisition = this.acquireOne().finally(() => { this.acquisitions.delete(acquisition) })
      this.acquisitions.add(acquisition)
    }
  }

  private async acquireOne (): Promise<void> {
    const permit = `${this.id}:${this.seq++}`
    const { leaseMs, max } = this.opts
    let won: number
    try {
      const now = Date.now()
      // Noted as contending for longer than a renewal period, so every holder sees it at its next renewal.
      won = await this.acquireScript.call(this.redis, this.key, this.contendersKey, now, now + leaseMs, max, permit, leaseMs * 2, this.id, now + leaseMs / 2)
    } catch (err) {
      this.acquiring--
      // The call this attempt was for fails, as it did when each call asked Redis itself.
      this.waiters.shift()?.reject(err)
      this.pump()
      return
    }
    this.acquiring--
    if (won !== 1) {
      this.schedulePoll()
      return
    }
    this.pollAttempt = 0
    this.held.add(permit)
    this.startRenewing()
    // Won while closing: close gives it back with the idle ones, in one command.
    if (this.closed) this.idle.push({ permit, since: Date.now() })
    else this.release(permit)
    this.pump()
  }

  // Only a refusal from Redis is polled for; local waiters are woken by release.
  private schedulePoll (): void {
    if (this.closed || this.pollTimer !== undefined) return
    const pause = Math.min(this.opts.pollMaxMs, 5 * 2 ** Math.min(this.pollAttempt++, 5)) * (0.5 + Math.random() / 2)
    this.pollTimer = setTimeout(() => {
      this.pollTimer = undefined
      this.pump()
    }, pause)
  }

  private armIdleTimer (): void {
    const oldest = this.idle[0]
    if (this.idleTimer !== undefined || oldest === undefined) return
    this.idleTimer = setTimeout(() => {
      this.idleTimer = undefined
      this.giveBackIdle()
    }, Math.max(0, oldest.since + this.opts.idleMs - Date.now()))
    this.idleTimer.unref()
  }

  private giveBackIdle (): void {
    const cutoff = Date.now() - this.opts.idleMs
    let stale = 0
    while (stale < this.idle.length && (this.idle[stale]?.since ?? Infinity) <= cutoff) stale++
    this.giveBack(this.idle.splice(0, stale).map(p => p.permit)).catch(() => {})
    this.armIdleTimer()
  }

  private async giveBack (permits: string[]): Promise<void> {
    for (const permit of permits) this.held.delete(permit)
    if (this.held.size === 0) this.stopRenewing()
    if (permits.length === 0) return
    // One that cannot be given back (Redis away) stops counting once its lease expires.
    await this.redis.zrem(this.key, ...permits).catch(() => {})
  }

  private startRenewing (): void {
    if (this.renewTimer !== undefined) return
    this.renewTimer = setInterval(() => { this.renew().catch(() => {}) }, Math.max(1, Math.floor(this.opts.leaseMs / 3)))
    this.renewTimer.unref()
  }

  private stopRenewing (): void {
    clearInterval(this.renewTimer)
    this.renewTimer = undefined
  }

  private async renew (): Promise<void> {
    const permits = [...this.held]
    // With Redis away a worker connection queues commands: one renewal waiting is enough.
    if (permits.length === 0 || this.renewing) return
    this.renewing = true
    const { leaseMs } = this.opts
    let others: number
    let missing: string[]
    try {
      const now = Date.now();
      [others, missing] = await this.renewScript.call(this.redis, this.key, this.contendersKey, now, now + leaseMs, leaseMs * 2, this.id, ...permits)
    } catch {
      // The next renewal tries again; until then the permits keep the expiry they have.
      return
    } finally {
      this.renewing = false
    }
    this.contenders = others
    for (const permit of missing) this.drop(permit)
    const excess = this.held.size - this.share()
    if (excess > 0) this.giveBack(this.idle.splice(0, Math.min(excess, this.idle.length)).map(p => p.permit)).catch(() => {})
    // Busy ones beyond the share are given back as their calls end (release).
    this.pump()
  }

  /** Forgets a permit Redis no longer holds for us; a busy one is then not handed on when its call ends. */
  private drop (permit: string): void {
    if (!this.held.delete(permit)) return
    const at = this.idle.findIndex(p => p.permit === permit)
    if (at >= 0) this.idle.splice(at, 1)
    if (this.held.size === 0) this.stopRenewing()
    this.pump()
  }
}

/** `key`: RedisKeys.limiter(target id). */
export function createRedisLimiter (redis: RedisClient, key: string, opts: RedisLimiterOptions): OutboundLimiter {
  const scripts = redis as LeaseScripts
  // EVALSHA: sending the scripts' text each time was a hot spot.
  if (scripts.acquireOutboundPermit === undefined) redis.defineCommand('acquireOutboundPermit', { numberOfKeys: 2, lua: ACQUIRE })
  if (scripts.renewOutboundPermits === undefined) redis.defineCommand('renewOutboundPermits', { numberOfKeys: 2, lua: RENEW })
  const { acquireOutboundPermit, renewOutboundPermits } = scripts
  if (acquireOutboundPermit === undefined || renewOutboundPermits === undefined) throw new Error('ioredis did not define the permit commands')
  const settings = { max: opts.max, leaseMs: opts.leaseMs, pollMaxMs: opts.pollMaxMs ?? 100, idleMs: opts.idleMs ?? 250 }
  return new SharedPermits(redis, key, settings, acquireOutboundPermit, renewOutboundPermits)
}
