import t, { type Test } from 'tap'
import { randomBytes } from 'node:crypto'
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-base'
import { loadConfig } from '../../src/config.js'
import { startTracing } from '../../src/observability/tracing.js'
import { airbyteRequest, postJson, startStack, waitForStatus } from '../helpers/stack.js'

// Tracing is process-wide: on before the service builds its queue and worker, exported to memory.
const exporter = new InMemorySpanExporter()
startTracing(loadConfig({}).tracing, { exporter })
// Syncs take a few polls: every one of them is a separate run of the job (it waits in the delayed set).
// Loading the SDK can stall a busy machine's event loop for a moment: not what this file is about.
const stack = await startStack(t, { sim: { syncDurationMs: 600 }, env: { LOAD_SHED_MAX_EVENT_LOOP_DELAY_MS: '0' } })
const { base } = stack

const parentOf = (span: ReadableSpan): string | undefined => span.parentSpanContext?.spanId

function dangling (spans: ReadableSpan[], root?: string): ReadableSpan[] {
  const ids = new Set(spans.map(s => s.spanContext().spanId))
  return spans.filter(s => parentOf(s) !== undefined && !ids.has(parentOf(s) as string) && parentOf(s) !== root)
}

/** Every span of the trace, once the task's last spans have ended (a span ends after its children). */
async function traceOf (traceId: string, root?: string): Promise<ReadableSpan[]> {
  const deadline = Date.now() + 10_000
  for (;;) {
    const spans = exporter.getFinishedSpans().filter(s => s.spanContext().traceId === traceId)
    if ((spans.some(s => s.name.startsWith('step ')) && dangling(spans, root).length === 0) || Date.now() > deadline) return spans
    await new Promise(resolve => setTimeout(resolve, 50))
  }
}

async function provision (name: string, headers: Record<string, string>): Promise<string> {
  const res = await postJson(`${base}/v1/provision`, airbyteRequest(name), headers)
  t.equal(res.status, 202, res.text)
  const status = await waitForStatus(`${base}/v1/provision/${res.text}/status`)
  t.equal(status.status, 'COMPLETED', status.result)
  return res.text
}

function checkConnected (t: Test, spans: ReadableSpan[], root?: string): void {
  t.same(dangling(spans, root).map(s => s.name), [], 'every parent link resolves inside the trace')
  const roots = spans.filter(s => parentOf(s) === undefined || parentOf(s) === root)
  t.equal(roots.length, 1, `one root: ${roots.map(s => s.name).join(', ')}`)
}

t.test('an incoming traceparent is honoured and one provision is one connected trace', async t => {
  const traceId = randomBytes(16).toString('hex')
  const parent = randomBytes(8).toString('hex')
  exporter.reset()
  await provision('orders', { traceparent: `00-${traceId}-${parent}-01` })
  const spans = await traceOf(traceId, parent)
  const names = spans.map(s => s.name)
  t.ok(spans.some(s => s.attributes['http.route'] === '/v1/provision' && parentOf(s) === parent), 'the request span is a child of the caller\'s span')
  t.ok(names.some(n => /add/.test(n)), `the queue add (bullmq): ${names.join(', ')}`)
  t.ok(names.filter(n => /process/.test(n)).length >= 2, 'the job ran several times (the sync wait) in the same trace')
  t.ok(names.some(n => n.startsWith('step ')), 'the steps')
  t.ok(names.includes('POST /sources'), 'the upstream calls, by method and template')
  t.ok(spans.some(s => s.attributes['tech_adapter.token_request'] === true && s.name.endsWith('/applications/token')), `the token request: ${names.join(', ')}`)
  checkConnected(t, spans, parent)
  const upstream = spans.filter(s => s.attributes['url.template'] !== undefined)
  t.ok(upstream.every(s => typeof s.attributes['http.request.method'] === 'string'), 'upstream spans carry the method')
  t.ok(upstream.filter(s => s.attributes['tech_adapter.token_request'] !== true).every(s => typeof s.attributes['http.response.status_code'] === 'number'), 'and the status')
  const all = JSON.stringify(spans.map(s => ({ attributes: s.attributes, events: s.events, name: s.name })))
  t.notMatch(all, /sim-secret|e2e-db-password|e2e-warehouse-password|tok-|Bearer/, 'no secret in any span')
  // Nothing of this task ran outside the trace.
  const others = exporter.getFinishedSpans().filter(s => s.spanContext().traceId !== traceId && (s.name.startsWith('step ') || s.attributes['url.template'] !== undefined))
  t.same(others.map(s => s.name), [], 'no step or upstream span of the task in another trace')
})

t.test('without a traceparent the request starts the one trace', async t => {
  exporter.reset()
  await provision('invoices', {})
  const request = exporter.getFinishedSpans().find(s => s.attributes['http.route'] === '/v1/provision')
  t.ok(request, 'the request span')
  const traceId = request?.spanContext().traceId ?? ''
  const spans = await traceOf(traceId)
  checkConnected(t, spans)
  t.ok(spans.some(s => s.name === 'POST /sources'))
})

t.test('a step retried later (after the in-process retries ran out) stays in the same trace', async t => {
  const traceId = randomBytes(16).toString('hex')
  const parent = randomBytes(8).toString('hex')
  exporter.reset()
  // Four refusals: more than the in-process retries, so the step itself waits in the delayed set and runs again.
  stack.sim.faults.failNext = Array.from({ length: 4 }, () => ({ method: 'POST', path: /\/sources$/, status: 503 }))
  await provision('ledger', { traceparent: `00-${traceId}-${parent}-01` })
  const spans = await traceOf(traceId, parent)
  const creates = spans.filter(s => s.name === 'POST /sources').map(s => s.attributes['http.response.status_code'])
  t.equal(creates.filter(status => status === 503).length, 4, `every refused attempt is a span: ${creates.join(', ')}`)
  t.ok(creates.includes(200), 'and the one that went through')
  const sourceSteps = spans.filter(s => s.name.startsWith('step ') && spans.some(c => c.name === 'POST /sources' && c.parentSpanContext?.spanId === s.spanContext().spanId))
  t.ok(sourceSteps.length >= 2, 'the step ran twice, both runs in this trace')
  checkConnected(t, spans, parent)
})
