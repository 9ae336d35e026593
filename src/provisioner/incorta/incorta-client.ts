/**
 * Typed client of Incorta's Public API v2 (`<cluster>/incorta/api/v2/<tenant>`) on top of upstream-http. It owns
 * the API's quirks (paged schema list, the "already running" 400 without an execution id) and turns failures into
 * readable ones: 401 names the token problem, 403 the missing "Enable Public API" right, a 400 `INC_...` business
 * error fails at once quoting Incorta's message, 5xx and network errors are retried with backoff by upstream-http.
 * Status bodies come back raw: incorta-status reads them. No provisioning policy here.
 */
import { ConfigError, PermanentUpstreamError } from '../../errors.js'
import { createUpstreamHttp, type ConcurrencyLimiter, type UpstreamHttp } from '../../outbound/upstream-http.js'
import { SecretScrubber } from '../../secrets/secret-scrubber.js'
import { incortaCredentials } from './incorta-auth.js'
import { clusterBase, type IncortaConfig } from './incorta-config.js'

export type LoadSource = 'FULL' | 'INCREMENTAL' | 'STAGING'

export interface SchemaSummary { schemaID?: number | string, schemaName: string, schemaDescription?: string, schemaType?: string }

export type ExecuteResult = { executionId: string } | { alreadyRunning: true, message: string }

export interface IncortaClient {
  /** Every schema of the tenant, all pages. */
  listSchemas: (tenant: string, signal?: AbortSignal) => Promise<SchemaSummary[]>
  /** Starts a load; Incorta gives no job id, only a word per schema (`{loadingStatus}`, not confirmed): the raw body. */
  startSchemaLoad: (tenant: string, schemaNames: string[], loadSource: LoadSource, signal?: AbortSignal) => Promise<unknown>
  /** The raw `/schema/{name}/status` body. */
  schemaStatus: (tenant: string, schemaName: string, signal?: AbortSignal) => Promise<unknown>
  /** 400 INC_05290501 (another execution of the plan runs) comes back as `alreadyRunning`. */
  executeLoadPlan: (tenant: string, loadPlanName: string, signal?: AbortSignal) => Promise<ExecuteResult>
  /**
   * The raw `/load-plan/status/{id}?level=3` body (plan, groups and schemas); undefined when Incorta answers 404,
   * i.e. no longer knows the execution (not confirmed on a real cluster: the simulator answers so).
   */
  loadPlanStatus: (tenant: string, executionId: string, signal?: AbortSignal) => Promise<{ body: unknown } | undefined>
}

/** `/schema/list` takes at most 200 per page. */
export const SCHEMA_PAGE = 200
/** A guard against a server that ignores `offset`. */
const MAX_PAGES = 500
export const PLAN_ALREADY_RUNNING_CODE = 'INC_05290501'

