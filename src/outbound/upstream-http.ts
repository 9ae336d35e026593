/**
 * The JSON HTTP caller every target client is built on: auth header, per-attempt timeout, shared concurrency
 * limit, in-process retries of transient failures, and error messages that quote the upstream reason.
 * It knows no target's endpoints and never puts request bodies, headers or secrets into an error.
 */
import { setTimeout as delay } from 'node:timers/promises'
import { PermanentUpstreamError, TransientUpstreamError } from '../errors.js'
import { MIN_SECRET_LENGTH, SecretScrubber } from '../secrets/secret-scrubber.js'
import { inSpan, injectTraceContext, SpanKind } from '../observability/tracing.js'
import { operationOf, targetLabel, upstreamCallMetrics } from '../observability/upstream-telemetry.js'
import type { CredentialProvider } from './credential-provider.js'
import { attemptSignal } from './attempt-signal.js'
import { fetchTransport, undiciTransport, type AnswerHeaders } from './http-transport.js'

/** Runs one attempt under a shared limit (the lead plugs in a Redis-backed one). */
export interface ConcurrencyLimiter {
  run: <T>(fn: () => Promise<T>) => Promise<T>
}

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'
export type QueryValue = string | number | boolean | undefined | ReadonlyArray<string | number>

export interface UpstreamRequest {
  method: HttpMethod
  /** Path below `baseUrl`, starting with `/`. Appears in error messages, so it must hold no secret. */
  path: string
  /**
   * The path's template (`/sources/{id}`), for metrics and spans. Default: `path` with every segment that
   * may be an id or a name replaced by `{id}`; name it where a path carries a word-like name.
   */
  route?: string
  /** Arrays are sent exploded (`a=1&a=2`); undefined values are dropped. */
  query?: Record<string, QueryValue>
  /** Sent as JSON. */
  body?: unknown
  signal?: AbortSignal
  /** Non-2xx statuses handed back to the caller instead of thrown (e.g. 404 on a delete). */
  okStatuses?: readonly number[]
  /** Statuses the caller handles itself even though they would count as transient (e.g. 409 on a job start). */
  passStatuses?: readonly number[]
  /**
   * May a failure whose effect is unknown (timeout, reset connection, 500/502/504) be retried in-process?
   * Default: every method but POST. A POST that may have been applied is left to the step to re-run, since
   * the step finds what the first POST made before creating anything.
   */
  idempotent?: boolean
}

/** A problem answer (`{status, type, title, detail, data}`, the 429 `{message}`, or text), reduced to words. */
export interface UpstreamProblem {
  /** Short problem type (`try-again-later`, `resource-not-found`) or title, when the body had one. */
  type?: string
  /** The most specific reason given: `data.message`, then `detail`, `message`, `title` or the text. */
  message?: string
  /** `422 unprocessable-entity: <message>`, as quoted in error messages. */
  reason: string
}

export interface UpstreamResponse<T> {
  status: number
  /** Parsed JSON; undefined for 204 or an empty body. */
  body: T
  /** Set for a non-2xx status returned through okStatuses / passStatuses. */
  problem?: UpstreamProblem
}

export interface UpstreamHttp {
  request: <T>(req: UpstreamRequest) => Promise<UpstreamResponse<T>>
}

/**
 * A target's own reading of a non-2xx answer: `transient` (retry; may have been applied), `refused` (retry;
 * refused before any work, so even a POST may be retried), `permanent` (fail now), or undefined for the
 * generic rule (5xx, 429 and 408 transient; 429 and 503 refused; everything else permanent).
 */
export type UpstreamClassification = 'transient' | 'refused' | 'permanent'
export type UpstreamClassifier = (status: number, problem: UpstreamProblem) => UpstreamClassification | undefined

