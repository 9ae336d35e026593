/**
 * Real Redis for tests (BullMQ's Lua scripts need the real thing): REDIS_URL when set, else a private
 * `redis-server` on a free port, else a testcontainers Redis where a Docker engine exists.
 * `startPrivateRedis` always starts an own server, for tests that stop and restart Redis.
 */
import { startLocalRedis, type LocalRedis } from '../../src/sandbox/local-redis.js'

export { deleteKeys, freePort } from '../../src/sandbox/local-redis.js'
export type TestRedis = LocalRedis
export const startPrivateRedis = startLocalRedis

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
