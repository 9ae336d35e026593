import t from 'tap'
import { Queue } from 'bullmq'
import { Redis } from 'ioredis'
import { stringify } from 'yaml'
import { TASK_QUEUE_NAME } from '../../src/queue/task-types.js'
import { eventually } from '../helpers/service-process.js'
import { airbyteRequest, postJson, startStack, waitForStatus } from '../helpers/stack.js'
import { RedisKeys } from '../../src/queue/redis-keys.js'

/** A bare data product with Airbyte components named `names`, plus one component of another adapter. */
function dataProduct (names: string[], dependsOn: Record<string, string[]> = {}): any {
  const components = names.map(name => {
    const request = airbyteRequest(name)
    const component = JSON.parse(request.descriptor as string).dataProduct.components[0]
    component.dependsOn = (dependsOn[name] ?? []).map(n => `urn:dmb:cmp:finance:cashflow:0:${n}`)
    return component
  })
  components.push({
    id: 'urn:dmb:cmp:finance:cashflow:0:snowflake-port',
    name: 'port',
    kind: 'outputport',
    version: '0.0.1',
    useCaseTemplateId: 'urn:dmb:utm:snowflake-outputport-template:0.0.0',
    dependsOn: [],
    specific: {}
  })
  const dp = JSON.parse(airbyteRequest('x').descriptor as string).dataProduct
  return { ...dp, components }
}

t.test('DATAPRODUCT_DESCRIPTOR provisions owned components in dependsOn order and skips the others', async t => {
  const { base, sim } = await startStack(t, { sim: { syncDurationMs: 300 } })
  const dp = dataProduct(['first', 'second', 'third'], { second: ['first'], third: ['first'] })
  const res = await postJson(`${base}/v1/provision`, { descriptorKind: 'DATAPRODUCT_DESCRIPTOR', descriptor: stringify(dp) })
  t.equal(res.status, 202, res.text)
  const status = await waitForStatus(`${base}/v1/provision/${res.text}/status`)
  t.equal(status.status, 'COMPLETED', status.result)
  t.equal(sim.state.connections.size, 3)
  t.ok(status.logs.some((l: any) => /other adapters; skipped: .*snowflake-port/.test(l.message)), 'the log names the skipped component')
  const at = (predicate: (l: any) => boolean): number => Date.parse(status.logs.find(predicate)?.timestamp ?? 'missing')
  const firstDone = at((l: any) => /^provision of first finished/.test(l.message))
  const started = (name: string): number => at((l: any) => typeof l.phase === 'string' && l.phase.startsWith(`${name}: `))
  t.ok(firstDone > 0, 'first component finished')
  t.ok(started('second') >= firstDone, 'second started after first finished')
  t.ok(started('third') >= firstDone, 'third started after first finished')
  const lastStart = Math.max(started('second'), started('third'))
  const firstOfThemDone = Math.min(at((l: any) => /^provision of second finished/.test(l.message)), at((l: any) => /^provision of third finished/.test(l.message)))
  t.ok(lastStart < firstOfThemDone, 'independent components ran in parallel (both started before either finished)')
  t.same(Object.keys(status.info.privateInfo).sort(), dp.components.slice(0, 3).map((c: any) => c.id).sort(), 'privateInfo per component')
})

t.test('a dependency cycle or a dangling dependency is a 400 naming the path', async t => {
  const { base } = await startStack(t)
  const cyclic = dataProduct(['a', 'b'], { a: ['b'], b: ['a'] })
  const res = await postJson(`${base}/v1/provision`, { descriptorKind: 'DATAPRODUCT_DESCRIPTOR', descriptor: stringify(cyclic) })
  t.equal(res.status, 400)
  t.match(res.json().userMessage, /cycle/i)
  const dangling = dataProduct(['a'], { a: ['ghost'] })
  const res2 = await postJson(`${base}/v1/provision`, { descriptorKind: 'DATAPRODUCT_DESCRIPTOR', descriptor: stringify(dangling) })
  t.equal(res2.status, 400)
  t.match(res2.json().inputErrorField, /^components\.0\.dependsOn/)
})

t.test('a data product with nothing for this adapter answers 200 COMPLETED at once', async t => {
  const { base } = await startStack(t)
  const dp = dataProduct([])
  const res = await postJson(`${base}/v1/provision`, { descriptorKind: 'DATAPRODUCT_DESCRIPTOR', descriptor: stringify(dp) })
  t.equal(res.status, 200, res.text)
  t.equal(res.json().status, 'COMPLETED')
})

t.test('waiting syncs hold no worker slot: more syncs run in Airbyte at once than there are worker slots', async t => {
  const slots = 2
  const components = 8
  const { base, sim, redis, prefix } = await startStack(t, {
    // Long syncs, so that many overlap. A worker that held its slot while a sync ran could never have more than
    // `slots` syncs running in Airbyte at the same moment, however long they last or however slow the machine is.
    sim: { syncDurationMs: 6000 },
    env: { WORKER_CONCURRENCY: String(slots), AIRBYTE_SYNC_POLL_MIN_MS: '250', AIRBYTE_SYNC_POLL_MAX_MS: '500', AIRBYTE_MAX_CONCURRENT_REQUESTS: '16' }
  })
  const connection = new Redis(redis.url, { maxRetriesPerRequest: null })
  const queue = new Queue(TASK_QUEUE_NAME, { connection, prefix: new RedisKeys(prefix).bullPrefix })
  t.teardown(async () => { await queue.close(); connection.disconnect() })
  const liveSyncs = (): number => [...sim.state.jobs.values()].filter(j => j.jobType === 'sync' && !['succeeded', 'failed', 'cancelled'].includes(j.status)).length

  const tokens = await Promise.all(Array.from({ length: components }, async (_, i) => {
    const res = await postJson(`${base}/v1/provision`, airbyteRequest(`bulk-${i}`))
    t.equal(res.status, 202)
    return res.text
  }))
  // One sample: syncs not yet ended in the simulator, and where the tasks are in BullMQ. A task whose sync is live
  // is either in a slot (active) or not (delayed until its next poll, or waiting for a slot).
  let proof = { live: 0, active: 0, outOfSlot: 0 }
  let maxActive = 0
  await eventually(`more than ${slots} syncs running at once, the tasks waiting on them out of their slots`, async () => {
    const counts = await queue.getJobCounts('active', 'delayed', 'waiting', 'prioritized')
    const sample = { live: liveSyncs(), active: counts.active ?? 0, outOfSlot: (counts.delayed ?? 0) + (counts.waiting ?? 0) + (counts.prioritized ?? 0) }
    maxActive = Math.max(maxActive, sample.active)
    if (sample.live > slots && sample.active <= slots && sample.outOfSlot >= sample.live - slots) proof = sample
    return proof.live > 0
  }, 60_000)
  t.ok(proof.live > slots, `${proof.live} syncs ran at once on ${slots} worker slots (${proof.active} tasks active, ${proof.outOfSlot} out of a slot)`)

  const statuses = await Promise.all(tokens.map(async token => await waitForStatus(`${base}/v1/provision/${token}/status`, { deadlineMs: 60_000 })))
  t.ok(statuses.every(s => s.status === 'COMPLETED'), 'all completed')
  t.equal(sim.state.connections.size, components)
  t.ok(maxActive <= slots, `never more than ${slots} tasks active (saw ${maxActive})`)
})
