/**
 * Reverse provisioning: describe an existing Airbyte connection (with its source and destination) as the
 * `specific` section of a descriptor, as dot-path updates into catalog-info. Read-only. Secrets Airbyte masks
 * become `${secret:...}` placeholders the operator then fills in the secret store; nothing masked is copied.
 */
import { DescriptorInvalidError, PermanentUpstreamError } from '../../errors.js'
import type { ReverseProvisioningContext } from '../handler.js'
import { MASKED_SECRET, stripUtc, type ConnectionResponse, type StreamConfiguration } from './airbyte-client.js'
import { clientFor, type AirbyteHandlerDeps } from './airbyte-state.js'
import { secretNameFrom } from '../../secrets/secret-scope.js'

const PREFIX = 'spec.mesh.specific'

export async function reverseProvision (deps: AirbyteHandlerDeps, ctx: ReverseProvisioningContext): Promise<{ updates: Record<string, unknown> }> {
  const connectionId = param(ctx.params, 'connectionId')
  const connectionName = param(ctx.params, 'connectionName')
  if (connectionId === undefined && connectionName === undefined) {
    throw new DescriptorInvalidError([{
      path: 'params',
      message: 'reverse provisioning needs params.connectionId or params.connectionName',
      hint: 'pass the id of the Airbyte connection, or its exact name (with params.workspaceId when it is not the default workspace)'
    }])
  }
  const client = clientFor(deps, ctx.signal)
  let connection: ConnectionResponse | undefined
  if (connectionId !== undefined) {
    connection = await client.getConnection(connectionId, ctx.signal)
    if (connection === undefined || connection.status === 'deprecated') throw new PermanentUpstreamError(`Airbyte has no connection ${connectionId}`, 404)
  } else {
    const workspaceId = param(ctx.params, 'workspaceId') ?? deps.config.workspaceId
    if (workspaceId === undefined) {
      throw new DescriptorInvalidError([{ path: 'params.workspaceId', message: 'no Airbyte workspace to look the connection up in', hint: 'pass params.workspaceId or configure AIRBYTE_WORKSPACE_ID' }])
    }
    const found = await client.findConnectionByName(workspaceId, connectionName as string, ctx.signal)
    if (found === undefined) throw new PermanentUpstreamError(`Airbyte has no connection named "${String(connectionName)}" in workspace ${workspaceId}`, 404)
    if (found.count > 1) ctx.log.warn(`${found.count} connections are named "${String(connectionName)}"; describing the oldest, ${found.resource.connectionId}`)
    connection = found.resource
  }

  const source = await client.getSource(connection.sourceId, ctx.signal)
  const destination = await client.getDestination(connection.destinationId, ctx.signal)
  if (source === undefined) throw new PermanentUpstreamError(`the source ${connection.sourceId} of connection ${connection.connectionId} no longer exists`, 404)
  if (destination === undefined) throw new PermanentUpstreamError(`the destination ${connection.destinationId} of connection ${connection.connectionId} no longer exists`, 404)

  const slug = slugify(connection.name)
  const placeholders: string[] = []
  const updates: Record<string, unknown> = {}
  if (deps.config.workspaceId !== connection.workspaceId) updates[`${PREFIX}.workspaceId`] = connection.workspaceId
  for (const [kind, resource] of [['source', source], ['destination', destination]] as const) {
    updates[`${PREFIX}.${kind}.name`] = resource.name
    if (resource.definitionId !== undefined) updates[`${PREFIX}.${kind}.definitionId`] = resource.definitionId
    updates[`${PREFIX}.${kind}.connectionConfiguration`] = unmask(resource.configuration, `${slug}-${kind}`, placeholders)
  }
  updates[`${PREFIX}.connection.name`] = connection.name
  const schedule = connection.schedule
  updates[`${PREFIX}.connection.schedule`] = schedule?.scheduleType === 'cron'
    ? { scheduleType: 'cron', cronExpression: stripUtc(schedule.cronExpression) }
    : { scheduleType: 'manual' }
  if (schedule?.scheduleType === 'basic') ctx.log.warn(`connection "${connection.name}" has a basic schedule, which descriptors cannot express: described as manual`)
  for (const key of ['namespaceDefinition', 'namespaceFormat', 'prefix'] as const) {
    if (connection[key] !== undefined && connection[key] !== null) updates[`${PREFIX}.connection.${key}`] = connection[key]
  }
  updates[`${PREFIX}.connection.streams`] = (connection.configurations?.streams ?? []).map(streamSpec)
  if (connection.status === 'inactive') updates[`${PREFIX}.connection.status`] = 'inactive'

  ctx.log.info(`described connection "${connection.name}" (${connection.connectionId}) with source ${source.sourceId} and destination ${destination.destinationId}`)
  if (placeholders.length > 0) {
    ctx.log.warn(`Airbyte does not reveal secrets: create these in the descriptor secret store (DESCRIPTOR_SECRETS_DIR/<domain>/<name>, or <domain>/<dataProduct>/<name> for one data product) before provisioning: ${placeholders.join(', ')}`)
  }
  return { updates }
}

function param (params: Record<string, unknown>, key: string): string | undefined {
  const value = params[key]
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined
}

function streamSpec (s: StreamConfiguration): Record<string, unknown> {
  return {
    name: s.name,
    ...(s.syncMode === undefined ? {} : { syncMode: s.syncMode }),
    ...(s.cursorField === undefined || s.cursorField.length === 0 ? {} : { cursorField: s.cursorField }),
    ...(s.primaryKey === undefined || s.primaryKey.length === 0 ? {} : { primaryKey: s.primaryKey })
  }
}

/** A copy with every masked value replaced by a `${secret:<prefix>-<key path>}` placeholder. */
function unmask (value: unknown, prefix: string, placeholders: string[], path: string[] = []): unknown {
  if (value === MASKED_SECRET) {
    // A valid store name (secret-scope.ts): single separators, no path characters.
    const name = secretNameFrom([`${prefix}-${path[0] ?? ''}`, ...path.slice(1)])
    placeholders.push(name)
    return `\${secret:${name}}`
  }
  if (Array.isArray(value)) return value.map((v, i) => unmask(v, prefix, placeholders, [...path, String(i)]))
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, unmask(v, prefix, placeholders, [...path, k])]))
  }
  return value
}

export function slugify (name: string): string {
  const slug = name.normalize('NFKD').toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '')
  return slug === '' ? 'connection' : slug.slice(0, 120)
}
