/**
 * The Airbyte handler as the core sees it: its `AIRBYTE_*` configuration, its credentials, its outbound limit
 * and the factory that builds the handler around a lazily created client (the API role never calls Airbyte
 * unless a validation asks it to).
 */
import { defineHandlerModule } from '../handler-module.js'
import { createAirbyteClient, type AirbyteClient } from './airbyte-client.js'
import { AIRBYTE_CREDENTIAL_VARIABLES, readAirbyteConfig } from './airbyte-config.js'
import { createAirbyteHandler } from './airbyte-handler.js'

export const airbyteModule = defineHandlerModule({
  id: 'airbyte',
  readConfig: readAirbyteConfig,
  credentialVariables: AIRBYTE_CREDENTIAL_VARIABLES,
  // The lease outlives one request's timeout, so a slow call never loses its slot.
  outboundLimits: (config) => ({ maxConcurrent: config.maxConcurrentRequests, leaseMs: config.requestTimeoutMs + 5_000 }),
  create: (config, deps) => {
    let client: AirbyteClient | undefined
    return createAirbyteHandler({
      config,
      client: () => {
        client ??= createAirbyteClient(config, { limiter: deps.limiter, fetch: deps.fetch, redact: deps.redact })
        return client
      }
    })
  }
})
