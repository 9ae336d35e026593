import t, { type Test } from 'tap'
import { mkdirSync, mkdtempSync, renameSync, symlinkSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomUUID } from 'node:crypto'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWTPayload } from 'jose'
import { buildApp } from '../../src/app.js'
import { loadConfig } from '../../src/config.js'
import { ConfigError } from '../../src/errors.js'
import { listOperations } from '../../src/openapi/openapi-spec.js'
import { checkReply } from '../../src/openapi/contract-check.js'
import { createHandlerRegistry } from '../../src/provisioner/handler-set.js'
import { createSecretStore } from '../../src/secrets/secret-store.js'
import { eventually, spawnService } from '../helpers/service-process.js'
import { startService } from '../../src/main.js'
import { deleteKeys, freePort, testRedis, uniquePrefix } from '../helpers/redis-server.js'

const redis = await testRedis()
const prefix = uniquePrefix('auth')
t.teardown(async () => { await deleteKeys(redis.url, prefix); await redis.stop() })

const TOKEN_A = 'orchestrator-token-aaaaaaaaaaaaaaaa'
const TOKEN_B = 'orchestrator-token-bbbbbbbbbbbbbbbb'

function tokensFile (content: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'tokens-')), 'tokens')
  writeFileSync(file, content)
  return file
}

async function appWith (t: Test, env: Record<string, string>): Promise<FastifyInstance> {
  const config = loadConfig({ LOAD_SHED_MAX_EVENT_LOOP_DELAY_MS: '0', REDIS_URL: redis.url, QUEUE_PREFIX: prefix, LOG_LEVEL: 'silent', ...env })
  const app = await buildApp({ config, registry: createHandlerRegistry(config), secrets: createSecretStore({}), logger: false })
  t.teardown(async () => { await app.close() })
  return app
}

const statusUrl = (): string => `/v1/provision/${randomUUID()}/status`
const get = async (app: FastifyInstance, url: string, authorization?: string): Promise<LightMyRequestResponse> =>
  await app.inject({ method: 'GET', url, headers: authorization === undefined ? {} : { authorization } })
/** An unknown token is a 400 from the status route itself: the request got past authentication. */
const reachedRoute = (res: LightMyRequestResponse): boolean => res.statusCode === 400 && res.json().inputErrorField === 'token'

function contractProblems (method: string, path: string, res: LightMyRequestResponse): string[] {
  return checkReply(method, path, res.statusCode, String(res.headers['content-type']), res.json())
}

t.test('bearer is the default mode: no authentication has to be chosen explicitly', async t => {
  t.equal(loadConfig({}).auth.mode, 'bearer')
  t.equal(loadConfig({ LOAD_SHED_MAX_EVENT_LOOP_DELAY_MS: '0', AUTH_MODE: 'none' }).auth.mode, 'none')
  t.throws(() => loadConfig({ LOAD_SHED_MAX_EVENT_LOOP_DELAY_MS: '0', AUTH_MODE: 'off' }), /AUTH_MODE must be one of bearer, jwt, none/)
})

t.test('bearer mode without a usable token refuses to start, naming AUTH_MODE and AUTH_BEARER_TOKENS_FILE', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'tokens-'))
  const cases: Array<[string, Record<string, string>, RegExp]> = [
    ['the variable is not set', {}, /not set/],
    ['the file does not exist', { AUTH_BEARER_TOKENS_FILE: join(dir, 'missing') }, /cannot be read .*ENOENT/],
    ['the file is a directory', { AUTH_BEARER_TOKENS_FILE: dir }, /cannot be read/],
    ['the file is empty', { AUTH_BEARER_TOKENS_FILE: tokensFile('') }, /holds no token/],
    ['the file holds only comments', { AUTH_BEARER_TOKENS_FILE: tokensFile('# nobody yet\n\n') }, /holds no token/],
    ['a token is too short', { AUTH_BEARER_TOKENS_FILE: tokensFile(`ok ${TOKEN_A}\nci short-secret\n`) }, /line 2: .*at least 16/]
  ]
  for (const [what, env, reason] of cases) {
    const err = await appWith(t, { AUTH_MODE: 'bearer', ...env }).then(() => undefined, (e: unknown) => e)
    t.ok(err instanceof ConfigError, `${what}: ConfigError`)
    const message = (err as Error).message
    t.match(message, /AUTH_MODE/, `${what}: names AUTH_MODE`)
    t.match(message, /AUTH_BEARER_TOKENS_FILE/, `${what}: names AUTH_BEARER_TOKENS_FILE`)
    t.match(message, reason, what)
    t.notMatch(message, /short-secret|orchestrator-token/, `${what}: no token in the message`)
  }
})

