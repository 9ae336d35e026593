import t, { type Test } from 'tap'
import type { Component, DataProduct } from '../../../src/descriptor/types.js'
import { ajvErrorsToProblems } from '../../../src/descriptor/ajv-problems.js'
import { specificValidator } from '../../../src/descriptor/descriptor-validator.js'
import type { Handler } from '../../../src/provisioner/handler.js'
import { createIncortaClient } from '../../../src/provisioner/incorta/incorta-client.js'
import { INCORTA_DEFAULTS, type IncortaConfig } from '../../../src/provisioner/incorta/incorta-config.js'
import { createIncortaHandler, type IncortaState } from '../../../src/provisioner/incorta/incorta-handler.js'
import { startIncortaSimulator, type IncortaSimulator, type IncortaSimulatorOptions } from '../../../src/sandbox/incorta/incorta-simulator.js'
import { killAndResumeAtEveryStep, runSteps, type KitOptions } from '../../helpers/handler-kit.js'

const dataProduct: DataProduct = { id: 'urn:dmb:dp:finance:cashflow:0', components: [] }
type H = Handler<IncortaState>

function component (specific: Record<string, unknown>): Component {
  return { id: 'urn:dmb:cmp:finance:cashflow:0:orders-incorta', name: 'Orders load', kind: 'workload', useCaseTemplateId: 'urn:dmb:utm:incorta-load:0.0.0', specific }
}

function configFor (sim: IncortaSimulator, extra: Partial<IncortaConfig> = {}): IncortaConfig {
  return { ...INCORTA_DEFAULTS, url: sim.url, tenant: sim.defaultTenant, pat: sim.pat, pollIntervalMs: 5, retryBaseMs: 2, requestTimeoutMs: 5000, ...extra }
}

async function setup (t: Test, opts: IncortaSimulatorOptions = {}, extra: Partial<IncortaConfig> = {}): Promise<{ sim: IncortaSimulator, handler: H }> {
  const sim = await startIncortaSimulator(opts)
  t.teardown(() => sim.close())
  const config = configFor(sim, extra)
  return { sim, handler: createIncortaHandler({ config, client: createIncortaClient(config) }) }
}

const provision = (specific: Record<string, unknown>): KitOptions => ({ operation: 'provision', component: component(specific), dataProduct, maxWaitMs: 5 })
const posts = (sim: IncortaSimulator, what: string): number => sim.requests.filter((r) => r.method === 'POST' && r.path.endsWith(what)).length

t.test('schemas load: one load started, followed to Succeeded, info says what, how it ended and where', async (t) => {
  const { sim, handler } = await setup(t)
  const run = await runSteps(handler, provision({ schemaNames: ['sales', 'hr'], loadSource: 'INCREMENTAL' }))
  t.equal(run.outcome?.result, 'OK')
  t.equal(posts(sim, '/schema/load'), 1)
  t.same(sim.model.allJobs('demo').map((j) => [j.schemaName, j.loadSource]), [['sales', 'INCREMENTAL'], ['hr', 'INCREMENTAL']])
  t.ok(run.waits.length > 0, 'waited between polls without holding the step')
  const info = run.outcome?.info
  t.match(info?.publicInfo, {
    loaded: { type: 'string', value: 'sales, hr' },
    finalState: { value: 'sales: Succeeded; hr: Succeeded' },
    duration: { type: 'string' },
    finishedAt: { type: 'date' },
    incorta: { type: 'link', href: `${sim.url}/incorta/!demo/` }
  })
  t.same(Object.keys(info?.privateInfo ?? {}).sort(), ['tenant', 'triggeredAt'])
  t.ok(run.logs.some((l) => l.level === 'DEBUG' && l.message.startsWith('Incorta status body of schema')), 'one raw body at debug level')
  t.equal(run.logs.filter((l) => l.message.startsWith('Incorta status body')).length, 1)
})

