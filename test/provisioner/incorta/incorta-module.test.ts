import t from 'tap'
import { loadConfig } from '../../../src/config.js'
import { ConfigError } from '../../../src/errors.js'
import { createHandlerRegistry } from '../../../src/provisioner/handler-set.js'
import { incortaModule } from '../../../src/provisioner/incorta/incorta-module.js'
import { currentServiceCredentialValues } from '../../../src/secrets/service-credentials.js'

const env = { INCORTA_URL: 'https://cluster.example.com', INCORTA_TENANT: 'demo', INCORTA_PAT: 'module-test-pat-value', INCORTA_MAX_CONCURRENT_REQUESTS: '3', INCORTA_REQUEST_TIMEOUT_MS: '7000' }

t.test('the service config carries the INCORTA_* section under handlers.incorta', async (t) => {
  const config = loadConfig(env)
  t.match(config.handlers.incorta, { url: 'https://cluster.example.com', tenant: 'demo', auth: 'pat', pollIntervalMs: 15000, maxConcurrentRequests: 3 })
  t.same(incortaModule.outboundLimits(config.handlers.incorta), { maxConcurrent: 3, leaseMs: 12_000 }, 'one shared limit across workers, its lease longer than a request')
})

t.test('start-up names every INCORTA_* problem', async (t) => {
  let message = ''
  try {
    loadConfig({ INCORTA_URL: 'https://c', INCORTA_AUTH: 'oidc', INCORTA_POLL_INTERVAL_MS: 'soon' })
  } catch (err) {
    t.type(err, ConfigError)
    message = (err as Error).message
  }
  for (const name of [/INCORTA_POLL_INTERVAL_MS must be an integer/, /INCORTA_OIDC_TOKEN_URL is required/, /INCORTA_OIDC_CLIENT_ID is required/]) t.match(message, name)
})

t.test('the Incorta credentials are service credentials, whatever their names', async (t) => {
  const config = loadConfig({ ...env, INCORTA_AUTH: 'oidc', INCORTA_OIDC_TOKEN_URL: 'https://kc/realms/r/protocol/openid-connect/token', INCORTA_OIDC_CLIENT_ID: 'c', INCORTA_OIDC_CLIENT_SECRET: 'module-client-secret' })
  const values = currentServiceCredentialValues(config.serviceCredentials)
  t.ok(values.includes('module-test-pat-value'))
  t.ok(values.includes('module-client-secret'))
})

t.test('the registry routes incorta-load components to the Incorta handler without calling Incorta', async (t) => {
  const registry = createHandlerRegistry(loadConfig(env), { fetch: async () => { throw new Error('no call at build time') } })
  t.equal(registry.handlerFor('urn:dmb:utm:incorta-load:0.0.0')?.id, 'incorta')
  t.equal(registry.handlerFor('urn:dmb:utm:incorta-load')?.id, 'incorta')
  t.equal(registry.handlerFor('urn:dmb:utm:incorta-loader:0.0.0'), undefined)
})
