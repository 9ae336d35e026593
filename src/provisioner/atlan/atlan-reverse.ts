/**
 * Reverse provisioning: describe an existing Atlan Connection (by guid or exact name) and, when named, its
 * persona, as this handler's `specific` section, in dot-path updates into catalog-info. Usernames and group
 * names become identity refs again (a user's e-mail with its last @ replaced by _). Read-only.
 */
import { DescriptorInvalidError, PermanentUpstreamError } from '../../errors.js'
import type { ReverseProvisioningContext } from '../handler.js'
import type { AtlanEntity } from './atlan-client.js'
import { METADATA_ACTIONS } from './atlan-schema.js'
import { clientFor, type AtlanHandlerDeps } from './atlan-state.js'

const PREFIX = 'spec.mesh.specific'
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

function param (params: Record<string, unknown>, ...names: string[]): string | undefined {
  for (const name of names) {
    const v = params[name]
    if (typeof v === 'string' && v.trim() !== '') return v.trim()
  }
  return undefined
}

export async function reverseProvision (deps: AtlanHandlerDeps, ctx: ReverseProvisioningContext): Promise<{ updates: Record<string, unknown> }> {
  const byGuid = param(ctx.params, 'connectionGuid')
  const byName = param(ctx.params, 'connectionName')
  const either = param(ctx.params, 'connection')
  const guid = byGuid ?? (either !== undefined && GUID.test(either) ? either : undefined)
  const name = byName ?? (guid === undefined ? either : undefined)
  if (guid === undefined && name === undefined) {
    throw new DescriptorInvalidError([{
      path: 'params.connection',
      message: 'reverse provisioning needs the Atlan connection: params.connection (its guid or exact name), or params.connectionGuid / params.connectionName',
      hint: 'e.g. {"connection": "finance-cashflow-0", "persona": "finance-cashflow-0-consumers"}'
    }])
  }
  const client = clientFor(deps, ctx.signal)
  let connection: AtlanEntity | undefined
  if (guid !== undefined) {
    connection = (await client.getByGuid(guid, ctx.signal))?.entity
    if (connection === undefined || connection.typeName !== 'Connection' || connection.status === 'DELETED') throw new PermanentUpstreamError(`Atlan has no active connection ${guid}`, 404)
  } else {
    const found = await client.findByExactName('Connection', name as string, [], ctx.signal)
    // The index lags writes: a connection this service made a moment ago is read by its remembered guid.
    const recent = found.length === 0 ? await deps.recent.recall('Connection', name as string) : undefined
    if (recent !== undefined) found.push({ typeName: 'Connection', guid: recent.guid, attributes: { name } })
    if (found.length === 0) throw new PermanentUpstreamError(`Atlan has no connection named "${String(name)}"`, 404)
    if (found.length > 1) throw new PermanentUpstreamError(`${found.length} Atlan connections are named "${String(name)}" (${found.map((e) => e.guid).join(', ')}): pass params.connectionGuid`, 409)
    connection = (await client.getByGuid((found[0] as AtlanEntity).guid, ctx.signal))?.entity
    if (connection === undefined) throw new PermanentUpstreamError(`Atlan connection "${String(name)}" disappeared while it was read`, 404)
  }
  const a = connection.attributes
  const updates: Record<string, unknown> = {
    [`${PREFIX}.connection.name`]: a.name,
    [`${PREFIX}.connection.connectorType`]: a.connectorName
  }
  if (typeof a.category === 'string') updates[`${PREFIX}.connection.category`] = a.category
  const users: string[] = []
  for (const username of (a.adminUsers as string[] | undefined) ?? []) {
    // Service accounts (API tokens, OAuth clients) are added by the handler itself.
    if (username.startsWith('service-account-')) continue
    const user = await client.userByUsername(username, ctx.signal)
    const email = user?.email
    if (email === undefined || !email.includes('@')) {
      ctx.log.warn(`admin ${username} has no e-mail in Atlan: left out of adminUsers`)
      continue
    }
    const at = email.lastIndexOf('@')
    users.push(`user:${email.slice(0, at)}_${email.slice(at + 1)}`)
  }
  if (users.length > 0) updates[`${PREFIX}.connection.adminUsers`] = users
  const groups = ((a.adminGroups as string[] | undefined) ?? []).map((g) => `group:${g}`)
  if (groups.length > 0) updates[`${PREFIX}.connection.adminGroups`] = groups

  const personaName = param(ctx.params, 'persona', 'personaName')
  if (personaName !== undefined) {
    const found = await client.findByExactName('Persona', personaName, [], ctx.signal)
    if (found.length !== 1) throw new PermanentUpstreamError(found.length === 0 ? `Atlan has no persona named "${personaName}"` : `${found.length} Atlan personas are named "${personaName}"`, found.length === 0 ? 404 : 409)
    const persona = await client.getByGuid((found[0] as AtlanEntity).guid, ctx.signal)
    const policies = Object.values(persona?.referredEntities ?? {}).filter((p) => p.typeName === 'AuthPolicy' && p.status !== 'DELETED' && p.attributes.connectionQualifiedName === a.qualifiedName)
    const actions = [...new Set(policies.filter((p) => p.attributes.policySubCategory === 'metadata').flatMap((p) => (p.attributes.policyActions as string[] | undefined) ?? []))]
      .filter((x) => (METADATA_ACTIONS as readonly string[]).includes(x))
    updates[`${PREFIX}.persona.name`] = personaName
    if (actions.length > 0) updates[`${PREFIX}.persona.metadataActions`] = actions
    updates[`${PREFIX}.persona.dataAccess`] = policies.some((p) => p.attributes.policySubCategory === 'data')
  }
  ctx.log.info(`described Atlan connection "${String(a.name)}" (${connection.guid})`)
  return { updates }
}
