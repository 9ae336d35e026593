/**
 * What an Incorta provision costs upstream and what it starts (issue 9, as it applies to a handler that creates
 * nothing and starts runs): the start of a schema load or a plan execution is announced in the resource ledger
 * and recorded when Incorta answers, so the start step looks schemas up only when its own start may have landed;
 * a recorded execution id is followed, one Incorta no longer knows is logged and the plan executed again; a
 * crash during the call never loads a schema twice. Real Redis holds the ledger; the simulator counts the calls.
 * Loads here end at once (no simulated time passes per request), so every count is exact.
 */
import t, { type Test } from 'tap'
import type { Component, DataProduct } from '../../../src/descriptor/types.js'
import type { ResourceLedger } from '../../../src/provisioner/handler.js'
import { createIncortaClient, type IncortaClient } from '../../../src/provisioner/incorta/incorta-client.js'
import { INCORTA_DEFAULTS, type IncortaConfig } from '../../../src/provisioner/incorta/incorta-config.js'
import { createIncortaHandler, type IncortaState } from '../../../src/provisioner/incorta/incorta-handler.js'
import { startIncortaSimulator, type IncortaRequestRecord, type IncortaSimulator, type IncortaSimulatorOptions } from '../../../src/sandbox/incorta/incorta-simulator.js'
import { runSteps, type KitOptions, type KitRun } from '../../helpers/handler-kit.js'
import { ledgerRedis } from '../../helpers/ledger-redis.js'

const dataProduct: DataProduct = { id: 'urn:dmb:dp:finance:cost:0', components: [] }
const { redis, keys, ledgers } = await ledgerRedis(t, 'incorta-provision-cost')

let components = 0
function component (specific: Record<string, unknown>): Component {
  return { id: `urn:dmb:cmp:finance:cost:0:load-${++components}`, name: 'Orders load', kind: 'workload', useCaseTemplateId: 'urn:dmb:utm:incorta-load:0.0.0', specific }
}

type Handler = ReturnType<typeof createIncortaHandler>

async function setup (t: Test, clock: { runSteps?: number } = {}, tenants?: IncortaSimulatorOptions['tenants']): Promise<{ sim: IncortaSimulator, config: IncortaConfig, handler: Handler }> {
  // Loads end at once unless runSteps says otherwise, and only API requests move time: counts do not depend on timing.
  const sim = await startIncortaSimulator({ tenants, clock: { stepPerRequest: clock.runSteps !== undefined, queueSteps: 0, runSteps: clock.runSteps ?? 0 } })
  t.teardown(() => sim.close())
  const config: IncortaConfig = { ...INCORTA_DEFAULTS, url: sim.url, tenant: sim.defaultTenant, pat: sim.pat, pollIntervalMs: 5, retryBaseMs: 2, requestTimeoutMs: 5000 }
  return { sim, config, handler: createIncortaHandler({ config, client: createIncortaClient(config) }) }
}

function options (comp: Component, ledger: ResourceLedger): KitOptions {
  return { operation: 'provision', component: comp, dataProduct, ledger, maxWaitMs: 5 }
}

/** The calls `fn` makes, as `METHOD /path-below-the-tenant`. */
async function calls<T> (sim: IncortaSimulator, fn: () => Promise<T>): Promise<{ value: T, made: string[] }> {
  const before = sim.requests.length
  const value = await fn()
  const rest = (r: IncortaRequestRecord): string => `${r.method} ${r.path.replace(`/incorta/api/v2/${sim.defaultTenant}`, '')}`
  return { value, made: sim.requests.slice(before).map(rest) }
}

const posts = (made: string[]): string[] => made.filter((c) => c.startsWith('POST '))

/** A client whose start call is cut off the way a killed worker cuts it: after Incorta got it, or before. */
function killedDuringStart (config: IncortaConfig, landed: boolean): IncortaClient {
  const real = createIncortaClient(config)
  const killed = new Error('worker killed during the call')
  return {
    ...real,
    startSchemaLoad: async (...args) => { if (landed) await real.startSchemaLoad(...args); throw killed },
    executeLoadPlan: async (...args) => { if (landed) await real.executeLoadPlan(...args); throw killed }
  }
}

