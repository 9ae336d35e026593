/**
 * The HTTP layer under hostile or sloppy callers: no type coercion, every error in the contract's shape with its
 * own status (Fastify's and Node's own included), slow clients cut off, tokens of one format and one kind per
 * status route, and updateacl refusing bad identities and components this adapter never provisioned.
 * The socket-level cases listen on port 0 and talk raw HTTP, which fetch cannot express.
 */
import t, { type Test } from 'tap'
import { randomUUID } from 'node:crypto'
import { connect } from 'node:net'
import { Redis } from 'ioredis'
import fc from 'fast-check'
import type { FastifyInstance } from 'fastify'
import { buildApp } from '../../src/app.js'
import { loadConfig } from '../../src/config.js'
import { createHandlerRegistry } from '../../src/provisioner/handler-set.js'
import { createSecretStore } from '../../src/secrets/secret-store.js'
import { checkReply } from '../../src/openapi/contract-check.js'
import { listOperations, routeSchema } from '../../src/openapi/openapi-spec.js'
import { isTaskToken, TaskStore } from '../../src/queue/task-store.js'
import { ProvisionedRegistry } from '../../src/queue/provisioned-registry.js'
import { RedisKeys } from '../../src/queue/redis-keys.js'
import { airbyteRequest } from '../helpers/stack.js'
import { deleteKeys, testRedis, uniquePrefix } from '../helpers/redis-server.js'

// The caller checks have tests of their own (test/plugins): here every request must reach the routes, and a busy
// machine's event loop must not shed one with a 503.
const UNGUARDED = { AUTH_MODE: 'none', RATE_LIMIT_MAX: '0', LOAD_SHED_MAX_EVENT_LOOP_DELAY_MS: '0' }

const redisServer = await testRedis()
const prefix = uniquePrefix('http-hardening')
const redis = new Redis(redisServer.url)
t.teardown(async () => { redis.disconnect(); await deleteKeys(redisServer.url, prefix); await redisServer.stop() })

const SECRETS = { DESCRIPTOR_SECRET_FINANCE__ORDERS_DB_PASSWORD: 'hardening-db-password-1', DESCRIPTOR_SECRET_FINANCE__SNOWFLAKE_PASSWORD: 'hardening-wh-password-2' }

async function appWith (env: Record<string, string> = {}): Promise<FastifyInstance> {
  const config = loadConfig({ REDIS_URL: redisServer.url, QUEUE_PREFIX: prefix, LOG_LEVEL: 'silent', ...UNGUARDED, AIRBYTE_WORKSPACE_ID: '00000000-0000-4000-8000-000000000001', ...env })
  const app = await buildApp({ config, registry: createHandlerRegistry(config), secrets: createSecretStore({ env: SECRETS }), logger: false })
  t.teardown(async () => { await app.close() })
  await app.ready()
  return app
}

interface Reply { status: number, headers: Record<string, unknown>, body: any }

/** Injects and checks the reply against openapi.yaml: every test below runs through the contract judge. */
async function call (t: Test, app: FastifyInstance, method: string, url: string, payload?: unknown, headers: Record<string, string> = {}): Promise<Reply> {
  const res = await app.inject({ method: method as never, url, payload: payload as never, headers })
  const contentType = res.headers['content-type'] as string | undefined
  const body = contentType?.startsWith('application/json') === true ? res.json() : res.body
  t.same(checkReply(method, url.split('?')[0] ?? url, res.statusCode, contentType, body), [], `${method} ${url.slice(0, 80)} ${res.statusCode} follows the contract`)
  return { status: res.statusCode, headers: res.headers, body }
}

const app = await appWith()
const keys = new RedisKeys(prefix)
const registry = new ProvisionedRegistry(redis, keys)
const store = new TaskStore(redis, keys, 60)

/** The job BullMQ holds for a token: what a worker would run. */
async function jobData (token: string): Promise<any> {
  const raw = await redis.hget(keys.bullJob(token), 'data')
  return raw === null ? undefined : JSON.parse(raw)
}

