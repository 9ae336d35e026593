/**
 * How the Incorta client authenticates: a personal access token sent as Bearer, or a JWT minted by the
 * customer's OAuth 2.0 / OpenID Connect server (Keycloak shapes: form-encoded `client_credentials` or `password`
 * grant, `refresh_token` to renew). The OIDC provider caches its token until shortly before `expires_in`,
 * refreshes with the refresh token when one was given, logs in again when the refresh is refused
 * (`invalid_grant`), runs one renewal at a time, and drops its token when Incorta answers 401 (upstream-http then
 * retries once). Its errors name the variable to fix and never carry a secret.
 */
import { ConfigError, PermanentUpstreamError, TransientUpstreamError } from '../../errors.js'
import { staticBearer, type CredentialProvider } from '../../outbound/credential-provider.js'
import { abortable, networkReason, parseRetryAfter } from '../../outbound/upstream-http.js'
import { SecretScrubber } from '../../secrets/secret-scrubber.js'
import { inSpan, SpanKind } from '../../observability/tracing.js'
import { tokenRefreshed } from '../../observability/upstream-telemetry.js'
import type { IncortaConfig } from './incorta-config.js'

export interface OidcProviderOptions {
  tokenUrl: string
  clientId: string
  clientSecret?: string
  /** With both, the password grant; otherwise client_credentials. */
  username?: string
  password?: string
  /** Timeout of one token call, ms. Default 30000. */
  timeoutMs?: number
  /** Renew this long before `expires_in` runs out (at most half the lifetime). Default 30000. */
  refreshSkewMs?: number
  fetch?: typeof fetch
  /** Clock, for tests. Default Date.now. */
  now?: () => number
  /** Masks other known secrets in the token endpoint's error answers (the client's own always are). */
  redact?: (s: string) => string
}

interface Token { header: string, refreshAt: number, refreshToken?: string, refreshUntil?: number }

class TokenCallError extends Error {
  constructor (readonly status: number, readonly error: string | undefined, readonly description: string | undefined) {
    super(`${status}${error === undefined ? '' : ` ${error}`}${description === undefined ? '' : `: ${description}`}`)
  }
}

