/**
 * Owns openapi.yaml at run time: reads it once, resolves its `$ref`s and turns each operation into the
 * Fastify route schema (body, params, every response) the routes register, so validation, serialisation
 * and the served document all come from the one file. It must not know about handlers or replies.
 */
import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parse } from 'yaml'

type JsonObject = Record<string, unknown>

/** A Fastify route schema built from one operation of openapi.yaml. */
export interface RouteSchema {
  operationId: string
  summary?: string
  tags?: string[]
  /** The `application/json` request body schema, relaxed for route validation (see `relaxForRoute`). */
  body?: object
  /** Path parameters as one object schema. */
  params?: object
  /**
   * Keyed by status code. JSON replies map to their schema; replies that are only `text/plain`
   * (the 202 token) use Fastify's per-content-type form.
   */
  response: Record<string, object>
}

/** One operation of the document, `$ref`s resolved. */
export interface SpecOperation {
  operationId: string
  /** Upper case, e.g. `POST`. */
  method: string
  /** Templated, as in the document: `/v1/provision/{token}/status`. */
  path: string
  operation: JsonObject
}

const SPEC_FILE = 'openapi.yaml'
const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace']

// Walk up rather than use a fixed '../../': the module runs from src/openapi/ under tsx and from
// dist/src/openapi/ once compiled, and openapi.yaml stays at the repository root.
function locateSpec (): string {
  const start = dirname(fileURLToPath(import.meta.url))
  let dir = start
  for (;;) {
    const candidate = join(dir, SPEC_FILE)
    if (existsSync(candidate)) return candidate
    const parent = dirname(dir)
    if (parent === dir) throw new Error(`${SPEC_FILE} not found in ${start} or any directory above it`)
    dir = parent
  }
}

function isObject (value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function resolvePointer (document: JsonObject, ref: string): unknown {
  if (!ref.startsWith('#/')) throw new Error(`only local $refs are supported in ${SPEC_FILE}, got ${ref}`)
  let node: unknown = document
  for (const raw of ref.slice(2).split('/')) {
    const key = decodeURIComponent(raw).replaceAll('~1', '/').replaceAll('~0', '~')
    if (!isObject(node) || !(key in node)) throw new Error(`unresolvable $ref ${ref} in ${SPEC_FILE}`)
    node = node[key]
  }
  return node
}

/** A deep copy of `node` with every `$ref` replaced by (a copy of) its target; siblings of a `$ref` win. */
function dereference (node: unknown, document: JsonObject, trail: readonly string[] = []): unknown {
  if (Array.isArray(node)) return node.map((item) => dereference(item, document, trail))
  if (!isObject(node)) return node
  const { $ref, ...rest } = node
  const copy: JsonObject = {}
  for (const [key, value] of Object.entries(rest)) copy[key] = dereference(value, document, trail)
  if (typeof $ref !== 'string') return copy
  if (trail.includes($ref)) throw new Error(`circular $ref ${[...trail, $ref].join(' -> ')} in ${SPEC_FILE}`)
  const target = dereference(resolvePointer(document, $ref), document, [...trail, $ref])
  return isObject(target) ? { ...target, ...copy } : target
}

function loadDocument (): JsonObject {
  const file = locateSpec()
  const parsed: unknown = parse(readFileSync(file, 'utf8'))
  if (!isObject(parsed) || !isObject(parsed.paths)) throw new Error(`${file} is not an OpenAPI document (no paths)`)
  return parsed
}

/** The parsed openapi.yaml, `$ref`s intact: hand it to @fastify/swagger (`mode: 'static'`). */
export const openapiDocument: Record<string, unknown> = loadDocument()

const operations: readonly SpecOperation[] = indexOperations(openapiDocument)
const byOperationId = new Map(operations.map((op) => [op.operationId, op]))

function indexOperations (document: JsonObject): SpecOperation[] {
  const found: SpecOperation[] = []
  for (const [path, item] of Object.entries(document.paths as JsonObject)) {
    if (!isObject(item)) continue
    for (const method of HTTP_METHODS) {
      const operation = item[method]
      if (!isObject(operation)) continue
      const { operationId } = operation
      if (typeof operationId !== 'string') throw new Error(`${method.toUpperCase()} ${path} has no operationId in ${SPEC_FILE}`)
      if (found.some((op) => op.operationId === operationId)) throw new Error(`operationId ${operationId} appears twice in ${SPEC_FILE}`)
      const resolved = dereference(operation, document) as JsonObject
      // Path-level parameters apply to every operation under the path.
      const shared = dereference(item.parameters ?? [], document) as unknown[]
      if (shared.length > 0) resolved.parameters = [...shared, ...((resolved.parameters as unknown[] | undefined) ?? [])]
      found.push({ operationId, method: method.toUpperCase(), path, operation: resolved })
    }
  }
  return found
}

/** Every operation of openapi.yaml, `$ref`s resolved, in document order. */
export function listOperations (): readonly SpecOperation[] {
  return operations
}

function pathPattern (template: string): RegExp {
  const source = template
    .split(/\{[^}]+\}/)
    .map((literal) => literal.replace(/[.*+?^$()|[\]\\]/g, '\\$&'))
    // `*`, not `+`: the router matches an empty parameter too (`/v1/provision//status`).
    .join('[^/]*')
  return new RegExp(`^${source}$`)
}

