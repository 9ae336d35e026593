/**
 * AUTH_MODE=jwt: a bearer JWT verified with jose against the issuer's JWKS (fetched on demand, cached, re-fetched
 * on an unknown `kid` at most every 30 s), the configured issuer, audiences and algorithms. The caller is the
 * token's `sub`. A JWKS that cannot be fetched is the service's problem (503), not the caller's (401).
 */
import { createRemoteJWKSet, errors, jwtVerify, type JWTPayload } from 'jose'
import { ConfigError } from '../errors.js'
import type { JwtAuthConfig } from '../config.js'
import { bearerCredential, invalidToken, type AuthFailure, type AuthOutcome, type CallerAuthenticator } from './auth-outcome.js'

// `sub` lands in Redis and in log lines: keep it printable and bounded.
const USABLE_SUBJECT = /^[\x20-\x7e]{1,256}$/

function scopesOf (payload: JWTPayload): string[] {
  const raw = payload.scope ?? payload.scp
  if (typeof raw === 'string') return raw.split(' ').filter(Boolean)
  if (Array.isArray(raw)) return raw.filter((s): s is string => typeof s === 'string')
  return []
}

function failureOf (err: unknown): AuthFailure {
  if (err instanceof errors.JWTExpired) return invalidToken('the token has expired')
  if (err instanceof errors.JWTClaimValidationFailed) {
    const claim = err.claim
    return invalidToken(claim === 'iss' || claim === 'aud'
      ? `the token was not issued for this service (its "${claim}" claim is not accepted)`
      : `the token's "${claim}" claim is not valid (${err.reason})`)
  }
  if (err instanceof errors.JWSSignatureVerificationFailed) return invalidToken('the token\'s signature does not verify')
  if (err instanceof errors.JWKSNoMatchingKey || err instanceof errors.JWKSMultipleMatchingKeys) {
    return invalidToken('the token is not signed by a key of the accepted issuer')
  }
  if (err instanceof errors.JOSEAlgNotAllowed || err instanceof errors.JOSENotSupported) {
    return invalidToken('the token\'s signing algorithm is not accepted')
  }
  if (err instanceof errors.JWSInvalid || err instanceof errors.JWTInvalid || err instanceof errors.JWKInvalid) {
    return invalidToken('the token is not a valid signed JWT')
  }
  // JWKS timeout, invalid JWKS document, network failure: nothing the caller can fix.
  return {
    status: 503,
    message: 'the service cannot verify tokens right now (its JWKS endpoint is unavailable)',
    hint: 'Retry shortly; operators: check AUTH_JWT_JWKS_URL.',
    cause: err
  }
}

export function createJwtAuthenticator (config: JwtAuthConfig | undefined): CallerAuthenticator {
  if (config === undefined) throw new ConfigError('invalid configuration:\n  - AUTH_MODE=jwt needs AUTH_JWT_JWKS_URL, AUTH_JWT_ISSUER and AUTH_JWT_AUDIENCE')
  const jwks = createRemoteJWKSet(new URL(config.jwksUrl), { timeoutDuration: config.jwksTimeoutMs })
  const options = {
    issuer: config.issuer,
    audience: config.audience,
    algorithms: config.algorithms,
    clockTolerance: config.clockToleranceSeconds,
    requiredClaims: ['sub', 'exp']
  }
  return {
    mode: 'jwt',
    async authenticate (authorization): Promise<AuthOutcome> {
      const credential = bearerCredential(authorization)
      if ('failure' in credential) return { ok: false, failure: credential.failure }
      let payload: JWTPayload
      try {
        ({ payload } = await jwtVerify(credential.token, jwks, options))
      } catch (err) {
        return { ok: false, failure: failureOf(err) }
      }
      const sub = payload.sub
      if (sub === undefined || !USABLE_SUBJECT.test(sub)) return { ok: false, failure: invalidToken('the token\'s "sub" claim is not a usable identity') }
      const required = config.requiredScope
      if (required !== undefined && !scopesOf(payload).includes(required)) {
        return {
          ok: false,
          failure: {
            status: 403,
            error: 'insufficient_scope',
            scope: required,
            message: `the token lacks the scope "${required}" this service requires`,
            hint: `Ask the identity provider for a token with the scope "${required}".`
          }
        }
      }
      return { ok: true, caller: { id: sub, mode: 'jwt' } }
    },
    close () {}
  }
}
