/**
 * A private `redis-server` on a free port, for the sandbox (when no Redis is configured or reachable) and for
 * tests that must stop and restart Redis. Needs the `redis-server` binary (Debian: apt-get install redis-server).
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { createServer } from 'node:net'
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Redis } from 'ioredis'

export interface LocalRedis {
  url: string
  /** Stops a server this module started (no-op for one it did not). */
  stop: () => Promise<void>
  /** Restarts it on the same port. */
  restart: () => Promise<void>
}

export async function freePort (): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() => { resolve(typeof address === 'object' && address !== null ? address.port : 0) })
    })
  })
}

export async function waitForPing (url: string, deadlineMs = 10_000): Promise<void> {
  const until = Date.now() + deadlineMs
  for (;;) {
    const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null })
    client.on('error', () => {})
    try {
      await client.connect()
      await client.ping()
      return
    } catch (err) {
      if (Date.now() > until) throw new Error(`redis at ${url} did not answer within ${deadlineMs} ms: ${String(err)}`)
      await new Promise(resolve => setTimeout(resolve, 50))
    } finally {
      client.disconnect()
    }
  }
}

export async function startLocalRedis (): Promise<LocalRedis> {
  const port = await freePort()
  const dir = mkdtempSync(join(tmpdir(), 'adapter-redis-'))
  let child: ChildProcess | undefined
  const start = async (): Promise<void> => {
    mkdirSync(dir, { recursive: true })
    child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
      '--dir', dir, '--maxmemory-policy', 'noeviction'], { stdio: 'ignore' })
    const started = child
    await new Promise<void>((resolve, reject) => {
      started.once('error', (err) => { reject(new Error(`cannot start redis-server (install it: apt-get install redis-server): ${err.message}`)) })
      started.once('spawn', () => { resolve() })
    })
    await waitForPing(`redis://127.0.0.1:${port}`)
  }
  const stop = async (): Promise<void> => {
    const running = child
    child = undefined
    if (running === undefined || running.exitCode !== null) return
    await new Promise<void>(resolve => { running.once('exit', () => { resolve() }); running.kill('SIGKILL') })
  }
  await start()
  return {
    url: `redis://127.0.0.1:${port}`,
    stop: async () => { await stop(); rmSync(dir, { recursive: true, force: true }) },
    restart: async () => { await stop(); await start() }
  }
}

/**
 * The Redis a local run should use: REDIS_URL when set, else one answering on 127.0.0.1:6379, else a private
 * server started here (`stop` then stops it; for the others it does nothing).
 */
export async function findOrStartRedis (configured = process.env.REDIS_URL): Promise<Pick<LocalRedis, 'url' | 'stop'> & { started: boolean }> {
  if (configured !== undefined && configured !== '') return { url: configured, stop: async () => {}, started: false }
  const local = 'redis://127.0.0.1:6379'
  try {
    await waitForPing(local, 500)
    return { url: local, stop: async () => {}, started: false }
  } catch {
    const started = await startLocalRedis()
    return { url: started.url, stop: started.stop, started: true }
  }
}

/**
 * Deletes every key under `prefix`, the service's hash-tagged `{prefix}:...` and any plain `prefix...` (SCAN, never
 * FLUSHALL: the server may be shared).
 */
export async function deleteKeys (url: string, prefix: string): Promise<void> {
  const client = new Redis(url, { maxRetriesPerRequest: 1 })
  try {
    for (const pattern of [`${prefix}*`, `{${prefix}}*`]) {
      let cursor = '0'
      do {
        const [next, keys] = await client.scan(cursor, 'MATCH', pattern, 'COUNT', 1000)
        cursor = next
        if (keys.length > 0) await client.unlink(...keys)
      } while (cursor !== '0')
    }
  } finally {
    client.disconnect()
  }
}