export interface UpstreamHttpOptions {
  baseUrl: string
  /** Named in every error message: `<Target> rejected PATCH /sources/...`. */
  target: string
  /** The `target` label of metrics: the handler module id. Default `target` in lower case. */
  targetId?: string
  credentials: CredentialProvider
  /** Timeout of one attempt, ms. */
  timeoutMs: number
  /** Retries of one call after a transient failure, in-process, before TransientUpstreamError. */
  retries: number
  /** First backoff, ms; doubles per retry, full jitter. */
  retryBaseMs: number
  /** Longest in-process wait; a longer Retry-After is handed to the engine instead. Default 30000. */
  maxRetryWaitMs?: number
  /** Default: no limit. */
  limiter?: ConcurrencyLimiter
  /**
   * Masks known secret values. Applied to the raw text of every error answer before it is parsed or shortened,
   * and to every error message. Default: identity.
   */
  redact?: (s: string) => string
  /** Sends every attempt through this instead of undici's pool (src/outbound/http-transport.ts). */
  fetch?: typeof fetch
  /** The target's own error rules (a busy-resource 409 that means "try again later"), before the generic ones. */
  classify?: UpstreamClassifier
}

const NO_LIMIT: ConcurrencyLimiter = { run: async (fn) => await fn() }
/** Network failures that prove the request never reached the server, so even a POST may be retried. */
const NOT_SENT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH'])

interface RawAnswer { status: number, headers: AnswerHeaders, text: string }

interface Failure { reason: string, status?: number, retryAfterMs?: number, maybeApplied: boolean }

export function createUpstreamHttp (opts: UpstreamHttpOptions): UpstreamHttp {
  const transport = opts.fetch === undefined ? undiciTransport() : fetchTransport(opts.fetch)
  const limiter = opts.limiter ?? NO_LIMIT
  const redact = opts.redact ?? ((s: string) => s)
  const maxRetryWaitMs = opts.maxRetryWaitMs ?? 30_000
  const baseUrl = opts.baseUrl.replace(/\/+$/, '')
  const targetId = opts.targetId ?? targetLabel(opts.target)
  const server = new URL(baseUrl)

  const attempt = async (req: UpstreamRequest, url: string, spanName: string, template: string): Promise<RawAnswer & { auth?: string }> =>
    await inSpan(spanName, {
      'http.request.method': req.method, 'url.template': template, 'server.address': server.hostname, 'tech_adapter.target': targetId
    }, async (span) => {
      const answer = await send(req, url)
      span?.setAttribute('http.response.status_code', answer.status)
      return answer
    }, SpanKind.CLIENT)

  const send = async (req: UpstreamRequest, url: string): Promise<RawAnswer & { auth?: string }> => {
    // Inside the attempt's span: a token call it makes is its child.
    const auth = await opts.credentials.getAuthHeader(req.signal)
    const headers: Record<string, string> = { accept: 'application/json' }
    if (auth !== undefined) headers.authorization = auth
    if (req.body !== undefined) headers['content-type'] = 'application/json'
    injectTraceContext(headers)
    const attemptAbort = attemptSignal(opts.timeoutMs, req.signal)
    let res
    try {
      // The body is read inside the attempt, so the limiter slot covers the whole exchange.
      res = await transport(url, {
        method: req.method,
        headers,
        body: req.body === undefined ? undefined : JSON.stringify(req.body),
        signal: attemptAbort.signal
      })
    } finally {
      attemptAbort.done()
    }
    const raw = res.text
    // An error answer may quote what it was sent (a secret among it): scrub it whole, before any of it is
    // parsed, shortened or quoted, since a cut secret is harder to recognise.
    const text = res.status >= 200 && res.status < 300 ? raw : maskCredential(redact(raw), auth)
    return { status: res.status, headers: res.headers, text, auth }
  }

  const request = async <T>(req: UpstreamRequest): Promise<UpstreamResponse<T>> => {
    const url = buildUrl(baseUrl, req.path, req.query)
    const label = `${req.method} ${req.path}`
    const operation = operationOf(targetId, req.method, req.path, req.route)
    const template = operation.slice(req.method.length + 1)
    const metrics = upstreamCallMetrics(targetId, operation)
    const handBack = new Set([...(req.okStatuses ?? []), ...(req.passStatuses ?? [])])
    const idempotent = req.idempotent ?? req.method !== 'POST'
    let reminted = false
    let failures = 0
    for (;;) {
      req.signal?.throwIfAborted()
      let failure: Failure
      try {
        const answer = await limiter.run(async () => {
          const started = performance.now()
          try {
            const sent = await attempt(req, url, operation, template)
            metrics.attempt(sent.status, (performance.now() - started) / 1000)
            return sent
          } catch (err) {
            // A credential provider's failure is not a call to the target.
            if (!(err instanceof TransientUpstreamError || err instanceof PermanentUpstreamError)) metrics.attempt(undefined, (performance.now() - started) / 1000)
            throw err
          }
        })
        const { status } = answer
        if ((status >= 200 && status < 300) || handBack.has(status)) {
          return toResponse<T>(answer, label, opts.target, redact)
        }
        const problem = parseProblem(answer)
        if (status === 401 && !reminted) {
          // The token may have expired early or been revoked: mint a new one and try once more.
          opts.credentials.invalidate(answer.auth)
          reminted = true
          metrics.retry()
          continue
        }
        const kind = opts.classify?.(status, problem) ?? genericClassification(status)
        if (status === 423) metrics.lockedOut()
        if (kind === 'permanent') {
          throw new PermanentUpstreamError(redact(`${opts.target} rejected ${label}: ${problem.reason}`), status)
        }
        failure = {
          reason: problem.reason,
          status,
          retryAfterMs: parseRetryAfter(answer.headers),
          maybeApplied: kind === 'transient'
        }
      } catch (err) {
        if (req.signal?.aborted === true) throw err
        if (err instanceof PermanentUpstreamError) throw err
        if (err instanceof TransientUpstreamError) {
          // From the credential provider: the target was not called.
          failure = { reason: err.message, status: err.upstreamStatus, retryAfterMs: err.retryAfterMs, maybeApplied: false }
        } else {
          failure = { reason: networkReason(err), maybeApplied: !NOT_SENT_CODES.has(errorCode(err) ?? '') }
        }
      }
      failures += 1
      const message = (what: string): string => redact(`${opts.target} ${label} ${what}: ${failure.reason}`)
      if (failure.status === 429 || (failure.status === 503 && failure.retryAfterMs !== undefined)) metrics.rateLimited()
      if (failure.maybeApplied && !idempotent) {
        throw new TransientUpstreamError(message('failed and may have been applied, so it is not retried here'), failure.status, failure.retryAfterMs)
      }
      if (failures > opts.retries) {
        throw new TransientUpstreamError(message(`still failing after ${failures} attempts`), failure.status, failure.retryAfterMs)
      }
      const waitMs = failure.retryAfterMs ?? Math.random() * opts.retryBaseMs * 2 ** (failures - 1)
      if (waitMs > maxRetryWaitMs) {
        metrics.lockedOut()
        // Do not hold a worker slot through a long server-requested pause: the engine reschedules the step.
        throw new TransientUpstreamError(message(`asked to wait ${Math.round(waitMs / 1000)} s`), failure.status, waitMs)
      }
      await delay(waitMs, undefined, { signal: req.signal })
      metrics.retry()
    }
  }

  return { request }
}

