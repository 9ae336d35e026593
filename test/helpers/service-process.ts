/**
 * The service as a separate process (`node --import tsx src/main.ts`), for tests that kill it with SIGKILL or
 * stop it with SIGTERM. Output is kept for diagnostics.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))

export interface ServiceProcess {
  child: ChildProcess
  output: () => string
  /** Resolves with the exit code (or signal name). */
  exited: Promise<number | string>
}

export function spawnService (env: Record<string, string>): ServiceProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let output = ''
  child.stdout?.on('data', (chunk: Buffer) => { output += chunk.toString() })
  child.stderr?.on('data', (chunk: Buffer) => { output += chunk.toString() })
  const exited = new Promise<number | string>(resolve => {
    child.once('exit', (code, signal) => { resolve(code ?? signal ?? 'unknown') })
  })
  return { child, output: () => output, exited }
}

/** Waits until `predicate` holds, polling every 25 ms, failing after `deadlineMs`. */
export async function eventually (what: string, predicate: () => boolean | Promise<boolean>, deadlineMs = 15_000): Promise<void> {
  const deadline = Date.now() + deadlineMs
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`)
    await new Promise(resolve => setTimeout(resolve, 25))
  }
}
