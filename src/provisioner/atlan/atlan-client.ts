/**
 * Typed client of the Atlan APIs the handler uses, on top of upstream-http: entities (bulk upsert, get, delete),
 * index search, users, groups, API keys, the current user, and package workflows and their runs. It owns the
 * APIs' quirks (the search is case-insensitive and drops `entities` when nothing matches, a 404 on a delete,
 * workflow hits nested in `hits.hits[]._source`) and no provisioning policy. Every call goes through the shared
 * rate gate (atlan-rate-limit) and its errors quote Atlas's `errorMessage` or the gateway's `message`, scrubbed.
 */
import { ConfigError } from '../../errors.js'
import { createUpstreamHttp, type ConcurrencyLimiter, type UpstreamClassification, type UpstreamHttp, type UpstreamProblem } from '../../outbound/upstream-http.js'
import { SecretScrubber } from '../../secrets/secret-scrubber.js'
import { atlanCredentials, type AtlanAuthSettings } from './atlan-auth.js'
import { rateLimitedFetch, type AtlanRateGate } from './atlan-rate-limit.js'

export interface AtlanEntity {
  typeName: string
  guid: string
  status?: 'ACTIVE' | 'DELETED'
  attributes: Record<string, unknown>
  relationshipAttributes?: Record<string, unknown>
}

export interface EntityWithReferences { entity: AtlanEntity, referredEntities: Record<string, AtlanEntity> }

export interface EntityHeader { typeName: string, guid: string, attributes?: { qualifiedName?: string, name?: string } }

export interface BulkResult {
  created: EntityHeader[]
  updated: EntityHeader[]
  /** Placeholder guid (`-1`) -> the guid Atlan gave the entity. */
  guidAssignments: Record<string, string>
}

export interface EntityBody { typeName: string, guid?: string, attributes: Record<string, unknown> }

export type DeleteType = 'SOFT' | 'HARD' | 'PURGE'

export interface AtlanUser { id?: string, username: string, email?: string }
export interface AtlanGroup { id?: string, name: string, alias?: string }
export interface AtlanApiKey { id: string, clientId: string, displayName?: string }

export interface WorkflowTemplateHit {
  name: string
  creationTimestamp?: string
  /** `name -> value` of the package's parameters. */
  parameters: Record<string, string>
}

export type RunPhase = 'Pending' | 'Running' | 'Succeeded' | 'Failed' | 'Error'
export const TERMINAL_PHASES: readonly string[] = ['Succeeded', 'Failed', 'Error']

export interface WorkflowRunHit { name: string, templateName: string, phase: RunPhase | string, startedAt?: string, message?: string }

export interface AtlanClient {
  currentUser: (signal?: AbortSignal) => Promise<AtlanUser>
  apiKeyById: (id: string, signal?: AbortSignal) => Promise<AtlanApiKey | undefined>
  apiKeyByClientId: (clientId: string, signal?: AbortSignal) => Promise<AtlanApiKey | undefined>
  usersByEmail: (email: string, signal?: AbortSignal) => Promise<AtlanUser[]>
  userByUsername: (username: string, signal?: AbortSignal) => Promise<AtlanUser | undefined>
  /** Groups whose internal name is `name`. */
  groupsByName: (name: string, signal?: AbortSignal) => Promise<AtlanGroup[]>
  /** Groups whose alias (display name) is `alias`. */
  groupsByAlias: (alias: string, signal?: AbortSignal) => Promise<AtlanGroup[]>
  /**
   * Entities of that type whose name is exactly `name` (Atlan's search ignores case; this does not): ACTIVE
   * ones, or archived ones too with `includeArchived`.
   */
  findByExactName: (typeName: string, name: string, attributes: readonly string[], signal?: AbortSignal, includeArchived?: boolean) => Promise<AtlanEntity[]>
  /** undefined on 404. */
  getByQualifiedName: (typeName: string, qualifiedName: string, signal?: AbortSignal) => Promise<EntityWithReferences | undefined>
  /** undefined on 404. */
  getByGuid: (guid: string, signal?: AbortSignal) => Promise<EntityWithReferences | undefined>
  upsert: (entities: EntityBody[], signal?: AbortSignal) => Promise<BulkResult>
  /** `absent` when Atlan no longer knows the guid. */
  deleteEntity: (guid: string, deleteType: DeleteType, signal?: AbortSignal) => Promise<'deleted' | 'absent'>
  /** Templates whose name starts with `prefix`, newest first. */
  findWorkflowTemplates: (prefix: string, signal?: AbortSignal) => Promise<WorkflowTemplateHit[]>
  /** Runs of that template, newest first. */
  findRuns: (templateName: string, size: number, signal?: AbortSignal) => Promise<WorkflowRunHit[]>
  /** Re-runs an existing template; the run's name. */
  rerunTemplate: (templateName: string, signal?: AbortSignal) => Promise<string | undefined>
  /** Creates a template named `name` running `packageName` with these parameters, and submits it. */
  submitWorkflow: (name: string, packageName: string, parameters: Record<string, string>, signal?: AbortSignal) => Promise<string | undefined>
}

