/**
 * Status of any provision, unprovision or updateacl task, read from Redis so any replica answers for any task.
 * An unknown or expired token is a 400, never COMPLETED; so is a token of another kind of task (each status
 * route answers only for the operations it documents).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { UnknownTokenError } from '../errors.js'
import { routeSchema } from '../openapi/openapi-spec.js'
import type { TaskKind, TaskView } from '../queue/task-types.js'
import { provisioningStatus } from './task-replies.js'

/** The kinds of task the provision status routes answer for (openapi.yaml: getStatus, statusLegacy). */
export const PROVISIONING_KINDS: readonly TaskKind[] = ['provision', 'unprovision', 'updateacl']

export async function readTask (app: FastifyInstance, token: string, kinds: readonly TaskKind[]): Promise<TaskView> {
  const task = await app.tasks.get(token)
  // A token of another kind is unknown here, not a reply in the wrong shape (a validation read as a provision).
  if (task === undefined || !kinds.includes(task.kind)) throw new UnknownTokenError(token)
  return task
}

export default async function statusRoutes (app: FastifyInstance): Promise<void> {
  const handler = async (request: FastifyRequest<{ Params: { token: string } }>): Promise<Record<string, unknown>> =>
    provisioningStatus(await readTask(app, request.params.token, PROVISIONING_KINDS))
  // Orchestrators poll these every few seconds per task: log them only when something goes wrong.
  app.get<{ Params: { token: string } }>('/v1/provision/:token/status', { schema: routeSchema('getStatus'), logLevel: 'warn' }, handler)
  app.get<{ Params: { token: string } }>('/provision/:token/status', { schema: routeSchema('statusLegacy'), logLevel: 'warn' }, handler)
}
