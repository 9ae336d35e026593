/**
 * unprovision, in reverse order of what provision made: the persona first (its policies go with it), then the
 * connection, archived (`deleteType=SOFT`) or, with `removeData`, purged. What is already gone is success. Each
 * is found by a known guid first (this service's resource ledger, the deployed descriptor's privateInfo), and
 * its ledger entries are forgotten once Atlan no longer has it active.
 */
import { PermanentUpstreamError } from '../../errors.js'
import type { Step } from '../handler.js'
import { findConnection } from './atlan-connection-steps.js'
import { findPersona } from './atlan-persona-steps.js'
import type { AtlanEntity } from './atlan-client.js'
import { knownGuids } from './atlan-owned-resources.js'
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
  const persona = (await findPersona(deps, ctx, (await ctx.ledger.read()).persona))?.entity
  const outcome = persona === undefined ? 'absent' : await client.deleteEntity(persona.guid, 'HARD', ctx.signal)
  await ctx.ledger.forget('policies')
  await ctx.ledger.forget('persona')
  record(ctx, outcome === 'absent' || persona === undefined ? `persona "${spec.name}" is already gone` : `persona "${spec.name}" deleted (${persona.guid}) with its policies`)
}

async function archiveConnection (deps: AtlanHandlerDeps, ctx: Ctx): Promise<void> {
  const { connection } = specificOf(ctx.component)
  const client = clientFor(deps, ctx.signal)
  let target: AtlanEntity | undefined
  let archived: AtlanEntity | undefined
  for (const { guid, from } of knownGuids(ctx, undefined, (await ctx.ledger.read()).connection, 'connectionGuid')) {
    const entity = (await client.getByGuid(guid, ctx.signal))?.entity
    const ours = entity?.typeName === 'Connection' && entity.attributes.name === connection.name
    // A purge also takes a connection an earlier unprovision archived; an archive looks for an active one first.
    if (ours && (entity.status !== 'DELETED' || ctx.removeData)) {
      target = entity
      break
    }
    if (ours) archived ??= entity
    ctx.log.info(`connection ${guid} (from ${from}) ${entity === undefined ? 'no longer exists in Atlan' : ours ? 'is archived already' : 'is not this component\'s connection'}; looking it up by name "${connection.name}"`)
  }
  target ??= await findConnection(deps, ctx, ctx.removeData) ?? archived
  if (target === undefined) {
    await ctx.ledger.forget('connection')
    record(ctx, `connection "${connection.name}" is already gone`)
    return
  }
  if (target.status === 'DELETED' && !ctx.removeData) {
    await ctx.ledger.forget('connection')
    record(ctx, `connection "${connection.name}" is already archived (${target.guid})`)
    return
  }
  const deleteType = ctx.removeData ? 'PURGE' : 'SOFT'
  try {
    const outcome = await client.deleteEntity(target.guid, deleteType, ctx.signal)
    // An archived connection is no resource a provision reuses: it makes a new one.
    await ctx.ledger.forget('connection')
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
