import t from 'tap'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { currentServiceCredentialValues, serviceCredentialsFrom } from '../../src/secrets/service-credentials.js'
import { SecretScrubber } from '../../src/secrets/secret-scrubber.js'
import { handlerModules } from '../../src/provisioner/handler-modules.js'

t.test('a variable a handler module declares as its credential counts whatever its name', async (t) => {
  const env = { ACME_LOGIN: 'acme-login-value', ACME_LOGIN_FILE: '/run/acme/login', ACME_URL: 'http://acme', OTHER_SECRET: 'other-value' }
  const plain = serviceCredentialsFrom(env)
  t.same(plain.values, ['other-value'], 'by name only, ACME_LOGIN is not a credential')
  const declared = serviceCredentialsFrom(env, ['ACME_LOGIN'])
  t.same(declared.values.sort(), ['acme-login-value', 'other-value'])
  t.same(declared.files, [{ variable: 'ACME_LOGIN_FILE', path: '/run/acme/login', credential: true, list: false }])
})

t.test('every handler module declares its credential variables', async (t) => {
  for (const module of handlerModules()) {
    t.ok(module.credentialVariables.length > 0, `${module.id} declares credentials`)
    const env = Object.fromEntries(module.credentialVariables.map((name) => [name, `${name.toLowerCase()}-value`]))
    t.same(serviceCredentialsFrom(env, module.credentialVariables).values.sort(), Object.values(env).sort(), `${module.id}: every one counts`)
  }
})

t.test('a tokens file of one line or many: only the tokens are credentials, the labels stay readable in logs', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tokens-'))
  t.teardown(() => { rmSync(dir, { recursive: true, force: true }) })
  const file = join(dir, 'tokens')
  for (const content of ['orchestrator tok-4f9a1c2e8b7d6a5f\n', 'orchestrator\ttok-4f9a1c2e8b7d6a5f', 'orchestrator tok-4f9a1c2e8b7d6a5f\nbackup tok-0e1d2c3b4a596877\n']) {
    writeFileSync(file, content)
    const values = currentServiceCredentialValues(serviceCredentialsFrom({ AUTH_BEARER_TOKENS_FILE: file }))
    t.ok(values.includes('tok-4f9a1c2e8b7d6a5f'), `the token counts (${JSON.stringify(content)})`)
    t.notOk(values.some(v => v.includes('orchestrator')), 'no value holds the label')
    const scrubber = new SecretScrubber()
    for (const v of values) scrubber.add(v)
    t.equal(scrubber.scrub('caller orchestrator asked'), 'caller orchestrator asked', 'the label is not masked')
    t.notMatch(scrubber.scrub('Bearer tok-4f9a1c2e8b7d6a5f'), /4f9a1c2e8b7d6a5f/, 'the token is')
  }
})

t.test('a one-line password file with spaces is one value', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'pw-'))
  t.teardown(() => { rmSync(dir, { recursive: true, force: true }) })
  const file = join(dir, 'pw')
  writeFileSync(file, 'correct horse battery staple\n')
  t.ok(currentServiceCredentialValues(serviceCredentialsFrom({ AIRBYTE_PASSWORD_FILE: file })).includes('correct horse battery staple'))
})
