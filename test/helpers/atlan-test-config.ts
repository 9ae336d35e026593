/** The Atlan handler's configuration for tests against the simulator: fast polls, a generous rate budget. */
import type { AtlanConfig } from '../../src/provisioner/atlan/atlan-config.js'
import type { AtlanSimulator } from '../../src/sandbox/atlan/atlan-simulator.js'

export function atlanTestConfig (sim: AtlanSimulator, extra: Partial<AtlanConfig> = {}): AtlanConfig {
  return {
    url: sim.url,
    auth: 'api_token',
    apiToken: sim.apiToken,
    useWorkflows: true,
    rateLimitPerMinute: 1000,
    pollIntervalMs: 10,
    pollTimeoutMs: 60_000,
    principalMapping: 'lookup',
    requestTimeoutMs: 5000,
    maxConcurrentRequests: 4,
    callRetries: 2,
    retryBaseMs: 5,
    postCreateGraceMs: 120_000,
    ...extra
  }
}
