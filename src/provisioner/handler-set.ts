/**
 * The handlers this deployment runs and the routing between them, built from configuration and the one list
 * of handler modules. Target clients are created lazily: the API role validates with the handlers' schemas
 * and never calls a target.
 */
import type { Config } from '../config.js'
import type { ConcurrencyLimiter } from '../outbound/upstream-http.js'
import type { RedisClient } from '../queue/redis-connection.js'
import type { SecretScrubber } from '../secrets/secret-scrubber.js'
import type { HandlerModule } from './handler-module.js'
import { handlerModules } from './handler-modules.js'
import { HandlerRegistry } from './handler-registry.js'

export interface HandlerSetDeps {
  /** The shared concurrency limit of each target, by module id (Redis-backed in workers); none in the API role. */
  limiterFor?: (module: HandlerModule<unknown>) => ConcurrencyLimiter
  fetch?: typeof fetch
  /** Masks known secret values in every upstream text, before it is shortened or quoted. */
  scrubber?: SecretScrubber
  /** Redis shared by the workers; each module gets its own key prefix below `keyPrefix`. */
  shared?: { redis: RedisClient, keyPrefix: string }
}

/** What the handlers are built from (the descriptor-parsing threads get only this, without credentials). */
export type HandlerConfig = Pick<Config, 'handlers' | 'defaultHandler' | 'extraRoutes'>

// Fields of a handler's section that hold its credentials (secrets, passwords, tokens): validating never needs them.
const CREDENTIAL_FIELD = /secret|password|token|credential/i

/** The handler configuration with every credential field removed, for threads that only validate. */
export function handlerConfigWithoutCredentials (config: HandlerConfig): HandlerConfig {
  const handlers: Record<string, unknown> = {}
  for (const [id, section] of Object.entries(config.handlers as Record<string, unknown>)) {
    handlers[id] = section !== null && typeof section === 'object'
      ? Object.fromEntries(Object.entries(section).filter(([key, value]) => !(typeof value === 'string' && CREDENTIAL_FIELD.test(key))))
      : section
  }
  return { handlers: handlers as Config['handlers'], defaultHandler: config.defaultHandler, extraRoutes: config.extraRoutes }
}

export function createHandlerRegistry (config: HandlerConfig, deps: HandlerSetDeps = {}): HandlerRegistry {
  const { scrubber } = deps
  const redact = scrubber === undefined ? undefined : (s: string): string => scrubber.scrub(s)
  const sections = config.handlers as Record<string, unknown>
  const handlers = handlerModules().map((module) => module.create(sections[module.id], {
    limiter: deps.limiterFor?.(module),
    fetch: deps.fetch,
    redact,
    shared: deps.shared === undefined ? undefined : { redis: deps.shared.redis, keyPrefix: `${deps.shared.keyPrefix}:${module.id}` }
  }))
  return new HandlerRegistry(handlers, { defaultHandler: config.defaultHandler, extraRoutes: config.extraRoutes })
}
