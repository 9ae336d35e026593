/**
 * API side of the queue: turns a validated request into a task. One Lua script makes the task atomically
 * (dedupe check, arrival sequence, per-component FIFO entry, initial state and logs), then the BullMQ job is added
 * with the token as its id. An identical request still in flight gets the existing token back.
 */
import { randomUUID, createHash } from 'node:crypto'
import type { Queue } from 'bullmq'
import type { RedisClient } from './redis-connection.js'
import type { RedisKeys } from './redis-keys.js'
import { isTaskToken } from './task-store.js'
import type { TaskJobData, TaskLogEntry } from './task-types.js'

// Every key it touches is in KEYS (a Cluster routes a script by its declared keys, and all of ours share one hash
// tag). The dedupe entry names the task whose status decides, so the caller passes that task's hash as KEYS[5]
// for the holder it expects (ARGV[6]); if the entry names another one, the script changes nothing and answers
// {2, holder} so the caller asks again with that holder's key.
const SUBMIT_SCRIPT = `
local tokenArg, kind, now, useDedupe, dedupeTtl, expected = ARGV[1], ARGV[2], ARGV[3], ARGV[4], tonumber(ARGV[5]), ARGV[6]
if useDedupe == '1' then
  local existing = redis.call('GET', KEYS[1])
  if existing then
    if existing ~= expected then return {2, existing} end
    if redis.call('HGET', KEYS[5], 'status') == 'RUNNING' then return {0, existing} end
  end
  redis.call('SET', KEYS[1], tokenArg, 'EX', dedupeTtl)
end
local seq = redis.call('INCR', KEYS[2])
redis.call('HSET', KEYS[3], 'kind', kind, 'status', 'RUNNING', 'result', 'Task accepted', 'createdAt', now, 'seq', seq, 'caller', ARGV[7])
for i = 8, #ARGV do redis.call('RPUSH', KEYS[4], ARGV[i]) end
for i = 6, #KEYS do redis.call('ZADD', KEYS[i], seq, tokenArg) end
return {1, tokenArg}
`

const UNDO_SCRIPT = `
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
redis.call('DEL', KEYS[2], KEYS[3])
for i = 4, #KEYS do redis.call('ZREM', KEYS[i], ARGV[1]) end
return 1
`

/** Times the dedupe entry may change holder under one submit before it gives up (each change is a finished task). */
const MAX_HOLDER_CHANGES = 5

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

type ScriptRedis = RedisClient & {
  submitTask: (...args: Array<string | number>) => Promise<[0 | 1 | 2, string]>
  undoSubmit: (...args: Array<string | number>) => Promise<number>
}

export class TaskSubmitter {
  private readonly redis: ScriptRedis

  constructor (
    redis: RedisClient,
    private readonly queue: Queue,
    private readonly keys: RedisKeys,
    private readonly retentionSeconds: number
  ) {
    redis.defineCommand('submitTask', { lua: SUBMIT_SCRIPT })
    redis.defineCommand('undoSubmit', { lua: UNDO_SCRIPT })
    this.redis = redis as ScriptRedis
  }

  async submit (request: SubmitRequest): Promise<SubmitResult> {
    const token = randomUUID()
    const data = { ...request.data, token, requestId: request.requestId, caller: request.caller }
    const useDedupe = request.dedupeMaterial !== undefined
    const dedupeKey = request.dedupeMaterial === undefined
      ? this.keys.noDedupe
      : this.keys.dedupe(createHash('sha256').update(request.dedupeMaterial).digest('hex'))
    if (data.kind !== 'reverse' && useDedupe) data.dedupeKey = dedupeKey
    const taskKey = this.keys.task(token)
    const logsKey = this.keys.taskLogs(token)
    const componentKeys = request.componentIds.map(id => this.keys.componentQueue(id))
    const logs = request.initialLogs.map(e => JSON.stringify(e))
    let expected = ''
    for (let attempt = 0; ; attempt++) {
      // A holder that is not a token (a damaged entry) is checked against a key never written: it is replaced.
      const holderKey = isTaskToken(expected) ? this.keys.task(expected) : this.keys.noDedupe
      const [outcome, holder] = await this.redis.submitTask(
        5 + componentKeys.length, dedupeKey, this.keys.sequence, taskKey, logsKey, holderKey, ...componentKeys,
        token, data.kind, new Date().toISOString(), useDedupe ? '1' : '0',
        // The dedupe entry outlives any sane task; it is removed when the task ends.
        Math.max(this.retentionSeconds, 24 * 3600), expected, request.caller ?? '', ...logs
      )
      if (outcome === 0) return { token: holder, created: false }
      if (outcome === 1) break
      if (attempt >= MAX_HOLDER_CHANGES) throw new Error('the same request keeps being submitted and finished concurrently; try again')
      expected = holder
    }
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
      const keys = [dedupeKey, taskKey, logsKey, ...componentKeys]
      await this.redis.undoSubmit(keys.length, ...keys, token).catch(() => {})
      throw err
    }
    return { token, created: true }
  }
}
