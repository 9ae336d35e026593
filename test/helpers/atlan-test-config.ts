/** The Atlan handler's configuration and data product for tests against the simulator. */
import type { DataProduct } from '../../src/descriptor/types.js'
import type { AtlanConfig } from '../../src/provisioner/atlan/atlan-config.js'
import type { AtlanSimulator } from '../../src/sandbox/atlan/atlan-simulator.js'

/** Fast polls and a generous rate budget. */
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

/** The CashFlow data product the Atlan tests' components belong to (its owner and dev group become admins). */
export function atlanTestProduct (): DataProduct {
  return {
    id: 'urn:dmb:dp:finance:cashflow:0',
    name: 'CashFlow',
    dataProductOwner: 'user:jane.doe_company.com',
    devGroup: 'group:datameshplatform',
    components: []
  }
}
