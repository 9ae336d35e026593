/**
 * Service routes of the simulator (`/api/service/...`): users and groups with `filter`, API keys, the current
 * user, and OAuth-client tokens. Errors here use the service shape `{status, code, message}`.
 */
import { randomBytes } from 'node:crypto'
import { gatewayError } from './atlan-simulator-errors.js'
import { matchesFilter, paged, parseFilter, requireObject, type AtlanRoute } from './atlan-simulator-routes.js'

function listReply (all: unknown[], filtered: unknown[], query: URLSearchParams): { status: number, body: unknown } {
  return { status: 200, body: { totalRecord: all.length, filterRecord: filtered.length, records: paged(filtered, query) } }
}

export const serviceRoutes: AtlanRoute[] = [
  {
    method: 'POST',
    path: '/api/service/oauth-clients/token',
    anonymous: true,
    handle: (ctx) => {
      const body = requireObject(ctx.body)
      const client = ctx.settings.oauthClients.find((c) => c.clientId === body.clientId && c.clientSecret === body.clientSecret)
      if (client === undefined) throw gatewayError(401, 'Invalid client credentials', 'invalid_client')
      const token = `atlan-oauth-${randomBytes(24).toString('hex')}`
      const ttl = ctx.settings.tokenTtlSeconds
      const username = `service-account-${client.clientId}`
      if (ctx.store.userByName(username) === undefined) ctx.store.addUser(username, `${client.clientId}@service-account.atlan.local`)
      ctx.store.tokens.set(token, { username, expiresAt: ctx.store.now() + ttl * 1000 })
      ctx.store.tokensMinted++
      return { status: 200, body: { access_token: token, expires_in: ttl, token_type: 'Bearer' } }
    }
  },
  {
    method: 'GET',
    path: '/api/service/users/current',
    handle: (ctx) => {
      const user = ctx.store.userByName(ctx.caller)
      return { status: 200, body: { id: user?.id, username: ctx.caller, email: user?.email, enabled: true } }
    }
  },
  {
    method: 'GET',
    path: '/api/service/users',
    handle: (ctx) => {
      const filter = parseFilter(ctx.query)
      const all = ctx.store.users
      const filtered = all.filter((u) => matchesFilter({ ...u }, filter))
      return listReply(all, filtered.map((u) => ({ id: u.id, username: u.username, email: u.email, firstName: u.firstName, lastName: u.lastName, enabled: u.enabled })), ctx.query)
    }
  },
  {
    method: 'GET',
    path: '/api/service/v2/groups',
    handle: (ctx) => {
      const filter = parseFilter(ctx.query)
      const all = ctx.store.groups
      return listReply(all, all.filter((g) => matchesFilter({ ...g }, filter)), ctx.query)
    }
  },
  {
    method: 'GET',
    path: '/api/service/apikeys',
    handle: (ctx) => {
      const filter = parseFilter(ctx.query)
      const all = ctx.store.apiKeys
      const records = all
        .map((k) => ({ id: k.id, clientId: k.clientId, displayName: k.displayName, attributes: { createdAt: k.createdAt, 'service-account': `service-account-${k.clientId}` } }))
        .filter((k) => matchesFilter(k, filter))
      return listReply(all, records, ctx.query)
    }
  }
]
