/**
 * Validation. `POST /validate` and `/v1/validate` answer synchronously with the offline checks (schema,
 * routing, secrets, cron, dependencies) and never 400 for a bad descriptor: `{valid: false, error}` instead.
 * `POST /v2/validate` also checks against the targets (does the source exist, are the streams and sync modes
 * real), so it runs as a task.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { DescriptorInvalidError } from '../errors.js'
import { routeSchema } from '../openapi/openapi-spec.js'
import { validationStatus } from './task-replies.js'
import { readTask } from './status-routes.js'

interface ValidateBody { descriptorKind?: unknown, descriptor?: unknown }

function problemLines (err: DescriptorInvalidError): string[] {
  return err.problems.map(p => p.path === '' ? p.message : `${p.path}: ${p.message}`)
}

export default async function validateRoutes (app: FastifyInstance): Promise<void> {
  const validateNow = async (request: FastifyRequest<{ Body: ValidateBody }>): Promise<Record<string, unknown>> => {
    try {
      await app.validateDescriptor(request.body.descriptorKind, request.body.descriptor)
      return { valid: true }
    } catch (err) {
      if (err instanceof DescriptorInvalidError) return { valid: false, error: { errors: problemLines(err) } }
      throw err
    }
  }
  app.post<{ Body: ValidateBody }>('/v1/validate', { schema: routeSchema('validate') }, validateNow)
  app.post<{ Body: ValidateBody }>('/validate', { schema: routeSchema('validateLegacy') }, validateNow)

  app.post<{ Body: ValidateBody }>('/v2/validate', { schema: routeSchema('asyncValidate') }, async (request: FastifyRequest<{ Body: ValidateBody }>, reply: FastifyReply) => {
    const { descriptorKind, descriptor } = request.body
    let token: string
    try {
      const validated = await app.validateDescriptor(descriptorKind, descriptor)
      ;({ token } = await app.tasks.submitComponentTask({ kind: 'validate', validated, descriptorText: String(descriptor), requestId: request.id, caller: request.caller?.id }))
    } catch (err) {
      if (!(err instanceof DescriptorInvalidError)) throw err
      ;({ token } = await app.tasks.submitInvalidValidation(problemLines(err), request.id, request.caller?.id))
    }
    return await reply.code(202).type('text/plain').send(token)
  })

  app.get<{ Params: { token: string } }>('/v2/validate/:token/status', { schema: routeSchema('getValidationStatus'), logLevel: 'warn' }, async (request: FastifyRequest<{ Params: { token: string } }>) =>
    validationStatus(await readTask(app, request.params.token, ['validate'])))
}