export function incortaClientFromHttp (http: UpstreamHttp, hints: { auth: IncortaConfig['auth'] } = { auth: 'pat' }): IncortaClient {
  const t = (tenant: string): string => `/${encodeURIComponent(tenant)}`
  // Tenant and schema names are words the generic id detection would keep: every call names its template, so
  // metrics and spans carry one operation per endpoint, never a tenant or schema name.
  const guard = async <T>(fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn()
    } catch (err) {
      throw readable(err, hints.auth)
    }
  }
  return {
    listSchemas: async (tenant, signal) => await guard(async () => {
      const all: SchemaSummary[] = []
      for (let page = 0; page < MAX_PAGES; page++) {
        const res = await http.request<{ schemasDetails?: SchemaSummary[], total?: number }>({
          method: 'POST',
          path: `${t(tenant)}/schema/list`,
          route: '/{tenant}/schema/list',
          query: { schemaType: 'ALL' },
          body: { limit: SCHEMA_PAGE, offset: page * SCHEMA_PAGE },
          // A read, though a POST: safe to retry in-process.
          idempotent: true,
          signal
        })
        const data = Array.isArray(res.body?.schemasDetails) ? res.body.schemasDetails : []
        all.push(...data.filter((s) => typeof s?.schemaName === 'string'))
        const total = typeof res.body?.total === 'number' ? res.body.total : undefined
        if (data.length < SCHEMA_PAGE || (total !== undefined && all.length >= total)) break
      }
      return all
    }),
    startSchemaLoad: async (tenant, schemaNames, loadSource, signal) => await guard(async () =>
      (await http.request<unknown>({ method: 'POST', path: `${t(tenant)}/schema/load`, route: '/{tenant}/schema/load', body: { schemaNames, loadSource }, signal })).body),
    schemaStatus: async (tenant, schemaName, signal) => await guard(async () =>
      (await http.request<unknown>({ method: 'GET', path: `${t(tenant)}/schema/${encodeURIComponent(schemaName)}/status`, route: '/{tenant}/schema/{name}/status', signal })).body),
    executeLoadPlan: async (tenant, loadPlanName, signal) => await guard(async () => {
      const path = `${t(tenant)}/load-plan/execute`
      const res = await http.request<{ loadPlanExecutionId?: unknown }>({ method: 'POST', path, route: '/{tenant}/load-plan/execute', body: { loadPlanName }, signal, okStatuses: [400] })
      if (res.status === 400) {
        const message = res.problem?.message ?? 'the request was refused'
        if (message.includes(PLAN_ALREADY_RUNNING_CODE)) return { alreadyRunning: true, message }
        throw new PermanentUpstreamError(`Incorta refused POST ${path}: ${message}`, 400)
      }
      const id = res.body?.loadPlanExecutionId
      if ((typeof id !== 'number' && typeof id !== 'string') || String(id).trim() === '') {
        throw new PermanentUpstreamError(`Incorta answered POST ${path} without a loadPlanExecutionId`, res.status)
      }
      return { executionId: String(id) }
    }),
    loadPlanStatus: async (tenant, executionId, signal) => await guard(async () => {
      const res = await http.request<unknown>({
        method: 'GET', path: `${t(tenant)}/load-plan/status/${encodeURIComponent(executionId)}`, route: '/{tenant}/load-plan/status/{id}', query: { level: 3 }, signal, okStatuses: [404]
      })
      return res.status === 404 ? undefined : { body: res.body }
    })
  }
}

/** 401 and 403 in words that say what to fix; everything else as upstream-http worded it. */
function readable (err: unknown, auth: IncortaConfig['auth']): unknown {
  if (!(err instanceof PermanentUpstreamError)) return err
  const said = err.message.replace(/\.$/, '')
  if (err.upstreamStatus === 401) {
    const fix = auth === 'pat'
      ? 'the personal access token (INCORTA_PAT / INCORTA_PAT_FILE) is invalid, expired or was rotated: make a new one in the Incorta user\'s profile and update the secret'
      : 'the JWT from INCORTA_OIDC_TOKEN_URL was refused: check that the cluster accepts tokens of this OAuth server (only one authentication method is active per cluster) and that the token\'s user exists in Incorta'
    return new PermanentUpstreamError(`Incorta refused the token (${said}); ${fix}`, 401, { cause: err })
  }
  if (err.upstreamStatus === 403) {
    return new PermanentUpstreamError(`Incorta denied access (${said}); the Incorta user needs the "Enable Public API" right and edit rights on the schemas: ask an Incorta administrator to grant them`, 403, { cause: err })
  }
  return err
}

export interface IncortaClientDeps {
  limiter?: ConcurrencyLimiter
  redact?: (s: string) => string
  fetch?: typeof fetch
  now?: () => number
}

export function createIncortaClient (config: IncortaConfig, deps: IncortaClientDeps = {}): IncortaClient {
  if (config.url === undefined) throw new ConfigError('INCORTA_URL is not set: the Incorta handler cannot reach Incorta')
  // Its own credentials are always masked, even when no process-wide scrubber is given (tests, tools).
  const own = new SecretScrubber()
  for (const secret of [config.pat, config.oidcClientSecret, config.oidcPassword]) if (secret !== undefined) own.add(secret)
  const redact = (s: string): string => deps.redact === undefined ? own.scrub(s) : deps.redact(own.scrub(s))
  const http = createUpstreamHttp({
    baseUrl: `${clusterBase(config.url)}/incorta/api/v2`,
    target: 'Incorta',
    credentials: incortaCredentials(config, { fetch: deps.fetch, redact, now: deps.now }),
    timeoutMs: config.requestTimeoutMs,
    retries: config.callRetries,
    retryBaseMs: config.retryBaseMs,
    limiter: deps.limiter,
    redact,
    fetch: deps.fetch
  })
  return incortaClientFromHttp(http, { auth: config.auth })
}
