/**
 * Error classes with stable codes (Fastify's FST_ERR_* habit). Routes map them to the contract's
 * RequestValidationError / SystemError shapes; workers map upstream ones to task failures.
 * Messages here are user-facing: never put a secret or a stack trace in one.
 */

export interface InputProblem {
  /** Dot path of the offending field, e.g. `dataProduct.components.0.specific.source.name`. */
  path: string
  /** What is wrong, in words a data product owner understands. */
  message: string
  /** How to fix it. */
  hint?: string
}

export class AdapterError extends Error {
  readonly code: string
  readonly statusCode: number
  constructor (code: string, statusCode: number, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = new.target.name
    this.code = code
    this.statusCode = statusCode
  }
}

/** The request or its descriptor is invalid: 400 RequestValidationError with every problem listed. */
export class DescriptorInvalidError extends AdapterError {
  readonly problems: InputProblem[]
  constructor (problems: InputProblem[], message = summarise(problems)) {
    super('PRV_ERR_DESCRIPTOR_INVALID', 400, message)
    this.problems = problems
  }
}

/** A status route was asked about a token it does not know (never issued, or expired). */
export class UnknownTokenError extends AdapterError {
  constructor (readonly token: string) {
    super('PRV_ERR_UNKNOWN_TOKEN', 400, `no task for token ${JSON.stringify(token)}`)
  }
}

/** Redis (or another dependency of ours) cannot be reached: 503, the caller may retry. */
export class DependencyUnavailableError extends AdapterError {
  constructor (what: string, options?: { cause?: unknown }) {
    super('PRV_ERR_DEPENDENCY_UNAVAILABLE', 503, `${what} is unavailable; try again shortly`, options)
  }
}

/** Invalid process configuration, detected at start-up. */
export class ConfigError extends AdapterError {
  constructor (message: string) {
    super('PRV_ERR_CONFIG', 500, message)
  }
}

/**
 * An upstream call failed for good (a 4xx problem, an invalid connector config): retrying cannot help.
 * `message` quotes the upstream reason so the task's `result` is readable.
 */
export class PermanentUpstreamError extends AdapterError {
  constructor (message: string, readonly upstreamStatus?: number, options?: { cause?: unknown }) {
    super('PRV_ERR_UPSTREAM_PERMANENT', 502, message, options)
  }
}

/**
 * An upstream call failed in a way that may pass (network, 5xx, 429, 409 try-again-later).
 * `retryAfterMs` is the server's own hint when it sent one.
 */
export class TransientUpstreamError extends AdapterError {
  constructor (message: string, readonly upstreamStatus?: number, readonly retryAfterMs?: number, options?: { cause?: unknown }) {
    super('PRV_ERR_UPSTREAM_TRANSIENT', 503, message, options)
  }
}

function summarise (problems: InputProblem[]): string {
  const first = problems[0]
  if (first === undefined) return 'the request is invalid'
  const more = problems.length > 1 ? ` (and ${problems.length - 1} more problem${problems.length > 2 ? 's' : ''})` : ''
  return `${first.path === '' ? '' : first.path + ': '}${first.message}${more}`
}
