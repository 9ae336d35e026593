/**
 * Atlan's per-tenant limit (ATLAN_RATE_LIMIT_PER_MINUTE, 400 by default) shared by every worker: a sliding
 * one-minute window in Redis, taken atomically in a Lua script on Redis's own clock, and a lock-out key that
 * any 429 sets (for its Retry-After, a minute when absent) so every Atlan call of every worker pauses until it
 * ends. It wraps `fetch`, so no request leaves during a lock-out, the token call included. A long pause is
 * thrown as an AtlanThrottledError (a 429-shaped transient error); `pauseWhenThrottled` turns it into a step's
 * `{ waitMs }`, so throttling parks the job instead of holding a worker slot and never fails a task.
 */
import { setTimeout as delay } from 'node:timers/promises'
import { TransientUpstreamError } from '../../errors.js'
import { parseRetryAfter } from '../../outbound/upstream-http.js'
import { lockedOut, rateLimitWaited } from '../../observability/upstream-telemetry.js'
import type { RedisClient } from '../../queue/redis-connection.js'
import type { Step, StepContext, StepOutcome } from '../handler.js'

/** What the tenant's window allows right now. */
export type GateAnswer = { kind: 'ok' } | { kind: 'locked' | 'full', waitMs: number }

export interface AtlanRateGate {
  /** Takes one request from the minute's budget, unless locked out or spent. */
  acquire: () => Promise<GateAnswer>
  /** Pauses every caller for `ms` (never shortens a longer lock-out already set). */
  lockOut: (ms: number) => Promise<void>
}

/** A lock-out without Retry-After lasts a minute, as Atlan's does. */
export const DEFAULT_LOCKOUT_MS = 60_000
const WINDOW_MS = 60_000

const ACQUIRE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local locked = redis.call('PTTL', KEYS[2])
if locked > 0 then return {1, locked} end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - ${WINDOW_MS})
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[1]) then
  redis.call('ZADD', KEYS[1], now, ARGV[2])
  redis.call('PEXPIRE', KEYS[1], ${WINDOW_MS + 1000})
  return {0, 0}
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return {2, math.max(1, tonumber(oldest[2]) + ${WINDOW_MS} - now)}
`

const LOCK_OUT = `
if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[1]) then
  redis.call('SET', KEYS[1], '1', 'PX', ARGV[1])
end
return 1
`

let sequence = 0

/** The gate shared through Redis: `<prefix>:window` (sorted set of request times) and `<prefix>:lockout`. */
export function redisRateGate (redis: RedisClient, keyPrefix: string, perMinute: number): AtlanRateGate {
  const windowKey = `${keyPrefix}:window`
  const lockKey = `${keyPrefix}:lockout`
  const unavailable = (err: unknown): never => {
    throw new TransientUpstreamError('the Atlan rate limiter (Redis) is unavailable; the call was not sent', undefined, undefined, { cause: err })
  }
  return {
    acquire: async () => {
      const member = `${process.pid}:${Date.now()}:${sequence++}:${Math.random()}`
      const [code, waitMs] = await (redis.eval(ACQUIRE, 2, windowKey, lockKey, perMinute, member) as Promise<[number, number]>).catch(unavailable)
      if (code === 0) return { kind: 'ok' }
      return { kind: code === 1 ? 'locked' : 'full', waitMs }
    },
    lockOut: async (ms) => {
      await redis.eval(LOCK_OUT, 1, lockKey, Math.max(1, Math.ceil(ms))).catch(unavailable)
    }
  }
}

/** The same rules in one process (the API role's validate calls, tools): no sharing. */
export function memoryRateGate (perMinute: number, now: () => number = Date.now): AtlanRateGate {
  const window: number[] = []
  let lockedUntil = 0
  return {
    acquire: async () => {
      const t = now()
      if (t < lockedUntil) return { kind: 'locked', waitMs: lockedUntil - t }
      while (window.length > 0 && (window[0] as number) <= t - WINDOW_MS) window.shift()
      if (window.length < perMinute) {
        window.push(t)
        return { kind: 'ok' }
      }
      return { kind: 'full', waitMs: Math.max(1, (window[0] as number) + WINDOW_MS - t) }
    },
    lockOut: async (ms) => { lockedUntil = Math.max(lockedUntil, now() + ms) }
  }
}

/** Atlan calls are paused: shaped as a 429 so every layer treats it as throttling, never as a failure. */
export class AtlanThrottledError extends TransientUpstreamError {
  constructor (message: string, waitMs: number) {
    super(message, 429, waitMs)
  }
}

export interface RateLimitedFetchOptions {
  /** A pause up to this long is waited in-process; a longer one is thrown. Default 2000. */
  maxInlineWaitMs?: number
}

/** `fetch` that takes the shared budget before each request and turns every 429 into a shared lock-out. */
export function rateLimitedFetch (gate: AtlanRateGate, inner: typeof fetch, opts: RateLimitedFetchOptions = {}): typeof fetch {
  const maxInline = opts.maxInlineWaitMs ?? 2000
  return async (input, init) => {
    for (;;) {
      const answer = await gate.acquire()
      if (answer.kind === 'ok') break
      rateLimitWaited('atlan')
      if (answer.waitMs <= maxInline) {
        await delay(answer.waitMs, undefined, { signal: init?.signal ?? undefined })
        continue
      }
      const seconds = Math.ceil(answer.waitMs / 1000)
      throw new AtlanThrottledError(answer.kind === 'locked'
        ? `Atlan calls are paused for ${seconds} s: the tenant's rate limit was hit`
        : `the shared budget of Atlan requests for this minute is spent; the next one is free in ${seconds} s`, answer.waitMs)
    }
    const res = await inner(input, init)
    if (res.status === 429) {
      lockedOut('atlan')
      await gate.lockOut(parseRetryAfter(res.headers) ?? DEFAULT_LOCKOUT_MS)
    }
    return res
  }
}

/** Is this a throttling pause (ours, or Atlan's 429 handed on by the HTTP layer)? */
export function throttleWait (err: unknown): number | undefined {
  if (!(err instanceof TransientUpstreamError) || err.upstreamStatus !== 429) return undefined
  return err.retryAfterMs ?? DEFAULT_LOCKOUT_MS
}

/** The step, with a throttling pause returned as `{ waitMs }`: the job parks in BullMQ, no retry is spent. */
export function pauseWhenThrottled<S extends object> (step: Step<S>): Step<S> {
  return {
    name: step.name,
    run: async (ctx: StepContext<S>): Promise<StepOutcome> => {
      try {
        return await step.run(ctx)
      } catch (err) {
        const waitMs = throttleWait(err)
        if (waitMs === undefined) throw err
        ctx.log.info(`Atlan rate limit: every Atlan call is paused; resuming in ${Math.ceil(waitMs / 1000)} s`)
        return { waitMs }
      }
    }
  }
}
