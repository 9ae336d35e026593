/**
 * Reverse provisioning: describe an existing target resource as this adapter's `specific` section. The handler
 * is chosen by the request's useCaseTemplateId, like a component's.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { DescriptorInvalidError } from '../errors.js'
import { routeSchema } from '../openapi/openapi-spec.js'
import { reverseProvisioningStatus } from './task-replies.js'
import { readTask } from './status-routes.js'

interface ReverseBody {
  useCaseTemplateId?: unknown
  environment?: unknown
  params?: unknown
  catalogInfo?: unknown
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

export default async function reverseProvisioningRoutes (app: FastifyInstance): Promise<void> {
  app.post<{ Body: ReverseBody }>('/v1/reverse-provisioning', { schema: routeSchema('runReverseProvisioning') }, async (request: FastifyRequest<{ Body: ReverseBody }>, reply: FastifyReply) => {
    const { useCaseTemplateId, environment, params, catalogInfo } = request.body
    const problems = []
    if (typeof useCaseTemplateId !== 'string' || useCaseTemplateId === '') problems.push({ path: 'useCaseTemplateId', message: 'is required' })
    if (typeof environment !== 'string' || environment === '') problems.push({ path: 'environment', message: 'is required' })
    if (params !== undefined && params !== null && !isObject(params)) problems.push({ path: 'params', message: 'must be an object' })
    if (problems.length > 0) throw new DescriptorInvalidError(problems)
    const handler = app.registry.handlerFor(useCaseTemplateId as string)
    if (handler === undefined) {
      throw new DescriptorInvalidError([{
        path: 'useCaseTemplateId',
        message: `no handler of this adapter serves ${JSON.stringify(useCaseTemplateId)}`,
        hint: `Supported: ${app.registry.supportedIds().join(', ')} (any version).`
      }])
    }
    const { token } = await app.tasks.submitReverse({
      handlerId: handler.id,
      useCaseTemplateId: useCaseTemplateId as string,
      environment: environment as string,
      params: isObject(params) ? params : {},
      catalogInfo: isObject(catalogInfo) ? catalogInfo : {},
      requestId: request.id,
      caller: request.caller?.id
    })
    return await reply.code(202).type('text/plain').send(token)
  })
  app.get<{ Params: { token: string } }>('/v1/reverse-provisioning/:token/status', { schema: routeSchema('getReverseProvisioningStatus'), logLevel: 'warn' }, async (request: FastifyRequest<{ Params: { token: string } }>) =>
    reverseProvisioningStatus(await readTask(app, request.params.token, ['reverse'])))
}
