/**
 * Running an Airbyte job (a sync at provision, a clear at unprovision) as two steps: start it, then wait for
 * it without holding a worker slot. Airbyte has no idempotency key: the job id is recorded the moment it is
 * known, a re-run adopts the recorded job, and a 409 "already running" adopts the job that is running.
 */
import { PermanentUpstreamError } from '../../errors.js'
import type { Step, StepContext } from '../handler.js'
import { TERMINAL_JOB_STATUSES, type JobResponse } from './airbyte-client.js'
import { clientFor, specificOf, type AirbyteHandlerDeps, type AirbyteState, type TrackedJob } from './airbyte-state.js'

type Ctx = StepContext<AirbyteState>
type JobKind = 'sync' | 'clear'

/** Why no job of this kind should run in this task, or undefined when it should. */
function skipReason (kind: JobKind, ctx: Ctx): string | undefined {
  if (kind === 'clear') {
    if (!ctx.removeData) return 'data left in place in the destination (removeData is false)'
    if (ctx.state.connectionId === undefined) return 'no connection: nothing to clear'
    return undefined
  }
  const { connection } = specificOf(ctx.component)
  if (connection.syncOnProvision === false) return 'no sync started (syncOnProvision is false)'
  if (connection.status === 'inactive') return 'no sync started (the connection is inactive)'
  return undefined
}

export function jobSteps (deps: AirbyteHandlerDeps, kind: JobKind): Array<Step<AirbyteState>> {
  return [
    { name: `start-${kind}`, run: async (ctx) => await startJob(deps, ctx, kind) },
    { name: `wait-${kind}`, run: async (ctx) => await waitJob(deps, ctx, kind) }
  ]
}

async function startJob (deps: AirbyteHandlerDeps, ctx: Ctx, kind: JobKind): Promise<{ waitMs: number } | undefined> {
  const skip = skipReason(kind, ctx)
  if (skip !== undefined) {
    ctx.log.info(skip)
    return undefined
  }
  if (ctx.state.job?.jobType === kind) {
    ctx.log.info(`${kind} job ${ctx.state.job.jobId} was started earlier in this task: following it`)
    return undefined
  }
  const connectionId = ctx.state.connectionId
  if (connectionId === undefined) throw new Error('the connection was not recorded: the connection step must run first')
  const client = clientFor(deps, ctx.signal)

  const started = await client.startJob(connectionId, kind, ctx.signal)
  if ('job' in started) {
    track(ctx, started.job, kind)
    ctx.log.info(`${kind} job ${started.job.jobId} started`)
    return undefined
  }
  const running = await client.findRunningJob(connectionId, kind, ctx.signal)
  if (running !== undefined) {
    track(ctx, running, kind)
    ctx.log.info(`a ${kind} job was already running on the connection: following job ${running.jobId}`)
    return undefined
  }
  if (kind === 'clear') {
    // A sync in progress blocks the clear; the connection is being removed, so the sync has no future.
    const sync = await client.findRunningJob(connectionId, 'sync', ctx.signal)
    if (sync !== undefined) {
      await client.cancelJob(sync.jobId, ctx.signal)
      ctx.log.warn(`sync job ${sync.jobId} was running; cancelled it so the connection can be cleared`)
    }
  }
  const now = Date.now()
  const since = ctx.state.jobStartBlockedSince ?? now
  ctx.state.jobStartBlockedSince = since
  if (now - since > deps.config.syncTimeoutMs) {
    throw new PermanentUpstreamError(`Airbyte kept refusing to start a ${kind} job for ${duration(now - since)}: ${started.message}`)
  }
  ctx.log.info(`Airbyte refused to start a ${kind} job (${started.message}) and no ${kind} job is running; trying again`)
  return { waitMs: deps.config.syncPollMinMs }
}

function track (ctx: Ctx, job: JobResponse, kind: JobKind): void {
  ctx.state.job = { jobId: job.jobId, jobType: kind, watchedSince: Date.now(), status: job.status }
  ctx.state.jobStartBlockedSince = undefined
}

async function waitJob (deps: AirbyteHandlerDeps, ctx: Ctx, kind: JobKind): Promise<{ waitMs: number } | undefined> {
  const tracked = ctx.state.job
  if (tracked === undefined || tracked.jobType !== kind) return undefined
  const job = await clientFor(deps, ctx.signal).getJob(tracked.jobId, ctx.signal)
  const previous = tracked.status
  const next: TrackedJob = { ...tracked, status: job.status, rowsSynced: job.rowsSynced, bytesSynced: job.bytesSynced }
  ctx.state.job = next

  if (job.status === 'succeeded') {
    const rows = job.rowsSynced === undefined ? '' : `, ${job.rowsSynced} rows`
    const bytes = job.bytesSynced === undefined ? '' : `, ${job.bytesSynced} bytes`
    ctx.log.info(`${kind} job ${job.jobId} succeeded${rows}${bytes}`)
    return undefined
  }
  if (TERMINAL_JOB_STATUSES.includes(job.status)) {
    throw new PermanentUpstreamError(`${kind} job ${job.jobId} ${job.status} in Airbyte; its logs are in the Airbyte UI`)
  }
  const waited = Date.now() - tracked.watchedSince
  if (waited > deps.config.syncTimeoutMs) {
    throw new PermanentUpstreamError(
      `${kind} job ${job.jobId} did not finish within ${duration(deps.config.syncTimeoutMs)} (still ${job.status}); it was left running in Airbyte`)
  }
  // `incomplete` means an attempt failed and Airbyte retries it: keep waiting.
  const { syncPollMinMs, syncPollMaxMs } = deps.config
  next.pollMs = tracked.pollMs === undefined ? syncPollMinMs : Math.min(Math.round(tracked.pollMs * 1.5), syncPollMaxMs)
  const say = `${kind} job ${job.jobId} is ${job.status}; next check in ${duration(next.pollMs)}`
  if (previous === job.status) ctx.log.debug(say)
  else ctx.log.info(say)
  return { waitMs: next.pollMs }
}

function duration (ms: number): string {
  if (ms < 1000) return `${ms} ms`
  if (ms < 120_000) return `${Math.round(ms / 1000)} s`
  if (ms < 7_200_000) return `${Math.round(ms / 60_000)} min`
  return `${Math.round(ms / 360_000) / 10} h`
}
