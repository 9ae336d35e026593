import t, { type Test } from 'tap'
import { setTimeout as sleep } from 'node:timers/promises'
import { airbyteRequest, postJson, startStack, waitForStatus } from '../helpers/stack.js'
import { deleteKeys, testRedis, uniquePrefix } from '../helpers/redis-server.js'
import { eventually, spawnService, type ServiceProcess } from '../helpers/service-process.js'
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js'

const GRACE_MS = 2000
// The bound is the grace plus a few seconds; the margin is generous so a busy machine cannot break it.
const EXIT_WITHIN_MS = GRACE_MS + 8000
// The old worker logged ~15 warnings a second here; the window must be long enough for that to show.
const WINDOW_MS = 2500

interface LogLine { level: number, msg: string, time: number }

function lines (service: ServiceProcess): LogLine[] {
  return service.output().split('\n').flatMap((line) => {
    try { return [JSON.parse(line) as LogLine] } catch { return [] }
  })
}

const warnings = (service: ServiceProcess): LogLine[] => lines(service).filter((l) => l.level >= 40)

/** SIGTERM, then the exit code and how long the exit took. */
async function terminate (service: ServiceProcess): Promise<{ code: number | string, ms: number }> {
  const sent = Date.now()
  service.child.kill('SIGTERM')
  const code = await Promise.race([service.exited, sleep(EXIT_WITHIN_MS + 5000).then(() => 'still running')])
  return { code, ms: Date.now() - sent }
}

type Failure = 'refused' | 'black-holed'

/** A Redis reached through a proxy that can fail; keys under `prefix` removed at teardown. */
async function failingRedis (t: Test): Promise<{ proxy: TcpProxy, redisUrl: string, prefix: string }> {
  const redis = await testRedis()
  const proxy = await startTcpProxy(redis.url)
  const prefix = uniquePrefix(t.name.replace(/[^a-z0-9]+/gi, '-').slice(0, 30))
  t.teardown(async () => {
    await proxy.close()
    await deleteKeys(redis.url, prefix)
    await redis.stop()
  })
  return { proxy, redisUrl: redis.url, prefix }
}

/** Redis fails under the service: at most one warning, then quiet, during a measured window. */
async function outageWarnings (t: Test, service: ServiceProcess, failure: Failure, proxy: TcpProxy): Promise<void> {
  const before = warnings(service).length
  if (failure === 'refused') {
    await proxy.cut()
    await eventually('the service notices Redis is gone', () => warnings(service).length > before, 10_000)
    t.equal(warnings(service)[before]?.msg, 'Redis unreachable, retrying', 'the first warning says what happened')
  } else {
    proxy.freeze()
  }
  // A measurement window, not a wait for an event: the property is how many lines appear in it.
  await sleep(WINDOW_MS)
  const during = warnings(service).slice(before)
  t.ok(during.length <= 3, `${during.length} warning line(s) in the first ${WINDOW_MS} ms of the outage: ${during.map((l) => l.msg).join(' | ')}`)
}

for (const failure of ['refused', 'black-holed'] as const) {
  for (const role of ['worker', 'api']) {
    t.test(`${role === 'api' ? 'the API' : 'an idle worker'} told to stop while Redis is ${failure} exits 0 within the grace plus a few seconds`, async t => {
      const { proxy, prefix } = await failingRedis(t)
      const service = spawnService({
        ROLE: role, PORT: '0', METRICS_PORT: '0', HOST: '127.0.0.1', REDIS_URL: proxy.url, QUEUE_PREFIX: prefix, LOG_LEVEL: 'info', SHUTDOWN_GRACE_MS: String(GRACE_MS), AUTH_MODE: 'none'
      })
      t.teardown(() => { service.child.kill('SIGKILL') })
      await eventually(`the ${role} started`, () => service.output().includes('tech adapter started'))
      await outageWarnings(t, service, failure, proxy)
      const { code, ms } = await terminate(service)
      t.equal(code, 0, 'exit code 0', { output: service.output().slice(-2000) })
      t.ok(ms < EXIT_WITHIN_MS, `exited ${ms} ms after SIGTERM (bound ${EXIT_WITHIN_MS} ms)`)
    })
  }
}

for (const failure of ['refused', 'black-holed'] as const) {
  t.test(`a worker with a job in flight exits within the bound when Redis is ${failure}; the job resumes once Redis is back`, async t => {
    const stack = await startStack(t, { env: { ROLE: 'api' }, sim: { syncDurationMs: 300 } })
    const proxy = await startTcpProxy(stack.redis.url)
    t.teardown(async () => { await proxy.close() })
    const workerEnv = { ...stack.env, REDIS_URL: proxy.url, ROLE: 'worker', LOG_LEVEL: 'info', SHUTDOWN_GRACE_MS: String(GRACE_MS) }
    const first = spawnService(workerEnv)
    t.teardown(() => { first.child.kill('SIGKILL') })
    const res = await postJson(`${stack.base}/v1/provision`, airbyteRequest(`cut-${failure}`))
    t.equal(res.status, 202, res.text)
    await eventually('provisioning has started', () => stack.sim.state.sources.size === 1)
    // Every further Airbyte call outlasts the grace: the job is active when the signal comes.
    stack.sim.faults.latencyMs = GRACE_MS * 3
    if (failure === 'refused') await proxy.cut()
    else proxy.freeze()
    const { code, ms } = await terminate(first)
    t.equal(code, 0, 'exit code 0', { output: first.output().slice(-2000) })
    t.ok(ms < EXIT_WITHIN_MS, `exited ${ms} ms after SIGTERM (bound ${EXIT_WITHIN_MS} ms)`)
    t.ok(ms >= GRACE_MS - 200, `the active step got its grace (${ms} ms)`)

    await proxy.restore()
    stack.sim.faults.latencyMs = 0
    const second = spawnService({ ...workerEnv, LOG_LEVEL: 'warn' })
    t.teardown(async () => { second.child.kill('SIGTERM'); await second.exited })
    const status = await waitForStatus(`${stack.base}/v1/provision/${res.text}/status`, { deadlineMs: 30_000 })
    t.equal(status.status, 'COMPLETED', status.result)
    t.equal(stack.sim.state.sources.size, 1, 'resumed from its checkpoint: one source')
    t.equal(stack.sim.state.connections.size, 1)
  })
}