t.test('removeData is honoured only as the JSON boolean true; every other shape is a 400 naming it', async t => {
  for (const route of ['/v1/unprovision', '/unprovision', '/v1/provision']) {
    for (const value of ['true', 'True', 1, 0, 'false', null, [], [true], {}, 'yes', '']) {
      const res = await call(t, app, 'POST', route, airbyteRequest('flags', () => {}, { removeData: value }))
      t.equal(res.status, 400, `${route} removeData ${JSON.stringify(value)}`)
      t.equal(res.body.inputErrorField, 'removeData')
      t.match(res.body.userMessage, /removeData: must be boolean/)
    }
  }
  const destructive = await call(t, app, 'POST', '/v1/unprovision', airbyteRequest('flags-true', () => {}, { removeData: true }))
  t.equal(destructive.status, 202)
  t.equal((await jobData(destructive.body)).removeData, true, 'the JSON boolean true reaches the job')
  const omitted = await call(t, app, 'POST', '/v1/unprovision', airbyteRequest('flags-omitted'))
  t.equal(omitted.status, 202)
  t.equal((await jobData(omitted.body)).removeData, false, 'a missing removeData reads false')
})

t.test('no field of any body is coerced: a wrong type is a 400 naming the field', async t => {
  const descriptor = airbyteRequest('types').descriptor as string
  const cases: Array<[string, unknown, string]> = [
    ['/v1/provision', { descriptorKind: ['COMPONENT_DESCRIPTOR'], descriptor }, 'descriptorKind'],
    ['/provision', { descriptorKind: 7, descriptor }, 'descriptorKind'],
    ['/v1/provision', { descriptorKind: 'COMPONENT_DESCRIPTOR', descriptor: 12 }, 'descriptor'],
    ['/v1/provision', { descriptorKind: 'COMPONENT_DESCRIPTOR', descriptor: [descriptor] }, 'descriptor'],
    ['/v1/unprovision', { descriptorKind: 'COMPONENT_DESCRIPTOR', descriptor, latestEnrichedDescriptor: 5 }, 'latestEnrichedDescriptor'],
    ['/v1/updateacl', { refs: 'user:alice', provisionInfo: { request: descriptor, result: '' } }, 'refs'],
    ['/v1/updateacl', { refs: [], provisionInfo: { request: 5, result: '' } }, 'provisionInfo.request'],
    ['/updateacl', { acl: { users: 'alice' }, provisionInfo: { request: descriptor, result: '' } }, 'acl.users'],
    ['/v1/reverse-provisioning', { useCaseTemplateId: 5, environment: 'development' }, 'useCaseTemplateId'],
    ['/v1/reverse-provisioning', { useCaseTemplateId: 'urn:dmb:utm:airbyte-standard:0.0.0', environment: true }, 'environment'],
    ['/v1/reverse-provisioning', { useCaseTemplateId: 'urn:dmb:utm:airbyte-standard:0.0.0', environment: 'development', params: 'x' }, 'params'],
    ['/v1/validate', { descriptorKind: 'COMPONENT_DESCRIPTOR', descriptor, removeData: 'false' }, 'removeData']
  ]
  for (const [route, body, field] of cases) {
    const res = await call(t, app, 'POST', route, body)
    t.equal(res.status, 400, `${route} ${JSON.stringify(body).slice(0, 80)}`)
    t.equal(res.body.inputErrorField, field, `${route} names ${field}`)
  }
})

t.test('the validate routes answer a wrongly typed descriptorKind or descriptor with valid:false naming it', async t => {
  const descriptor = airbyteRequest('validate-types').descriptor as string
  for (const route of ['/v1/validate', '/validate']) {
    for (const [body, field] of [
      [{ descriptorKind: ['COMPONENT_DESCRIPTOR'], descriptor }, 'descriptorKind'],
      [{ descriptorKind: 'COMPONENT_DESCRIPTOR', descriptor: { dataProduct: {} } }, 'descriptor'],
      [{ descriptorKind: 'COMPONENT_DESCRIPTOR', descriptor: 42 }, 'descriptor']
    ] as const) {
      const res = await call(t, app, 'POST', route, body)
      t.equal(res.status, 200, route)
      t.equal(res.body.valid, false)
      t.match(res.body.error.errors[0], new RegExp(`^${field}: `), `${route} names ${field}`)
    }
    const good = await call(t, app, 'POST', route, airbyteRequest('validate-types'))
    t.same(good.body, { valid: true }, 'the same descriptor with the right types is valid')
  }
})

