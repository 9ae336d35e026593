/**
 * `/jobs`: start, read, list and cancel sync / clear jobs. There is no idempotency key in Airbyte: the 409
 * `try-again-later` on a busy connection is the only guard against a duplicate sync, and clients find the
 * running job through the list filter. Job timing itself lives in the job table.
 */
import { optionalEnum, requireBody, requireString } from './airbyte-http.js'
import { JOB_STATUSES, JOB_TYPES, type JobResponse } from './airbyte-jobs.js'
import { paginate, queryList } from './airbyte-paging.js'
import { badRequest, resourceNotFound, stateConflict, tryAgainLater } from './airbyte-problems.js'
import type { RouteContext, SimulatorRoute } from './airbyte-router.js'

const ORDER_BY = /^(createdAt|updatedAt)\|(ASC|DESC)$/

function requireConnection (ctx: RouteContext, connectionId: string): void {
  if (!ctx.store.connections.has(connectionId)) throw resourceNotFound('connection', connectionId)
}

function findJob (ctx: RouteContext): JobResponse {
  const raw = ctx.params.jobId as string
  if (!/^\d+$/.test(raw)) throw badRequest(`jobId must be an integer; got ${JSON.stringify(raw)}`)
  const job = ctx.store.jobs.get(Number(raw))
  if (job === undefined) throw resourceNotFound('job', raw)
  return job
}

function readFilter<T extends string> (query: URLSearchParams, name: string, allowed: readonly T[]): T | undefined {
  const value = query.get(name)
  if (value === null || value === '') return undefined
  return optionalEnum({ [name]: value }, name, allowed)
}

function sortKey (job: JobResponse, field: string): number {
  // Job ids increase with creation time, so they order by createdAt without clock ties.
  if (field === 'createdAt') return job.jobId
  return Date.parse(job.lastUpdatedAt ?? job.startTime)
}

export const jobRouteTable: SimulatorRoute[] = [
  {
    method: 'POST',
    path: '/jobs',
    handle: (ctx) => {
      const body = requireBody(ctx.body)
      const connectionId = requireString(body, 'connectionId')
      const jobType = optionalEnum(body, 'jobType', JOB_TYPES)
      if (jobType === undefined) throw badRequest('jobType is required')
      requireConnection(ctx, connectionId)
      if (ctx.store.jobs.liveJobOf(connectionId) !== undefined) {
        throw tryAgainLater(`A sync is already running for: ${connectionId}`)
      }
      const streams = ctx.store.connections.get(connectionId)?.configurations.streams.length ?? 0
      const isSync = jobType === 'sync'
      const job = ctx.store.jobs.start({
        connectionId,
        jobType,
        durationMs: ctx.settings.syncDurationMs,
        outcome: isSync && ctx.faults.failSyncs === true ? 'failed' : 'succeeded',
        passesIncomplete: isSync && ctx.faults.incompleteFirst === true,
        rows: isSync ? ctx.settings.rowsPerStream * streams : 0
      })
      return { status: 200, body: job }
    }
  },
  {
    method: 'GET',
    path: '/jobs',
    handle: (ctx) => {
      const connectionId = ctx.query.get('connectionId')
      if (connectionId !== null && connectionId !== '') requireConnection(ctx, connectionId)
      const status = readFilter(ctx.query, 'status', JOB_STATUSES)
      const jobType = readFilter(ctx.query, 'jobType', JOB_TYPES)
      const workspaceIds = queryList(ctx.query, 'workspaceIds')
      const orderBy = ctx.query.get('orderBy') ?? 'createdAt|DESC'
      const order = ORDER_BY.exec(orderBy)
      if (order === null) throw badRequest(`orderBy must look like createdAt|DESC or updatedAt|ASC; got ${orderBy}`)
      const [, field = 'createdAt', direction] = order
      const jobs = [...ctx.store.jobs.values()]
        .filter((job) => connectionId === null || connectionId === '' || job.connectionId === connectionId)
        .filter((job) => status === undefined || job.status === status)
        .filter((job) => jobType === undefined || job.jobType === jobType)
        .filter((job) => workspaceIds.length === 0 ||
          workspaceIds.includes(ctx.store.connections.get(job.connectionId)?.workspaceId ?? ''))
        .sort((a, b) => (sortKey(a, field) - sortKey(b, field)) * (direction === 'DESC' ? -1 : 1))
      return { status: 200, body: paginate(jobs, ctx.query, ctx.selfUrl) }
    }
  },
  {
    method: 'GET',
    path: '/jobs/:jobId',
    handle: (ctx) => ({ status: 200, body: findJob(ctx) })
  },
  {
    method: 'DELETE',
    path: '/jobs/:jobId',
    handle: (ctx) => {
      const job = findJob(ctx)
      const cancelled = ctx.store.jobs.cancel(job.jobId)
      if (cancelled === undefined) {
        throw stateConflict(`Job ${job.jobId} is already ${job.status} and cannot be cancelled.`)
      }
      return { status: 200, body: cancelled }
    }
  }
]
