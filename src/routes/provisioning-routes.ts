/**
 * Provision and unprovision, legacy (`/provision`) and current (`/v1/provision`) routes from the same code:
 * validate the descriptor, enqueue, answer 202 with the bare token. A data product with nothing for this
 * adapter answers 200 COMPLETED at once (the only synchronous reply).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { routeSchema } from '../openapi/openapi-spec.js'
import type { ComponentTaskRequest } from '../queue/task-service.js'
import { initialLogs } from '../queue/task-service.js'
import type { ValidatedDescriptor } from '../descriptor/types.js'

interface ProvisioningBody {
  descriptorKind?: unknown
  descriptor?: unknown
  removeData?: boolean
  latestEnrichedDescriptor?: string
}

export async function submitOrFinish (app: FastifyInstance, reply: FastifyReply, request: ComponentTaskRequest): Promise<FastifyReply> {
  if (request.validated.targets.length === 0) {
    return await reply.code(200).send({
      status: 'COMPLETED',
      result: 'Nothing to do: no component of this data product belongs to this adapter',
      logs: initialLogs(request.kind, request.validated)
    })
  }
  const { token } = await app.tasks.submitComponentTask({ ...request, requestId: reply.request.id, caller: reply.request.caller?.id })
  return await reply.code(202).type('text/plain').send(token)
}

export default async function provisioningRoutes (app: FastifyInstance): Promise<void> {
  for (const kind of ['provision', 'unprovision'] as const) {
    const handler = async (request: FastifyRequest<{ Body: ProvisioningBody }>, reply: FastifyReply): Promise<FastifyReply> => {
      const body = request.body
      // Provision reads it too: the ids it carries spare a name lookup through the whole workspace.
      const enriched = typeof body.latestEnrichedDescriptor === 'string' ? body.latestEnrichedDescriptor : undefined
      const validated: ValidatedDescriptor = await app.validateDescriptor(body.descriptorKind, body.descriptor,
        enriched === undefined ? {} : { latestEnrichedDescriptor: enriched })
      return await submitOrFinish(app, reply, {
        kind,
        validated,
        descriptorText: String(body.descriptor),
        removeData: body.removeData === true
      })
    }
    const current = kind === 'provision' ? 'provision' : 'unprovision'
    app.post<{ Body: ProvisioningBody }>(`/v1/${kind}`, { schema: routeSchema(current) }, handler)
    app.post<{ Body: ProvisioningBody }>(`/${kind}`, { schema: routeSchema(`${current}Legacy`) }, handler)
  }
}
