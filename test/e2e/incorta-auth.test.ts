import t from 'tap'
import { finished, incortaRequest, startIncortaStack, submit } from '../helpers/incorta-stack.js'

t.test('a rotated or expired personal access token fails the task quickly and says so', async (t) => {
  const { base, incorta } = await startIncortaStack(t)
  t.equal((await finished(t, base, await submit(t, base, '/v1/provision', incortaRequest({ schemaNames: ['sales'] })))).status, 'COMPLETED')
  const old = incorta.pat
  incorta.rotatePat(old)
  const before = incorta.requests.length
  const status = await finished(t, base, await submit(t, base, '/v1/provision', incortaRequest({ schemaNames: ['hr'] })))
  t.equal(status.status, 'FAILED')
  t.match(status.result, /Incorta refused the token .*401.*INCORTA_PAT.*invalid, expired or was rotated/)
  t.notMatch(JSON.stringify(status), old, 'the token is not quoted')
  t.ok(incorta.requests.length - before <= 2, 'refused once, re-tried once, no retry storm')
  t.notOk(status.logs.some((l: any) => /retry \d+\//.test(l.message)), 'a 401 is not retried by the engine')
})

t.test('an expired personal access token fails the task at once and says so', async (t) => {
  const { base, incorta } = await startIncortaStack(t)
  incorta.expirePat(incorta.pat)
  const status = await finished(t, base, await submit(t, base, '/v1/provision', incortaRequest({ loadPlanName: 'nightly' })))
  t.equal(status.status, 'FAILED')
  t.match(status.result, /Incorta refused the token .*invalid, expired or was rotated/)
  t.equal(incorta.model.tenant('demo').executions.size, 0, 'nothing started')
})

t.test('a user without "Enable Public API" fails the task naming the right', async (t) => {
  const { base, incorta } = await startIncortaStack(t, { env: { INCORTA_PAT: 'viewer-personal-token' } })
  incorta.addPat('viewer-personal-token', 'viewer')
  const status = await finished(t, base, await submit(t, base, '/v1/provision', incortaRequest({ loadPlanName: 'nightly' })))
  t.equal(status.status, 'FAILED')
  t.match(status.result, /"Enable Public API"/)
})

t.test('OIDC password grant: one login, refresh when Incorta refuses the token, full login when the refresh is refused', async (t) => {
  const { base, incorta } = await startIncortaStack(t, {
    env: {
      INCORTA_AUTH: 'oidc',
      INCORTA_PAT: '',
      INCORTA_OIDC_CLIENT_ID: 'incorta-client',
      INCORTA_OIDC_CLIENT_SECRET: 'incorta-secret',
      INCORTA_OIDC_USERNAME: 'loader',
      INCORTA_OIDC_PASSWORD: 'loader-password'
    },
    sim: {}
  })
  // The token URL is only known once the simulator listens.
  t.ok(incorta.tokenUrl.startsWith(incorta.url))
  const run = async (schema: string): Promise<any> => await finished(t, base, await submit(t, base, '/v1/provision', incortaRequest({ schemaNames: [schema] })))
  t.equal((await run('sales')).status, 'COMPLETED')
  t.same(incorta.oidc.calls, { client_credentials: 0, password: 1, refresh_token: 0 }, 'one login for the whole task')
  incorta.oidc.expireAccessTokens()
  t.equal((await run('hr')).status, 'COMPLETED')
  t.same(incorta.oidc.calls, { client_credentials: 0, password: 1, refresh_token: 1 }, 'renewed with the refresh token')
  incorta.oidc.expireAll()
  const status = await run('orders')
  t.equal(status.status, 'COMPLETED', status.result)
  t.same(incorta.oidc.calls, { client_credentials: 0, password: 2, refresh_token: 2 }, 'refresh refused (invalid_grant): a full login')
  t.notMatch(JSON.stringify(status), 'loader-password')
})

t.test('OIDC client_credentials, and a refused client named clearly', async (t) => {
  const env = { INCORTA_AUTH: 'oidc', INCORTA_PAT: '', INCORTA_OIDC_CLIENT_ID: 'incorta-client', INCORTA_OIDC_CLIENT_SECRET: 'incorta-secret' }
  const { base, incorta } = await startIncortaStack(t, { env })
  t.equal((await finished(t, base, await submit(t, base, '/v1/provision', incortaRequest({ schemaNames: ['sales'] })))).status, 'COMPLETED')
  t.equal(incorta.oidc.calls.client_credentials, 1)
  incorta.oidc.settings.clients['incorta-client'] = 'rotated-client-secret'
  incorta.oidc.expireAll()
  const status = await finished(t, base, await submit(t, base, '/v1/provision', incortaRequest({ schemaNames: ['hr'] })))
  t.equal(status.status, 'FAILED')
  t.match(status.result, /invalid_client.*INCORTA_OIDC_CLIENT_ID and INCORTA_OIDC_CLIENT_SECRET/)
  t.notMatch(JSON.stringify(status), 'incorta-secret')
})
