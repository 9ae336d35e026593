/**
 * The Airbyte simulator in the sandbox's list: started on SIM_PORT (default a free port) with syncs lasting
 * SIM_SYNC_MS (default 2000), and the AIRBYTE_* variables that wire the service to it with client credentials.
 */
import type { SimulatorEntry } from '../simulators.js'
import { startAirbyteSimulator } from './airbyte-simulator.js'

export const airbyteSimulatorEntry: SimulatorEntry = {
  id: 'airbyte',
  start: async (env) => {
    const simulator = await startAirbyteSimulator({
      port: Number(env.SIM_PORT ?? 0),
      syncDurationMs: Number(env.SIM_SYNC_MS ?? 2000)
    })
    return {
      summary: `Airbyte simulator at ${simulator.url} (workspace ${simulator.workspaceId})`,
      defaults: { AIRBYTE_SYNC_POLL_MIN_MS: '500', AIRBYTE_SYNC_POLL_MAX_MS: '2000' },
      env: {
        AIRBYTE_API_URL: simulator.url,
        AIRBYTE_AUTH: 'client_credentials',
        AIRBYTE_CLIENT_ID: 'sim-client',
        AIRBYTE_CLIENT_SECRET: 'sim-secret',
        AIRBYTE_WORKSPACE_ID: simulator.workspaceId,
        AIRBYTE_UI_URL: simulator.origin
      },
      close: simulator.close
    }
  }
}
