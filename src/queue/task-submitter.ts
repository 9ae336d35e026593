/**
 * API side of the queue: turns a validated request into a task. One Lua script makes the task atomically
 * (dedupe check, arrival sequence, per-component FIFO entry, initial state and logs), then the BullMQ job is added
 * with the token as its id. An identical request still in flight gets the existing token back.
 */
import { randomUUID, createHash } from 'node:crypto'
import type { Queue } from 'bullmq'
import type { Redis } from 'ioredis'
import type { TaskJobData, TaskLogEntry } from './task-types.js'
import { componentQueueKey } from './component-lock.js'

const SUBMIT_SCRIPT = `
local tokenArg, kind, now, useDedupe, dedupeTtl = ARGV[1], ARGV[2], ARGV[3], ARGV[4], tonumber(ARGV[5])
if useDedupe == '1' then
  local existing = redis.call('GET', KEYS[1])
  if existing and redis.call('HGET', ARGV[6] .. existing, 'status') == 'RUNNING' then
    return {0, existing}
  end
  redis.call('SET', KEYS[1], tokenArg, 'EX', dedupeTtl)
end
local seq = redis.call('INCR', KEYS[2])
redis.call('HSET', KEYS[3], 'kind', kind, 'status', 'RUNNING', 'result', 'Task accepted', 'createdAt', now, 'seq', seq, 'caller', ARGV[7])
for i = 8, #ARGV do redis.call('RPUSH', KEYS[4], ARGV[i]) end
for i = 5, #KEYS do redis.call('ZADD', KEYS[i], seq, tokenArg) end
return {1, tokenArg}
`

const UNDO_SCRIPT = `
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
redis.call('DEL', KEYS[2], KEYS[3])
for i = 4, #KEYS do redis.call('ZREM', KEYS[i], ARGV[1]) end
return 1
`

export interface SubmitRequest {
  data: TaskJobData
  /** Identity of "the same request": same operation, component(s) and descriptor. Omit for no dedupe. */
  dedupeMaterial?: string
  /** Components the task will act on (serialised per component in arrival order). */
  componentIds: string[]
  initialLogs: TaskLogEntry[]
  requestId?: string
  /** Identity of the authenticated caller (never a credential). */
  caller?: string
}

export interface SubmitResult { token: string, created: boolean }

type ScriptRedis = Redis & {
  submitTask: (...args: Array<string | number>) => Promise<[number, string]>
  undoSubmit: (...args: Array<string | number>) => Promise<number>
}

export class TaskSubmitter {
  private readonly redis: ScriptRedis

  constructor (
    redis: Redis,
    private readonly queue: Queue,
    private readonly prefix: string,
    private readonly retentionSeconds: number
  ) {
    redis.defineCommand('submitTask', { lua: SUBMIT_SCRIPT })
    redis.defineCommand('undoSubmit', { lua: UNDO_SCRIPT })
    this.redis = redis as ScriptRedis
  }

  async submit (request: SubmitRequest): Promise<SubmitResult> {
    const token = randomUUID()
    const data = { ...request.data, token, requestId: request.requestId, caller: request.caller }
    const dedupeKey = request.dedupeMaterial === undefined
      ? `${this.prefix}:dedupe:none`
      : `${this.prefix}:dedupe:${createHash('sha256').update(request.dedupeMaterial).digest('hex')}`
    if (data.kind !== 'reverse' && request.dedupeMaterial !== undefined) data.dedupeKey = dedupeKey
    const keys = [
      dedupeKey,
      `${this.prefix}:seq`,
      `${this.prefix}:task:${token}`,
      `${this.prefix}:task:${token}:logs`,
      ...request.componentIds.map(id => componentQueueKey(this.prefix, id))
    ]
    const [created, existing] = await this.redis.submitTask(
      keys.length, ...keys,
      token, data.kind, new Date().toISOString(), request.dedupeMaterial === undefined ? '0' : '1',
      // The dedupe entry outlives any sane task; it is removed when the task ends.
      Math.max(this.retentionSeconds, 24 * 3600), `${this.prefix}:task:`, request.caller ?? '',
      ...request.initialLogs.map(e => JSON.stringify(e))
    )
    if (created === 0) return { token: existing, created: false }
    try {
      await this.queue.add(data.kind, data, {
        jobId: token,
        // Handler failures end the job normally; only errors outside the steps (Redis lost mid-run) retry here.
        attempts: 10,
        backoff: { type: 'exponential', delay: 1000 },
        removeOnComplete: { age: this.retentionSeconds },
        removeOnFail: { age: this.retentionSeconds }
      })
    } catch (err) {
      // The job never reached Redis: take the task back so nothing waits on a phantom. Best effort: if Redis
      // is gone entirely, the worker's phantom check cleans the component queues later.
      await this.redis.undoSubmit(keys.length, ...keys.filter((_, i) => i !== 1), token).catch(() => {})
      throw err
    }
    return { token, created: true }
  }
}
