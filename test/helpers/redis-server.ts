/**
 * Real Redis for tests (BullMQ's Lua scripts need the real thing): REDIS_URL when set, else a private
 * `redis-server` on a free port, else a testcontainers Redis where a Docker engine exists.
 * `startPrivateRedis` always starts an own server, for tests that stop and restart Redis.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { createServer } from 'node:net'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Redis } from 'ioredis'

export interface TestRedis {
  url: string
  /** Stops a server this helper started (no-op for REDIS_URL). */
  stop: () => Promise<void>
  /** Restarts it on the same port (only for a private server). */
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

async function waitForPing (url: string, deadlineMs = 10_000): Promise<void> {
  const until = Date.now() + deadlineMs
  for (;;) {
    const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null })
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

export async function startPrivateRedis (): Promise<TestRedis> {
  const port = await freePort()
  const dir = mkdtempSync(join(tmpdir(), 'adapter-redis-'))
  let child: ChildProcess | undefined
  const start = async (): Promise<void> => {
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

async function startContainerRedis (): Promise<TestRedis> {
  const moduleName = 'testcontainers'
  const { GenericContainer } = await import(moduleName) as typeof import('testcontainers')
  const container = await new GenericContainer('redis:7-alpine').withExposedPorts(6379).start()
  const url = `redis://${container.getHost()}:${container.getMappedPort(6379)}`
  return { url, stop: async () => { await container.stop() }, restart: async () => { await container.restart() } }
}

/** The Redis a test file should use; call `stop` in teardown. */
export async function testRedis (): Promise<TestRedis> {
  const fromEnv = process.env.REDIS_URL
  if (fromEnv !== undefined && fromEnv !== '') {
    return { url: fromEnv, stop: async () => {}, restart: async () => { throw new Error('cannot restart REDIS_URL') } }
  }
  try {
    return await startPrivateRedis()
  } catch (err) {
    try {
      return await startContainerRedis()
    } catch {
      throw err
    }
  }
}

/** A prefix unique to this test file run, so parallel files never share keys. */
export function uniquePrefix (name: string): string {
  return `test-${name}-${process.pid}-${Date.now().toString(36)}`
}

/** Deletes every key under `prefix` (SCAN, never FLUSHALL: the server may be shared). */
export async function deleteKeys (url: string, prefix: string): Promise<void> {
  const client = new Redis(url, { maxRetriesPerRequest: 1 })
  try {
    let cursor = '0'
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000)
      cursor = next
      if (keys.length > 0) await client.unlink(...keys)
    } while (cursor !== '0')
  } finally {
    client.disconnect()
  }
}
