/**
 * Runs the BullMQ worker of the task queue in this process: wiring, a watchdog that restarts the worker's loop
 * if it stopped while Redis was away, and graceful shutdown (stop taking jobs, let active steps finish or
 * checkpoint within the grace period, close Redis). Shutdown is bounded even with Redis unreachable: past the
 * grace, in-flight calls are aborted, then the connections dropped; their jobs resume from their checkpoints.
 */
import { DelayedError, Worker, type Job } from 'bullmq'
import type { Logger } from 'pino'
import type { RedisSettings } from '../config-redis.js'
import { quitOrDisconnect, settlesWithin } from './bounded-close.js'
import { createRedisConnection } from './redis-connection.js'
import { RedisKeys } from './redis-keys.js'
import { RedisLogThrottle } from './redis-log-throttle.js'
import type { TaskEngine } from './task-engine.js'
import type { TaskStore } from './task-store.js'
import { TASK_QUEUE_NAME, type TaskJobData } from './task-types.js'
import { bullmqTelemetry } from '../observability/tracing.js'

export interface TaskWorkerOptions {
  redis: RedisSettings
  /** QUEUE_PREFIX, a plain name (keys: src/queue/redis-keys.ts). */
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
  /** Where Redis errors are logged, folded; default one of its own. */
  redisLog?: RedisLogThrottle
}

/** After the grace, how long aborted steps get to hand their jobs back before the connections are dropped, ms. */
const ABORT_SETTLE_MS = 1_500
/** How long a job handed back while this process still runs it waits before it is offered again, ms. */
const RERUN_PARK_MS = 1_000
/** How long a close step that needs Redis may take once the grace is over, ms. */
const CLOSE_STEP_MS = 1_000

export interface TaskWorker {
  worker: Worker<TaskJobData>
  /** Resolves true when BullMQ closed cleanly, false when the connections had to be dropped. */
  close: () => Promise<boolean>
}

export function startTaskWorker (engine: TaskEngine, store: TaskStore, opts: TaskWorkerOptions, logger: Logger): TaskWorker {
  // BullMQ's blocking commands must wait out a Redis outage or failover, not fail.
  const connection = createRedisConnection(opts.redis, 'worker', `${opts.prefix}:worker`)
  const redisLog = opts.redisLog ?? new RedisLogThrottle(logger)
  redisLog.watch(connection, 'worker')
  let active = 0
  const running = new Set<string>()
  const worker = new Worker<TaskJobData>(TASK_QUEUE_NAME, async (job: Job<TaskJobData>, token?: string) => {
    const id = job.id ?? ''
    if (running.has(id)) {
      // Redis was away longer than the job's lock (a failover, an outage): BullMQ took the job for stalled and
      // handed it back while its step still runs here. A second run beside it could repeat a create step before
      // the first one's result is visible; park it until the first run has ended, then it resumes from its
      // checkpoint as any re-delivered job does.
      logger.warn({ task: id }, 'task job handed back while it still runs in this process; parked until that run ends')
      await job.moveToDelayed(Date.now() + RERUN_PARK_MS, token)
      throw new DelayedError()
    }
    running.add(id)
    active++
    try {
      return await engine.process(job, token)
    } finally {
      active--
      running.delete(id)
    }
  }, {
    connection,
    prefix: new RedisKeys(opts.prefix).bullPrefix,
    concurrency: opts.concurrency,
    lockDuration: opts.lockDurationMs,
    stalledInterval: opts.stalledIntervalMs,
    // A job re-delivered after a crash resumes from its checkpoint, so a few stalls are harmless.
    maxStalledCount: 10,
    // With tracing on, each run of a job continues the trace its submission started (job opts carry it).
    telemetry: bullmqTelemetry()
  })
  redisLog.watch(worker, 'task worker')
  worker.on('failed', (job, err) => {
    if (job === undefined) return
    logger.error({ task: job.id, err }, 'task job failed outside its steps')
    const attempts = job.opts.attempts ?? 1
    if (job.attemptsMade >= attempts) {
      engine.ended(job, 'failed')
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
      // BullMQ's close, once started, is the one promise every later close() returns (force included).
      const graceful = worker.close()
      // The grace is for active steps; an idle worker only has its connections to close.
      const busy = active > 0
      if (!await settlesWithin(graceful, busy ? opts.shutdownGraceMs : CLOSE_STEP_MS) && busy) {
        logger.warn('active steps did not finish within the grace period; aborting them, another worker resumes their jobs')
        engine.abortInFlight()
        await settlesWithin(graceful, ABORT_SETTLE_MS)
      }
      const clean = await settlesWithin(graceful, 0)
      if (!clean) {
        logger.warn({ redis: connection.status, activeJobs: active }, 'the task worker cannot close cleanly (Redis unreachable?); dropping its connections')
        engine.abortInFlight()
        // Drops the blocking connection BullMQ made for itself; it waits for an `end` that may never come.
        await settlesWithin(worker.disconnect(), CLOSE_STEP_MS)
        connection.disconnect()
        await settlesWithin(graceful, CLOSE_STEP_MS / 2)
      }
      await quitOrDisconnect(connection, CLOSE_STEP_MS)
      if (opts.redisLog === undefined) redisLog.close()
      return clean
    }
  }
}
