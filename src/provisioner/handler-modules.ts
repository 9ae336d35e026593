/**
 * The one list of handler modules this service runs. Adding a target: a folder under src/provisioner/ with
 * its module, and one entry here.
 */
import { airbyteModule } from './airbyte/airbyte-module.js'
import { atlanModule } from './atlan/atlan-module.js'
import type { HandlerConfigOf, HandlerModule } from './handler-module.js'
import { incortaModule } from './incorta/incorta-module.js'

export const HANDLER_MODULES = [airbyteModule, incortaModule, atlanModule] as const

/** `config.handlers`: each module's configuration section, keyed by module id. */
export type HandlerConfigs = { [M in (typeof HANDLER_MODULES)[number] as M['id']]: HandlerConfigOf<M> }

/** The module ids, in list order (DEFAULT_HANDLER and HANDLER_ROUTES must name one). */
export const HANDLER_IDS: readonly string[] = HANDLER_MODULES.map((m) => m.id)

/** The list seen without each module's config type, for code that treats every module alike. */
export function handlerModules (): ReadonlyArray<HandlerModule<unknown>> {
  return HANDLER_MODULES as unknown as ReadonlyArray<HandlerModule<unknown>>
}
