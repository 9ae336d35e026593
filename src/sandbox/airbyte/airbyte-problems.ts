/**
 * The simulator's error replies, shaped like Airbyte's public API problems: RFC 9457 fields
 * `{status, type, title, detail, data?}`, but sent as plain `application/json` (Airbyte does not use
 * `application/problem+json`). Route code throws a `SimulatorProblem`; only the server pipeline turns it into bytes.
 */

export type ProblemSlug =
  | 'bad-request'
  | 'value-not-found'
  | 'invalid-api-key'
  | 'forbidden'
  | 'resource-not-found'
  | 'unprocessable-entity'
  | 'unexpected-problem'
  | 'service-unavailable'
  | 'try-again-later'
  | 'state-conflict'

const STATUS_OF: Record<ProblemSlug, number> = {
  'bad-request': 400,
  'value-not-found': 400,
  'invalid-api-key': 401,
  forbidden: 403,
  'resource-not-found': 404,
  'unprocessable-entity': 422,
  'unexpected-problem': 500,
  'service-unavailable': 503,
  'try-again-later': 409,
  'state-conflict': 409
}

export interface ProblemBody {
  status: number
  type: string
  title: string
  detail: string
  data?: Record<string, unknown>
}

export class SimulatorProblem extends Error {
  readonly status: number
  readonly slug: ProblemSlug
  readonly data: Record<string, unknown> | undefined

  constructor (slug: ProblemSlug, detail: string, data?: Record<string, unknown>, status = STATUS_OF[slug]) {
    super(detail)
    this.name = 'SimulatorProblem'
    this.slug = slug
    this.status = status
    this.data = data
  }

  toBody (): ProblemBody {
    const body: ProblemBody = {
      status: this.status,
      type: `https://reference.airbyte.com/reference/errors#${this.slug}`,
      // Airbyte uses the slug itself as the title.
      title: this.slug,
      detail: this.message
    }
    if (this.data !== undefined) body.data = this.data
    return body
  }
}

export function badRequest (detail: string): SimulatorProblem {
  return new SimulatorProblem('bad-request', detail)
}

export function valueNotFound (detail: string): SimulatorProblem {
  return new SimulatorProblem('value-not-found', detail)
}

export function invalidApiKey (detail: string): SimulatorProblem {
  return new SimulatorProblem('invalid-api-key', detail)
}

export function resourceNotFound (resourceType: string, resourceId: string): SimulatorProblem {
  return new SimulatorProblem('resource-not-found', `Could not find a resource for: ${resourceId}`,
    { resourceType, resourceId })
}

/** A connector configuration the connector's JSON schema rejects; Airbyte puts the validator text in data.message. */
export function unprocessableEntity (message: string): SimulatorProblem {
  return new SimulatorProblem('unprocessable-entity', 'The body of the request was not understood', { message })
}

/** Airbyte hides the real reason of this 409 in data.message; detail is always the same sentence. */
export function tryAgainLater (message: string): SimulatorProblem {
  return new SimulatorProblem('try-again-later', 'Please try again later.', { message })
}

export function stateConflict (detail: string): SimulatorProblem {
  return new SimulatorProblem('state-conflict', detail)
}

export function unexpectedProblem (detail = 'An unexpected problem has occurred.'): SimulatorProblem {
  return new SimulatorProblem('unexpected-problem', detail)
}

export function serviceUnavailable (detail = 'Service unavailable.'): SimulatorProblem {
  return new SimulatorProblem('service-unavailable', detail)
}

export function methodNotAllowed (method: string, path: string): SimulatorProblem {
  return new SimulatorProblem('bad-request', `Method ${method} is not allowed on ${path}`, undefined, 405)
}
