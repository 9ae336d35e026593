/**
 * Checkpoints cost what changed (issue 9): a step writes its own component's checkpoint, not the whole task's
 * job data, so the bytes a task writes to Redis grow linearly with its components. Measured on a private
 * redis-server (nothing else writes to it) through INFO's total_net_input_bytes, with the real engine and worker.
 */
import t from 'tap'
import type { Component } from '../../src/descriptor/types.js'
import type { Handler, Step } from '../../src/provisioner/handler.js'
import { newCheckpoint } from '../../src/queue/step-checkpoint.js'
import type { ComponentTaskData } from '../../src/queue/task-types.js'
import { startPrivateRedis } from '../helpers/redis-server.js'
import { startEngineStack } from '../helpers/engine-stack.js'
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
  // A server of its own: its input-byte counter must count this task's writes only.
  const { redis, store, submitter } = await startEngineStack(t, 'checkpoint-bytes', handler as unknown as Handler, {
    redisServer: await startPrivateRedis(), concurrency: 1, lockDurationMs: 30_000
  })
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
