/**
 * One error handler for every route: our errors and Fastify's own (schema, content type, body size) become the
 * contract's `RequestValidationError` (400) or `SystemError` (500/503). Internals never reach a 5xx body.
 */
import fp from 'fastify-plugin'
import type { FastifyError, FastifyInstance } from 'fastify'
import { AdapterError, DescriptorInvalidError, type InputProblem } from '../errors.js'

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

/** Fastify's Ajv errors carry `instancePath` like `/descriptor`; the contract wants dot paths. */
function schemaProblems (error: FastifyError): InputProblem[] {
  return (error.validation ?? []).map(v => {
    const missing = (v.params as { missingProperty?: string }).missingProperty
    const base = v.instancePath.split('/').filter(Boolean).join('.')
    const path = missing === undefined ? base : base === '' ? missing : `${base}.${missing}`
    return { path, message: missing === undefined ? (v.message ?? 'is invalid') : 'is required', hint: 'The request body must follow the API contract (see /docs).' }
  })
}

export default fp(async function errorHandler (app: FastifyInstance, opts: { isDegraded: () => boolean }) {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (error instanceof DescriptorInvalidError) {
      return reply.code(400).send(requestValidationError(error.problems))
    }
    if (error.validation !== undefined) {
      return reply.code(400).send(requestValidationError(schemaProblems(error)))
    }
    const status = error instanceof AdapterError ? error.statusCode : (error.statusCode ?? 500)
    if (status >= 400 && status < 500) {
      // Content type, malformed JSON, body too large, unknown token: all the caller's to fix.
      const hint = error.code === 'FST_ERR_CTP_BODY_TOO_LARGE'
        ? 'Send a smaller descriptor (see MAX_DESCRIPTOR_BYTES).'
        : error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE'
          ? 'Send the body as application/json.'
          : error.code === 'PRV_ERR_UNKNOWN_TOKEN'
            ? 'Use a token returned by this service within the retention period.'
            : 'Check the request against the API contract (see /docs).'
      return reply.code(400).send(requestValidationError([{ path: error.code === 'PRV_ERR_UNKNOWN_TOKEN' ? 'token' : '', message: error.message, hint }]))
    }
    const unavailable = status === 503 || opts.isDegraded()
    request.log.error({ err: error }, unavailable ? 'dependency unavailable' : 'unhandled error')
    return reply.code(unavailable ? 503 : 500).send(systemError(unavailable ? 503 : 500, request.id))
  })
}, { name: 'error-handler', fastify: '5.x' })
