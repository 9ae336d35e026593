/**
 * Everything a worker process needs, wired from configuration: its Redis connections, the task store,
 * component locks, the shared per-target limiter, the engine and the BullMQ worker.
 */
import { Queue } from 'bullmq'
import { Redis } from 'ioredis'
import type { Logger } from 'pino'
import type { Config } from '../config.js'
import { createHandlerRegistry, type HandlerSetDeps } from '../provisioner/handler-set.js'
import type { SecretStore } from '../secrets/secret-store.js'
import { ComponentLock } from './component-lock.js'
import { createRedisLimiter } from './outbound-limiter.js'
import { TaskEngine } from './task-engine.js'
import { TaskStore } from './task-store.js'
import { ProvisionedRegistry } from './provisioned-registry.js'
import { TASK_QUEUE_NAME } from './task-types.js'
import { startTaskWorker, type TaskWorker } from './task-worker.js'

export interface WorkerRuntime {
  worker: TaskWorker
  close: () => Promise<void>
}

export function startWorkerRuntime (config: Config, secrets: SecretStore, logger: Logger, deps: Pick<HandlerSetDeps, 'fetch'> = {}): WorkerRuntime {
  // Commands wait out a Redis outage (no per-request retry limit): a step's checkpoint must not be dropped.
  const redis = new Redis(config.redisUrl, { maxRetriesPerRequest: null, retryStrategy: (n) => Math.min(n * 200, 2000) })
  redis.on('error', (err) => { logger.debug({ err: err.message }, 'worker store connection error') })
  const queue = new Queue(TASK_QUEUE_NAME, { connection: redis, prefix: config.queuePrefix })
  queue.on('error', (err) => { logger.debug({ err: err.message }, 'worker queue error') })
  const store = new TaskStore(redis, config.queuePrefix, config.taskRetentionSeconds)
  const registry = createHandlerRegistry(config, {
    ...deps,
    limiters: {
      airbyte: createRedisLimiter(redis, `${config.queuePrefix}:limit:airbyte`, {
        max: config.airbyte.maxConcurrentRequests,
        leaseMs: config.airbyte.requestTimeoutMs + 5_000
      })
    }
  })
  const engine = new TaskEngine({
    store,
    lock: new ComponentLock(redis, config.queuePrefix, queue, store),
    provisioned: new ProvisionedRegistry(redis, config.queuePrefix),
    registry,
    secrets,
    logger,
    options: {
      stepRetries: config.stepRetries,
      stepRetryBaseMs: config.stepRetryBaseMs,
      stepRetryMaxMs: config.stepRetryMaxMs,
      componentLockPollMs: config.componentLockPollMs
    }
  })
  const worker = startTaskWorker(engine, store, {
    redisUrl: config.redisUrl,
    prefix: config.queuePrefix,
    concurrency: config.workerConcurrency,
    lockDurationMs: config.workerLockMs,
    stalledIntervalMs: config.workerStalledIntervalMs,
    shutdownGraceMs: config.shutdownGraceMs
  }, logger)
  return {
    worker,
    async close () {
      await worker.close()
      await queue.close().catch(() => {})
      await redis.quit().catch(() => { redis.disconnect() })
    }
  }
}
