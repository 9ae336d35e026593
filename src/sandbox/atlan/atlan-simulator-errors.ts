/**
 * The two error body shapes Atlan answers with: Atlas (`/api/meta/...`: `{errorCode, errorMessage, errorCause?}`)
 * and the gateway / service layer (`/api/service/...`, authentication, throttling: `{status, code, message}`).
 * Routes throw these; the simulator's pipeline turns them into replies.
 */

export class SimulatorError extends Error {
  constructor (readonly status: number, readonly body: Record<string, unknown>, readonly headers: Record<string, string> = {}) {
    super(typeof body.errorMessage === 'string' ? body.errorMessage : String(body.message ?? status))
  }
}

/** An Atlas error, e.g. `atlasError(404, 'ATLAS-404-00-009', 'Instance Connection with unique attribute ... does not exist')`. */
export function atlasError (status: number, errorCode: string, errorMessage: string, errorCause?: string): SimulatorError {
  return new SimulatorError(status, { errorCode, errorMessage, ...(errorCause === undefined ? {} : { errorCause }) })
}

/** A gateway or service error (`/api/service/...`, 401, 429). */
export function gatewayError (status: number, message: string, code?: string, headers: Record<string, string> = {}): SimulatorError {
  return new SimulatorError(status, { status, code: code ?? String(status), message }, headers)
}

export function badRequest (message: string): SimulatorError {
  return atlasError(400, 'ATLAS-400-00-001', message)
}
