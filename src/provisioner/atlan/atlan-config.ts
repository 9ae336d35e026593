/**
 * The Atlan handler's configuration section (every `ATLAN_*` variable): defaults, `_FILE` secrets, the
 * credentials each ATLAN_AUTH mode needs and the principal mapping. Read by the module at start-up; nothing
 * else parses these names.
 */
import type { ConfigEnv } from '../../config-env.js'
import { loadPrincipalTable } from './atlan-principals.js'

export type AtlanAuthMode = 'api_token' | 'oauth_client'
export type AtlanPrincipalMapping = 'lookup' | 'table'

export interface AtlanConfig {
  /** Tenant base, e.g. `https://acme.atlan.com`. Unset: the Atlan handler can validate offline but not provision. */
  url?: string
  /** `api_token` (default) or `oauth_client`. */
  auth: AtlanAuthMode
  /** ATLAN_API_TOKEN / ATLAN_API_TOKEN_FILE, for `api_token`. */
  apiToken?: string
  /** ATLAN_CLIENT_ID, for `oauth_client`. */
  clientId?: string
  /** ATLAN_CLIENT_SECRET / ATLAN_CLIENT_SECRET_FILE, for `oauth_client`. */
  clientSecret?: string
  /** Run the "API token connection admin" package workflow when needed. Default true. */
  useWorkflows: boolean
  /** Requests a minute to Atlan across every worker (shared through Redis). Default 400. */
  rateLimitPerMinute: number
  /** Poll interval of a workflow run, ms. Default 10000. */
  pollIntervalMs: number
  /** Longest wait for a workflow run, ms. Default 30 minutes. */
  pollTimeoutMs: number
  /** `lookup` (default: ask Atlan) or `table` (ATLAN_PRINCIPAL_MAP_FILE). */
  principalMapping: AtlanPrincipalMapping
  /** YAML map from identity refs to Atlan usernames and group names, for `table`. */
  principalMapFile?: string
  /** Per-request timeout, ms. Default 30000. */
  requestTimeoutMs: number
  /** Most requests in flight to Atlan across every worker. Default 8. */
  maxConcurrentRequests: number
  /** In-process retries of one call on a transient error. Default 3. */
  callRetries: number
  /** First backoff between in-process retries, ms. Default 500. */
  retryBaseMs: number
  /** How long after creating a Connection its 403s are ridden out, ms. Default 120000. */
  postCreateGraceMs: number
}

/** Variables holding Atlan's own credentials (each also as `<NAME>_FILE`). */
export const ATLAN_CREDENTIAL_VARIABLES = ['ATLAN_API_TOKEN', 'ATLAN_CLIENT_SECRET'] as const

export function readAtlanConfig (r: ConfigEnv): AtlanConfig {
  const config: AtlanConfig = {
    url: r.url('ATLAN_URL'),
    auth: r.oneOf<AtlanAuthMode>('ATLAN_AUTH', ['api_token', 'oauth_client'], 'api_token'),
    apiToken: r.secret('ATLAN_API_TOKEN'),
    clientId: r.string('ATLAN_CLIENT_ID'),
    clientSecret: r.secret('ATLAN_CLIENT_SECRET'),
    useWorkflows: r.bool('ATLAN_USE_WORKFLOWS', true),
    rateLimitPerMinute: r.int('ATLAN_RATE_LIMIT_PER_MINUTE', 400, 1, 100_000),
    pollIntervalMs: r.int('ATLAN_POLL_INTERVAL_MS', 10_000, 10),
    pollTimeoutMs: r.int('ATLAN_POLL_TIMEOUT_MS', 30 * 60_000, 100),
    principalMapping: r.oneOf<AtlanPrincipalMapping>('ATLAN_PRINCIPAL_MAPPING', ['lookup', 'table'], 'lookup'),
    principalMapFile: r.string('ATLAN_PRINCIPAL_MAP_FILE'),
    requestTimeoutMs: r.int('ATLAN_REQUEST_TIMEOUT_MS', 30_000, 100),
    maxConcurrentRequests: r.int('ATLAN_MAX_CONCURRENT_REQUESTS', 8, 1, 1000),
    callRetries: r.int('ATLAN_CALL_RETRIES', 3, 0, 20),
    retryBaseMs: r.int('ATLAN_RETRY_BASE_MS', 500, 1),
    postCreateGraceMs: r.int('ATLAN_POST_CREATE_GRACE_MS', 120_000, 0)
  }
  if (config.url !== undefined) {
    if (config.auth === 'api_token' && config.apiToken === undefined) r.problems.push('ATLAN_API_TOKEN (or ATLAN_API_TOKEN_FILE) is required when ATLAN_AUTH=api_token')
    if (config.auth === 'oauth_client') {
      if (config.clientId === undefined) r.problems.push('ATLAN_CLIENT_ID is required when ATLAN_AUTH=oauth_client')
      if (config.clientSecret === undefined) r.problems.push('ATLAN_CLIENT_SECRET (or ATLAN_CLIENT_SECRET_FILE) is required when ATLAN_AUTH=oauth_client')
    }
  }
  if (config.principalMapping === 'table' && config.principalMapFile === undefined) {
    r.problems.push('ATLAN_PRINCIPAL_MAP_FILE is required when ATLAN_PRINCIPAL_MAPPING=table')
  } else if (config.principalMapping === 'table' && config.principalMapFile !== undefined) {
    // Read once here so a broken table stops start-up, named by variable.
    try {
      loadPrincipalTable(config.principalMapFile)
    } catch (err) {
      r.problems.push(err instanceof Error ? err.message : String(err))
    }
  }
  if (config.pollTimeoutMs < config.pollIntervalMs) r.problems.push('ATLAN_POLL_TIMEOUT_MS must be >= ATLAN_POLL_INTERVAL_MS')
  return config
}
