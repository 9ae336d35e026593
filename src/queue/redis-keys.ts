/**
 * The name of every Redis key this service uses, in one place. QUEUE_PREFIX stays a plain name; every key is
 * `{<QUEUE_PREFIX>}:...`, the braces a Redis Cluster hash tag, so all of them (BullMQ's queue keys included, whose
 * prefix is the tagged name) hash to one slot. That is what lets BullMQ's scripts, this service's own Lua scripts,
 * MULTI transactions and pipelines run on a Cluster, where a script or transaction touching several slots is
 * refused (CROSSSLOT). Nothing else builds a key by hand.
 *
 * Releases before this module used the untagged `<QUEUE_PREFIX>:...` names (see README, "Redis").
 */
import { TASK_QUEUE_NAME } from './task-types.js'

/** QUEUE_PREFIX: a plain name, the hash tag is ours to add. */
export const QUEUE_PREFIX_FORMAT = /^[A-Za-z0-9][A-Za-z0-9._:-]*$/

export class RedisKeys {
  /** The prefix with its hash tag, `{tech-adapter}`: BullMQ's `prefix` option and the start of every own key. */
  readonly tagged: string

  constructor (readonly queuePrefix: string) {
    if (!QUEUE_PREFIX_FORMAT.test(queuePrefix)) throw new TypeError(`not a plain queue prefix: ${JSON.stringify(queuePrefix)}`)
    this.tagged = `{${queuePrefix}}`
  }

  /** BullMQ's `prefix` option: its keys become `{prefix}:tasks:...`. */
  get bullPrefix (): string { return this.tagged }

  /** A BullMQ job hash of the task queue (its data, state): tests and diagnostics read it. */
  bullJob (jobId: string): string { return `${this.tagged}:${TASK_QUEUE_NAME}:${jobId}` }

  /** A task's state hash (kind, status, result, info, ...). The token must already be checked. */
  task (token: string): string { return `${this.tagged}:task:${token}` }
  /** A task's log list. */
  taskLogs (token: string): string { return `${this.tagged}:task:${token}:logs` }
  /** A task's component checkpoints: component id -> JSON checkpoint (src/queue/task-store.ts). */
  taskCheckpoints (token: string): string { return `${this.tagged}:task:${token}:checkpoints` }

  /** The arrival counter that orders tasks in the component FIFOs. */
  get sequence (): string { return `${this.tagged}:seq` }

  /** "The same request is in flight" entry, by the request's digest. */
  dedupe (digest: string): string { return `${this.tagged}:dedupe:${digest}` }
  /** Placeholder the submit script is given when a request takes no dedupe; never written. */
  get noDedupe (): string { return `${this.tagged}:dedupe:none` }

  /** A component's FIFO of task tokens (src/queue/component-lock.ts). */
  componentQueue (componentId: string): string { return `${this.tagged}:component:${componentId}` }

  // A namespace of its own: no component id can name a task, lock or queue key.
  /** The record that this adapter provisioned a component (src/queue/provisioned-registry.ts). */
  provisioned (componentId: string): string { return `${this.tagged}:provisioned:${componentId}` }

  /** What a component owns upstream, by the handler's kind names (src/queue/resource-ledger.ts). */
  ownedResources (handlerId: string, componentId: string): string { return `${this.tagged}:owned:${handlerId}:${componentId}` }
  /** The deployment's key for resource fingerprints (HMAC-SHA256). */
  get fingerprintKey (): string { return `${this.tagged}:fingerprint-key` }

  /** The shared concurrency limiter of one target system, by handler module id. */
  limiter (targetId: string): string { return `${this.tagged}:limit:${targetId}` }

  /** @fastify/rate-limit's namespace: it appends the caller key. */
  get rateLimitNamespace (): string { return `${this.tagged}:rate-limit:` }

  /** SCAN pattern matching every key above and BullMQ's (for cleanup and migration, never on a hot path). */
  get everyKey (): string { return `${this.tagged}:*` }
}
