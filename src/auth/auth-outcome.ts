/**
 * What authenticating a request yields, whatever the mode: a caller identity or an RFC 6750 refusal, and the
 * parsing of the `Authorization: Bearer` header both bearer and jwt modes read. No I/O, no Fastify.
 */
import type { AuthMode } from '../config.js'

export interface Caller {
  /** Token label, JWT `sub`, or `anonymous` with AUTH_MODE=none. Recorded with tasks and in log lines. */
  id: string
  mode: AuthMode
}

/** Why a request was refused, in the terms of RFC 6750 §3. */
export interface AuthFailure {
  status: 401 | 403 | 503
  /** RFC 6750 error code; absent when the request carried no credentials at all (§3.1). */
  error?: 'invalid_request' | 'invalid_token' | 'insufficient_scope'
  /** User-facing reason. Never quotes the token. */
  message: string
  hint: string
  /** With `insufficient_scope`: the scope that was missing. */
  scope?: string
  /** With a 503: what failed, for the service log only. */
  cause?: unknown
}

export type AuthOutcome = { ok: true, caller: Caller } | { ok: false, failure: AuthFailure }

export interface CallerAuthenticator {
  readonly mode: AuthMode
  authenticate: (authorization: string | undefined) => AuthOutcome | Promise<AuthOutcome>
  close: () => void
}

const ASK_FOR_A_TOKEN = 'Send the header "Authorization: Bearer <token>" with a token this service accepts (ask its operators for one).'

/** The token of a `Bearer` Authorization header, or the failure to report. */
export function bearerCredential (authorization: string | undefined): { token: string } | { failure: AuthFailure } {
  if (authorization === undefined || authorization.trim() === '') {
    return { failure: { status: 401, message: 'authentication is required', hint: ASK_FOR_A_TOKEN } }
  }
  // RFC 7235: the scheme is case-insensitive; RFC 6750 §2.1: one space-free credential after it.
  const match = /^Bearer +([^\s]+) *$/i.exec(authorization)
  if (match?.[1] === undefined) {
    return { failure: { status: 401, error: 'invalid_request', message: 'the Authorization header is not of the form "Bearer <token>"', hint: ASK_FOR_A_TOKEN } }
  }
  return { token: match[1] }
}

export const invalidToken = (message: string): AuthFailure =>
  ({ status: 401, error: 'invalid_token', message, hint: ASK_FOR_A_TOKEN })
