import t from 'tap'
import { loadConfig } from '../../src/config.js'
import { startService } from '../../src/main.js'
import { eventually } from '../helpers/service-process.js'
import { FAST_ENV } from '../helpers/stack.js'
import { deleteKeys, freePort, startPrivateRedis, uniquePrefix } from '../helpers/redis-server.js'
import { parseExposition, valueOf } from './exposition.js'

// An own Redis: the readiness test stops it.
const redis = await startPrivateRedis()
const prefix = uniquePrefix('worker-health')
t.teardown(async () => { await redis.stop() })

async function get (url: string): Promise<{ status: number, type: string, text: string }> {
  const res = await fetch(url)
  return { status: res.status, type: res.headers.get('content-type') ?? '', text: await res.text() }
}

t.test('ROLE=worker serves /health/live, /health/ready and /metrics on METRICS_PORT, and no API', async t => {
  const port = await freePort()
  const config = loadConfig({ ...FAST_ENV, ROLE: 'worker', REDIS_URL: redis.url, QUEUE_PREFIX: prefix, METRICS_PORT: String(port), BASE_PATH: '/tech' })
  const service = await startService(config)
  t.teardown(async () => { await service.close(); await deleteKeys(redis.url, prefix).catch(() => {}) })
  t.equal(service.app, undefined, 'no API in a worker-only process')
  t.equal(service.metricsUrl, `http://127.0.0.1:${port}`)
  const base = service.metricsUrl ?? ''

  const live = await get(`${base}/health/live`)
  t.same([live.status, JSON.parse(live.text)], [200, { status: 'ok' }], 'live, at the root whatever BASE_PATH')
  await eventually('the worker is ready', async () => (await get(`${base}/health/ready`)).status === 200)
  t.same(JSON.parse((await get(`${base}/health/ready`)).text), { status: 'ok', redis: 'ok' })

  const metrics = await get(`${base}/metrics`)
  t.equal(metrics.status, 200)
  t.match(metrics.type, /^text\/plain/)
  const samples = parseExposition(metrics.text)
  t.equal(valueOf(samples, 'tech_adapter_redis_up', { role: 'worker' }), 1)
  t.ok(samples.some(s => s.name === 'tech_adapter_queue_jobs' && s.labels.state === 'waiting'), 'the queue depth, read by the worker')
  t.ok(samples.some(s => s.name === 'nodejs_eventloop_lag_p99_seconds'))
  t.equal((await get(`${base}/nope`)).status, 404)
  t.equal((await fetch(`${base}/metrics`, { method: 'POST' })).status, 405)

  await redis.stop()
  await eventually('readiness answers 503 with Redis down', async () => (await get(`${base}/health/ready`)).status === 503)
  t.same(JSON.parse((await get(`${base}/health/ready`)).text), { status: 'unavailable', redis: 'unavailable' })
  t.equal((await get(`${base}/health/live`)).status, 200, 'still alive: a restart would not bring Redis back')
  const down = parseExposition((await get(`${base}/metrics`)).text)
  t.equal(valueOf(down, 'tech_adapter_redis_up', { role: 'worker' }), 0, 'redis_up says why')
  await redis.restart()
  await eventually('ready again once Redis is back', async () => (await get(`${base}/health/ready`)).status === 200)
})

t.test('ROLE=all opens no metrics port: the API port serves everything', async t => {
  const port = await freePort()
  const config = loadConfig({ ...FAST_ENV, ROLE: 'all', REDIS_URL: redis.url, QUEUE_PREFIX: prefix, METRICS_PORT: String(port) })
  const service = await startService(config)
  t.teardown(async () => { await service.close(); await deleteKeys(redis.url, prefix).catch(() => {}) })
  t.equal(service.metricsUrl, undefined)
  await t.rejects(fetch(`http://127.0.0.1:${port}/metrics`), 'nothing listens on METRICS_PORT')
  const samples = parseExposition((await get(`${service.url ?? ''}/metrics`)).text)
  t.equal(valueOf(samples, 'tech_adapter_redis_up', { role: 'api' }), 1)
  t.equal(valueOf(samples, 'tech_adapter_redis_up', { role: 'worker' }), 1, 'one registry for both roles')
})
