/**
 * The real task engine over BullMQ and real Redis, driving one handler: what the queue tests need to prove an
 * engine property (checkpoints, dependencies, bytes written) without the HTTP layer or a target. Everything it
 * starts, and every key under its prefix, goes at the test's teardown.
 */
import type { Test } from 'tap'
import { pino } from 'pino'
import { Queue } from 'bullmq'
import { Redis } from 'ioredis'
import type { Handler } from '../../src/provisioner/handler.js'
import { HandlerRegistry } from '../../src/provisioner/handler-registry.js'
import { createSecretStore } from '../../src/secrets/secret-store.js'
import { ComponentLock } from '../../src/queue/component-lock.js'
import { RedisKeys } from '../../src/queue/redis-keys.js'
import { TaskEngine } from '../../src/queue/task-engine.js'
import { TaskStore } from '../../src/queue/task-store.js'
import { TaskSubmitter } from '../../src/queue/task-submitter.js'
import { startTaskWorker } from '../../src/queue/task-worker.js'
import { TASK_QUEUE_NAME } from '../../src/queue/task-types.js'
import { deleteKeys, testRedis, uniquePrefix, type TestRedis } from './redis-server.js'

export interface EngineStackOptions {
  /** A server of the test's own (stopped at teardown). Default the shared test Redis. */
  redisServer?: TestRedis
  /** Jobs the worker runs at once. Default 2. */
  concurrency?: number
  /** BullMQ lock and stalled-check interval, ms. Default 5000. */
  lockDurationMs?: number
}

export interface EngineStack {
  redis: Redis
  keys: RedisKeys
  store: TaskStore
  submitter: TaskSubmitter
}

export async function startEngineStack (t: Test, name: string, handler: Handler, opts: EngineStackOptions = {}): Promise<EngineStack> {
  const redisServer = opts.redisServer ?? await testRedis()
  const prefix = uniquePrefix(name)
  const redis = new Redis(redisServer.url, { maxRetriesPerRequest: null })
  const keys = new RedisKeys(prefix)
  const queue = new Queue(TASK_QUEUE_NAME, { connection: redis, prefix: keys.bullPrefix })
  const logger = pino({ level: 'silent' })
  const store = new TaskStore(redis, keys, 600)
  const engine = new TaskEngine({
    store,
    lock: new ComponentLock(redis, keys, queue, store),
    registry: new HandlerRegistry([handler]),
    secrets: createSecretStore({ env: {} }),
    logger,
    options: { stepRetries: 0, stepRetryBaseMs: 10, stepRetryMaxMs: 10, componentLockPollMs: 50 }
  })
  const lockMs = opts.lockDurationMs ?? 5000
  const worker = startTaskWorker(engine, store, {
    redis: { mode: 'standalone', url: redisServer.url }, prefix, concurrency: opts.concurrency ?? 2, lockDurationMs: lockMs, stalledIntervalMs: lockMs, shutdownGraceMs: 1000
  }, logger)
  t.teardown(async () => {
    await worker.close()
    await queue.close()
    await deleteKeys(redisServer.url, prefix)
    redis.disconnect()
    await redisServer.stop()
  })
  return { redis, keys, store, submitter: new TaskSubmitter(redis, queue, keys, 600) }
}
