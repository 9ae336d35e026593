import t from 'tap'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadConfig } from '../src/config.js'
import { ConfigError } from '../src/errors.js'

t.test('defaults: port 8093, role all, 7 days retention, no base path', async t => {
  const config = loadConfig({})
  t.equal(config.port, 8093)
  t.equal(config.role, 'all')
  t.equal(config.taskRetentionSeconds, 7 * 24 * 3600)
  t.equal(config.basePath, '')
  t.equal(config.handlers.airbyte.auth, 'none')
})

t.test('every bad variable is named, all at once', async t => {
  const err = t.throws(() => loadConfig({ PORT: '70000', ROLE: 'both', WORKER_CONCURRENCY: 'x', REDIS_URL: 'http://r', BASE_PATH: 'no-slash', DEFAULT_HANDLER: 'kafka' })) as unknown as ConfigError
  t.ok(err instanceof ConfigError)
  for (const name of ['PORT', 'ROLE', 'WORKER_CONCURRENCY', 'REDIS_URL', 'BASE_PATH', 'DEFAULT_HANDLER']) t.match(err.message, name)
})

t.test('auth mode requires its credentials when Airbyte is configured', async t => {
  t.throws(() => loadConfig({ AIRBYTE_API_URL: 'http://a/api/public/v1', AIRBYTE_AUTH: 'client_credentials', AIRBYTE_CLIENT_ID: 'id' }), /AIRBYTE_CLIENT_SECRET is required/)
  t.equal(loadConfig({ AIRBYTE_API_URL: 'http://a/api/public/v1/', AIRBYTE_AUTH: 'bearer', AIRBYTE_TOKEN: 't' }).handlers.airbyte.apiUrl, 'http://a/api/public/v1', 'trailing slash dropped')
})

t.test('secrets can come from <NAME>_FILE, and not from both', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'cfg-'))
  const file = join(dir, 'secret')
  writeFileSync(file, 's3cr3t\n')
  const config = loadConfig({ AIRBYTE_API_URL: 'http://a', AIRBYTE_AUTH: 'client_credentials', AIRBYTE_CLIENT_ID: 'id', AIRBYTE_CLIENT_SECRET_FILE: file })
  t.equal(config.handlers.airbyte.clientSecret, 's3cr3t', 'trailing newline dropped')
  t.throws(() => loadConfig({ AIRBYTE_CLIENT_SECRET: 'a', AIRBYTE_CLIENT_SECRET_FILE: file }), /both set/)
  const missing = t.throws(() => loadConfig({ AIRBYTE_PASSWORD_FILE: join(dir, 'nope') })) as unknown as Error
  t.match(missing.message, /AIRBYTE_PASSWORD_FILE: cannot read/)
  t.notMatch(missing.message, /s3cr3t/)
})

t.test('HANDLER_ROUTES adds routing rules', async t => {
  t.same(loadConfig({ HANDLER_ROUTES: 'urn:dmb:utm:my-ingest=airbyte' }).extraRoutes, { 'urn:dmb:utm:my-ingest': 'airbyte' })
  t.throws(() => loadConfig({ HANDLER_ROUTES: 'urn:x=nope' }), /HANDLER_ROUTES/)
})

t.test('request and header deadlines: 30 s and 10 s by default, headers never past the request', async t => {
  const defaults = loadConfig({})
  t.equal(defaults.requestTimeoutMs, 30_000)
  t.equal(defaults.headersTimeoutMs, 10_000)
  t.equal(loadConfig({ REQUEST_TIMEOUT_MS: '2000' }).headersTimeoutMs, 2000, 'the headers deadline follows a shorter request deadline')
  t.equal(loadConfig({ REQUEST_TIMEOUT_MS: '60000', HEADERS_TIMEOUT_MS: '5000' }).headersTimeoutMs, 5000)
  t.throws(() => loadConfig({ REQUEST_TIMEOUT_MS: '1000', HEADERS_TIMEOUT_MS: '2000' }), /HEADERS_TIMEOUT_MS must be <= REQUEST_TIMEOUT_MS/)
  t.throws(() => loadConfig({ REQUEST_TIMEOUT_MS: '0' }), /REQUEST_TIMEOUT_MS must be an integer between 50/, 'no way to switch the deadline off')
})

t.test('descriptor limits: documented defaults, each bad value named by its variable', async t => {
  const limits = loadConfig({}).descriptorLimits
  t.match(limits, { maxBytes: 1024 * 1024, maxNodes: 200_000, maxKeysPerMapping: 10_000, maxDepth: 64, parseTimeoutMs: 10_000, inlineMaxBytes: 8192 })
  t.ok(limits.parseThreads >= 1)
  t.equal(loadConfig({ MAX_DESCRIPTOR_BYTES: '2048' }).descriptorLimits.maxBytes, 2048, 'maxBytes is MAX_DESCRIPTOR_BYTES')
  const names = ['MAX_DESCRIPTOR_NODES', 'MAX_KEYS_PER_MAPPING', 'DESCRIPTOR_PARSE_TIMEOUT_MS', 'DESCRIPTOR_INLINE_MAX_BYTES', 'DESCRIPTOR_PARSE_THREADS']
  const err = t.throws(() => loadConfig(Object.fromEntries(names.map(n => [n, '-1'])))) as unknown as ConfigError
  for (const name of names) t.match(err.message, name)
})
