/**
 * Starting and stopping the machine's `redis-server` processes for the Cluster and Sentinel helpers: each in a
 * temporary directory, on a free port, killed and cleaned up by the test that started it.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { Redis } from 'ioredis'

export { freePort, waitForPing } from '../../src/sandbox/local-redis.js'

export interface RedisProcess {
  port: number
  child: ChildProcess
  /** SIGKILL (a crash, not a shutdown); resolves once the process is gone. */
  kill: () => Promise<void>
}

export async function spawnRedis (port: number, args: string[]): Promise<RedisProcess> {
  const child = spawn('redis-server', args, { stdio: ['ignore', 'ignore', 'pipe'] })
  let stderr = ''
  child.stderr?.on('data', (chunk: Buffer) => { stderr = (stderr + chunk.toString()).slice(-2000) })
  await new Promise<void>((resolve, reject) => {
    child.once('error', (err) => { reject(new Error(`cannot start redis-server (apt-get install redis-server): ${err.message}`)) })
    child.once('spawn', () => { resolve() })
  })
  child.once('exit', (code) => {
    if (code !== null && code !== 0) process.stderr.write(`redis-server on ${port} exited ${code}: ${stderr}\n`)
  })
  return {
    port,
    child,
    kill: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return
      await new Promise<void>(resolve => { child.once('exit', () => { resolve() }); child.kill('SIGKILL') })
    }
  }
}

/** Polls `probe` until it returns true, failing with `what` after `deadlineMs`. */
export async function pollUntil (what: string, probe: () => Promise<boolean>, deadlineMs = 20_000): Promise<void> {
  const until = Date.now() + deadlineMs
  let last: unknown
  for (;;) {
    try {
      if (await probe()) return
    } catch (err) {
      last = err
    }
    if (Date.now() > until) throw new Error(`${what} did not happen within ${deadlineMs} ms${last === undefined ? '' : `: ${String(last)}`}`)
    await new Promise(resolve => setTimeout(resolve, 100))
  }
}

/** One short-lived connection to one process, for set-up probes (never reconnects, never queues). */
export async function withNode<T> (port: number, fn: (client: Redis) => Promise<T>): Promise<T> {
  const client = new Redis({ host: '127.0.0.1', port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false })
  client.on('error', () => {})
  try {
    await client.connect()
    return await fn(client)
  } finally {
    client.disconnect()
  }
}
