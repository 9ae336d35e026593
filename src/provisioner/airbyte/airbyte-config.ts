/**
 * The Airbyte handler's configuration section (every `AIRBYTE_*` variable): defaults, `_FILE` secrets and the
 * credentials each AIRBYTE_AUTH mode needs. Read by the module at start-up; nothing else parses these names.
 */
import type { ConfigEnv } from '../../config-env.js'

export type AirbyteAuthMode = 'client_credentials' | 'basic' | 'bearer' | 'none'

export interface AirbyteConfig {
  /** Public API base, e.g. `http://host:8000/api/public/v1`. Unset: the Airbyte handler can validate but not provision. */
  apiUrl?: string
  auth: AirbyteAuthMode
  clientId?: string
  clientSecret?: string
  username?: string
  password?: string
  token?: string
  /** Default workspace when a descriptor names none. */
  workspaceId?: string
  /** Base of the Airbyte web UI, for links in publicInfo. */
  uiUrl?: string
  /** Connector definitions used when a descriptor names neither definitionId nor sourceType/destinationType. */
  sourceDefinitionId?: string
  destinationDefinitionId?: string
  /** Per-request timeout in ms. Default 30000 (connection creation discovers the schema synchronously). */
  requestTimeoutMs: number
  /** Most requests in flight to Airbyte across every worker (shared through Redis). Default 8. */
  maxConcurrentRequests: number
  /** In-process retries of one call on a transient error before the step is rescheduled. Default 3. */
  callRetries: number
  /** First backoff between in-process retries, ms; doubles with jitter. Default 500. */
  retryBaseMs: number
  /** Sync polling: first interval ms (default 3000), growing by 1.5x to the max (default 60000). */
  syncPollMinMs: number
  syncPollMaxMs: number
  /** Overall limit on one sync (or clear) job, ms. Default 6 h. */
  syncTimeoutMs: number
  /**
   * How long a workspace listing (sources, destinations or connections) serves the name lookups of this
   * process's tasks, ms; this service's own creates and deletes keep it current. 0: every lookup lists. Default 10000.
   */
  listingTtlMs: number
}

/** Variables holding Airbyte's own credentials (each also as `<NAME>_FILE`). */
export const AIRBYTE_CREDENTIAL_VARIABLES = ['AIRBYTE_CLIENT_SECRET', 'AIRBYTE_PASSWORD', 'AIRBYTE_TOKEN'] as const

export function readAirbyteConfig (r: ConfigEnv): AirbyteConfig {
  const auth = r.oneOf<AirbyteAuthMode>('AIRBYTE_AUTH', ['client_credentials', 'basic', 'bearer', 'none'], 'none')
  const airbyte: AirbyteConfig = {
    apiUrl: r.url('AIRBYTE_API_URL'),
    auth,
    clientId: r.string('AIRBYTE_CLIENT_ID'),
    clientSecret: r.secret('AIRBYTE_CLIENT_SECRET'),
    username: r.string('AIRBYTE_USERNAME'),
    password: r.secret('AIRBYTE_PASSWORD'),
    token: r.secret('AIRBYTE_TOKEN'),
    workspaceId: r.string('AIRBYTE_WORKSPACE_ID'),
    uiUrl: r.url('AIRBYTE_UI_URL'),
    sourceDefinitionId: r.string('AIRBYTE_SOURCE_DEFINITION_ID'),
    destinationDefinitionId: r.string('AIRBYTE_DESTINATION_DEFINITION_ID'),
    requestTimeoutMs: r.int('AIRBYTE_REQUEST_TIMEOUT_MS', 30_000, 100),
    maxConcurrentRequests: r.int('AIRBYTE_MAX_CONCURRENT_REQUESTS', 8, 1, 1000),
    callRetries: r.int('AIRBYTE_CALL_RETRIES', 3, 0, 20),
    retryBaseMs: r.int('AIRBYTE_RETRY_BASE_MS', 500, 1),
    syncPollMinMs: r.int('AIRBYTE_SYNC_POLL_MIN_MS', 3_000, 10),
    syncPollMaxMs: r.int('AIRBYTE_SYNC_POLL_MAX_MS', 60_000, 10),
    syncTimeoutMs: r.int('AIRBYTE_SYNC_TIMEOUT_MS', 6 * 3600_000, 1000),
    listingTtlMs: r.int('AIRBYTE_LISTING_TTL_MS', 10_000, 0, 600_000)
  }
  if (airbyte.apiUrl !== undefined) {
    const need: Record<AirbyteAuthMode, Array<[string, string | undefined]>> = {
      client_credentials: [['AIRBYTE_CLIENT_ID', airbyte.clientId], ['AIRBYTE_CLIENT_SECRET', airbyte.clientSecret]],
      basic: [['AIRBYTE_USERNAME', airbyte.username], ['AIRBYTE_PASSWORD', airbyte.password]],
      bearer: [['AIRBYTE_TOKEN', airbyte.token]],
      none: []
    }
    for (const [name, value] of need[auth]) {
      if (value === undefined) r.problems.push(`${name} is required when AIRBYTE_AUTH=${auth}`)
    }
  }
  if (airbyte.syncPollMaxMs < airbyte.syncPollMinMs) r.problems.push('AIRBYTE_SYNC_POLL_MAX_MS must be >= AIRBYTE_SYNC_POLL_MIN_MS')
  return airbyte
}