t.test('Fastify\'s own errors keep their status and the contract shape', async t => {
  const big = await call(t, app, 'POST', '/v1/provision', { descriptorKind: 'COMPONENT_DESCRIPTOR', descriptor: 'x'.repeat(5 * 1024 * 1024) })
  t.equal(big.status, 413, 'body too large is 413, not 400')
  t.match(big.body.moreInfo.solutions[0], /MAX_DESCRIPTOR_BYTES/)
  const xml = await call(t, app, 'POST', '/v1/provision', '<descriptor/>', { 'content-type': 'application/xml' })
  t.equal(xml.status, 415, 'an unsupported media type is 415')
  const malformed = await call(t, app, 'POST', '/v1/provision', '{"descriptorKind": ', { 'content-type': 'application/json' })
  t.equal(malformed.status, 400, 'malformed JSON is 400')
  const empty = await call(t, app, 'POST', '/v1/validate', '', { 'content-type': 'application/json' })
  t.equal(empty.status, 400, 'an empty JSON body is 400')
  const pollution = await call(t, app, 'POST', '/v1/provision', '{"descriptorKind":"COMPONENT_DESCRIPTOR","__proto__":{"removeData":true}}', { 'content-type': 'application/json' })
  t.equal(pollution.status, 400, 'a __proto__ key is refused')
  const notAnObject = await call(t, app, 'POST', '/v1/validate', '"just a string"', { 'content-type': 'application/json' })
  t.equal(notAnObject.status, 400)
  t.match(notAnObject.body.userMessage, /the request body must be object, not a string/)
})

t.test('an unknown route is a 404 and a known path under another method a 405 with Allow', async t => {
  for (const url of ['/nothing-here', '/v3/provision', '/v1/provision/extra/segments/here']) {
    const res = await call(t, app, 'GET', url)
    t.equal(res.status, 404, url)
    t.match(res.body.userMessage, /no route GET/)
  }
  const missingDoc = await app.inject({ url: '/docs/static/no-such-file.js' })
  t.equal(missingDoc.statusCode, 404, 'a route of the method that finds nothing is a 404, not a 405')
  t.match(missingDoc.json(), { userMessage: /nothing found at GET/, moreInfo: { problems: [/nothing found/] } })
  const postDocs = await app.inject({ method: 'POST', url: '/docs/json' })
  t.equal(postDocs.statusCode, 405)
  t.equal(postDocs.headers.allow, 'GET, HEAD', 'the docs routes count too')
  const token = randomUUID()
  const byPath = new Map<string, Set<string>>()
  for (const op of listOperations()) {
    const methods = byPath.get(op.path) ?? new Set<string>()
    methods.add(op.method)
    if (op.method === 'GET') methods.add('HEAD')
    byPath.set(op.path, methods)
  }
  for (const [template, methods] of byPath) {
    const url = template.replace('{token}', token)
    for (const method of ['GET', 'POST', 'PUT', 'DELETE', 'PATCH'].filter(m => !methods.has(m))) {
      const res = await call(t, app, method, url, method === 'GET' ? undefined : {})
      t.equal(res.status, 405, `${method} ${template}`)
      t.equal(res.headers.allow, [...methods].sort().join(', '), `${method} ${template}: Allow lists what the path serves`)
    }
  }
})

t.test('a crafted token never reaches Redis as a key of another type', async t => {
  const accepted = await call(t, app, 'POST', '/v1/provision', airbyteRequest('crafted'))
  t.equal(accepted.status, 202)
  const token = accepted.body as string
  t.ok(isTaskToken(token), 'issued tokens have the one format')
  t.equal(await redis.type(keys.taskLogs(token)), 'list', 'the logs key the crafted token aims at exists')
  for (const crafted of [`${token}:logs`, `${token}%3Alogs`, token.toUpperCase(), `${token} `, `../${token}`, `${token}:logs:x`, '*', 'nope']) {
    for (const route of ['/v1/provision', '/provision', '/v2/validate', '/v1/reverse-provisioning']) {
      const res = await call(t, app, 'GET', `${route}/${encodeURIComponent(crafted).replaceAll('%25', '%')}/status`)
      t.equal(res.status, 400, `${route} ${crafted}`)
      t.equal(res.body.inputErrorField, 'token')
      t.match(res.body.userMessage, /no task for token/)
    }
  }
  t.equal(await store.get(`${token}:logs`), undefined, 'the store itself refuses a token of another format')
  t.throws(() => store.taskKey(`${token}:logs`), /not a task token/, 'and never builds a key from one')
  t.equal((await store.get(token))?.kind, 'provision', 'the real token still reads')
})

