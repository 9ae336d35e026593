/**
 * The Redis side of ResourceLedger: one hash per (handler, component) holding what the component owns upstream,
 * kind -> JSON OwnedResource, and the deployment's fingerprint key. Fingerprints are HMAC-SHA256 under a random
 * 32-byte key made once per deployment (SET NX, so every process agrees on it); a stored fingerprint of a value
 * that embeds a secret cannot be checked against guesses without that key. Holds ids and fingerprints only.
 */
import { createHmac, randomBytes } from 'node:crypto'
import type { OwnedResource, ResourceLedger } from '../provisioner/handler.js'
import type { RedisClient } from './redis-connection.js'
import type { RedisKeys } from './redis-keys.js'

/** JSON with object keys sorted, so equal values serialise equally whatever their key order. */
export function canonicalJson (value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v === undefined ? null : v)).join(',')}]`
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`
  }
  return JSON.stringify(value) ?? 'null'
}

export function hmacFingerprint (key: Buffer, value: unknown): string {
  return createHmac('sha256', key).update(canonicalJson(value)).digest('base64url')
}

function parsed (raw: string): OwnedResource | undefined {
  try {
    const value = JSON.parse(raw) as unknown
    return value !== null && typeof value === 'object' ? value as OwnedResource : undefined
  } catch {
    return undefined
  }
}

export class RedisResourceLedgers {
  private key: Promise<Buffer> | undefined

  constructor (private readonly redis: RedisClient, private readonly keys: RedisKeys) {}

  /** The deployment's key: made by the first process that needs it, read by every other. */
  private async fingerprintKey (): Promise<Buffer> {
    this.key ??= (async () => {
      await this.redis.set(this.keys.fingerprintKey, randomBytes(32).toString('base64'), 'NX')
      const stored = await this.redis.get(this.keys.fingerprintKey)
      if (stored === null) throw new Error('the fingerprint key vanished from Redis right after it was written')
      return Buffer.from(stored, 'base64')
    })().catch((err: unknown) => { this.key = undefined; throw err })
    return await this.key
  }

  for (handlerId: string, componentId: string): ResourceLedger {
    const hash = this.keys.ownedResources(handlerId, componentId)
    return {
      read: async () => {
        const out: Record<string, OwnedResource> = {}
        for (const [kind, raw] of Object.entries(await this.redis.hgetall(hash))) {
          const entry = parsed(raw)
          if (entry !== undefined) out[kind] = entry
        }
        return out
      },
      write: async (kind, entry) => { await this.redis.hset(hash, kind, JSON.stringify(entry)) },
      forget: async (kind) => { await this.redis.hdel(hash, kind) },
      fingerprint: async (value) => hmacFingerprint(await this.fingerprintKey(), value)
    }
  }
}

/** The same contract in memory, for tools and tests that run a handler without Redis. */
export class MemoryResourceLedgers {
  private readonly entries = new Map<string, Map<string, OwnedResource>>()
  private readonly key = randomBytes(32)

  for (handlerId: string, componentId: string): ResourceLedger {
    const id = `${handlerId} ${componentId}`
    const map = (): Map<string, OwnedResource> => {
      let m = this.entries.get(id)
      if (m === undefined) { m = new Map(); this.entries.set(id, m) }
      return m
    }
    return {
      read: async () => Object.fromEntries([...map()].map(([k, v]) => [k, { ...v }])),
      write: async (kind, entry) => { map().set(kind, { ...entry }) },
      forget: async (kind) => { map().delete(kind) },
      fingerprint: async (value) => hmacFingerprint(this.key, value)
    }
  }
}
