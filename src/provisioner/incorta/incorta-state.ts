/**
 * What the Incorta handler's steps share: the checkpointed state, the handler's dependencies, the component's
 * resolved settings and the wait arithmetic. The state holds names, times and readings, never a credential.
 */
import { DescriptorInvalidError } from '../../errors.js'
import type { Component } from '../../descriptor/types.js'
import type { StepContext } from '../handler.js'
import type { IncortaClient } from './incorta-client.js'
import type { IncortaConfig } from './incorta-config.js'
import { resolveSpecific, type IncortaSpecific, type ResolvedSpecific } from './incorta-schema.js'
import type { LoadStateKind } from './incorta-status.js'

/** What the handler last read about one load (a schema's load job, or the plan execution). */
export interface LoadRecord {
  state: LoadStateKind | 'not-started'
  /** Incorta's own word for it. */
  word?: string
  message?: string
  startedAt?: number
  endedAt?: number
}

export interface IncortaState {
  tenant?: string
  /**
   * A random key of this request's load, made by the prepare step: the ledger records this request's start under
   * it (incorta-ledger). Absent in a state prepared by a release without the ledger.
   */
  requestKey?: string
  /** Epoch ms (our clock) when this request began to load; `timeoutSeconds` counts from here. */
  startedAt?: number
  /** Epoch ms (our clock) just before the load was triggered: a load job counts only if it started after it. */
  triggeredAt?: number
  /** The latest load job of each schema before the trigger (`seen: false` when it had none). */
  baselines?: Record<string, { seen: boolean, startedAt?: number }>
  /** Set once Incorta accepted the load (or the execution) asked for. */
  accepted?: boolean
  /** The load plan execution this request started. */
  executionId?: string
  /** The earlier execution known to keep the plan busy: its end is read by id instead of executing again. */
  blockingExecutionId?: string
  /** Epoch ms since when the plan keeps answering "already running", and the current backoff. */
  blockedSince?: number
  blockedWaitMs?: number
  /** Per schema, or `plan` for the execution. */
  loads?: Record<string, LoadRecord>
  /** Per schema of a plan execution, when Incorta listed them. */
  planSchemas?: Record<string, LoadRecord>
  /** Epoch ms when every load was seen terminal. */
  finishedAt?: number
  /** The raw status body has been logged once (debug). */
  bodyLogged?: boolean
}

export interface IncortaHandlerDeps {
  config: IncortaConfig
  /** A client, or a factory called once per step (lets the caller build it lazily, e.g. when Incorta is unset). */
  client: IncortaClient | ((signal?: AbortSignal) => IncortaClient)
  /** Clock, for tests. Default Date.now. */
  now?: () => number
}

export type Ctx = StepContext<IncortaState>

export function clientFor (deps: IncortaHandlerDeps, signal?: AbortSignal): IncortaClient {
  return typeof deps.client === 'function' ? deps.client(signal) : deps.client
}

export function nowOf (deps: IncortaHandlerDeps): number {
  return (deps.now ?? Date.now)()
}

export const TENANT_HINT = 'set specific.tenant, or configure INCORTA_TENANT for the deployment'

/** The component's settings with defaults applied; the tenant is required by then. */
export function settingsOf (deps: IncortaHandlerDeps, component: Component): ResolvedSpecific & { tenant: string } {
  const resolved = resolveSpecific((component.specific ?? {}) as IncortaSpecific, deps.config.tenant)
  if (resolved.tenant === undefined) {
    throw new DescriptorInvalidError([{ path: 'specific.tenant', message: 'no Incorta tenant is named', hint: TENANT_HINT }])
  }
  return { ...resolved, tenant: resolved.tenant }
}

/** The next wait: the poll interval, never past the deadline (plus a little, so the timeout check runs after it). */
export function nextWait (deps: IncortaHandlerDeps, ctx: Ctx, wantMs: number): number {
  const deadline = (ctx.state.startedAt ?? nowOf(deps)) + settingsOf(deps, ctx.component).timeoutMs
  return Math.max(1, Math.min(wantMs, deadline - nowOf(deps) + 10))
}

export function timedOut (deps: IncortaHandlerDeps, ctx: Ctx): boolean {
  return nowOf(deps) - (ctx.state.startedAt ?? nowOf(deps)) > settingsOf(deps, ctx.component).timeoutMs
}

export function duration (ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`
  if (ms < 120_000) return `${Math.round(ms / 1000)} s`
  if (ms < 7_200_000) return `${Math.round(ms / 60_000)} min`
  return `${Math.round(ms / 360_000) / 10} h`
}

/** `sales: Succeeded; hr: Failed (message)`. */
export function describeLoads (loads: Record<string, LoadRecord>): string {
  return Object.entries(loads).map(([name, l]) => {
    const word = l.state === 'not-started' ? 'not started yet' : (l.word ?? l.state)
    return `${name}: ${word}${l.message === undefined ? '' : ` (${l.message})`}`
  }).join('; ')
}
