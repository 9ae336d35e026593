/**
 * Typed client of the Airbyte public REST API on top of upstream-http. It owns the API's
 * quirks (pagination, non-unique names, 409 on a busy connection, 404 on delete) and no provisioning policy.
 */
import { ConfigError, PermanentUpstreamError } from '../../errors.js'
import type { AirbyteConfig } from './airbyte-config.js'
import { basicAuth, noAuth, oauthClientCredentials, staticBearer, type CredentialProvider } from '../../outbound/credential-provider.js'
import { SecretScrubber } from '../../secrets/secret-scrubber.js'
import { createUpstreamHttp, type ConcurrencyLimiter, type UpstreamClassifier, type UpstreamHttp, type UpstreamProblem } from '../../outbound/upstream-http.js'

export interface WorkspaceResponse { workspaceId: string, name: string, dataResidency?: string, notifications?: unknown }

export interface SourceResponse {
  sourceId: string
  name: string
  sourceType?: string
  definitionId?: string
  workspaceId: string
  /** Secrets come back masked as `**********`. */
  configuration: Record<string, unknown>
  createdAt?: number | string
}

export interface DestinationResponse {
  destinationId: string
  name: string
  destinationType?: string
  definitionId?: string
  workspaceId: string
  configuration: Record<string, unknown>
  createdAt?: number | string
}

export type Schedule =
  | { scheduleType: 'manual', cronExpression?: string }
  | { scheduleType: 'cron', cronExpression: string }
  | { scheduleType: 'basic', basicTiming?: string, cronExpression?: string }

export interface StreamConfiguration {
  name: string
  namespace?: string
  syncMode?: string
  cursorField?: string[]
  primaryKey?: string[][]
  [key: string]: unknown
}

export interface ConnectionResponse {
  connectionId: string
  name: string
  sourceId: string
  destinationId: string
  workspaceId: string
  status: 'active' | 'inactive' | 'deprecated'
  /** Cron expressions are read back with a ` UTC` suffix. */
  schedule: Schedule
  namespaceDefinition?: string
  namespaceFormat?: string
  prefix?: string
  configurations?: { streams?: StreamConfiguration[] }
  createdAt?: number | string
  [key: string]: unknown
}

export interface ConnectionBody {
  name?: string
  schedule?: { scheduleType: 'manual' | 'cron', cronExpression?: string }
  namespaceDefinition?: string
  namespaceFormat?: string
  prefix?: string
  configurations?: { streams: StreamConfiguration[] }
  status?: 'active' | 'inactive'
}

export interface StreamProperties {
  streamName: string
  streamnamespace?: string
  syncModes: string[]
  defaultCursorField?: string[]
  sourceDefinedCursorField?: boolean
  sourceDefinedPrimaryKey?: string[][]
  propertyFields?: string[][]
}

export type JobType = 'sync' | 'reset' | 'clear'
export type JobStatus = 'pending' | 'queued' | 'running' | 'incomplete' | 'succeeded' | 'failed' | 'cancelled'
export const TERMINAL_JOB_STATUSES: readonly string[] = ['succeeded', 'failed', 'cancelled']

export interface JobResponse {
  /** int64, not a uuid. */
  jobId: number
  status: JobStatus
  jobType: JobType
  startTime: string
  connectionId: string
  lastUpdatedAt?: string
  duration?: string
  bytesSynced?: number
  rowsSynced?: number
}

export type StartJobResult = { job: JobResponse } | { alreadyRunning: true, message: string }

/** The oldest resource of that name, and how many share it (names are not unique in Airbyte). */
export interface FoundByName<T> { resource: T, count: number }

export interface ConnectorBody { name: string, workspaceId: string, configuration: Record<string, unknown>, definitionId?: string }

