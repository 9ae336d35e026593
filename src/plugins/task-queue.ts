/**
 * The API's side of Redis: one ioredis connection (offline queue off, so a Redis outage answers 503 at once
 * instead of hanging requests), the BullMQ queue and the TaskService the routes use.
 */
import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import { Queue } from 'bullmq'
import { Redis } from 'ioredis'
import { TaskStore } from '../queue/task-store.js'
import { TaskSubmitter } from '../queue/task-submitter.js'
import { TaskService } from '../queue/task-service.js'
import { TASK_QUEUE_NAME } from '../queue/task-types.js'

declare module 'fastify' {
  interface FastifyInstance {
    redis: Redis
    tasks: TaskService
  }
}

export interface TaskQueuePluginOptions {
  redisUrl: string
  prefix: string
  retentionSeconds: number
}

export default fp(async function taskQueue (app: FastifyInstance, opts: TaskQueuePluginOptions) {
  const redisOptions = {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    retryStrategy: (n: number) => Math.min(n * 200, 2000)
  }
  const redis = new Redis(opts.redisUrl, redisOptions)
  const queueConnection = new Redis(opts.redisUrl, redisOptions)
  for (const connection of [redis, queueConnection]) {
    connection.on('error', (err) => { app.log.debug({ err: err.message }, 'redis connection error') })
  }
  const queue = new Queue(TASK_QUEUE_NAME, { connection: queueConnection, prefix: opts.prefix })
  queue.on('error', (err) => { app.log.debug({ err: err.message }, 'queue error') })
  const store = new TaskStore(redis, opts.prefix, opts.retentionSeconds)
  app.decorate('redis', redis)
  app.decorate('tasks', new TaskService(new TaskSubmitter(redis, queue, opts.prefix, opts.retentionSeconds), store))
  app.addHook('onClose', async () => {
    await queue.close().catch(() => {})
    for (const connection of [redis, queueConnection]) await connection.quit().catch(() => { connection.disconnect() })
  })
}, { name: 'task-queue', fastify: '5.x' })
