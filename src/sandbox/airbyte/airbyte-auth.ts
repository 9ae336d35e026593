/**
 * Who may call the simulator: client-credentials tokens minted by `POST /applications/token` (expiring after
 * their TTL), static bearer tokens, and self-managed Airbyte's Basic auth. Owns the token table; says nothing
 * about what an authenticated caller may do (Airbyte OSS has no per-resource permissions either).
 */
import { randomBytes, timingSafeEqual } from 'node:crypto'
import { optionalString, requireBody } from './airbyte-http.js'
import { badRequest, invalidApiKey } from './airbyte-problems.js'
import type { SimulatorRoute } from './airbyte-router.js'

export interface AuthSettings {
  clientId: string
  clientSecret: string
  basicUser: string
  basicPassword: string
  bearerTokens: string[]
  tokenTtlSeconds: number
}

export class TokenIssuer {
  readonly #settings: AuthSettings
  /** token -> expiry (epoch ms) */
  readonly #minted = new Map<string, number>()
  readonly #onMint: () => void

  constructor (settings: AuthSettings, onMint: () => void) {
    this.#settings = settings
    this.#onMint = onMint
  }

  /** The grant type is ignored: the spec spells it `grant-type`, SDKs send `grant_type`, Airbyte reads neither. */
  mint (clientId: string, clientSecret: string): { access_token: string, token_type: 'Bearer', expires_in: number } {
    if (!sameSecret(clientId, this.#settings.clientId) || !sameSecret(clientSecret, this.#settings.clientSecret)) {
      throw invalidApiKey('Invalid client_id or client_secret.')
    }
    this.#pruneExpired()
    const token = randomBytes(24).toString('base64url')
    this.#minted.set(token, Date.now() + this.#settings.tokenTtlSeconds * 1000)
    this.#onMint()
    return { access_token: token, token_type: 'Bearer', expires_in: this.#settings.tokenTtlSeconds }
  }

  /** Throws a 401 `invalid-api-key` problem unless the Authorization header carries valid credentials. */
  authenticate (authorization: string | undefined): void {
    if (authorization === undefined || authorization.trim() === '') {
      throw invalidApiKey('No credentials were provided in the Authorization header.')
    }
    const space = authorization.indexOf(' ')
    const scheme = authorization.slice(0, space).toLowerCase()
    const credentials = authorization.slice(space + 1).trim()
    if (space > 0 && scheme === 'bearer' && this.#bearerIsValid(credentials)) return
    if (space > 0 && scheme === 'basic' && this.#basicIsValid(credentials)) return
    throw invalidApiKey('The access token is invalid or has expired.')
  }

  /** Every token minted so far stops working now, as when Airbyte revokes tokens before their `expires_in`. */
  expireAll (): void {
    this.#minted.clear()
  }

  #bearerIsValid (token: string): boolean {
    if (this.#settings.bearerTokens.some((known) => sameSecret(token, known))) return true
    const expiresAt = this.#minted.get(token)
    return expiresAt !== undefined && Date.now() < expiresAt
  }

  #basicIsValid (encoded: string): boolean {
    const decoded = Buffer.from(encoded, 'base64').toString('utf8')
    const colon = decoded.indexOf(':')
    if (colon < 0) return false
    return sameSecret(decoded.slice(0, colon), this.#settings.basicUser) &&
      sameSecret(decoded.slice(colon + 1), this.#settings.basicPassword)
  }

  #pruneExpired (): void {
    const now = Date.now()
    for (const [token, expiresAt] of this.#minted) if (expiresAt <= now) this.#minted.delete(token)
  }
}

function sameSecret (given: string, expected: string): boolean {
  const a = Buffer.from(given)
  const b = Buffer.from(expected)
  return a.length === b.length && timingSafeEqual(a, b)
}

export function tokenRoute (issuer: TokenIssuer): SimulatorRoute {
  return {
    method: 'POST',
    path: '/applications/token',
    anonymous: true,
    handle: ({ body }) => {
      const fields = requireBody(body)
      const clientId = optionalString(fields, 'client_id')
      const clientSecret = optionalString(fields, 'client_secret')
      if (clientId === undefined || clientSecret === undefined) {
        throw badRequest('client_id and client_secret are required')
      }
      return { status: 200, body: issuer.mint(clientId, clientSecret) }
    }
  }
}
