import t from 'tap'
import type { Component } from '../../src/descriptor/types.js'
import type { ComponentOperation, Handler, Step } from '../../src/provisioner/handler.js'
import type { TaskStore } from '../../src/queue/task-store.js'
import type { ComponentCheckpoint, ComponentTaskData } from '../../src/queue/task-types.js'
import { runSteps, type KitOptions } from '../helpers/handler-kit.js'
import { startEngineStack } from '../helpers/engine-stack.js'
import { eventually } from '../helpers/service-process.js'

interface FakeState { ran?: string[], count?: number, total?: number }

interface FakeOptions {
  id?: string
  stateVersion?: number
  migrateState?: Handler<FakeState>['migrateState']
  legacyStepNames?: Handler<FakeState>['legacyStepNames']
  /** Steps that ask to wait once before they finish. */
  waitOnce?: string[]
  /** Every step run, across runs and components: `<component id>:<step>`. */
  journal?: string[]
}

/** A handler whose steps only record, in the state and the journal, that they ran. */
function fakeHandler (names: string[], opts: FakeOptions = {}): Handler<FakeState> {
  const steps: Array<Step<FakeState>> = names.map((name) => ({
    name,
    run: async (ctx) => {
      opts.journal?.push(`${ctx.component.id}:${name}`)
      const waited = `${name}-waited`
      if (opts.waitOnce?.includes(name) === true && ctx.state.ran?.includes(waited) !== true) {
        ctx.state.ran = [...(ctx.state.ran ?? []), waited]
        return { waitMs: 1 }
      }
      ctx.state.ran = [...(ctx.state.ran ?? []), name]
      ctx.state.count = (ctx.state.count ?? 0) + 1
      return undefined
    }
  }))
  const unused = (): never => { throw new Error('not used here') }
  return {
    id: opts.id ?? 'fake',
    useCaseTemplateIds: [`urn:dmb:utm:${opts.id ?? 'fake'}-standard`],
    specificSchema: {},
    checkSpecific: () => ({ problems: [], warnings: [] }),
    checkUpstream: unused,
    steps: (_operation: ComponentOperation) => steps,
    outcome: (ctx) => ({ result: `OK after ${(ctx.state.ran ?? []).join(',')}` }),
    reverseProvision: unused,
    ...(opts.stateVersion === undefined ? {} : { stateVersion: opts.stateVersion }),
    ...(opts.migrateState === undefined ? {} : { migrateState: opts.migrateState }),
    ...(opts.legacyStepNames === undefined ? {} : { legacyStepNames: opts.legacyStepNames })
  }
}

const component: Component = { id: 'urn:dmb:cmp:kit:kit:0:c1', name: 'c1', kind: 'workload' }
const kit: KitOptions = { operation: 'provision', component }
const PREVIOUS = ['a', 'b', 'c', 'd']

/** A checkpoint the previous release left: `a` and `b` done, then stopped (between steps or while `c` waits). */
async function previousCheckpoint (where: 'between' | 'waiting-in-c'): Promise<ComponentCheckpoint> {
  const previous = fakeHandler(PREVIOUS, { waitOnce: ['c'] })
  const r = where === 'between' ? await runSteps(previous, kit, { stopAfterSteps: 2 }) : await runSteps(previous, kit, { stopAtWait: true })
  return r.checkpoint
}

t.test('a step added before the current one runs, where it now stands', async (t) => {
  const cp = await previousCheckpoint('waiting-in-c')
  t.equal(cp.current, 'c', 'the previous release was waiting in c')
  const r = await runSteps(fakeHandler(['a', 'b', 'x', 'c', 'd']), kit, { from: cp })
  t.same(r.ran, ['x', 'c', 'd'])
  t.same(r.checkpoint.done, ['a', 'b', 'x', 'c', 'd'])
  const first = await runSteps(fakeHandler(['x', 'a', 'b', 'c', 'd']), kit, { from: cp })
  t.same(first.ran, ['x', 'c', 'd'], 'a step added before done ones runs before the rest')
})

t.test('a step added after the current one runs after it', async (t) => {
  const r = await runSteps(fakeHandler(['a', 'b', 'c', 'y', 'd']), kit, { from: await previousCheckpoint('waiting-in-c') })
  t.same(r.ran, ['c', 'y', 'd'])
  t.match(r.outcome?.result, /c-waited,c,y,d$/, 'the waiting step picked up its own state')
})

