import t, { type Test } from 'tap'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import { buildApp } from '../../src/app.js'
import { loadConfig } from '../../src/config.js'
import { createHandlerRegistry } from '../../src/provisioner/handler-set.js'
import { createSecretStore } from '../../src/secrets/secret-store.js'
import { ADMIN_CSP } from '../../src/plugins/admin-ui.js'
import { deleteKeys, testRedis, uniquePrefix } from '../helpers/redis-server.js'

const redis = await testRedis()
const prefix = uniquePrefix('metrics-access')
t.teardown(async () => { await deleteKeys(redis.url, prefix); await redis.stop() })

const TOKEN = 'prometheus-token-aaaaaaaaaaaaaaaa'
const tokens = join(mkdtempSync(join(tmpdir(), 'tokens-')), 'tokens')
writeFileSync(tokens, `prometheus ${TOKEN}\n`)
const auth = { authorization: `Bearer ${TOKEN}` }

async function appWith (t: Test, env: Record<string, string>): Promise<FastifyInstance> {
  const config = loadConfig({ REDIS_URL: redis.url, QUEUE_PREFIX: prefix, LOG_LEVEL: 'silent', AUTH_MODE: 'bearer', AUTH_BEARER_TOKENS_FILE: tokens, ...env })
  const app = await buildApp({ config, registry: createHandlerRegistry(config), secrets: createSecretStore({}), logger: false })
  t.teardown(async () => { await app.close() })
  return app
}

t.test('/metrics needs a caller by default, and none with METRICS_PUBLIC=true', async t => {
  for (const basePath of ['', '/datamesh.techadapter/1.0']) {
    const closed = await appWith(t, { BASE_PATH: basePath })
    t.equal((await closed.inject({ url: `${basePath}/metrics` })).statusCode, 401, `${basePath}/metrics without a token`)
    const ok = await closed.inject({ url: `${basePath}/metrics`, headers: auth })
    t.equal(ok.statusCode, 200)
    t.match(ok.headers['content-type'], /^text\/plain/)
    t.match(ok.body, /# TYPE tech_adapter_http_requests_total counter/)
    const open = await appWith(t, { BASE_PATH: basePath, METRICS_PUBLIC: 'true' })
    t.equal((await open.inject({ url: `${basePath}/metrics` })).statusCode, 200, 'public metrics')
    // The exemption is that one route, matched by template, not any spelling of it.
    t.equal((await open.inject({ url: `${basePath}/v1/provision/00000000-0000-4000-8000-000000000000/status` })).statusCode, 401, 'other routes still need a caller')
    t.equal((await open.inject({ url: `${basePath}/metrics/../v1/provision/00000000-0000-4000-8000-000000000000/status` })).statusCode !== 200, true)
  }
  t.throws(() => loadConfig({ METRICS_PUBLIC: 'yes' }), /METRICS_PUBLIC must be true or false/)
  t.throws(() => loadConfig({ METRICS_PORT: '70000' }), /METRICS_PORT must be an integer between 0 and 65535/)
  t.equal(loadConfig({}).metricsPort, 9464)
})

t.test('the queue dashboard is off unless ADMIN_UI=true, and behind authentication when on', async t => {
  const off = await appWith(t, {})
  t.equal((await off.inject({ url: '/admin/queues', headers: auth })).statusCode, 404, 'off by default')
  t.throws(() => loadConfig({ ADMIN_UI: '1' }), /ADMIN_UI must be true or false/)

  const on = await appWith(t, { ADMIN_UI: 'true', BASE_PATH: '/tech' })
  t.equal((await on.inject({ url: '/tech/admin/queues' })).statusCode, 401, 'no caller, no dashboard')
  t.equal((await on.inject({ url: '/tech/admin/api/queues' })).statusCode, 401, 'nor its API')
  const page = await on.inject({ url: '/tech/admin/queues', headers: auth })
  t.equal(page.statusCode, 200, page.body.slice(0, 200))
  t.match(page.headers['content-type'], /text\/html/)
  t.equal(page.headers['content-security-policy'], ADMIN_CSP, 'the page gets a policy its UI works with')
  const script = /src="(static\/js\/main[^"]+\.js)"/.exec(page.body)?.[1]
  t.ok(script, 'the page loads its own script')
  const asset = await on.inject({ url: `/tech/admin/queues/${script ?? ''}`, headers: auth })
  t.equal(asset.statusCode, 200, 'its static assets are served')
  const api = await on.inject({ url: '/tech/admin/queues/api/queues', headers: auth })
  t.equal(api.statusCode, 200, api.body.slice(0, 200))
  const queues = api.json().queues as Array<{ name: string, readOnlyMode: boolean }>
  t.same(queues.map(q => [q.name, q.readOnlyMode]), [['tasks', true]], 'the task queue, read-only')
  const other = await on.inject({ url: '/tech/health/live' })
  t.match(other.headers['content-security-policy'], /default-src 'none'/, 'the API keeps its deny-all policy')
})
