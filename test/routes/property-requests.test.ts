/**
 * Property: whatever a caller sends to any operation of openapi.yaml (arbitrary JSON, the contract's field names
 * with the wrong types, YAML-ish junk, huge and odd strings, unicode, prototype-pollution keys, mutated
 * descriptors, crafted tokens), the reply is a contract-shaped 2xx or 4xx: never a 5xx, never a crash.
 * Through `inject()` against real Redis; the API role needs nothing else.
 */
import t from 'tap'
import { randomUUID } from 'node:crypto'
import fc from 'fast-check'
import { stringify } from 'yaml'
import type { FastifyInstance } from 'fastify'
import { buildApp } from '../../src/app.js'
import { loadConfig } from '../../src/config.js'
import { createHandlerRegistry } from '../../src/provisioner/handler-set.js'
import { createSecretStore } from '../../src/secrets/secret-store.js'
import { checkReply } from '../../src/openapi/contract-check.js'
import { listOperations, type SpecOperation } from '../../src/openapi/openapi-spec.js'
import { airbyteRequest } from '../helpers/stack.js'
import { deleteKeys, testRedis, uniquePrefix } from '../helpers/redis-server.js'
import { Redis } from 'ioredis'
import { ProvisionedRegistry } from '../../src/queue/provisioned-registry.js'
import { RedisKeys } from '../../src/queue/redis-keys.js'

/** Runs per operation: enough to meet every generator branch many times, few enough to keep the suite fast. */
const RUNS = 200

// The caller checks have tests of their own (test/plugins): here every request must reach the routes, and a busy
// machine's event loop must not shed one with a 503.
const UNGUARDED = { AUTH_MODE: 'none', RATE_LIMIT_MAX: '0', LOAD_SHED_MAX_EVENT_LOOP_DELAY_MS: '0' }

const redisServer = await testRedis()
const prefix = uniquePrefix('property-requests')
const redis = new Redis(redisServer.url)
t.teardown(async () => { redis.disconnect(); await deleteKeys(redisServer.url, prefix); await redisServer.stop() })

const config = loadConfig({ REDIS_URL: redisServer.url, QUEUE_PREFIX: prefix, LOG_LEVEL: 'silent', ...UNGUARDED, AIRBYTE_WORKSPACE_ID: '00000000-0000-4000-8000-000000000001' })
const app: FastifyInstance = await buildApp({
  config,
  registry: createHandlerRegistry(config),
  secrets: createSecretStore({ env: { DESCRIPTOR_SECRET_FINANCE__ORDERS_DB_PASSWORD: 'property-db-password-1', DESCRIPTOR_SECRET_FINANCE__SNOWFLAKE_PASSWORD: 'property-wh-password-2' } }),
  logger: false
})
t.teardown(async () => { await app.close() })
await app.ready()

// ---------------------------------------------------------------- generators

const CONTRACT_FIELDS = [
  'descriptorKind', 'descriptor', 'removeData', 'latestEnrichedDescriptor', 'refs', 'acl', 'users', 'groups',
  'provisionInfo', 'request', 'result', 'useCaseTemplateId', 'environment', 'params', 'catalogInfo'
]
const POLLUTION_KEYS = ['__proto__', 'constructor', 'prototype', 'hasOwnProperty', 'toString', '__defineGetter__']
const YAML_JUNK = [
  'a: &a [*a, *a, *a]', '!!js/function "function () {}"', '!custom tag', '--- \n...\n---', 'key: 1\nkey: 2', '{[}',
  '? [complex, key]\n: value', '<<: *anchor', '\tindented: tab', '%YAML 1.2\n---', 'dataProduct:\n  components: 7',
  'componentIdToProvision: [1]', '- - - - - - - - - - - - - - - - - - - -', '"unterminated', '\uFEFFbom: true', 'x: !!binary aGk=',
  'y: 2001-12-14t21:59:43.10-05:00', 'n: .nan', '&a a: *a', '|\n  block'
]

