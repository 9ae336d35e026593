/**
 * What the core knows of a target handler: one module per folder under src/provisioner/ (`airbyte/`, later
 * `incorta/`, `atlan/`), listed once in handler-modules.ts. The module brings its configuration section, its
 * own credentials, its outbound limits and the factory of its Handler; the queue, routes, descriptor and
 * outbound layers never import a module's folder.
 */
import type { Logger } from 'pino'
import type { ConfigEnv } from '../config-env.js'
import type { ConcurrencyLimiter } from '../outbound/upstream-http.js'
import type { RedisClient } from '../queue/redis-connection.js'
import type { Handler } from './handler.js'

/** Outbound limits of one target, shared by every worker process through Redis. */
export interface OutboundLimits {
  /** Most requests in flight to the target across every worker. */
  maxConcurrent: number
  /** A lease not released within this time (a dead worker's) stops counting, ms: longer than one request. */
  leaseMs: number
}

/** What the core hands a module's `create`. */
export interface HandlerDeps {
  /** Shared concurrency limit on calls to this target (Redis-backed in workers); none in the API role. */
  limiter?: ConcurrencyLimiter
  /** Default `globalThis.fetch`. */
  fetch?: typeof fetch
  /** Masks known secret values in every upstream text, before it is shortened or quoted. Default identity. */
  redact?: (s: string) => string
  /** Process logger (never the task log); for the module's own diagnostics. Default none. */
  logger?: Logger
  /**
   * Redis shared by every worker, for a module's own cross-worker state (a per-minute request budget, name
   * reservations), its keys under `keyPrefix` (`{<QUEUE_PREFIX>}:<module id>`: one hash tag, so a script may
   * touch several of them on a Redis Cluster). None in the API role.
   */
  shared?: { redis: RedisClient, keyPrefix: string }
}

export interface HandlerModule<C = unknown, Id extends string = string> {
  /** Short stable id (`airbyte`): the key of `config.handlers`, a value of DEFAULT_HANDLER / HANDLER_ROUTES. */
  readonly id: Id
  /**
   * This handler's configuration section from the environment: defaults, `<NAME>_FILE` for every secret
   * (`env.secret`), and cross-field checks. Problems go to `env.problems`, named by variable; never throws.
   */
  readConfig: (env: ConfigEnv) => C
  /**
   * Names of the variables holding this handler's own credentials (`AIRBYTE_CLIENT_SECRET`, ...), so the
   * descriptor secret store refuses their values and the directories of their `_FILE` files.
   */
  readonly credentialVariables: readonly string[]
  /** Outbound limits shared by all workers through Redis (key `<QUEUE_PREFIX>:limit:<id>`). */
  outboundLimits: (config: C) => OutboundLimits
  /** Builds the handler. Must not call the target: the API role builds every handler and may never use it. */
  create: (config: C, deps: HandlerDeps) => Handler
}

/** Keeps the literal id and the config type of a module declaration. */
export function defineHandlerModule<C, const Id extends string> (module: HandlerModule<C, Id>): HandlerModule<C, Id> {
  return module
}

/** The config type a module reads. */
export type HandlerConfigOf<M> = M extends HandlerModule<infer C, string> ? C : never