t.test('the process exits 1 with the message when bearer mode has no token; a worker-only process needs none', async t => {
  const env = { REDIS_URL: redis.url, QUEUE_PREFIX: prefix, LOG_LEVEL: 'silent', PORT: '0', METRICS_PORT: '0', HOST: '127.0.0.1', AUTH_MODE: 'bearer', AUTH_BEARER_TOKENS_FILE: '' }
  const service = spawnService({ ...env, ROLE: 'api' })
  t.equal(await service.exited, 1)
  t.match(service.output(), /AUTH_MODE=bearer: AUTH_BEARER_TOKENS_FILE is not set/)
  const worker = await startService(loadConfig({ LOAD_SHED_MAX_EVENT_LOOP_DELAY_MS: '0', ...env, ROLE: 'worker' }))
  t.equal(worker.app, undefined)
  await worker.close()
})

t.test('bearer mode', async t => {
  const app = await appWith(t, { AUTH_BEARER_TOKENS_FILE: tokensFile(`# callers\norchestrator ${TOKEN_A}\n`) })

  t.test('every protected operation answers 401 with a Bearer challenge in the contract shape', async t => {
    const operations = listOperations().filter(op => !op.path.startsWith('/health/'))
    t.equal(operations.length, 15)
    for (const op of operations) {
      const path = op.path.replace('{token}', randomUUID())
      const res = await app.inject({ method: op.method as 'GET' | 'POST', url: path, ...(op.method === 'POST' ? { payload: {} } : {}) })
      t.equal(res.statusCode, 401, `${op.operationId}: 401`)
      t.equal(res.headers['www-authenticate'], 'Bearer realm="tech-adapter"', `${op.operationId}: challenge without an error code when no credential was sent`)
      t.same(contractProblems(op.method, path, res), [], `${op.operationId}: contract shape`)
    }
  })

  t.test('a wrong token is invalid_token, a malformed header invalid_request, and neither is echoed', async t => {
    for (const [authorization, error] of [
      [`Bearer ${TOKEN_B}`, 'invalid_token'],
      [`Bearer ${TOKEN_A}x`, 'invalid_token'],
      [`Bearer ${TOKEN_A.slice(0, -1)}`, 'invalid_token'],
      [`Basic ${Buffer.from(`user:${TOKEN_A}`).toString('base64')}`, 'invalid_request'],
      [`Bearer ${TOKEN_A} extra`, 'invalid_request'],
      ['Bearer', 'invalid_request'],
      [TOKEN_A, 'invalid_request']
    ] as const) {
      const url = statusUrl()
      const res = await get(app, url, authorization)
      t.equal(res.statusCode, 401, authorization)
      t.equal(res.headers['www-authenticate'], `Bearer realm="tech-adapter", error="${error}"`)
      t.same(contractProblems('GET', url, res), [])
      t.notMatch(res.body, /orchestrator-token/, 'the presented token is not in the reply')
    }
  })

  t.test('an accepted token reaches the route, whatever the case of the scheme', async t => {
    t.ok(reachedRoute(await get(app, statusUrl(), `Bearer ${TOKEN_A}`)))
    t.ok(reachedRoute(await get(app, statusUrl(), `bearer ${TOKEN_A}`)))
    const res = await app.inject({ method: 'POST', url: '/v1/validate', headers: { authorization: `BEARER  ${TOKEN_A}` }, payload: { descriptorKind: 'COMPONENT_DESCRIPTOR', descriptor: 'x: 1' } })
    t.equal(res.statusCode, 200)
    t.equal(res.json().valid, false)
  })

  t.test('health probes need no credentials', async t => {
    t.equal((await get(app, '/health/live')).statusCode, 200)
    t.equal((await get(app, '/health/ready')).statusCode, 200)
    t.equal((await app.inject({ method: 'HEAD', url: '/health/live' })).statusCode, 200)
    t.equal((await get(app, '/health/live', 'Bearer wrong-wrong-wrong-wrong')).statusCode, 200, 'a bad credential on a probe is ignored')
  })

  t.test('no spelling of a path reaches a protected route through the health exemption', async t => {
    for (const url of ['/health/live/../../v1/provision/x/status', '/health/%2e%2e/v1/provision/x/status', '//health/live', '/health/', '/health/nope', '/HEALTH/LIVE/../../v1/validate']) {
      t.equal((await get(app, url)).statusCode, 401, url)
    }
  })

  t.test('unknown routes are refused before they are looked up', async t => {
    t.equal((await get(app, '/admin')).statusCode, 401)
    t.equal((await get(app, '/admin', `Bearer ${TOKEN_A}`)).statusCode, 404)
  })

  t.test('/docs and its JSON and assets need a token', async t => {
    for (const url of ['/docs', '/docs/', '/docs/json', '/docs/yaml', '/docs/static/index.css', '/docs/static/swagger-ui-bundle.js']) {
      const res = await get(app, url)
      t.equal(res.statusCode, 401, `${url} without a token`)
      t.match(res.headers['www-authenticate'], /^Bearer realm=/)
      const ok = await get(app, url, `Bearer ${TOKEN_A}`)
      t.equal(ok.statusCode, 200, `${url} with a token`)
    }
  })
})

