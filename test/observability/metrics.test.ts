import t, { type Test } from 'tap'
import { randomUUID } from 'node:crypto'
import { airbyteRequest, postJson, startStack, waitForStatus } from '../helpers/stack.js'
import { checkReply } from '../../src/openapi/contract-check.js'
import { parseExposition, seriesKeys, valueOf, type Sample } from './exposition.js'

const stack = await startStack(t, { env: { LOAD_SHED_MAX_EVENT_LOOP_DELAY_MS: '0' } })
const { base, sim } = stack

async function scrape (t: Test): Promise<Sample[]> {
  const res = await fetch(`${base}/metrics`)
  t.equal(res.status, 200)
  const text = await res.text()
  t.same(checkReply('GET', '/metrics', 200, res.headers.get('content-type') ?? '', text), [], '/metrics follows the contract')
  return parseExposition(text)
}

async function provision (t: Test, name: string): Promise<void> {
  const res = await postJson(`${base}/v1/provision`, airbyteRequest(name))
  t.equal(res.status, 202, res.text)
  const status = await waitForStatus(`${base}/v1/provision/${res.text}/status`)
  t.equal(status.status, 'COMPLETED', status.result)
}

t.test('a real provision shows in every family of series, under the fixed names and labels', async t => {
  const before = await scrape(t)
  await provision(t, 'orders')
  const after = await scrape(t)
  const delta = (name: string, labels: Record<string, string>): number => valueOf(after, name, labels) - valueOf(before, name, labels)

  t.equal(delta('tech_adapter_http_requests_total', { route: '/v1/provision', method: 'POST', status_code: '202' }), 1, 'the submission, by route template')
  t.ok(delta('tech_adapter_http_requests_total', { route: '/v1/provision/:token/status', method: 'GET', status_code: '200' }) >= 1, 'the polls, by template, not by token')
  t.ok(delta('tech_adapter_http_request_duration_seconds_count', { route: '/v1/provision', method: 'POST' }) === 1, 'the latency histogram')
  t.equal(delta('tech_adapter_tasks_submitted_total', { operation: 'provision', handler: 'airbyte' }), 1)
  t.equal(delta('tech_adapter_tasks_finished_total', { operation: 'provision', handler: 'airbyte', outcome: 'completed' }), 1)
  t.equal(delta('tech_adapter_task_duration_seconds_count', { operation: 'provision', handler: 'airbyte', outcome: 'completed' }), 1)
  t.ok(delta('tech_adapter_upstream_requests_total', { target: 'airbyte', operation: 'POST /sources', status_class: '2xx' }) >= 1, 'the source was created')
  t.ok(delta('tech_adapter_upstream_requests_total', { target: 'airbyte', operation: 'GET /jobs/{id}', status_class: '2xx' }) >= 1, 'job polls, by template')
  t.ok(valueOf(after, 'tech_adapter_upstream_request_duration_seconds_count', { target: 'airbyte' }) > 0)
  t.ok(valueOf(after, 'tech_adapter_upstream_token_refreshes_total', { target: 'airbyte', outcome: 'success' }) >= 1, 'the token call counts')
  for (const state of ['waiting', 'active', 'delayed', 'failed']) {
    t.ok(after.some(s => s.name === 'tech_adapter_queue_jobs' && s.labels.state === state), `queue_jobs{state="${state}"}`)
  }
  t.ok(after.some(s => s.name === 'tech_adapter_tasks_waiting_on_component'))
  t.equal(valueOf(after, 'tech_adapter_redis_up', { role: 'api' }), 1)
  t.equal(valueOf(after, 'tech_adapter_redis_up', { role: 'worker' }), 1)
  for (const name of ['process_resident_memory_bytes', 'process_cpu_seconds_total', 'nodejs_heap_size_used_bytes', 'nodejs_eventloop_lag_p99_seconds']) {
    t.ok(after.some(s => s.name === name), `${name} (prom-client's process metrics, unprefixed)`)
  }
  const ids = [...sim.state.sources.keys(), ...sim.state.connections.keys(), ...sim.state.destinations.keys()]
  const values = after.flatMap(s => Object.values(s.labels))
  for (const id of ids) t.notOk(values.some(v => v.includes(id)), `no label value carries the id ${id}`)
  t.notOk(values.some(v => /orders|finance|cashflow|sim-secret|[0-9a-f]{8}-[0-9a-f]{4}-/.test(v)), 'no label value carries a name, a secret or a uuid')
})

t.test('many distinct ids and names add no series', async t => {
  // One of each first, so every series these requests can make exists; then many more of them.
  await provision(t, 'invoices')
  await fetch(`${base}/v1/provision/${randomUUID()}/status`)
  await fetch(`${base}/no/such/${randomUUID()}`)
  const first = seriesKeys(await scrape(t), 'tech_adapter_')
  for (const name of ['ledger', 'payments', 'refunds']) await provision(t, name)
  for (let i = 0; i < 30; i++) await fetch(`${base}/v1/provision/${randomUUID()}/status`)
  for (let i = 0; i < 30; i++) await fetch(`${base}/no/such/${randomUUID()}`)
  const later = await scrape(t)
  const added = [...seriesKeys(later, 'tech_adapter_')].filter(k => !first.has(k))
  t.same(added, [], 'three more components (new ids and names), 30 unknown tokens and 30 unknown paths add no series')
  t.ok(first.size > 50, 'the baseline holds the series of a whole provision')
  t.ok(valueOf(later, 'tech_adapter_http_requests_total', { route: '__unmatched__', status_code: '404' }) >= 30, 'unmatched paths share one route value')
})
