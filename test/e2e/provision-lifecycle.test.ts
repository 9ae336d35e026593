import t from 'tap'
import { airbyteRequest, getJson, postJson, startStack, waitForStatus } from '../helpers/stack.js'
import { checkReply } from '../../src/openapi/contract-check.js'
import { metricsRegistry } from '../../src/observability/metrics.js'

const stack = await startStack(t)
const { base, sim } = stack

async function submit (path: string, body: unknown): Promise<string> {
  const res = await postJson(`${base}${path}`, body)
  t.equal(res.status, 202, `${path} answers 202: ${res.text}`)
  t.match(res.contentType, /^text\/plain/)
  t.same(checkReply('POST', path, 202, res.contentType, res.text), [])
  return res.text
}

async function finished (token: string): Promise<any> {
  const body = await waitForStatus(`${base}/v1/provision/${token}/status`)
  t.same(checkReply('GET', `/v1/provision/${token}/status`, 200, 'application/json', body), [], 'status reply follows the contract')
  return body
}

t.test('provision creates one source, destination and connection and waits for the sync', async t => {
  const token = await submit('/v1/provision', airbyteRequest('orders'))
  const status = await finished(token)
  t.equal(status.status, 'COMPLETED', status.result)
  t.equal(sim.state.sources.size, 1)
  t.equal(sim.state.destinations.size, 1)
  t.equal(sim.state.connections.size, 1)
  const [connection] = [...sim.state.connections.values()]
  t.equal(status.info.privateInfo.connectionId, connection?.connectionId)
  t.equal(status.info.publicInfo.connection.type, 'link')
  t.match(status.info.publicInfo.connection.href, connection?.connectionId ?? 'missing')
  t.equal(connection?.configurations.streams.length, 3, 'every stream of the source is selected, not only the first')
  t.ok([...sim.state.jobs.values()].some(j => j.connectionId === connection?.connectionId && j.status === 'succeeded'), 'a sync ran to success')
  t.ok(status.logs.length > 2, 'logs describe the steps')
  const all = JSON.stringify(status)
  t.notMatch(all, 'e2e-db-password-4711', 'the resolved secret never reaches the status reply')
})

t.test('re-provisioning after a change updates in place', async t => {
  const token = await submit('/v1/provision', airbyteRequest('orders', s => {
    s.connection.schedule = { scheduleType: 'cron', cronExpression: '0 30 4 * * ?' }
    s.connection.streams = [{ name: 'orders', syncMode: 'incremental_append', cursorField: ['updated_at'] }]
  }))
  const status = await finished(token)
  t.equal(status.status, 'COMPLETED', status.result)
  t.equal(sim.state.sources.size, 1, 'no second source')
  t.equal(sim.state.destinations.size, 1, 'no second destination')
  t.equal(sim.state.connections.size, 1, 'no second connection')
  const [connection] = [...sim.state.connections.values()]
  t.match(connection?.schedule.cronExpression, /^0 30 4 \* \* \?/)
  t.same(connection?.configurations.streams.map((s: any) => s.name), ['orders'])
})

t.test('the task log and the metrics say how many calls a provision made upstream, as the target counted them', async t => {
  const histogram = async (): Promise<{ count: number, sum: number }> => {
    const metric = await metricsRegistry.getSingleMetric('tech_adapter_upstream_calls_per_component')?.get()
    const of = (name: string): number => (metric?.values as Array<{ metricName?: string, labels: Record<string, unknown>, value: number }> | undefined)?.find(v => v.metricName === name && v.labels.target === 'airbyte' && v.labels.operation === 'provision' && v.labels.outcome === 'completed')?.value ?? 0
    return { count: of('tech_adapter_upstream_calls_per_component_count'), sum: of('tech_adapter_upstream_calls_per_component_sum') }
  }
  const before = await histogram()
  const seen = sim.requests.length
  const token = await submit('/v1/provision', airbyteRequest('orders', s => { s.connection.schedule = { scheduleType: 'cron', cronExpression: '0 15 5 * * ?' } }))
  const status = await finished(token)
  t.equal(status.status, 'COMPLETED', status.result)
  // The token call is the process's, made once and shared by every task; the rest are this provision's.
  const calls = sim.requests.slice(seen).filter(r => !r.path.endsWith('/applications/token'))
  const line = status.logs.find((l: any) => l.level === 'DEBUG' && /calls? to the target/.test(l.message))
  t.ok(line, 'a DEBUG line counts the calls')
  t.match(line?.message, new RegExp(`: ${calls.length} calls to the target: `))
  t.equal(calls.filter(c => c.method === 'PATCH').length, 1, 'the new schedule is sent')
  t.match(line?.message, /airbyte PATCH \/connections\/\{id\} 1\b/, 'counted by operation')
  const after = await histogram()
  t.equal(after.count - before.count, 1, 'one observation for the component')
  t.equal(after.sum - before.sum, calls.length, 'of the calls the simulator received')
})

