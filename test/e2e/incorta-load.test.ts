import t from 'tap'
import { finished, incortaRequest, startIncortaStack, submit } from '../helpers/incorta-stack.js'

const stack = await startIncortaStack(t, { sim: { tenants: { demo: { schemas: ['sales', 'hr', 'orders'], loadPlans: { nightly: ['sales', 'hr'] } }, Other: { schemas: ['ledger'] } } } })
const { base, incorta } = stack
t.beforeEach(() => { incorta.clearFailures(); incorta.resetFaults(); incorta.style.variant = 'jobs'; incorta.style.spelling = 'title' })

const provision = async (specific: Record<string, unknown>): Promise<any> => await finished(t, base, await submit(t, base, '/v1/provision', incortaRequest(specific)))
const jobsOf = (schema: string, tenant = 'demo'): number => incorta.model.allJobs(tenant).filter((j) => j.schemaName === schema).length

t.test('schemas load: COMPLETED with what was loaded, the final states and a link', async (t) => {
  const before = jobsOf('sales')
  const status = await provision({ schemaNames: ['sales', 'hr'], loadSource: 'INCREMENTAL' })
  t.equal(status.status, 'COMPLETED', status.result)
  t.equal(jobsOf('sales'), before + 1)
  t.match(status.info.publicInfo, { loaded: { value: 'sales, hr' }, finalState: { value: 'sales: Succeeded; hr: Succeeded' }, incorta: { type: 'link', href: `${incorta.url}/incorta/!demo/` } })
  t.equal(status.info.privateInfo.tenant, 'demo')
  t.notMatch(JSON.stringify(status), incorta.pat, 'the PAT never reaches the reply')
})

t.test('an unchanged re-provision through the service: the calls of the first, each schema read before and after its one load', async (t) => {
  // Loads end at once: the counts do not depend on how many polls a load takes. Not sales: the 5xx test counts
  // its jobs, and the simulator keeps ten per schema.
  const { queueSteps, runSteps } = incorta.model.clock.settings
  Object.assign(incorta.model.clock.settings, { queueSteps: 0, runSteps: 0 })
  t.teardown(() => { Object.assign(incorta.model.clock.settings, { queueSteps, runSteps }) })
  const expected = ['GET /schema/orders/status', 'GET /schema/hr/status', 'POST /schema/load', 'GET /schema/orders/status', 'GET /schema/hr/status']
  for (const round of ['first', 'unchanged re-provision']) {
    const before = incorta.requests.length
    const status = await provision({ schemaNames: ['orders', 'hr'] })
    t.equal(status.status, 'COMPLETED', status.result)
    t.same(incorta.requests.slice(before).map((r) => `${r.method} ${r.path.replace('/incorta/api/v2/demo', '')}`), expected, round)
  }
})

t.test('a load plan: COMPLETED, the execution id in privateInfo', async (t) => {
  const status = await provision({ loadPlanName: 'nightly' })
  t.equal(status.status, 'COMPLETED', status.result)
  const ids = [...incorta.model.tenant('demo').executions.keys()].map(String)
  t.ok(ids.includes(status.info.privateInfo.loadPlanExecutionId))
})

t.test('a plan already running: the task waits, then its own execution runs after the other', async (t) => {
  const foreign = incorta.executeOutOfBand('nightly')
  const status = await provision({ loadPlanName: 'nightly' })
  t.equal(status.status, 'COMPLETED', status.result)
  t.not(status.info.privateInfo.loadPlanExecutionId, String(foreign))
  const executions = incorta.model.tenant('demo').executions
  const ours = executions.get(Number(status.info.privateInfo.loadPlanExecutionId))
  t.ok((ours?.createdStep ?? 0) >= (executions.get(foreign)?.endStep ?? Infinity), 'ours started once the other was over')
  t.ok(status.logs.some((l: any) => /already running another execution/.test(l.message)))
})

t.test('a failing schema fails the task with Incorta\'s message, in both body variants and spellings', async (t) => {
  for (const [variant, spelling, word] of [['jobs', 'title', 'Finished With Errors'], ['last-load', 'upper', 'FINISHED_WITH_ERRORS'], ['jobs', 'upper', 'FINISHED_WITH_ERRORS'], ['last-load', 'title', 'Finished With Errors']] as const) {
    incorta.style.variant = variant
    incorta.style.spelling = spelling
    incorta.failSchema('hr', 'Finished With Errors', 'EMPLOYEES: 4 rows rejected')
    const status = await provision({ schemaNames: ['sales', 'hr'] })
    t.equal(status.status, 'FAILED', `${variant}/${spelling}`)
    t.match(status.result, `hr: ${word} (EMPLOYEES: 4 rows rejected)`)
    incorta.style.spelling = spelling === 'title' ? 'upper' : 'title'
    incorta.clearFailures()
    t.equal((await provision({ schemaNames: ['sales'] })).status, 'COMPLETED', `${variant}, the other spelling: success`)
  }
})

