/**
 * The provision steps up to the connection: workspace, source, destination, stream check, connection. Each
 * is safe to run twice: it looks for what an earlier run made (recorded id, else the name in the workspace)
 * before creating anything, and records a new id in the state the moment Airbyte returns it.
 */
import { DescriptorInvalidError, PermanentUpstreamError } from '../../errors.js'
import type { Step, StepContext } from '../handler.js'
import { stripUtc, type ConnectionBody, type ConnectionResponse } from './airbyte-client.js'
import { connectorDefinition, DESTINATION, noConnectorHint, SOURCE, type ConnectorKind, type ConnectorResource } from './airbyte-connectors.js'
import type { ScheduleSpec } from './airbyte-schema.js'
import { clientFor, requireWorkspace, specificOf, type AirbyteHandlerDeps, type AirbyteState } from './airbyte-state.js'
import { describeProblems, desiredStreams, listed, streamProblems, streamsDiffer } from './airbyte-streams.js'

type Ctx = StepContext<AirbyteState>

export function provisionResourceSteps (deps: AirbyteHandlerDeps): Array<Step<AirbyteState>> {
  return [
    { name: 'resolve-workspace', run: async (ctx) => { await resolveWorkspace(deps, ctx) } },
    { name: 'ensure-source', run: async (ctx) => { await ensureConnector(deps, ctx, SOURCE) } },
    { name: 'ensure-destination', run: async (ctx) => { await ensureConnector(deps, ctx, DESTINATION) } },
    { name: 'check-streams', run: async (ctx) => { await checkStreams(deps, ctx) } },
    { name: 'ensure-connection', run: async (ctx) => { await ensureConnection(deps, ctx) } }
  ]
}

async function resolveWorkspace (deps: AirbyteHandlerDeps, ctx: Ctx): Promise<void> {
  const workspaceId = requireWorkspace(specificOf(ctx.component), deps.config)
  // Fails with Airbyte's own 404 reason when the workspace does not exist (or the credentials cannot see it).
  await clientFor(deps, ctx.signal).getWorkspace(workspaceId, ctx.signal)
  ctx.state.workspaceId = workspaceId
  ctx.log.info(`Airbyte workspace ${workspaceId}`)
}

function recordedWorkspace (ctx: Ctx): string {
  const ws = ctx.state.workspaceId
  if (ws === undefined) throw new Error('the workspace was not resolved: the resolve-workspace step must run first')
  return ws
}

async function ensureConnector (deps: AirbyteHandlerDeps, ctx: Ctx, kind: ConnectorKind): Promise<void> {
  const client = clientFor(deps, ctx.signal)
  const spec = specificOf(ctx.component)[kind.kind]
  const workspaceId = recordedWorkspace(ctx)
  const definition = connectorDefinition(spec, kind, deps.config)
  if (definition === undefined) {
    throw new DescriptorInvalidError([{ path: `${kind.kind}.definitionId`, message: `the ${kind.kind} names no connector`, hint: noConnectorHint(kind) }])
  }

  let existing: ConnectorResource | undefined
  const recorded = ctx.state[kind.stateKey]
  if (recorded !== undefined) existing = await kind.get(client, recorded, ctx.signal)
  if (existing === undefined) {
    const found = await kind.findByName(client, workspaceId, spec.name, ctx.signal)
    if (found !== undefined && found.count > 1) {
      ctx.log.warn(`${found.count} ${kind.kind}s are named "${spec.name}" in workspace ${workspaceId}; using the oldest, ${found.resource.id}`)
    }
    existing = found?.resource
  }

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
    // Stored secrets come back masked, so a stored configuration cannot be compared: always send it again.
    const configuration = await ctx.secrets.resolve(spec.connectionConfiguration)
    await kind.patch(client, existing.id, { name: spec.name, configuration }, ctx.signal)
    ctx.log.info(`${kind.kind} "${spec.name}" updated (${existing.id}); its configuration is always sent again`)
    return
  }
  const configuration = await ctx.secrets.resolve(spec.connectionConfiguration)
  const created = await kind.create(client, { name: spec.name, workspaceId, configuration, definitionId: definition.definitionId }, ctx.signal)
  ctx.state[kind.stateKey] = created.id
  const how = definition.via === 'default' ? `, connector definition ${String(definition.definitionId)} (the deployment default)` : ''
  ctx.log.info(`${kind.kind} "${spec.name}" created (${created.id}${how})`)
}

async function checkStreams (deps: AirbyteHandlerDeps, ctx: Ctx): Promise<void> {
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

async function ensureConnection (deps: AirbyteHandlerDeps, ctx: Ctx): Promise<void> {
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

  let existing: ConnectionResponse | undefined
  if (ctx.state.connectionId !== undefined) existing = await client.getConnection(ctx.state.connectionId, ctx.signal)
  if (existing?.status === 'deprecated') existing = undefined
  if (existing === undefined) {
    const found = await client.findConnectionByName(workspaceId, connection.name, ctx.signal)
    if (found !== undefined && found.count > 1) {
      ctx.log.warn(`${found.count} connections are named "${connection.name}" in workspace ${workspaceId}; using the oldest, ${found.resource.connectionId}`)
    }
    existing = found?.resource
  }

  if (existing === undefined) {
    const created = await client.createConnection({ sourceId, destinationId, ...desired }, ctx.signal)
    ctx.state.connectionId = created.connectionId
    ctx.log.info(`connection "${connection.name}" created (${created.connectionId})`)
    return
  }
  ctx.state.connectionId = existing.connectionId
  if (existing.sourceId !== sourceId || existing.destinationId !== destinationId) {
    throw new PermanentUpstreamError(
      `connection "${connection.name}" (${existing.connectionId}) links source ${existing.sourceId} and destination ${existing.destinationId}, ` +
      `not the ones this component provisions (${sourceId}, ${destinationId}); Airbyte cannot relink a connection: rename or delete it`)
  }
  const changed = connectionChanges(existing, desired)
  if (changed.length === 0) {
    ctx.log.info(`connection "${connection.name}" unchanged (${existing.connectionId})`)
    return
  }
  await client.patchConnection(existing.connectionId, desired, ctx.signal)
  ctx.log.info(`connection "${connection.name}" updated (${existing.connectionId}): ${changed.join(', ')}`)
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