export interface AirbyteClient {
  getWorkspace: (workspaceId: string, signal?: AbortSignal) => Promise<WorkspaceResponse>
  listSources: (workspaceId: string, signal?: AbortSignal) => Promise<SourceResponse[]>
  listDestinations: (workspaceId: string, signal?: AbortSignal) => Promise<DestinationResponse[]>
  listConnections: (workspaceId: string, signal?: AbortSignal) => Promise<ConnectionResponse[]>
  findSourceByName: (workspaceId: string, name: string, signal?: AbortSignal) => Promise<FoundByName<SourceResponse> | undefined>
  findDestinationByName: (workspaceId: string, name: string, signal?: AbortSignal) => Promise<FoundByName<DestinationResponse> | undefined>
  findConnectionByName: (workspaceId: string, name: string, signal?: AbortSignal) => Promise<FoundByName<ConnectionResponse> | undefined>
  /** undefined when Airbyte answers 404. */
  getSource: (sourceId: string, signal?: AbortSignal) => Promise<SourceResponse | undefined>
  createSource: (body: ConnectorBody, signal?: AbortSignal) => Promise<SourceResponse>
  patchSource: (sourceId: string, body: { name?: string, configuration?: Record<string, unknown> }, signal?: AbortSignal) => Promise<SourceResponse>
  /** `absent` when it was already gone (404). */
  deleteSource: (sourceId: string, signal?: AbortSignal) => Promise<'deleted' | 'absent'>
  getDestination: (destinationId: string, signal?: AbortSignal) => Promise<DestinationResponse | undefined>
  createDestination: (body: ConnectorBody, signal?: AbortSignal) => Promise<DestinationResponse>
  patchDestination: (destinationId: string, body: { name?: string, configuration?: Record<string, unknown> }, signal?: AbortSignal) => Promise<DestinationResponse>
  deleteDestination: (destinationId: string, signal?: AbortSignal) => Promise<'deleted' | 'absent'>
  getConnection: (connectionId: string, signal?: AbortSignal) => Promise<ConnectionResponse | undefined>
  createConnection: (body: ConnectionBody & { sourceId: string, destinationId: string }, signal?: AbortSignal) => Promise<ConnectionResponse>
  patchConnection: (connectionId: string, body: ConnectionBody, signal?: AbortSignal) => Promise<ConnectionResponse>
  deleteConnection: (connectionId: string, signal?: AbortSignal) => Promise<'deleted' | 'absent'>
  getStreams: (sourceId: string, signal?: AbortSignal) => Promise<StreamProperties[]>
  /** 409 try-again-later (a job already runs on the connection) comes back as `alreadyRunning`. */
  startJob: (connectionId: string, jobType: JobType, signal?: AbortSignal) => Promise<StartJobResult>
  /** The newest pending, running or incomplete job of that type on the connection. */
  findRunningJob: (connectionId: string, jobType: JobType, signal?: AbortSignal) => Promise<JobResponse | undefined>
  getJob: (jobId: number, signal?: AbortSignal) => Promise<JobResponse>
  /** undefined when the job was no longer running (409 state-conflict) or is unknown. */
  cancelJob: (jobId: number, signal?: AbortSignal) => Promise<JobResponse | undefined>
}

/** How Airbyte returns every secret of a stored configuration. */
export const MASKED_SECRET = '**********'

/** Airbyte reads a cron schedule back as `"<expr> UTC"`. */
export function stripUtc (cron: string | undefined): string | undefined {
  return cron?.replace(/\s+UTC$/i, '').trim()
}

/** Page size of every list call: the API's maximum. */
export const PAGE_LIMIT = 100
/** A guard against a server that ignores `offset`: 1000 pages of 100 is far beyond any real workspace. */
const MAX_PAGES = 1000

