/**
 * The provision steps up to the connection: workspace, source, destination, stream check, connection. Each
 * is safe to run twice. A resource is found by id whenever one is known (the checkpoint, this service's
 * resource ledger, the deployed descriptor's privateInfo), else by name in the workspace through the listing
 * this process's tasks share; an id Airbyte no longer knows falls back to the name, and the log says so. A
 * create is announced in the ledger before it is sent and recorded the moment Airbyte returns the id, so a crash
 * in between makes the resume list the workspace afresh instead of creating a second one. A source or
 * destination is patched only when what would be sent differs from what this service last sent (an HMAC
 * fingerprint, since Airbyte reads secrets back masked).
 */
import { DescriptorInvalidError, PermanentUpstreamError } from '../../errors.js'
import type { OwnedResource, Step, StepContext } from '../handler.js'
import { stripUtc, type ConnectionBody, type ConnectionResponse } from './airbyte-client.js'
import { connectorDefinition, DESTINATION, noConnectorHint, SOURCE, type ConnectorKind, type ConnectorResource } from './airbyte-connectors.js'
import type { ScheduleSpec } from './airbyte-schema.js'
import { clientFor, requireWorkspace, specificOf, type AirbyteStepDeps, type AirbyteState } from './airbyte-state.js'
import { describeProblems, desiredStreams, listed, streamProblems, streamsDiffer } from './airbyte-streams.js'

type Ctx = StepContext<AirbyteState>
type IdKey = 'sourceId' | 'destinationId' | 'connectionId'

export function provisionResourceSteps (deps: AirbyteStepDeps): Array<Step<AirbyteState>> {
  return [
    { name: 'resolve-workspace', run: async (ctx) => { resolveWorkspace(deps, ctx) } },
    { name: 'ensure-source', run: async (ctx) => { await ensureConnector(deps, ctx, SOURCE) } },
    { name: 'ensure-destination', run: async (ctx) => { await ensureConnector(deps, ctx, DESTINATION) } },
    { name: 'check-streams', run: async (ctx) => { await checkStreams(deps, ctx) } },
    { name: 'ensure-connection', run: async (ctx) => { await ensureConnection(deps, ctx) } }
  ]
}

/**
 * No call: every later call names the workspace and proves it exists (a resource read by id carries its
 * workspaceId, a create in a missing workspace fails with Airbyte's own 404 reason).
 */
function resolveWorkspace (deps: AirbyteStepDeps, ctx: Ctx): void {
  const workspaceId = requireWorkspace(specificOf(ctx.component), deps.config)
  ctx.state.workspaceId = workspaceId
  ctx.log.info(`Airbyte workspace ${workspaceId}`)
}

function recordedWorkspace (ctx: Ctx): string {
  const ws = ctx.state.workspaceId
  if (ws === undefined) throw new Error('the workspace was not resolved: the resolve-workspace step must run first')
  return ws
}

function privateId (ctx: Ctx, key: IdKey): string | undefined {
  const value = ctx.component.info?.privateInfo?.[key]
  return typeof value === 'string' && value !== '' ? value : undefined
}

/** The ids known for a resource, best first, each with where it came from (for the log). */
function knownIds (ctx: Ctx, key: IdKey, owned: OwnedResource | undefined): Array<{ id: string, from: string }> {
  const out: Array<{ id: string, from: string }> = []
  const add = (id: string | undefined, from: string): void => { if (id !== undefined && !out.some((k) => k.id === id)) out.push({ id, from }) }
  add(ctx.state[key], 'this task\'s checkpoint')
  add(owned?.id, 'this service\'s resource record')
  add(privateId(ctx, key), 'the deployed descriptor\'s privateInfo')
  return out
}

/**
 * The first known id Airbyte still has in this workspace, or undefined; each id that no longer exists is logged.
 */
