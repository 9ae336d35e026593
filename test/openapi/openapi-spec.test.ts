import { readFileSync } from 'node:fs'
import t from 'tap'
import { parse } from 'yaml'
import Fastify from 'fastify'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import { findOperation, listOperations, openapiDocument, operationFor, routeSchema } from '../../src/openapi/openapi-spec.js'
import { checkReply } from '../../src/openapi/contract-check.js'

type JsonObject = Record<string, unknown>

// The contract's route table (the platform contract's tech adapter API, as openapi.yaml states it) plus the health probes.
const CONTRACT_ROUTES: Array<[method: string, path: string, operationId: string]> = [
  ['POST', '/provision', 'provisionLegacy'],
  ['GET', '/provision/{token}/status', 'statusLegacy'],
  ['POST', '/validate', 'validateLegacy'],
  ['POST', '/unprovision', 'unprovisionLegacy'],
  ['POST', '/updateacl', 'updateAclLegacy'],
  ['POST', '/v1/provision', 'provision'],
  ['GET', '/v1/provision/{token}/status', 'getStatus'],
  ['POST', '/v1/validate', 'validate'],
  ['POST', '/v2/validate', 'asyncValidate'],
  ['GET', '/v2/validate/{token}/status', 'getValidationStatus'],
  ['POST', '/v1/unprovision', 'unprovision'],
  ['POST', '/v1/updateacl', 'updateAcl'],
  ['POST', '/v1/reverse-provisioning', 'runReverseProvisioning'],
  ['GET', '/v1/reverse-provisioning/{token}/status', 'getReverseProvisioningStatus'],
  ['GET', '/health/live', 'healthLive'],
  ['GET', '/health/ready', 'healthReady'],
  ['GET', '/metrics', 'metrics']
]

const TAKES_A_BODY = new Set(['provisionLegacy', 'validateLegacy', 'unprovisionLegacy', 'updateAclLegacy', 'provision', 'validate',
  'asyncValidate', 'unprovision', 'updateAcl', 'runReverseProvisioning'])
const TAKES_A_TOKEN = new Set(['statusLegacy', 'getStatus', 'getValidationStatus', 'getReverseProvisioningStatus'])

const isObject = (value: unknown): value is JsonObject => typeof value === 'object' && value !== null && !Array.isArray(value)

function collectRefs (node: unknown, into: string[] = []): string[] {
  if (Array.isArray(node)) node.forEach((item) => collectRefs(item, into))
  else if (isObject(node)) {
    for (const [key, value] of Object.entries(node)) {
      if (key === '$ref' && typeof value === 'string') into.push(value)
      else collectRefs(value, into)
    }
  }
  return into
}

