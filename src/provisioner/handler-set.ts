/**
 * The handlers this deployment runs and the routing between them, built from configuration. Target clients are
 * created lazily: the API role validates with the handlers' schemas and never calls a target.
 */
import type { Config } from '../config.js'
import type { OutboundLimiter } from '../queue/outbound-limiter.js'
import type { Handler } from './handler.js'
import type { SecretScrubber } from '../secrets/secret-scrubber.js'
import { createAirbyteClient, type AirbyteClient } from './airbyte/airbyte-client.js'
import { createAirbyteHandler } from './airbyte/airbyte-handler.js'
import { HandlerRegistry } from './handler-registry.js'
import { createIncortaClient, type IncortaClient } from './incorta/incorta-client.js'
import { createIncortaHandler } from './incorta/incorta-handler.js'

export interface HandlerSetDeps {
  /** Shared concurrency limits per target (Redis-backed in workers); none in the API role. */
  limiters?: { airbyte?: OutboundLimiter }
  fetch?: typeof fetch
  /** Masks known secret values in every upstream text, before it is shortened or quoted. */
  scrubber?: SecretScrubber
}

export function createHandlerRegistry (config: Config, deps: HandlerSetDeps = {}): HandlerRegistry {
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
  let incortaClient: IncortaClient | undefined
  const incorta = createIncortaHandler({
    config: config.incorta,
    client: () => {
      incortaClient ??= createIncortaClient(config.incorta, {
        fetch: deps.fetch,
        redact: deps.scrubber === undefined ? undefined : (s) => (deps.scrubber as SecretScrubber).scrub(s)
      })
      return incortaClient
    }
  })
  return new HandlerRegistry([airbyte, incorta as unknown as Handler], { defaultHandler: config.defaultHandler, extraRoutes: config.extraRoutes })
}
