/**
 * The Incorta handler's settings, as read from the environment (the `INCORTA_*` variables) or built by tests.
 * Only the service's own credentials live here; a descriptor can name a tenant, never a credential.
 */
import type { ConfigEnv } from '../../config-env.js'

export type IncortaAuthMode = 'pat' | 'oidc'

export interface IncortaConfig {
  /** `INCORTA_URL`: the cluster's base URL (`https://<cluster>`; a trailing `/incorta` is tolerated). Unset: the handler validates offline only. */
  url?: string
  /** `INCORTA_TENANT`: the tenant of components that name none (case-sensitive). */
  tenant?: string
  /** `INCORTA_AUTH`: `pat` (default) or `oidc`. */
  auth: IncortaAuthMode
  /** `INCORTA_PAT` / `INCORTA_PAT_FILE`: a personal access token, sent as Bearer. Required with `pat`. */
  pat?: string
  /** `INCORTA_OIDC_TOKEN_URL`: the OAuth 2.0 / OIDC token endpoint (Keycloak: `.../realms/{realm}/protocol/openid-connect/token`). Required with `oidc`. */
  oidcTokenUrl?: string
  /** `INCORTA_OIDC_CLIENT_ID`. Required with `oidc`. */
  oidcClientId?: string
  /** `INCORTA_OIDC_CLIENT_SECRET` / `_FILE`. Required for the client_credentials grant; optional (public client) for the password grant. */
  oidcClientSecret?: string
  /** `INCORTA_OIDC_USERNAME`: set it to use the password grant; unset, the client_credentials grant is used. */
  oidcUsername?: string
  /** `INCORTA_OIDC_PASSWORD` / `_FILE`. Required with `INCORTA_OIDC_USERNAME`. */
  oidcPassword?: string
  /** `INCORTA_POLL_INTERVAL_MS`: how often a running load is checked. Default 15000. */
  pollIntervalMs: number
  /** `INCORTA_REQUEST_TIMEOUT_MS`: timeout of one HTTP call to Incorta or its token endpoint. Default 30000. */
  requestTimeoutMs: number
  /** `INCORTA_MAX_CONCURRENT_REQUESTS`: calls to Incorta in flight at once, shared by every worker. Default 4. */
  maxConcurrentRequests: number
  /** In-process retries of one call after a 5xx or network failure. Default 3. */
  callRetries: number
  /** First retry backoff, ms, doubling per retry with full jitter. Default 500. */
  retryBaseMs: number
}

export const INCORTA_DEFAULTS = {
  auth: 'pat',
  pollIntervalMs: 15_000,
  requestTimeoutMs: 30_000,
  maxConcurrentRequests: 4,
  callRetries: 3,
  retryBaseMs: 500
} as const satisfies Partial<IncortaConfig>

/** The cluster's base URL without a trailing `/`, `/incorta` or `/incorta/api/v2`. */
export function clusterBase (url: string): string {
  return url.replace(/\/+$/, '').replace(/\/incorta(\/api\/v2)?$/i, '')
}

/** The tenant's page in the Incorta UI (`https://<cluster>/incorta/!<tenant>/`). */
export function tenantUiUrl (url: string, tenant: string): string {
  return `${clusterBase(url)}/incorta/!${encodeURIComponent(tenant)}/`
}

/** Variables holding the Incorta handler's own credentials (each also as `<NAME>_FILE`). */
export const INCORTA_CREDENTIAL_VARIABLES = ['INCORTA_PAT', 'INCORTA_OIDC_CLIENT_SECRET', 'INCORTA_OIDC_PASSWORD'] as const

/**
 * The `INCORTA_*` section of the environment, every problem named by its variable. Secrets also come from
 * `<NAME>_FILE` (how Kubernetes mounts them); setting both is a problem.
 */
export function readIncortaConfig (r: ConfigEnv): IncortaConfig {
  const config: IncortaConfig = {
    url: r.url('INCORTA_URL'),
    tenant: r.string('INCORTA_TENANT')?.trim(),
    auth: r.oneOf<IncortaAuthMode>('INCORTA_AUTH', ['pat', 'oidc'], INCORTA_DEFAULTS.auth),
    pat: r.secret('INCORTA_PAT'),
    oidcTokenUrl: r.url('INCORTA_OIDC_TOKEN_URL'),
    oidcClientId: r.string('INCORTA_OIDC_CLIENT_ID'),
    oidcClientSecret: r.secret('INCORTA_OIDC_CLIENT_SECRET'),
    oidcUsername: r.string('INCORTA_OIDC_USERNAME'),
    oidcPassword: r.secret('INCORTA_OIDC_PASSWORD'),
    pollIntervalMs: r.int('INCORTA_POLL_INTERVAL_MS', INCORTA_DEFAULTS.pollIntervalMs, 1, 3_600_000),
    requestTimeoutMs: r.int('INCORTA_REQUEST_TIMEOUT_MS', INCORTA_DEFAULTS.requestTimeoutMs, 100, 600_000),
    maxConcurrentRequests: r.int('INCORTA_MAX_CONCURRENT_REQUESTS', INCORTA_DEFAULTS.maxConcurrentRequests, 1, 1000),
    callRetries: INCORTA_DEFAULTS.callRetries,
    retryBaseMs: INCORTA_DEFAULTS.retryBaseMs
  }
  if (config.tenant !== undefined && /[/\\?#%\s]/.test(config.tenant)) {
    r.problems.push(`INCORTA_TENANT must be a tenant name without spaces, slashes, ?, # or %, got ${JSON.stringify(config.tenant)}`)
  }
  // Credentials are required only once Incorta is to be called (INCORTA_URL set): a deployment without Incorta needs none.
  if (config.url === undefined) return config
  const need = (name: string, value: string | undefined, why: string): void => { if (value === undefined) r.problems.push(`${name} is required ${why}`) }
  if (config.auth === 'pat') {
    need('INCORTA_PAT (or INCORTA_PAT_FILE)', config.pat, 'when INCORTA_AUTH=pat')
    return config
  }
  need('INCORTA_OIDC_TOKEN_URL', config.oidcTokenUrl, 'when INCORTA_AUTH=oidc')
  need('INCORTA_OIDC_CLIENT_ID', config.oidcClientId, 'when INCORTA_AUTH=oidc')
  if (config.oidcUsername !== undefined) {
    need('INCORTA_OIDC_PASSWORD (or INCORTA_OIDC_PASSWORD_FILE)', config.oidcPassword, 'with INCORTA_OIDC_USERNAME (the password grant)')
  } else {
    need('INCORTA_OIDC_CLIENT_SECRET (or INCORTA_OIDC_CLIENT_SECRET_FILE)', config.oidcClientSecret, 'for the client_credentials grant (or set INCORTA_OIDC_USERNAME and INCORTA_OIDC_PASSWORD for the password grant)')
  }
  return config
}
