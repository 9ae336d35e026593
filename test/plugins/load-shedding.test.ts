import t from 'tap'
import Fastify from 'fastify'
import { randomUUID } from 'node:crypto'
import { buildApp } from '../../src/app.js'
import { loadConfig } from '../../src/config.js'
import { checkReply } from '../../src/openapi/contract-check.js'
import { routeSchema } from '../../src/openapi/openapi-spec.js'
import loadShedding from '../../src/plugins/load-shedding.js'
import { createHandlerRegistry } from '../../src/provisioner/handler-set.js'
import { createSecretStore } from '../../src/secrets/secret-store.js'
import { deleteKeys, testRedis, uniquePrefix } from '../helpers/redis-server.js'
import { eventually } from '../helpers/service-process.js'

t.test('under pressure, requests get 503 SystemError with Retry-After while liveness and readiness keep answering', async t => {
  let healthy = true
  const app = Fastify({ logger: false })
  await app.register(loadShedding, {
    ...loadConfig({}).loadShedding,
    maxEventLoopDelayMs: 0,
    sampleIntervalMs: 10,
    retryAfterSeconds: 7,
    basePath: '',
    healthCheck: async () => healthy
  })
  app.get('/health/live', { schema: routeSchema('healthLive') }, async () => ({ status: 'ok' }))
  app.get('/health/ready', { schema: routeSchema('healthReady') }, async () => ({ status: 'ok', redis: 'ok' }))
  app.get('/v1/provision/:token/status', { schema: routeSchema('getStatus') }, async () => ({ status: 'RUNNING', result: '' }))
  t.teardown(async () => { await app.close() })
  const url = `/v1/provision/${randomUUID()}/status`
  t.equal((await app.inject(url)).statusCode, 200, 'not shed while healthy')

  healthy = false
  await eventually('requests are shed', async () => (await app.inject(url)).statusCode === 503)
  const shed = await app.inject(url)
  t.equal(shed.statusCode, 503)
  t.equal(shed.headers['retry-after'], '7')
  t.same(checkReply('GET', url, 503, String(shed.headers['content-type']), shed.json()), [], 'SystemError shape')
  t.match(shed.json().userMessage, /overloaded/)
  t.equal((await app.inject('/health/live')).statusCode, 200, 'liveness is never shed')
  t.equal((await app.inject('/health/ready')).statusCode, 200, 'readiness is never shed')
  t.equal((await app.inject(url)).statusCode, 503, 'still shedding after the probes answered')

  healthy = true
  await eventually('requests are served again', async () => (await app.inject(url)).statusCode === 200)
})

t.test('the app sheds load when the event loop lags past LOAD_SHED_MAX_EVENT_LOOP_DELAY_MS', async t => {
  const redis = await testRedis()
  const prefix = uniquePrefix('shed')
  t.teardown(async () => { await deleteKeys(redis.url, prefix); await redis.stop() })
  const config = loadConfig({ REDIS_URL: redis.url, QUEUE_PREFIX: prefix, LOG_LEVEL: 'silent', AUTH_MODE: 'none', LOAD_SHED_MAX_EVENT_LOOP_DELAY_MS: '1', LOAD_SHED_SAMPLE_INTERVAL_MS: '10' })
  const app = await buildApp({ config, registry: createHandlerRegistry(config), secrets: createSecretStore({}), logger: false })
  t.teardown(async () => { await app.close() })
  const url = `/v1/provision/${randomUUID()}/status`
  await eventually('a request is shed after the event loop was blocked', async () => {
    const until = Date.now() + 60
    while (Date.now() < until) { /* hold the event loop, as a CPU-bound request would */ }
    await new Promise(resolve => setTimeout(resolve, 0))
    const res = await app.inject(url)
    return res.statusCode === 503 && res.headers['retry-after'] === '10'
  })
  t.pass('shed with the default Retry-After')
})

t.test('load-shedding settings are validated', async t => {
  t.same(loadConfig({}).loadShedding, { maxEventLoopDelayMs: 1000, maxEventLoopUtilization: 0, maxHeapUsedBytes: 0, maxRssBytes: 0, sampleIntervalMs: 1000, retryAfterSeconds: 10 })
  t.equal(loadConfig({ LOAD_SHED_MAX_EVENT_LOOP_UTILIZATION: '0.95' }).loadShedding.maxEventLoopUtilization, 0.95)
  t.throws(() => loadConfig({ LOAD_SHED_MAX_EVENT_LOOP_UTILIZATION: '2' }), /LOAD_SHED_MAX_EVENT_LOOP_UTILIZATION must be a number between 0 and 1/)
  t.throws(() => loadConfig({ LOAD_SHED_MAX_EVENT_LOOP_DELAY_MS: '-1' }), /LOAD_SHED_MAX_EVENT_LOOP_DELAY_MS/)
})
