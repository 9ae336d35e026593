/**
 * Outbound credentials: one interface every target client takes, one implementation per auth flow a target offers.
 * A provider owns its token cache and the token call; it never logs, and its errors never carry the secret it holds.
 */
import { PermanentUpstreamError, TransientUpstreamError } from '../errors.js'
import { SecretScrubber } from '../secrets/secret-scrubber.js'
import { inSpan, SpanKind } from '../observability/tracing.js'
import { targetLabel, tokenRefreshed } from '../observability/upstream-telemetry.js'
import { abortable, networkReason, parseProblem, parseRetryAfter } from './upstream-http.js'

export interface CredentialProvider {
  /** The `Authorization` header value, or undefined when the target takes no credentials. */
  getAuthHeader: (signal?: AbortSignal) => Promise<string | undefined>
  /**
   * The target answered 401: drop the cached token so the next getAuthHeader mints a new one. Given the header
   * that was refused, a token minted since (by a concurrent caller's 401) is kept.
   */
  invalidate: (rejectedHeader?: string) => void
}

export function staticBearer (token: string): CredentialProvider {
  const header = `Bearer ${token}`
  return { getAuthHeader: async () => header, invalidate: () => {} }
}

export function basicAuth (user: string, password: string): CredentialProvider {
  const header = `Basic ${Buffer.from(`${user}:${password}`, 'utf8').toString('base64')}`
  return { getAuthHeader: async () => header, invalidate: () => {} }
}

export function noAuth (): CredentialProvider {
  return { getAuthHeader: async () => undefined, invalidate: () => {} }
}

export interface OAuthClientCredentialsOptions {
  /** Full URL of the token endpoint, e.g. `https://idp.example/realms/r/protocol/openid-connect/token`. */
  tokenUrl: string
  clientId: string
  clientSecret: string
  /** `json`: `{client_id, client_secret, grant_type}` as a JSON body; `form`: url-encoded (RFC 6749, Keycloak / OIDC). */
  body: 'json' | 'form'
  /** Refresh this long before `expires_in` runs out (capped at half the lifetime). Default 60000. */
  refreshSkewMs?: number
  /** Names the target in error messages. Default `upstream`. */
  target?: string
  /** The `target` label of the token-refresh metric: the handler module id. Default `target` in lower case. */
  targetId?: string
  /** Timeout of one token call, ms. Default 30000. */
  timeoutMs?: number
  /** Lifetime assumed when the answer has no `expires_in`, seconds. Default 300. */
  defaultExpiresInSeconds?: number
  fetch?: typeof fetch
  /** Clock, for tests. Default Date.now. */
  now?: () => number
  /** Masks other known secret values in the token endpoint's error answers (the client secret always is). */
  redact?: (s: string) => string
}

interface CachedToken { header: string, refreshAt: number }

export function oauthClientCredentials (opts: OAuthClientCredentialsOptions): CredentialProvider {
  const doFetch = opts.fetch ?? globalThis.fetch
  const now = opts.now ?? Date.now
  const skewMs = opts.refreshSkewMs ?? 60_000
  const target = opts.target ?? 'upstream'
  const tokenPath = safePath(opts.tokenUrl)
  const own = new SecretScrubber()
  own.add(opts.clientSecret)
  const scrub = (text: string): string => opts.redact === undefined ? own.scrub(text) : opts.redact(own.scrub(text))
  let cached: CachedToken | undefined
  let inFlight: Promise<CachedToken> | undefined

  const targetId = opts.targetId ?? targetLabel(target)
  // One span and one count per token call, whatever it ends with; the span carries the path, never the body.
  const mint = async (): Promise<CachedToken> => await inSpan(`POST ${tokenPath}`, {
    'http.request.method': 'POST', 'url.template': tokenPath, 'tech_adapter.target': targetId, 'tech_adapter.token_request': true
  }, async () => {
    try {
      const token = await mintOnce()
      tokenRefreshed(targetId, true)
      return token
    } catch (err) {
      tokenRefreshed(targetId, false)
      throw err
    }
  }, SpanKind.CLIENT)

  const mintOnce = async (): Promise<CachedToken> => {
    const fields = { client_id: opts.clientId, client_secret: opts.clientSecret, grant_type: 'client_credentials' }
    const json = opts.body === 'json'
    let res: Response
    try {
      res = await doFetch(opts.tokenUrl, {
        method: 'POST',
        headers: { 'content-type': json ? 'application/json' : 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: json ? JSON.stringify(fields) : new URLSearchParams(fields).toString(),
        signal: AbortSignal.timeout(opts.timeoutMs ?? 30_000)
      })
    } catch (err) {
      throw new TransientUpstreamError(`${target} token call POST ${tokenPath} failed: ${networkReason(err)}`, undefined, undefined, { cause: err })
    }
    const text = await res.text().catch(() => '')
    if (!res.ok) {
      // parseProblem's reason starts with the status and reads {error, error_description} as well as problems.
      // Scrubbed whole before parseProblem shortens it: a cut secret is harder to recognise.
      const reason = parseProblem({ status: res.status, text: scrub(text) }).reason
      if (res.status >= 500 || res.status === 429) {
        throw new TransientUpstreamError(`${target} token call POST ${tokenPath} failed: ${reason}`, res.status, parseRetryAfter(res.headers))
      }
      const what = res.status === 400 || res.status === 401
        ? `the client credentials were refused (check the client id and secret for ${target})`
        : 'the token request was refused'
      throw new PermanentUpstreamError(`${target} token call POST ${tokenPath}: ${reason}: ${what}`, res.status)
    }
    let parsed: { access_token?: unknown, token_type?: unknown, expires_in?: unknown }
    try {
      parsed = JSON.parse(text) as typeof parsed
    } catch {
      throw new PermanentUpstreamError(`${target} token call POST ${tokenPath} answered ${res.status} with a body that is not JSON`, res.status)
    }
    if (typeof parsed.access_token !== 'string' || parsed.access_token === '') {
      throw new PermanentUpstreamError(`${target} token call POST ${tokenPath} answered without an access_token`, res.status)
    }
    const lifetimeMs = 1000 * (typeof parsed.expires_in === 'number' && parsed.expires_in > 0
      ? parsed.expires_in
      : (opts.defaultExpiresInSeconds ?? 300))
    // A skew larger than the lifetime (180 s tokens against a 60 s skew) would re-mint on every call.
    const refreshAt = now() + lifetimeMs - Math.min(skewMs, lifetimeMs / 2)
    return { header: `Bearer ${parsed.access_token}`, refreshAt }
  }

  return {
    getAuthHeader: async (signal) => {
      if (cached !== undefined && now() < cached.refreshAt) return cached.header
      if (inFlight === undefined) {
        // Concurrent callers share one token call; a caller giving up does not cancel it for the others.
        inFlight = mint().then((token) => { cached = token; return token }).finally(() => { inFlight = undefined })
      }
      return (await abortable(inFlight, signal)).header
    },
    invalidate: (rejectedHeader) => {
      if (rejectedHeader === undefined || cached?.header === rejectedHeader) cached = undefined
    }
  }
}

function safePath (url: string): string {
  try {
    return new URL(url).pathname
  } catch {
    return url
  }
}
