/**
 * The process's Prometheus registry and every series it exports (prom-client). Names and labels are fixed
 * (README, "Observability"): the Grafana dashboard and the alert rules under deploy/ query exactly these.
 * Label values are closed sets or route templates, never an id, a name or a secret. Values that live in Redis
 * (queue depth, connection state) are read at scrape time from the sources the running roles register here.
 * It reads; it never changes what it measures.
 */
import type { JobType } from 'bullmq'
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'

/** One registry per process: the API and the worker of a ROLE=all process export into the same one. */
export const metricsRegistry = new Registry()

const PREFIX = 'tech_adapter_'
const HTTP_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
const UPSTREAM_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]
// Tasks run from a second (a validation) to hours (a long first sync).
const TASK_BUCKETS = [0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 10800]
// A provision that finds its resources by id makes 4-10 calls; one that lists a large workspace, hundreds.
const CALLS_BUCKETS = [0, 1, 2, 4, 6, 8, 10, 15, 20, 30, 50, 100, 250, 1000]

const registers = [metricsRegistry]

export const httpRequests = new Counter({
  name: `${PREFIX}http_requests_total`, help: 'HTTP requests served, by route template, method and status code.', labelNames: ['route', 'method', 'status_code'] as const, registers
})
export const httpRequestDuration = new Histogram({
  name: `${PREFIX}http_request_duration_seconds`, help: 'Time to answer an HTTP request, by route template and method.', labelNames: ['route', 'method'] as const, buckets: HTTP_BUCKETS, registers
})

export const tasksSubmitted = new Counter({
  name: `${PREFIX}tasks_submitted_total`, help: 'Tasks accepted, by operation and handler.', labelNames: ['operation', 'handler'] as const, registers
})
export const tasksFinished = new Counter({
  name: `${PREFIX}tasks_finished_total`, help: 'Tasks ended, by operation, handler and outcome (completed | failed).', labelNames: ['operation', 'handler', 'outcome'] as const, registers
})
export const taskDuration = new Histogram({
  name: `${PREFIX}task_duration_seconds`, help: 'Time from a task\'s submission to its end, waits included.', labelNames: ['operation', 'handler', 'outcome'] as const, buckets: TASK_BUCKETS, registers
})

export const upstreamRequests = new Counter({
  name: `${PREFIX}upstream_requests_total`, help: 'Calls to a target (each attempt), by target, operation template and status class (2xx..5xx, network).', labelNames: ['target', 'operation', 'status_class'] as const, registers
})
export const upstreamRequestDuration = new Histogram({
  name: `${PREFIX}upstream_request_duration_seconds`, help: 'Time of one attempt of a call to a target.', labelNames: ['target', 'operation'] as const, buckets: UPSTREAM_BUCKETS, registers
})
export const upstreamRetries = new Counter({
  name: `${PREFIX}upstream_retries_total`, help: 'Attempts repeated in-process after a transient failure.', labelNames: ['target', 'operation'] as const, registers
})
export const upstreamRateLimitWaits = new Counter({
  name: `${PREFIX}upstream_rate_limit_waits_total`, help: 'Waits a target asked for (429, or Retry-After on 503).', labelNames: ['target'] as const, registers
})
export const upstreamLockouts = new Counter({
  name: `${PREFIX}upstream_lockouts_total`, help: 'Times a target shut us out for longer than an in-process wait (the step is rescheduled), or answered 423.', labelNames: ['target'] as const, registers
})
export const upstreamTokenRefreshes = new Counter({
  name: `${PREFIX}upstream_token_refreshes_total`, help: 'Token requests to a target\'s token endpoint, by outcome (success | failure).', labelNames: ['target', 'outcome'] as const, registers
})
export const upstreamCallsPerComponent = new Histogram({
  name: `${PREFIX}upstream_calls_per_component`, help: 'Calls (attempts) made to a target for one component\'s provision, unprovision or access update, observed when it ends.', labelNames: ['target', 'operation', 'outcome'] as const, buckets: CALLS_BUCKETS, registers
})

// ---------------------------------------------------------------- read at scrape time

/** A Redis connection whose state the process reports (`role`: api, api-queue, worker, ...). */
export interface RedisUpSource { role: string, up: () => boolean }

/** BullMQ's O(1) job counts of the task queue. */
export interface QueueCountsSource { getJobCounts: (...states: JobType[]) => Promise<Record<string, number>> }

const redisSources = new Set<RedisUpSource>()
const queueSources = new Map<QueueCountsSource, () => boolean>()
/** Tasks this process last saw waiting for another task's component, with when it saw them. */
const waitingTasks = new Map<string, number>()
let waitingForgetMs = 10_000

