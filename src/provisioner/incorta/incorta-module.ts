/**
 * The Incorta handler as the core sees it: its `INCORTA_*` configuration, its credentials, its outbound limit
 * (INCORTA_MAX_CONCURRENT_REQUESTS, shared by every worker through Redis) and the factory that builds the
 * handler around a lazily created client (the API role never calls Incorta unless a validation asks it to).
 */
import { defineHandlerModule } from '../handler-module.js'
import { createIncortaClient, type IncortaClient } from './incorta-client.js'
import { INCORTA_CREDENTIAL_VARIABLES, readIncortaConfig } from './incorta-config.js'
import { createIncortaHandler } from './incorta-handler.js'

export const incortaModule = defineHandlerModule({
  id: 'incorta',
  readConfig: readIncortaConfig,
  credentialVariables: INCORTA_CREDENTIAL_VARIABLES,
  // The lease outlives one request's timeout, so a slow call never loses its slot.
  outboundLimits: (config) => ({ maxConcurrent: config.maxConcurrentRequests, leaseMs: config.requestTimeoutMs + 5_000 }),
  create: (config, deps) => {
    let client: IncortaClient | undefined
    return createIncortaHandler({
      config,
      client: () => {
        client ??= createIncortaClient(config, { limiter: deps.limiter, fetch: deps.fetch, redact: deps.redact })
        return client
      }
    })
  }
})
