/**
 * What the Atlan handler's steps share: the checkpointed state (guids, qualified names and progress, never a
 * credential), the handler's dependencies, reading the component's `specific`, and the rules every step
 * follows (ride out the 403s of a fresh Connection, pause on throttling).
 */
import { DescriptorInvalidError, PermanentUpstreamError } from '../../errors.js'
import type { Component } from '../../descriptor/types.js'
import type { StepContext, StepOutcome } from '../handler.js'
import type { AtlanClient } from './atlan-client.js'
import type { AtlanConfig } from './atlan-config.js'
import type { PrincipalMapper } from './atlan-principals.js'
import type { AtlanSpecific } from './atlan-schema.js'

export interface TrackedRun {
  templateName: string
  /** The run's own name, when known (a re-run or a new one). */
  runName?: string
  how: 'adopted' | 'rerun' | 'submitted'
  /** Epoch ms when this task started watching it; the timeout counts from here. */
  watchedSince: number
  phase?: string
}

export interface AtlanState {
  /** This service's own Atlan user (its API token's or OAuth client's). */
  ownUsername?: string
  /** The qualified name chosen for a Connection this task may create (epoch seconds inside). */
  plannedQualifiedName?: string
  connection?: {
    guid: string
    qualifiedName: string
    name: string
    /** Epoch ms, when this handler created it: its 403s are ridden out for a while. */
    createdAt?: number
    /** Does this service administer it (so it may change its admin lists and policies)? */
    administered: boolean
    /** Its admin users as ensure-connection left them: the API-token step reads them here, not again from Atlan. */
    adminUsers?: string[]
  }
  /** Admin refs that map to no Atlan principal. */
  unmappedAdmins?: string[]
  apiToken?: { guid: string, username: string, via?: 'admin-list' | 'already' | 'workflow', run?: TrackedRun }
  persona?: {
    guid: string
    qualifiedName: string
    name: string
    /** Created by this task: it has no policies unless this task's ensure-policies wrote some. */
    created?: boolean
    /**
     * ensure-persona read the persona with its policies, found them as this service last sent them for this
     * connection, and recorded them: ensure-policies has nothing to read or write.
     */
    policiesSettled?: boolean
  }
  /** Policy name -> guid and the server's qualified name. */
  policies?: Record<string, { guid: string, qualifiedName: string }>
  /** updateacl: the desired members, checked to exist; the refs that map to nothing or to an unknown principal. */
  members?: { users: string[], groups: string[], unmapped: string[] }
  /** updateacl / unprovision: what was changed, for the result. */
  changes?: string[]
}

export interface AtlanHandlerDeps {
  config: AtlanConfig
  client: AtlanClient | ((signal?: AbortSignal) => AtlanClient)
  mapper: PrincipalMapper
  /**
   * Reserves a Connection qualified name across every worker for a minute (two connections created in the
   * same second must not share one: a write with an existing name overwrites it). False when taken.
   */
  reserveQualifiedName: (qualifiedName: string) => Promise<boolean>
  /** What this service created lately, by name: the search index lags writes, a direct read does not. */
  recent: RecentWrites
  now?: () => number
}

/**
 * Guids of Connections and Personas this service created in the last minutes, shared by every worker: a find by
 * name that the lagging search index answers empty falls back to a direct read of the guid remembered here.
 */
export interface RecentWrites {
  /** `at`: epoch ms of the creation. */
  remember: (typeName: string, name: string, guid: string, at: number) => Promise<void>
  recall: (typeName: string, name: string) => Promise<{ guid: string, at: number } | undefined>
}

/** How long a created guid is remembered: far longer than the index lag (about a second). */
export const RECENT_WRITE_MS = 10 * 60_000

export function memoryRecentWrites (now: () => number = Date.now): RecentWrites {
  const entries = new Map<string, { guid: string, at: number }>()
  return {
    remember: async (typeName, name, guid, at) => { entries.set(`${typeName}:${name}`, { guid, at }) },
    recall: async (typeName, name) => {
      const entry = entries.get(`${typeName}:${name}`)
      return entry !== undefined && entry.at + RECENT_WRITE_MS > now() ? entry : undefined
    }
  }
}

export type Ctx = StepContext<AtlanState>

export function clientFor (deps: AtlanHandlerDeps, signal?: AbortSignal): AtlanClient {
  return typeof deps.client === 'function' ? deps.client(signal) : deps.client
}

export function nowOf (deps: AtlanHandlerDeps): number {
  return (deps.now ?? Date.now)()
}

export function specificOf (component: Component): AtlanSpecific {
  const specific = component.specific as Partial<AtlanSpecific> | undefined
  if (specific?.connection === undefined) {
    throw new DescriptorInvalidError([{ path: 'specific.connection', message: 'the Atlan specific section needs a connection', hint: 'name the connection and its connectorType' }])
  }
  return specific as AtlanSpecific
}

export function requireConnection (ctx: Ctx): NonNullable<AtlanState['connection']> {
  const c = ctx.state.connection
  if (c === undefined) throw new Error('the connection was not resolved: the ensure-connection step must run first')
  return c
}

/**
 * A fresh Connection answers 403 for up to about a minute while its policies propagate: inside the grace
 * period after this handler created it, a 403 is a reason to wait, not to fail.
 */
export async function rideOutFreshConnection (deps: AtlanHandlerDeps, ctx: Ctx, err: unknown): Promise<StepOutcome> {
  if (!(err instanceof PermanentUpstreamError) || err.upstreamStatus !== 403) return undefined
  // Created by this task, or (an unprovision right after a provision) by this service a moment ago.
  const name = (ctx.component.specific as { connection?: { name?: unknown } } | undefined)?.connection?.name
  const createdAt = ctx.state.connection?.createdAt ??
    (typeof name === 'string' ? (await deps.recent.recall('Connection', name))?.at : undefined)
  if (createdAt === undefined) return undefined
  const age = nowOf(deps) - createdAt
  if (age > deps.config.postCreateGraceMs) return undefined
  const waitMs = Math.min(10_000, Math.max(500, Math.round(age / 4)))
  ctx.log.info(`the new connection is not readable yet (Atlan propagates its policies for up to a minute): retrying in ${Math.ceil(waitMs / 1000)} s`)
  return { waitMs }
}

/** Runs `fn` (which may ask to wait itself); a 403 of a fresh Connection becomes a wait. */
export async function onFreshConnection (deps: AtlanHandlerDeps, ctx: Ctx, fn: () => Promise<StepOutcome | undefined> | Promise<void>): Promise<StepOutcome> {
  try {
    return (await fn()) ?? undefined
  } catch (err) {
    const wait = await rideOutFreshConnection(deps, ctx, err)
    if (wait === undefined) throw err
    return wait
  }
}

export const NOT_ADMIN_HINT = 'make this service a connection admin: list its API token in specific.apiTokenGuid (the "API token connection admin" workflow adds it), or ask a connection admin to add it'

export function sameSet (a: readonly string[] | undefined, b: readonly string[] | undefined): boolean {
  const x = new Set(a ?? [])
  const y = new Set(b ?? [])
  return x.size === y.size && [...x].every((v) => y.has(v))
}

export function listed (values: readonly string[]): string {
  return values.length === 0 ? 'none' : values.join(', ')
}
