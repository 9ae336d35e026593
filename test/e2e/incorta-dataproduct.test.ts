import t from 'tap'
import { readFileSync } from 'node:fs'
import { parse, stringify } from 'yaml'
import { eventually, spawnService } from '../helpers/service-process.js'
import { finished, incortaRequest, startIncortaStack, submit } from '../helpers/incorta-stack.js'

const example = (): any => parse(readFileSync(new URL('../../examples/orders-airbyte-incorta.yaml', import.meta.url), 'utf8'))

t.test('the example product: the Incorta load starts after the Airbyte sync finished, and unprovisions first', async (t) => {
  const { base, sim, incorta } = await startIncortaStack(t, { stack: { sim: { syncDurationMs: 300 } } })
  const dp = example()
  const status = await finished(t, base, await submit(t, base, '/v1/provision', { descriptorKind: 'DATAPRODUCT_DESCRIPTOR', descriptor: stringify(dp) }))
  t.equal(status.status, 'COMPLETED', status.result)
  const syncDone = status.logs.find((l: any) => /^provision of Orders ingestion finished/.test(l.message))
  t.ok(syncDone !== undefined, 'the ingestion finished')
  const [load] = incorta.model.allJobs('demo').filter((j) => j.schemaName === 'orders')
  t.ok(load !== undefined, 'the orders schema was loaded')
  t.ok((load?.createdAtMs ?? 0) >= Date.parse(syncDone.timestamp), 'the load was triggered after the sync finished')
  t.ok([...sim.state.jobs.values()].some((j) => j.jobType === 'sync' && j.status === 'succeeded'), 'the sync succeeded')
  t.equal(load?.loadSource, 'INCREMENTAL')
  t.same(Object.keys(status.info.privateInfo).sort(), dp.components.map((c: any) => c.id).sort(), 'info for both components')

  const un = await finished(t, base, await submit(t, base, '/v1/unprovision', { descriptorKind: 'DATAPRODUCT_DESCRIPTOR', descriptor: stringify(dp), removeData: false }))
  t.equal(un.status, 'COMPLETED', un.result)
  const first = (name: string): number => un.logs.findIndex((l: any) => typeof l.phase === 'string' && l.phase.startsWith(`${name}: `))
  t.ok(first('Orders analytics load') >= 0 && first('Orders ingestion') > first('Orders analytics load'), 'the Incorta component goes first, in reverse dependency order')
  t.equal(sim.state.connections.size, 0, 'the Airbyte connection is gone')
  t.equal(incorta.model.allJobs('demo').filter((j) => j.schemaName === 'orders').length, 1, 'unprovisioning loads nothing')
})

t.test('a worker killed mid-wait resumes without starting a second load', async (t) => {
  const stack = await startIncortaStack(t, { sim: { clock: { stepPerRequest: false } }, stack: { env: { ROLE: 'api' } } })
  const { base, incorta } = stack
  const workerEnv = { ...stack.env, ROLE: 'worker', LOG_LEVEL: 'warn' }
  const first = spawnService(workerEnv)
  t.teardown(() => { first.child.kill('SIGKILL') })
  const token = await submit(t, base, '/v1/provision', incortaRequest({ schemaNames: ['sales', 'hr'] }))
  // Nothing moves in Incorta until the test says so: the task is parked in its wait step.
  await eventually('both loads started', () => incorta.model.allJobs('demo').length === 2)
  await eventually('the task polls the loads', () => incorta.requests.filter((r) => r.path.endsWith('/status')).length >= 6)
  first.child.kill('SIGKILL')
  t.equal(await first.exited, 'SIGKILL')
  incorta.advance(10)
  const second = spawnService(workerEnv)
  t.teardown(async () => { second.child.kill('SIGTERM'); await second.exited })
  const status = await finished(t, base, token, '/v1/provision', 40_000)
  t.equal(status.status, 'COMPLETED', status.result)
  t.same(incorta.model.allJobs('demo').map((j) => j.schemaName).sort(), ['hr', 'sales'], 'exactly one load job per schema')
  t.equal(incorta.requests.filter((r) => r.path.endsWith('/schema/load')).length, 1, 'one load request')
})

t.test('a worker killed mid-wait on a load plan follows the checkpointed execution', async (t) => {
  const stack = await startIncortaStack(t, { sim: { clock: { stepPerRequest: false } }, stack: { env: { ROLE: 'api' } } })
  const { base, incorta } = stack
  const workerEnv = { ...stack.env, ROLE: 'worker', LOG_LEVEL: 'warn' }
  const first = spawnService(workerEnv)
  t.teardown(() => { first.child.kill('SIGKILL') })
  const token = await submit(t, base, '/v1/provision', incortaRequest({ loadPlanName: 'nightly' }))
  await eventually('the plan is executing and polled', () => incorta.requests.filter((r) => r.path.includes('/load-plan/status/')).length >= 3)
  first.child.kill('SIGKILL')
  await first.exited
  incorta.advance(10)
  const second = spawnService(workerEnv)
  t.teardown(async () => { second.child.kill('SIGTERM'); await second.exited })
  const status = await finished(t, base, token, '/v1/provision', 40_000)
  t.equal(status.status, 'COMPLETED', status.result)
  t.equal(incorta.model.tenant('demo').executions.size, 1, 'one execution')
  t.equal(incorta.requests.filter((r) => r.path.endsWith('/load-plan/execute')).length, 1)
})