t.test('the step that was current, removed by the new release, is skipped with a note', async (t) => {
  const r = await runSteps(fakeHandler(['a', 'b', 'd']), kit, { from: await previousCheckpoint('waiting-in-c') })
  t.same(r.ran, ['d'])
  t.same(r.notes, ['step "c" no longer exists in this release; continuing with "d"'])
  t.ok(r.outcome, 'finished')
})

t.test('an earlier step removed by the new release changes nothing', async (t) => {
  const r = await runSteps(fakeHandler(['a', 'c', 'd']), kit, { from: await previousCheckpoint('between') })
  t.same(r.ran, ['c', 'd'])
  t.same(r.checkpoint.done, ['a', 'b', 'c', 'd'], 'the removed step stays recorded as done, harmlessly')
})

t.test('reordered steps: every step not done runs, in the new order', async (t) => {
  const cp = await previousCheckpoint('between')
  t.same((await runSteps(fakeHandler(['d', 'c', 'b', 'a']), kit, { from: cp })).ran, ['d', 'c'])
  t.same((await runSteps(fakeHandler(['a', 'c', 'b', 'd']), kit, { from: cp })).ran, ['c', 'd'])
})

t.test('a state of an older version is migrated, once', async (t) => {
  const cp = await previousCheckpoint('between')
  t.equal(cp.stateVersion, 1, 'stamped with the default version')
  const migrated: number[] = []
  const v2 = fakeHandler(PREVIOUS, {
    stateVersion: 2,
    migrateState: (from, state) => { migrated.push(from); return { ...state, total: Number(state.count) * 10 } }
  })
  const r = await runSteps(v2, kit, { stopAfterSteps: 1, from: cp })
  t.same(r.notes, ['fake state migrated from version 1 to 2'])
  t.equal(r.checkpoint.stateVersion, 2)
  t.equal(r.state.total, 20)
  const again = await runSteps(v2, kit, { from: r.checkpoint })
  t.same(migrated, [1], 'a migrated checkpoint is not migrated again')
  t.same(again.ran, ['d'])
})

t.test('a state version the release cannot read fails clearly instead of resuming', async (t) => {
  const cp = await previousCheckpoint('between')
  const noMigration = await runSteps(fakeHandler(PREVIOUS, { stateVersion: 2 }), kit, { from: cp })
  t.equal(noMigration.refused, 'checkpointed by a release with fake state version 1; this release has 2 and cannot resume it: submit the request again')
  t.same(noMigration.ran, [])
  const refusing = await runSteps(fakeHandler(PREVIOUS, { stateVersion: 2, migrateState: () => undefined }), kit, { from: cp })
  t.match(refusing.refused, /state version 1; this release has 2 and cannot resume it/)
  const newer = await runSteps(fakeHandler(PREVIOUS, { stateVersion: 2, migrateState: (_, s) => s }), kit, { from: { ...cp, stateVersion: 3 } })
  t.equal(newer.refused, 'checkpointed by a release with fake state version 3; this release has 2 and cannot resume it: submit the request again',
    'a checkpoint of a newer release (a rollback) is never migrated down')
})

t.test('a fresh checkpoint takes the current state version whatever it says', async (t) => {
  const r = await runSteps(fakeHandler(PREVIOUS, { stateVersion: 5 }), kit)
  t.equal(r.checkpoint.stateVersion, 5)
  t.ok(r.outcome)
})

t.test('a legacy numeric checkpoint resumes through the handler\'s legacy step names', async (t) => {
  const legacy: ComponentCheckpoint = { handlerId: 'fake', status: 'pending', step: 2, state: { ran: ['a', 'b'], count: 2 }, retries: 1 }
  const handler = fakeHandler(['a', 'x', 'c', 'd'], { legacyStepNames: { provision: PREVIOUS } })
  const r = await runSteps(handler, kit, { from: legacy })
  t.same(r.ran, ['x', 'c', 'd'], 'b (removed) is done, x (added) runs, c was the step at position 2')
  t.same(r.checkpoint.done, ['a', 'b', 'x', 'c', 'd'])
  t.equal(r.checkpoint.step, 0, 'a worker of the previous release would start over, never skip')
  t.equal(r.checkpoint.stateVersion, 1)
  t.same(r.notes, ['resuming a checkpoint of an earlier release: steps a, b were done'])
})

