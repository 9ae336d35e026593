/**
 * Checkpoints cost what changed (issue 9): a step writes its own component's checkpoint, not the whole task's
 * job data, so the bytes a task writes to Redis grow linearly with its components. Measured on a private
 * redis-server (nothing else writes to it) through INFO's total_net_input_bytes, with the real engine and worker.
 */
import t from 'tap'
import { pino } from 'pino'
import { Queue } from 'bullmq'
import { Redis } from 'ioredis'
import type { Component } from '../../src/descriptor/types.js'
import type { Handler, Step } from '../../src/provisioner/handler.js'
import { HandlerRegistry } from '../../src/provisioner/handler-registry.js'
import { createSecretStore } from '../../src/secrets/secret-store.js'
import { ComponentLock } from '../../src/queue/component-lock.js'
import { newCheckpoint } from '../../src/queue/step-checkpoint.js'
import { RedisKeys } from '../../src/queue/redis-keys.js'
import { TaskEngine } from '../../src/queue/task-engine.js'
import { TaskStore } from '../../src/queue/task-store.js'
import { TaskSubmitter } from '../../src/queue/task-submitter.js'
import { startTaskWorker } from '../../src/queue/task-worker.js'
import { TASK_QUEUE_NAME, type ComponentTaskData } from '../../src/queue/task-types.js'
import { startPrivateRedis, uniquePrefix } from '../helpers/redis-server.js'
import { eventually } from '../helpers/service-process.js'

const STEPS = ['find', 'create', 'check', 'link', 'start', 'wait']

/** Each step records a little state, as a real handler's ids and progress. */
const handler: Handler<{ ids?: string[] }> = {
  id: 'fake',
  useCaseTemplateIds: ['urn:dmb:utm:fake'],
  specificSchema: {},
  checkSpecific: () => ({ problems: [], warnings: [] }),
  checkUpstream: async () => ({ problems: [], warnings: [] }),
  steps: () => STEPS.map((name): Step<{ ids?: string[] }> => ({
    name,
    run: async (ctx) => {
      ctx.state.ids = [...(ctx.state.ids ?? []), `${name}-00000000-0000-4000-8000-000000000000`]
      ctx.log.info(`${name} done`)
    }
  })),
  outcome: () => ({ result: 'OK', info: { publicInfo: {}, privateInfo: { id: 'x' } } }),
  reverseProvision: async () => ({ updates: {} })
}

function components (count: number): Component[] {
  return Array.from({ length: count }, (_, i) => ({
    id: `urn:dmb:cmp:kit:bytes:0:c${i}`,
    name: `component ${i}`,
    kind: 'workload',
    // About a kilobyte of descriptor per component, as an Airbyte component has.
    specific: { payload: 'x'.repeat(1000) }
  }))
}

t.test('Redis bytes a task writes grow linearly with its components (300 vs 100: near 3, not near 9)', async (t) => {
  const redisServer = await startPrivateRedis()
  const prefix = uniquePrefix('checkpoint-bytes')
  const redis = new Redis(redisServer.url, { maxRetriesPerRequest: null })
  const keys = new RedisKeys(prefix)
  const queue = new Queue(TASK_QUEUE_NAME, { connection: redis, prefix: keys.bullPrefix })
  const logger = pino({ level: 'silent' })
  const store = new TaskStore(redis, keys, 600)
  const engine = new TaskEngine({
    store,
    lock: new ComponentLock(redis, keys, queue, store),
    registry: new HandlerRegistry([handler as unknown as Handler]),
    secrets: createSecretStore({ env: {} }),
    logger,
    options: { stepRetries: 0, stepRetryBaseMs: 10, stepRetryMaxMs: 10, componentLockPollMs: 50 }
  })
  const worker = startTaskWorker(engine, store, {
    redis: { mode: 'standalone', url: redisServer.url }, prefix, concurrency: 1, lockDurationMs: 30_000, stalledIntervalMs: 30_000, shutdownGraceMs: 1000
  }, logger)
  t.teardown(async () => {
    await worker.close()
    await queue.close()
    redis.disconnect()
    await redisServer.stop()
  })
  const submitter = new TaskSubmitter(redis, queue, keys, 600)
  const written = async (): Promise<number> => Number(/total_net_input_bytes:(\d+)/.exec(await redis.info('stats'))?.[1])

  const bytesFor = async (count: number): Promise<number> => {
    const comps = components(count)
    const checkpoint = Object.fromEntries(comps.map((c) => [c.id, newCheckpoint('fake')]))
    const data: ComponentTaskData = {
      kind: 'provision', token: '', dataProduct: { id: 'urn:dmb:dp:kit:bytes:0', components: comps }, levels: [comps.map((c) => c.id)], removeData: false, refs: [], pathPrefix: '', checkpoint
    }
    const before = await written()
    const { token } = await submitter.submit({ data, componentIds: comps.map((c) => c.id), initialLogs: [] })
    await eventually(`task of ${count} components finished`, async () => (await store.get(token))?.status !== 'RUNNING', 60_000)
    t.equal((await store.get(token))?.status, 'COMPLETED')
    return await written() - before
  }
  const hundred = await bytesFor(100)
  const threeHundred = await bytesFor(300)
  const ratio = threeHundred / hundred
  t.ok(ratio > 2.5 && ratio < 4, `300 components wrote ${threeHundred} bytes, 100 wrote ${hundred}: ratio ${ratio.toFixed(2)}`)
})