t.test('timeoutSeconds bounds the wait', async (t) => {
  incorta.model.clock.settings.runSteps = 1_000_000
  t.teardown(() => { incorta.model.clock.settings.runSteps = 2 })
  const status = await provision({ schemaNames: ['orders'], timeoutSeconds: 0.5 })
  t.equal(status.status, 'FAILED')
  t.match(status.result, /did not finish within 500 ms \(timeoutSeconds\): orders: In Progress; it was left running in Incorta/)
})

t.test('waitForCompletion false: COMPLETED once Incorta accepts the load', async (t) => {
  incorta.model.clock.settings.runSteps = 1_000_000
  t.teardown(() => { incorta.model.clock.settings.runSteps = 2 })
  const status = await provision({ schemaNames: ['orders'], waitForCompletion: false })
  t.equal(status.status, 'COMPLETED', status.result)
  t.match(status.info.publicInfo.finalState.value, /not waited for/)
})

t.test('a 5xx storm is ridden out without a second load', async (t) => {
  const before = jobsOf('sales')
  incorta.faults.failNext = [
    ...Array.from({ length: 3 }, () => ({ status: 503 as const })),
    { status: 502, path: /schema\/load/ },
    { status: 503, path: /schema\/load/ },
    ...Array.from({ length: 3 }, () => ({ status: 500 as const, path: /status/ })),
    { status: 'drop' as const },
    { status: 504 }
  ]
  const status = await provision({ schemaNames: ['sales'] })
  t.equal(status.status, 'COMPLETED', status.result)
  t.equal(jobsOf('sales'), before + 1, 'exactly one load job')
  t.ok(incorta.requests.filter((r) => r.status >= 500 || r.status === 0).length >= 10, 'every fault was served')
})

t.test('a component can name another tenant', async (t) => {
  const status = await provision({ tenant: 'Other', schemaNames: ['ledger'] })
  t.equal(status.status, 'COMPLETED', status.result)
  t.equal(jobsOf('ledger', 'Other'), 1)
})

t.test('an unknown schema fails at once quoting the INC_ message', async (t) => {
  const status = await provision({ schemaNames: ['ghost'] })
  t.equal(status.status, 'FAILED')
  t.match(status.result, /INC_\d+: Schema \[ghost\] does not exist/)
})

t.test('/v2/validate checks the schemas exist (every page of /schema/list)', async (t) => {
  const token = await submit(t, base, '/v2/validate', incortaRequest({ schemaNames: ['sales', 'ghost'] }))
  const status = await finished(t, base, token, '/v2/validate')
  t.equal(status.info.publicInfo.valid, false)
  t.match(status.info.publicInfo.error.errors, [/components\.0\.specific\.schemaNames\.1: schema "ghost" does not exist in Incorta tenant demo/])
  const ok = await finished(t, base, await submit(t, base, '/v2/validate', incortaRequest({ schemaNames: ['sales'] })), '/v2/validate')
  t.equal(ok.info.publicInfo.valid, true)
})

t.test('updateacl with identities fails clearly; unprovision deletes nothing; reverse provisioning describes a plan', async (t) => {
  const descriptor = incortaRequest({ schemaNames: ['sales'] }).descriptor as string
  const acl = await finished(t, base, await submit(t, base, '/v1/updateacl', { provisionInfo: { request: descriptor, result: '' }, refs: ['user:alice_company.com'] }))
  t.equal(acl.status, 'FAILED')
  t.match(acl.result, /Incorta's public API cannot manage users, groups or sharing/)
  const un = await finished(t, base, await submit(t, base, '/v1/unprovision', incortaRequest({ schemaNames: ['sales'] }, { removeData: true })))
  t.equal(un.status, 'COMPLETED', un.result)
  t.ok(un.logs.some((l: any) => /cannot remove loaded data/.test(l.message)))
  const reverse = await finished(t, base, await submit(t, base, '/v1/reverse-provisioning', { useCaseTemplateId: 'urn:dmb:utm:incorta-load:0.0.0', environment: 'development', params: { schemaNames: ['sales', 'hr'] } }), '/v1/reverse-provisioning')
  t.equal(reverse.status, 'COMPLETED')
  t.same(reverse.updates, { 'spec.mesh.specific.schemaNames': ['sales', 'hr'] })
})

t.test('validation problems are 400s in the contract shape naming the field', async (t) => {
  const { postJson } = await import('../helpers/stack.js')
  const { checkReply } = await import('../../src/openapi/contract-check.js')
  for (const [specific, field] of [[{ schemaNames: ['a'], loadPlanName: 'p' }, 'loadPlanName'], [{ schemaNames: ['a', 'a'] }, 'schemaNames.1'], [{ loadPlanName: 'p', loadSource: 'DAILY' }, 'loadSource'], [{ loadPlanName: 'p', timeoutSeconds: 0 }, 'timeoutSeconds']] as const) {
    const res = await postJson(`${base}/v1/provision`, incortaRequest(specific))
    t.equal(res.status, 400, JSON.stringify(specific))
    t.match(res.json().inputErrorField, new RegExp(`components\\.0\\.specific\\.${field.replace('.', '\\.')}$`))
    t.same(checkReply('POST', '/v1/provision', 400, res.contentType, res.json()), [])
  }
})