t.test('a tenant named by the component wins over the default', async (t) => {
  const { sim, handler } = await setup(t, { tenants: { demo: { schemas: ['sales'] }, Finance: { schemas: ['ledger'] } } })
  const run = await runSteps(handler, provision({ tenant: 'Finance', schemaNames: ['ledger'] }))
  t.equal(run.outcome?.result, 'OK')
  t.equal(sim.model.allJobs('Finance').length, 1)
  t.equal(sim.model.allJobs('demo').length, 0)
})

t.test('an earlier load of the schema does not count: the new load is followed (and here fails)', async (t) => {
  const { sim, handler } = await setup(t)
  const first = await runSteps(handler, provision({ schemaNames: ['sales'] }))
  t.equal(first.outcome?.result, 'OK')
  sim.failSchema('sales', 'Failed', 'disk full on loader node')
  await t.rejects(runSteps(handler, provision({ schemaNames: ['sales'] })), /sales: Failed \(disk full on loader node\)/)
  t.equal(sim.model.allJobs('demo').length, 2)
})

t.test('failures fail with Incorta\'s message per schema, in both body variants and spellings', async (t) => {
  for (const bodies of [{ variant: 'jobs', spelling: 'title' }, { variant: 'jobs', spelling: 'upper' }, { variant: 'last-load', spelling: 'title' }, { variant: 'last-load', spelling: 'upper' }] as const) {
    for (const [state, word] of [['Finished With Errors', bodies.spelling === 'title' ? 'Finished With Errors' : 'FINISHED_WITH_ERRORS'], ['Interrupted', bodies.spelling === 'title' ? 'Interrupted' : 'INTERRUPTED']] as const) {
      const { sim, handler } = await setup(t, { bodies })
      sim.failSchema('hr', state, 'table EMPLOYEES: 4 rows rejected')
      await t.rejects(runSteps(handler, provision({ schemaNames: ['sales', 'hr'] })),
        { message: `Incorta load of hr did not succeed: hr: ${word} (table EMPLOYEES: 4 rows rejected)` }, `${bodies.variant}/${bodies.spelling}/${state}`)
    }
  }
})

t.test('success in both variants and spellings', async (t) => {
  for (const bodies of [{ variant: 'jobs', spelling: 'upper' }, { variant: 'last-load', spelling: 'title' }, { variant: 'last-load', spelling: 'upper' }] as const) {
    const { handler } = await setup(t, { bodies })
    const run = await runSteps(handler, provision({ schemaNames: ['sales'] }))
    t.equal(run.outcome?.result, 'OK', `${bodies.variant}/${bodies.spelling}`)
  }
})

t.test('timeoutSeconds bounds the wait and says the load was left running', async (t) => {
  const { handler } = await setup(t, { clock: { runSteps: 1_000_000 } })
  await t.rejects(runSteps(handler, provision({ schemaNames: ['sales'], timeoutSeconds: 0.15 })),
    /Incorta load did not finish within 150 ms \(timeoutSeconds\): sales: In Progress; it was left running in Incorta/)
})

t.test('waitForCompletion false completes once the load is accepted', async (t) => {
  const { sim, handler } = await setup(t, { clock: { runSteps: 1_000_000 } })
  const run = await runSteps(handler, provision({ schemaNames: ['sales'], waitForCompletion: false }))
  t.equal(run.outcome?.result, 'OK')
  t.same(run.waits, [])
  t.equal(posts(sim, '/schema/load'), 1)
  t.match(run.outcome?.info?.publicInfo, { finalState: { value: 'load accepted by Incorta (not waited for)' } })
})

t.test('an unknown schema fails at once quoting the INC_ message', async (t) => {
  const { sim, handler } = await setup(t)
  await t.rejects(runSteps(handler, provision({ schemaNames: ['nope'] })), /INC_03010404: Schema \[nope\] does not exist/)
  t.equal(sim.requests.length, 1)
})

