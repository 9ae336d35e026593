/**
 * The API's side of Redis: one connection for its commands and one for its BullMQ queue (both of the `api` kind,
 * src/queue/redis-connection.ts: a Redis outage answers 503 at once instead of hanging requests), the queue, the
 * TaskService the routes use and the registry of provisioned components updateacl reads.
 */
import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import { Queue } from 'bullmq'
import type { RedisSettings } from '../config-redis.js'
import { quitOrDisconnect, settlesWithin } from '../queue/bounded-close.js'
import { createRedisConnection, type RedisClient } from '../queue/redis-connection.js'
import { RedisKeys } from '../queue/redis-keys.js'
import { RedisLogThrottle } from '../queue/redis-log-throttle.js'
import { TaskStore } from '../queue/task-store.js'
import { TaskSubmitter } from '../queue/task-submitter.js'
import { TaskService } from '../queue/task-service.js'
import { ProvisionedRegistry } from '../queue/provisioned-registry.js'
import { TASK_QUEUE_NAME } from '../queue/task-types.js'
import { watchQueueCounts, watchRedisUp } from '../observability/metrics.js'
import { TaskObserver } from '../observability/task-audit.js'
import { bullmqTelemetry } from '../observability/tracing.js'

declare module 'fastify' {
  interface FastifyInstance {
    redis: RedisClient
    /** The BullMQ queue of tasks (the operator view reads it). */
    taskQueue: Queue
    tasks: TaskService
    /** The components this adapter provisioned (written by the workers). */
    provisioned: ProvisionedRegistry
  }
}

export interface TaskQueuePluginOptions {
  redis: RedisSettings
  /** QUEUE_PREFIX, a plain name (keys: src/queue/redis-keys.ts). */
  prefix: string
  retentionSeconds: number
  /** How long start-up waits for Redis before serving anyway (readiness answers 503 meanwhile). Default 5000. */
  connectTimeoutMs?: number
}

async function whenReady (connection: RedisClient, timeoutMs: number): Promise<void> {
  if (connection.status === 'ready') return
  await new Promise<void>(resolve => {
    const timer = setTimeout(done, timeoutMs)
    function done (): void { clearTimeout(timer); connection.off('ready', done); resolve() }
    connection.once('ready', done)
  })
}

export default fp(async function taskQueue (app: FastifyInstance, opts: TaskQueuePluginOptions) {
  const keys = new RedisKeys(opts.prefix)
  const redis = createRedisConnection(opts.redis, 'api', `${opts.prefix}:api`)
  const queueConnection = createRedisConnection(opts.redis, 'api', `${opts.prefix}:api-queue`)
  // One throttle for the API's connections: an outage is one warning and periodic summaries, not a line per retry.
  const redisLog = new RedisLogThrottle(app.log)
  redisLog.watch(redis, 'api')
  redisLog.watch(queueConnection, 'api queue connection')
  // Start answering once Redis is connected (or give up waiting after a few seconds and answer 503 until it is).
  await Promise.all([redis, queueConnection].map(async connection => await whenReady(connection, opts.connectTimeoutMs ?? 5000)))
  // With tracing on, the job carries the request's trace context to the worker.
  const queue = new Queue(TASK_QUEUE_NAME, { connection: queueConnection, prefix: keys.bullPrefix, telemetry: bullmqTelemetry() })
  redisLog.watch(queue, 'api queue')
  const store = new TaskStore(redis, keys, opts.retentionSeconds)
  const unwatch = [
    watchRedisUp({ role: 'api', up: () => redis.status === 'ready' && queueConnection.status === 'ready' }),
    watchQueueCounts(queue, () => queueConnection.status === 'ready')
  ]
  app.decorate<RedisClient>('redis', redis)
  app.decorate('taskQueue', queue)
  app.decorate('tasks', new TaskService(new TaskSubmitter(redis, queue, keys, opts.retentionSeconds), store, new TaskObserver(app.log)))
  app.decorate('provisioned', new ProvisionedRegistry(redis, keys))
  app.addHook('onClose', async () => {
    for (const stop of unwatch) stop()
    // Bounded: a Redis that stopped answering (not refusing) would hold QUIT and Queue.close forever.
    await settlesWithin(queue.close(), queueConnection.status === 'ready' ? 1_000 : 0)
    await Promise.all([redis, queueConnection].map(async connection => { await quitOrDisconnect(connection, 1_000) }))
    redisLog.close()
  })
}, { name: 'task-queue', fastify: '5.x' })
