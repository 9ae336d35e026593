import t from 'tap'
import { loadConfig } from '../../src/config.js'
import type { Handler } from '../../src/provisioner/handler.js'
import { HandlerRegistry } from '../../src/provisioner/handler-registry.js'
import { createHandlerRegistry } from '../../src/provisioner/handler-set.js'
import { HANDLER_IDS, handlerModules } from '../../src/provisioner/handler-modules.js'

function stubHandler (id: string, close?: () => Promise<void>): Handler {
  const unused = (): never => { throw new Error('not used here') }
  return {
    id,
    useCaseTemplateIds: [`urn:dmb:utm:${id}-standard`],
    specificSchema: {},
    checkSpecific: () => ({ problems: [], warnings: [] }),
    checkUpstream: unused,
    steps: () => [],
    outcome: () => ({ result: 'OK' }),
    reverseProvision: unused,
    ...(close === undefined ? {} : { close })
  }
}

t.test('closing the registry runs every handler close hook, even when one fails', async (t) => {
  const closed: string[] = []
  const registry = new HandlerRegistry([
    stubHandler('a', async () => { closed.push('a'); throw new Error('boom') }),
    stubHandler('b'),
    stubHandler('c', async () => { closed.push('c') })
  ])
  await registry.close()
  t.same(closed.sort(), ['a', 'c'])
})

t.test('the registry holds one handler per module, built from its config section', async (t) => {
  const config = loadConfig({})
  t.same(Object.keys(config.handlers).sort(), [...HANDLER_IDS].sort(), 'config.handlers is keyed by module id')
  const registry = createHandlerRegistry(config)
  t.same(registry.all().map((h) => h.id), handlerModules().map((m) => m.id))
})

t.test('DEFAULT_HANDLER and HANDLER_ROUTES must name a module', async (t) => {
  t.throws(() => loadConfig({ DEFAULT_HANDLER: 'nope' }), { message: new RegExp(`DEFAULT_HANDLER must be one of ${HANDLER_IDS.join(', ')}, got "nope"`) })
  t.throws(() => loadConfig({ HANDLER_ROUTES: 'urn:dmb:utm:x=nope' }), { message: /HANDLER_ROUTES entries must be prefix=handler with handler one of/ })
  for (const id of HANDLER_IDS) t.equal(loadConfig({ DEFAULT_HANDLER: id }).defaultHandler, id)
})
