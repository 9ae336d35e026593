import t, { type Test } from 'tap'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomUUID } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import { buildApp } from '../../src/app.js'
import { loadConfig } from '../../src/config.js'
import { createHandlerRegistry } from '../../src/provisioner/handler-set.js'
import { createSecretStore } from '../../src/secrets/secret-store.js'
import { deleteKeys, testRedis, uniquePrefix } from '../helpers/redis-server.js'

const redis = await testRedis()
const prefix = uniquePrefix('headers')
t.teardown(async () => { await deleteKeys(redis.url, prefix); await redis.stop() })
const TOKEN = 'docs-reader-token-0123456789'
const file = join(mkdtempSync(join(tmpdir(), 'tokens-')), 'tokens')
writeFileSync(file, `reader ${TOKEN}\n`)

async function appWith (t: Test, env: Record<string, string>): Promise<FastifyInstance> {
  const config = loadConfig({ LOAD_SHED_MAX_EVENT_LOOP_DELAY_MS: '0', REDIS_URL: redis.url, QUEUE_PREFIX: prefix, LOG_LEVEL: 'silent', AUTH_BEARER_TOKENS_FILE: file, ...env })
  const app = await buildApp({ config, registry: createHandlerRegistry(config), secrets: createSecretStore({}), logger: false })
  t.teardown(async () => { await app.close() })
  return app
}

function directives (header: unknown): Map<string, string[]> {
  return new Map(String(header).split(';').map(d => d.trim()).filter(Boolean).map(d => {
    const [name = '', ...values] = d.split(/\s+/)
    return [name, values]
  }))
}

t.test('API replies carry the usual security headers and a CSP that allows nothing', async t => {
  const app = await appWith(t, {})
  for (const res of [await app.inject(`/v1/provision/${randomUUID()}/status`), await app.inject('/health/live')]) {
    const csp = directives(res.headers['content-security-policy'])
    t.same(csp.get('default-src'), ["'none'"])
    t.same(csp.get('frame-ancestors'), ["'none'"])
    t.equal(res.headers['x-content-type-options'], 'nosniff')
    t.match(res.headers['strict-transport-security'], /max-age=\d+/)
    t.equal(res.headers['referrer-policy'], 'no-referrer')
    t.ok(res.headers['x-frame-options'])
    t.equal(res.headers['x-powered-by'], undefined)
  }
})

for (const basePath of ['', '/datamesh.airbytespecificprovisioner/1.0']) {
  t.test(`/docs${basePath === '' ? '' : ' under BASE_PATH'} loads under its CSP: every script and stylesheet it references is served from this origin`, async t => {
    const app = await appWith(t, { DOCS_PUBLIC: 'true', BASE_PATH: basePath })
    for (const page of [`${basePath}/docs`, `${basePath}/docs/`]) {
      const html = await app.inject(page)
      t.equal(html.statusCode, 200, page)
      t.match(html.headers['content-type'], /^text\/html/)
      const csp = directives(html.headers['content-security-policy'])
      t.same(csp.get('script-src'), ["'self'"], 'scripts from this origin only')
      t.ok(csp.get('style-src')?.includes("'self'"))
      t.ok(csp.get('img-src')?.includes('data:'), 'the inlined logo and icons')
      t.same(csp.get('connect-src'), ["'self'"], 'the UI fetches the document from this origin')
      t.notOk(csp.has('upgrade-insecure-requests'), 'plain-HTTP deployments keep their assets')
      t.same(csp.get('frame-ancestors'), ["'none'"])

      const scripts = [...html.body.matchAll(/<script\b([^>]*)>/g)].map(m => m[1] ?? '')
      t.ok(scripts.length >= 3)
      t.ok(scripts.every(attrs => /\bsrc="/.test(attrs)), 'no inline script, which script-src \'self\' would block')
      const refs = [...html.body.matchAll(/<(?:script|link)\b[^>]*?(?:src|href)="([^"]+)"/g)].map(m => m[1] ?? '')
      t.ok(refs.some(r => r.endsWith('swagger-ui-bundle.js')) && refs.some(r => r.endsWith('swagger-ui.css')))
      for (const ref of refs) {
        t.notMatch(ref, /^(https?:)?\/\//, `${ref} is same-origin`)
        const url = new URL(ref, `http://adapter.local${page}`).pathname
        const asset = await app.inject(url)
        t.equal(asset.statusCode, 200, `${url} is served`)
        t.match(asset.headers['content-type'], /javascript|css|image\/png/, `${url} has its content type`)
      }
    }
    const initializer = await app.inject(`${basePath}/docs/static/swagger-initializer.js`)
    t.match(initializer.body, /resolveUrl\('\.\/json'\)/)
    const document = await app.inject(`${basePath}/docs/json`)
    t.equal(document.statusCode, 200)
    t.same(document.json().components.securitySchemes.bearerAuth, { type: 'http', scheme: 'bearer', description: document.json().components.securitySchemes.bearerAuth.description })
    t.same(document.json().servers, [{ url: basePath === '' ? '/' : basePath }])
  })
}

t.test('/docs with a token works the same when it is not public', async t => {
  const app = await appWith(t, {})
  const html = await app.inject({ url: '/docs', headers: { authorization: `Bearer ${TOKEN}` } })
  t.equal(html.statusCode, 200)
  t.same(directives(html.headers['content-security-policy']).get('script-src'), ["'self'"])
})
