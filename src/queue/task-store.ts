/**
 * Task state in Redis: `{<prefix>}:task:<token>` (a hash: kind, status, result, info, ...),
 * `{<prefix>}:task:<token>:logs` (a list of JSON log entries) and `{<prefix>}:task:<token>:checkpoints` (the
 * components' checkpoints, one field each; names in src/queue/redis-keys.ts). Written by the submitter and the
 * engine, read by the status routes of any API replica. Finished tasks expire after the retention period. Never holds a secret value.
 */
import type { RedisClient } from './redis-connection.js'
import type { RedisKeys } from './redis-keys.js'
import type { ComponentCheckpoint, TaskKind, TaskLogEntry, TaskStatus, TaskView } from './task-types.js'

/** A task's log is capped so a runaway poll loop cannot grow Redis without bound. */
export const MAX_LOG_ENTRIES = 1000

// Tokens are the submitter's randomUUID(), lower case. openapi.yaml's Token schema states the same format.
const TOKEN_FORMAT = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

/**
 * Whether `token` has the one format tokens have. Keys are built only from such tokens: a crafted one
 * (`<uuid>:logs`) would otherwise name another task's logs list as its task hash.
 */
export function isTaskToken (token: unknown): token is string {
  return typeof token === 'string' && TOKEN_FORMAT.test(token)
}

function checked (token: string): string {
  if (!isTaskToken(token)) throw new TypeError('not a task token')
  return token
}

export class TaskStore {
  constructor (
    private readonly redis: RedisClient,
    private readonly keys: RedisKeys,
    private readonly retentionSeconds: number
  ) {}

  taskKey (token: string): string { return this.keys.task(checked(token)) }
  logsKey (token: string): string { return this.keys.taskLogs(checked(token)) }
  checkpointsKey (token: string): string { return this.keys.taskCheckpoints(checked(token)) }

  /**
   * One component's checkpoint, with the log entries buffered since the last one, in one round trip: plain
   * commands, which the connection's auto-pipelining sends with every other task's of the same tick (an
   * explicit pipeline would be a write of its own each time).
   */
  async saveCheckpoint (token: string, componentId: string, checkpoint: ComponentCheckpoint, logs: TaskLogEntry[] = []): Promise<void> {
    const writes: Array<Promise<unknown>> = [this.redis.hset(this.checkpointsKey(token), componentId, JSON.stringify(checkpoint))]
    if (logs.length > 0) writes.push(this.pushLogs(token, logs))
    await Promise.all(writes)
  }

  /** Appends, then trims only when RPUSH says the cap was passed (almost never: one command, not two). */
  private async pushLogs (token: string, entries: TaskLogEntry[]): Promise<void> {
    const length = await this.redis.rpush(this.logsKey(token), ...entries.map(e => JSON.stringify(e)))
    if (length > MAX_LOG_ENTRIES) await this.redis.ltrim(this.logsKey(token), -MAX_LOG_ENTRIES, -1)
  }

  /** The checkpoints written since the job was added; a component absent here is still as the job data has it. */
  async checkpoints (token: string): Promise<Record<string, ComponentCheckpoint>> {
    const out: Record<string, ComponentCheckpoint> = {}
    for (const [id, raw] of Object.entries(await this.redis.hgetall(this.checkpointsKey(token)))) out[id] = JSON.parse(raw) as ComponentCheckpoint
    return out
  }

  /** The task, or undefined for a token no task has (never issued, expired, or not a token at all). */
  async get (token: string): Promise<TaskView | undefined> {
    if (!isTaskToken(token)) return undefined
    // Two plain reads, not MULTI: a read needs no atomicity, and the connection auto-pipelines them.
    const [fields, logs] = await Promise.all([
      this.redis.hgetall(this.taskKey(token)),
      this.redis.lrange(this.logsKey(token), 0, -1)
    ])
    if (fields.kind === undefined) return undefined
    const view: TaskView = {
      kind: fields.kind as TaskKind,
      status: (fields.status ?? 'RUNNING') as TaskStatus,
      result: fields.result ?? '',
      logs: logs.map(line => JSON.parse(line) as TaskLogEntry)
    }
    if (fields.info !== undefined) view.info = JSON.parse(fields.info) as TaskView['info']
    if (fields.validation !== undefined) view.validation = JSON.parse(fields.validation) as TaskView['validation']
    if (fields.updates !== undefined) view.updates = JSON.parse(fields.updates) as TaskView['updates']
    return view
  }

  async getFields (token: string, ...names: string[]): Promise<Array<string | null>> {
    return await this.redis.hmget(this.taskKey(token), ...names)
  }

  async appendLogs (token: string, entries: TaskLogEntry[]): Promise<void> {
    if (entries.length > 0) await this.pushLogs(token, entries)
  }

  /** Lets an identical request start a new task again (only if the entry still points at this task). */
  async releaseDedupe (key: string, token: string): Promise<void> {
    await this.redis.eval("if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0", 1, key, token)
  }

  /** Records the terminal state and starts the retention clock on both keys. Idempotent. */
  async finish (token: string, outcome: {
    status: Exclude<TaskStatus, 'RUNNING'>
    result: string
    info?: unknown
    validation?: unknown
    updates?: unknown
  }, lastLogs: TaskLogEntry[] = []): Promise<void> {
    const fields: Record<string, string> = {
      status: outcome.status,
      result: outcome.result,
      finishedAt: new Date().toISOString()
    }
    for (const name of ['info', 'validation', 'updates'] as const) {
      if (outcome[name] !== undefined) fields[name] = JSON.stringify(outcome[name])
    }
    const tx = this.redis.multi().hset(this.taskKey(token), fields)
    if (lastLogs.length > 0) tx.rpush(this.logsKey(token), ...lastLogs.map(e => JSON.stringify(e))).ltrim(this.logsKey(token), -MAX_LOG_ENTRIES, -1)
    await tx
      .expire(this.taskKey(token), this.retentionSeconds)
      .expire(this.logsKey(token), this.retentionSeconds)
      .expire(this.checkpointsKey(token), this.retentionSeconds)
      .exec()
  }
}

export function logEntry (level: TaskLogEntry['level'], message: string, phase?: string): TaskLogEntry {
  return phase === undefined
    ? { timestamp: new Date().toISOString(), level, message }
    : { timestamp: new Date().toISOString(), level, message, phase }
}