const patterns = operations
  .map((op) => ({ op, pattern: pathPattern(op.path), params: (op.path.match(/\{/g) ?? []).length }))
  // A literal segment beats a parameter, as in Fastify's router.
  .sort((a, b) => a.params - b.params)

/**
 * The operation serving `method` + `path`. `path` may be concrete (`/v1/provision/abc/status`),
 * templated (`{token}`) or in Fastify's form (`:token`); a query string and a trailing slash are ignored.
 * A base path prefix must already be stripped.
 */
export function findOperation (method: string, path: string): SpecOperation | undefined {
  const upper = method.toUpperCase()
  let bare = path.split('?', 1)[0] ?? ''
  if (bare.length > 1 && bare.endsWith('/')) bare = bare.slice(0, -1)
  return patterns.find(({ op, pattern }) => op.method === upper && pattern.test(bare))?.op
}

/** Maps a route to its operationId, e.g. `('POST', '/v1/provision')` to `provision`. Throws for an unknown route. */
export function operationFor (method: string, path: string): string {
  const op = findOperation(method, path)
  if (op === undefined) throw new Error(`no operation in ${SPEC_FILE} for ${method.toUpperCase()} ${path}`)
  return op.operationId
}

// OpenAPI keywords that are not JSON Schema: Fastify's Ajv runs in strict mode and throws on them.
const NON_SCHEMA_KEYWORDS = new Set(['example', 'xml', 'externalDocs', 'discriminator'])
// Keywords whose values are data (or field names), not schemas: copied untouched.
const DATA_KEYWORDS = new Set(['examples', 'default', 'enum', 'const', 'required'])
const NAME_MAP_KEYWORDS = new Set(['properties', 'patternProperties'])

function forFastify (schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(forFastify)
  if (!isObject(schema)) return schema
  const copy: JsonObject = {}
  for (const [key, value] of Object.entries(schema)) {
    if (NON_SCHEMA_KEYWORDS.has(key) || key.startsWith('x-')) continue
    if (DATA_KEYWORDS.has(key)) copy[key] = value
    // These map field names, not keywords: a field may well be called `example`.
    else if (NAME_MAP_KEYWORDS.has(key) && isObject(value)) {
      copy[key] = Object.fromEntries(Object.entries(value).map(([name, sub]) => [name, forFastify(sub)]))
    } else copy[key] = forFastify(value)
  }
  return copy
}

/**
 * Route validation must not pre-empt the service's own descriptor validation. The contract wants a
 * missing or unknown `descriptorKind`, or a missing `descriptor`, answered with a RequestValidationError
 * naming the field (`inputErrorField`) and how to fix it (`moreInfo.solutions`) — and on the validate
 * routes not with a 400 at all but with `200 {valid: false}`. Fastify's schema error would get there
 * first with a generic message, so the route schema leaves both fields to the validator; their types, enum
 * and `required` stay in openapi.yaml, which documents the contract.
 */
function relaxForRoute (body: JsonObject): JsonObject {
  const properties = body.properties
  if (!isObject(properties) || !('descriptorKind' in properties)) return body
  // The types go too: types are never coerced, and the validator refuses a wrongly typed descriptorKind or
  // descriptor itself, naming the field (a 400 on provision, `valid: false` on validate).
  for (const name of ['descriptorKind', 'descriptor']) {
    const field = properties[name]
    if (isObject(field)) { delete field.enum; delete field.type }
  }
  if (Array.isArray(body.required)) {
    const required = body.required.filter((name) => name !== 'descriptor' && name !== 'descriptorKind')
    if (required.length > 0) body.required = required
    else delete body.required
  }
  return body
}

function jsonSchemaOf (content: unknown, mediaType: string): JsonObject | undefined {
  if (!isObject(content)) return undefined
  const media = content[mediaType]
  return isObject(media) && isObject(media.schema) ? media.schema : undefined
}

function responseSchemas (operation: JsonObject): Record<string, object> {
  const response: Record<string, object> = {}
  const responses = isObject(operation.responses) ? operation.responses : {}
  for (const [documented, definition] of Object.entries(responses)) {
    // OpenAPI writes ranges `4XX`; Fastify accepts only `4xx`.
    const status = documented.replace(/XX$/, 'xx')
    if (!isObject(definition) || !isObject(definition.content)) continue
    const json = jsonSchemaOf(definition.content, 'application/json')
    if (json !== undefined) {
      response[status] = forFastify(json) as object
      continue
    }
    // Not JSON (the 202 token is text/plain): Fastify serialises a string payload with a non-JSON
    // content type as is, so the per-content-type form only documents it and never quotes the token.
    const content: JsonObject = {}
    for (const [mediaType, media] of Object.entries(definition.content)) {
      if (isObject(media) && isObject(media.schema)) content[mediaType] = { schema: forFastify(media.schema) }
    }
    if (Object.keys(content).length > 0) response[status] = { content }
  }
  return response
}

function paramsSchema (operation: JsonObject): object | undefined {
  const parameters = Array.isArray(operation.parameters) ? operation.parameters.filter(isObject) : []
  const inPath = parameters.filter((p) => p.in === 'path' && typeof p.name === 'string')
  if (inPath.length === 0) return undefined
  const properties: JsonObject = {}
  for (const p of inPath) properties[p.name as string] = forFastify(p.schema ?? { type: 'string' })
  return { type: 'object', properties, required: inPath.map((p) => p.name as string) }
}

/**
 * The Fastify route schema of `operationId`: body, path params, a response schema per status code,
 * summary and tags. A fresh copy on every call: Fastify may annotate the schemas it compiles.
 */
export function routeSchema (operationId: string): RouteSchema {
  const op = byOperationId.get(operationId)
  if (op === undefined) throw new Error(`no operation ${operationId} in ${SPEC_FILE}`)
  const operation = structuredClone(op.operation)
  const schema: RouteSchema = { operationId, response: responseSchemas(operation) }
  if (typeof operation.summary === 'string') schema.summary = operation.summary
  if (Array.isArray(operation.tags)) schema.tags = operation.tags.filter((tag): tag is string => typeof tag === 'string')
  const requestBody = isObject(operation.requestBody) ? operation.requestBody : undefined
  const body = requestBody === undefined ? undefined : jsonSchemaOf(requestBody.content, 'application/json')
  if (body !== undefined) schema.body = relaxForRoute(forFastify(body) as JsonObject)
  const params = paramsSchema(operation)
  if (params !== undefined) schema.params = params
  return schema
}