t.test('with BASE_PATH, every protected operation still needs a token and the probes stay open', async t => {
  const app = await appWith(t, { BASE_PATH: '/datamesh.airbytespecificprovisioner/1.0', AUTH_BEARER_TOKENS_FILE: tokensFile(`${TOKEN_A}\n`) })
  for (const op of listOperations()) {
    const path = op.path.replace('{token}', randomUUID())
    const res = await app.inject({ method: op.method as 'GET' | 'POST', url: `/datamesh.airbytespecificprovisioner/1.0${path}`, ...(op.method === 'POST' ? { payload: {} } : {}) })
    t.equal(res.statusCode, op.path.startsWith('/health/') ? 200 : 401, op.operationId)
  }
  t.equal((await get(app, '/datamesh.airbytespecificprovisioner/1.0/docs/json')).statusCode, 401)
})

t.test('DOCS_PUBLIC=true opens /docs and nothing else', async t => {
  const app = await appWith(t, { DOCS_PUBLIC: 'true', AUTH_BEARER_TOKENS_FILE: tokensFile(`${TOKEN_A}\n`) })
  for (const url of ['/docs', '/docs/json', '/docs/static/swagger-ui.css']) t.equal((await get(app, url)).statusCode, 200, url)
  t.equal((await get(app, statusUrl())).statusCode, 401)
  t.equal((await get(app, '/docsx')).statusCode, 401)
  t.throws(() => loadConfig({ LOAD_SHED_MAX_EVENT_LOOP_DELAY_MS: '0', DOCS_PUBLIC: 'yes' }), /DOCS_PUBLIC must be true or false/)
})

t.test('AUTH_MODE=none, chosen explicitly, lets every caller in', async t => {
  const app = await appWith(t, { AUTH_MODE: 'none' })
  t.ok(reachedRoute(await get(app, statusUrl())))
  t.equal((await get(app, '/docs/json')).statusCode, 200)
})

t.test('the tokens file is reloaded when it changes', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'tokens-'))
  const file = join(dir, 'tokens')
  writeFileSync(file, `orchestrator ${TOKEN_A}\n`)
  // A long period: the change must be seen through the directory watcher.
  const app = await appWith(t, { AUTH_BEARER_TOKENS_FILE: file, AUTH_BEARER_TOKENS_RELOAD_MS: '600000' })
  t.ok(reachedRoute(await get(app, statusUrl(), `Bearer ${TOKEN_A}`)))

  writeFileSync(file, `orchestrator ${TOKEN_B}\n`)
  await eventually('the new token is accepted', async () => reachedRoute(await get(app, statusUrl(), `Bearer ${TOKEN_B}`)))
  t.equal((await get(app, statusUrl(), `Bearer ${TOKEN_A}`)).statusCode, 401, 'the removed token is refused')

  // An atomic replace (write elsewhere, rename over): the file gets a new inode.
  writeFileSync(join(dir, 'tokens.tmp'), `orchestrator ${TOKEN_A}\n`)
  renameSync(join(dir, 'tokens.tmp'), file)
  await eventually('the token of the replaced file is accepted', async () => reachedRoute(await get(app, statusUrl(), `Bearer ${TOKEN_A}`)))
  t.equal((await get(app, statusUrl(), `Bearer ${TOKEN_B}`)).statusCode, 401)
})

