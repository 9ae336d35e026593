/**
 * Serialises operations on one component across every worker: each component has a FIFO in Redis
 * (`{<prefix>}:component:<id>`, a sorted set of tokens scored by arrival sequence, filled atomically at submit).
 * A task may act on a component only while it is at the head. Releasing promotes the next task's delayed job so
 * it does not sit out its whole poll interval.
 */
import type { Queue } from 'bullmq'
import type { RedisClient } from './redis-connection.js'
import type { RedisKeys } from './redis-keys.js'
import type { TaskStore } from './task-store.js'

/** A task whose job never reached BullMQ is presumed lost after this long (the submit script and add are ms apart). */
const PHANTOM_AFTER_MS = 60_000

export type Turn = { mine: true } | { mine: false, holder: string }

export class ComponentLock {
  constructor (
    private readonly redis: RedisClient,
    private readonly keys: RedisKeys,
    private readonly queue: Queue,
    private readonly store: TaskStore
  ) {}

  async turn (componentId: string, token: string): Promise<Turn> {
    const key = this.keys.componentQueue(componentId)
    for (let i = 0; i < 100; i++) {
      const [head] = await this.redis.zrange(key, 0, 0)
      // Our own entry gone (cleaned as stale after a long outage): nobody else is ahead of us that we know of.
      if (head === undefined || head === token) return { mine: true }
      if (await this.isLive(head)) return { mine: false, holder: head }
      await this.redis.zrem(key, head)
    }
    return { mine: false, holder: 'unknown' }
  }

  /** Is the task holding the head still going to release it? Finished, expired or lost tasks are not. */
  private async isLive (token: string): Promise<boolean> {
    const [status, createdAt] = await this.store.getFields(token, 'status', 'createdAt')
    if (status !== 'RUNNING') return false
    const job = await this.queue.getJob(token)
    if (job !== undefined && job !== null) return true
    const age = Date.now() - Date.parse(createdAt ?? '')
    if (!(age > PHANTOM_AFTER_MS)) return true
    await this.store.finish(token, { status: 'FAILED', result: 'The task was lost before a worker took it (its queue entry was never written); submit it again.' })
    return false
  }

  async release (componentIds: string[], token: string): Promise<void> {
    if (componentIds.length === 0) return
    const pipeline = this.redis.pipeline()
    for (const id of componentIds) pipeline.zrem(this.keys.componentQueue(id), token)
    for (const id of componentIds) pipeline.zrange(this.keys.componentQueue(id), 0, 0)
    const replies = await pipeline.exec() ?? []
    const next = new Set<string>()
    for (const [, value] of replies.slice(componentIds.length)) {
      const head = (value as string[] | undefined)?.[0]
      if (head !== undefined) next.add(head)
    }
    for (const waiting of next) {
      const job = await this.queue.getJob(waiting)
      if (job !== undefined && job !== null && await job.isDelayed()) await job.promote().catch(() => {})
    }
  }
}
