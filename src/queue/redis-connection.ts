/**
 * The one place that opens Redis connections, for every form REDIS_* can choose (one server, a Sentinel-managed
 * primary, a Cluster), with one reconnect policy and the options each use needs. Callers say what the connection
 * is for; they never build ioredis options themselves. Key names live in src/queue/redis-keys.ts.
 */
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis'
import type { RedisSettings } from '../config-redis.js'

/** A connection to whichever Redis is configured; both forms take the same commands. */
export type RedisClient = Redis | Cluster

/**
 * - `api`: request-serving commands. No offline queue and one retry, so an outage answers 503 at once instead of
 *   holding requests; auto-pipelining batches concurrent requests' commands into one write per tick (measured
 *   +60% status and +25% enqueue throughput, npm run bench).
 * - `worker`: the workers' store, queue and BullMQ worker. Commands wait out an outage or a failover (BullMQ
 *   requires `maxRetriesPerRequest: null`; a step's checkpoint must not be dropped either). Auto-pipelined too:
 *   32 concurrent tasks' checkpoints, ledger writes, leases and BullMQ moves go out as one write per tick
 *   instead of one write(2) each (measured +10 % end-to-end throughput, npm run bench). BullMQ's blocking
 *   connection sends nothing but its blocking pop, so no command waits behind one.
 */
export type RedisUse = 'api' | 'worker'

/** Delay before reconnect attempt `attempt` (1, 2, ...), ms: 200 ms more each time, at most 2 s. */
export function reconnectDelayMs (attempt: number): number {
  return Math.min(attempt * 200, 2_000)
}

// After a failover the old primary (or a managed endpoint that moved) answers writes with READONLY: reconnect,
// which asks the sentinels (or DNS) for the new primary, and resend the command (2) instead of failing it.
function reconnectOnReadonly (err: Error): 2 | false {
  return err.message.startsWith('READONLY') ? 2 : false
}

function useOptions (use: RedisUse): Pick<RedisOptions, 'enableOfflineQueue' | 'maxRetriesPerRequest' | 'enableAutoPipelining'> {
  if (use === 'api') return { enableOfflineQueue: false, maxRetriesPerRequest: 1, enableAutoPipelining: true }
  return { maxRetriesPerRequest: null, enableAutoPipelining: true }
}

/**
 * A new connection for `use`; `name` shows in `CLIENT LIST` (`tech-adapter:api`, ...). The caller closes it
 * (src/queue/bounded-close.ts).
 */
export function createRedisConnection (settings: RedisSettings, use: RedisUse, name?: string): RedisClient {
  const common: RedisOptions = {
    ...useOptions(use),
    username: settings.username,
    password: settings.password,
    tls: settings.tls === undefined ? undefined : { ca: settings.tls.ca },
    connectionName: name,
    retryStrategy: reconnectDelayMs,
    reconnectOnError: reconnectOnReadonly
  }
  if (settings.mode === 'cluster') {
    const { enableOfflineQueue, enableAutoPipelining, ...perNode } = common
    const options: ClusterOptions = {
      redisOptions: perNode,
      enableOfflineQueue,
      enableAutoPipelining,
      clusterRetryStrategy: reconnectDelayMs,
      // TLS certificates name the nodes' hostnames; resolving them here would present IPs instead.
      ...(settings.tls === undefined ? {} : { dnsLookup: (address: string, callback: (err: null, address: string) => void) => { callback(null, address) } })
    }
    return new Cluster(settings.nodes, options)
  }
  if (settings.mode === 'sentinel') {
    return new Redis({
      ...common,
      sentinels: settings.sentinels,
      name: settings.name,
      role: 'master',
      sentinelUsername: settings.sentinelUsername,
      sentinelPassword: settings.sentinelPassword,
      enableTLSForSentinelMode: settings.tls !== undefined,
      sentinelTLS: common.tls,
      // Not `failoverDetector`: when +switch-master arrives while the connection is already reconnecting (the
      // primary died), ioredis 5 ends the connection for good and fails every queued command ("Connection is
      // closed"). A dead primary is noticed by the socket; a demoted one answers READONLY (reconnectOnError).
      sentinelRetryStrategy: reconnectDelayMs
    })
  }
  return new Redis(settings.url, common)
}
