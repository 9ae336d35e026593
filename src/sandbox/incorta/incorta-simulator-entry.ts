/**
 * The Incorta simulator in the sandbox's list: started on SIM_INCORTA_PORT (default a free port), loads moving
 * one state per SIM_INCORTA_STEP_MS (default 1000) and on every request, and the INCORTA_* variables that wire
 * the service to it with its personal access token (INCORTA_AUTH=oidc with the sandbox's OIDC server works too:
 * client `incorta-client` / `incorta-secret`, user `loader` / `loader-password`).
 */
import type { SimulatorEntry } from '../simulators.js'
import { startIncortaSimulator } from './incorta-simulator.js'

export const incortaSimulatorEntry: SimulatorEntry = {
  id: 'incorta',
  start: async (env) => {
    const simulator = await startIncortaSimulator({
      port: Number(env.SIM_INCORTA_PORT ?? 0),
      clock: { stepMs: Number(env.SIM_INCORTA_STEP_MS ?? 1000) }
    })
    return {
      summary: `Incorta simulator at ${simulator.url} (tenant ${simulator.defaultTenant}; OIDC token endpoint ${simulator.tokenUrl})`,
      defaults: { INCORTA_POLL_INTERVAL_MS: '1000' },
      env: {
        INCORTA_URL: simulator.url,
        INCORTA_TENANT: simulator.defaultTenant,
        INCORTA_AUTH: 'pat',
        INCORTA_PAT: simulator.pat,
        INCORTA_OIDC_TOKEN_URL: simulator.tokenUrl
      },
      close: simulator.close
    }
  }
}
