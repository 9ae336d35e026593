/**
 * Status of any provision, unprovision or updateacl task, read from Redis so any replica answers for any task.
 * An unknown or expired token is a 400, never COMPLETED.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { UnknownTokenError } from '../errors.js'
import { routeSchema } from '../openapi/openapi-spec.js'
import type { TaskView } from '../queue/task-types.js'
import { provisioningStatus } from './task-replies.js'

export async function readTask (app: FastifyInstance, token: string): Promise<TaskView> {
  const task = await app.tasks.get(token)
  if (task === undefined) throw new UnknownTokenError(token)
  return task
}

export default async function statusRoutes (app: FastifyInstance): Promise<void> {
  const handler = async (request: FastifyRequest<{ Params: { token: string } }>): Promise<Record<string, unknown>> =>
    provisioningStatus(await readTask(app, request.params.token))
  // Orchestrators poll these every few seconds per task: log them only when something goes wrong.
  app.get<{ Params: { token: string } }>('/v1/provision/:token/status', { schema: routeSchema('getStatus'), logLevel: 'warn' }, handler)
  app.get<{ Params: { token: string } }>('/provision/:token/status', { schema: routeSchema('statusLegacy'), logLevel: 'warn' }, handler)
}
