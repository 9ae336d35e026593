import t from 'tap'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ConfigEnv } from '../../../src/config-env.js'
import { clusterBase, INCORTA_CREDENTIAL_VARIABLES, readIncortaConfig, tenantUiUrl, type IncortaConfig } from '../../../src/provisioner/incorta/incorta-config.js'
import { currentServiceCredentialValues, serviceCredentialsFrom } from '../../../src/secrets/service-credentials.js'

function read (env: Record<string, string>): { config: IncortaConfig, problems: string[] } {
  const r = new ConfigEnv(env)
  const config = readIncortaConfig(r)
  return { config, problems: r.problems }
}

t.test('defaults: no Incorta configured needs no credentials', async (t) => {
  const { config, problems } = read({})
  t.same(problems, [])
  t.equal(config.auth, 'pat')
  t.equal(config.pollIntervalMs, 15000)
  t.equal(config.url, undefined)
})

t.test('PAT from a _FILE, trailing newline dropped; both set is a problem', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'incorta-config-'))
  writeFileSync(join(dir, 'pat'), 'file-pat-value-123\n')
  const ok = read({ INCORTA_URL: 'https://cluster.example.com/', INCORTA_TENANT: 'demo', INCORTA_PAT_FILE: join(dir, 'pat') })
  t.same(ok.problems, [])
  t.equal(ok.config.pat, 'file-pat-value-123')
  t.equal(ok.config.url, 'https://cluster.example.com')
  t.match(read({ INCORTA_URL: 'https://x', INCORTA_PAT: 'a', INCORTA_PAT_FILE: join(dir, 'pat') }).problems, ['INCORTA_PAT and INCORTA_PAT_FILE are both set; set only one'])
  t.match(read({ INCORTA_URL: 'https://x', INCORTA_PAT_FILE: join(dir, 'missing') }).problems, [/INCORTA_PAT_FILE: cannot read .*ENOENT/])
})

t.test('every problem is named by its variable', async (t) => {
  t.match(read({ INCORTA_URL: 'https://x' }).problems, ['INCORTA_PAT (or INCORTA_PAT_FILE) is required when INCORTA_AUTH=pat'])
  t.match(read({ INCORTA_URL: 'https://x', INCORTA_AUTH: 'oidc' }).problems, [/^INCORTA_OIDC_TOKEN_URL is required/, /^INCORTA_OIDC_CLIENT_ID is required/, /^INCORTA_OIDC_CLIENT_SECRET .*is required for the client_credentials grant/])
  t.match(read({ INCORTA_URL: 'https://x', INCORTA_AUTH: 'oidc', INCORTA_OIDC_TOKEN_URL: 'https://kc/realms/r/protocol/openid-connect/token', INCORTA_OIDC_CLIENT_ID: 'c', INCORTA_OIDC_USERNAME: 'u' }).problems, [/^INCORTA_OIDC_PASSWORD .*with INCORTA_OIDC_USERNAME/])
  t.match(read({ INCORTA_AUTH: 'jwt' }).problems, [/INCORTA_AUTH must be one of pat, oidc/])
  t.match(read({ INCORTA_URL: 'ftp://x' }).problems, [/INCORTA_URL must be an http\(s\) URL/])
  t.match(read({ INCORTA_POLL_INTERVAL_MS: '0' }).problems, [/INCORTA_POLL_INTERVAL_MS must be an integer between 1/])
  t.match(read({ INCORTA_MAX_CONCURRENT_REQUESTS: 'many' }).problems, [/INCORTA_MAX_CONCURRENT_REQUESTS/])
  t.match(read({ INCORTA_REQUEST_TIMEOUT_MS: '5' }).problems, [/INCORTA_REQUEST_TIMEOUT_MS/])
  t.match(read({ INCORTA_TENANT: 'a/b' }).problems, [/INCORTA_TENANT/])
})

t.test('the cluster URL is tolerated with /incorta or /incorta/api/v2; the UI link names the tenant', async (t) => {
  for (const url of ['https://c.example.com', 'https://c.example.com/', 'https://c.example.com/incorta', 'https://c.example.com/incorta/api/v2/']) {
    t.equal(clusterBase(url), 'https://c.example.com', url)
  }
  t.equal(tenantUiUrl('https://c.example.com/incorta', 'Demo'), 'https://c.example.com/incorta/!Demo/')
})

t.test('INCORTA_PAT and INCORTA_PAT_FILE count as service credentials (scrubbed, never resolvable from a descriptor)', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'incorta-pat-'))
  writeFileSync(join(dir, 'pat'), 'pat-from-file-value\n')
  const creds = serviceCredentialsFrom({ INCORTA_PAT: 'pat-direct-value', INCORTA_PAT_FILE: join(dir, 'pat'), INCORTA_OIDC_PASSWORD: 'oidc-pw-value' }, INCORTA_CREDENTIAL_VARIABLES)
  const values = currentServiceCredentialValues(creds)
  for (const v of ['pat-direct-value', 'pat-from-file-value', 'oidc-pw-value']) t.ok(values.includes(v), v)
})
