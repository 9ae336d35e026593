/**
 * Standalone Incorta simulator process (`tsx src/sandbox/incorta/incorta-simulator-main.ts`), for manual poking
 * with curl. Reads PORT (8100), HOST (127.0.0.1), SIM_INCORTA_PAT (its one personal access token) and
 * SIM_STEP_MS (loads move one state per this many ms, default 1000; every request also moves them) from the
 * environment, prints the URLs and stops cleanly on SIGTERM / SIGINT. Only this file reads process.env.
 */
import { startIncortaSimulator } from './incorta-simulator.js'

function readNonNegativeInt (name: string, fallback: number): number {
  const raw = process.env[name]
  if (raw === undefined || raw.trim() === '') return fallback
  const value = Number(raw)
  if (!Number.isSafeInteger(value) || value < 0) throw new Error(`${name} must be a non-negative integer; got ${JSON.stringify(raw)}`)
  return value
}

const pat = process.env.SIM_INCORTA_PAT
const simulator = await startIncortaSimulator({
  port: readNonNegativeInt('PORT', 8100),
  host: process.env.HOST ?? '127.0.0.1',
  pats: pat === undefined || pat === '' ? undefined : { [pat]: 'admin' },
  clock: { stepMs: readNonNegativeInt('SIM_STEP_MS', 1000) }
})
console.log(`Incorta simulator: INCORTA_URL=${simulator.url} INCORTA_TENANT=${simulator.defaultTenant}`)
console.log(`  personal access token: INCORTA_PAT=${simulator.pat}`)
console.log(`  OIDC token endpoint: INCORTA_OIDC_TOKEN_URL=${simulator.tokenUrl} (client incorta-client / incorta-secret, user loader / loader-password)`)

let stopping = false
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    if (stopping) return
    stopping = true
    simulator.close().catch((err: unknown) => {
      console.error('Incorta simulator failed to stop cleanly:', err)
      process.exitCode = 1
    })
  })
}