async function findById<T extends { workspaceId?: string }> (ctx: Ctx, label: string, ids: Array<{ id: string, from: string }>,
  get: (id: string) => Promise<T | undefined>): Promise<T | undefined> {
  const workspaceId = recordedWorkspace(ctx)
  for (const { id, from } of ids) {
    const found = await get(id)
    if (found !== undefined && (found.workspaceId === undefined || found.workspaceId === workspaceId)) return found
    ctx.log.info(found === undefined
      ? `${label} ${id} (from ${from}) no longer exists in Airbyte; looking it up by name`
      : `${label} ${id} (from ${from}) is in workspace ${String(found.workspaceId)}, not ${workspaceId}; looking it up by name`)
  }
  return undefined
}

async function ensureConnector (deps: AirbyteStepDeps, ctx: Ctx, kind: ConnectorKind): Promise<void> {
  const client = clientFor(deps, ctx.signal)
  const spec = specificOf(ctx.component)[kind.kind]
  const workspaceId = recordedWorkspace(ctx)
  const definition = connectorDefinition(spec, kind, deps.config)
  if (definition === undefined) {
    throw new DescriptorInvalidError([{ path: `${kind.kind}.definitionId`, message: `the ${kind.kind} names no connector`, hint: noConnectorHint(kind) }])
  }

  const owned = (await ctx.ledger.read())[kind.kind]
  let existing = await findById(ctx, kind.kind, knownIds(ctx, kind.stateKey, owned), async (id) => await kind.get(client, id, ctx.signal))
  if (existing === undefined) {
    const { found, total } = await deps.listings.find<ConnectorResource>({
      collection: kind.collection,
      workspaceId,
      name: spec.name,
      load: async () => await kind.list(client, workspaceId, ctx.signal),
      idOf: (r) => r.id,
      // A create may have landed before the process died: a listing from before it would not show it.
      fresh: owned?.creating !== undefined,
      keep: slimConnector
    })
    if (found !== undefined && found.count > 1) {
      ctx.log.warn(`${found.count} ${kind.kind}s are named "${spec.name}" in workspace ${workspaceId}; using the oldest, ${found.resource.id}`)
    }
    if (kind === SOURCE) ctx.state.noSourcesBefore = total === 0
    existing = found?.resource
  }

  const configuration = await ctx.secrets.resolve(spec.connectionConfiguration)
  const sent = await ctx.ledger.fingerprint({ name: spec.name, configuration, definitionId: definition.definitionId })
  if (existing !== undefined) {
    ctx.state[kind.stateKey] = existing.id
    const otherConnector = definition.definitionId !== undefined && existing.definitionId !== undefined && existing.definitionId !== definition.definitionId
    if (otherConnector && definition.via === 'default') {
      ctx.log.warn(`${kind.kind} "${spec.name}" keeps its connector definition ${String(existing.definitionId)}; the deployment default ${kind.defaultEnv} is now ${String(definition.definitionId)}`)
    } else if (otherConnector) {
      throw new PermanentUpstreamError(
        `${kind.kind} "${spec.name}" (${existing.id}) exists with connector definition ${existing.definitionId}, ` +
        `but the descriptor asks for ${definition.definitionId}; Airbyte cannot change a ${kind.kind}'s connector: rename or delete it`)
    }
    // Stored secrets come back masked, so what Airbyte holds cannot be compared: what this service sent last can.
    if (owned?.id === existing.id && owned.sent === sent) {
      ctx.log.info(`${kind.kind} "${spec.name}" left as it was (${existing.id}): its name and configuration are what this service last sent`)
      return
    }
    await ctx.ledger.write(kind.kind, { id: existing.id })
    await kind.patch(client, existing.id, { name: spec.name, configuration }, ctx.signal)
    await ctx.ledger.write(kind.kind, { id: existing.id, sent })
    const why = owned?.id === existing.id && owned.sent !== undefined ? 'its name or configuration changed since this service last sent it' : 'this service has no record of what it holds'
    ctx.log.info(`${kind.kind} "${spec.name}" updated (${existing.id}): ${why}`)
    return
  }
  await ctx.ledger.write(kind.kind, { creating: Date.now() })
  const created = await kind.create(client, { name: spec.name, workspaceId, configuration, definitionId: definition.definitionId }, ctx.signal)
  await ctx.ledger.write(kind.kind, { id: created.id, sent })
  deps.listings.added(kind.collection, workspaceId, slimConnector(created))
  ctx.state[kind.stateKey] = created.id
  const how = definition.via === 'default' ? `, connector definition ${String(definition.definitionId)} (the deployment default)` : ''
  ctx.log.info(`${kind.kind} "${spec.name}" created (${created.id}${how})`)
}