interface SearchAnswer { entities?: AtlanEntity[], approximateCount?: number }
interface ListAnswer<T> { records?: T[] | null }
interface HitsAnswer { hits?: { hits?: Array<{ _id?: string, _source?: Record<string, unknown> }> } }

/** Page size of searches: a name is expected to match a handful of entities. */
const SEARCH_SIZE = 50

export function atlanClientFromHttp (http: UpstreamHttp): AtlanClient {
  const list = async <T>(path: string, filter: Record<string, unknown>, signal?: AbortSignal): Promise<T[]> => {
    const res = await http.request<ListAnswer<T>>({ method: 'GET', path, query: { filter: JSON.stringify(filter), limit: 100, offset: 0 }, signal })
    return res.body?.records ?? []
  }
  const getEntity = async (path: string, query: Record<string, string> | undefined, signal?: AbortSignal): Promise<EntityWithReferences | undefined> => {
    const res = await http.request<{ entity?: AtlanEntity, referredEntities?: Record<string, AtlanEntity> }>({ method: 'GET', path, query, signal, okStatuses: [404] })
    if (res.status === 404 || res.body?.entity === undefined) return undefined
    return { entity: res.body.entity, referredEntities: res.body.referredEntities ?? {} }
  }
  const hits = (body: HitsAnswer | undefined): Array<Record<string, unknown>> =>
    (body?.hits?.hits ?? []).map((h) => h._source ?? {})

  return {
    currentUser: async (signal) => (await http.request<AtlanUser>({ method: 'GET', path: '/api/service/users/current', signal })).body,
    apiKeyById: async (id, signal) => (await list<AtlanApiKey>('/api/service/apikeys', { id }, signal)).find((k) => k.id === id),
    apiKeyByClientId: async (clientId, signal) => (await list<AtlanApiKey>('/api/service/apikeys', { clientId }, signal)).find((k) => k.clientId === clientId),
    usersByEmail: async (email, signal) =>
      (await list<AtlanUser>('/api/service/users', { email }, signal)).filter((u) => u.email?.toLowerCase() === email.toLowerCase()),
    userByUsername: async (username, signal) => (await list<AtlanUser>('/api/service/users', { username }, signal)).find((u) => u.username === username),
    groupsByName: async (name, signal) => (await list<AtlanGroup>('/api/service/v2/groups', { name }, signal)).filter((g) => g.name === name),
    groupsByAlias: async (alias, signal) => (await list<AtlanGroup>('/api/service/v2/groups', { alias }, signal)).filter((g) => g.alias === alias),

    findByExactName: async (typeName, name, attributes, signal, includeArchived = false) => {
      const states = includeArchived ? ['ACTIVE', 'DELETED'] : ['ACTIVE']
      const res = await http.request<SearchAnswer>({
        method: 'POST',
        path: '/api/meta/search/indexsearch',
        // A search changes nothing: safe to retry.
        idempotent: true,
        signal,
        body: {
          dsl: {
            from: 0,
            size: SEARCH_SIZE,
            query: { bool: { filter: [{ term: { '__typeName.keyword': typeName } }, { term: { 'name.keyword': name } }, { terms: { __state: states } }] } }
          },
          attributes: ['name', 'qualifiedName', ...attributes]
        }
      })
      // No hit comes back without an `entities` key; the name match is case-insensitive.
      return (res.body?.entities ?? []).filter((e) => e.attributes?.name === name && states.includes(e.status ?? 'ACTIVE'))
    },

    getByQualifiedName: async (typeName, qualifiedName, signal) =>
      await getEntity(`/api/meta/entity/uniqueAttribute/type/${encodeURIComponent(typeName)}`, { 'attr:qualifiedName': qualifiedName }, signal),
    getByGuid: async (guid, signal) => await getEntity(`/api/meta/entity/guid/${encodeURIComponent(guid)}`, undefined, signal),

    upsert: async (entities, signal) => {
      const res = await http.request<{ mutatedEntities?: { CREATE?: EntityHeader[], UPDATE?: EntityHeader[] }, guidAssignments?: Record<string, string> }>({
        method: 'POST', path: '/api/meta/entity/bulk', body: { entities }, signal
      })
      // Keys with nothing in them are left out, and an unchanged entity is in neither list.
      return {
        created: res.body?.mutatedEntities?.CREATE ?? [],
        updated: res.body?.mutatedEntities?.UPDATE ?? [],
        guidAssignments: res.body?.guidAssignments ?? {}
      }
    },

    deleteEntity: async (guid, deleteType, signal) => {
      const res = await http.request({ method: 'DELETE', path: '/api/meta/entity/bulk', query: { guid, deleteType }, signal, okStatuses: [404] })
      return res.status === 404 ? 'absent' : 'deleted'
    },

    findWorkflowTemplates: async (prefix, signal) => {
      const res = await http.request<HitsAnswer>({
        method: 'POST',
        path: '/api/service/workflows/indexsearch',
        idempotent: true,
        signal,
        body: {
          from: 0,
          size: SEARCH_SIZE,
          query: { bool: { filter: [{ prefix: { 'metadata.name.keyword': prefix } }] } },
          sort: [{ 'metadata.creationTimestamp': { order: 'desc' } }]
        }
      })
      return hits(res.body).map((s) => {
        const metadata = (s.metadata ?? {}) as { name?: string, creationTimestamp?: string }
        return { name: String(metadata.name ?? ''), creationTimestamp: metadata.creationTimestamp, parameters: templateParameters(s.spec) }
      }).filter((t) => t.name.startsWith(prefix))
    },

    findRuns: async (templateName, size, signal) => {
      const res = await http.request<HitsAnswer>({
        method: 'POST',
        path: '/api/service/runs/indexsearch',
        idempotent: true,
        signal,
        body: {
          from: 0,
          size,
          query: { bool: { filter: [{ term: { 'spec.workflowTemplateRef.name.keyword': templateName } }] } },
          sort: [{ 'status.startedAt': { order: 'desc' } }]
        }
      })
      return hits(res.body).map((s) => {
        const metadata = (s.metadata ?? {}) as { name?: string }
        const spec = (s.spec ?? {}) as { workflowTemplateRef?: { name?: string } }
        const status = (s.status ?? {}) as { phase?: string, startedAt?: string, message?: string }
        return { name: String(metadata.name ?? ''), templateName: String(spec.workflowTemplateRef?.name ?? ''), phase: status.phase ?? 'Pending', startedAt: status.startedAt, message: status.message }
      }).filter((r) => r.templateName === templateName)
    },

    rerunTemplate: async (templateName, signal) => {
      const res = await http.request<{ metadata?: { name?: string } }>({
        method: 'POST', path: '/api/service/workflows/submit', body: { namespace: 'default', resourceKind: 'WorkflowTemplate', resourceName: templateName }, signal
      })
      return res.body?.metadata?.name
    },

    submitWorkflow: async (name, packageName, parameters, signal) => {
      const res = await http.request<{ metadata?: { name?: string } }>({
        method: 'POST',
        path: '/api/service/workflows',
        query: { submit: true },
        signal,
        body: {
          metadata: { name, namespace: 'default', labels: { 'package.argoproj.io/name': packageName }, annotations: {} },
          spec: {
            entrypoint: 'main',
            templates: [{
              name: 'main',
              dag: {
                tasks: [{
                  name: 'run',
                  arguments: { parameters: Object.entries(parameters).map(([n, value]) => ({ name: n, value })) },
                  templateRef: { name: packageName, template: 'main', clusterScope: true }
                }]
              }
            }]
          },
          payload: []
        }
      })
      return res.body?.metadata?.name
    }
  }
}