/**
 * The Authorization header sent (a minted token the process-wide scrubber has never seen) masked in an error
 * answer that quotes it back, in any shape the scrubber knows.
 */
function maskCredential (text: string, auth: string | undefined): string {
  if (auth === undefined) return text
  const own = new SecretScrubber()
  own.add(auth)
  const credential = auth.replace(/^\S+\s+/, '')
  if (credential.length >= MIN_SECRET_LENGTH) own.add(credential)
  return own.scrub(text)
}

function toResponse<T> (answer: RawAnswer, label: string, target: string, redact: (s: string) => string): UpstreamResponse<T> {
  const ok = answer.status >= 200 && answer.status < 300
  const problem = ok ? undefined : parseProblem(answer)
  if (answer.status === 204 || answer.text.trim() === '') return { status: answer.status, body: undefined as T, problem }
  try {
    return { status: answer.status, body: JSON.parse(answer.text) as T, problem }
  } catch {
    if (!ok) return { status: answer.status, body: undefined as T, problem }
    throw new PermanentUpstreamError(redact(`${target} answered ${label} with ${answer.status} and a body that is not JSON: ${excerpt(redact(answer.text))}`), answer.status)
  }
}

function genericClassification (status: number): UpstreamClassification {
  // 429 and 503 are refusals before any work; other 5xx (and a 408) may have half-happened.
  if (status === 429 || status === 503) return 'refused'
  if (status >= 500 || status === 408) return 'transient'
  return 'permanent'
}

