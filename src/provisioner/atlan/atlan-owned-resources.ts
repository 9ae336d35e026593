/**
 * How the Atlan steps find what a component owns before creating anything: by a guid known from this task's
 * checkpoint, this service's resource ledger or the deployed descriptor's privateInfo, each read directly, and
 * only when none fits (logged) by name; and, after a create announced in the ledger whose answer was lost, a
 * wait for the lagging search index instead of a second create. The ledger's kinds: `connection` and `persona`
 * (their guids; the connection's with a fingerprint of the admin lists last sent) and `policies` (the
 * persona's guid, with a fingerprint of the policies last sent for it). Ids and fingerprints only.
 */
import { PermanentUpstreamError } from '../../errors.js'
import type { OwnedResource, StepOutcome } from '../handler.js'
import type { AtlanEntity } from './atlan-client.js'
import { throttleWait } from './atlan-rate-limit.js'
import { clientFor, nowOf, rideOutFreshConnection, type AtlanHandlerDeps, type Ctx } from './atlan-state.js'

/**
 * How long after an announced create whose answer never came back a name search may still miss it: the index
 * shows a write about a second later; a resume inside this window waits instead of creating a second one.
 */
export const ANNOUNCED_CREATE_LAG_MS = 15_000

export interface KnownGuid { guid: string, from: string }

/** The guids known for a resource, best first, each with where it came from (for the log). */
export function knownGuids (ctx: Ctx, checkpointed: string | undefined, owned: OwnedResource | undefined, privateInfoKey: string): KnownGuid[] {
  const out: KnownGuid[] = []
  const add = (guid: string | undefined, from: string): void => { if (guid !== undefined && guid !== '' && !out.some((k) => k.guid === guid)) out.push({ guid, from }) }
  add(checkpointed, 'this task\'s checkpoint')
  add(owned?.id, 'this service\'s resource record')
  const recorded = ctx.component.info?.privateInfo?.[privateInfoKey]
  add(typeof recorded === 'string' ? recorded : undefined, 'the deployed descriptor\'s privateInfo')
  return out
}

/**
 * The first known guid Atlan still holds as an active `typeName` named `name`, read directly (with its policies
 * and other referred entities), or undefined; each guid that no longer fits is logged as a fall-back to the name.
 */
export async function readKnown (deps: AtlanHandlerDeps, ctx: Ctx, typeName: string, name: string, known: KnownGuid[]): Promise<{ entity: AtlanEntity, referredEntities: Record<string, AtlanEntity> } | undefined> {
  const client = clientFor(deps, ctx.signal)
  const label = typeName === 'Connection' ? 'connection' : typeName.toLowerCase()
  for (const { guid, from } of known) {
    let read
    try {
      read = await client.getByGuid(guid, ctx.signal)
    } catch (err) {
      // A fresh connection of this name that this service made answers 403 for a while: the step waits for it.
      // Any other guid this service may not read (another component's connection, a record gone stale) is no
      // reason to fail: the name decides.
      if (!(err instanceof PermanentUpstreamError) || err.upstreamStatus !== 403 || await rideOutFreshConnection(deps, ctx, err) !== undefined) throw err
      ctx.log.info(`${label} ${guid} (from ${from}) is not readable by this service (403); looking it up by name "${name}"`)
      continue
    }
    const entity = read?.entity
    if (read !== undefined && entity?.typeName === typeName && entity.status !== 'DELETED' && entity.attributes.name === name) return read
    const why = entity === undefined
      ? 'no longer exists in Atlan'
      : entity.status === 'DELETED' ? 'is archived in Atlan' : entity.typeName !== typeName ? `is a ${entity.typeName} in Atlan` : `is named "${String(entity.attributes.name)}" in Atlan now`
    ctx.log.info(`${label} ${guid} (from ${from}) ${why}; looking it up by name "${name}"`)
  }
  return undefined
}

/**
 * A create announced in the ledger whose answer was never recorded, recent enough that the name search may not
 * show it yet: the step waits for the index rather than create a second one.
 */
export function announcedCreateWait (deps: AtlanHandlerDeps, ctx: Ctx, owned: OwnedResource | undefined, what: string): StepOutcome {
  if (owned?.creating === undefined || owned.id !== undefined) return undefined
  const age = Math.max(0, nowOf(deps) - owned.creating)
  if (age >= ANNOUNCED_CREATE_LAG_MS) return undefined
  const waitMs = Math.max(1_000, ANNOUNCED_CREATE_LAG_MS - age)
  ctx.log.info(`${what} was being created ${Math.round(age / 1000)} s ago and its answer was not recorded; ` +
    `Atlan's search does not show it yet (its index lags writes): looking again in ${Math.ceil(waitMs / 1000)} s instead of creating a second one`)
  return { waitMs }
}

/**
 * Sends a create announced in the ledger first (`{ creating }`), so a crash before its answer is recorded makes
 * the next run look for what it may have made. A refusal (a 4xx, a 429, a pause before sending: a POST is
 * retried only when nothing was applied) withdraws the announcement: nothing was made, and the next run need
 * not wait for the index to show it. The caller records `{ id, sent }` when the create returns.
 */
export async function announcedCreate<T> (deps: AtlanHandlerDeps, ctx: Ctx, kind: string, create: () => Promise<T>): Promise<T> {
  await ctx.ledger.write(kind, { creating: nowOf(deps) })
  try {
    return await create()
  } catch (err) {
    if (err instanceof PermanentUpstreamError || throttleWait(err) !== undefined) await ctx.ledger.forget(kind)
    throw err
  }
}
