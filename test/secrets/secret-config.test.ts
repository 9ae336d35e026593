import t from 'tap'
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadConfig } from '../../src/config.js'
import { ConfigError } from '../../src/errors.js'
import { currentServiceCredentialValues } from '../../src/secrets/service-credentials.js'

function layout (): { root: string, service: string, credential: string, descriptor: string } {
  const root = mkdtempSync(join(tmpdir(), 'secret-config-'))
  const service = join(root, 'run', 'secrets', 'service')
  const descriptor = join(root, 'etc', 'descriptor-secrets')
  mkdirSync(service, { recursive: true })
  mkdirSync(join(descriptor, 'finance'), { recursive: true })
  const credential = join(service, 'airbyte_client_secret')
  writeFileSync(credential, 'service-client-secret\n')
  return { root, service, credential, descriptor }
}

const airbyte = (credential: string): Record<string, string> => ({
  AIRBYTE_API_URL: 'http://airbyte:8000/api/public/v1', AIRBYTE_AUTH: 'client_credentials', AIRBYTE_CLIENT_ID: 'id', AIRBYTE_CLIENT_SECRET_FILE: credential
})

function configError (env: Record<string, string>): string {
  try {
    loadConfig(env)
  } catch (err) {
    if (err instanceof ConfigError) return err.message
    throw err
  }
  throw new Error('expected a ConfigError')
}

t.test('descriptor secrets and service credentials in separate directories start fine', async (t) => {
  const { credential, descriptor } = layout()
  const config = loadConfig({ ...airbyte(credential), DESCRIPTOR_SECRETS_DIR: descriptor, DESCRIPTOR_SECRET_FINANCE__X: 'finance-x-value' })
  t.equal(config.descriptorSecrets.dir, descriptor)
  t.same(config.descriptorSecrets.env, { DESCRIPTOR_SECRET_FINANCE__X: 'finance-x-value' })
  t.same(config.serviceCredentials.files, [{ variable: 'AIRBYTE_CLIENT_SECRET_FILE', path: credential, credential: true, list: false }])
  t.same(currentServiceCredentialValues(config.serviceCredentials), ['service-client-secret'], 'descriptor variables are not service credentials')
})

t.test('a descriptor secret directory that is, contains or sits inside a credential\'s directory is refused, naming both variables', async (t) => {
  const { root, service, credential } = layout()
  const inside = join(service, 'descriptor')
  mkdirSync(inside)
  for (const [what, dir] of [['the same directory', service], ['a parent of it', join(root, 'run')], ['the filesystem root', '/'], ['inside it', inside]]) {
    const message = configError({ ...airbyte(credential), DESCRIPTOR_SECRETS_DIR: dir as string })
    t.match(message, /DESCRIPTOR_SECRETS_DIR \(.*\) overlaps the directory of AIRBYTE_CLIENT_SECRET_FILE/, what as string)
  }
})

t.test('the overlap is found through a symlinked alias of the credential directory', async (t) => {
  const { root, service, credential } = layout()
  const alias = join(root, 'alias')
  symlinkSync(service, alias)
  t.match(configError({ ...airbyte(credential), DESCRIPTOR_SECRETS_DIR: alias }), /overlaps the directory of AIRBYTE_CLIENT_SECRET_FILE/)
})

t.test('any *_FILE credential counts, not only the Airbyte ones (later tokens files)', async (t) => {
  const { service, descriptor } = layout()
  writeFileSync(join(descriptor, 'tokens'), 'a-token\n')
  t.match(configError({ DESCRIPTOR_SECRETS_DIR: service, AUTH_BEARER_TOKENS_FILE: join(service, 'tokens') }), /overlaps the directory of AUTH_BEARER_TOKENS_FILE/)
  t.match(configError({ DESCRIPTOR_SECRETS_DIR: descriptor, INCORTA_TOKEN_FILE: join(descriptor, 'tokens') }), /overlaps the directory of INCORTA_TOKEN_FILE/)
})

t.test('SECRETS_DIR is refused with a message pointing to DESCRIPTOR_SECRETS_DIR and its layout', async (t) => {
  t.match(configError({ SECRETS_DIR: '/run/secrets' }), /SECRETS_DIR is no longer read: descriptor secrets live in DESCRIPTOR_SECRETS_DIR, laid out <domain>\/<name>/)
})

t.test('service credentials are every *_FILE file (whole and per line) and every credential-named variable', async (t) => {
  const { service } = layout()
  const tokens = join(service, 'tokens')
  writeFileSync(tokens, 'token-one\n# comment\ntoken-two\n')
  const bundle = join(service, 'ca.pem')
  writeFileSync(bundle, 'not-a-credential-line\n')
  const config = loadConfig({ AUTH_BEARER_TOKENS_FILE: tokens, ATLAN_API_KEY: 'atlan-key-value', AIRBYTE_PASSWORD: 'pw-value-1', DESCRIPTOR_SECRET_FINANCE__PASSWORD: 'not-a-service-one', SSL_CERT_FILE: bundle })
  const values = currentServiceCredentialValues(config.serviceCredentials)
  for (const v of ['token-one', 'token-two', 'atlan-key-value', 'pw-value-1']) t.ok(values.includes(v), v)
  t.notOk(values.includes('not-a-service-one'))
  t.notOk(values.includes('not-a-credential-line'), 'a *_FILE that is not credential-named only counts for the overlap check')
  writeFileSync(tokens, 'token-three\n')
  t.ok(currentServiceCredentialValues(config.serviceCredentials).includes('token-three'), 'a reloaded file is read again')
})
