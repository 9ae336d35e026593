/**
 * Update ACL: desired-state access for a provisioned component. Accepts the legacy `acl {users, groups}` and the
 * current `refs` shapes, normalised to refs (every identity checked); `provisionInfo.request` is the
 * COMPONENT_DESCRIPTOR of the last provisioning (JSON or YAML), and the component must be one this adapter
 * provisioned.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { DescriptorInvalidError } from '../errors.js'
import { routeSchema } from '../openapi/openapi-spec.js'
import { submitOrFinish } from './provisioning-routes.js'
import { normaliseRefs } from '../descriptor/identity-refs.js'
import type { ValidatedDescriptor } from '../descriptor/types.js'

interface UpdateAclBody {
  refs?: unknown
  acl?: { users?: unknown, groups?: unknown }
  provisionInfo?: { request?: unknown, result?: unknown }
}

/** Access to a component this adapter never provisioned (or has since unprovisioned) cannot be granted. */
async function requireProvisioned (app: FastifyInstance, validated: ValidatedDescriptor): Promise<void> {
  const records = await Promise.all(validated.targets.map(async (t) => ({ id: t.component.id, record: await app.provisioned.get(t.component.id) })))
  const missing = records.filter((r) => r.record === undefined)
  if (missing.length === 0) return
  throw new DescriptorInvalidError(missing.map((r) => ({
    path: 'provisionInfo.request',
    message: `component ${r.id} was never provisioned by this adapter; provision it first`,
    hint: 'Provision the component (POST /v1/provision) and wait for COMPLETED before updating its access.'
  })))
}

export default async function updateAclRoutes (app: FastifyInstance): Promise<void> {
  const handler = async (request: FastifyRequest<{ Body: UpdateAclBody }>, reply: FastifyReply): Promise<FastifyReply> => {
    const body = request.body
    const descriptor = body.provisionInfo?.request
    if (typeof descriptor !== 'string' || descriptor.trim() === '') {
      throw new DescriptorInvalidError([{
        path: 'provisionInfo.request',
        message: 'is required: the COMPONENT_DESCRIPTOR used at the last provisioning',
        hint: 'Send provisionInfo.request as the descriptor string (JSON or YAML).'
      }])
    }
    const refs = normaliseRefs(body)
    const validated = await app.validateDescriptor('COMPONENT_DESCRIPTOR', descriptor)
    await requireProvisioned(app, validated)
    return await submitOrFinish(app, reply, { kind: 'updateacl', validated, descriptorText: descriptor, refs })
  }
  app.post<{ Body: UpdateAclBody }>('/v1/updateacl', { schema: routeSchema('updateAcl') }, handler)
  app.post<{ Body: UpdateAclBody }>('/updateacl', { schema: routeSchema('updateAclLegacy') }, handler)
}
