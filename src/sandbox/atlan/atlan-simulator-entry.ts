/**
 * The Atlan simulator in the sandbox's list: started on ATLAN_SIM_PORT (default a free port), with the ATLAN_*
 * variables that wire the service to it with the simulator's API token. Workflow runs last a few seconds and
 * the index lags writes by a second, as in a real tenant.
 */
import type { SimulatorEntry } from '../simulators.js'
import { startAtlanSimulator } from './atlan-simulator.js'

export const atlanSimulatorEntry: SimulatorEntry = {
  id: 'atlan',
  start: async (env) => {
    const simulator = await startAtlanSimulator({
      port: Number(env.ATLAN_SIM_PORT ?? 0),
      postCreateForbiddenMs: Number(env.ATLAN_SIM_FORBIDDEN_MS ?? 2000)
    })
    return {
      summary: `Atlan simulator at ${simulator.url} (API token of the "provisioner" key; users jane.doe, john.smith, alice.rossi, bob.lee)`,
      defaults: { ATLAN_POLL_INTERVAL_MS: '1000' },
      env: {
        ATLAN_URL: simulator.url,
        ATLAN_AUTH: 'api_token',
        ATLAN_API_TOKEN: simulator.apiToken
      },
      close: simulator.close
    }
  }
}
