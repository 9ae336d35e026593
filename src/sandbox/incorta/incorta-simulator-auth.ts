/**
 * Who may call the Incorta simulator: a personal access token (each with an optional expiry; rotating one
 * retires the old token) or a JWT from the sandbox's OIDC server, and whether the token's user has
 * "Enable Public API". Incorta answers 401 for a token it cannot use and 403 for a user without the right.
 */
import { INC } from './incorta-simulator-bodies.js'
import type { OidcServer } from './incorta-simulator-oidc.js'
import { IncortaProblem } from './incorta-simulator-routes.js'

export class IncortaAuth {
  readonly #pats: Map<string, string>
  /** token -> epoch ms after which it is refused */
  readonly #expiry = new Map<string, number>()

  constructor (pats: Record<string, string>, readonly users: Record<string, { publicApi: boolean }>, readonly oidc: OidcServer) {
    this.#pats = new Map(Object.entries(pats))
  }

  get firstPat (): string | undefined { return [...this.#pats.keys()][0] }

  /** Throws the 401 or 403 Incorta would answer, unless the Authorization header carries a usable token. */
  async authenticate (authorization: string | undefined): Promise<void> {
    const match = /^Bearer\s+(\S+)$/i.exec(authorization ?? '')
    if (match === null) throw new IncortaProblem(401, INC.unauthorized, 'Missing or malformed Authorization header; send a Bearer token.')
    const token = match[1] as string
    const expiresAt = this.#expiry.get(token)
    // An expired personal access token is refused like an unknown one (Incorta answers 401 either way).
    const pat = expiresAt !== undefined && expiresAt <= Date.now() ? undefined : this.#pats.get(token)
    const user = pat ?? (await this.oidc.verify(token))?.username
    if (user === undefined) throw new IncortaProblem(401, INC.unauthorized, 'The token is invalid or has expired.')
    if (this.users[user]?.publicApi !== true) throw new IncortaProblem(403, INC.forbidden, `User [${user}] is not allowed to use the Public API.`)
  }

  addPat (token: string, user: string, expiresAt?: number): void {
    this.#pats.set(token, user)
    if (expiresAt === undefined) this.#expiry.delete(token)
    else this.#expiry.set(token, expiresAt)
  }

  expirePat (token: string): void { this.#expiry.set(token, Date.now()) }

  revokePat (token: string): void { this.#pats.delete(token) }

  rotatePat (old: string): string {
    const user = this.#pats.get(old)
    if (user === undefined) throw new Error('unknown personal access token')
    this.#pats.delete(old)
    const next = `${old.replace(/-r\d+$/, '')}-r${Date.now()}`
    this.#pats.set(next, user)
    return next
  }
}
