import t, { type Test } from 'tap'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomUUID } from 'node:crypto'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import { Redis } from 'ioredis'
import { buildApp } from '../../src/app.js'
import { loadConfig } from '../../src/config.js'
import { checkReply } from '../../src/openapi/contract-check.js'
import { createHandlerRegistry } from '../../src/provisioner/handler-set.js'
import { createSecretStore } from '../../src/secrets/secret-store.js'
import { deleteKeys, testRedis, uniquePrefix } from '../helpers/redis-server.js'
import { RedisKeys } from '../../src/queue/redis-keys.js'

const redis = await testRedis()
t.teardown(async () => { await redis.stop() })

const A = 'caller-a-token-0123456789'
const B = 'caller-b-token-0123456789'
const file = join(mkdtempSync(join(tmpdir(), 'tokens-')), 'tokens')
writeFileSync(file, `caller-a ${A}\ncaller-b ${B}\n`)

async function replicas (t: Test, env: Record<string, string> = {}): Promise<{ prefix: string, apps: FastifyInstance[] }> {
  const prefix = uniquePrefix('rate')
  t.teardown(async () => { await deleteKeys(redis.url, prefix) })
  const apps: FastifyInstance[] = []
  for (let i = 0; i < 2; i++) {
    const config = loadConfig({ LOAD_SHED_MAX_EVENT_LOOP_DELAY_MS: '0', REDIS_URL: redis.url, QUEUE_PREFIX: prefix, LOG_LEVEL: 'silent', AUTH_BEARER_TOKENS_FILE: file, RATE_LIMIT_MAX: '3', RATE_LIMIT_WINDOW_MS: '60000', ...env })
    const app = await buildApp({ config, registry: createHandlerRegistry(config), secrets: createSecretStore({}), logger: false })
    t.teardown(async () => { await app.close() })
    apps.push(app)
  }
  return { prefix, apps }
}

const status = async (app: FastifyInstance, token?: string, url = `/v1/provision/${randomUUID()}/status`): Promise<LightMyRequestResponse> =>
  await app.inject({ method: 'GET', url, headers: token === undefined ? {} : { authorization: `Bearer ${token}` } })

t.test('one caller\'s limit is shared by two replicas on the same Redis; 429 has Retry-After and the contract shape', async t => {
  const { apps: [one, two] } = await replicas(t)
  if (one === undefined || two === undefined) throw new Error('two apps expected')
  t.equal((await status(one, A)).statusCode, 400)
  t.equal((await status(two, A)).statusCode, 400)
  const third = await status(one, A)
  t.equal(third.statusCode, 400)
  t.equal(third.headers['x-ratelimit-remaining'], '0')
  const url = `/v1/provision/${randomUUID()}/status`
  const over = await status(two, A, url)
  t.equal(over.statusCode, 429, 'the fourth request, on the other replica, is over the limit')
  const retryAfter = Number(over.headers['retry-after'])
  t.ok(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 60, `Retry-After is whole seconds within the window (${String(over.headers['retry-after'])})`)
  t.same(checkReply('GET', url, 429, String(over.headers['content-type']), over.json()), [])
  t.match(over.json().userMessage, /Too many requests/)
  t.equal((await status(one, B)).statusCode, 400, 'another caller has its own budget')
})

t.test('health probes are never limited', async t => {
  const { apps: [one] } = await replicas(t)
  if (one === undefined) throw new Error('app expected')
  for (let i = 0; i < 6; i++) t.equal((await one.inject('/health/live')).statusCode, 200)
  t.equal((await status(one, A)).statusCode, 400, 'and probes do not use up a caller\'s budget')
})

t.test('refused requests count against the client address, not a caller', async t => {
  const { apps: [one, two] } = await replicas(t)
  if (one === undefined || two === undefined) throw new Error('two apps expected')
  t.equal((await status(one, 'wrong-token-wrong-token')).statusCode, 401)
  t.equal((await status(two)).statusCode, 401)
  t.equal((await status(one, 'another-wrong-token-xx')).statusCode, 401)
  t.equal((await status(two, 'guess-number-four-xxxxx')).statusCode, 429, 'token guessing from one address is limited')
  t.equal((await status(one, A)).statusCode, 400, 'an authenticated caller from the same address is not')
})

t.test('the limiter keeps its keys under QUEUE_PREFIX and never stores a token', async t => {
  const { prefix, apps: [one] } = await replicas(t)
  if (one === undefined) throw new Error('app expected')
  await status(one, A)
  const client = new Redis(redis.url)
  t.teardown(() => { client.disconnect() })
  const keys = await client.keys(`${new RedisKeys(prefix).rateLimitNamespace}*`)
  t.same(keys, [`{${prefix}}:rate-limit:caller:caller-a`])
})

t.test('RATE_LIMIT_MAX=0 turns limiting off', async t => {
  const { apps: [one] } = await replicas(t, { RATE_LIMIT_MAX: '0' })
  if (one === undefined) throw new Error('app expected')
  for (let i = 0; i < 5; i++) t.equal((await status(one, A)).statusCode, 400)
  t.equal((await status(one, A)).headers['x-ratelimit-limit'], undefined)
})