t.test('the Token pattern of openapi.yaml is the store\'s token format', async t => {
  const pattern = new RegExp((routeSchema('getStatus').params as any).properties.token.pattern)
  fc.assert(fc.property(fc.oneof(fc.uuid(), fc.string(), fc.constant(randomUUID()), fc.uuid().map(u => `${u}:logs`)), (candidate) => {
    return pattern.test(candidate) === isTaskToken(candidate)
  }), { numRuns: 500 })
  for (let i = 0; i < 20; i++) t.ok(isTaskToken(randomUUID()))
})

t.test('a status route answers only for its own kind of task', async t => {
  const provision = (await call(t, app, 'POST', '/v1/provision', airbyteRequest('kinds'))).body as string
  const unprovision = (await call(t, app, 'POST', '/v1/unprovision', airbyteRequest('kinds-un'))).body as string
  const validate = (await call(t, app, 'POST', '/v2/validate', airbyteRequest('kinds'))).body as string
  const reverse = (await call(t, app, 'POST', '/v1/reverse-provisioning', { useCaseTemplateId: 'urn:dmb:utm:airbyte-standard:0.0.0', environment: 'development', params: { connectionName: 'x' } })).body as string
  const aclRequest = airbyteRequest('kinds-acl')
  await registry.componentFinished('provision', 'urn:dmb:cmp:finance:cashflow:0:kinds-acl', 'airbyte', randomUUID())
  const updateacl = (await call(t, app, 'POST', '/v1/updateacl', { refs: ['user:alice_company.com'], provisionInfo: { request: aclRequest.descriptor, result: '' } })).body as string
  const routes: Record<string, string[]> = {
    '/v1/provision': [provision, unprovision, updateacl],
    '/provision': [provision, unprovision, updateacl],
    '/v2/validate': [validate],
    '/v1/reverse-provisioning': [reverse]
  }
  const all = [provision, unprovision, validate, reverse, updateacl]
  for (const token of all) t.ok(isTaskToken(token), 'every operation issued a token')
  for (const [route, own] of Object.entries(routes)) {
    for (const token of all) {
      const res = await call(t, app, 'GET', `${route}/${token}/status`)
      if (own.includes(token)) {
        t.equal(res.status, 200, `${route} answers for its own token`)
      } else {
        t.equal(res.status, 400, `${route} does not answer for a token of another kind`)
        t.equal(res.body.inputErrorField, 'token')
        t.match(res.body.userMessage, /no task for token/)
      }
    }
  }
})

