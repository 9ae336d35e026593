/**
 * Sources and destinations are the same resource twice over in Airbyte (`/sources`, `/destinations`, with
 * `sourceType` / `destinationType`). This module gives the steps one view of both, and decides which connector
 * definition a descriptor asks for.
 */
import type { AirbyteConfig } from './airbyte-config.js'
import type { AirbyteClient, ConnectorBody, FoundByName } from './airbyte-client.js'
import type { ConnectorSpec } from './airbyte-schema.js'

/** A source or destination as the steps see it. */
export interface ConnectorResource {
  id: string
  name: string
  definitionId?: string
  workspaceId: string
  configuration: Record<string, unknown>
  createdAt?: number | string
}

export interface ConnectorKind {
  kind: 'source' | 'destination'
  collection: 'sources' | 'destinations'
  /** The short-name key inside connectionConfiguration (`sourceType: postgres`). */
  typeKey: 'sourceType' | 'destinationType'
  stateKey: 'sourceId' | 'destinationId'
  /** Deployment variable holding the default definition. */
  defaultEnv: string
  defaultDefinitionId: (config: AirbyteConfig) => string | undefined
  get: (client: AirbyteClient, id: string, signal?: AbortSignal) => Promise<ConnectorResource | undefined>
  findByName: (client: AirbyteClient, workspaceId: string, name: string, signal?: AbortSignal) => Promise<FoundByName<ConnectorResource> | undefined>
  /** Every resource of this kind in the workspace. */
  list: (client: AirbyteClient, workspaceId: string, signal?: AbortSignal) => Promise<ConnectorResource[]>
  create: (client: AirbyteClient, body: ConnectorBody, signal?: AbortSignal) => Promise<ConnectorResource>
  patch: (client: AirbyteClient, id: string, body: { name: string, configuration: Record<string, unknown> }, signal?: AbortSignal) => Promise<void>
  remove: (client: AirbyteClient, id: string, signal?: AbortSignal) => Promise<'deleted' | 'absent'>
}

type Raw = { name: string, definitionId?: string, workspaceId: string, configuration: Record<string, unknown>, createdAt?: number | string }
const view = (id: string, r: Raw): ConnectorResource =>
  ({ id, name: r.name, definitionId: r.definitionId, workspaceId: r.workspaceId, configuration: r.configuration, createdAt: r.createdAt })
const found = <T>(f: FoundByName<T> | undefined, map: (r: T) => ConnectorResource): FoundByName<ConnectorResource> | undefined =>
  f === undefined ? undefined : { resource: map(f.resource), count: f.count }

export const SOURCE: ConnectorKind = {
  kind: 'source',
  collection: 'sources',
  typeKey: 'sourceType',
  stateKey: 'sourceId',
  defaultEnv: 'AIRBYTE_SOURCE_DEFINITION_ID',
  defaultDefinitionId: (config) => config.sourceDefinitionId,
  get: async (client, id, signal) => {
    const r = await client.getSource(id, signal)
    return r === undefined ? undefined : view(r.sourceId, r)
  },
  findByName: async (client, ws, name, signal) => found(await client.findSourceByName(ws, name, signal), (r) => view(r.sourceId, r)),
  list: async (client, ws, signal) => (await client.listSources(ws, signal)).map((r) => view(r.sourceId, r)),
  create: async (client, body, signal) => {
    const r = await client.createSource(body, signal)
    return view(r.sourceId, r)
  },
  patch: async (client, id, body, signal) => { await client.patchSource(id, body, signal) },
  remove: async (client, id, signal) => await client.deleteSource(id, signal)
}

export const DESTINATION: ConnectorKind = {
  kind: 'destination',
  collection: 'destinations',
  typeKey: 'destinationType',
  stateKey: 'destinationId',
  defaultEnv: 'AIRBYTE_DESTINATION_DEFINITION_ID',
  defaultDefinitionId: (config) => config.destinationDefinitionId,
  get: async (client, id, signal) => {
    const r = await client.getDestination(id, signal)
    return r === undefined ? undefined : view(r.destinationId, r)
  },
  findByName: async (client, ws, name, signal) => found(await client.findDestinationByName(ws, name, signal), (r) => view(r.destinationId, r)),
  list: async (client, ws, signal) => (await client.listDestinations(ws, signal)).map((r) => view(r.destinationId, r)),
  create: async (client, body, signal) => {
    const r = await client.createDestination(body, signal)
    return view(r.destinationId, r)
  },
  patch: async (client, id, body, signal) => { await client.patchDestination(id, body, signal) },
  remove: async (client, id, signal) => await client.deleteDestination(id, signal)
}

/**
 * How the connector is chosen: an explicit definitionId, else the short type inside the configuration (sent as
 * is, Airbyte resolves it), else the deployment default. undefined: the descriptor names no connector at all.
 */
export function connectorDefinition (spec: ConnectorSpec, kind: ConnectorKind, config: AirbyteConfig):
  { definitionId?: string, via: 'definitionId' | 'type' | 'default' } | undefined {
  if (spec.definitionId !== undefined) return { definitionId: spec.definitionId, via: 'definitionId' }
  const type = spec.connectionConfiguration?.[kind.typeKey]
  if (typeof type === 'string' && type !== '') return { via: 'type' }
  const fallback = kind.defaultDefinitionId(config)
  return fallback === undefined ? undefined : { definitionId: fallback, via: 'default' }
}

export function noConnectorHint (kind: ConnectorKind): string {
  return `set ${kind.kind}.definitionId, or ${kind.kind}.connectionConfiguration.${kind.typeKey} (e.g. postgres), or configure ${kind.defaultEnv} for the deployment`
}