function pointer (document: JsonObject, ref: string): unknown {
  let node: unknown = document
  for (const key of ref.replace(/^#\//, '').split('/')) node = isObject(node) ? node[key.replaceAll('~1', '/').replaceAll('~0', '~')] : undefined
  return node
}

const contentTypeOf = (headers: Record<string, unknown>): string | undefined => {
  const value = headers['content-type']
  return typeof value === 'string' ? value : undefined
}

const paths = openapiDocument.paths as Record<string, Record<string, JsonObject>>

const PROVISIONING_STATUS = {
  status: 'COMPLETED',
  result: 'OK',
  info: {
    publicInfo: {
      connection: { type: 'link', label: 'Airbyte connection', value: 'orders', href: 'https://airbyte.example.com/c/1' },
      lastSync: { type: 'date', label: 'Last sync', value: '2024-05-01T10:00:00Z' }
    },
    privateInfo: { connectionId: 'c-1', nested: { deep: [1, 2, { three: true }] } }
  },
  logs: [
    { timestamp: '2024-05-01T10:00:00.000Z', level: 'INFO', message: 'connection created', phase: 'airbyte' },
    { timestamp: '2024-05-01T10:00:01.000Z', level: 'WARNING', message: 'no schedule given' }
  ]
}

const TOKEN = '2f9d6c1e-6a0b-4c43-9a55-2c3e3b7d7f10'
const UNKNOWN = '00000000-0000-4000-8000-00000000dead'

const UNKNOWN_TOKEN_ERROR = {
  errors: ['no task for token "nope"'],
  userMessage: 'no task for token "nope"',
  inputErrorField: 'token',
  moreInfo: { problems: ['the token was never issued or has expired'], solutions: ['start the operation again'] }
}

t.test('openapi.yaml is an OpenAPI 3.1 document titled for this adapter, served from /', async (t) => {
  t.equal(openapiDocument.openapi, '3.1.0')
  t.match(openapiDocument.info, { title: 'Data mesh tech adapter (Airbyte, Incorta, Atlan)', version: /^2\.2\./ })
  t.same(openapiDocument.servers, [{ url: '/' }])
})

t.test('every operationId of the contract appears exactly once', async (t) => {
  const ids = Object.values(paths).flatMap((item) => Object.values(item).map((op) => op.operationId)).filter((id) => id !== undefined)
  for (const [, , operationId] of CONTRACT_ROUTES) {
    t.equal(ids.filter((id) => id === operationId).length, 1, operationId)
  }
  t.equal(ids.length, CONTRACT_ROUTES.length, 'no operation outside the contract')
})

t.test('every path of the contract table is in the document under its method and operationId', async (t) => {
  for (const [method, path, operationId] of CONTRACT_ROUTES) {
    t.equal(paths[path]?.[method.toLowerCase()]?.operationId, operationId, `${method} ${path}`)
  }
})

t.test('every $ref resolves', async (t) => {
  const refs = collectRefs(openapiDocument)
  t.ok(refs.length > 0)
  for (const ref of new Set(refs)) t.ok(isObject(pointer(openapiDocument, ref)), ref)
})

t.test('the components the routes and clients rely on are defined', async (t) => {
  const schemas = (openapiDocument.components as JsonObject).schemas as JsonObject
  for (const name of ['ProvisioningRequest', 'UpdateAclRequest', 'ReverseProvisioningRequest', 'ProvisioningStatus', 'ValidationResult',
    'ValidationStatus', 'ReverseProvisioningStatus', 'Info', 'Log', 'RequestValidationError', 'SystemError', 'Token']) {
    t.ok(isObject(schemas[name]), name)
  }
  t.equal((schemas.Token as JsonObject).type, 'string')
})

t.test('routeSchema gives every operation its responses, and a body or params where it takes them', async (t) => {
  for (const { operationId, operation } of listOperations()) {
    const schema = routeSchema(operationId)
    t.equal(schema.operationId, operationId)
    // OpenAPI's `4XX` is Fastify's `4xx`.
    t.same(Object.keys(schema.response).sort(), Object.keys(operation.responses as JsonObject).map((status) => status.replace(/XX$/, 'xx')).sort(), `${operationId} responses`)
    t.equal(schema.body !== undefined, TAKES_A_BODY.has(operationId), `${operationId} body`)
    t.equal(schema.params !== undefined, TAKES_A_TOKEN.has(operationId), `${operationId} params`)
    t.type(schema.summary, 'string')
    t.ok(collectRefs(schema).length === 0, `${operationId} has no $ref left`)
  }
  t.match(routeSchema('getStatus').params, { type: 'object', properties: { token: { type: 'string' } }, required: ['token'] })
  t.same(routeSchema('provision').response['202'], routeSchema('updateAcl').response['202'])
  t.throws(() => routeSchema('noSuchOperation'), /noSuchOperation/)
})

t.test('routeSchema leaves descriptorKind and descriptor to the service validator; the document keeps them', async (t) => {
  for (const operationId of ['provision', 'provisionLegacy', 'validate', 'asyncValidate', 'unprovision']) {
    const body = routeSchema(operationId).body as JsonObject
    t.equal(body.type, 'object', operationId)
    t.notOk('required' in body, `${operationId} requires nothing at the route`)
    t.same((body.properties as JsonObject).descriptorKind, { description: (body.properties as JsonObject & { descriptorKind: JsonObject }).descriptorKind.description })
    t.notOk('type' in ((body.properties as Record<string, JsonObject>).descriptor ?? {}), `${operationId}: the validator checks the descriptor's type`)
    t.match(body.properties, { removeData: { type: 'boolean', default: false }, latestEnrichedDescriptor: { type: 'string' } })
  }
  const documented = (openapiDocument.components as { schemas: Record<string, JsonObject> }).schemas
  t.same(documented.ProvisioningRequest?.required, ['descriptorKind', 'descriptor'])
  t.match(documented.ProvisioningRequest?.properties, { descriptor: { type: 'string' } })
  t.same(documented.DescriptorKind?.enum, ['DATAPRODUCT_DESCRIPTOR', 'COMPONENT_DESCRIPTOR', 'DATAPRODUCT_DESCRIPTOR_WITH_RESULTS'])
  t.match(routeSchema('updateAcl').body, { type: 'object', required: ['provisionInfo'] })
  t.match(routeSchema('runReverseProvisioning').body, { type: 'object', required: ['useCaseTemplateId', 'environment'] })
})

t.test('operationFor maps concrete, templated and Fastify-style paths, and throws for an unknown route', async (t) => {
  t.equal(operationFor('POST', '/v1/provision'), 'provision')
  t.equal(operationFor('post', '/provision'), 'provisionLegacy')
  t.equal(operationFor('GET', '/v1/provision/{token}/status'), 'getStatus')
  t.equal(operationFor('GET', '/v1/provision/8c1f-22/status'), 'getStatus')
  t.equal(operationFor('GET', '/provision/:token/status'), 'statusLegacy')
  t.equal(operationFor('GET', '/v2/validate/abc/status?x=1'), 'getValidationStatus')
  t.equal(operationFor('POST', '/v1/updateacl/'), 'updateAcl')
  t.equal(findOperation('GET', '/v1/provision'), undefined)
  t.throws(() => operationFor('GET', '/v1/provision'), /GET \/v1\/provision/)
  t.throws(() => operationFor('POST', '/v1/provision/abc/status'))
})

t.test('a Fastify app built from routeSchema', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  const received: unknown[] = []
  // Stands in for the service's error handler: Fastify's own errors go out in the contract's shape.
  app.setErrorHandler(async (error: { statusCode?: number, message: string }, _request, reply) => {
    const problems = [error.message]
    return reply.code(error.statusCode ?? 500).send({ errors: problems, userMessage: error.message, moreInfo: { problems, solutions: ['send a JSON object'] } })
  })
  app.post('/v1/provision', { schema: routeSchema('provision') }, async (request, reply) => {
    received.push(request.body)
    return reply.code(202).type('text/plain').send(TOKEN)
  })
  app.get<{ Params: { token: string } }>('/v1/provision/:token/status', { schema: routeSchema('getStatus') }, async (request, reply) => {
    if (request.params.token === UNKNOWN) return reply.code(400).send({ ...UNKNOWN_TOKEN_ERROR, stack: 'must not leak' })
    return reply.code(200).send({ ...PROVISIONING_STATUS, internal: 'must not leak' })
  })
  await app.ready()

  t.test('sends a 202 token bare, as text/plain', async (t) => {
    const res = await app.inject({ method: 'POST', url: '/v1/provision', payload: { descriptorKind: 'COMPONENT_DESCRIPTOR', descriptor: 'a: 1' } })
    t.equal(res.statusCode, 202)
    t.match(res.headers['content-type'], /^text\/plain/)
    t.equal(res.body, TOKEN)
    t.same(checkReply('POST', '/v1/provision', res.statusCode, contentTypeOf(res.headers), res.body), [])
  })

  t.test('serialises a ProvisioningStatus with publicInfo, privateInfo and logs intact and drops undeclared fields', async (t) => {
    const res = await app.inject({ method: 'GET', url: `/v1/provision/${TOKEN}/status` })
    t.equal(res.statusCode, 200)
    t.match(res.headers['content-type'], /^application\/json/)
    t.same(res.json(), PROVISIONING_STATUS)
    t.same(checkReply('GET', `/v1/provision/${TOKEN}/status`, res.statusCode, contentTypeOf(res.headers), res.json()), [])
  })

  t.test('serialises a RequestValidationError whole, without anything undeclared', async (t) => {
    const res = await app.inject({ method: 'GET', url: `/v1/provision/${UNKNOWN}/status` })
    t.equal(res.statusCode, 400)
    t.same(res.json(), UNKNOWN_TOKEN_ERROR)
    t.same(checkReply('GET', `/v1/provision/${UNKNOWN}/status`, res.statusCode, contentTypeOf(res.headers), res.json()), [])
  })

  t.test('lets an unknown descriptorKind and a missing descriptor through to the service validator', async (t) => {
    const res = await app.inject({ method: 'POST', url: '/v1/provision', payload: { descriptorKind: 'SOMETHING_ELSE', platformField: 1 } })
    t.equal(res.statusCode, 202)
    t.same(received.at(-1), { descriptorKind: 'SOMETHING_ELSE', platformField: 1, removeData: false }, 'extra fields kept, removeData defaulted')
  })

  t.test('refuses a body that is not an object', async (t) => {
    const res = await app.inject({ method: 'POST', url: '/v1/provision', headers: { 'content-type': 'application/json' }, payload: '"just a string"' })
    t.equal(res.statusCode, 400)
    t.match(res.json(), { errors: ['body must be object'] })
    t.same(checkReply('POST', '/v1/provision', res.statusCode, contentTypeOf(res.headers), res.json()), [])
  })
})

t.test('an error reply missing a required contract field fails loudly instead of going out half empty', async (t) => {
  // fast-json-stringify throws on a missing `required` field; Fastify then answers 500. Fastify's
  // default error shape ({statusCode, code, error, message}) therefore never reaches a client.
  const app = Fastify()
  t.teardown(() => app.close())
  app.post('/v1/provision', { schema: routeSchema('provision') }, async () => 'unreachable')
  const res = await app.inject({ method: 'POST', url: '/v1/provision', headers: { 'content-type': 'application/json' }, payload: '42' })
  t.equal(res.statusCode, 500)
  t.match(res.json(), { code: 'FST_ERR_FAILED_ERROR_SERIALIZATION' })
})

t.test('@fastify/swagger serves openapi.yaml statically, with its UI at /docs', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(swagger, { mode: 'static', specification: { document: openapiDocument as never } })
  await app.register(swaggerUi, { routePrefix: '/docs' })
  await app.ready()

  const json = await app.inject({ method: 'GET', url: '/docs/json' })
  t.equal(json.statusCode, 200)
  const file = parse(readFileSync(new URL('../../openapi.yaml', import.meta.url), 'utf8')) as JsonObject
  t.same(json.json().paths, file.paths)
  t.same(json.json().components, file.components)

  const ui = await app.inject({ method: 'GET', url: '/docs' })
  t.equal(ui.statusCode, 200)
  t.match(ui.headers['content-type'], /^text\/html/)
  t.match(ui.body, /swagger-ui/i)
})

