/**
 * One error handler for every route: our errors and Fastify's own (schema, content type, body size) become the
 * contract's `RequestValidationError` (4xx, each keeping its status) or `SystemError` (500/503). Internals never
 * reach a 5xx body. Errors outside any route (unknown route, bad URL, socket-level) are answered in the same
 * shapes by not-found-handler.ts and framework-errors.ts.
 */
import fp from 'fastify-plugin'
import type { FastifyError, FastifyInstance } from 'fastify'
import { AdapterError, DescriptorInvalidError, UnknownTokenError, type InputProblem } from '../errors.js'
import { joinPath, pointerToDotPath } from '../descriptor/ajv-problems.js'

export interface RequestValidationErrorBody {
  errors: string[]
  userMessage: string
  inputErrorField?: string
  moreInfo: { problems: string[], solutions: string[] }
}

export function requestValidationError (problems: InputProblem[], userMessage?: string): RequestValidationErrorBody {
  const lines = problems.map(p => p.path === '' ? p.message : `${p.path}: ${p.message}`)
  const solutions = [...new Set(problems.map(p => p.hint).filter((h): h is string => h !== undefined && h !== ''))]
  const body: RequestValidationErrorBody = {
    errors: lines,
    userMessage: userMessage ?? `The request is invalid: ${lines[0] ?? 'see problems'}${lines.length > 1 ? ` (and ${lines.length - 1} more)` : ''}`,
    moreInfo: { problems: lines, solutions: solutions.length > 0 ? solutions : ['Fix the fields listed in problems and send the request again.'] }
  }
  const field = problems[0]?.path
  if (field !== undefined && field !== '') body.inputErrorField = field
  return body
}

export function systemError (status: number, requestId: string): Record<string, unknown> {
  const unavailable = status === 503
  const userMessage = unavailable
    ? 'The service cannot reach its task store (Redis) right now. Nothing was lost or started; send the request again shortly.'
    : `An internal error occurred (request id ${requestId}).`
  return {
    error: userMessage,
    userMessage,
    moreInfo: {
      problems: [unavailable ? 'task store unavailable' : 'internal error'],
      solutions: [unavailable ? 'Retry with backoff; check the health of the service and its Redis.' : `Retry; if it persists, give the platform team the request id ${requestId}.`]
    }
  }
}

/** What a JSON value is, for "must be boolean, not a string": the type, never the value (it may be long). */
function jsonType (value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'an array'
  if (typeof value === 'object') return 'an object'
  if (typeof value === 'string') return 'a string'
  if (typeof value === 'number') return 'a number'
  if (typeof value === 'boolean') return 'a boolean'
  return typeof value
}

function valueAt (root: unknown, pointer: string): unknown {
  let node = root
  for (const raw of pointer.split('/').slice(1)) {
    const key = raw.replaceAll('~1', '/').replaceAll('~0', '~')
    if (typeof node !== 'object' || node === null || !Object.hasOwn(node, key)) return undefined
    node = (node as Record<string, unknown>)[key]
  }
  return node
}

/**
 * Fastify's Ajv errors carry `instancePath` like `/removeData`; the contract wants dot paths. Types are never
 * coerced (see app.ts), so a type error says what was sent instead: `removeData: must be boolean, not a string`.
 */
function schemaProblems (error: FastifyError, input: unknown): InputProblem[] {
  return (error.validation ?? []).map(v => {
    const missing = (v.params as { missingProperty?: string }).missingProperty
    const base = pointerToDotPath(v.instancePath)
    const path = missing === undefined ? base : joinPath(base, missing)
    let message = missing === undefined ? (v.message ?? 'is invalid') : 'is required'
    if (v.keyword === 'type') message = `${path === '' ? 'the request body ' : ''}${message}, not ${jsonType(valueAt(input, v.instancePath))}`
    return { path, message, hint: 'The request body must follow the API contract (see /docs).' }
  })
}

/** How to fix the 4xx errors Fastify raises itself, by code. */
const FRAMEWORK_HINTS: Record<string, string> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'Send a smaller descriptor (see MAX_DESCRIPTOR_BYTES).',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'Send the body as application/json.',
  FST_ERR_CTP_INVALID_JSON_BODY: 'Send a well-formed JSON object; keys named __proto__ or constructor are refused.',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'Send a JSON object as the body, or no content-type header when there is no body.',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'Send a content-length that matches the body.',
  PRV_ERR_UNKNOWN_TOKEN: 'Use a token returned by this service within the retention period, on the status route of its operation.'
}

export default fp(async function errorHandler (app: FastifyInstance, opts: { isDegraded: () => boolean }) {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (error instanceof DescriptorInvalidError) {
      return reply.code(400).send(requestValidationError(error.problems))
    }
    if (error.validation !== undefined) {
      const context = error.validationContext ?? 'body'
      const input = (request as unknown as Record<string, unknown>)[context]
      const problems = schemaProblems(error, input)
      // Tokens have one format (see openapi.yaml): anything else is a token no task has, said the same way.
      if (context === 'params' && problems.some(p => p.path === 'token')) {
        const unknown = new UnknownTokenError(String(valueAt(input, '/token') ?? ''))
        return reply.code(400).send(requestValidationError([{ path: 'token', message: unknown.message, hint: FRAMEWORK_HINTS[unknown.code] }]))
      }
      return reply.code(400).send(requestValidationError(problems))
    }
    const status = error instanceof AdapterError ? error.statusCode : (error.statusCode ?? 500)
    if (status >= 400 && status < 500) {
      // The caller's to fix, each with its own status (413 too large, 415 media type, 400 malformed JSON, ...).
      const hint = FRAMEWORK_HINTS[error.code] ?? 'Check the request against the API contract (see /docs).'
      return reply.code(status).send(requestValidationError([{ path: error.code === 'PRV_ERR_UNKNOWN_TOKEN' ? 'token' : '', message: error.message, hint }]))
    }
    const unavailable = status === 503 || opts.isDegraded()
    request.log.error({ err: error }, unavailable ? 'dependency unavailable' : 'unhandled error')
    return reply.code(unavailable ? 503 : 500).send(systemError(unavailable ? 503 : 500, request.id))
  })
}, { name: 'error-handler', fastify: '5.x' })
