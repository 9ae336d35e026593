/**
 * The handlers this deployment runs and the routing between them, built from configuration. Target clients are
 * created lazily: the API role validates with the handlers' schemas and never calls a target.
 */
import type { Config } from '../config.js'
import type { OutboundLimiter } from '../queue/outbound-limiter.js'
import type { SecretScrubber } from '../secrets/secret-scrubber.js'
import { createAirbyteClient, type AirbyteClient } from './airbyte/airbyte-client.js'
import { createAirbyteHandler } from './airbyte/airbyte-handler.js'
import { HandlerRegistry } from './handler-registry.js'

export interface HandlerSetDeps {
  /** Shared concurrency limits per target (Redis-backed in workers); none in the API role. */
  limiters?: { airbyte?: OutboundLimiter }
  fetch?: typeof fetch
  /** Masks known secret values in every upstream text, before it is shortened or quoted. */
  scrubber?: SecretScrubber
}

/** What the handlers are built from (the descriptor-parsing threads get only this, without credentials). */
export type HandlerConfig = Pick<Config, 'airbyte' | 'defaultHandler' | 'extraRoutes'>

/** The handler configuration with every credential removed, for threads that only validate. */
export function handlerConfigWithoutCredentials (config: HandlerConfig): HandlerConfig {
  const airbyte = { ...config.airbyte, clientSecret: undefined, password: undefined, token: undefined }
  return { airbyte, defaultHandler: config.defaultHandler, extraRoutes: config.extraRoutes }
}

export function createHandlerRegistry (config: HandlerConfig, deps: HandlerSetDeps = {}): HandlerRegistry {
  let airbyteClient: AirbyteClient | undefined
  const airbyte = createAirbyteHandler({
    config: config.airbyte,
    client: () => {
      airbyteClient ??= createAirbyteClient(config.airbyte, {
        limiter: deps.limiters?.airbyte,
        fetch: deps.fetch,
        redact: deps.scrubber === undefined ? undefined : (s) => (deps.scrubber as SecretScrubber).scrub(s)
      })
      return airbyteClient
    }
  })
  return new HandlerRegistry([airbyte], { defaultHandler: config.defaultHandler, extraRoutes: config.extraRoutes })
}