const oddString = fc.oneof(
  fc.string(),
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc.string({ unit: 'grapheme', maxLength: 100 }),
  fc.constantFrom('', ' ', '\u0000', '\u200b', '\uFFFF', '\uD800', '${secret:orders-db-password}', 'true', '1', 'null', 'COMPONENT_DESCRIPTOR'),
  fc.array(fc.oneof(fc.constantFrom(...YAML_JUNK), fc.string()), { maxLength: 8 }).map(lines => lines.join('\n')),
  fc.integer({ min: 1_000, max: 300_000 }).map(n => 'x'.repeat(n)),
  fc.integer({ min: 1, max: 2_000 }).map(n => '['.repeat(n))
)

const anyValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  { weight: 3, arbitrary: oddString },
  { weight: 1, arbitrary: fc.constantFrom(null, true, false, 0, -1, 1e308, [], {}, [true], ['COMPONENT_DESCRIPTOR'], { request: 1 }) }
)

const fieldName = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...CONTRACT_FIELDS) },
  { weight: 1, arbitrary: fc.constantFrom(...POLLUTION_KEYS) },
  { weight: 1, arbitrary: fc.string({ maxLength: 20 }) }
)

/** JSON text of an object with these entries, written by hand so `__proto__` arrives as a key, not a prototype. */
function objectText (entries: Array<[string, unknown]>): string {
  return `{${entries.map(([key, value]) => `${JSON.stringify(key)}:${JSON.stringify(value) ?? 'null'}`).join(',')}}`
}

/** An Airbyte descriptor, possibly with one field replaced by anything, in JSON or YAML. */
const descriptorText = fc.record({
  name: fc.stringMatching(/^[a-z][a-z0-9-]{0,15}$/),
  mutation: fc.option(fc.tuple(fc.constantFrom('source', 'destination', 'connection', 'source.name', 'source.connectionConfiguration',
    'connection.schedule', 'connection.streams', 'destination.connectionConfiguration.port', 'workspaceId', 'source.connectionConfiguration.password'), anyValue)),
  asYaml: fc.boolean(),
  wholeDataProduct: fc.boolean()
}).map(({ name, mutation, asYaml, wholeDataProduct }) => {
  const request = airbyteRequest(name, (specific) => {
    if (mutation === null) return
    const [path, value] = mutation
    const keys = path.split('.')
    let node = specific
    for (const key of keys.slice(0, -1)) node = node[key] ??= {}
    node[keys.at(-1) as string] = value
  })
  const parsed = JSON.parse(request.descriptor as string)
  const document = wholeDataProduct ? parsed.dataProduct : parsed
  return { kind: wholeDataProduct ? 'DATAPRODUCT_DESCRIPTOR' : 'COMPONENT_DESCRIPTOR', text: asYaml ? stringify(document) : JSON.stringify(document), componentId: parsed.componentIdToProvision as string }
})

const descriptorKind = fc.oneof({ weight: 4, arbitrary: fc.constantFrom('COMPONENT_DESCRIPTOR', 'DATAPRODUCT_DESCRIPTOR', 'DATAPRODUCT_DESCRIPTOR_WITH_RESULTS') }, { weight: 1, arbitrary: anyValue })

const provisioningBody = fc.record({
  descriptor: descriptorText,
  kindRight: fc.boolean(),
  kind: descriptorKind,
  removeData: fc.option(fc.oneof({ weight: 3, arbitrary: fc.boolean() }, { weight: 1, arbitrary: anyValue }), { nil: undefined }),
  latestEnrichedDescriptor: fc.option(fc.oneof(descriptorText.map(d => d.text), oddString), { nil: undefined }),
  extra: fc.array(fc.tuple(fieldName, anyValue), { maxLength: 2 })
}).map(({ descriptor, kindRight, kind, removeData, latestEnrichedDescriptor, extra }) => objectText([
  ['descriptorKind', kindRight ? descriptor.kind : kind],
  ['descriptor', descriptor.text],
  ...(removeData === undefined ? [] : [['removeData', removeData] as [string, unknown]]),
  ...(latestEnrichedDescriptor === undefined ? [] : [['latestEnrichedDescriptor', latestEnrichedDescriptor] as [string, unknown]]),
  ...extra.filter(([key]) => !['descriptorKind', 'descriptor', 'removeData', 'latestEnrichedDescriptor'].includes(key))
]))

