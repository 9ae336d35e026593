/**
 * Contract tests' judge: checks one reply (status, content type, body) against what openapi.yaml
 * declares for the operation that served it. Validators for every response of every operation are
 * compiled once, with Ajv's 2020 dialect (OpenAPI 3.1's). It reads replies; it never produces them.
 */
import { Ajv2020 } from 'ajv/dist/2020.js'
import type { ErrorObject, ValidateFunction } from 'ajv/dist/2020.js'
import addFormatsModule from 'ajv-formats'
import { findOperation, listOperations, openapiDocument } from './openapi-spec.js'

// ajv-formats is CommonJS with a `default` property; under NodeNext the default import is module.exports.
const addFormats = addFormatsModule.default

// Not strict: the schemas carry OpenAPI annotations (descriptions, examples) Ajv need not know.
const ajv = new Ajv2020({ strict: false, allErrors: true })
addFormats(ajv)

interface DeclaredResponse {
  /** Validators by media type; empty when the response declares no body. */
  byMediaType: Map<string, ValidateFunction>
}

/** `operationId` -> status key as written in the document (`200`, `4XX`, `default`) -> declared response. */
const declared = new Map<string, Map<string, DeclaredResponse>>()

for (const { operationId, operation } of listOperations()) {
  const byStatus = new Map<string, DeclaredResponse>()
  const responses = (operation.responses ?? {}) as Record<string, { content?: Record<string, { schema?: object }> }>
  for (const [status, response] of Object.entries(responses)) {
    const byMediaType = new Map<string, ValidateFunction>()
    for (const [mediaType, media] of Object.entries(response.content ?? {})) {
      byMediaType.set(mediaType.toLowerCase(), ajv.compile(media.schema ?? {}))
    }
    byStatus.set(status.toUpperCase(), { byMediaType })
  }
  declared.set(operationId, byStatus)
}

// A request outside every operation (a path the document does not list, or a listed path under another
// method) answers 404 / 405 as a RequestValidationError, as the document's description says.
const components = openapiDocument.components as { schemas: Record<string, object> }
const outsideTheDocument: DeclaredResponse = {
  byMediaType: new Map([['application/json', ajv.compile({ ...components.schemas.RequestValidationError, components } as object)]])
}

function responseFor (byStatus: Map<string, DeclaredResponse>, status: number): DeclaredResponse | undefined {
  const exact = String(status)
  return byStatus.get(exact) ?? byStatus.get(`${exact[0] ?? ''}XX`) ?? byStatus.get('DEFAULT')
}

function validatorFor (response: DeclaredResponse, mediaType: string): ValidateFunction | undefined {
  const [type] = mediaType.split('/', 1)
  return response.byMediaType.get(mediaType) ?? response.byMediaType.get(`${type ?? ''}/*`) ?? response.byMediaType.get('*/*')
}

function describe (error: ErrorObject): string {
  const where = error.instancePath === '' ? 'body' : `body${error.instancePath.replaceAll('/', '.')}`
  const allowed = (error.params as { allowedValues?: unknown[] }).allowedValues
  return `${where} ${error.message ?? 'is invalid'}${allowed === undefined ? '' : ` (${allowed.map(String).join(', ')})`}`
}

function isEmpty (body: unknown): boolean {
  return body === undefined || body === null || body === ''
}

/**
 * Every way the reply breaks the contract; empty when it conforms. `path` is the concrete request path
 * (`/v1/provision/3f2a/status`) without the base path prefix; `body` is the parsed JSON for JSON replies
 * and the raw string otherwise. An undeclared status code or content type is a violation; a request outside
 * every operation may only answer 404 or 405 with a RequestValidationError.
 */
export function checkReply (method: string, path: string, status: number, contentType: string | undefined, body: unknown): string[] {
  const op = findOperation(method, path)
  if (op === undefined && status !== 404 && status !== 405) return [`${method.toUpperCase()} ${path} is not an operation of openapi.yaml`]
  const label = `${op?.operationId ?? `${method.toUpperCase()} ${path}`} ${status}`
  const byStatus = op === undefined ? new Map<string, DeclaredResponse>() : declared.get(op.operationId) ?? new Map<string, DeclaredResponse>()
  const response = op === undefined ? outsideTheDocument : responseFor(byStatus, status)
  if (response === undefined) {
    return [`${label}: status ${status} is not declared (declared: ${[...byStatus.keys()].join(', ')})`]
  }
  const mediaType = contentType?.split(';', 1)[0]?.trim().toLowerCase()
  if (response.byMediaType.size === 0) {
    return isEmpty(body) ? [] : [`${label}: declares no body but one was sent`]
  }
  const expected = [...response.byMediaType.keys()].join(', ')
  if (mediaType === undefined || mediaType === '') return [`${label}: no content type (declared: ${expected})`]
  const validate = validatorFor(response, mediaType)
  if (validate === undefined) return [`${label}: content type ${mediaType} is not declared (declared: ${expected})`]
  if (validate(body)) return []
  return (validate.errors ?? []).map((error) => `${label}: ${describe(error)}`)
}