t.test('updateacl names every identity that is not user:<id> or group:<name>', async t => {
  const componentId = 'urn:dmb:cmp:finance:cashflow:0:acl-refs'
  await registry.componentFinished('provision', componentId, 'airbyte', randomUUID())
  const provisionInfo = { request: airbyteRequest('acl-refs').descriptor, result: 'OK' }
  const bad = ['user:ok_company.com', 'alice', 'user:', 'group:data team', 'user:tab\there', 'user:zero\u200bwidth', 'user:nul\u0000', `user:${'a'.repeat(257)}`, 'User:caps', 'service:bot', ' group:padded']
  const res = await call(t, app, 'POST', '/v1/updateacl', { refs: bad, provisionInfo })
  t.equal(res.status, 400)
  t.same(res.body.moreInfo.problems.map((p: string) => p.split(':', 1)[0]), ['refs.1', 'refs.2', 'refs.3', 'refs.4', 'refs.5', 'refs.6', 'refs.7', 'refs.8', 'refs.9', 'refs.10'], 'each bad entry at its path, the good one not')
  t.equal(res.body.inputErrorField, 'refs.1')

  const legacy = await call(t, app, 'POST', '/updateacl', { acl: { users: ['group:ops', 'alice@company.com', 'bob smith'], groups: ['user:eve', 'analysts'] }, provisionInfo })
  t.equal(legacy.status, 400)
  t.same(legacy.body.moreInfo.problems.map((p: string) => p.split(':', 1)[0]), ['acl.users.0', 'acl.users.2', 'acl.groups.0'], 'a prefix of the other kind and whitespace are refused in the legacy lists')

  const fine = await call(t, app, 'POST', '/updateacl', { acl: { users: ['alice@company.com', 'user:bob_company.com'], groups: ['analysts'] }, provisionInfo })
  t.equal(fine.status, 202, 'bare entries of the legacy lists take their list\'s kind')
  t.same((await jobData(fine.body)).refs, ['group:analysts', 'user:alice_company.com', 'user:bob_company.com'])
  const many = await call(t, app, 'POST', '/v1/updateacl', { refs: Array.from({ length: 500 }, (_, i) => `bare${i}`), provisionInfo })
  t.equal(many.status, 400)
  t.ok(many.body.errors.length <= 51, `a reply about 500 bad refs stays short (${String(many.body.errors.length)} lines)`)
  t.match(many.body.errors.at(-1), /450 more invalid identities/)
})

t.test('an ACL update for a component this adapter never provisioned says so', async t => {
  const componentId = 'urn:dmb:cmp:finance:cashflow:0:never-provisioned'
  const body = { refs: ['user:alice_company.com'], provisionInfo: { request: airbyteRequest('never-provisioned').descriptor, result: '' } }
  for (const route of ['/v1/updateacl', '/updateacl']) {
    const res = await call(t, app, 'POST', route, body)
    t.equal(res.status, 400, route)
    t.equal(res.body.inputErrorField, 'provisionInfo.request')
    t.match(res.body.userMessage, `component ${componentId} was never provisioned by this adapter; provision it first`)
  }
  const token = randomUUID()
  await registry.componentFinished('provision', componentId, 'airbyte', token)
  t.match(await registry.get(componentId), { handlerId: 'airbyte', token }, 'a completed provision is recorded')
  t.equal((await call(t, app, 'POST', '/v1/updateacl', body)).status, 202, 'once provisioned, the update is accepted')
  await registry.componentFinished('updateacl', componentId, 'airbyte', randomUUID())
  t.ok(await registry.get(componentId), 'an ACL update leaves the record alone')
  await registry.componentFinished('unprovision', componentId, 'airbyte', randomUUID())
  t.equal(await registry.get(componentId), undefined, 'a completed unprovision removes it')
  t.equal((await call(t, app, 'POST', '/v1/updateacl', body)).status, 400, 'and access to an unprovisioned component is refused again')
})

// ---------------------------------------------------------------- on a real socket

const REQUEST_TIMEOUT_MS = 400
const HEADERS_TIMEOUT_MS = 250
const listening = await appWith({ REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS), HEADERS_TIMEOUT_MS: String(HEADERS_TIMEOUT_MS) })
await listening.listen({ port: 0, host: '127.0.0.1' })
const port = (listening.server.address() as { port: number }).port

interface RawReply { status: number, headers: Record<string, string>, body: any, closed: boolean }

/**
 * Writes `chunks` on a fresh connection and reads until the server closes it (or `deadlineMs` passes, which
 * fails the test rather than hanging it): the server closing the socket is what these tests prove.
 */
async function raw (chunks: string[], deadlineMs = 20_000): Promise<RawReply> {
  return await new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1')
    let received = ''
    const timer = setTimeout(() => { socket.destroy(); reject(new Error(`the server kept the connection open for ${deadlineMs} ms; got ${JSON.stringify(received.slice(0, 200))}`)) }, deadlineMs)
    socket.on('data', (d) => { received += d.toString('utf8') })
    socket.on('error', () => {})
    socket.on('close', () => {
      clearTimeout(timer)
      const [head = '', text = ''] = received.split('\r\n\r\n', 2)
      const [statusLine = '', ...lines] = head.split('\r\n')
      const headers = Object.fromEntries(lines.map(l => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]))
      let body: unknown = text
      try { body = JSON.parse(text) } catch {}
      resolve({ status: Number(statusLine.split(' ')[1]), headers, body, closed: true })
    })
    socket.on('connect', () => { for (const chunk of chunks) socket.write(chunk) })
  })
}