export function airbyteClientFromHttp (http: UpstreamHttp): AirbyteClient {
  const get = async <T>(path: string, signal?: AbortSignal): Promise<T | undefined> => {
    const res = await http.request<T>({ method: 'GET', path, signal, okStatuses: [404] })
    return res.status === 404 ? undefined : res.body
  }
  const del = async (path: string, signal?: AbortSignal): Promise<'deleted' | 'absent'> => {
    const res = await http.request({ method: 'DELETE', path, signal, okStatuses: [404] })
    return res.status === 404 ? 'absent' : 'deleted'
  }
  const send = async <T>(method: 'POST' | 'PATCH', path: string, body: unknown, signal?: AbortSignal): Promise<T> =>
    (await http.request<T>({ method, path, body, signal })).body

  const listAll = async <T extends { workspaceId?: string }>(path: string, workspaceId: string, signal?: AbortSignal): Promise<T[]> => {
    const all: T[] = []
    for (let page = 0; page < MAX_PAGES; page++) {
      const res = await http.request<{ data?: T[] }>({
        method: 'GET', path, signal, query: { workspaceIds: workspaceId, limit: PAGE_LIMIT, offset: page * PAGE_LIMIT }
      })
      const data = res.body?.data ?? []
      all.push(...data)
      // Airbyte sends `next` even on the last page; stop on a short or empty page.
      if (data.length < PAGE_LIMIT) break
    }
    // The filter is the server's job, but a resource of another workspace must never be adopted.
    return all.filter((r) => r.workspaceId === undefined || r.workspaceId === workspaceId)
  }

  const findByName = async <T extends { name: string, workspaceId?: string, createdAt?: number | string }>(
    path: string, workspaceId: string, name: string, signal?: AbortSignal, live: (r: T) => boolean = () => true
  ): Promise<FoundByName<T> | undefined> => {
    // A deleted connection may linger as `deprecated`; it must not be adopted.
    const matches = (await listAll<T>(path, workspaceId, signal)).filter((r) => r.name === name && live(r))
    const oldest = matches.reduce<T | undefined>((best, r) => (best === undefined || createdAt(r) < createdAt(best) ? r : best), undefined)
    return oldest === undefined ? undefined : { resource: oldest, count: matches.length }
  }

  const findJob = async (connectionId: string, jobType: JobType, status: string, signal?: AbortSignal): Promise<JobResponse | undefined> => {
    const res = await http.request<{ data?: JobResponse[] }>({
      method: 'GET', path: '/jobs', signal, query: { connectionId, jobType, status, orderBy: 'createdAt|DESC', limit: 1 }
    })
    return (res.body?.data ?? []).find((j) => j.status === status && j.jobType === jobType && j.connectionId === connectionId)
  }

  const id = encodeURIComponent
  return {
    getWorkspace: async (workspaceId, signal) => (await http.request<WorkspaceResponse>({ method: 'GET', path: `/workspaces/${id(workspaceId)}`, signal })).body,
    listSources: async (ws, signal) => await listAll<SourceResponse>('/sources', ws, signal),
    listDestinations: async (ws, signal) => await listAll<DestinationResponse>('/destinations', ws, signal),
    listConnections: async (ws, signal) => await listAll<ConnectionResponse>('/connections', ws, signal),
    findSourceByName: async (ws, name, signal) => await findByName<SourceResponse>('/sources', ws, name, signal),
    findDestinationByName: async (ws, name, signal) => await findByName<DestinationResponse>('/destinations', ws, name, signal),
    findConnectionByName: async (ws, name, signal) => await findByName<ConnectionResponse>('/connections', ws, name, signal, (c) => c.status !== 'deprecated'),
    getSource: async (sourceId, signal) => await get<SourceResponse>(`/sources/${id(sourceId)}`, signal),
    createSource: async (body, signal) => await send<SourceResponse>('POST', '/sources', body, signal),
    patchSource: async (sourceId, body, signal) => await send<SourceResponse>('PATCH', `/sources/${id(sourceId)}`, body, signal),
    deleteSource: async (sourceId, signal) => await del(`/sources/${id(sourceId)}`, signal),
    getDestination: async (destinationId, signal) => await get<DestinationResponse>(`/destinations/${id(destinationId)}`, signal),
    createDestination: async (body, signal) => await send<DestinationResponse>('POST', '/destinations', body, signal),
    patchDestination: async (destinationId, body, signal) => await send<DestinationResponse>('PATCH', `/destinations/${id(destinationId)}`, body, signal),
    deleteDestination: async (destinationId, signal) => await del(`/destinations/${id(destinationId)}`, signal),
    getConnection: async (connectionId, signal) => await get<ConnectionResponse>(`/connections/${id(connectionId)}`, signal),
    createConnection: async (body, signal) => await send<ConnectionResponse>('POST', '/connections', body, signal),
    patchConnection: async (connectionId, body, signal) => await send<ConnectionResponse>('PATCH', `/connections/${id(connectionId)}`, body, signal),
    deleteConnection: async (connectionId, signal) => await del(`/connections/${id(connectionId)}`, signal),

    getStreams: async (sourceId, signal) => {
      const res = await http.request<StreamProperties[] | { data?: StreamProperties[] }>({ method: 'GET', path: '/streams', query: { sourceId }, signal })
      return Array.isArray(res.body) ? res.body : (res.body?.data ?? [])
    },

    startJob: async (connectionId, jobType, signal) => {
      const path = '/jobs'
      const res = await http.request<JobResponse>({ method: 'POST', path, body: { connectionId, jobType }, signal, passStatuses: [409] })
      if (res.status !== 409) return { job: res.body }
      if (!isTryAgainLater(res.problem)) {
        throw new PermanentUpstreamError(`Airbyte rejected POST ${path}: ${res.problem?.reason ?? '409'}`, 409)
      }
      return { alreadyRunning: true, message: res.problem?.message ?? 'a job is already running on this connection' }
    },

    findRunningJob: async (connectionId, jobType, signal) => {
      for (const status of ['running', 'pending', 'incomplete']) {
        const job = await findJob(connectionId, jobType, status, signal)
        if (job !== undefined) return job
      }
      return undefined
    },

    getJob: async (jobId, signal) => (await http.request<JobResponse>({ method: 'GET', path: `/jobs/${jobId}`, signal })).body,

    cancelJob: async (jobId, signal) => {
      const res = await http.request<JobResponse>({ method: 'DELETE', path: `/jobs/${jobId}`, signal, okStatuses: [404, 409] })
      return res.status < 300 ? res.body : undefined
    }
  }
}

