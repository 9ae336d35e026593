/**
 * The sandbox's OAuth 2.0 / OpenID Connect server in Keycloak's shapes (`POST /realms/{realm}/protocol/
 * openid-connect/token`, and the older `/auth/realms/...`): form-encoded `client_credentials`, `password` and
 * `refresh_token` grants; `{access_token, expires_in, refresh_expires_in, refresh_token?, token_type, scope}`
 * answers; `{error, error_description}` errors. Access tokens are HS256 JWTs the Incorta side verifies.
 * Tests can expire every token issued so far or revoke the refresh tokens, and read how many calls each grant got.
 */
import { randomBytes, randomUUID } from 'node:crypto'
import { jwtVerify, SignJWT } from 'jose'

export interface OidcSettings {
  /** Accepted clients: id -> secret (a public client has secret ''). Default `incorta-client` / `incorta-secret`. */
  clients: Record<string, string>
  /** Accepted users of the password grant: username -> password. Default `loader` / `loader-password`. */
  users: Record<string, string>
  /** `expires_in` of access tokens, s. Default 300. */
  accessTokenTtlSeconds: number
  /** `refresh_expires_in` of refresh tokens, s. Default 1800. */
  refreshTokenTtlSeconds: number
}

export class OidcError extends Error {
  constructor (readonly status: number, readonly error: string, readonly description: string) { super(description) }
  body (): { error: string, error_description: string } { return { error: this.error, error_description: this.description } }
}

interface RefreshRecord { username: string, clientId: string, expiresAt: number }

export interface VerifiedJwt { username: string }

export class OidcServer {
  readonly #key = randomBytes(32)
  readonly #refresh = new Map<string, RefreshRecord>()
  /** Serial of the next token issued; tokens below #minSerial are expired. */
  #serial = 0
  #minSerial = 0
  readonly calls: Record<'client_credentials' | 'password' | 'refresh_token', number> = { client_credentials: 0, password: 0, refresh_token: 0 }
  readonly issuer: string

  constructor (readonly settings: OidcSettings, issuer = 'http://sandbox/realms/incorta') {
    this.issuer = issuer
  }

  async token (form: Record<string, string>): Promise<Record<string, unknown>> {
    const grant = form.grant_type
    if (grant === 'client_credentials') {
      this.calls.client_credentials++
      const clientId = this.#client(form, true)
      return await this.#issue(`service-account-${clientId}`, clientId, false)
    }
    if (grant === 'password') {
      this.calls.password++
      const clientId = this.#client(form, false)
      const username = form.username ?? ''
      if (this.settings.users[username] === undefined || this.settings.users[username] !== form.password) {
        throw new OidcError(401, 'invalid_grant', 'Invalid user credentials')
      }
      return await this.#issue(username, clientId, true)
    }
    if (grant === 'refresh_token') {
      this.calls.refresh_token++
      const clientId = this.#client(form, false)
      const record = this.#refresh.get(form.refresh_token ?? '')
      if (record === undefined || record.expiresAt <= Date.now() || record.clientId !== clientId) {
        throw new OidcError(400, 'invalid_grant', 'Token is not active')
      }
      this.#refresh.delete(form.refresh_token ?? '')
      return await this.#issue(record.username, clientId, true)
    }
    throw new OidcError(400, 'unsupported_grant_type', `Unsupported grant_type ${JSON.stringify(grant ?? '')}`)
  }

  /** Every token issued until now is expired (access tokens are refused, refresh tokens inactive). */
  expireAll (): void {
    this.#minSerial = this.#serial
    this.#refresh.clear()
  }

  /** Every access token issued until now is refused; refresh tokens keep working (a token revoked early). */
  expireAccessTokens (): void { this.#minSerial = this.#serial }

  /** Refresh tokens stop working; access tokens keep theirs until they expire. */
  revokeRefreshTokens (): void { this.#refresh.clear() }

  async verify (token: string): Promise<VerifiedJwt | undefined> {
    try {
      const { payload } = await jwtVerify(token, this.#key, { issuer: this.issuer })
      if (typeof payload.serial !== 'number' || payload.serial < this.#minSerial || typeof payload.preferred_username !== 'string') return undefined
      return { username: payload.preferred_username }
    } catch {
      return undefined
    }
  }

  #client (form: Record<string, string>, confidential: boolean): string {
    const id = form.client_id ?? ''
    const secret = this.settings.clients[id]
    if (secret === undefined || (secret !== '' && secret !== form.client_secret) || (confidential && secret === '')) {
      throw new OidcError(401, 'invalid_client', 'Invalid client or Invalid client credentials')
    }
    return id
  }

  async #issue (username: string, clientId: string, withRefresh: boolean): Promise<Record<string, unknown>> {
    const ttl = this.settings.accessTokenTtlSeconds
    const now = Date.now()
    const accessToken = await new SignJWT({ preferred_username: username, azp: clientId, typ: 'Bearer', scope: 'profile email', serial: this.#serial++ })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setIssuer(this.issuer)
      .setSubject(randomUUID())
      .setJti(randomUUID())
      .setIssuedAt(Math.floor(now / 1000))
      .setExpirationTime(Math.floor(now / 1000) + ttl)
      .sign(this.#key)
    const answer: Record<string, unknown> = {
      access_token: accessToken,
      expires_in: ttl,
      refresh_expires_in: withRefresh ? this.settings.refreshTokenTtlSeconds : 0,
      token_type: 'Bearer',
      'not-before-policy': 0,
      scope: 'profile email'
    }
    if (withRefresh) {
      const refreshToken = randomBytes(32).toString('base64url')
      this.#refresh.set(refreshToken, { username, clientId, expiresAt: now + this.settings.refreshTokenTtlSeconds * 1000 })
      answer.refresh_token = refreshToken
      answer.session_state = randomUUID()
    }
    return answer
  }
}
