/**
 * unprovision, in reverse order of what provision made: the persona first (its policies go with it), then the
 * connection, archived (`deleteType=SOFT`) or, with `removeData`, purged. What is already gone is success.
 */
import { PermanentUpstreamError } from '../../errors.js'
import type { Step } from '../handler.js'
import { findConnection } from './atlan-connection-steps.js'
import { findPersona } from './atlan-persona-steps.js'
import { clientFor, onFreshConnection, rideOutFreshConnection, specificOf, type AtlanHandlerDeps, type AtlanState, type Ctx } from './atlan-state.js'

export function unprovisionSteps (deps: AtlanHandlerDeps): Array<Step<AtlanState>> {
  return [
    { name: 'delete-persona', run: async (ctx) => { await deletePersona(deps, ctx) } },
    { name: 'archive-connection', run: async (ctx) => await onFreshConnection(deps, ctx, async () => { await archiveConnection(deps, ctx) }) }
  ]
}

function record (ctx: Ctx, change: string): void {
  ctx.state.changes = [...(ctx.state.changes ?? []), change]
  ctx.log.info(change)
}

async function deletePersona (deps: AtlanHandlerDeps, ctx: Ctx): Promise<void> {
  const spec = specificOf(ctx.component).persona
  if (spec === undefined) return
  const client = clientFor(deps, ctx.signal)
  const persona = await findPersona(deps, ctx.component, ctx.state.persona?.guid, ctx.signal)
  if (persona === undefined) {
    record(ctx, `persona "${spec.name}" is already gone`)
    return
  }
  const outcome = await client.deleteEntity(persona.guid, 'HARD', ctx.signal)
  record(ctx, outcome === 'absent' ? `persona "${spec.name}" is already gone` : `persona "${spec.name}" deleted (${persona.guid}) with its policies`)
}

async function archiveConnection (deps: AtlanHandlerDeps, ctx: Ctx): Promise<void> {
  const { connection } = specificOf(ctx.component)
  const client = clientFor(deps, ctx.signal)
  const recorded = ctx.component.info?.privateInfo?.connectionGuid
  let target = typeof recorded === 'string' ? (await client.getByGuid(recorded, ctx.signal))?.entity : undefined
  if (target !== undefined && target.attributes.name !== connection.name) target = undefined
  // A purge also takes a connection an earlier unprovision archived.
  target ??= await findConnection(deps, ctx, ctx.removeData)
  if (target === undefined) {
    record(ctx, `connection "${connection.name}" is already gone`)
    return
  }
  if (target.status === 'DELETED' && !ctx.removeData) {
    record(ctx, `connection "${connection.name}" is already archived (${target.guid})`)
    return
  }
  const deleteType = ctx.removeData ? 'PURGE' : 'SOFT'
  try {
    const outcome = await client.deleteEntity(target.guid, deleteType, ctx.signal)
    record(ctx, outcome === 'absent'
      ? `connection "${connection.name}" is already gone`
      : ctx.removeData ? `connection "${connection.name}" purged (${target.guid})` : `connection "${connection.name}" archived (${target.guid}); removeData purges it`)
  } catch (err) {
    if (err instanceof PermanentUpstreamError && err.upstreamStatus === 403 && await rideOutFreshConnection(deps, ctx, err) === undefined) {
      throw new PermanentUpstreamError(`${err.message}; this service must be an admin of connection "${connection.name}" to remove it`, 403)
    }
    throw err
  }
}