/** A CredentialProvider for a Keycloak-style OIDC token endpoint. */
export function oidcProvider (opts: OidcProviderOptions): CredentialProvider {
  const doFetch = opts.fetch ?? globalThis.fetch
  const now = opts.now ?? Date.now
  const skewMs = opts.refreshSkewMs ?? 30_000
  const grant = opts.username !== undefined && opts.password !== undefined ? 'password' : 'client_credentials'
  const own = new SecretScrubber()
  for (const s of [opts.clientSecret, opts.password]) if (s !== undefined) own.add(s)
  const scrub = (s: string): string => opts.redact === undefined ? own.scrub(s) : opts.redact(own.scrub(s))
  const where = `the OIDC token endpoint (INCORTA_OIDC_TOKEN_URL, ${safePath(opts.tokenUrl)})`
  let cached: Token | undefined
  let inFlight: Promise<Token> | undefined

  // One span and one count per token call, as for every other target's token (credential-provider.ts): the
  // span carries the endpoint's path and the grant, never the form.
  const tokenPath = safePath(opts.tokenUrl)
  const call = async (fields: Record<string, string>): Promise<Token> => await inSpan(`POST ${tokenPath}`, {
    'http.request.method': 'POST', 'url.template': tokenPath, 'tech_adapter.target': 'incorta', 'tech_adapter.token_request': true
  }, async () => {
    try {
      const token = await callOnce(fields)
      tokenRefreshed('incorta', true)
      return token
    } catch (err) {
      tokenRefreshed('incorta', false)
      throw err
    }
  }, SpanKind.CLIENT)

  const callOnce = async (fields: Record<string, string>): Promise<Token> => {
    const form: Record<string, string> = { client_id: opts.clientId, ...fields }
    if (opts.clientSecret !== undefined && opts.clientSecret !== '') form.client_secret = opts.clientSecret
    let res: Response
    try {
      res = await doFetch(opts.tokenUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: new URLSearchParams(form).toString(),
        signal: AbortSignal.timeout(opts.timeoutMs ?? 30_000)
      })
    } catch (err) {
      throw new TransientUpstreamError(`Incorta authentication: ${where} could not be reached: ${networkReason(err)}`, undefined, undefined, { cause: err })
    }
    const text = scrub(await res.text().catch(() => ''))
    let body: Record<string, unknown> = {}
    try {
      const parsed: unknown = JSON.parse(text)
      if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) body = parsed as Record<string, unknown>
    } catch {}
    if (!res.ok) {
      const str = (v: unknown): string | undefined => typeof v === 'string' && v.trim() !== '' ? v.trim().slice(0, 200) : undefined
      if (res.status >= 500 || res.status === 429) {
        throw new TransientUpstreamError(`Incorta authentication: ${where} answered ${res.status}`, res.status, parseRetryAfter(res.headers))
      }
      throw new TokenCallError(res.status, str(body.error), str(body.error_description) ?? (Object.keys(body).length === 0 ? str(text) : undefined))
    }
    const access = body.access_token
    if (typeof access !== 'string' || access === '') {
      throw new PermanentUpstreamError(`Incorta authentication: ${where} answered ${res.status} without an access_token`, res.status)
    }
    const lifetimeMs = 1000 * (typeof body.expires_in === 'number' && body.expires_in > 0 ? body.expires_in : 300)
    const at = now()
    const token: Token = { header: `Bearer ${access}`, refreshAt: at + lifetimeMs - Math.min(skewMs, lifetimeMs / 2) }
    if (typeof body.refresh_token === 'string' && body.refresh_token !== '') {
      token.refreshToken = body.refresh_token
      // Keycloak: refresh_expires_in 0 means the refresh token lives as long as the session.
      const refreshMs = typeof body.refresh_expires_in === 'number' && body.refresh_expires_in > 0 ? body.refresh_expires_in * 1000 : undefined
      if (refreshMs !== undefined) token.refreshUntil = at + refreshMs - Math.min(skewMs, refreshMs / 2)
    }
    return token
  }

  const login = async (): Promise<Token> => {
    try {
      return grant === 'password'
        ? await call({ grant_type: 'password', username: opts.username as string, password: opts.password as string })
        : await call({ grant_type: 'client_credentials' })
    } catch (err) {
      if (!(err instanceof TokenCallError)) throw err
      const fix = err.error === 'invalid_client'
        ? 'check INCORTA_OIDC_CLIENT_ID and INCORTA_OIDC_CLIENT_SECRET'
        : err.error === 'invalid_grant'
          ? 'check INCORTA_OIDC_USERNAME and INCORTA_OIDC_PASSWORD'
          : err.error === 'unauthorized_client' || err.error === 'unsupported_grant_type'
            ? `the client may not use the ${grant} grant: enable it for INCORTA_OIDC_CLIENT_ID on the OIDC server`
            : 'check the INCORTA_OIDC_* settings'
      throw new PermanentUpstreamError(`Incorta authentication: ${where} refused the ${grant} login (${err.message}): ${fix}`, err.status)
    }
  }

  const renew = async (): Promise<Token> => {
    const refreshToken = cached?.refreshToken
    if (refreshToken !== undefined && (cached?.refreshUntil === undefined || now() < cached.refreshUntil)) {
      try {
        return await call({ grant_type: 'refresh_token', refresh_token: refreshToken })
      } catch (err) {
        // Keycloak answers invalid_grant ("Token is not active") for an expired or revoked refresh token.
        if (!(err instanceof TokenCallError)) throw err
      }
    }
    return await login()
  }

  return {
    getAuthHeader: async (signal) => {
      if (cached !== undefined && now() < cached.refreshAt) return cached.header
      // Concurrent callers share one renewal; a caller giving up does not cancel it for the others.
      inFlight ??= renew().then((token) => { cached = token; return token }).finally(() => { inFlight = undefined })
      return (await abortable(inFlight, signal)).header
    },
    invalidate: (rejected) => {
      // Keep the refresh token: the next call renews with it instead of a full login.
      if (cached !== undefined && (rejected === undefined || cached.header === rejected)) cached = { ...cached, refreshAt: 0 }
    }
  }
}

export interface IncortaAuthDeps {
  fetch?: typeof fetch
  redact?: (s: string) => string
  now?: () => number
}

/** The provider INCORTA_AUTH selects; a missing setting is a ConfigError naming the variable. */
export function incortaCredentials (config: IncortaConfig, deps: IncortaAuthDeps = {}): CredentialProvider {
  const missing = (name: string): never => { throw new ConfigError(`${name} is required when INCORTA_AUTH=${config.auth}`) }
  if (config.auth === 'pat') return staticBearer(config.pat ?? missing('INCORTA_PAT (or INCORTA_PAT_FILE)'))
  const tokenUrl = config.oidcTokenUrl ?? missing('INCORTA_OIDC_TOKEN_URL')
  const clientId = config.oidcClientId ?? missing('INCORTA_OIDC_CLIENT_ID')
  if (config.oidcUsername !== undefined && config.oidcPassword === undefined) missing('INCORTA_OIDC_PASSWORD (or INCORTA_OIDC_PASSWORD_FILE)')
  if (config.oidcUsername === undefined && config.oidcClientSecret === undefined) {
    throw new ConfigError('INCORTA_OIDC_CLIENT_SECRET (or _FILE) is required for the client_credentials grant; set INCORTA_OIDC_USERNAME and INCORTA_OIDC_PASSWORD for the password grant')
  }
  return oidcProvider({
    tokenUrl,
    clientId,
    clientSecret: config.oidcClientSecret,
    username: config.oidcUsername,
    password: config.oidcPassword,
    timeoutMs: config.requestTimeoutMs,
    fetch: deps.fetch,
    now: deps.now,
    redact: deps.redact
  })
}

function safePath (url: string): string {
  try {
    const u = new URL(url)
    return `${u.host}${u.pathname}`
  } catch {
    return 'unparseable URL'
  }
}
