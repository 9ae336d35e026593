/**
 * Connector identity and configuration handling for sources and destinations: which definition a create picks
 * (by `definitionId` or by the short name in `configuration.sourceType` / `destinationType`), and how secrets are
 * masked on the way out and restored when a client sends a masked value back. Does not validate connector
 * schemas; tests plug that in through `FaultSettings.rejectConfig`.
 */
import { isPlainObject } from './airbyte-http.js'
import { badRequest, resourceNotFound, unprocessableEntity, valueNotFound } from './airbyte-problems.js'

export type ActorKind = 'source' | 'destination'

/** Real Airbyte definition ids for the connectors the simulator knows by short name. */
export const SOURCE_DEFINITIONS: Readonly<Record<string, string>> = {
  postgres: 'decd338e-5647-4c0b-adf4-da0e75f5a750',
  mysql: '435bb9a5-7887-4809-aa58-28c27df0d7ad',
  file: '778daa7c-feaf-4db6-96f3-70fd645acc77',
  faker: 'dfd88b22-b603-4c3d-aad7-3701784586b1',
  s3: '69589781-7828-43c5-9f63-8925b1c1ccc2'
}

export const DESTINATION_DEFINITIONS: Readonly<Record<string, string>> = {
  snowflake: '424892c4-daac-4491-b35d-c6688ba547ba',
  postgres: '25c5221d-dce2-4163-ade9-739ef790f503',
  bigquery: '22f6c74f-5699-40ff-833c-4a879ea40133',
  s3: '4816b78f-1489-44c1-9060-4b19d5fa9362',
  'local-json': 'a625d593-bba5-4a1c-a53d-2d246268a816'
}

export const MASKED_SECRET = '**********'

const SECRET_KEY = /password|secret|token|key|credentials/i

export interface ResolvedConnector {
  definitionId: string
  /** What the response reports as `sourceType` / `destinationType`. */
  shortName: string
}

export function resolveConnector (kind: ActorKind, definitionId: unknown,
  configuration: Record<string, unknown>): ResolvedConnector {
  const table = kind === 'source' ? SOURCE_DEFINITIONS : DESTINATION_DEFINITIONS
  if (definitionId !== undefined && definitionId !== null) {
    if (typeof definitionId !== 'string') throw badRequest('definitionId must be a string')
    const shortName = Object.keys(table).find((name) => table[name] === definitionId)
    if (shortName === undefined) throw resourceNotFound(`${kind}_definition`, definitionId)
    return { definitionId, shortName }
  }
  const typeField = kind === 'source' ? 'sourceType' : 'destinationType'
  const shortName = configuration[typeField]
  // Without a definitionId Airbyte can only pick the connector from this discriminator; missing it fails the
  // connector spec validation, hence 422 rather than 400.
  if (shortName === undefined) {
    throw unprocessableEntity(`$.${typeField}: is missing but it is required (or pass definitionId)`)
  }
  if (typeof shortName !== 'string') throw badRequest(`configuration.${typeField} must be a string`)
  const found = table[shortName]
  if (found === undefined) throw valueNotFound(`The value sent was not found: ${typeField} ${JSON.stringify(shortName)}`)
  return { definitionId: found, shortName }
}

/**
 * A copy with every secret-looking leaf replaced by `**********`, as Airbyte returns configurations. Objects under
 * a secret-looking key (e.g. `credentials: {auth_type, password}`) are walked rather than blanked, because Airbyte
 * masks only the leaf fields its specs mark `airbyte_secret`.
 */
export function maskSecrets (configuration: Record<string, unknown>): Record<string, unknown> {
  return maskValue(configuration) as Record<string, unknown>
}

function maskValue (value: unknown, key?: string): unknown {
  if (Array.isArray(value)) return value.map((item) => maskValue(item, key))
  if (isPlainObject(value)) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, maskValue(v, k)]))
  }
  if (key !== undefined && value !== null && SECRET_KEY.test(key)) return MASKED_SECRET
  return value
}

/**
 * Airbyte keeps the stored secret when an update sends the masked placeholder back (clients that round-trip a
 * read configuration rely on it); every other value in the update replaces the stored one.
 */
export function restoreMaskedSecrets (incoming: unknown, stored: unknown): unknown {
  if (incoming === MASKED_SECRET) return stored === undefined ? incoming : stored
  if (Array.isArray(incoming)) {
    return incoming.map((item, i) => restoreMaskedSecrets(item, Array.isArray(stored) ? stored[i] : undefined))
  }
  if (isPlainObject(incoming)) {
    return Object.fromEntries(Object.entries(incoming).map(([k, v]) =>
      [k, restoreMaskedSecrets(v, isPlainObject(stored) ? stored[k] : undefined)]))
  }
  return incoming
}