// Mostly valid, so that whole lists of them (and 202s) come up too.
const identity = fc.oneof(
  { weight: 12, arbitrary: fc.stringMatching(/^(user|group):[a-z0-9._]{1,20}$/) },
  { weight: 3, arbitrary: fc.stringMatching(/^[a-z0-9.@_]{1,20}$/) },
  { weight: 1, arbitrary: oddString },
  { weight: 1, arbitrary: anyValue }
)

// An ACL update names a component provisioned before: mostly a plain, valid component descriptor.
const provisionedDescriptor = fc.stringMatching(/^[a-z][a-z0-9-]{0,15}$/).map(name => {
  const request = airbyteRequest(name)
  return { text: request.descriptor as string, componentId: JSON.parse(request.descriptor as string).componentIdToProvision as string }
})

const aclBody = fc.record({
  descriptor: fc.oneof({ weight: 3, arbitrary: provisionedDescriptor }, { weight: 1, arbitrary: descriptorText }),
  provisioned: fc.boolean(),
  shape: fc.constantFrom('refs', 'acl', 'both', 'neither'),
  refs: fc.array(identity, { maxLength: 4 }),
  users: fc.array(identity, { maxLength: 3 }),
  groups: fc.array(identity, { maxLength: 3 }),
  result: fc.oneof({ weight: 4, arbitrary: fc.string({ maxLength: 20 }) }, { weight: 1, arbitrary: anyValue })
}).map(({ descriptor, provisioned, shape, refs, users, groups, result }) => ({
  provisioned: provisioned ? descriptor.componentId : undefined,
  text: objectText([
    ...(shape === 'refs' || shape === 'both' ? [['refs', refs] as [string, unknown]] : []),
    ...(shape === 'acl' || shape === 'both' ? [['acl', { users, groups }] as [string, unknown]] : []),
    ['provisionInfo', { request: descriptor.text, result }]
  ])
}))

const reverseBody = fc.record({
  useCaseTemplateId: fc.oneof(fc.constantFrom('urn:dmb:utm:airbyte-standard:0.0.0', 'urn:dmb:utm:airbyte-standard:9.9.9', 'urn:dmb:utm:other:0.0.0'), anyValue),
  environment: fc.oneof(fc.constantFrom('development', 'production'), anyValue),
  params: fc.option(fc.oneof(fc.dictionary(fc.string({ maxLength: 10 }), anyValue, { maxKeys: 4 }), anyValue), { nil: undefined }),
  catalogInfo: fc.option(anyValue, { nil: undefined })
}).map(body => objectText(Object.entries(body).filter(([, v]) => v !== undefined)))

/** Any body at all: JSON values, objects of contract fields with any values, non-JSON text. */
const junkBody = fc.oneof(
  fc.jsonValue({ maxDepth: 4 }).map(v => JSON.stringify(v)),
  fc.array(fc.tuple(fieldName, anyValue), { maxLength: 6 }).map(objectText),
  oddString,
  fc.constantFrom('{', '{"a":', '[', '{"__proto__":{"polluted":true}}', '{"constructor":{"prototype":{"polluted":true}}}', 'null', '')
)

const contentType = fc.oneof(
  { weight: 8, arbitrary: fc.constant('application/json') },
  { weight: 1, arbitrary: fc.constantFrom('application/json; charset=utf-8', 'text/plain', 'application/x-www-form-urlencoded', 'application/xml', 'multipart/form-data; boundary=x', 'APPLICATION/JSON', 'application/json; charset=latin1', '') }
)

// Tokens issued for real, one per kind of task, so status routes meet 200s too.
const issued: string[] = []
async function issue (url: string, payload: unknown): Promise<void> {
  const res = await app.inject({ method: 'POST', url, payload: payload as never })
  if (res.statusCode === 202) issued.push(res.body)
}
await issue('/v1/provision', airbyteRequest('issued'))
await issue('/v1/unprovision', airbyteRequest('issued-un'))
await issue('/v2/validate', airbyteRequest('issued'))
await issue('/v1/reverse-provisioning', { useCaseTemplateId: 'urn:dmb:utm:airbyte-standard:0.0.0', environment: 'development', params: {} })

