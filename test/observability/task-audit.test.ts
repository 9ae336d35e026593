import t from 'tap'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { airbyteRequest, postJson, startStack, waitForStatus } from '../helpers/stack.js'
import { eventually } from '../helpers/service-process.js'

const TOKEN = 'audit-orchestrator-token-7c1d2e3f4a'
const file = join(mkdtempSync(join(tmpdir(), 'tokens-')), 'tokens')
// Two lines: a one-line file counts as one secret value whole, and the scrubber then masks its label word too.
writeFileSync(file, `orchestrator ${TOKEN}\nci audit-ci-token-0a9b8c7d6e5f\n`)
const lines: string[] = []
const stack = await startStack(t, {
  env: { AUTH_MODE: 'bearer', AUTH_BEARER_TOKENS_FILE: file, LOG_LEVEL: 'info', LOAD_SHED_MAX_EVENT_LOOP_DELAY_MS: '0' },
  logDestination: { write: (line: string) => { lines.push(line) } }
})
const { base, sim } = stack
const auth = { authorization: `Bearer ${TOKEN}` }
const audit = (token: string): Array<Record<string, any>> => lines
  .map(line => JSON.parse(line) as Record<string, any>)
  .filter(entry => entry.audit === true && entry.task === token)

async function run (name: string): Promise<{ token: string, status: any }> {
  const res = await postJson(`${base}/v1/provision`, airbyteRequest(name), auth)
  t.equal(res.status, 202, res.text)
  const status = await waitForStatus(`${base}/v1/provision/${res.text}/status`, { headers: auth })
  // The end is audited once the job hands its result back, just after the status reads final.
  await eventually('the end is audited', () => audit(res.text).some(e => e.event === 'task.finished'))
  return { token: res.text, status }
}

t.test('one audit line when a task is submitted and one when it ends: who, what, how it ended', async t => {
  const { token, status } = await run('orders')
  t.equal(status.status, 'COMPLETED')
  const entries = audit(token)
  t.same(entries.map(e => e.event), ['task.submitted', 'task.finished'], 'one line each, in order')
  const [submitted, finished] = entries
  const who = { caller: 'orchestrator', operation: 'provision', handler: 'airbyte', dataProduct: 'urn:dmb:dp:finance:cashflow:0', components: ['urn:dmb:cmp:finance:cashflow:0:orders'] }
  t.match(submitted, { ...who, deduplicated: false })
  t.type(submitted?.reqId, 'string', 'joinable with the request\'s log lines')
  t.match(finished, { ...who, outcome: 'completed' })
  t.type(finished?.durationMs, 'number')
})

t.test('a failed task says so, and no audit line carries a secret', async t => {
  sim.faults.failNext = [{ method: 'POST', path: /\/sources$/, status: 400 }]
  const { token, status } = await run('ledger')
  t.equal(status.status, 'FAILED')
  t.match(audit(token).at(-1), { event: 'task.finished', outcome: 'failed', caller: 'orchestrator' })
  const all = lines.filter(line => line.includes('"audit":true')).join('\n')
  t.notMatch(all, TOKEN, 'not the caller\'s token')
  t.notMatch(all, /e2e-db-password|e2e-warehouse-password|sim-secret|\$\{secret:/, 'no secret value, no descriptor')
})
