/**
 * What the Incorta handler keeps in the service's resource ledger (StepContext.ledger). Incorta's public API v2
 * makes nothing the adapter could own: no endpoint creates or changes a schema, a data source or a load plan, and
 * schemas and plans are addressed by name only. What a provision starts are runs: one schema load (Incorta gives
 * it no id) or one load plan execution (it has an id). Each start is announced in the ledger before it is sent
 * (`creating`) and recorded the moment Incorta answers, both under the fingerprint of this request's load
 * (`sent`: tenant, what is loaded and how, and the request's random key from the prepare step), so a step run
 * again learns whether its own start may have landed: no announcement of this request, nothing was sent; a
 * record, Incorta took it; an announcement alone, it must look. A run is never "unchanged": every provision
 * asks for a new load, so the record of an earlier request never stands for this one's.
 */
import { randomUUID } from 'node:crypto'
import type { OwnedResource } from '../handler.js'
import { settingsOf, type Ctx, type IncortaHandlerDeps } from './incorta-state.js'

export const SCHEMA_LOAD = 'schemaLoad'
export const PLAN_EXECUTION = 'loadPlanExecution'
export type RunKind = typeof SCHEMA_LOAD | typeof PLAN_EXECUTION

export type OwnStart =
  /** The state was prepared by a release that kept no ledger: whether a start was sent is unknown. */
  | { seen: 'unknown', sent: string, earlier?: OwnedResource }
  /** This request announced no start: nothing of it reached Incorta. `earlier`: the record of an earlier request. */
  | { seen: 'none', sent: string, earlier?: OwnedResource }
  /** Announced, never recorded: the start may have reached Incorta before the worker stopped. */
  | { seen: 'announced', sent: string, at: number }
  /** Incorta answered this request's start (with the execution id, for a plan). */
  | { seen: 'recorded', sent: string, id?: string }

/** Tells which of this request's starts the ledger knows of, and the fingerprint to announce and record it under. */
export async function ownStart (deps: IncortaHandlerDeps, ctx: Ctx, kind: RunKind): Promise<OwnStart> {
  const prepared = ctx.state.requestKey !== undefined
  // A state from before the ledger gets its key here; until this step's checkpoint holds it, a re-run is unknown again.
  ctx.state.requestKey ??= randomUUID()
  const { tenant, target, loadSource } = settingsOf(deps, ctx.component)
  const sent = await ctx.ledger.fingerprint({ kind, tenant, target, loadSource: target.kind === 'schemas' ? loadSource : undefined, request: ctx.state.requestKey })
  const entry = (await ctx.ledger.read())[kind]
  if (!prepared || entry?.sent !== sent) return { seen: prepared ? 'none' : 'unknown', sent, ...(entry === undefined ? {} : { earlier: entry }) }
  if (entry.creating !== undefined) return { seen: 'announced', sent, at: entry.creating }
  return entry.id === undefined ? { seen: 'recorded', sent } : { seen: 'recorded', sent, id: entry.id }
}