t.test('load plan: executed, followed by id, execution id in privateInfo', async (t) => {
  const { sim, handler } = await setup(t)
  const run = await runSteps(handler, provision({ loadPlanName: 'nightly' }))
  t.equal(run.outcome?.result, 'OK')
  const [execution] = [...sim.model.tenant('demo').executions.values()]
  t.equal(run.outcome?.info?.privateInfo.loadPlanExecutionId, String(execution?.id))
  t.match(run.outcome?.info?.publicInfo, { loaded: { label: 'Incorta load plan', value: 'nightly' }, finalState: { value: 'nightly: Succeeded' } })
})

t.test('load plan already running: waits with backoff, then runs its own execution after the other', async (t) => {
  const { sim, handler } = await setup(t, { clock: { runSteps: 6 } })
  const foreign = sim.executeOutOfBand('nightly')
  const run = await runSteps(handler, provision({ loadPlanName: 'nightly' }))
  t.equal(run.outcome?.result, 'OK')
  const executions = [...sim.model.tenant('demo').executions.values()]
  t.equal(executions.length, 2)
  const ours = executions.find((e) => e.id !== foreign)
  t.equal(run.state.executionId, String(ours?.id))
  t.ok((ours?.createdStep ?? 0) >= (executions.find((e) => e.id === foreign)?.endStep ?? Infinity), 'ours started after the other ended')
  t.ok(run.logs.some((l) => /already running another execution/.test(l.message)))
  const blocked = run.waits.slice(0, 3)
  t.ok(blocked.length >= 2 && (blocked[1] ?? 0) >= (blocked[0] ?? 0), 'the waits grow')
})

t.test('load plan failing: the failing schema and its message', async (t) => {
  for (const bodies of [{ variant: 'jobs', spelling: 'title' }, { variant: 'last-load', spelling: 'upper' }] as const) {
    const { sim, handler } = await setup(t, { bodies })
    sim.failSchema('hr', 'Failed', 'source connection refused')
    await t.rejects(runSteps(handler, provision({ loadPlanName: 'nightly' })), new RegExp(`load plan nightly execution \\d+ ended ${bodies.spelling === 'title' ? 'Failed' : 'FAILED'}: hr: ${bodies.spelling === 'title' ? 'Failed' : 'FAILED'} \\(source connection refused\\)`))
  }
})