function templateParameters (spec: unknown): Record<string, string> {
  const templates = (spec as { templates?: Array<{ dag?: { tasks?: Array<{ arguments?: { parameters?: Array<{ name?: unknown, value?: unknown }> } }> } }> } | undefined)?.templates
  const out: Record<string, string> = {}
  for (const p of templates?.[0]?.dag?.tasks?.[0]?.arguments?.parameters ?? []) {
    if (typeof p.name === 'string') out[p.name] = String(p.value ?? '')
  }
  return out
}

/**
 * Atlan's own error rules before the generic ones: an unknown persona member is a 500 ("Keycloak user not
 * found") that no retry can fix, and a 503 is a refusal before any work.
 */
export function classifyAtlanError (status: number, problem: UpstreamProblem): UpstreamClassification | undefined {
  if (status === 500 && /not found/i.test(problem.message ?? '')) return 'permanent'
  if (status === 503) return 'refused'
  return undefined
}

const MAX_INLINE_WAIT_MS = 500

export interface AtlanClientSettings {
  /** ATLAN_URL; unset makes the client refuse to be built (ConfigError). */
  url?: string
  /** API token or OAuth client. */
  auth: AtlanAuthSettings
  /** Timeout of one attempt, ms (ATLAN_REQUEST_TIMEOUT_MS, default 30000). */
  requestTimeoutMs: number
  /** In-process retries of one call (ATLAN_CALL_RETRIES, default 3). */
  retries: number
  /** First backoff, ms (ATLAN_RETRY_BASE_MS, default 500). */
  retryBaseMs: number
}

