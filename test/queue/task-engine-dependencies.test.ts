import t from 'tap'
import type { Component } from '../../src/descriptor/types.js'
import type { ComponentInfo, Handler } from '../../src/provisioner/handler.js'
import type { ComponentTaskData } from '../../src/queue/task-types.js'
import { startEngineStack } from '../helpers/engine-stack.js'
import { eventually } from '../helpers/service-process.js'

/** A handler that reports its component's name as info and records the dependencies each step was given. */
function recordingHandler (seen: Map<string, Record<string, ComponentInfo>>): Handler {
  const unused = (): never => { throw new Error('not used here') }
  return {
    id: 'fake',
    useCaseTemplateIds: ['urn:dmb:utm:fake-standard'],
    specificSchema: {},
    checkSpecific: () => ({ problems: [], warnings: [] }),
    checkUpstream: unused,
    steps: () => [{
      name: 'record',
      run: async (ctx) => { seen.set(ctx.component.name ?? ctx.component.id, structuredClone(ctx.dependencies)); return undefined }
    }],
    outcome: (ctx) => ({ result: 'ok', info: { publicInfo: { made: ctx.component.name }, privateInfo: { ref: `${String(ctx.component.name)}-ref` } } }),
    reverseProvision: unused
  }
}

t.test('a step sees the info of the components it depends on, produced earlier in the same task', async (t) => {
  const seen = new Map<string, Record<string, ComponentInfo>>()
  const { store, submitter } = await startEngineStack(t, 'engine-dependencies', recordingHandler(seen))
  const id = (name: string): string => `urn:dmb:cmp:kit:kit:0:${name}`
  const comp = (name: string, dependsOn: string[] = []): Component =>
    ({ id: id(name), name, kind: 'workload', useCaseTemplateId: 'urn:dmb:utm:fake-standard:0.0.0', dependsOn: dependsOn.map(id) })
  // c depends on a and b; b on a; d on nothing, and a dependency outside the task is simply absent.
  const components = [comp('a'), comp('b', ['a']), comp('c', ['a', 'b']), comp('d', ['elsewhere'])]
  const data: ComponentTaskData = {
    kind: 'provision',
    token: '',
    dataProduct: { id: 'urn:dmb:dp:kit:kit:0', components },
    levels: [[id('a'), id('d')], [id('b')], [id('c')]],
    removeData: false,
    refs: [],
    pathPrefix: '',
    checkpoint: Object.fromEntries(components.map((c) => [c.id, { handlerId: 'fake', status: 'pending' as const, state: {}, retries: 0 }]))
  }
  const { token } = await submitter.submit({ data, componentIds: components.map((c) => c.id), initialLogs: [] })
  await eventually('task finished', async () => (await store.get(token))?.status !== 'RUNNING')
  t.equal((await store.get(token))?.status, 'COMPLETED')

  const infoOf = (name: string): ComponentInfo => ({ publicInfo: { made: name }, privateInfo: { ref: `${name}-ref` } })
  t.same(seen.get('a'), {}, 'a depends on nothing')
  t.same(seen.get('d'), {}, 'a dependency this task did not run is absent')
  t.same(seen.get('b'), { [id('a')]: infoOf('a') })
  t.same(seen.get('c'), { [id('a')]: infoOf('a'), [id('b')]: infoOf('b') })
})
