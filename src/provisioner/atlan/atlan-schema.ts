/**
 * The `specific` section of Atlan catalog components (`urn:dmb:utm:atlan-catalog`): its JSON Schema, the
 * TypeScript shape it guarantees, and the defaults the handler applies (admins from the data product's owner
 * and dev group, the persona's metadata actions and data policy). Closed objects, so a typo is reported.
 */
import type { InputProblem } from '../../errors.js'
import type { DataProduct } from '../../descriptor/types.js'
import { groupRef } from './atlan-principals.js'

/** Atlan's persona metadata actions (what a metadata policy may allow on the connection's assets). */
export const METADATA_ACTIONS = [
  'persona-asset-read', 'persona-asset-update', 'persona-api-create', 'persona-api-delete',
  'persona-business-update-metadata', 'persona-entity-add-classification', 'persona-entity-update-classification',
  'persona-entity-remove-classification', 'persona-add-terms', 'persona-remove-terms'
] as const
export type MetadataAction = typeof METADATA_ACTIONS[number]

export const DEFAULT_METADATA_ACTIONS: readonly MetadataAction[] = ['persona-asset-read']

export interface ConnectionSpec {
  name: string
  connectorType: string
  category?: string
  adminUsers?: string[]
  adminGroups?: string[]
}

export interface PersonaSpec {
  name: string
  metadataActions?: MetadataAction[]
  dataAccess?: boolean
}

export interface AtlanSpecific {
  connection: ConnectionSpec
  apiTokenGuid?: string
  persona?: PersonaSpec
}

const CONNECTOR_SLUG = '^[a-z0-9-]+$'
const UUID = '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$'

const refList = (kind: 'user' | 'group', description: string): Record<string, unknown> => ({
  type: 'array',
  description,
  minItems: 1,
  uniqueItems: true,
  items: { type: 'string', pattern: `^${kind}:\\S+$`, description: `an identity ref, ${kind === 'user' ? 'user:jane.doe_company.com' : 'group:analysts'}` }
})

export const atlanSpecificSchema: Record<string, unknown> = {
  type: 'object',
  required: ['connection'],
  additionalProperties: false,
  properties: {
    connection: {
      type: 'object',
      required: ['name', 'connectorType'],
      additionalProperties: false,
      properties: {
        name: { type: 'string', minLength: 1, pattern: '\\S', description: 'the Connection\'s name, looked up before anything is created' },
        connectorType: { type: 'string', pattern: CONNECTOR_SLUG, description: 'Atlan connector slug, e.g. snowflake (lower-case letters, digits and -)' },
        category: { type: 'string', minLength: 1, description: 'the connector category, e.g. warehouse' },
        adminUsers: refList('user', 'connection admins; default: the data product owner'),
        adminGroups: refList('group', 'connection admin groups; default: the data product\'s dev group')
      }
    },
    apiTokenGuid: { type: 'string', pattern: UUID, description: 'the id (not the clientId) of an Atlan API token to make a connection admin' },
    persona: {
      type: 'object',
      required: ['name'],
      additionalProperties: false,
      properties: {
        name: { type: 'string', minLength: 1, pattern: '\\S', description: 'the persona\'s name, found by exact name, created when absent' },
        metadataActions: { type: 'array', minItems: 1, uniqueItems: true, items: { enum: [...METADATA_ACTIONS] }, description: 'default [persona-asset-read]' },
        dataAccess: { type: 'boolean', description: 'default true: a select data policy on the connection' }
      }
    }
  }
}

export interface AdminRefs { users: string[], groups: string[] }

/** The declared admins, or the defaults: the data product owner and its dev group (with or without `group:`). */
export function adminRefs (specific: AtlanSpecific, dataProduct: DataProduct): AdminRefs {
  const owner = typeof dataProduct.dataProductOwner === 'string' && dataProduct.dataProductOwner.startsWith('user:') ? [dataProduct.dataProductOwner] : []
  const dev = typeof dataProduct.devGroup === 'string' && dataProduct.devGroup.trim() !== '' ? [groupRef(dataProduct.devGroup.trim())] : []
  return { users: specific.connection.adminUsers ?? owner, groups: specific.connection.adminGroups ?? dev }
}

export function adminProblems (specific: AtlanSpecific, dataProduct: DataProduct): InputProblem[] {
  const admins = adminRefs(specific, dataProduct)
  const problems: InputProblem[] = []
  if (admins.users.length === 0) {
    problems.push({ path: 'connection.adminUsers', message: 'no connection admin user: the list is absent and the data product has no dataProductOwner', hint: 'list adminUsers (e.g. [user:jane.doe_company.com]) or set dataProduct.dataProductOwner' })
  }
  if (admins.groups.length === 0) {
    problems.push({ path: 'connection.adminGroups', message: 'no connection admin group: the list is absent and the data product has no devGroup', hint: 'list adminGroups (e.g. [group:datameshplatform]) or set dataProduct.devGroup' })
  }
  return problems
}

export function personaActions (persona: PersonaSpec): MetadataAction[] {
  return [...(persona.metadataActions ?? DEFAULT_METADATA_ACTIONS)]
}
