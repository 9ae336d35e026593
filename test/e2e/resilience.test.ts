import t from 'tap'
import { randomUUID } from 'node:crypto'
import { airbyteRequest, getJson, postJson, startStack, waitForStatus } from '../helpers/stack.js'
import { startPrivateRedis } from '../helpers/redis-server.js'
import { eventually, spawnService } from '../helpers/service-process.js'
import { checkReply } from '../../src/openapi/contract-check.js'

t.test('a worker killed with SIGKILL mid-step is finished by another without duplicates', async t => {
  const stack = await startStack(t, { env: { ROLE: 'api' }, sim: { syncDurationMs: 500 } })
  const workerEnv = { ...stack.env, ROLE: 'worker', LOG_LEVEL: 'warn' }
  const first = spawnService(workerEnv)
  t.teardown(() => { first.child.kill('SIGKILL') })
  // Slow Airbyte down so the kill lands inside a step, after the source exists but before its id is checkpointed.
  stack.sim.faults.latencyMs = 150
  const res = await postJson(`${stack.base}/v1/provision`, airbyteRequest('crashy'))
  t.equal(res.status, 202)
  await eventually('the source exists in Airbyte', () => stack.sim.state.sources.size === 1)
  first.child.kill('SIGKILL')
  t.equal(await first.exited, 'SIGKILL')
  stack.sim.faults.latencyMs = 0
  const second = spawnService(workerEnv)
  t.teardown(async () => { second.child.kill('SIGTERM'); await second.exited })
  const status = await waitForStatus(`${stack.base}/v1/provision/${res.text}/status`, { deadlineMs: 30_000 })
  t.equal(status.status, 'COMPLETED', status.result)
  t.equal(stack.sim.state.sources.size, 1, 'exactly one source')
  t.equal(stack.sim.state.destinations.size, 1, 'exactly one destination')
  t.equal(stack.sim.state.connections.size, 1, 'exactly one connection')
  t.equal([...stack.sim.state.jobs.values()].filter(j => j.jobType === 'sync').length, 1, 'exactly one sync')
})

t.test('SIGTERM lets the active step finish or checkpoint and exits 0; another worker completes the task', async t => {
  const stack = await startStack(t, { env: { ROLE: 'api' }, sim: { syncDurationMs: 1500 } })
  const workerEnv = { ...stack.env, ROLE: 'worker', LOG_LEVEL: 'warn' }
  const first = spawnService(workerEnv)
  t.teardown(() => { first.child.kill('SIGKILL') })
  stack.sim.faults.latencyMs = 100
  const res = await postJson(`${stack.base}/v1/provision`, airbyteRequest('graceful'))
  await eventually('provisioning has started', () => stack.sim.state.sources.size === 1)
  first.child.kill('SIGTERM')
  t.equal(await first.exited, 0, `exit code 0; output:\n${first.output()}`)
  stack.sim.faults.latencyMs = 0
  const second = spawnService(workerEnv)
  t.teardown(async () => { second.child.kill('SIGTERM'); await second.exited })
  const status = await waitForStatus(`${stack.base}/v1/provision/${res.text}/status`, { deadlineMs: 30_000 })
  t.equal(status.status, 'COMPLETED', status.result)
  t.equal(stack.sim.state.connections.size, 1)
  t.equal(stack.sim.state.sources.size, 1)
})

t.test('Redis unavailable: 503 from the API, and the service recovers when Redis is back', async t => {
  const redis = await startPrivateRedis()
  t.teardown(async () => { await redis.stop() })
  const stack = await startStack(t, { redis })
  t.equal((await getJson(`${stack.base}/health/ready`)).status, 200)
  await redis.stop()
  const ready = await getJson(`${stack.base}/health/ready`)
  t.equal(ready.status, 503)
  t.same(checkReply('GET', '/health/ready', 503, ready.contentType, ready.body), [])
  const res = await postJson(`${stack.base}/v1/provision`, airbyteRequest('outage'))
  t.equal(res.status, 503, res.text)
  t.same(checkReply('POST', '/v1/provision', 503, res.contentType, res.json()), [], '503 is a contract SystemError')
  t.notMatch(res.text, /ECONNREFUSED|stack|at .*\.ts/, 'no internals in the reply')
  const status = await getJson(`${stack.base}/v1/provision/${randomUUID()}/status`)
  t.equal(status.status, 503)
  await redis.restart()
  await eventually('readiness recovers', async () => (await getJson(`${stack.base}/health/ready`)).status === 200)
  const again = await postJson(`${stack.base}/v1/provision`, airbyteRequest('outage'))
  t.equal(again.status, 202, again.text)
  const done = await waitForStatus(`${stack.base}/v1/provision/${again.text}/status`, { deadlineMs: 30_000 })
  t.equal(done.status, 'COMPLETED', 'the worker reconnected by itself and ran the task')
})
