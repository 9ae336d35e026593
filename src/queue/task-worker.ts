/**
 * Runs the BullMQ worker of the task queue in this process: wiring, a watchdog that restarts the worker's loop
 * if it stopped while Redis was away, and graceful shutdown (stop taking jobs, let active steps finish or
 * checkpoint within the grace period, close Redis).
 */
import { Worker, type Job } from 'bullmq'
import { Redis } from 'ioredis'
import type { Logger } from 'pino'
import type { TaskEngine } from './task-engine.js'
import type { TaskStore } from './task-store.js'
import { TASK_QUEUE_NAME, type TaskJobData } from './task-types.js'

export interface TaskWorkerOptions {
  redisUrl: string
  prefix: string
  /** Jobs run at once by this process. */
  concurrency: number
  /** BullMQ lock duration, ms: a job whose worker died is taken over after about this long. Default 30000. */
  lockDurationMs: number
  /** How often stalled jobs are looked for, ms. Default 30000. */
  stalledIntervalMs: number
  /** How long close() waits for active jobs, ms. */
  shutdownGraceMs: number
  /** Watchdog period, ms. Default 5000. */
  watchdogMs?: number
}

export interface TaskWorker {
  worker: Worker<TaskJobData>
  close: () => Promise<void>
}

export function startTaskWorker (engine: TaskEngine, store: TaskStore, opts: TaskWorkerOptions, logger: Logger): TaskWorker {
  // maxRetriesPerRequest null: BullMQ's blocking commands must wait out a Redis outage, not fail.
  const connection = new Redis(opts.redisUrl, { maxRetriesPerRequest: null, retryStrategy: (n) => Math.min(n * 200, 2000) })
  connection.on('error', (err) => { logger.debug({ err: err.message }, 'worker redis connection error') })
  const worker = new Worker<TaskJobData>(TASK_QUEUE_NAME, async (job: Job<TaskJobData>, token?: string) => await engine.process(job, token), {
    connection,
    prefix: opts.prefix,
    concurrency: opts.concurrency,
    lockDuration: opts.lockDurationMs,
    stalledInterval: opts.stalledIntervalMs,
    // A job re-delivered after a crash resumes from its checkpoint, so a few stalls are harmless.
    maxStalledCount: 10
  })
  worker.on('error', (err) => { logger.warn({ err: err.message }, 'task worker error') })
  worker.on('failed', (job, err) => {
    if (job === undefined) return
    logger.error({ task: job.id, err }, 'task job failed outside its steps')
    const attempts = job.opts.attempts ?? 1
    if (job.attemptsMade >= attempts) {
      store.finish(job.data.token, { status: 'FAILED', result: 'internal error while running the task; the service log has the details' })
        .catch((e: unknown) => { logger.error({ err: e }, 'cannot record task failure') })
    }
  })
  let closing = false
  const watchdog = setInterval(() => {
    if (closing || worker.isRunning()) return
    logger.warn('task worker loop had stopped; restarting it')
    worker.run().catch((err: unknown) => { logger.error({ err }, 'task worker loop ended') })
  }, opts.watchdogMs ?? 5000)
  watchdog.unref()

  return {
    worker,
    async close () {
      closing = true
      clearInterval(watchdog)
      engine.stop()
      const graceful = worker.close()
      if (!await settlesWithin(graceful, opts.shutdownGraceMs)) {
        logger.warn('active steps did not finish within the grace period; aborting them, another worker resumes their jobs')
        engine.abortInFlight()
        if (!await settlesWithin(graceful, 5_000)) await worker.close(true)
      }
      await connection.quit().catch(() => { connection.disconnect() })
    }
  }
}

async function settlesWithin (promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined
  const timedOut = new Promise<boolean>(resolve => { timer = setTimeout(() => { resolve(false) }, ms) })
  const settled = await Promise.race([promise.then(() => true, () => true), timedOut])
  clearTimeout(timer)
  return settled
}