/**
 * Reads a problem body whatever its content type (application/json or application/problem+json): problem JSON, the 429 `{message}`, `{error, error_description}`, or text.
 */
export function parseProblem (answer: { status: number, text: string }): UpstreamProblem {
  let body: unknown
  try {
    body = JSON.parse(answer.text)
  } catch {
    const text = excerpt(answer.text)
    return { message: text === '' ? undefined : text, reason: text === '' ? String(answer.status) : `${answer.status}: ${text}` }
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    const text = excerpt(answer.text)
    return { message: text, reason: `${answer.status}: ${text}` }
  }
  const b = body as Record<string, unknown>
  const data = b.data !== null && typeof b.data === 'object' ? b.data as Record<string, unknown> : undefined
  // Atlas (Atlan's metadata store) answers `{errorCode: "ATLAS-404-00-009", errorMessage, errorCause?}`.
  const type = shortType(b.type) ?? str(b.title) ?? str(b.error) ?? str(b.errorCode)
  const message = str(data?.message) ?? str(b.detail) ?? str(b.message) ?? str(b.error_description) ?? str(b.errorMessage) ?? str(b.title)
  const head = type === undefined ? String(answer.status) : `${answer.status} ${type}`
  return { type, message, reason: message === undefined || message === type ? head : `${head}: ${excerpt(message)}` }
}

function shortType (type: unknown): string | undefined {
  const t = str(type)
  if (t === undefined || t === 'about:blank') return undefined
  // A type is often a URL whose fragment or last segment names the problem (`https://.../errors#try-again-later`).
  return t.split(/[#/]/).filter(Boolean).pop()
}

function str (v: unknown): string | undefined {
  if (typeof v === 'string') return v.trim() === '' ? undefined : v.trim()
  if (v !== null && typeof v === 'object') return JSON.stringify(v)
  return undefined
}

function excerpt (text: string): string {
  return text.replace(/\s+/g, ' ').trim().slice(0, 300)
}

function buildUrl (baseUrl: string, path: string, query?: Record<string, QueryValue>): string {
  const url = new URL(baseUrl + path)
  for (const [key, value] of Object.entries(query ?? {})) {
    if (value === undefined) continue
    if (Array.isArray(value)) for (const v of value) url.searchParams.append(key, String(v))
    else url.searchParams.append(key, String(value))
  }
  return url.toString()
}

/** The system or undici error code: on the error itself (undici's request) or on its cause (fetch's TypeError). */
function errorCode (err: unknown): string | undefined {
  const e = err as { code?: unknown, cause?: { code?: unknown } } | undefined
  if (typeof e?.code === 'string') return e.code
  return typeof e?.cause?.code === 'string' ? e.cause.code : undefined
}

/** Words for a network failure, without the URL or headers. */
export function networkReason (err: unknown): string {
  if (err instanceof Error && err.name === 'TimeoutError') return 'timed out'
  const code = errorCode(err)
  if (code !== undefined) return `network error ${code}`
  return err instanceof Error ? `network error (${err.message})` : 'network error'
}

/** `Retry-After` (seconds or HTTP date) or `retry-after-ms`, in ms; undefined when absent or unreadable. */
export function parseRetryAfter (headers: AnswerHeaders, now = Date.now()): number | undefined {
  const ms = headers.get('retry-after-ms')
  if (ms !== null && /^\d+(\.\d+)?$/.test(ms.trim())) return Math.ceil(Number(ms))
  const value = headers.get('retry-after')
  if (value === null) return undefined
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000
  const date = Date.parse(value)
  return Number.isNaN(date) ? undefined : Math.max(0, date - now)
}

/** Waits for `promise`, or rejects as soon as `signal` aborts (the promise itself keeps running). */
export async function abortable<T> (promise: Promise<T>, signal?: AbortSignal): Promise<T> {
  if (signal === undefined) return await promise
  signal.throwIfAborted()
  return await new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason)
    signal.addEventListener('abort', onAbort, { once: true })
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort))
  })
}
