/**
 * `/sources`, `/destinations` (Airbyte calls both "actors"; the two families behave identically) and
 * `/streams`, the discovered catalog of a source. Reproduces the quirks clients trip on: creates answer 200 and
 * are not idempotent, names are not unique, secrets come back masked, and deleting an actor deletes the
 * connections that use it.
 */
import { randomUUID } from 'node:crypto'
import { discoverCatalog } from './airbyte-catalog.js'
import {
  type ActorKind, maskSecrets, resolveConnector, type ResolvedConnector, restoreMaskedSecrets
} from './airbyte-connectors.js'
import { isPlainObject, optionalString, requireBody, requireString } from './airbyte-http.js'
import { paginate, queryList } from './airbyte-paging.js'
import { badRequest, resourceNotFound, unprocessableEntity } from './airbyte-problems.js'
import type { RouteContext, SimulatorRoute } from './airbyte-router.js'
import {
  type ConnectionResponse, type DestinationResponse, epochSeconds, type SimulatorStore, type SourceResponse
} from './airbyte-state.js'

type Actor = SourceResponse | DestinationResponse

interface ActorFields {
  name: string
  connector: ResolvedConnector
  workspaceId: string
  configuration: Record<string, unknown>
  createdAt: number
}

interface ActorFamily<T extends Actor> {
  kind: ActorKind
  collection: string
  items: (store: SimulatorStore) => Map<string, T>
  build: (id: string, fields: ActorFields) => T
  idOf: (actor: T) => string
  uses: (connection: ConnectionResponse, actorId: string) => boolean
  /** Keeps derived state (a source's catalog) in step with the configuration. */
  afterWrite?: (store: SimulatorStore, actor: T) => void
  afterDelete?: (store: SimulatorStore, actorId: string) => void
}

const sources: ActorFamily<SourceResponse> = {
  kind: 'source',
  collection: 'sources',
  items: (store) => store.sources,
  build: (sourceId, f) => ({
    sourceId,
    name: f.name,
    sourceType: f.connector.shortName,
    definitionId: f.connector.definitionId,
    workspaceId: f.workspaceId,
    configuration: f.configuration,
    createdAt: f.createdAt
  }),
  idOf: (source) => source.sourceId,
  uses: (connection, sourceId) => connection.sourceId === sourceId,
  afterWrite: (store, source) => store.sourceCatalogs.set(source.sourceId, discoverCatalog(source.configuration)),
  afterDelete: (store, sourceId) => store.sourceCatalogs.delete(sourceId)
}

const destinations: ActorFamily<DestinationResponse> = {
  kind: 'destination',
  collection: 'destinations',
  items: (store) => store.destinations,
  build: (destinationId, f) => ({
    destinationId,
    name: f.name,
    destinationType: f.connector.shortName,
    definitionId: f.connector.definitionId,
    workspaceId: f.workspaceId,
    configuration: f.configuration,
    createdAt: f.createdAt
  }),
  idOf: (destination) => destination.destinationId,
  uses: (connection, destinationId) => connection.destinationId === destinationId
}

function render<T extends Actor> (actor: T): T {
  return { ...actor, configuration: maskSecrets(actor.configuration) }
}

function readConfiguration (body: Record<string, unknown>): Record<string, unknown> {
  const configuration = body.configuration
  if (!isPlainObject(configuration)) throw badRequest('configuration is required and must be an object')
  return configuration
}

function checkConfiguration (ctx: RouteContext, kind: ActorKind, configuration: Record<string, unknown>): void {
  const message = ctx.faults.rejectConfig?.(kind, configuration)
  if (message !== undefined) throw unprocessableEntity(message)
}

function actorRoutes<T extends Actor> (family: ActorFamily<T>): SimulatorRoute[] {
  const { kind, collection } = family
  const find = (ctx: RouteContext): T => {
    const id = ctx.params.id as string
    const actor = family.items(ctx.store).get(id)
    if (actor === undefined) throw resourceNotFound(kind, id)
    return actor
  }
  return [
    {
      method: 'GET',
      path: `/${collection}`,
      handle: (ctx) => {
        const workspaceIds = queryList(ctx.query, 'workspaceIds')
        const all = [...family.items(ctx.store).values()]
          .filter((actor) => workspaceIds.length === 0 || workspaceIds.includes(actor.workspaceId))
        const page = paginate(all, ctx.query, ctx.selfUrl)
        return { status: 200, body: { ...page, data: page.data.map(render) } }
      }
    },
    {
      method: 'POST',
      path: `/${collection}`,
      handle: (ctx) => {
        const body = requireBody(ctx.body)
        const name = requireString(body, 'name')
        const workspaceId = requireString(body, 'workspaceId')
        if (!ctx.store.workspaces.has(workspaceId)) throw resourceNotFound('workspace', workspaceId)
        const configuration = structuredClone(readConfiguration(body))
        const connector = resolveConnector(kind, body.definitionId, configuration)
        checkConfiguration(ctx, kind, configuration)
        // No idempotency: the same body posted twice makes two actors with the same name, as Airbyte does.
        const fields = { name, connector, workspaceId, configuration, createdAt: epochSeconds() }
        const actor = family.build(randomUUID(), fields)
        family.items(ctx.store).set(family.idOf(actor), actor)
        family.afterWrite?.(ctx.store, actor)
        return { status: 200, body: render(actor) }
      }
    },
    {
      method: 'GET',
      path: `/${collection}/:id`,
      handle: (ctx) => ({ status: 200, body: render(find(ctx)) })
    },
    {
      method: 'PATCH',
      path: `/${collection}/:id`,
      handle: (ctx) => {
        const actor = find(ctx)
        const body = requireBody(ctx.body)
        const name = optionalString(body, 'name')
        let configuration = actor.configuration
        if (body.configuration !== undefined && body.configuration !== null) {
          configuration = restoreMaskedSecrets(readConfiguration(body), actor.configuration) as Record<string, unknown>
          checkConfiguration(ctx, kind, configuration)
        }
        if (name !== undefined) actor.name = name
        actor.configuration = structuredClone(configuration)
        family.afterWrite?.(ctx.store, actor)
        return { status: 200, body: render(actor) }
      }
    },
    {
      method: 'DELETE',
      path: `/${collection}/:id`,
      handle: (ctx) => {
        const actor = find(ctx)
        const id = family.idOf(actor)
        family.items(ctx.store).delete(id)
        family.afterDelete?.(ctx.store, id)
        // Airbyte deletes (deprecates) every connection that used the deleted actor.
        for (const connection of [...ctx.store.connections.values()]) {
          if (family.uses(connection, id)) ctx.store.connections.delete(connection.connectionId)
        }
        return { status: 204 }
      }
    }
  ]
}

const streamsRoute: SimulatorRoute = {
  method: 'GET',
  path: '/streams',
  handle: (ctx) => {
    const sourceId = ctx.query.get('sourceId')
    if (sourceId === null || sourceId === '') throw badRequest('sourceId is required')
    const catalog = ctx.store.sourceCatalogs.get(sourceId)
    if (!ctx.store.sources.has(sourceId) || catalog === undefined) throw resourceNotFound('source', sourceId)
    const destinationId = ctx.query.get('destinationId')
    if (destinationId !== null && destinationId !== '' && !ctx.store.destinations.has(destinationId)) {
      throw resourceNotFound('destination', destinationId)
    }
    return { status: 200, body: structuredClone(catalog) }
  }
}

export const actorRouteTable: SimulatorRoute[] = [...actorRoutes(sources), ...actorRoutes(destinations), streamsRoute]
