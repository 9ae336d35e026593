/**
 * The components this adapter has provisioned, durably in Redis: `{<prefix>}:provisioned:<componentId>`, a hash
 * (handler, token, provisionedAt) written when a provision of the component completes and removed when an
 * unprovision completes. It outlives task retention, so an ACL update long after the provision still finds it.
 * The engine writes it; the API only reads it. Never holds a secret.
 */
import type { RedisClient } from './redis-connection.js'
import type { RedisKeys } from './redis-keys.js'
import type { ComponentTaskData } from './task-types.js'

export interface ProvisionedRecord {
  handlerId: string
  /** The provision task that completed last. */
  token: string
  provisionedAt: string
}

export class ProvisionedRegistry {
  constructor (private readonly redis: RedisClient, private readonly keys: RedisKeys) {}

  key (componentId: string): string { return this.keys.provisioned(componentId) }

  async get (componentId: string): Promise<ProvisionedRecord | undefined> {
    const fields = await this.redis.hgetall(this.key(componentId))
    if (fields.handler === undefined || fields.token === undefined) return undefined
    return { handlerId: fields.handler, token: fields.token, provisionedAt: fields.provisionedAt ?? '' }
  }

  /**
   * The engine's hook when a component of a task has run all its steps (before the checkpoint says so, so a
   * crash in between repeats this idempotent write instead of losing it). Other operations change nothing.
   */
  async componentFinished (kind: ComponentTaskData['kind'], componentId: string, handlerId: string, token: string): Promise<void> {
    if (kind === 'provision') {
      await this.redis.hset(this.key(componentId), { handler: handlerId, token, provisionedAt: new Date().toISOString() })
    } else if (kind === 'unprovision') {
      await this.redis.del(this.key(componentId))
    }
  }
}
