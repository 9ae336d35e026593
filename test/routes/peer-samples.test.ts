import t from 'tap'
import { readFileSync, readdirSync } from 'node:fs'
import { buildApp } from '../../src/app.js'
import { loadConfig } from '../../src/config.js'
import { createHandlerRegistry } from '../../src/provisioner/handler-set.js'
import { createSecretStore } from '../../src/secrets/secret-store.js'
import { checkReply } from '../../src/openapi/contract-check.js'
import { deleteKeys, testRedis, uniquePrefix } from '../helpers/redis-server.js'

// Inputs shaped like other Witboost adapters' requests (test/fixtures/peer-shapes/README.md).
const SAMPLES = new URL('../fixtures/peer-shapes/', import.meta.url)
const redis = await testRedis()
const prefix = uniquePrefix('peer-samples')
t.teardown(async () => { await deleteKeys(redis.url, prefix); await redis.stop() })

async function appWith (env: Record<string, string>): Promise<Awaited<ReturnType<typeof buildApp>>> {
  const config = loadConfig({ LOAD_SHED_MAX_EVENT_LOOP_DELAY_MS: '0', REDIS_URL: redis.url, QUEUE_PREFIX: prefix, LOG_LEVEL: 'silent', AUTH_MODE: 'none', ...env })
  const app = await buildApp({ config, registry: createHandlerRegistry(config), secrets: createSecretStore({}), logger: false })
  t.teardown(async () => { await app.close() })
  await app.ready()
  return app
}

function sample (dir: string, file: string): string {
  return readFileSync(new URL(`${dir}/${file}`, SAMPLES), 'utf8')
}

async function call (app: Awaited<ReturnType<typeof buildApp>>, method: 'GET' | 'POST', url: string, payload?: unknown): Promise<{ status: number, body: any }> {
  const res = await app.inject({ method, url, payload: payload as never })
  const contentType = res.headers['content-type'] as string | undefined
  const body = contentType?.startsWith('application/json') === true ? res.json() : res.body
  t.same(checkReply(method, url.split('?')[0] ?? url, res.statusCode, contentType, body), [], `${method} ${url} ${res.statusCode} follows the contract`)
  t.not(res.statusCode, 500, `${method} ${url} never answers 500 for input`)
  return { status: res.statusCode, body }
}

t.test('the original Airbyte provisioner descriptors, with DEFAULT_HANDLER=airbyte', async t => {
  const app = await appWith({ DEFAULT_HANDLER: 'airbyte', AIRBYTE_WORKSPACE_ID: '00000000-0000-4000-8000-000000000001', AIRBYTE_SOURCE_DEFINITION_ID: '778daa7c-feaf-4db6-96f3-70fd645acc77', AIRBYTE_DESTINATION_DEFINITION_ID: '424892c4-daac-4491-b35d-c6688ba547ba' })
  const expected: Record<string, string | true> = {
    'component-valid.yaml': true,
    'component-legacy-dbt-url.yaml': true,
    'component-legacy-dbt-url-empty.yaml': true,
    'component-missing-specific.yaml': 'dataProduct.components.0.specific',
    'component-empty-specific.yaml': 'dataProduct.components.0.specific.',
    'component-missing-source.yaml': 'dataProduct.components.0.specific.source.',
    'component-missing-destination.yaml': 'dataProduct.components.0.specific.destination.',
    'component-missing-connection-name.yaml': 'dataProduct.components.0.specific.connection',
    'component-missing-component-id.yaml': 'componentIdToProvision',
    'component-missing-components.yaml': 'dataProduct.components',
    'component-missing-expected-fields.yaml': 'dataProduct.'
  }
  t.same(Object.keys(expected).sort(), readdirSync(new URL('airbyte-provisioner/', SAMPLES)).sort(), 'every sample is covered')
  for (const [file, expectation] of Object.entries(expected)) {
    const request = { descriptorKind: 'COMPONENT_DESCRIPTOR', descriptor: sample('airbyte-provisioner', file) }
    const validation = await call(app, 'POST', '/v1/validate', request)
    t.equal(validation.status, 200)
    t.equal(validation.body.valid, expectation === true, `${file}: valid is ${String(expectation === true)} ${JSON.stringify(validation.body.error ?? '')}`)
    const legacy = await call(app, 'POST', '/validate', request)
    t.same(legacy.body, validation.body, 'the legacy route answers the same')
    if (expectation === true) continue
    const provision = await call(app, 'POST', '/v1/provision', request)
    t.equal(provision.status, 400, file)
    t.ok(String(provision.body.inputErrorField).startsWith(expectation) ||
      provision.body.moreInfo.problems.some((p: string) => p.startsWith(expectation)), `${file}: a problem at ${expectation}: ${JSON.stringify(provision.body.moreInfo.problems)}`)
    t.ok(provision.body.moreInfo.solutions.length > 0, 'with a hint')
  }
  const dbt = await call(app, 'POST', '/v2/validate', { descriptorKind: 'COMPONENT_DESCRIPTOR', descriptor: sample('airbyte-provisioner', 'component-legacy-dbt-url.yaml') })
  t.equal(dbt.status, 202)
})

