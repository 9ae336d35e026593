import t from 'tap'
import {
  countsAsOurs, isFailure, isTerminal, readLoadAccepted, readPlanStatus, readSchemaStatus, readState, readTime
} from '../../../src/provisioner/incorta/incorta-status.js'
import { loadPlanStatusBody, schemaStatusBody, type BodyStyle } from '../../../src/sandbox/incorta/incorta-simulator-bodies.js'
import { IncortaModel } from '../../../src/sandbox/incorta/incorta-simulator-loads.js'

t.test('state words compare ignoring case, spaces, underscores and hyphens', async (t) => {
  for (const [word, state] of [
    ['Succeeded', 'succeeded'], ['SUCCEEDED', 'succeeded'], ['Finished With Errors', 'finished-with-errors'],
    ['FINISHED_WITH_ERRORS', 'finished-with-errors'], ['finished-with-errors', 'finished-with-errors'], ['In Queue', 'queued'],
    ['IN_QUEUE', 'queued'], ['In Progress', 'running'], ['INPROGRESS', 'running'], ['Failed', 'failed'], ['INTERRUPTED', 'interrupted'],
    ['Reticulating', 'unknown'], [42, 'unknown'], [undefined, 'unknown']
  ] as const) t.equal(readState(word), state, String(word))
  t.ok(isTerminal('succeeded') && isTerminal('interrupted') && !isTerminal('unknown') && !isTerminal('running'))
  t.ok(isFailure('finished-with-errors') && !isFailure('succeeded'))
})

t.test('times: epoch ms, epoch s, digits, ISO and SQL-style UTC', async (t) => {
  const ms = Date.UTC(2026, 11, 2, 13, 40, 0, 123)
  t.equal(readTime(ms), ms)
  t.equal(readTime(Math.floor(ms / 1000)), Math.floor(ms / 1000) * 1000)
  t.equal(readTime(String(ms)), ms)
  t.equal(readTime('2026-12-02T13:40:00.123Z'), ms)
  t.equal(readTime('2026-12-02 13:40:00.123'), ms)
  t.equal(readTime('soon'), undefined)
  t.equal(readTime(null), undefined)
})

t.test('both simulator variants, both spellings: the latest job, its state and message', async (t) => {
  for (const style of [{ variant: 'jobs', spelling: 'title' }, { variant: 'jobs', spelling: 'upper' }, { variant: 'last-load', spelling: 'title' }, { variant: 'last-load', spelling: 'upper' }] as BodyStyle[]) {
    const model = new IncortaModel({ stepPerRequest: false, stepMs: 0, queueSteps: 1, runSteps: 1 })
    const schema = model.addSchema('demo', 'sales')
    const old = model.startLoad('demo', schema, 'FULL')
    old.createdAtMs -= 60_000
    model.clock.advance(5)
    model.outcomes.set('demo/sales', { state: 'Finished With Errors', message: 'ORDERS: 3 rows rejected' })
    const latest = model.startLoad('demo', schema, 'FULL')
    const queued = readSchemaStatus(schemaStatusBody(schema, model.clock.step, style))
    t.equal(queued?.state, 'queued', `${style.variant}/${style.spelling}`)
    t.equal(queued?.startedAt, latest.createdAtMs)
    model.clock.advance(5)
    const done = readSchemaStatus(schemaStatusBody(schema, model.clock.step, style))
    t.equal(done?.state, 'finished-with-errors')
    t.equal(done?.message, 'ORDERS: 3 rows rejected')
    t.ok(done?.endedAt !== undefined)
  }
})

t.test('a schema never loaded has no job; unknown words inside physicalSchemaDetails read as unknown', async (t) => {
  t.equal(readSchemaStatus({ schemaName: 'x', physicalSchemaDetails: { loadJobs: [] } }), undefined)
  t.equal(readSchemaStatus({ physicalSchemaDetails: { job: { state: 'Thinking', startTime: 5_000_000_000_000 } } })?.state, 'unknown')
  t.equal(readSchemaStatus('not json object'), undefined)
  // A status-like key holding another kind of word does not hide the load state beside it.
  t.equal(readSchemaStatus({ physicalSchemaDetails: { schemaStatus: 'ACTIVE', loadStatus: 'SUCCEEDED', loadStart: 1 } })?.state, 'succeeded')
})

t.test('load plan status: the execution state is the shallowest, schemas with their messages', async (t) => {
  for (const style of [{ variant: 'jobs', spelling: 'title' }, { variant: 'last-load', spelling: 'upper' }] as BodyStyle[]) {
    const model = new IncortaModel({ stepPerRequest: false, stepMs: 0, queueSteps: 1, runSteps: 1 })
    const plan = model.addLoadPlan('demo', 'nightly', ['sales', 'hr'])
    model.outcomes.set('demo/hr', { state: 'Interrupted', message: 'stopped by an admin' })
    const ex = model.executePlan('demo', plan)
    t.equal(readPlanStatus(loadPlanStatusBody(plan, ex, model.clock.step, 1, style))?.state, 'queued')
    model.clock.advance(4)
    const done = readPlanStatus(loadPlanStatusBody(plan, ex, model.clock.step, 3, style))
    t.equal(done?.state, 'interrupted')
    t.equal(done?.planName, 'nightly')
    t.same(done?.schemas.map((s) => [s.schemaName, s.state, s.message]), [['sales', 'succeeded', undefined], ['hr', 'interrupted', 'stopped by an admin']])
  }
})

t.test('a plan status without a plan name reads without one', async (t) => {
  t.same(readPlanStatus({ loadPlanExecutionId: 7, status: 'Running' }), { state: 'running', word: 'Running', schemas: [] })
})

t.test('the load answer gives a word per schema', async (t) => {
  t.same(readLoadAccepted({ loadingStatus: { sales: 'In Queue', hr: 7 } }), { sales: 'In Queue' })
  t.same(readLoadAccepted({ ok: true }), {})
})

t.test('a job counts as this request\'s only when it started after the trigger and after the baseline', async (t) => {
  const trigger = 1_000_000_000_000
  t.ok(countsAsOurs({ state: 'running', word: 'x', startedAt: trigger + 5 }, trigger, { seen: true, startedAt: trigger - 10_000 }))
  t.notOk(countsAsOurs({ state: 'succeeded', word: 'x', startedAt: trigger - 10_000 }, trigger, { seen: true, startedAt: trigger - 10_000 }), 'the baseline job itself')
  t.notOk(countsAsOurs({ state: 'succeeded', word: 'x', startedAt: trigger - 3_600_000 }, trigger, { seen: false }), 'an old job')
  t.ok(countsAsOurs({ state: 'running', word: 'x', startedAt: trigger - 1000 }, trigger, { seen: false }), 'a little clock skew')
  t.ok(countsAsOurs({ state: 'running', word: 'x' }, trigger, { seen: false }), 'no time, first load ever')
  t.notOk(countsAsOurs({ state: 'running', word: 'x' }, trigger, { seen: true }), 'no time, cannot tell')
})