/** Reports a connection's state as tech_adapter_redis_up{role}; returns the unregister function. */
export function watchRedisUp (source: RedisUpSource): () => void {
  redisSources.add(source)
  return () => { redisSources.delete(source) }
}

/**
 * Makes `queue` a source of tech_adapter_queue_jobs, read only while `connected()` (a worker's commands wait out
 * an outage instead of failing, and a scrape must not); returns the unregister function.
 */
export function watchQueueCounts (queue: QueueCountsSource, connected: () => boolean): () => void {
  queueSources.set(queue, connected)
  return () => { queueSources.delete(queue) }
}

/**
 * A waiting task re-polls every COMPONENT_LOCK_POLL_MS, on any worker: an entry not renewed within a few poll
 * intervals has moved on (or is being polled by another worker) and stops counting here.
 */
export function setWaitingForget (pollMs: number): void { waitingForgetMs = Math.max(10_000, pollMs * 3) }

export function taskWaiting (token: string, waiting: boolean): void {
  if (waiting) waitingTasks.set(token, Date.now())
  else waitingTasks.delete(token)
}

export const tasksWaitingOnComponent = new Gauge({
  name: `${PREFIX}tasks_waiting_on_component`,
  help: 'Tasks waiting for another task to finish with one of their components (as seen by this process).',
  registers,
  collect () {
    const cutoff = Date.now() - waitingForgetMs
    for (const [token, at] of waitingTasks) if (at < cutoff) waitingTasks.delete(token)
    this.set(waitingTasks.size)
  }
})

export const redisUp = new Gauge({
  name: `${PREFIX}redis_up`,
  help: 'Whether this process\'s Redis connection of a role is ready (1) or not (0).',
  labelNames: ['role'] as const,
  registers,
  collect () {
    this.reset()
    const byRole = new Map<string, boolean>()
    for (const source of redisSources) byRole.set(source.role, (byRole.get(source.role) ?? true) && source.up())
    for (const [role, up] of byRole) this.set({ role }, up ? 1 : 0)
  }
})

export const QUEUE_STATES = ['waiting', 'active', 'delayed', 'failed'] as const
/** Concurrent and close-together scrapes share one read of the counts. */
const COUNTS_FRESH_MS = 1_500
/** A scrape never waits longer than this for the counts. */
const COUNTS_TIMEOUT_MS = 1_000
let counts: { at: number, value: Promise<Record<string, number> | undefined> } | undefined

async function readCounts (queue: QueueCountsSource): Promise<Record<string, number> | undefined> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<undefined>(resolve => { timer = setTimeout(() => { resolve(undefined) }, COUNTS_TIMEOUT_MS) })
  try {
    return await Promise.race([queue.getJobCounts(...QUEUE_STATES), timeout])
  } catch {
    return undefined
  } finally {
    clearTimeout(timer)
  }
}

/** Drops the shared read, so the next scrape reads the counts again (bench/metrics-scrape.ts measures that cost). */
export function forgetQueueCounts (): void { counts = undefined }

async function queueCounts (): Promise<Record<string, number> | undefined> {
  // A Redis outage must not fail or stall the scrape: the series is left out and tech_adapter_redis_up says why.
  const queue = [...queueSources].find(([, connected]) => connected())?.[0]
  if (queue === undefined) return undefined
  if (counts === undefined || Date.now() - counts.at > COUNTS_FRESH_MS) counts = { at: Date.now(), value: readCounts(queue) }
  return await counts.value
}

export const queueJobs = new Gauge({
  name: `${PREFIX}queue_jobs`,
  help: 'Jobs of the task queue by state (waiting, active, delayed, failed), read from BullMQ at scrape time.',
  labelNames: ['state'] as const,
  registers,
  async collect () {
    this.reset()
    const value = await queueCounts()
    if (value === undefined) return
    for (const state of QUEUE_STATES) this.set({ state }, value[state] ?? 0)
  }
})

let processMetrics = false
/** prom-client's process and Node metrics (event-loop lag, heap, RSS, CPU), unprefixed; once per process. */
export function collectProcessMetrics (): void {
  if (processMetrics) return
  processMetrics = true
  collectDefaultMetrics({ register: metricsRegistry })
}

/** The exposition text of every series. */
export async function scrapeMetrics (): Promise<{ contentType: string, body: string }> {
  collectProcessMetrics()
  return { contentType: metricsRegistry.contentType, body: await metricsRegistry.metrics() }
}
