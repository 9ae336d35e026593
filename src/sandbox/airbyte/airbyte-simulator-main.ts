/**
 * Standalone Airbyte simulator process (`tsx src/sandbox/airbyte/airbyte-simulator-main.ts`, `npm run simulator`),
 * for the sandbox mode and manual poking with curl.
 * Reads PORT (8000), HOST (127.0.0.1), SIM_CLIENT_ID, SIM_CLIENT_SECRET and SIM_SYNC_MS from the environment,
 * prints the base URL and stops cleanly on SIGTERM / SIGINT. Only this file reads process.env.
 */
import { startAirbyteSimulator } from './airbyte-simulator.js'

function readNonNegativeInt (name: string, fallback: number): number {
  const raw = process.env[name]
  if (raw === undefined || raw.trim() === '') return fallback
  const value = Number(raw)
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new Error(`${name} must be a non-negative integer; got ${JSON.stringify(raw)}`)
  }
  return value
}

function readText (name: string): string | undefined {
  const raw = process.env[name]
  return raw === undefined || raw === '' ? undefined : raw
}

const simulator = await startAirbyteSimulator({
  port: readNonNegativeInt('PORT', 8000),
  host: readText('HOST') ?? '127.0.0.1',
  clientId: readText('SIM_CLIENT_ID'),
  clientSecret: readText('SIM_CLIENT_SECRET'),
  syncDurationMs: readNonNegativeInt('SIM_SYNC_MS', 2000)
})
console.log(`Airbyte simulator listening on ${simulator.url} (workspace ${simulator.workspaceId})`)

let stopping = false
async function stop (signal: NodeJS.Signals): Promise<void> {
  if (stopping) return
  stopping = true
  console.log(`Airbyte simulator stopping (${signal})`)
  await simulator.close()
}

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, (received) => {
    stop(received).catch((err: unknown) => {
      console.error('Airbyte simulator failed to stop cleanly:', err)
      process.exitCode = 1
    })
  })
}
