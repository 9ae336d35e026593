/**
 * Everything a worker process needs, wired from configuration: its Redis connections, the task store,
 * component locks, the shared per-target limiter, the engine and the BullMQ worker.
 */
import { Queue } from 'bullmq'
import type { Logger } from 'pino'
import type { Config } from '../config.js'
import { createHandlerRegistry, type HandlerSetDeps } from '../provisioner/handler-set.js'
import type { SecretStore } from '../secrets/secret-store.js'
import { quitOrDisconnect, settlesWithin } from './bounded-close.js'
import { ComponentLock } from './component-lock.js'
import { createRedisLimiter, type OutboundLimiter } from './outbound-limiter.js'
import { createRedisConnection } from './redis-connection.js'
import { RedisKeys } from './redis-keys.js'
import { RedisLogThrottle } from './redis-log-throttle.js'
import { TaskEngine } from './task-engine.js'
import { TaskStore } from './task-store.js'
import { ProvisionedRegistry } from './provisioned-registry.js'
import { RedisResourceLedgers } from './resource-ledger.js'
import { TASK_QUEUE_NAME } from './task-types.js'
import { startTaskWorker, type TaskWorker } from './task-worker.js'
import { watchQueueCounts, watchRedisUp } from '../observability/metrics.js'
import { TaskObserver } from '../observability/task-audit.js'
import { bullmqTelemetry } from '../observability/tracing.js'

export interface WorkerRuntime {
  worker: TaskWorker
  /** Redis answers a PING within a second and the worker's loop is running (the worker's readiness). */
  ready: () => Promise<boolean>
  close: () => Promise<void>
}

export function startWorkerRuntime (config: Config, secrets: SecretStore, logger: Logger, deps: Pick<HandlerSetDeps, 'fetch' | 'scrubber'> = {}): WorkerRuntime {
  const keys = new RedisKeys(config.queuePrefix)
  // Commands wait out a Redis outage or failover: a step's checkpoint must not be dropped.
  const redis = createRedisConnection(config.redis, 'worker', `${config.queuePrefix}:worker-store`)
  // One throttle for every connection of the worker role: an outage is one warning, not one per retry each.
  const redisLog = new RedisLogThrottle(logger)
  redisLog.watch(redis, 'worker store')
  // The Queue on a connection of its own: BullMQ loads its ~50 Lua commands onto the connection it is given, and
  // ioredis copies every loaded command into each pipeline the store's auto-pipelining builds, one per tick
  // (measured: 4 % of the worker's CPU, npm run bench).
  const queueConnection = createRedisConnection(config.redis, 'worker', `${config.queuePrefix}:worker-queue`)
  redisLog.watch(queueConnection, 'worker queue connection')
  const queue = new Queue(TASK_QUEUE_NAME, { connection: queueConnection, prefix: keys.bullPrefix, telemetry: bullmqTelemetry() })
  redisLog.watch(queue, 'worker queue')
  const store = new TaskStore(redis, keys, config.taskRetentionSeconds)
  const sections = config.handlers as Record<string, unknown>
  // Closed at shutdown, so the permits this process holds go back at once instead of when their lease runs out.
  const limiters: OutboundLimiter[] = []
  const registry = createHandlerRegistry(config, {
    ...deps,
    // Hash-tagged like every own key, so a module's multi-key scripts stay in one Redis Cluster slot.
    shared: { redis, keyPrefix: keys.tagged },
    limiterFor: (module) => {
      const limits = module.outboundLimits(sections[module.id])
      const limiter = createRedisLimiter(redis, keys.limiter(module.id), { max: limits.maxConcurrent, leaseMs: limits.leaseMs })
      limiters.push(limiter)
      return limiter
    }
  })
  const engine = new TaskEngine({
    store,
    lock: new ComponentLock(redis, keys, queue, store),
    provisioned: new ProvisionedRegistry(redis, keys),
    ledgers: new RedisResourceLedgers(redis, keys),
    registry,
    secrets,
    logger,
    observer: new TaskObserver(logger),
    options: {
      stepRetries: config.stepRetries,
      stepRetryBaseMs: config.stepRetryBaseMs,
      stepRetryMaxMs: config.stepRetryMaxMs,
      componentLockPollMs: config.componentLockPollMs
    }
  })
  const worker = startTaskWorker(engine, store, {
    redis: config.redis,
    prefix: config.queuePrefix,
    concurrency: config.workerConcurrency,
    lockDurationMs: config.workerLockMs,
    stalledIntervalMs: config.workerStalledIntervalMs,
    shutdownGraceMs: config.shutdownGraceMs,
    redisLog
  }, logger)
  const unwatch = [
    watchRedisUp({ role: 'worker', up: () => redis.status === 'ready' && queueConnection.status === 'ready' }),
    watchQueueCounts(queue, () => queueConnection.status === 'ready')
  ]
  return {
    worker,
    async ready () {
      if (!worker.worker.isRunning()) return false
      let timer: NodeJS.Timeout | undefined
      const ok = await Promise.race([
        redis.ping().then(() => true, () => false),
        new Promise<boolean>(resolve => { timer = setTimeout(() => { resolve(false) }, 1000) })
      ])
      clearTimeout(timer)
      return ok
    },
    async close () {
      for (const stop of unwatch) stop()
      const clean = await worker.close()
      await registry.close()
      // Each step bounded: with Redis away, Queue.close and QUIT would wait for it forever. If the worker could
      // not close cleanly, Redis is not answering this process: drop the connection at once.
      const ms = clean ? 1_000 : 0
      await settlesWithin(Promise.all(limiters.map(async (limiter) => { await limiter.close() })), ms)
      await settlesWithin(queue.close(), ms)
      for (const connection of [redis, queueConnection]) {
        if (clean) await quitOrDisconnect(connection, ms)
        else connection.disconnect()
      }
      redisLog.close()
    }
  }
}