async function checkStreams (deps: AirbyteStepDeps, ctx: Ctx): Promise<void> {
  const { source, connection } = specificOf(ctx.component)
  const sourceId = ctx.state.sourceId
  if (sourceId === undefined) throw new Error('the source was not recorded: the ensure-source step must run first')
  const catalog = await clientFor(deps, ctx.signal).getStreams(sourceId, ctx.signal)
  const problems = streamProblems(connection.streams, catalog)
  if (problems.length > 0) {
    throw new PermanentUpstreamError(`the streams requested do not match what source "${source.name}" offers: ${describeProblems(problems)}`)
  }
  ctx.state.streams = desiredStreams(connection.streams, catalog)
  const which = connection.streams === undefined || connection.streams.length === 0 ? 'every stream the source offers' : 'as requested'
  ctx.log.info(`${ctx.state.streams.length} stream(s) selected, ${which}: ${listed(ctx.state.streams.map((s) => s.name))}`)
}

async function ensureConnection (deps: AirbyteStepDeps, ctx: Ctx): Promise<void> {
  const client = clientFor(deps, ctx.signal)
  const { connection } = specificOf(ctx.component)
  const workspaceId = recordedWorkspace(ctx)
  const { sourceId, destinationId, streams } = ctx.state
  if (sourceId === undefined || destinationId === undefined || streams === undefined) {
    throw new Error('source, destination and streams must be resolved before the connection')
  }
  const desired: ConnectionBody = {
    name: connection.name,
    schedule: scheduleBody(connection.schedule),
    ...(connection.namespaceDefinition === undefined ? {} : { namespaceDefinition: connection.namespaceDefinition }),
    ...(connection.namespaceFormat === undefined ? {} : { namespaceFormat: connection.namespaceFormat }),
    ...(connection.prefix === undefined ? {} : { prefix: connection.prefix }),
    configurations: { streams },
    status: connection.status ?? 'active'
  }

  const owned = (await ctx.ledger.read()).connection
  const live = (c: ConnectionResponse | undefined): ConnectionResponse | undefined => c?.status === 'deprecated' ? undefined : c
  let existing = await findById(ctx, 'connection', knownIds(ctx, 'connectionId', owned), async (id) => live(await client.getConnection(id, ctx.signal)))
  // Airbyte deletes a source's connections with it: in a workspace that had no source, no connection exists.
  const nothingToFind = ctx.state.noSourcesBefore === true && owned?.creating === undefined
  if (existing === undefined && !nothingToFind) {
    const { found } = await deps.listings.find<ConnectionResponse, ListedConnection>({
      collection: 'connections',
      workspaceId,
      name: connection.name,
      load: async () => await client.listConnections(workspaceId, ctx.signal),
      idOf: (c) => c.connectionId,
      live: (c) => c.status !== 'deprecated',
      fresh: owned?.creating !== undefined,
      keep: slimConnection
    })
    if (found !== undefined && found.count > 1) {
      ctx.log.warn(`${found.count} connections are named "${connection.name}" in workspace ${workspaceId}; using the oldest, ${found.resource.connectionId}`)
    }
    // The shared listing tells which connection it is; what it holds now is read afresh, to compare.
    existing = found === undefined ? undefined : live(await client.getConnection(found.resource.connectionId, ctx.signal))
  }

  if (existing === undefined) {
    await ctx.ledger.write('connection', { creating: Date.now() })
    const created = await client.createConnection({ sourceId, destinationId, ...desired }, ctx.signal)
    await ctx.ledger.write('connection', { id: created.connectionId })
    deps.listings.added('connections', workspaceId, slimConnection(created))
    ctx.state.connectionId = created.connectionId
    ctx.log.info(`connection "${connection.name}" created (${created.connectionId})`)
    return
  }
  ctx.state.connectionId = existing.connectionId
  if (owned?.id !== existing.connectionId) await ctx.ledger.write('connection', { id: existing.connectionId })
  if (existing.sourceId !== sourceId || existing.destinationId !== destinationId) {
    throw new PermanentUpstreamError(
      `connection "${connection.name}" (${existing.connectionId}) links source ${existing.sourceId} and destination ${existing.destinationId}, ` +
      `not the ones this component provisions (${sourceId}, ${destinationId}); Airbyte cannot relink a connection: rename or delete it`)
  }
  // A connection reads back in full (no secret in it), so it is compared with what Airbyte holds now.
  const changed = connectionChanges(existing, desired)
  if (changed.length === 0) {
    ctx.log.info(`connection "${connection.name}" left as it was (${existing.connectionId}): Airbyte holds what the descriptor asks for`)
    return
  }
  await client.patchConnection(existing.connectionId, desired, ctx.signal)
  ctx.log.info(`connection "${connection.name}" updated (${existing.connectionId}): ${changed.join(', ')}`)
}

