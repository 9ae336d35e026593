/**
 * Who is calling: turns a request's `Authorization` header into a caller identity or a refusal, for the mode
 * AUTH_MODE names. Knows nothing of Fastify (the authentication plugin sends the replies); never returns, logs or
 * stores a presented token, only the caller's label (bearer) or `sub` (jwt).
 */
import type { AuthConfig } from '../config.js'
import { bearerCredential, invalidToken, type AuthOutcome, type CallerAuthenticator } from './auth-outcome.js'
import { BearerTokenStore } from './bearer-token-store.js'
import { createJwtAuthenticator } from './jwt-verifier.js'

export type { AuthFailure, AuthOutcome, Caller, CallerAuthenticator } from './auth-outcome.js'

export interface AuthenticatorOptions {
  log: (level: 'info' | 'warn', message: string) => void
}

function bearerAuthenticator (auth: AuthConfig, opts: AuthenticatorOptions): CallerAuthenticator {
  const store = new BearerTokenStore({ file: auth.bearerTokensFile, reloadMs: auth.bearerReloadMs, log: opts.log })
  return {
    mode: 'bearer',
    authenticate (authorization) {
      const credential = bearerCredential(authorization)
      if ('failure' in credential) return { ok: false, failure: credential.failure }
      const label = store.match(credential.token)
      return label === undefined
        ? { ok: false, failure: invalidToken('the bearer token is not accepted (unknown, revoked or mistyped)') }
        : { ok: true, caller: { id: label, mode: 'bearer' } }
    },
    close () { store.close() }
  }
}

const ANONYMOUS: AuthOutcome = { ok: true, caller: { id: 'anonymous', mode: 'none' } }

/**
 * The authenticator for `auth.mode`. Throws ConfigError at once when bearer mode has no usable token, so the
 * service refuses to start instead of refusing every request.
 */
export function createCallerAuthenticator (auth: AuthConfig, opts: AuthenticatorOptions): CallerAuthenticator {
  switch (auth.mode) {
    case 'bearer': return bearerAuthenticator(auth, opts)
    case 'jwt': return createJwtAuthenticator(auth.jwt)
    case 'none': return { mode: 'none', authenticate: () => ANONYMOUS, close () {} }
  }
}
