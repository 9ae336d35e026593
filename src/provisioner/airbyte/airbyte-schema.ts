/**
 * The `specific` section of Airbyte workload components (the platform contract's descriptor format): its JSON Schema and the
 * TypeScript shape it guarantees. A superset of the original Airbyte provisioner's schema, so its descriptors
 * still validate; `connection` is closed so a typo (`schedul`) is reported instead of silently ignored.
 */

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

export const NAMESPACE_DEFINITIONS = ['source', 'destination', 'custom_format'] as const
export type NamespaceDefinition = typeof NAMESPACE_DEFINITIONS[number]

export interface ConnectorSpec {
  name: string
  definitionId?: string
  connectionConfiguration: Record<string, unknown>
  [key: string]: unknown
}

export interface StreamSpec {
  name: string
  syncMode?: SyncMode
  cursorField?: string[]
  primaryKey?: string[][]
}

export interface ScheduleSpec {
  scheduleType: 'manual' | 'cron'
  cronExpression?: string
}

export interface ConnectionSpec {
  name: string
  schedule?: ScheduleSpec
  namespaceDefinition?: NamespaceDefinition
  namespaceFormat?: string
  prefix?: string
  streams?: StreamSpec[]
  /** Default true: run a sync at provisioning and wait for it. */
  syncOnProvision?: boolean
  /** Legacy (original provisioner): accepted and ignored, current Airbyte has no dbt operations. */
  dbtGitUrl?: string | null
  status?: 'active' | 'inactive'
}

export interface AirbyteSpecific {
  workspaceId?: string
  source: ConnectorSpec
  destination: ConnectorSpec
  connection: ConnectionSpec
  [key: string]: unknown
}

const nonEmpty = (description: string): Record<string, unknown> =>
  ({ type: 'string', minLength: 1, description })

const connector = (kind: 'source' | 'destination'): Record<string, unknown> => ({
  type: 'object',
  description: `the Airbyte ${kind}: name and connectionConfiguration`,
  required: ['name', 'connectionConfiguration'],
  properties: {
    name: nonEmpty(`the ${kind}'s name, its identity in the Airbyte workspace`),
    definitionId: nonEmpty(`the id of the Airbyte ${kind} connector definition`),
    connectionConfiguration: {
      type: 'object',
      description: 'the connector\'s own configuration (${secret:NAME} references allowed)',
      additionalProperties: true
    }
  },
  additionalProperties: true
})

export const airbyteSpecificSchema: Record<string, unknown> = {
  type: 'object',
  required: ['source', 'destination', 'connection'],
  properties: {
    workspaceId: nonEmpty('the Airbyte workspace id; default: the deployment\'s AIRBYTE_WORKSPACE_ID'),
    source: connector('source'),
    destination: connector('destination'),
    connection: {
      type: 'object',
      required: ['name'],
      additionalProperties: false,
      properties: {
        name: nonEmpty('the connection\'s name, its identity in the Airbyte workspace'),
        schedule: {
          type: 'object',
          required: ['scheduleType'],
          additionalProperties: false,
          properties: {
            scheduleType: { enum: ['manual', 'cron'] },
            cronExpression: nonEmpty('a Quartz cron expression, e.g. "0 0 2 * * ?"')
          },
          if: { properties: { scheduleType: { const: 'cron' } }, required: ['scheduleType'] },
          then: { required: ['cronExpression'] }
        },
        namespaceDefinition: { enum: [...NAMESPACE_DEFINITIONS] },
        namespaceFormat: { type: 'string' },
        prefix: { type: 'string' },
        streams: {
          type: 'array',
          items: {
            type: 'object',
            required: ['name'],
            additionalProperties: false,
            properties: {
              name: nonEmpty('the stream name as the source offers it'),
              syncMode: { enum: [...SYNC_MODES] },
              cursorField: { type: 'array', items: { type: 'string' } },
              primaryKey: { type: 'array', items: { type: 'array', items: { type: 'string' } } }
            }
          }
        },
        syncOnProvision: { type: 'boolean' },
        dbtGitUrl: { anyOf: [{ type: 'string' }, { type: 'null' }] },
        status: { enum: ['active', 'inactive'] }
      }
    }
  },
  additionalProperties: true
}