t.test('a Kubernetes secret update (a ..data symlink swap) is picked up', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'k8s-secret-'))
  mkdirSync(join(dir, '..2026_01'))
  writeFileSync(join(dir, '..2026_01', 'tokens'), `orchestrator ${TOKEN_A}\n`)
  symlinkSync('..2026_01', join(dir, '..data'))
  symlinkSync('..data/tokens', join(dir, 'tokens'))
  const app = await appWith(t, { AUTH_BEARER_TOKENS_FILE: join(dir, 'tokens'), AUTH_BEARER_TOKENS_RELOAD_MS: '200' })
  t.ok(reachedRoute(await get(app, statusUrl(), `Bearer ${TOKEN_A}`)))

  mkdirSync(join(dir, '..2026_02'))
  writeFileSync(join(dir, '..2026_02', 'tokens'), `orchestrator ${TOKEN_B}\n`)
  symlinkSync('..2026_02', join(dir, '..data_tmp'))
  renameSync(join(dir, '..data_tmp'), join(dir, '..data'))
  await eventually('the swapped-in token is accepted', async () => reachedRoute(await get(app, statusUrl(), `Bearer ${TOKEN_B}`)))
  t.equal((await get(app, statusUrl(), `Bearer ${TOKEN_A}`)).statusCode, 401)
})

// ------------------------------------------------------------------ jwt

interface Issuer { url: string, server: Server, key: CryptoKey }

