/**
 * The one list of simulators the sandbox runs, one per target handler. Each entry starts its simulator and
 * says which environment variables wire the service to it. Adding a target: a folder under src/sandbox/ with
 * its simulator and entry, and one line here.
 */
import { airbyteSimulatorEntry } from './airbyte/airbyte-simulator-entry.js'
import { atlanSimulatorEntry } from './atlan/atlan-simulator-entry.js'
import { incortaSimulatorEntry } from './incorta/incorta-simulator-entry.js'

export interface RunningSimulator {
  /** Shown in the sandbox banner: `Airbyte simulator at http://127.0.0.1:41234/api/public/v1 (workspace ...)`. */
  summary: string
  /**
   * Variables that point the service at this simulator (URL, credentials the simulator accepts); they win over
   * the environment.
   */
  env: Record<string, string>
  /** Sandbox-friendly settings (short poll intervals) the environment may still override. */
  defaults: Record<string, string>
  close: () => Promise<void>
}

export interface SimulatorEntry {
  /** The handler module id this simulator stands in for (`airbyte`). */
  id: string
  /** Starts the simulator; `env` is the sandbox's environment, for the entry's own settings (`SIM_PORT`, ...). */
  start: (env: Record<string, string | undefined>) => Promise<RunningSimulator>
}

export const SIMULATORS: readonly SimulatorEntry[] = [airbyteSimulatorEntry, incortaSimulatorEntry, atlanSimulatorEntry]

/** Starts every simulator; if one fails, closes those already started. */
export async function startSimulators (env: Record<string, string | undefined>): Promise<RunningSimulator[]> {
  const running: RunningSimulator[] = []
  try {
    for (const entry of SIMULATORS) running.push(await entry.start(env))
  } catch (err) {
    await Promise.allSettled(running.map(async (s) => await s.close()))
    throw err
  }
  return running
}