t.test('load plan kept busy past timeoutSeconds: fails saying ours never started', async (t) => {
  const { sim, handler } = await setup(t, { clock: { runSteps: 1_000_000 } })
  sim.executeOutOfBand('nightly')
  await t.rejects(runSteps(handler, provision({ loadPlanName: 'nightly', timeoutSeconds: 0.1 })), /could not be started within 100 ms \(timeoutSeconds\): another execution kept running \(INC_05290501/)
})

t.test('a resumed task with a checkpointed execution id polls it instead of starting another', async (t) => {
  const { sim, handler } = await setup(t)
  const parked = await runSteps(handler, provision({ loadPlanName: 'nightly' }), { stopAtWait: true })
  t.ok(parked.state.executionId !== undefined)
  const resumed = await runSteps(handler, provision({ loadPlanName: 'nightly' }), { from: parked.checkpoint })
  t.equal(resumed.outcome?.result, 'OK')
  t.equal(posts(sim, '/load-plan/execute'), 1)
})

t.test('schemas: killed inside every step, the resumed run starts no second load', async (t) => {
  let sim: IncortaSimulator | undefined
  const rounds = await killAndResumeAtEveryStep(async () => {
    const fresh = await setup(t)
    sim = fresh.sim
    return { handler: fresh.handler, opts: provision({ schemaNames: ['sales', 'hr'] }) }
  }, ({ killedIn, resumed }) => {
    t.equal(resumed.outcome?.result, 'OK', `killed in ${killedIn}: finished`)
    t.same(sim?.model.allJobs('demo').map((j) => j.schemaName), ['sales', 'hr'], `killed in ${killedIn}: one load job per schema`)
  })
  t.equal(rounds, 3)
})

t.test('load plan: killed inside every step, the resumed run follows the one execution (its id is in the resource record before the checkpoint)', async (t) => {
  let sim: IncortaSimulator | undefined
  await killAndResumeAtEveryStep(async () => {
    const fresh = await setup(t)
    sim = fresh.sim
    return { handler: fresh.handler, opts: provision({ loadPlanName: 'nightly' }) }
  }, ({ killedIn, resumed }) => {
    t.equal(resumed.outcome?.result, 'OK', `killed in ${killedIn}: finished`)
    t.equal(sim?.model.tenant('demo').executions.size, 1, `killed in ${killedIn}: one execution`)
    if (killedIn === 'start-load') t.ok(resumed.logs.some((l) => /was started by this request before the step was checkpointed \(from this service's resource record\); following it/.test(l.message)))
  })
})

t.test('unprovision deletes nothing and says so, and that removeData cannot remove Incorta data', async (t) => {
  const { sim, handler } = await setup(t)
  const run = await runSteps(handler, { operation: 'unprovision', component: component({ schemaNames: ['sales'] }), removeData: true })
  t.equal(run.outcome?.result, 'OK')
  t.equal(sim.requests.length, 0)
  t.ok(run.logs.some((l) => l.level === 'INFO' && /nothing in Incorta is deleted/.test(l.message)))
  t.ok(run.logs.some((l) => l.level === 'WARNING' && /public API cannot remove loaded data/.test(l.message)))
})

t.test('updateacl: identities cannot be granted through Incorta\'s API; none asked is fine', async (t) => {
  const { handler } = await setup(t)
  await t.rejects(runSteps(handler, { operation: 'updateacl', component: component({ schemaNames: ['sales'] }), refs: ['user:alice_company.com', 'group:analysts'] }),
    { code: 'PRV_ERR_INCORTA_ACL_UNSUPPORTED', message: /cannot manage users, groups or sharing, so access for user:alice_company.com, group:analysts was not granted/ })
  t.equal((await runSteps(handler, { operation: 'updateacl', component: component({ schemaNames: ['sales'] }), refs: [] })).outcome?.result, 'OK')
})

t.test('validation: schema and semantic rules with field paths and hints', async (t) => {
  const { handler } = await setup(t)
  const validate = specificValidator(handler as unknown as Handler)
  const problems = (specific: Record<string, unknown>): Array<{ path: string, message: string }> => {
    if (!validate(specific)) return ajvErrorsToProblems(validate.errors, '')
    return handler.checkSpecific(component(specific), { dataProduct, hasSecret: () => true }).problems
  }
  t.same(problems({ schemaNames: ['sales'], loadSource: 'FULL', waitForCompletion: true, timeoutSeconds: 60, tenant: 'demo' }), [])
  t.same(problems({ loadPlanName: 'nightly' }), [])
  t.match(problems({}), [{ path: 'schemaNames', message: /required \(or loadPlanName\)/ }])
  t.match(problems({ schemaNames: ['a'], loadPlanName: 'p' }), [{ path: 'loadPlanName', message: /cannot be set together/ }])
  t.match(problems({ schemaNames: [] }), [{ path: 'schemaNames', message: 'must list at least one item' }])
  t.match(problems({ schemaNames: ['a', 'b', 'a'] }), [{ path: 'schemaNames.2', message: /listed twice \(also at schemaNames.0\)/ }])
  t.match(problems({ schemaNames: ['  '] }), [{ path: 'schemaNames.0', message: 'must be a non-blank name' }])
  t.match(problems({ schemaNames: ['a'], loadSource: 'WEEKLY' }), [{ path: 'loadSource', message: 'must be one of: FULL, INCREMENTAL, STAGING' }])
  for (const bad of [0, -5, '60', null]) t.match(problems({ schemaNames: ['a'], timeoutSeconds: bad }), [{ path: 'timeoutSeconds' }], `timeoutSeconds ${String(bad)}`)
  t.match(problems({ schemaNames: ['a'], waitForCompletion: 'yes' }), [{ path: 'waitForCompletion' }])
  t.match(problems({ schemaNames: ['a'], loadPlan: 'x' }), [{ path: 'loadPlan', message: 'is not a known field' }])
  t.match(problems({ schemaNames: ['a'], tenant: 'a/b' }), [{ path: 'tenant' }])
  t.match(problems({ schemaNames: ['${secret:x}'] }), [{ path: 'schemaNames.0', message: 'an Incorta load takes no secret' }])
  const noTenant = createIncortaHandler({ config: { ...INCORTA_DEFAULTS }, client: () => { throw new Error('not called') } })
  t.match(noTenant.checkSpecific(component({ schemaNames: ['a'] }), { dataProduct, hasSecret: () => true }).problems, [{ path: 'tenant', hint: /INCORTA_TENANT/ }])
})

t.test('upstream validation: missing schemas by path, business schemas, and a clear note when Incorta is unreachable', async (t) => {
  const { sim, handler } = await setup(t, { tenants: { demo: { schemas: ['Sales', 'hr'], businessSchemas: ['kpis'] } } })
  const log = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} }
  const ctx = (specific: Record<string, unknown>): Parameters<H['checkUpstream']>[0] => ({ component: component(specific), dataProduct, log, secrets: { resolve: async (v) => v }, signal: new AbortController().signal })
  const check = await handler.checkUpstream(ctx({ schemaNames: ['hr', 'sales', 'kpis', 'ghost'] }))
  t.match(check.problems, [
    { path: 'schemaNames.1', message: 'schema "sales" does not exist in Incorta tenant demo', hint: /did you mean "Sales"/ },
    { path: 'schemaNames.2', message: /business schema/ },
    { path: 'schemaNames.3', message: /"ghost" does not exist/ }
  ])
  t.match((await handler.checkUpstream(ctx({ loadPlanName: 'nightly' }))).warnings, [/cannot list load plans/])
  await sim.close()
  const down = await handler.checkUpstream(ctx({ schemaNames: ['hr'] }))
  t.same(down.problems, [])
  t.match(down.warnings, [/could not be reached or refused the check .*: the schema names were not checked/])
})

t.test('reverse provisioning describes schemas (exact spelling from Incorta) or a load plan', async (t) => {
  const { handler } = await setup(t, { tenants: { demo: { schemas: ['Sales', 'hr'] }, other: { schemas: ['x'] } } })
  const log = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} }
  const base = { useCaseTemplateId: 'urn:dmb:utm:incorta-load:0.0.0', environment: 'development', catalogInfo: {}, log, signal: new AbortController().signal }
  t.same(await handler.reverseProvision({ ...base, params: { schemaNames: ['sales', 'hr'], loadSource: 'INCREMENTAL' } }),
    { updates: { 'spec.mesh.specific.schemaNames': ['Sales', 'hr'], 'spec.mesh.specific.loadSource': 'INCREMENTAL' } })
  t.same(await handler.reverseProvision({ ...base, params: { loadPlanName: 'nightly', tenant: 'other' } }),
    { updates: { 'spec.mesh.specific.tenant': 'other', 'spec.mesh.specific.loadPlanName': 'nightly' } })
  await t.rejects(handler.reverseProvision({ ...base, params: { schemaNames: ['ghost'] } }), /has no schema named "ghost"/)
  await t.rejects(handler.reverseProvision({ ...base, params: {} }), { code: 'PRV_ERR_DESCRIPTOR_INVALID' })
  await t.rejects(handler.reverseProvision({ ...base, params: { schemaNames: ['a'], loadPlanName: 'p' } }), { code: 'PRV_ERR_DESCRIPTOR_INVALID' })
})

t.test('a load Incorta refuses on the spot fails at once instead of waiting for the timeout', async (t) => {
  const { sim } = await setup(t)
  const config = configFor(sim)
  const real = createIncortaClient(config)
  const refusing = createIncortaHandler({ config, client: { ...real, startSchemaLoad: async () => ({ loadingStatus: { sales: 'FAILED' } }) } })
  await t.rejects(runSteps(refusing, provision({ schemaNames: ['sales'] })), /Incorta did not start the load of sales \(FAILED\)/)
})
