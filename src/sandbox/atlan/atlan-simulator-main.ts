/**
 * Standalone Atlan simulator process (`tsx src/sandbox/atlan/atlan-simulator-main.ts`), for containers and manual
 * poking with curl. Reads PORT (8001), HOST (127.0.0.1), SIM_ATLAN_API_TOKEN (the token the service uses) and
 * SIM_ATLAN_RATE_LIMIT (requests a minute, 400) from the environment, prints the base URL and stops cleanly on
 * SIGTERM / SIGINT. Only this file reads process.env.
 */
import { startAtlanSimulator } from './atlan-simulator.js'

function readPositiveInt (name: string, fallback: number): number {
  const raw = process.env[name]
  if (raw === undefined || raw.trim() === '') return fallback
  const value = Number(raw)
  if (!Number.isSafeInteger(value) || value < 1) throw new Error(`${name} must be a positive integer; got ${JSON.stringify(raw)}`)
  return value
}

const token = process.env.SIM_ATLAN_API_TOKEN
const simulator = await startAtlanSimulator({
  port: readPositiveInt('PORT', 8001),
  host: process.env.HOST === undefined || process.env.HOST === '' ? '127.0.0.1' : process.env.HOST,
  apiToken: token === undefined || token === '' ? undefined : token,
  rateLimitPerMinute: readPositiveInt('SIM_ATLAN_RATE_LIMIT', 400)
})
console.log(`Atlan simulator listening on ${simulator.url}`)

let stopping = false
async function stop (signal: NodeJS.Signals): Promise<void> {
  if (stopping) return
  stopping = true
  console.log(`Atlan simulator stopping (${signal})`)
  await simulator.close()
}

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, (received) => {
    stop(received).catch((err: unknown) => {
      console.error('Atlan simulator failed to stop cleanly:', err)
      process.exitCode = 1
    })
  })
}