// A listing holds every resource of a workspace for a while (30,000 in the benchmark's), so each entry keeps only
// what a lookup reads, and the few distinct workspace and definition ids are shared, not one copy per entry.
const NO_CONFIGURATION: Record<string, unknown> = Object.freeze({})
const sharedIds = new Map<string, string>()
function shared (id: string | undefined): string | undefined {
  if (id === undefined) return undefined
  const known = sharedIds.get(id)
  if (known !== undefined) return known
  if (sharedIds.size >= 1000) sharedIds.clear()
  sharedIds.set(id, id)
  return id
}

/** What a name lookup needs of a listed source or destination: its id, name, connector and age. */
function slimConnector (r: ConnectorResource): ConnectorResource {
  return { id: r.id, name: r.name, definitionId: shared(r.definitionId), workspaceId: shared(r.workspaceId) ?? r.workspaceId, configuration: NO_CONFIGURATION, createdAt: r.createdAt }
}

/** What a name lookup needs of a listed connection: which one it is (it is read afresh by id to compare). */
type ListedConnection = Pick<ConnectionResponse, 'connectionId' | 'name' | 'workspaceId' | 'status' | 'createdAt'>

function slimConnection (c: ConnectionResponse): ListedConnection {
  return { connectionId: c.connectionId, name: c.name, workspaceId: shared(c.workspaceId) ?? c.workspaceId, status: c.status, createdAt: c.createdAt }
}

function scheduleBody (schedule: ScheduleSpec | undefined): NonNullable<ConnectionBody['schedule']> {
  if (schedule?.scheduleType === 'cron' && schedule.cronExpression !== undefined) {
    return { scheduleType: 'cron', cronExpression: schedule.cronExpression.trim() }
  }
  return { scheduleType: 'manual' }
}

/** Names of the fields that differ, comparing only what the descriptor states. */
function connectionChanges (current: ConnectionResponse, desired: ConnectionBody): string[] {
  const changed: string[] = []
  if (current.name !== desired.name) changed.push('name')
  const schedule = desired.schedule
  if (schedule !== undefined && (current.schedule?.scheduleType !== schedule.scheduleType ||
      (schedule.scheduleType === 'cron' && stripUtc(current.schedule.cronExpression) !== schedule.cronExpression))) {
    changed.push('schedule')
  }
  for (const key of ['namespaceDefinition', 'namespaceFormat', 'prefix', 'status'] as const) {
    if (desired[key] !== undefined && (current[key] ?? '') !== desired[key]) changed.push(key)
  }
  if (streamsDiffer(current.configurations?.streams, desired.configurations?.streams ?? [])) changed.push('streams')
  return changed
}
