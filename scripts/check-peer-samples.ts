/**
 * Extra CI check, outside the test suite: sends every real input of other Witboost adapters found in a folder (their
 * descriptors, catalog-infos and Postman collections, as the platform workspace keeps them) to the API and counts the
 * answers. Fails (exit 1) on any 5xx, any reply that breaks openapi.yaml, or a crash; 4xx are the expected answer to
 * most of them. The required tests use test/fixtures/peer-shapes instead, so a fresh clone never needs this folder.
 *
 * Usage: npx tsx scripts/check-peer-samples.ts [folder]   (default ../shared/contract/peer-samples from the repo root)
 * Uses REDIS_URL, else a Redis on 127.0.0.1:6379, else a private redis-server; its keys are removed at the end.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parse as parseYaml } from 'yaml'
import { buildApp } from '../src/app.js'
import { loadConfig } from '../src/config.js'
import { checkReply } from '../src/openapi/contract-check.js'
import { createHandlerRegistry } from '../src/provisioner/handler-set.js'
import { deleteKeys, findOrStartRedis } from '../src/sandbox/local-redis.js'
import { createSecretStore } from '../src/secrets/secret-store.js'

type App = Awaited<ReturnType<typeof buildApp>>
interface Request { label: string, method: 'GET' | 'POST', url: string, payload?: unknown }

const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)))
const folder = resolve(ROOT, process.argv[2] ?? '../shared/contract/peer-samples')
if (!existsSync(folder)) {
  console.error(`peer samples: no folder ${folder}`)
  process.exit(2)
}

function filesUnder (dir: string): string[] {
  return readdirSync(dir).sort().flatMap((name) => {
    const path = join(dir, name)
    return statSync(path).isDirectory() ? filesUnder(path) : [path]
  })
}

/** The requests one file stands for: a descriptor under both kinds and every route that takes one, a catalog-info as reverse provisioning input, each request of a Postman collection. */
function requestsOf (path: string): Request[] {
  const text = readFileSync(path, 'utf8')
  const name = relative(folder, path)
  if (path.endsWith('.postman_collection.json')) return postmanRequests(name, JSON.parse(text) as unknown)
  if (!/\.ya?ml$/.test(path)) return []
  const doc = safeParse(text)
  if (isRecord(doc) && doc.apiVersion !== undefined && isRecord(doc.spec)) {
    const mesh = isRecord(doc.spec.mesh) ? doc.spec.mesh : {}
    return [{
      label: name,
      method: 'POST',
      url: '/v1/reverse-provisioning',
      payload: { useCaseTemplateId: mesh.useCaseTemplateId ?? 'urn:dmb:utm:unknown:0.0.0', environment: 'development', catalogInfo: doc }
    }]
  }
  return ['COMPONENT_DESCRIPTOR', 'DATAPRODUCT_DESCRIPTOR'].flatMap((descriptorKind) => [
    ...['/v1/validate', '/v2/validate', '/v1/provision', '/v1/unprovision'].map((url): Request => ({
      label: `${name} as ${descriptorKind}`, method: 'POST', url, payload: { descriptorKind, descriptor: text, removeData: false }
    })),
    { label: `${name} as ACL request`, method: 'POST', url: '/v1/updateacl', payload: { refs: ['user:someone_example.com'], provisionInfo: { request: text, result: '' } } }
  ])
}

function postmanRequests (name: string, collection: unknown): Request[] {
  const out: Request[] = []
  const walk = (items: unknown): void => {
    if (!Array.isArray(items)) return
    for (const item of items as unknown[]) {
      if (!isRecord(item)) continue
      walk(item.item)
      const request = isRecord(item.request) ? item.request : undefined
      const url = request !== undefined && isRecord(request.url) ? request.url : undefined
      if (request === undefined || url === undefined || !Array.isArray(url.path)) continue
      const path = (url.path as unknown[]).map((p) => p === ':token' ? 'a-token' : String(p)).join('/')
      if (['swagger', 'build-info'].includes(path)) continue
      const raw = isRecord(request.body) && typeof request.body.raw === 'string' ? request.body.raw : ''
      out.push({
        label: `${name}: ${String(item.name)}`,
        method: request.method === 'GET' ? 'GET' : 'POST',
        url: `/${path}`,
        payload: raw.trim() === '' ? undefined : JSON.parse(raw) as unknown
      })
    }
  }
  walk(isRecord(collection) ? collection.item : undefined)
  return out
}

function safeParse (text: string): unknown {
  try { return parseYaml(text) as unknown } catch { return undefined }
}

function isRecord (value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

const redis = await findOrStartRedis()
const prefix = `peer-samples-check-${process.pid}-${Date.now().toString(36)}`
const apps: Array<[string, App]> = []
const statuses = new Map<number, number>()
const failures: string[] = []
let sent = 0
try {
  const requests = filesUnder(folder).flatMap(requestsOf)
  // As deployed (no default handler), and as the original Airbyte provisioner behaved (it claimed every component).
  const setups: Array<[string, Record<string, string>]> = [
    ['default routing', {}],
    ['DEFAULT_HANDLER=airbyte', {
      DEFAULT_HANDLER: 'airbyte',
      AIRBYTE_WORKSPACE_ID: '00000000-0000-4000-8000-000000000001',
      AIRBYTE_SOURCE_DEFINITION_ID: '778daa7c-feaf-4db6-96f3-70fd645acc77',
      AIRBYTE_DESTINATION_DEFINITION_ID: '424892c4-daac-4491-b35d-c6688ba547ba'
    }]
  ]
  for (const [setup, env] of setups) {
    // The API role only: tasks are enqueued in Redis under the prefix and removed below, no worker runs them.
    const config = loadConfig({ REDIS_URL: redis.url, QUEUE_PREFIX: prefix, LOG_LEVEL: 'silent', AUTH_MODE: 'none', ...env })
    const app = await buildApp({ config, registry: createHandlerRegistry(config), secrets: createSecretStore({}), logger: false })
    apps.push([setup, app])
    await app.ready()
    for (const request of requests) {
      sent++
      const res = await app.inject({ method: request.method, url: request.url, payload: request.payload as never })
      statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1)
      const contentType = res.headers['content-type'] as string | undefined
      const body: unknown = contentType?.startsWith('application/json') === true ? res.json() : res.body
      const where = `${setup}: ${request.method} ${request.url} ${request.label}`
      if (res.statusCode >= 500) failures.push(`${where}: ${res.statusCode} ${res.body.slice(0, 300)}`)
      const problems = checkReply(request.method, request.url, res.statusCode, contentType, body)
      if (problems.length > 0) failures.push(`${where}: ${res.statusCode} breaks the contract: ${problems.join('; ')}`)
    }
  }
  const files = filesUnder(folder).length
  const byStatus = [...statuses.entries()].sort(([a], [b]) => a - b).map(([status, count]) => `${status}: ${count}`).join(', ')
  console.log(`peer samples: ${files} files in ${folder}, ${sent} requests (${byStatus}), ${failures.length} failures`)
  for (const failure of failures) console.log(`  FAIL ${failure}`)
} catch (err) {
  failures.push(`crashed: ${err instanceof Error ? err.stack ?? err.message : String(err)}`)
  console.log(`peer samples: crashed after ${sent} requests`)
  console.log(failures.at(-1))
} finally {
  for (const [, app] of apps) await app.close()
  await deleteKeys(redis.url, prefix)
  await redis.stop()
}
process.exit(failures.length === 0 ? 0 : 1)
