/**
 * A concurrency limit on calls to one target system, shared by every worker process through Redis: a sorted
 * set of leases scored by expiry, so a worker killed mid-call frees its lease when the lease times out.
 * Target clients wrap each HTTP attempt in `run`.
 */
import { randomUUID } from 'node:crypto'
import type { RedisClient } from './redis-connection.js'

const ACQUIRE = `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[3]) then
  redis.call('ZADD', KEYS[1], ARGV[2], ARGV[4])
  redis.call('PEXPIRE', KEYS[1], ARGV[5])
  return 1
end
return 0
`

export interface OutboundLimiter {
  run: <T>(fn: () => Promise<T>) => Promise<T>
}

export interface RedisLimiterOptions {
  /** Most calls in flight at once across every process. */
  max: number
  /** A lease not released within this time (a dead worker's) stops counting. */
  leaseMs: number
  /** Longest pause between two acquisition attempts, ms. Default 100. */
  pollMaxMs?: number
}

type LeaseRedis = RedisClient & { acquireOutboundLease?: (key: string, now: number, expires: number, max: number, lease: string, ttl: number) => Promise<number> }

/** `key`: RedisKeys.limiter(target id). */
export function createRedisLimiter (redis: RedisClient, key: string, opts: RedisLimiterOptions): OutboundLimiter {
  const pollMaxMs = opts.pollMaxMs ?? 100
  const leases = redis as LeaseRedis
  // EVALSHA: every outbound call acquires a lease, and sending the script's text each time was a hot spot.
  if (leases.acquireOutboundLease === undefined) redis.defineCommand('acquireOutboundLease', { numberOfKeys: 1, lua: ACQUIRE })
  const acquireOnce = leases.acquireOutboundLease
  if (acquireOnce === undefined) throw new Error('ioredis did not define the lease command')
  const acquire = async (lease: string): Promise<void> => {
    for (let attempt = 0; ; attempt++) {
      const now = Date.now()
      const ok = await acquireOnce.call(redis, key, now, now + opts.leaseMs, opts.max, lease, opts.leaseMs * 2)
      if (ok === 1) return
      const pause = Math.min(pollMaxMs, 5 * 2 ** Math.min(attempt, 5)) * (0.5 + Math.random() / 2)
      await new Promise(resolve => setTimeout(resolve, pause))
    }
  }
  return {
    async run<T>(fn: () => Promise<T>): Promise<T> {
      const lease = randomUUID()
      await acquire(lease)
      try {
        return await fn()
      } finally {
        await redis.zrem(key, lease).catch(() => {})
      }
    }
  }
}
