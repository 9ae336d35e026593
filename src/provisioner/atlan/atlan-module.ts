/**
 * The Atlan handler as the core sees it: its `ATLAN_*` configuration, its credentials, its outbound limits,
 * and the factory that builds the handler around a lazily created client, the principal mapping, the per-minute
 * budget and the qualified-name reservations (shared through Redis in workers, in-process in the API role).
 */
import type { RedisClient } from '../../queue/redis-connection.js'
import { defineHandlerModule } from '../handler-module.js'
import { createAtlanClient, type AtlanClient } from './atlan-client.js'
import { ATLAN_CREDENTIAL_VARIABLES, readAtlanConfig, type AtlanConfig } from './atlan-config.js'
import { createAtlanHandler } from './atlan-handler.js'
import { loadPrincipalTable, lookupMapper, tableMapper, type PrincipalMapper } from './atlan-principals.js'
import { memoryRateGate, redisRateGate } from './atlan-rate-limit.js'
import { ConfigError } from '../../errors.js'
import type { AtlanAuthSettings } from './atlan-auth.js'
import { memoryRecentWrites, RECENT_WRITE_MS, type RecentWrites } from './atlan-state.js'

/** How long a chosen Connection qualified name stays reserved: longer than one create takes. */
const RESERVATION_MS = 60_000

function authSettings (config: AtlanConfig): AtlanAuthSettings {
  if (config.auth === 'oauth_client') {
    if (config.clientId === undefined || config.clientSecret === undefined) throw new ConfigError('ATLAN_CLIENT_ID and ATLAN_CLIENT_SECRET are required when ATLAN_AUTH=oauth_client')
    return { auth: 'oauth_client', clientId: config.clientId, clientSecret: config.clientSecret }
  }
  if (config.apiToken === undefined) throw new ConfigError('ATLAN_API_TOKEN is required when ATLAN_AUTH=api_token')
  return { auth: 'api_token', apiToken: config.apiToken }
}

function reservations (shared: { redis: RedisClient, keyPrefix: string } | undefined): (qualifiedName: string) => Promise<boolean> {
  if (shared !== undefined) {
    return async (qn) => await shared.redis.set(`${shared.keyPrefix}:qualified-name:${qn}`, '1', 'PX', RESERVATION_MS, 'NX') === 'OK'
  }
  const taken = new Map<string, number>()
  return async (qn) => {
    const now = Date.now()
    for (const [k, until] of taken) if (until <= now) taken.delete(k)
    if (taken.has(qn)) return false
    taken.set(qn, now + RESERVATION_MS)
    return true
  }
}

function recentWrites (shared: { redis: RedisClient, keyPrefix: string } | undefined): RecentWrites {
  if (shared === undefined) return memoryRecentWrites()
  const key = (typeName: string, name: string): string => `${shared.keyPrefix}:recent:${typeName}:${name}`
  return {
    remember: async (typeName, name, guid, at) => { await shared.redis.set(key(typeName, name), JSON.stringify({ guid, at }), 'PX', RECENT_WRITE_MS) },
    recall: async (typeName, name) => {
      const raw = await shared.redis.get(key(typeName, name))
      if (raw === null) return undefined
      try {
        const parsed = JSON.parse(raw) as { guid?: unknown, at?: unknown }
        return typeof parsed.guid === 'string' && typeof parsed.at === 'number' ? { guid: parsed.guid, at: parsed.at } : undefined
      } catch {
        return undefined
      }
    }
  }
}

export const atlanModule = defineHandlerModule({
  id: 'atlan',
  readConfig: readAtlanConfig,
  credentialVariables: ATLAN_CREDENTIAL_VARIABLES,
  outboundLimits: (config) => ({ maxConcurrent: config.maxConcurrentRequests, leaseMs: config.requestTimeoutMs + 5_000 }),
  create: (config, deps) => {
    const gate = deps.shared === undefined
      ? memoryRateGate(config.rateLimitPerMinute)
      : redisRateGate(deps.shared.redis, `${deps.shared.keyPrefix}:rate`, config.rateLimitPerMinute)
    let client: AtlanClient | undefined
    const clientFor = (): AtlanClient => {
      client ??= createAtlanClient({
        url: config.url,
        auth: authSettings(config),
        requestTimeoutMs: config.requestTimeoutMs,
        retries: config.callRetries,
        retryBaseMs: config.retryBaseMs
      }, { gate, limiter: deps.limiter, fetch: deps.fetch, redact: deps.redact })
      return client
    }
    let mapper: PrincipalMapper
    if (config.principalMapping === 'table' && config.principalMapFile !== undefined) {
      const file = config.principalMapFile
      let table: ReturnType<typeof loadPrincipalTable> | undefined
      const get = (): ReturnType<typeof loadPrincipalTable> => { table ??= loadPrincipalTable(file); return table }
      mapper = { user: async (ref, signal) => await tableMapper(get()).user(ref, signal), group: async (ref, signal) => await tableMapper(get()).group(ref, signal) }
    } else {
      mapper = lookupMapper(clientFor)
    }
    return createAtlanHandler({ config, client: clientFor, mapper, reserveQualifiedName: reservations(deps.shared), recent: recentWrites(deps.shared) })
  }
})
