/**
 * The service on a Sentinel setup (a primary, a replica, three sentinels; REDIS_SENTINELS + REDIS_SENTINEL_NAME
 * only). The primary is killed (SIGKILL) while 20 provisions are running: the sentinels promote the replica, the
 * API and the worker follow it, and every task still completes, with each Airbyte resource created exactly once
 * (counted in the simulator's request log) and no task lost.
 */
import t from 'tap'
import { airbyteRequest, getJson, postJson } from '../helpers/stack.js'
import { pollUntil } from '../helpers/redis-processes.js'
import { startLocalSentinel } from '../helpers/redis-sentinel.js'
import { startTopologyStack } from '../helpers/topology-stack.js'

const TASKS = 20

const sentinel = await startLocalSentinel()
// Syncs long enough that tasks are mid-way (created, syncing, polling) when the primary dies.
// E2E_LOG_LEVEL=warn shows the service's log lines when this test needs looking into.
const stack = await startTopologyStack(t, sentinel, { sim: { syncDurationMs: 1_500 }, env: { LOG_LEVEL: process.env.E2E_LOG_LEVEL ?? 'silent' } })
const { base, sim } = stack

/** Successful creates of one resource kind, from the simulator's request log. */
function creates (kind: 'sources' | 'destinations' | 'connections'): number {
  return sim.requests.filter(r => r.method === 'POST' && r.path.endsWith(`/${kind}`) && r.status >= 200 && r.status < 300).length
}

t.test(`the primary is killed while ${TASKS} tasks run: every task completes, nothing duplicated, nothing lost`, async t => {
  t.equal(stack.config.redis.mode, 'sentinel')
  const names = Array.from({ length: TASKS }, (_, i) => `failover-${i}`)
  const tokens: string[] = []
  for (const name of names) {
    const res = await postJson(`${base}/v1/provision`, airbyteRequest(name))
    t.equal(res.status, 202, res.text)
    tokens.push(res.text)
  }
  // Kill once work is under way: some syncs started, none of the tasks finished yet.
  await pollUntil('the first syncs starting', async () => sim.state.jobs.size >= 4, 30_000)
  const before = { sources: creates('sources'), jobs: sim.state.jobs.size }
  t.ok(before.jobs < TASKS, 'some tasks had not reached their sync yet when the primary died')
  const oldPrimary = await sentinel.currentPrimaryPort()
  const killedAt = Date.now()
  await sentinel.killPrimary()
  await pollUntil('the sentinels promoting the replica', async () => await sentinel.currentPrimaryPort() !== oldPrimary, 30_000)
  const promotedAfterMs = Date.now() - killedAt

  // Status polls answer 503 while the API has no primary; every task must come back COMPLETED.
  const statuses = new Map<string, any>()
  const refusals = new Map<number, number>()
  await pollUntil('every task finishing', async () => {
    for (const token of tokens.filter(tk => statuses.get(tk)?.status === undefined || statuses.get(tk).status === 'RUNNING')) {
      const res = await getJson(`${base}/v1/provision/${token}/status`)
      if (res.status === 200) statuses.set(token, res.body)
      else if (res.status === 400) statuses.set(token, { status: 'LOST', result: JSON.stringify(res.body) })
      else refusals.set(res.status, (refusals.get(res.status) ?? 0) + 1)
    }
    return tokens.every(tk => statuses.get(tk) !== undefined && statuses.get(tk).status !== 'RUNNING')
  }, 50_000).catch((err: unknown) => { t.comment(JSON.stringify({ refusals: [...refusals], statuses: [...statuses.values()].map(s => [s.status, s.result]) })); throw err })
  const finishedAfterMs = Date.now() - killedAt
  t.same([...refusals.keys()].filter(code => code !== 503), [], 'no reply but a 503 while Redis fails over')
  t.same(tokens.map(tk => statuses.get(tk)?.status), tokens.map(() => 'COMPLETED'), JSON.stringify([...statuses.values()].filter(s => s.status !== 'COMPLETED').map(s => s.result)))
  t.same([creates('sources'), creates('destinations'), creates('connections')], [TASKS, TASKS, TASKS], 'each source, destination and connection created exactly once')
  t.same([sim.state.sources.size, sim.state.destinations.size, sim.state.connections.size], [TASKS, TASKS, TASKS])
  t.same(new Set([...sim.state.connections.values()].map(c => c.name)).size, TASKS, 'one connection per component')
  t.comment(`killed with ${before.sources} sources created and ${before.jobs} syncs started; replica promoted after ${promotedAfterMs} ms; all ${TASKS} tasks finished ${finishedAfterMs} ms after the kill; ${sim.state.jobs.size} sync jobs in all`)

  // The new primary takes new work too.
  const after = await postJson(`${base}/v1/provision`, airbyteRequest('after-failover'))
  t.equal(after.status, 202, after.text)
  await pollUntil('a task submitted after the failover completing', async () => (await getJson(`${base}/v1/provision/${after.text}/status`)).body?.status === 'COMPLETED', 20_000)
})
