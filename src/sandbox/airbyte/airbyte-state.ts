/**
 * The simulator's data: Airbyte public-API response shapes (field names exactly as the API spells them) and the
 * in-memory store the routes mutate. Stored sources and destinations keep their real secrets; masking happens
 * only on the way out. Nothing here knows about HTTP.
 */
import { JobTable, type JobResponse } from './airbyte-jobs.js'

export type { JobResponse, JobStatus, JobType } from './airbyte-jobs.js'

export const SYNC_MODES = [
  'full_refresh_overwrite',
  'full_refresh_overwrite_deduped',
  'full_refresh_append',
  'full_refresh_update',
  'full_refresh_soft_delete',
  'incremental_append',
  'incremental_deduped_history',
  'incremental_update',
  'incremental_soft_delete'
] as const
export type SyncMode = typeof SYNC_MODES[number]

export interface WorkspaceResponse {
  workspaceId: string
  name: string
  dataResidency: string
  notifications: Record<string, unknown>
}

export interface SourceResponse {
  sourceId: string
  name: string
  /** The connector's short name, e.g. `postgres`. */
  sourceType: string
  definitionId: string
  workspaceId: string
  configuration: Record<string, unknown>
  /** Epoch seconds (int64), as the public API sends it. */
  createdAt: number
}

export interface DestinationResponse {
  destinationId: string
  name: string
  destinationType: string
  definitionId: string
  workspaceId: string
  configuration: Record<string, unknown>
  /** Epoch seconds (int64). */
  createdAt: number
}

export interface StreamProperties {
  streamName: string
  syncModes: SyncMode[]
  defaultCursorField: string[]
  sourceDefinedCursorField: boolean
  sourceDefinedPrimaryKey: string[][]
  propertyFields: string[][]
}

export interface StreamConfiguration {
  name: string
  syncMode: SyncMode
  cursorField: string[]
  primaryKey: string[][]
}

export interface ConnectionSchedule {
  scheduleType: 'manual' | 'cron'
  /** Stored as Airbyte reads it back: the Quartz expression followed by " UTC". */
  cronExpression?: string
}

export type ConnectionStatus = 'active' | 'inactive' | 'deprecated'
export type NamespaceDefinition = 'source' | 'destination' | 'custom_format'

export interface ConnectionResponse {
  connectionId: string
  name: string
  sourceId: string
  destinationId: string
  workspaceId: string
  status: ConnectionStatus
  schedule: ConnectionSchedule
  namespaceDefinition: NamespaceDefinition
  namespaceFormat?: string
  prefix?: string
  configurations: { streams: StreamConfiguration[] }
  /** Epoch seconds (int64). */
  createdAt: number
}

export interface SimulatorState {
  sources: Map<string, SourceResponse>
  destinations: Map<string, DestinationResponse>
  connections: Map<string, ConnectionResponse>
  /** Reading a job (get, values, iteration) brings its time-derived status up to date. */
  jobs: Map<number, JobResponse>
  tokensIssued: number
  sourceCatalogs: Map<string, StreamProperties[]>
}

/** The state plus what only the routes need. `AirbyteSimulator.state` exposes it as `SimulatorState`. */
export interface SimulatorStore extends SimulatorState {
  workspaces: Map<string, WorkspaceResponse>
  jobs: JobTable
}

export function createStore (workspaceId: string): SimulatorStore {
  const workspace: WorkspaceResponse = {
    workspaceId,
    name: 'Simulated workspace',
    dataResidency: 'auto',
    notifications: {
      failure: { email: { enabled: false }, webhook: { enabled: false } },
      success: { email: { enabled: false }, webhook: { enabled: false } }
    }
  }
  return {
    workspaces: new Map([[workspaceId, workspace]]),
    sources: new Map(),
    destinations: new Map(),
    connections: new Map(),
    jobs: new JobTable(),
    tokensIssued: 0,
    sourceCatalogs: new Map()
  }
}

export function epochSeconds (): number {
  return Math.floor(Date.now() / 1000)
}
