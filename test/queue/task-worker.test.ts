import t from 'tap'
import { Writable } from 'node:stream'
import { pino } from 'pino'
import { Queue } from 'bullmq'
import { Redis } from 'ioredis'
import { RedisKeys } from '../../src/queue/redis-keys.js'
import type { TaskEngine } from '../../src/queue/task-engine.js'
import type { TaskStore } from '../../src/queue/task-store.js'
import { startTaskWorker } from '../../src/queue/task-worker.js'
import { TASK_QUEUE_NAME } from '../../src/queue/task-types.js'
import { deleteKeys, testRedis, uniquePrefix } from '../helpers/redis-server.js'
import { eventually } from '../helpers/service-process.js'

t.test('a job handed back while its run is still going (its lock lost to a Redis outage) never runs twice at once', async t => {
  const server = await testRedis()
  const prefix = uniquePrefix('task-worker')
  const keys = new RedisKeys(prefix)
  const redis = new Redis(server.url, { maxRetriesPerRequest: null })
  const queue = new Queue(TASK_QUEUE_NAME, { connection: redis, prefix: keys.bullPrefix })
  const lines: string[] = []
  const logger = pino({ level: 'warn' }, new Writable({ write (chunk: Buffer, _enc, done) { lines.push(chunk.toString()); done() } }))

  let running = 0
  let mostAtOnce = 0
  let calls = 0
  let releaseFirst: () => void = () => {}
  const firstRunHeld = new Promise<void>(resolve => { releaseFirst = resolve })
  const engine = {
    async process () {
      calls++
      running++
      mostAtOnce = Math.max(mostAtOnce, running)
      try {
        if (calls === 1) await firstRunHeld
        return 'done'
      } finally {
        running--
      }
    },
    stop () {},
    abortInFlight () {}
  } as unknown as TaskEngine
  const worker = startTaskWorker(engine, {} as unknown as TaskStore, {
    redis: { mode: 'standalone', url: server.url }, prefix, concurrency: 2, lockDurationMs: 1000, stalledIntervalMs: 300, shutdownGraceMs: 1000
  }, logger)
  t.teardown(async () => {
    releaseFirst()
    await worker.close()
    await queue.close()
    await deleteKeys(server.url, prefix)
    redis.disconnect()
    await server.stop()
  })

  const token = '3f0d6a4e-8c1b-4d5e-9a7f-2b6c8d0e1f23'
  await queue.add('provision', { kind: 'provision', token }, { jobId: token })
  await eventually('the first run starting', async () => calls === 1)
  // What a Redis outage longer than the lock leaves behind: the job active, its lock gone.
  await redis.del(`${keys.bullJob(token)}:lock`)
  await eventually('the job handed back', async () => calls >= 2 || lines.some(l => l.includes('parked until that run ends')), 15_000)
  t.equal(calls, 1, 'the second delivery was parked, not run beside the first')
  releaseFirst()
  await eventually('the job running again after the first run ended', async () => calls >= 2, 15_000)
  t.equal(mostAtOnce, 1, 'never two runs of one job at once')
})
