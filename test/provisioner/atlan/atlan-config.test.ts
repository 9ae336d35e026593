import t from 'tap'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadConfig } from '../../../src/config.js'

const dir = mkdtempSync(join(tmpdir(), 'atlan-config-'))
t.teardown(() => { rmSync(dir, { recursive: true, force: true }) })

t.test('defaults as the issue names them', async t => {
  const atlan = loadConfig({}).handlers.atlan
  t.match(atlan, {
    url: undefined,
    auth: 'api_token',
    useWorkflows: true,
    rateLimitPerMinute: 400,
    pollIntervalMs: 10_000,
    pollTimeoutMs: 30 * 60_000,
    principalMapping: 'lookup'
  })
})

t.test('each auth mode names the variables it lacks; secrets come from _FILE too', async t => {
  t.throws(() => loadConfig({ ATLAN_URL: 'https://acme.atlan.com' }), /ATLAN_API_TOKEN \(or ATLAN_API_TOKEN_FILE\) is required/)
  t.throws(() => loadConfig({ ATLAN_URL: 'https://acme.atlan.com', ATLAN_AUTH: 'oauth_client' }), /ATLAN_CLIENT_ID is required[\s\S]*ATLAN_CLIENT_SECRET/)
  t.throws(() => loadConfig({ ATLAN_AUTH: 'jwt' }), /ATLAN_AUTH must be one of api_token, oauth_client/)
  const file = join(dir, 'token')
  writeFileSync(file, 'atlan-token-from-file-0123456789\n')
  t.equal(loadConfig({ ATLAN_URL: 'https://acme.atlan.com/', ATLAN_API_TOKEN_FILE: file }).handlers.atlan.apiToken, 'atlan-token-from-file-0123456789')
  t.equal(loadConfig({ ATLAN_URL: 'https://acme.atlan.com/', ATLAN_API_TOKEN_FILE: file }).handlers.atlan.url, 'https://acme.atlan.com')
  const secret = join(dir, 'secret')
  writeFileSync(secret, 'oauth-secret-0123456789')
  t.equal(loadConfig({ ATLAN_URL: 'https://a.atlan.com', ATLAN_AUTH: 'oauth_client', ATLAN_CLIENT_ID: 'c', ATLAN_CLIENT_SECRET_FILE: secret }).handlers.atlan.clientSecret, 'oauth-secret-0123456789')
})

t.test('numbers, switches and the principal table are checked at start-up', async t => {
  t.throws(() => loadConfig({ ATLAN_RATE_LIMIT_PER_MINUTE: '0' }), /ATLAN_RATE_LIMIT_PER_MINUTE must be an integer/)
  t.throws(() => loadConfig({ ATLAN_USE_WORKFLOWS: 'yes' }), /ATLAN_USE_WORKFLOWS must be true or false/)
  t.throws(() => loadConfig({ ATLAN_POLL_INTERVAL_MS: '5000', ATLAN_POLL_TIMEOUT_MS: '1000' }), /ATLAN_POLL_TIMEOUT_MS must be >= ATLAN_POLL_INTERVAL_MS/)
  t.throws(() => loadConfig({ ATLAN_PRINCIPAL_MAPPING: 'table' }), /ATLAN_PRINCIPAL_MAP_FILE is required/)
  const bad = join(dir, 'bad.yaml')
  writeFileSync(bad, 'users: [x]\n')
  t.throws(() => loadConfig({ ATLAN_PRINCIPAL_MAPPING: 'table', ATLAN_PRINCIPAL_MAP_FILE: bad }), /ATLAN_PRINCIPAL_MAP_FILE: users must be a mapping/)
  t.throws(() => loadConfig({ ATLAN_PRINCIPAL_MAPPING: 'table', ATLAN_PRINCIPAL_MAP_FILE: join(dir, 'missing.yaml') }), /cannot be read: ENOENT/)
  const good = join(dir, 'good.yaml')
  writeFileSync(good, 'users:\n  jane.doe_company.com: jdoe\n')
  t.equal(loadConfig({ ATLAN_PRINCIPAL_MAPPING: 'table', ATLAN_PRINCIPAL_MAP_FILE: good }).handlers.atlan.principalMapping, 'table')
  const all = loadConfig({ ATLAN_USE_WORKFLOWS: 'false', ATLAN_RATE_LIMIT_PER_MINUTE: '100', ATLAN_POLL_INTERVAL_MS: '500', ATLAN_POLL_TIMEOUT_MS: '60000' }).handlers.atlan
  t.match(all, { useWorkflows: false, rateLimitPerMinute: 100, pollIntervalMs: 500, pollTimeoutMs: 60_000 })
})