t.test('other adapters\' descriptors are refused clearly, never crash', async t => {
  const app = await appWith({})
  for (const file of readdirSync(new URL('tech-adapter-framework/', SAMPLES)).filter(f => f.startsWith('descriptor-'))) {
    const request = { descriptorKind: 'COMPONENT_DESCRIPTOR', descriptor: sample('tech-adapter-framework', file) }
    const res = await call(app, 'POST', '/v1/provision', request)
    t.equal(res.status, 400, file)
    const validation = await call(app, 'POST', '/v1/validate', request)
    t.equal(validation.body.valid, false, file)
  }
  for (const file of ['component-output-port.yaml', 'component-storage.yaml']) {
    const res = await call(app, 'POST', '/v1/provision', { descriptorKind: 'COMPONENT_DESCRIPTOR', descriptor: sample('python-scaffold', file) })
    t.equal(res.status, 400, file)
    t.match(res.body.moreInfo.solutions.join(' '), /airbyte-standard/, 'names the supported ids')
  }
  const dp = await call(app, 'POST', '/v1/provision', { descriptorKind: 'DATAPRODUCT_DESCRIPTOR', descriptor: sample('python-scaffold', 'data-product.yaml') })
  t.equal(dp.status, 200, 'a data product with nothing for this adapter: COMPLETED at once')
  t.equal(dp.body.status, 'COMPLETED')
  const reverse = await call(app, 'POST', '/v1/reverse-provisioning', { useCaseTemplateId: 'urn:dmb:utm:snowflake-outputport-template:0.0.0', environment: 'development', catalogInfo: {} })
  t.equal(reverse.status, 400)
})

t.test('every request of the scaffolds\' postman collections gets a contract-shaped answer', async t => {
  const app = await appWith({})
  for (const collection of ['grouped', 'flat']) {
    const items = JSON.parse(sample('postman', `${collection}.postman_collection.json`)).item as any[]
    const requests = items.flatMap(group => group.item ?? [group])
    for (const item of requests) {
      const path = (item.request.url.path as string[]).map(p => p === ':token' ? 'a-token' : p).join('/')
      if (['swagger', 'build-info'].includes(path)) continue
      const raw = item.request.body?.raw
      // The collections send a JSON body even on GET status requests; it must be ignored, not choke the route.
      const res = await call(app, item.request.method, `/${path}`, raw !== undefined && raw !== '' ? JSON.parse(raw) : undefined)
      t.ok(res.status < 500, `${collection} ${item.name}: ${res.status}`)
    }
  }
})

t.test('bad request bodies: 400 with field path and hint', async t => {
  const app = await appWith({})
  const cases: Array<[unknown, string]> = [
    [{ descriptor: 'x' }, 'descriptorKind'],
    [{ descriptorKind: 'COMPONENT_DESCRIPTOR' }, 'descriptor'],
    [{ descriptorKind: 'DATAPRODUCT_DESCRIPTOR_WITH_RESULTS', descriptor: 'a: 1' }, 'descriptorKind'],
    [{ descriptorKind: 'COMPONENT_DESCRIPTOR', descriptor: 'a: [' }, 'descriptor'],
    [{ descriptorKind: 'COMPONENT_DESCRIPTOR', descriptor: 'a: 1\na: 2' }, 'descriptor']
  ]
  for (const [payload, field] of cases) {
    const res = await call(app, 'POST', '/v1/provision', payload)
    t.equal(res.status, 400, JSON.stringify(payload))
    t.equal(res.body.inputErrorField, field, `inputErrorField for ${JSON.stringify(payload)}`)
  }
  const notJson = await app.inject({ method: 'POST', url: '/v1/provision', headers: { 'content-type': 'application/json' }, payload: '{nope' })
  t.equal(notJson.statusCode, 400)
  t.same(checkReply('POST', '/v1/provision', 400, notJson.headers['content-type'] as string, notJson.json()), [])
  const laughs = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
  for (let i = 1; i < 10; i++) laughs.push(`${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(9).fill(`*${String.fromCharCode(96 + i)}`).join(',')}]`)
  const started = Date.now()
  const bomb = await call(app, 'POST', '/v1/validate', { descriptorKind: 'COMPONENT_DESCRIPTOR', descriptor: laughs.join('\n') })
  t.equal(bomb.body.valid, false, 'a billion laughs document is refused')
  t.ok(Date.now() - started < 1000, 'quickly, not expanded')
  const unknownSecret = await call(app, 'POST', '/v1/validate', {
    descriptorKind: 'COMPONENT_DESCRIPTOR',
    descriptor: readFileSync(new URL('../../examples/orders-ingestion.yaml', import.meta.url), 'utf8')
  })
  t.equal(unknownSecret.body.valid, false, 'the example refers to secrets this app does not have')
  t.match(unknownSecret.body.error.errors.join('\n'), /orders-db-password/)
})

t.test('health, docs, request ids', async t => {
  const app = await appWith({ BASE_PATH: '/datamesh.airbytespecificprovisioner/1.0' })
  const live = await app.inject({ url: '/datamesh.airbytespecificprovisioner/1.0/health/live', headers: { 'x-request-id': 'abc-123' } })
  t.equal(live.statusCode, 200)
  t.equal(live.headers['x-request-id'], 'abc-123', 'the incoming request id is kept')
  const ready = await app.inject({ url: '/datamesh.airbytespecificprovisioner/1.0/health/ready' })
  t.equal(ready.statusCode, 200)
  const docs = await app.inject({ url: '/datamesh.airbytespecificprovisioner/1.0/docs/json' })
  t.equal(docs.statusCode, 200)
  t.ok(docs.json().paths['/v1/provision'], 'the OpenAPI document is served')
  const unprefixed = await app.inject({ method: 'POST', url: '/v1/provision', payload: {} })
  t.equal(unprefixed.statusCode, 404, 'routes live under BASE_PATH only')
})
