import t from 'tap'
import { serviceCredentialsFrom } from '../../src/secrets/service-credentials.js'
import { handlerModules } from '../../src/provisioner/handler-modules.js'

t.test('a variable a handler module declares as its credential counts whatever its name', async (t) => {
  const env = { ACME_LOGIN: 'acme-login-value', ACME_LOGIN_FILE: '/run/acme/login', ACME_URL: 'http://acme', OTHER_SECRET: 'other-value' }
  const plain = serviceCredentialsFrom(env)
  t.same(plain.values, ['other-value'], 'by name only, ACME_LOGIN is not a credential')
  const declared = serviceCredentialsFrom(env, ['ACME_LOGIN'])
  t.same(declared.values.sort(), ['acme-login-value', 'other-value'])
  t.same(declared.files, [{ variable: 'ACME_LOGIN_FILE', path: '/run/acme/login', credential: true }])
})

t.test('every handler module declares its credential variables', async (t) => {
  for (const module of handlerModules()) {
    t.ok(module.credentialVariables.length > 0, `${module.id} declares credentials`)
    const env = Object.fromEntries(module.credentialVariables.map((name) => [name, `${name.toLowerCase()}-value`]))
    t.same(serviceCredentialsFrom(env, module.credentialVariables).values.sort(), Object.values(env).sort(), `${module.id}: every one counts`)
  }
})
