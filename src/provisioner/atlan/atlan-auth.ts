/**
 * Atlan credentials: the API token as a static Bearer, or an OAuth client whose token is minted at
 * `POST /api/service/oauth-clients/token {clientId, clientSecret}` (a JSON body with Atlan's camelCase names,
 * not the RFC's form), cached until shortly before `expires_in`, minted once for concurrent callers, and
 * minted again after a 401. Errors never carry the secret or the token.
 */
import { PermanentUpstreamError, TransientUpstreamError } from '../../errors.js'
import { staticBearer, type CredentialProvider } from '../../outbound/credential-provider.js'
import { abortable, networkReason, parseProblem, parseRetryAfter } from '../../outbound/upstream-http.js'
import { SecretScrubber } from '../../secrets/secret-scrubber.js'
import { inSpan, SpanKind } from '../../observability/tracing.js'
import { tokenRefreshed } from '../../observability/upstream-telemetry.js'

export const OAUTH_TOKEN_PATH = '/api/service/oauth-clients/token'

export type AtlanAuthSettings =
  | { auth: 'api_token', apiToken: string }
  | { auth: 'oauth_client', clientId: string, clientSecret: string }

export interface AtlanAuthOptions {
  /** The tenant base (ATLAN_URL); required. */
  baseUrl: string
  /** Timeout of the token call, ms; required. */
  timeoutMs: number
  /** The (rate-limited) fetch every Atlan call goes through; required. */
  fetch: typeof fetch
  /** Refresh this long before expiry (at most half the lifetime). Default 60000. */
  refreshSkewMs?: number
  /** Clock, for tests. Default Date.now. */
  now?: () => number
  /** Masks other known secret values in the token call's error answers (the client secret always is). Default none. */
  redact?: (s: string) => string
}

/** Atlan's default OAuth token lifetime, seconds, when the answer has no `expires_in`. */
const DEFAULT_EXPIRES_IN = 600

export function atlanCredentials (settings: AtlanAuthSettings, opts: AtlanAuthOptions): CredentialProvider {
  if (settings.auth === 'api_token') return staticBearer(settings.apiToken)
  const now = opts.now ?? Date.now
  const skewMs = opts.refreshSkewMs ?? 60_000
  const url = `${opts.baseUrl.replace(/\/+$/, '')}${OAUTH_TOKEN_PATH}`
  const own = new SecretScrubber()
  own.add(settings.clientSecret)
  const scrub = (s: string): string => opts.redact === undefined ? own.scrub(s) : opts.redact(own.scrub(s))
  let cached: { header: string, refreshAt: number } | undefined
  let inFlight: Promise<{ header: string, refreshAt: number }> | undefined

  // One span and one count per token call, as for every other target's token (credential-provider.ts).
  const mint = async (): Promise<{ header: string, refreshAt: number }> => await inSpan(`POST ${OAUTH_TOKEN_PATH}`, {
    'http.request.method': 'POST', 'url.template': OAUTH_TOKEN_PATH, 'tech_adapter.target': 'atlan', 'tech_adapter.token_request': true
  }, async () => {
    try {
      const token = await mintOnce()
      tokenRefreshed('atlan', true)
      return token
    } catch (err) {
      tokenRefreshed('atlan', false)
      throw err
    }
  }, SpanKind.CLIENT)

  const mintOnce = async (): Promise<{ header: string, refreshAt: number }> => {
    let res: Response
    try {
      res = await opts.fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify({ clientId: settings.clientId, clientSecret: settings.clientSecret }),
        signal: AbortSignal.timeout(opts.timeoutMs)
      })
    } catch (err) {
      // A throttling pause of the shared limiter passes through untouched.
      if (err instanceof TransientUpstreamError) throw err
      throw new TransientUpstreamError(`Atlan token call POST ${OAUTH_TOKEN_PATH} failed: ${networkReason(err)}`, undefined, undefined, { cause: err })
    }
    const text = await res.text().catch(() => '')
    if (!res.ok) {
      const reason = parseProblem({ status: res.status, text: scrub(text) }).reason
      if (res.status >= 500 || res.status === 429) {
        throw new TransientUpstreamError(`Atlan token call POST ${OAUTH_TOKEN_PATH} failed: ${reason}`, res.status, parseRetryAfter(res.headers))
      }
      throw new PermanentUpstreamError(`Atlan token call POST ${OAUTH_TOKEN_PATH}: ${reason}: check ATLAN_CLIENT_ID and ATLAN_CLIENT_SECRET`, res.status)
    }
    let body: { access_token?: unknown, accessToken?: unknown, expires_in?: unknown, expiresIn?: unknown }
    try {
      body = JSON.parse(text) as typeof body
    } catch {
      throw new PermanentUpstreamError(`Atlan token call POST ${OAUTH_TOKEN_PATH} answered with a body that is not JSON`, res.status)
    }
    const token = body.access_token ?? body.accessToken
    if (typeof token !== 'string' || token === '') throw new PermanentUpstreamError(`Atlan token call POST ${OAUTH_TOKEN_PATH} answered without an access_token`, res.status)
    const expiresIn = body.expires_in ?? body.expiresIn
    const lifetimeMs = 1000 * (typeof expiresIn === 'number' && expiresIn > 0 ? expiresIn : DEFAULT_EXPIRES_IN)
    return { header: `Bearer ${token}`, refreshAt: now() + lifetimeMs - Math.min(skewMs, lifetimeMs / 2) }
  }

  return {
    getAuthHeader: async (signal) => {
      if (cached !== undefined && now() < cached.refreshAt) return cached.header
      inFlight ??= mint().then((t) => { cached = t; return t }).finally(() => { inFlight = undefined })
      return (await abortable(inFlight, signal)).header
    },
    invalidate: (rejected) => {
      if (rejected === undefined || cached?.header === rejected) cached = undefined
    }
  }
}
