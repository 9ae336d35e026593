/**
 * `/connections`: a source-to-destination link with its schedule, namespace rules and selected streams.
 * Reproduces what Airbyte does on create (synchronous schema discovery, every stream selected with
 * `full_refresh_overwrite` when none are given) and on read (cron expressions come back with " UTC" appended).
 */
import { randomUUID } from 'node:crypto'
import { setTimeout as delay } from 'node:timers/promises'
import { selectStreams } from './airbyte-catalog.js'
import { isPlainObject, optionalEnum, optionalString, requireBody, requireString } from './airbyte-http.js'
import { paginate, queryList } from './airbyte-paging.js'
import { badRequest, resourceNotFound } from './airbyte-problems.js'
import type { RouteContext, SimulatorRoute } from './airbyte-router.js'
import {
  type ConnectionResponse, type ConnectionSchedule, epochSeconds, type NamespaceDefinition,
  type StreamConfiguration, type StreamProperties
} from './airbyte-state.js'

const NAMESPACE_DEFINITIONS: readonly NamespaceDefinition[] = ['source', 'destination', 'custom_format']
/** `deprecated` is what deletion sets in Airbyte; clients cannot ask for it. */
const SETTABLE_STATUSES = ['active', 'inactive'] as const
/** Quartz's optional seventh field is a year; anything else there (such as a round-tripped "UTC") is invalid. */
const QUARTZ_YEAR_FIELD = /^[\d*,/-]+$/

interface ConnectionFields {
  name?: string
  status?: typeof SETTABLE_STATUSES[number]
  schedule?: ConnectionSchedule
  namespaceDefinition?: NamespaceDefinition
  namespaceFormat?: string
  prefix?: string
  streams?: StreamConfiguration[]
}

function readSchedule (value: unknown): ConnectionSchedule | undefined {
  if (value === undefined || value === null) return undefined
  if (!isPlainObject(value)) throw badRequest('schedule must be an object')
  const scheduleType = optionalEnum(value, 'scheduleType', ['manual', 'cron'] as const)
  if (scheduleType === undefined) throw badRequest('schedule.scheduleType is required')
  if (scheduleType === 'manual') return { scheduleType }
  const expression = optionalString(value, 'cronExpression')?.trim()
  if (expression === undefined || expression === '') {
    throw badRequest('schedule.cronExpression is required when scheduleType is cron')
  }
  const fields = expression.split(/\s+/)
  if ((fields.length !== 6 && fields.length !== 7) ||
    (fields.length === 7 && !QUARTZ_YEAR_FIELD.test(fields[6] as string))) {
    throw badRequest(`Invalid cron expression: ${expression} (a Quartz expression has 6 or 7 fields)`)
  }
  // Airbyte stores the time zone separately and reads the schedule back as "<expression> UTC".
  return { scheduleType, cronExpression: `${expression} UTC` }
}

function readConnectionFields (body: Record<string, unknown>, catalog: StreamProperties[]): ConnectionFields {
  return {
    name: optionalString(body, 'name'),
    status: optionalEnum(body, 'status', SETTABLE_STATUSES),
    schedule: readSchedule(body.schedule),
    namespaceDefinition: optionalEnum(body, 'namespaceDefinition', NAMESPACE_DEFINITIONS),
    namespaceFormat: optionalString(body, 'namespaceFormat'),
    prefix: optionalString(body, 'prefix'),
    streams: body.configurations === undefined ? undefined : selectStreams(catalog, body.configurations)
  }
}

function findConnection (ctx: RouteContext): ConnectionResponse {
  const connectionId = ctx.params.connectionId as string
  const connection = ctx.store.connections.get(connectionId)
  if (connection === undefined) throw resourceNotFound('connection', connectionId)
  return connection
}

export const connectionRouteTable: SimulatorRoute[] = [
  {
    method: 'GET',
    path: '/connections',
    handle: (ctx) => {
      const workspaceIds = queryList(ctx.query, 'workspaceIds')
      const all = [...ctx.store.connections.values()]
        .filter((connection) => workspaceIds.length === 0 || workspaceIds.includes(connection.workspaceId))
      return { status: 200, body: paginate(all, ctx.query, ctx.selfUrl) }
    }
  },
  {
    method: 'POST',
    path: '/connections',
    handle: async (ctx) => {
      const body = requireBody(ctx.body)
      const sourceId = requireString(body, 'sourceId')
      const destinationId = requireString(body, 'destinationId')
      const source = ctx.store.sources.get(sourceId)
      if (source === undefined) throw resourceNotFound('source', sourceId)
      const destination = ctx.store.destinations.get(destinationId)
      if (destination === undefined) throw resourceNotFound('destination', destinationId)
      const catalog = ctx.store.sourceCatalogs.get(sourceId) ?? []
      const fields = readConnectionFields(body, catalog)
      // Airbyte discovers the source schema synchronously inside this call, which is why it can take tens of seconds.
      if (ctx.settings.discoverDelayMs > 0) await delay(ctx.settings.discoverDelayMs)
      const connection: ConnectionResponse = {
        connectionId: randomUUID(),
        name: fields.name ?? `${source.name} → ${destination.name}`,
        sourceId,
        destinationId,
        workspaceId: source.workspaceId,
        status: fields.status ?? 'active',
        schedule: fields.schedule ?? { scheduleType: 'manual' },
        namespaceDefinition: fields.namespaceDefinition ?? 'destination',
        configurations: { streams: fields.streams ?? selectStreams(catalog, undefined) },
        createdAt: epochSeconds()
      }
      if (fields.namespaceFormat !== undefined) connection.namespaceFormat = fields.namespaceFormat
      if (fields.prefix !== undefined) connection.prefix = fields.prefix
      ctx.store.connections.set(connection.connectionId, connection)
      return { status: 200, body: connection }
    }
  },
  {
    method: 'GET',
    path: '/connections/:connectionId',
    handle: (ctx) => ({ status: 200, body: findConnection(ctx) })
  },
  {
    method: 'PATCH',
    path: '/connections/:connectionId',
    handle: (ctx) => {
      const connection = findConnection(ctx)
      const body = requireBody(ctx.body)
      const fields = readConnectionFields(body, ctx.store.sourceCatalogs.get(connection.sourceId) ?? [])
      if (fields.name !== undefined) connection.name = fields.name
      if (fields.status !== undefined) connection.status = fields.status
      if (fields.schedule !== undefined) connection.schedule = fields.schedule
      if (fields.namespaceDefinition !== undefined) connection.namespaceDefinition = fields.namespaceDefinition
      if (fields.namespaceFormat !== undefined) connection.namespaceFormat = fields.namespaceFormat
      if (fields.prefix !== undefined) connection.prefix = fields.prefix
      if (fields.streams !== undefined) connection.configurations = { streams: fields.streams }
      return { status: 200, body: connection }
    }
  },
  {
    method: 'DELETE',
    path: '/connections/:connectionId',
    handle: (ctx) => {
      ctx.store.connections.delete(findConnection(ctx).connectionId)
      return { status: 204 }
    }
  }
]