export interface AtlanClientDeps {
  /** The per-minute budget and lock-out every request takes part in; required. */
  gate: AtlanRateGate
  /** Shared concurrency limit. Default none. */
  limiter?: ConcurrencyLimiter
  /** Masks known secret values in upstream text (Atlan's own credentials always are). Default none. */
  redact?: (s: string) => string
  /** Default globalThis.fetch. */
  fetch?: typeof fetch
}

export function createAtlanClient (settings: AtlanClientSettings, deps: AtlanClientDeps): AtlanClient {
  if (settings.url === undefined) throw new ConfigError('ATLAN_URL is not set: the Atlan handler cannot reach Atlan')
  const own = new SecretScrubber()
  if (settings.auth.auth === 'api_token') own.add(settings.auth.apiToken)
  else own.add(settings.auth.clientSecret)
  const redact = (s: string): string => deps.redact === undefined ? own.scrub(s) : deps.redact(own.scrub(s))
  // A pause longer than half a second (a lock-out, a spent minute) goes back to the engine as the step's
  // `{ waitMs }`: the job parks in BullMQ's delayed set instead of holding a worker slot.
  const fetchImpl = rateLimitedFetch(deps.gate, deps.fetch ?? globalThis.fetch, { maxInlineWaitMs: MAX_INLINE_WAIT_MS })
  const http = createUpstreamHttp({
    baseUrl: settings.url,
    target: 'Atlan',
    credentials: atlanCredentials(settings.auth, { baseUrl: settings.url, timeoutMs: settings.requestTimeoutMs, fetch: fetchImpl, redact }),
    timeoutMs: settings.requestTimeoutMs,
    retries: settings.retries,
    retryBaseMs: settings.retryBaseMs,
    maxRetryWaitMs: MAX_INLINE_WAIT_MS,
    limiter: deps.limiter,
    redact,
    fetch: fetchImpl,
    classify: classifyAtlanError
  })
  return atlanClientFromHttp(http)
}