async function startIssuer (t: Test): Promise<Issuer> {
  const { publicKey, privateKey } = await generateKeyPair('RS256')
  const jwks = { keys: [{ ...(await exportJWK(publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' }] }
  const server = createServer((req, res) => {
    res.writeHead(req.url === '/jwks.json' ? 200 : 404, { 'content-type': 'application/json' }).end(JSON.stringify(jwks))
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  t.teardown(async () => { await new Promise(resolve => server.close(resolve)) })
  const address = server.address() as { port: number }
  return { url: `http://127.0.0.1:${address.port}/jwks.json`, server, key: privateKey }
}

const ISSUER = 'https://idp.example.com/realms/data-mesh'
const AUDIENCE = 'tech-adapter'

async function jwt (key: CryptoKey, claims: JWTPayload = {}, opts: { alg?: string, kid?: string, exp?: number | string, iss?: string, aud?: string, sub?: string | null } = {}): Promise<string> {
  const builder = new SignJWT({ scope: 'openid provision', ...claims })
    .setProtectedHeader({ alg: opts.alg ?? 'RS256', kid: opts.kid ?? 'k1' })
    .setIssuer(opts.iss ?? ISSUER)
    .setAudience(opts.aud ?? AUDIENCE)
    .setIssuedAt()
    .setExpirationTime(opts.exp ?? '5m')
  if (opts.sub !== null) builder.setSubject(opts.sub ?? 'svc-witboost-coordinator')
  return await builder.sign(key)
}

t.test('jwt mode needs its issuer, audience and JWKS URL', async t => {
  const err = t.throws(() => loadConfig({ LOAD_SHED_MAX_EVENT_LOOP_DELAY_MS: '0', AUTH_MODE: 'jwt' })) as unknown as Error
  for (const name of ['AUTH_JWT_JWKS_URL', 'AUTH_JWT_ISSUER', 'AUTH_JWT_AUDIENCE']) t.match(err.message, name)
  t.throws(() => loadConfig({ LOAD_SHED_MAX_EVENT_LOOP_DELAY_MS: '0', AUTH_MODE: 'jwt', AUTH_JWT_JWKS_URL: 'http://x/jwks', AUTH_JWT_ISSUER: 'i', AUTH_JWT_AUDIENCE: 'a', AUTH_JWT_ALGORITHMS: 'RS256,HS256' }), /AUTH_JWT_ALGORITHMS/)
})

t.test('jwt mode', async t => {
  const issuer = await startIssuer(t)
  const env = { AUTH_MODE: 'jwt', AUTH_JWT_JWKS_URL: issuer.url, AUTH_JWT_ISSUER: ISSUER, AUTH_JWT_AUDIENCE: `other-service,${AUDIENCE}` }
  const app = await appWith(t, env)
  const scoped = await appWith(t, { ...env, AUTH_JWT_REQUIRED_SCOPE: 'provision' })

  t.test('a valid token of the issuer reaches the route', async t => {
    t.ok(reachedRoute(await get(app, statusUrl(), `Bearer ${await jwt(issuer.key)}`)))
    t.ok(reachedRoute(await get(scoped, statusUrl(), `Bearer ${await jwt(issuer.key)}`)), 'with the required scope')
    t.ok(reachedRoute(await get(scoped, statusUrl(), `Bearer ${await jwt(issuer.key, { scope: undefined, scp: ['provision'] })}`)), 'scp as an array')
    t.ok(reachedRoute(await get(app, statusUrl(), `Bearer ${await jwt(issuer.key, {}, { exp: Math.floor(Date.now() / 1000) - 10 })}`)), 'expired within the clock tolerance')
  })

  t.test('refused tokens are 401 invalid_token in the contract shape', async t => {
    const { privateKey: stranger } = await generateKeyPair('RS256')
    const hmac = new TextEncoder().encode('a-shared-secret-of-at-least-32-bytes!!')
    const cases: Array<[string, string, RegExp]> = [
      ['expired', await jwt(issuer.key, {}, { exp: Math.floor(Date.now() / 1000) - 120 }), /expired/],
      ['signed by another key under the same kid', await jwt(stranger), /signature/],
      ['signed by a key the JWKS does not have', await jwt(stranger, {}, { kid: 'k2' }), /not signed by a key/],
      ['for another issuer', await jwt(issuer.key, {}, { iss: 'https://evil.example.com' }), /"iss"/],
      ['for another audience', await jwt(issuer.key, {}, { aud: 'billing' }), /"aud"/],
      ['HMAC-signed', await new SignJWT({ sub: 'x' }).setProtectedHeader({ alg: 'HS256', kid: 'k1' }).setIssuer(ISSUER).setAudience(AUDIENCE).setExpirationTime('5m').sign(hmac), /algorithm/],
      ['without a subject', await jwt(issuer.key, {}, { sub: null }), /sub/],
      ['not a JWT at all', 'not.a.jwt', /not a valid signed JWT/]
    ]
    for (const [what, token, reason] of cases) {
      const url = statusUrl()
      const res = await get(app, url, `Bearer ${token}`)
      t.equal(res.statusCode, 401, what)
      t.equal(res.headers['www-authenticate'], 'Bearer realm="tech-adapter", error="invalid_token"', what)
      t.match(res.json().userMessage, reason, what)
      t.same(contractProblems('GET', url, res), [], `${what}: contract shape`)
      t.notMatch(res.body, token.split('.')[2] ?? token, `${what}: the token is not echoed`)
    }
  })

  t.test('a token without the required scope is 403 insufficient_scope', async t => {
    const url = statusUrl()
    const res = await get(scoped, url, `Bearer ${await jwt(issuer.key, { scope: 'openid read' })}`)
    t.equal(res.statusCode, 403)
    t.equal(res.headers['www-authenticate'], 'Bearer realm="tech-adapter", error="insufficient_scope", scope="provision"')
    t.match(res.json().userMessage, /scope "provision"/)
    t.same(contractProblems('GET', url, res), [])
  })

  t.test('no token is a 401 without an error code', async t => {
    const res = await get(app, statusUrl())
    t.equal(res.statusCode, 401)
    t.equal(res.headers['www-authenticate'], 'Bearer realm="tech-adapter"')
  })
})

t.test('an unreachable JWKS endpoint is the service\'s 503, not the caller\'s 401', async t => {
  const issuer = await startIssuer(t)
  const closed = `http://127.0.0.1:${await freePort()}/jwks.json`
  const app = await appWith(t, { AUTH_MODE: 'jwt', AUTH_JWT_JWKS_URL: closed, AUTH_JWT_ISSUER: ISSUER, AUTH_JWT_AUDIENCE: AUDIENCE })
  const url = statusUrl()
  const res = await get(app, url, `Bearer ${await jwt(issuer.key)}`)
  t.equal(res.statusCode, 503)
  t.ok(res.headers['retry-after'])
  t.match(res.json().userMessage, /JWKS/)
  t.same(contractProblems('GET', url, res), [])
})