t.test('the same request while one is in flight returns the same token', async t => {
  const request = airbyteRequest('orders', s => { s.connection.schedule = { scheduleType: 'manual' } })
  const [a, b] = await Promise.all([postJson(`${base}/v1/provision`, request), postJson(`${base}/v1/provision`, request)])
  t.equal(a.text, b.text, 'one task, one token')
  await finished(a.text)
  const again = await submit('/v1/provision', request)
  t.not(again, a.text, 'once finished, the same request is a new task')
  await finished(again)
})

t.test('unknown token answers 400 RequestValidationError on every status route', async t => {
  for (const path of ['/v1/provision/nope/status', '/provision/nope/status', '/v2/validate/nope/status', '/v1/reverse-provisioning/nope/status']) {
    const res = await getJson(`${base}${path}`)
    t.equal(res.status, 400, path)
    t.match(res.body.userMessage, /no task for token/)
    t.same(checkReply('GET', path, 400, res.contentType, res.body), [], `${path} 400 follows the contract`)
  }
})

t.test('updateacl completes with a log saying Airbyte has no consumer ACL', async t => {
  const request = airbyteRequest('orders')
  const token = await submit('/v1/updateacl', { refs: ['user:alice_company.com'], provisionInfo: { request: request.descriptor, result: '' } })
  const status = await finished(token)
  t.equal(status.status, 'COMPLETED')
  t.ok(status.logs.some((l: any) => /no consumer ACL/i.test(l.message)), 'the log says why nothing changed')
})

t.test('unprovision without removeData deletes the resources and leaves the data', async t => {
  const token = await submit('/v1/unprovision', airbyteRequest('orders', () => {}, { removeData: false }))
  const status = await finished(token)
  t.equal(status.status, 'COMPLETED', status.result)
  t.equal(sim.state.connections.size, 0)
  t.equal(sim.state.sources.size, 0)
  t.equal(sim.state.destinations.size, 0)
  t.ok(status.logs.some((l: any) => /left in place/i.test(l.message)), 'the log says the data stays')
  t.notOk([...sim.state.jobs.values()].some(j => j.jobType === 'clear'), 'no clear job')
})

t.test('unprovision with removeData clears the connection before deleting it', async t => {
  await finished(await submit('/v1/provision', airbyteRequest('payments')))
  const [connection] = [...sim.state.connections.values()]
  const token = await submit('/unprovision', airbyteRequest('payments', () => {}, { removeData: true }))
  const status = await finished(token)
  t.equal(status.status, 'COMPLETED', status.result)
  t.ok([...sim.state.jobs.values()].some(j => j.jobType === 'clear' && j.connectionId === connection?.connectionId && j.status === 'succeeded'), 'clear job ran')
  t.equal(sim.state.connections.size, 0)
})

t.test('a provision and an unprovision of one component run in arrival order', async t => {
  const first = await submit('/v1/provision', airbyteRequest('serial'))
  const second = await submit('/v1/unprovision', airbyteRequest('serial'))
  const [a, b] = await Promise.all([finished(first), finished(second)])
  t.equal(a.status, 'COMPLETED', a.result)
  t.equal(b.status, 'COMPLETED', b.result)
  const provisionDone = Date.parse(a.logs.at(-1).timestamp)
  const unprovisionStarted = Date.parse(b.logs.find((l: any) => l.phase !== 'accepted' && l.phase !== 'queue')?.timestamp)
  t.ok(unprovisionStarted >= provisionDone, 'the unprovision started only after the provision finished')
  t.equal(sim.state.connections.size, 0, 'the later unprovision wins')
})

t.test('a permanent upstream rejection fails the task with the upstream reason', async t => {
  sim.faults.rejectConfig = (kind) => kind === 'source' ? 'host: does not match format hostname' : undefined
  t.teardown(() => { sim.resetFaults() })
  const token = await submit('/v1/provision', airbyteRequest('rejected'))
  const status = await finished(token)
  t.equal(status.status, 'FAILED')
  t.match(status.result, /422/)
  t.match(status.result, /does not match format hostname/)
})

t.test('429 and 5xx storms are retried with backoff until the task completes', async t => {
  sim.faults.failNext = [
    { status: 429 }, { status: 503 }, { status: 429 }, { status: 500 }, { status: 'drop' },
    { status: 429, path: /connections/ }, { status: 500, path: /jobs/ }, { status: 429, path: /jobs/ }
  ]
  t.teardown(() => { sim.resetFaults() })
  const token = await submit('/v1/provision', airbyteRequest('stormy'))
  const status = await finished(token)
  t.equal(status.status, 'COMPLETED', status.result)
  t.equal([...sim.state.connections.values()].filter(c => c.name === 'stormy-connection').length, 1, 'retries made no duplicates')
  t.ok(sim.requests.filter(r => r.status === 429).length >= 2, 'the storm really happened')
})