t.test('a legacy numeric checkpoint without legacy step names fails clearly', async (t) => {
  const legacy: ComponentCheckpoint = { handlerId: 'fake', status: 'pending', step: 2, state: { ran: ['a', 'b'] }, retries: 0 }
  const r = await runSteps(fakeHandler(PREVIOUS), kit, { from: legacy })
  t.equal(r.refused, 'checkpointed by an earlier release at provision step 2 (a position, not a name), and handler fake does not declare ' +
    'that release\'s step names (legacyStepNames), so where to resume is unknown: submit the request again')
  const beyond = await runSteps(fakeHandler(PREVIOUS, { legacyStepNames: { provision: ['a'] } }), kit, { from: legacy })
  t.match(beyond.refused, /at provision step 2, but that release had 1 provision steps/)
  const atStart = await runSteps(fakeHandler(PREVIOUS), kit, { from: { handlerId: 'fake', status: 'pending', step: 0, state: {}, retries: 0 } })
  t.same(atStart.ran, PREVIOUS, 'position 0 means nothing was done: it needs no names')
})

t.test('a handler naming a step twice is refused', async (t) => {
  const r = await runSteps(fakeHandler(['a', 'b', 'a']), kit)
  t.match(r.refused, /lists the provision step "a" twice/)
})

t.test('the real engine resumes legacy and renamed checkpoints and fails unknown state versions, over BullMQ', async (t) => {
  const journal: string[] = []
  const handler = fakeHandler(['a', 'x', 'c', 'd'], {
    stateVersion: 2,
    migrateState: (from, state) => from === 1 ? { ...state, total: 0 } : undefined,
    legacyStepNames: { provision: PREVIOUS },
    journal
  })
  const { store, submitter } = await startEngineStack(t, 'checkpoint-resume', handler as unknown as Handler)
  const submit = async (name: string, cp: ComponentCheckpoint): Promise<string> => {
    const comp: Component = { id: `urn:dmb:cmp:kit:kit:0:${name}`, name, kind: 'workload' }
    const data: ComponentTaskData = {
      kind: 'provision',
      token: '',
      dataProduct: { id: 'urn:dmb:dp:kit:kit:0', components: [comp] },
      levels: [[comp.id]],
      removeData: false,
      refs: [],
      pathPrefix: '',
      checkpoint: { [comp.id]: cp }
    }
    return (await submitter.submit({ data, componentIds: [comp.id], initialLogs: [] })).token
  }
  const finished = async (token: string): Promise<NonNullable<Awaited<ReturnType<TaskStore['get']>>>> => {
    await eventually(`task ${token} finished`, async () => (await store.get(token))?.status !== 'RUNNING')
    const view = await store.get(token)
    if (view === undefined) throw new Error('task vanished')
    return view
  }

  const legacy = await submit('legacy', { handlerId: 'fake', status: 'pending', step: 2, state: { ran: ['a', 'b'] }, retries: 0 })
  const renamed = await submit('renamed', { handlerId: 'fake', status: 'pending', done: ['a', 'b'], current: 'b2', stateVersion: 2, step: 0, state: {}, retries: 0 })
  const unknown = await submit('unknown', { handlerId: 'fake', status: 'pending', done: ['a'], stateVersion: 7, step: 0, state: {}, retries: 0 })

  const legacyView = await finished(legacy)
  t.equal(legacyView.status, 'COMPLETED', legacyView.result)
  t.same(journal.filter((j) => j.includes(':legacy:')).map((j) => j.split(':').pop()), ['x', 'c', 'd'])
  const legacyCp = (await store.checkpoints(legacy))['urn:dmb:cmp:kit:kit:0:legacy']
  t.match(legacyCp, { status: 'done', done: ['a', 'b', 'x', 'c', 'd'], stateVersion: 2, step: 0, state: { total: 0 } }, 'the stored checkpoint holds the new format')
  t.ok(legacyView.logs.some((l) => l.message === 'fake state migrated from version 1 to 2'))

  const renamedView = await finished(renamed)
  t.equal(renamedView.status, 'COMPLETED', renamedView.result)
  t.same(journal.filter((j) => j.includes(':renamed:')).map((j) => j.split(':').pop()), ['x', 'c', 'd'])
  t.ok(renamedView.logs.some((l) => l.message === 'step "b2" no longer exists in this release; continuing with "x"'))

  const unknownView = await finished(unknown)
  t.equal(unknownView.status, 'FAILED')
  t.equal(unknownView.result, 'unknown: checkpointed by a release with fake state version 7; this release has 2 and cannot resume it: submit the request again')
  t.same(journal.filter((j) => j.includes(':unknown:')), [], 'no step ran on a state it cannot read')
})