function contractShaped (t: Test, method: string, path: string, reply: RawReply): void {
  t.same(checkReply(method, path, reply.status, reply.headers['content-type'], reply.body), [], `${method} ${path.slice(0, 60)} ${reply.status} follows the contract`)
}

t.test('a body that stops arriving is cut off with a 408 after REQUEST_TIMEOUT_MS', async t => {
  const reply = await raw(['POST /v1/provision HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nContent-Length: 5000\r\n\r\n{"descriptorKind": "COMP'])
  t.equal(reply.status, 408)
  t.equal(reply.headers.connection, 'close')
  t.match(reply.body.userMessage, `the whole request within ${REQUEST_TIMEOUT_MS} ms`)
  contractShaped(t, 'POST', '/v1/provision', reply)
})

t.test('headers that stop arriving are cut off with a 408 after HEADERS_TIMEOUT_MS', async t => {
  const reply = await raw(['GET /health/live HTTP/1.1\r\nHost: test\r\nX-Slow: '])
  t.equal(reply.status, 408)
  contractShaped(t, 'GET', '/health/live', reply)
  const silent = await raw([])
  t.ok(silent.closed, 'a connection that sends nothing is closed too')
  t.equal(silent.status, 408)
})

t.test('a client sending slowly but within the deadline is served', async t => {
  const started = Date.now()
  const reply = await new Promise<RawReply>((resolve, reject) => {
    const socket = connect(port, '127.0.0.1')
    let received = ''
    socket.on('data', (d) => { received += d.toString('utf8'); if (received.includes('"status"')) socket.end() })
    socket.on('error', reject)
    socket.on('close', () => { resolve({ status: Number(received.split(' ')[1]), headers: {}, body: received, closed: true }) })
    socket.on('connect', () => {
      socket.write('GET /health/live HTTP/1.1\r\n')
      // A fifth of the headers deadline later: inside it on any machine the deadline itself holds on.
      setTimeout(() => { socket.write('Host: test\r\nConnection: close\r\n\r\n') }, HEADERS_TIMEOUT_MS / 5)
    })
  })
  t.equal(reply.status, 200, `served after ${Date.now() - started} ms`)
})

t.test('a too-long URL is a 414 and a too-large header block a 431, both contract-shaped', async t => {
  const longPath = `/v1/provision/${'a'.repeat(20_000)}/status`
  const url = await raw([`GET ${longPath} HTTP/1.1\r\nHost: test\r\n\r\n`])
  t.equal(url.status, 414)
  contractShaped(t, 'GET', longPath, url)
  const header = await raw([`GET /health/live HTTP/1.1\r\nHost: test\r\nX-Big: ${'b'.repeat(20_000)}\r\n\r\n`])
  t.equal(header.status, 431)
  contractShaped(t, 'GET', '/health/live', header)
  const param = await raw([`GET /v1/provision/${'c'.repeat(150)}/status HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n`])
  t.equal(param.status, 414, 'a path parameter past the router\'s limit')
  contractShaped(t, 'GET', `/v1/provision/${'c'.repeat(150)}/status`, param)
})

t.test('a malformed URL and bytes that are not HTTP are a contract-shaped 400', async t => {
  for (const path of ['/v1/provision/%E0%A4%A/status', '/v1/provision/%/status', '/v2/validate/%C0%AF/status']) {
    const reply = await raw([`GET ${path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n`])
    t.equal(reply.status, 400, path)
    t.match(reply.body.userMessage, /malformed|no task for token/)
    contractShaped(t, 'GET', path, reply)
  }
  const garbage = await raw(['GET /health/live HTTP/1.1\r\nHost: test\r\nNot a header line\r\n\r\n'])
  t.equal(garbage.status, 400)
  contractShaped(t, 'GET', '/health/live', garbage)
})
