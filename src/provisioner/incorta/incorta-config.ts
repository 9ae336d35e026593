/**
 * The Incorta handler's settings, as read from the environment (the `INCORTA_*` variables) or built by tests.
 * Only the service's own credentials live here; a descriptor can name a tenant, never a credential.
 */

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

type Env = Record<string, string | undefined>

/**
 * The `INCORTA_*` section of the environment, every problem named by its variable. Secrets also come from
 * `<NAME>_FILE` (how Kubernetes mounts them); setting both is a problem.
 */
export function readIncortaConfig (env: Env, readFile: (path: string) => string): { config: IncortaConfig, problems: string[] } {
  const problems: string[] = []
  const str = (name: string): string | undefined => {
    const v = env[name]
    return v === undefined || v.trim() === '' ? undefined : v.trim()
  }
  const secret = (name: string): string | undefined => {
    const direct = env[name] === '' ? undefined : env[name]
    const file = str(`${name}_FILE`)
    if (direct !== undefined && file !== undefined) {
      problems.push(`${name} and ${name}_FILE are both set; set only one`)
      return undefined
    }
    if (file === undefined) return direct
    try {
      const value = readFile(file).replace(/\r?\n$/, '')
      if (value === '') problems.push(`${name}_FILE: ${file} is empty`)
      return value === '' ? undefined : value
    } catch (err) {
      problems.push(`${name}_FILE: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? 'error'})`)
      return undefined
    }
  }
  const int = (name: string, fallback: number, min: number, max: number): number => {
    const raw = str(name)
    if (raw === undefined) return fallback
    if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
      problems.push(`${name} must be an integer between ${min} and ${max}, got ${JSON.stringify(raw)}`)
      return fallback
    }
    return Number(raw)
  }
  const url = (name: string): string | undefined => {
    const raw = str(name)
    if (raw === undefined) return undefined
    try {
      const parsed = new URL(raw)
      if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new Error('protocol')
      return raw.replace(/\/+$/, '')
    } catch {
      problems.push(`${name} must be an http(s) URL, got ${JSON.stringify(raw)}`)
      return undefined
    }
  }
  const authRaw = str('INCORTA_AUTH') ?? INCORTA_DEFAULTS.auth
  if (authRaw !== 'pat' && authRaw !== 'oidc') problems.push(`INCORTA_AUTH must be pat or oidc, got ${JSON.stringify(authRaw)}`)
  const auth: IncortaAuthMode = authRaw === 'oidc' ? 'oidc' : 'pat'
  const config: IncortaConfig = {
    url: url('INCORTA_URL'),
    tenant: str('INCORTA_TENANT'),
    auth,
    pat: secret('INCORTA_PAT'),
    oidcTokenUrl: url('INCORTA_OIDC_TOKEN_URL'),
    oidcClientId: str('INCORTA_OIDC_CLIENT_ID'),
    oidcClientSecret: secret('INCORTA_OIDC_CLIENT_SECRET'),
    oidcUsername: str('INCORTA_OIDC_USERNAME'),
    oidcPassword: secret('INCORTA_OIDC_PASSWORD'),
    pollIntervalMs: int('INCORTA_POLL_INTERVAL_MS', INCORTA_DEFAULTS.pollIntervalMs, 1, 3_600_000),
    requestTimeoutMs: int('INCORTA_REQUEST_TIMEOUT_MS', INCORTA_DEFAULTS.requestTimeoutMs, 100, 600_000),
    maxConcurrentRequests: int('INCORTA_MAX_CONCURRENT_REQUESTS', INCORTA_DEFAULTS.maxConcurrentRequests, 1, 1000),
    callRetries: INCORTA_DEFAULTS.callRetries,
    retryBaseMs: INCORTA_DEFAULTS.retryBaseMs
  }
  if (config.tenant !== undefined && /[/\\?#%\s]/.test(config.tenant)) problems.push(`INCORTA_TENANT must be a tenant name without spaces, slashes, ?, # or %, got ${JSON.stringify(config.tenant)}`)
  // Credentials are required only once Incorta is to be called (INCORTA_URL set): a deployment without Incorta needs none.
  if (config.url !== undefined) {
    const need = (name: string, value: string | undefined, why: string): void => { if (value === undefined) problems.push(`${name} is required ${why}`) }
    if (auth === 'pat') need('INCORTA_PAT (or INCORTA_PAT_FILE)', config.pat, 'when INCORTA_AUTH=pat')
    if (auth === 'oidc') {
      need('INCORTA_OIDC_TOKEN_URL', config.oidcTokenUrl, 'when INCORTA_AUTH=oidc')
      need('INCORTA_OIDC_CLIENT_ID', config.oidcClientId, 'when INCORTA_AUTH=oidc')
      if (config.oidcUsername !== undefined) need('INCORTA_OIDC_PASSWORD (or INCORTA_OIDC_PASSWORD_FILE)', config.oidcPassword, 'with INCORTA_OIDC_USERNAME (the password grant)')
      else need('INCORTA_OIDC_CLIENT_SECRET (or INCORTA_OIDC_CLIENT_SECRET_FILE)', config.oidcClientSecret, 'for the client_credentials grant (or set INCORTA_OIDC_USERNAME and INCORTA_OIDC_PASSWORD for the password grant)')
    }
  }
  return { config, problems }
}