t.test('checkReply', async (t) => {
  t.test('accepts a conforming ProvisioningStatus on any status route spelling', async (t) => {
    t.same(checkReply('GET', '/v1/provision/abc/status', 200, 'application/json; charset=utf-8', PROVISIONING_STATUS), [])
    t.same(checkReply('GET', '/provision/abc/status', 200, 'application/json', { status: 'RUNNING', result: '' }), [])
  })

  t.test('rejects a status outside the enum, naming the field', async (t) => {
    const violations = checkReply('GET', '/v1/provision/abc/status', 200, 'application/json', { ...PROVISIONING_STATUS, status: 'DONE' })
    t.equal(violations.length, 1)
    t.match(violations[0], /status.*RUNNING, COMPLETED, FAILED/)
  })

  t.test('rejects missing required fields, bad log levels and bad timestamps', async (t) => {
    t.ok(checkReply('GET', '/v1/provision/abc/status', 200, 'application/json', { status: 'COMPLETED' }).length > 0)
    const badLog = { status: 'RUNNING', result: '', logs: [{ timestamp: 'yesterday', level: 'TRACE', message: 'x' }] }
    t.equal(checkReply('GET', '/v1/provision/abc/status', 200, 'application/json', badLog).length, 2)
    t.ok(checkReply('POST', '/v1/provision', 500, 'application/json', { error: 'boom' }).length > 0, 'SystemError needs userMessage and moreInfo')
  })

  t.test('rejects an undeclared status code', async (t) => {
    t.match(checkReply('POST', '/v1/provision', 201, 'text/plain', 'tok'), [/status 201 is not declared/])
    t.match(checkReply('POST', '/v1/validate', 202, 'text/plain', 'tok'), [/status 202 is not declared/])
  })

  t.test('rejects a 202 token sent as JSON, and a reply without a content type', async (t) => {
    t.same(checkReply('POST', '/v2/validate', 202, 'text/plain; charset=utf-8', TOKEN), [])
    t.ok(checkReply('POST', '/v2/validate', 202, 'text/plain', 'tok').length > 0, 'a token not in the one token format is no token')
    t.match(checkReply('POST', '/v2/validate', 202, 'application/json', 'tok'), [/content type application\/json is not declared/])
    t.match(checkReply('POST', '/v2/validate', 202, undefined, 'tok'), [/no content type/])
    t.ok(checkReply('POST', '/v2/validate', 202, 'text/plain', '').length > 0, 'an empty token is no token')
  })

  t.test('rejects a route that is not in the document', async (t) => {
    t.match(checkReply('DELETE', '/v1/provision', 200, 'application/json', {}), [/not an operation/])
  })

  t.test('accepts only a RequestValidationError 404 or 405 for a request outside the document', async (t) => {
    const error = { errors: ['no route'], userMessage: 'no route', moreInfo: { problems: ['no route'], solutions: ['see /docs'] } }
    t.same(checkReply('DELETE', '/v1/provision', 405, 'application/json', error), [])
    t.same(checkReply('GET', '/nowhere', 404, 'application/json', error), [])
    t.ok(checkReply('GET', '/nowhere', 404, 'application/json', { message: 'Not Found' }).length > 0, 'Fastify\'s default shape is refused')
    t.ok(checkReply('GET', '/nowhere', 404, 'text/plain', 'Not Found').length > 0)
  })

  t.test('accepts any 4xx as a RequestValidationError on every operation', async (t) => {
    const error = { errors: ['too large'], userMessage: 'too large', moreInfo: { problems: ['too large'], solutions: ['smaller'] } }
    for (const { method, path } of listOperations()) {
      for (const status of [408, 413, 415, 431]) {
        t.same(checkReply(method, path.replace('{token}', TOKEN), status, 'application/json', error), [], `${method} ${path} ${status}`)
      }
    }
  })

  t.test('checks health replies, including the 503 readiness shape', async (t) => {
    t.same(checkReply('GET', '/health/ready', 503, 'application/json', { status: 'unavailable', redis: 'unavailable' }), [])
    t.same(checkReply('GET', '/health/live', 200, 'application/json', { status: 'ok' }), [])
    t.ok(checkReply('GET', '/health/live', 503, 'application/json', { status: 'ok' }).length > 0)
  })
})