t.test('a re-provision loads again at the cost of the first: each schema read before and after, one POST, the load it asks for; a state without the ledger reads each schema once more', async (t) => {
  const { sim, handler } = await setup(t)
  const comp = component({ schemaNames: ['sales', 'hr'] })
  const ledger = ledgers.for('incorta', comp.id)
  const expected = ['GET /schema/sales/status', 'GET /schema/hr/status', 'POST /schema/load', 'GET /schema/sales/status', 'GET /schema/hr/status']
  const first = await calls(sim, async () => await runSteps(handler, options(comp, ledger)))
  t.equal(first.value.outcome?.result, 'OK')
  t.same(first.made, expected, 'first provision: 2N+1 calls')
  const again = await calls(sim, async () => await runSteps(handler, options(comp, ledger)))
  t.equal(again.value.outcome?.result, 'OK')
  t.same(again.made, expected, 'unchanged re-provision: the same 2N+1 calls')
  t.same(posts(again.made), ['POST /schema/load'], 'its one POST is the load a provision asks for; nothing else is sent')
  t.notOk(again.value.logs.some((l) => /looking each schema's load jobs up/.test(l.message)), 'no schema was looked up again before the load')
  t.ok(again.value.logs.some((l) => l.message === 'schemas sales, hr left as they are in Incorta (this adapter changes no schema); this provision loads them'))
  t.same(sim.model.allJobs('demo').map((j) => j.schemaName).sort(), ['hr', 'hr', 'sales', 'sales'], 'one new load job per schema each time')

  // As a release without the ledger ran it: the start step cannot know whether it sent the load, so it reads every schema again.
  const prepared = await calls(sim, async () => await runSteps(handler, options(comp, ledger), { stopAfterSteps: 1 }))
  const legacy = structuredClone(prepared.value.checkpoint)
  delete (legacy.state as IncortaState).requestKey
  const old = await calls(sim, async () => await runSteps(handler, options(comp, ledger), { from: legacy }))
  t.equal(old.value.outcome?.result, 'OK')
  t.same([...prepared.made, ...old.made], ['GET /schema/sales/status', 'GET /schema/hr/status', ...expected], 'a state from before the ledger: the start step reads each schema again, 3N+1')
  t.ok(old.value.logs.some((l) => /prepared by a release that kept no resource record: looking each schema's load jobs up/.test(l.message)))
  t.comment(`schemas (N=2): first provision ${first.made.length} calls, unchanged re-provision ${again.made.length} calls (${posts(again.made).length} POST); ` +
    `the start step as without the ledger: ${prepared.made.length + old.made.length} calls`)
})

t.test('a load plan re-provision: one execute and its status, as the first', async (t) => {
  const { sim, handler } = await setup(t)
  const comp = component({ loadPlanName: 'nightly' })
  const ledger = ledgers.for('incorta', comp.id)
  const first = await calls(sim, async () => await runSteps(handler, options(comp, ledger)))
  const again = await calls(sim, async () => await runSteps(handler, options(comp, ledger)))
  for (const run of [first, again]) {
    t.equal(run.value.outcome?.result, 'OK')
    t.match(run.made, ['POST /load-plan/execute', /^GET \/load-plan\/status\/\d+$/])
    t.equal(run.made.length, 2)
  }
  t.equal(sim.model.tenant('demo').executions.size, 2, 'each provision is one execution')
  t.comment(`load plan: first provision ${first.made.length} calls, unchanged re-provision ${again.made.length} calls, ${posts(again.made).length} POST`)
})

t.test('a changed descriptor sends its load as changed', async (t) => {
  const { sim, handler } = await setup(t)
  const comp = component({ schemaNames: ['sales'] })
  const ledger = ledgers.for('incorta', comp.id)
  await runSteps(handler, options(comp, ledger))
  const changed = { ...comp, specific: { schemaNames: ['sales', 'orders'], loadSource: 'INCREMENTAL' } }
  const run = await calls(sim, async () => await runSteps(handler, options(changed, ledger)))
  t.equal(run.value.outcome?.result, 'OK')
  t.same(posts(run.made), ['POST /schema/load'])
  t.same(sim.model.allJobs('demo').map((j) => [j.schemaName, j.loadSource]), [['sales', 'FULL'], ['sales', 'INCREMENTAL'], ['orders', 'INCREMENTAL']])
})

t.test('an execution id the ledger holds for this request and Incorta no longer knows: logged, the plan executed again', async (t) => {
  const { sim, handler } = await setup(t)
  const comp = component({ loadPlanName: 'nightly' })
  const ledger = ledgers.for('incorta', comp.id)
  // Killed after Incorta answered and the id was recorded, before the step's checkpoint.
  const killed = await runSteps(handler, options(comp, ledger), { killInside: 1 })
  const recorded = (await ledger.read()).loadPlanExecution?.id
  t.ok(recorded !== undefined, 'the id was recorded the moment Incorta gave it')
  t.equal(killed.state.executionId, undefined, 'the checkpoint does not hold it')
  sim.model.tenant('demo').executions.delete(Number(recorded))
  const resumed = await calls(sim, async () => await runSteps(handler, options(comp, ledger), { from: killed.checkpoint }))
  t.equal(resumed.value.outcome?.result, 'OK')
  t.match(resumed.made, [`GET /load-plan/status/${String(recorded)}`, 'POST /load-plan/execute', /^GET \/load-plan\/status\/\d+$/])
  t.ok(resumed.value.logs.some((l) => l.message === `load plan nightly: execution ${String(recorded)} (from this service's resource record) no longer exists in Incorta; executing the plan again`))
  const now = resumed.value.state.executionId
  t.not(now, recorded)
  t.equal((await ledger.read()).loadPlanExecution?.id, now, 'the record holds the new execution')
})

/**
 * Two schemas: the first step runs, the worker is killed inside the load call (after Incorta took the load, or
 * before it got it), and a fresh run resumes from the first step's checkpoint.
 */
async function killedDuringLoadCall (t: Test, incortaGotIt: boolean): Promise<{ sim: IncortaSimulator, ledger: ResourceLedger, resumed: { value: KitRun<IncortaState>, made: string[] } }> {
  const { sim, config, handler } = await setup(t)
  const comp = component({ schemaNames: ['sales', 'hr'] })
  const ledger = ledgers.for('incorta', comp.id)
  const prepared = await runSteps(handler, options(comp, ledger), { stopAfterSteps: 1 })
  const cut = createIncortaHandler({ config, client: killedDuringStart(config, incortaGotIt) })
  await t.rejects(runSteps(cut, options(comp, ledger), { from: prepared.checkpoint }), /worker killed during the call/)
  t.ok((await ledger.read()).schemaLoad?.creating !== undefined, 'announced, never recorded')
  const resumed = await calls(sim, async () => await runSteps(handler, options(comp, ledger), { from: prepared.checkpoint }))
  return { sim, ledger, resumed }
}

t.test('killed during the schema load call after Incorta took it: the resume looks each schema up and loads none twice', async (t) => {
  const { sim, resumed } = await killedDuringLoadCall(t, true)
  t.equal(resumed.value.outcome?.result, 'OK')
  t.same(posts(resumed.made), [], 'no second load')
  t.same(sim.model.allJobs('demo').map((j) => j.schemaName), ['sales', 'hr'], 'one load job per schema')
  t.ok(resumed.value.logs.some((l) => /may have reached Incorta before the worker stopped .*looking each schema's load jobs up/.test(l.message)))
  t.ok(resumed.value.logs.some((l) => l.message.startsWith('schema hr: a load started by this request is already')))
})

t.test('killed during the schema load call before Incorta got it: the resume looks, finds none, loads once', async (t) => {
  const { sim, ledger, resumed } = await killedDuringLoadCall(t, false)
  t.equal(resumed.value.outcome?.result, 'OK')
  t.same(posts(resumed.made), ['POST /schema/load'])
  t.same(sim.model.allJobs('demo').map((j) => j.schemaName), ['sales', 'hr'])
  t.same(await ledger.read(), { schemaLoad: { sent: (await ledger.read()).schemaLoad?.sent } }, 'recorded once Incorta answered')
})

t.test('killed after the schema load was recorded, before the checkpoint: the resume starts nothing and reads nothing first', async (t) => {
  const { sim, handler } = await setup(t)
  const comp = component({ schemaNames: ['sales', 'hr'] })
  const ledger = ledgers.for('incorta', comp.id)
  const killed = await runSteps(handler, options(comp, ledger), { killInside: 1 })
  const resumed = await calls(sim, async () => await runSteps(handler, options(comp, ledger), { from: killed.checkpoint }))
  t.equal(resumed.value.outcome?.result, 'OK')
  t.same(resumed.made, ['GET /schema/sales/status', 'GET /schema/hr/status'], 'only the wait\'s reads')
  t.same(sim.model.allJobs('demo').map((j) => j.schemaName), ['sales', 'hr'])
})

t.test('load plan killed during the execute call: Incorta cannot list executions, so the resume says so and runs the plan once more after it, never two at a time', async (t) => {
  const { sim, config, handler } = await setup(t, { runSteps: 4 })
  const comp = component({ loadPlanName: 'nightly' })
  const ledger = ledgers.for('incorta', comp.id)
  const prepared = await runSteps(handler, options(comp, ledger), { stopAfterSteps: 1 })
  const cut = createIncortaHandler({ config, client: killedDuringStart(config, true) })
  await t.rejects(runSteps(cut, options(comp, ledger), { from: prepared.checkpoint }), /worker killed during the call/)
  const resumed = await runSteps(handler, options(comp, ledger), { from: prepared.checkpoint })
  t.equal(resumed.outcome?.result, 'OK')
  const warned = resumed.logs.filter((l) => l.level === 'WARNING' && /may have reached Incorta before the worker stopped .*cannot list a plan's executions/.test(l.message))
  t.equal(warned.length, 1, 'warned once, not on every refused retry')
  const [lost, ours] = [...sim.model.tenant('demo').executions.values()]
  t.equal(resumed.state.executionId, String(ours?.id))
  t.ok((ours?.createdStep ?? 0) >= (lost?.endStep ?? Infinity), 'the second started after the first ended')
})

t.test('unprovision forgets the records of the loads (nothing in Incorta to delete, no call); the records hold no names', async (t) => {
  const { sim, handler } = await setup(t)
  const comp = component({ schemaNames: ['sales'] })
  const ledger = ledgers.for('incorta', comp.id)
  await runSteps(handler, options(comp, ledger))
  t.same(Object.keys(await ledger.read()), ['schemaLoad'], 'the provision recorded its load')
  const stored = JSON.stringify(await redis.hgetall(keys.ownedResources('incorta', comp.id)))
  t.notMatch(stored, /sales|demo/, 'a fingerprint, not the load it stands for')
  const run: { value: KitRun<IncortaState>, made: string[] } = await calls(sim, async () => await runSteps(handler, { operation: 'unprovision', component: comp, dataProduct, ledger }))
  t.equal(run.value.outcome?.result, 'OK')
  t.same(run.made, [])
  t.same(await ledger.read(), {})
})

t.test('a re-provision while the earlier request\'s execution still runs: refused once, then that execution is read by id until it ends, and the plan executed once', async (t) => {
  const { sim, handler } = await setup(t, { runSteps: 12 })
  const comp = component({ loadPlanName: 'nightly', waitForCompletion: false })
  const first = await runSteps(handler, options(comp, ledgers.for('incorta', comp.id)))
  const earlier = first.state.executionId
  const again = await calls(sim, async () => await runSteps(handler, options(comp, ledgers.for('incorta', comp.id))))
  t.equal(again.value.outcome?.result, 'OK')
  t.same(posts(again.made), ['POST /load-plan/execute', 'POST /load-plan/execute'], 'one refused execute, then the one that starts it')
  t.ok(again.made.slice(1, -1).every((c) => c === `GET /load-plan/status/${String(earlier)}`), 'in between, only reads of the running execution')
  t.ok(again.value.logs.some((l) => l.message.startsWith(`load plan nightly is busy with execution ${String(earlier)} (from this service's resource record), still In Progress`)))
  t.not(again.value.state.executionId, earlier)

  // The same from the deployed descriptor's privateInfo, when this service has no record (another deployment's Redis).
  const busy = await runSteps(handler, options(comp, ledgers.for('incorta', comp.id)))
  const deployed = { ...component(comp.specific as Record<string, unknown>), info: { publicInfo: {}, privateInfo: busy.outcome?.info?.privateInfo ?? {} } }
  const elsewhere = await calls(sim, async () => await runSteps(handler, options(deployed, ledgers.for('incorta', deployed.id))))
  t.same(posts(elsewhere.made), ['POST /load-plan/execute', 'POST /load-plan/execute'])
  t.ok(elsewhere.value.logs.some((l) => l.message.startsWith(`load plan nightly is busy with execution ${String(busy.state.executionId)} (from the deployed descriptor's privateInfo)`)))

  // An execution no id is known of (started in Incorta by someone else) can only be asked about by executing again.
  sim.executeOutOfBand('nightly')
  const blind = await calls(sim, async () => await runSteps(handler, options(component(comp.specific as Record<string, unknown>), ledgers.for('incorta', 'blind'))))
  t.ok(posts(blind.made).length > 2, 'refused executes until it is over')
  t.comment(`plan busy for 12 steps: ${posts(again.made).length} POSTs and ${again.made.length} calls with the earlier execution's id known; ${posts(blind.made).length} POSTs and ${blind.made.length} calls without`)
})

t.test('a known execution of the plan the component named before is not waited for: the plan it names now is asked again', async (t) => {
  const { sim, handler } = await setup(t, { runSteps: 12 }, { demo: { schemas: ['sales', 'hr'], loadPlans: { nightly: ['sales'], weekly: ['hr'] } } })
  const comp = component({ loadPlanName: 'nightly', waitForCompletion: false })
  const nightly = await runSteps(handler, options(comp, ledgers.for('incorta', comp.id)))
  sim.executeOutOfBand('weekly')
  const renamed = { ...comp, specific: { loadPlanName: 'weekly' } }
  const run = await calls(sim, async () => await runSteps(handler, options(renamed, ledgers.for('incorta', comp.id))))
  t.equal(run.value.outcome?.result, 'OK')
  t.notOk(run.value.logs.some((l) => /is busy with execution/.test(l.message)), `not waiting for nightly's execution ${String(nightly.state.executionId)}`)
  t.ok(posts(run.made).length > 2, 'weekly asked again until it was free')
})
