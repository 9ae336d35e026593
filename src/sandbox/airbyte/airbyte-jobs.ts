/**
 * Airbyte jobs without timers: each job records when it started and how it will end, and its status is derived
 * from the clock whenever it is read (pending for the first ~10% of the run, then running, then terminal).
 * The table is a Map so tests can inspect it directly; every read path refreshes the jobs it returns.
 * Knows nothing about HTTP or connections beyond the connection id.
 */

export const JOB_STATUSES = ['pending', 'queued', 'running', 'incomplete', 'succeeded', 'failed', 'cancelled'] as const
export type JobStatus = typeof JOB_STATUSES[number]
export const TERMINAL_JOB_STATUSES: readonly JobStatus[] = ['succeeded', 'failed', 'cancelled']

export const JOB_TYPES = ['sync', 'reset', 'clear'] as const
export type JobType = typeof JOB_TYPES[number]

export interface JobResponse {
  /** An int64, not a uuid. */
  jobId: number
  status: JobStatus
  jobType: JobType
  /** ISO-8601 instant. */
  startTime: string
  connectionId: string
  /** Terminal jobs only. */
  lastUpdatedAt?: string
  /** Terminal jobs only; ISO-8601 duration such as `PT2S`. */
  duration?: string
  bytesSynced?: number
  rowsSynced?: number
}

export interface JobPlan {
  connectionId: string
  jobType: JobType
  durationMs: number
  outcome: 'succeeded' | 'failed'
  /** Airbyte reports `incomplete` while it retries a failed attempt; the job is still alive. */
  passesIncomplete: boolean
  /** Rows reported on success. */
  rows: number
}

interface JobTimeline extends JobPlan {
  startedAtMs: number
  cancelledAtMs?: number
}

/** Bytes reported per synced row; only needs to be plausible and non-zero. */
const BYTES_PER_ROW = 256

export class JobTable extends Map<number, JobResponse> {
  readonly #timelines = new Map<number, JobTimeline>()
  #lastJobId = 0

  start (plan: JobPlan): JobResponse {
    const jobId = ++this.#lastJobId
    const startedAtMs = Date.now()
    this.#timelines.set(jobId, { ...plan, startedAtMs })
    const job: JobResponse = {
      jobId,
      status: 'pending',
      jobType: plan.jobType,
      startTime: new Date(startedAtMs).toISOString(),
      connectionId: plan.connectionId
    }
    super.set(jobId, job)
    this.#refresh(job)
    return job
  }

  /** Cancels a live job; answers undefined when the job has already ended. */
  cancel (jobId: number): JobResponse | undefined {
    const job = this.get(jobId)
    const timeline = this.#timelines.get(jobId)
    if (job === undefined || timeline === undefined || TERMINAL_JOB_STATUSES.includes(job.status)) return undefined
    timeline.cancelledAtMs = Date.now()
    this.#refresh(job)
    return job
  }

  /** The job on this connection that has not ended yet, if any. */
  liveJobOf (connectionId: string): JobResponse | undefined {
    for (const job of this.values()) {
      if (job.connectionId === connectionId && !TERMINAL_JOB_STATUSES.includes(job.status)) return job
    }
    return undefined
  }

  override get (jobId: number): JobResponse | undefined {
    const job = super.get(jobId)
    if (job !== undefined) this.#refresh(job)
    return job
  }

  override values () {
    this.#refreshAll()
    return super.values()
  }

  override entries () {
    this.#refreshAll()
    return super.entries()
  }

  override [Symbol.iterator] () {
    return this.entries()
  }

  override forEach (callback: (job: JobResponse, jobId: number, map: Map<number, JobResponse>) => void, thisArg?: unknown): void {
    this.#refreshAll()
    super.forEach(callback, thisArg)
  }

  #refreshAll (): void {
    for (const job of super.values()) this.#refresh(job)
  }

  #refresh (job: JobResponse): void {
    const timeline = this.#timelines.get(job.jobId)
    if (timeline === undefined || TERMINAL_JOB_STATUSES.includes(job.status)) return
    const now = Date.now()
    if (timeline.cancelledAtMs !== undefined) {
      finish(job, 'cancelled', timeline.cancelledAtMs - timeline.startedAtMs, 0)
      return
    }
    const elapsed = now - timeline.startedAtMs
    const { durationMs } = timeline
    if (elapsed >= durationMs) {
      finish(job, timeline.outcome, durationMs, timeline.outcome === 'succeeded' ? timeline.rows : 0)
    } else if (elapsed < durationMs * 0.1) {
      job.status = 'pending'
    } else if (timeline.passesIncomplete && elapsed >= durationMs * 0.4 && elapsed < durationMs * 0.6) {
      job.status = 'incomplete'
    } else {
      job.status = 'running'
    }
  }
}

function finish (job: JobResponse, status: JobStatus, elapsedMs: number, rows: number): void {
  job.status = status
  job.lastUpdatedAt = new Date(Date.parse(job.startTime) + elapsedMs).toISOString()
  job.duration = isoDuration(elapsedMs)
  job.rowsSynced = rows
  job.bytesSynced = rows * BYTES_PER_ROW
}

/** ISO-8601 duration as Airbyte prints it: `PT2S`, `PT1M5S`, `PT0.2S`. */
export function isoDuration (ms: number): string {
  const hours = Math.floor(ms / 3_600_000)
  const minutes = Math.floor((ms % 3_600_000) / 60_000)
  const seconds = Math.round(ms % 60_000) / 1000
  let out = 'PT'
  if (hours > 0) out += `${hours}H`
  if (minutes > 0) out += `${minutes}M`
  if (seconds > 0 || out === 'PT') out += `${seconds}S`
  return out
}