/** Airbyte's answer to work on a busy resource: 409 with type `.../errors#try-again-later`. */
export function isTryAgainLater (problem: UpstreamProblem | undefined): boolean {
  return problem?.type !== undefined && /try[-_ ]?again[-_ ]?later/i.test(problem.type)
}

/** A try-again-later 409 is a refusal before any work: retried like a 503, even for a POST. */
export const classifyAirbyteAnswer: UpstreamClassifier = (status, problem) =>
  status === 409 && isTryAgainLater(problem) ? 'refused' : undefined

export interface AirbyteClientDeps {
  limiter?: ConcurrencyLimiter
  redact?: (s: string) => string
  fetch?: typeof fetch
}

export function createAirbyteClient (config: AirbyteConfig, deps: AirbyteClientDeps = {}): AirbyteClient {
  if (config.apiUrl === undefined) throw new ConfigError('AIRBYTE_API_URL is not set: the Airbyte handler cannot reach Airbyte')
  // Its own credentials are always masked, even when no process-wide scrubber is given (tests, tools).
  const own = new SecretScrubber()
  for (const secret of [config.clientSecret, config.password, config.token]) if (secret !== undefined) own.add(secret)
  const redact = (s: string): string => deps.redact === undefined ? own.scrub(s) : deps.redact(own.scrub(s))
  const http = createUpstreamHttp({
    baseUrl: config.apiUrl,
    target: 'Airbyte',
    credentials: airbyteCredentials(config, deps.fetch, redact),
    timeoutMs: config.requestTimeoutMs,
    retries: config.callRetries,
    retryBaseMs: config.retryBaseMs,
    limiter: deps.limiter,
    redact,
    fetch: deps.fetch,
    classify: classifyAirbyteAnswer
  })
  return airbyteClientFromHttp(http)
}

function airbyteCredentials (config: AirbyteConfig, fetchImpl?: typeof fetch, redact?: (s: string) => string): CredentialProvider {
  const missing = (name: string): never => { throw new ConfigError(`${name} is required when AIRBYTE_AUTH=${config.auth}`) }
  switch (config.auth) {
    case 'client_credentials':
      return oauthClientCredentials({
        tokenUrl: `${String(config.apiUrl).replace(/\/+$/, '')}/applications/token`,
        clientId: config.clientId ?? missing('AIRBYTE_CLIENT_ID'),
        clientSecret: config.clientSecret ?? missing('AIRBYTE_CLIENT_SECRET'),
        body: 'json',
        target: 'Airbyte',
        timeoutMs: config.requestTimeoutMs,
        fetch: fetchImpl,
        redact
      })
    case 'basic':
      return basicAuth(config.username ?? missing('AIRBYTE_USERNAME'), config.password ?? missing('AIRBYTE_PASSWORD'))
    case 'bearer':
      return staticBearer(config.token ?? missing('AIRBYTE_TOKEN'))
    case 'none':
      return noAuth()
  }
}

function createdAt (r: { createdAt?: number | string }): number {
  if (typeof r.createdAt === 'number') return r.createdAt
  if (typeof r.createdAt === 'string') {
    const n = /^\d+$/.test(r.createdAt) ? Number(r.createdAt) : Date.parse(r.createdAt)
    if (!Number.isNaN(n)) return n
  }
  return Number.POSITIVE_INFINITY
}
