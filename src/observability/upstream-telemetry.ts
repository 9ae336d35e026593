/**
 * Metrics of the calls the generic outbound layer makes to a target, with bounded labels: `target` is the
 * handler module id, `operation` the method and path template (`GET /sources/{id}`). A client names its
 * template (`UpstreamRequest.route`); otherwise every path segment that may be an id or a name becomes `{id}`,
 * and a target never gets more than MAX_OPERATIONS_PER_TARGET operations (the rest count as `<METHOD> other`).
 */
import {
  upstreamLockouts, upstreamRateLimitWaits, upstreamRequestDuration, upstreamRequests, upstreamRetries, upstreamTokenRefreshes
} from './metrics.js'
import { tallyCall } from './call-tally.js'

/** More distinct operations than a client can have: a guard against a path template that leaks values. */
export const MAX_OPERATIONS_PER_TARGET = 64
// A fixed word of an API path (`sources`, `indexsearch`, `load-plan`): letters, `-` and `_`, no digits, short.
const STATIC_SEGMENT = /^[A-Za-z][A-Za-z_-]{0,31}$/
const TEMPLATE_SEGMENT = /^\{[A-Za-z0-9_]+\}$/

const seen = new Map<string, Set<string>>()

/** `GET /sources/{id}` from a method and a template or a concrete path (query dropped). */
export function operationOf (target: string, method: string, path: string, route?: string): string {
  const template = (route ?? path).split('?', 1)[0] ?? ''
  const segments = template.split('/').map((s) => s === '' || STATIC_SEGMENT.test(s) || TEMPLATE_SEGMENT.test(s) ? s : '{id}')
  const operation = `${method} ${segments.join('/') || '/'}`
  let known = seen.get(target)
  if (known === undefined) seen.set(target, known = new Set())
  if (known.has(operation)) return operation
  if (known.size >= MAX_OPERATIONS_PER_TARGET) return `${method} other`
  known.add(operation)
  return operation
}

export function statusClass (status: number | undefined): string {
  if (status === undefined) return 'network'
  if (status >= 500) return '5xx'
  if (status >= 400) return '4xx'
  if (status >= 300) return '3xx'
  return '2xx'
}

/** The metric label of a target named for people (`Airbyte` -> `airbyte`, the module id). */
export function targetLabel (target: string): string {
  return target.toLowerCase().replace(/[^a-z0-9_-]+/g, '-')
}

export interface UpstreamCallMetrics {
  /** One attempt ended: `status` undefined for a network failure or a timeout. */
  attempt: (status: number | undefined, seconds: number) => void
  retry: () => void
  /** The target asked for a pause (429, Retry-After on 503). */
  rateLimited: () => void
  /** The target shut us out longer than an in-process wait, or answered 423. */
  lockedOut: () => void
}

export function upstreamCallMetrics (target: string, operation: string): UpstreamCallMetrics {
  return {
    attempt: (status, seconds) => {
      tallyCall(target, operation)
      upstreamRequests.inc({ target, operation, status_class: statusClass(status) })
      upstreamRequestDuration.observe({ target, operation }, seconds)
    },
    retry: () => { upstreamRetries.inc({ target, operation }) },
    rateLimited: () => { upstreamRateLimitWaits.inc({ target }) },
    lockedOut: () => { upstreamLockouts.inc({ target }) }
  }
}

/** A client's own limiter made a call wait (a shared per-minute budget spent), outside the generic layer. */
export function rateLimitWaited (target: string): void {
  upstreamRateLimitWaits.inc({ target: targetLabel(target) })
}

/** A target shut every call out for a while (a 429 lock-out shared by the workers), outside the generic layer. */
export function lockedOut (target: string): void {
  upstreamLockouts.inc({ target: targetLabel(target) })
}

export function tokenRefreshed (target: string, ok: boolean): void {
  upstreamTokenRefreshes.inc({ target: targetLabel(target), outcome: ok ? 'success' : 'failure' })
}