const token = fc.oneof(
  { weight: 2, arbitrary: fc.uuid().map(u => encodeURIComponent(u)) },
  { weight: 2, arbitrary: fc.constantFrom(...issued) },
  { weight: 1, arbitrary: fc.constantFrom(...issued).map(u => `${u}:logs`) },
  { weight: 2, arbitrary: fc.string({ maxLength: 60 }).map(s => encodeURIComponent(s)) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 30 }).map(s => encodeURIComponent(s.replace(/[\uD800-\uDFFF]/g, ''))) },
  { weight: 1, arbitrary: fc.constantFrom('%', '%E0%A4%A', '%2F', '..', '%00', '*', 'a'.repeat(101), '%C0%AF', '%252F') }
)

interface Generated { url: string, payload?: string, headers: Record<string, string>, before?: () => Promise<void> }

function requestsFor (op: SpecOperation): fc.Arbitrary<Generated> {
  if (op.method === 'GET') {
    return fc.record({ token, query: fc.option(fc.string({ maxLength: 20 }), { nil: undefined }) }).map(({ token, query }) => ({
      url: `${op.path.replace('{token}', token)}${query === undefined ? '' : `?q=${encodeURIComponent(query)}`}`,
      headers: {}
    }))
  }
  const specific = op.operationId.startsWith('updateAcl')
    ? aclBody.map(b => ({ text: b.text, before: b.provisioned === undefined ? undefined : async () => { await registry.componentFinished('provision', b.provisioned as string, 'airbyte', randomUUID()) } }))
    : op.operationId === 'runReverseProvisioning'
      ? reverseBody.map(text => ({ text, before: undefined }))
      : provisioningBody.map(text => ({ text, before: undefined }))
  return fc.record({
    body: fc.oneof({ weight: 3, arbitrary: specific }, { weight: 2, arbitrary: junkBody.map(text => ({ text, before: undefined })) }),
    contentType
  }).map(({ body, contentType }): Generated => ({
    url: op.path,
    payload: body.text,
    headers: contentType === '' ? {} : { 'content-type': contentType },
    before: body.before
  }))
}

const registry = new ProvisionedRegistry(redis, new RedisKeys(prefix))

// ---------------------------------------------------------------- the property, per operation

for (const op of listOperations()) {
  t.test(`${op.method} ${op.path} answers every generated request with a contract-shaped 2xx or 4xx`, async t => {
    const statuses = new Map<number, number>()
    await fc.assert(fc.asyncProperty(requestsFor(op), async (request) => {
      await request.before?.()
      const res = await app.inject({ method: op.method as never, url: request.url, payload: request.payload, headers: request.headers })
      statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1)
      const contentType = res.headers['content-type'] as string | undefined
      let body: unknown = res.body
      if (contentType?.startsWith('application/json') === true) body = res.json()
      const path = request.url.split('?', 1)[0] ?? ''
      const violations = checkReply(op.method, path, res.statusCode, contentType, body)
      if (res.statusCode >= 500 || violations.length > 0) {
        throw new Error(`${op.method} ${request.url.slice(0, 120)} -> ${res.statusCode} ${res.body.slice(0, 300)}\n${violations.join('\n')}`)
      }
    }), { numRuns: RUNS })
    const summary = [...statuses].sort(([a], [b]) => a - b).map(([status, n]) => `${status}x${n}`).join(' ')
    t.ok([...statuses.keys()].every(s => s < 500), `no 5xx in ${RUNS} requests (${summary})`)
    // The probes take no input to refuse.
    const takesInput = op.method !== 'GET' || op.path.includes('{token}')
    if (takesInput) t.ok([...statuses.keys()].some(s => s >= 400), `some requests were refused (${summary})`)
    // The generators are not all junk: each operation also met requests it accepts.
    t.ok([...statuses.keys()].some(s => s < 300), `some requests were served (${summary})`)
  })
}

t.test('the app still answers after every generated request', async t => {
  const live = await app.inject({ url: '/health/live' })
  t.equal(live.statusCode, 200)
  t.same(live.json(), { status: 'ok' })
})
