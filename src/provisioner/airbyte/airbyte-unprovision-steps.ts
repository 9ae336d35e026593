/**
 * The unprovision steps: find what the component made (ids from the deployed descriptor's privateInfo or this
 * service's resource ledger, else names), optionally clear the synced data, then delete connection, destination
 * and source. Something already gone counts as deleted (and leaves the ledger); a source or destination another
 * connection still uses is left in place.
 */
import type { Step, StepContext } from '../handler.js'
import type { AirbyteClient, ConnectionResponse } from './airbyte-client.js'
import { DESTINATION, SOURCE, type ConnectorKind, type ConnectorResource } from './airbyte-connectors.js'
import type { AirbyteSpecific } from './airbyte-schema.js'
import { jobSteps } from './airbyte-job-steps.js'
import { clientFor, requireWorkspace, type AirbyteStepDeps, type AirbyteState } from './airbyte-state.js'

type Ctx = StepContext<AirbyteState>

export function unprovisionSteps (deps: AirbyteStepDeps): Array<Step<AirbyteState>> {
  return [
    { name: 'find-resources', run: async (ctx) => { await findResources(deps, ctx) } },
    ...jobSteps(deps, 'clear'),
    { name: 'delete-connection', run: async (ctx) => { await deleteConnection(deps, ctx) } },
    { name: 'delete-destination', run: async (ctx) => { await deleteConnector(deps, ctx, DESTINATION) } },
    { name: 'delete-source', run: async (ctx) => { await deleteConnector(deps, ctx, SOURCE) } }
  ]
}

function privateId (ctx: Ctx, key: string): string | undefined {
  const value = ctx.component.info?.privateInfo?.[key]
  return typeof value === 'string' && value !== '' ? value : undefined
}

async function findResources (deps: AirbyteStepDeps, ctx: Ctx): Promise<void> {
  const client = clientFor(deps, ctx.signal)
  const specific = ctx.component.specific as Partial<AirbyteSpecific> | undefined
  const workspaceId = privateId(ctx, 'workspaceId') ?? requireWorkspace(specific, deps.config)
  ctx.state.workspaceId = workspaceId

  const connectionName = specific?.connection?.name
  const owned = await ctx.ledger.read()
  let connection: ConnectionResponse | undefined
  const recorded = privateId(ctx, 'connectionId') ?? owned.connection?.id
  if (recorded !== undefined) connection = await client.getConnection(recorded, ctx.signal)
  if (connection?.status === 'deprecated') connection = undefined
  if (connection === undefined && connectionName !== undefined) {
    connection = (await client.findConnectionByName(workspaceId, connectionName, ctx.signal))?.resource
  }
  ctx.state.connectionId = connection?.connectionId
  ctx.log.info(connection === undefined
    ? `connection "${connectionName ?? recorded ?? '?'}" not found in workspace ${workspaceId}: nothing to delete`
    : `connection "${connection.name}" found (${connection.connectionId})`)

  for (const kind of [SOURCE, DESTINATION]) {
    const name = specific?.[kind.kind]?.name
    const id = privateId(ctx, kind.stateKey) ?? owned[kind.kind]?.id ?? connection?.[kind.stateKey]
    let found = id === undefined ? undefined : await kind.get(client, id, ctx.signal)
    if (found === undefined && name !== undefined) found = (await kind.findByName(client, workspaceId, name, ctx.signal))?.resource
    ctx.state[kind.stateKey] = found?.id
    ctx.log.info(found === undefined
      ? `${kind.kind} "${name ?? id ?? '?'}" not found: nothing to delete`
      : `${kind.kind} "${found.name}" found (${found.id})`)
  }
}

async function deleteConnection (deps: AirbyteStepDeps, ctx: Ctx): Promise<void> {
  const id = ctx.state.connectionId
  if (id === undefined) return
  const outcome = await clientFor(deps, ctx.signal).deleteConnection(id, ctx.signal)
  await ctx.ledger.forget('connection')
  if (ctx.state.workspaceId !== undefined) deps.listings.removed<ConnectionResponse>('connections', ctx.state.workspaceId, (c) => c.connectionId, id)
  ctx.log.info(outcome === 'deleted' ? `connection ${id} deleted` : `connection ${id} was already gone`)
}

async function deleteConnector (deps: AirbyteStepDeps, ctx: Ctx, kind: ConnectorKind): Promise<void> {
  const id = ctx.state[kind.stateKey]
  if (id === undefined || ctx.state.workspaceId === undefined) return
  const client = clientFor(deps, ctx.signal)
  const users = await otherUsers(client, ctx.state.workspaceId, kind, id, ctx)
  if (users.length > 0) {
    // Deleting it would make Airbyte delete those connections too, and they belong to someone else.
    ctx.log.warn(`${kind.kind} ${id} is left in place: still used by connection(s) ${users.map((c) => `"${c.name}" (${c.connectionId})`).join(', ')}`)
    return
  }
  const outcome = await kind.remove(client, id, ctx.signal)
  await ctx.ledger.forget(kind.kind)
  deps.listings.removed<ConnectorResource>(kind.collection, ctx.state.workspaceId, (r) => r.id, id)
  ctx.log.info(outcome === 'deleted' ? `${kind.kind} ${id} deleted` : `${kind.kind} ${id} was already gone`)
}

async function otherUsers (client: AirbyteClient, workspaceId: string, kind: ConnectorKind, id: string, ctx: Ctx): Promise<ConnectionResponse[]> {
  const connections = await client.listConnections(workspaceId, ctx.signal)
  return connections.filter((c) => c[kind.stateKey] === id && c.connectionId !== ctx.state.connectionId && c.status !== 'deprecated')
}
