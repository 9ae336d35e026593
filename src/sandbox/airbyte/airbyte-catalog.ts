/**
 * Schema discovery and stream selection. A source's catalog is a pure function of its configuration, so tests
 * can predict it; a connection's `configurations.streams` is checked against that catalog the way Airbyte does
 * (unknown stream or unsupported sync mode -> 400).
 */
import { isPlainObject } from './airbyte-http.js'
import { badRequest } from './airbyte-problems.js'
import { SYNC_MODES, type StreamConfiguration, type StreamProperties, type SyncMode } from './airbyte-state.js'

const DEFAULT_STREAMS = ['users', 'orders', 'products']
const FULL_REFRESH_ONLY_PREFIX = 'fullonly_'
const FULL_REFRESH_MODES: SyncMode[] = ['full_refresh_overwrite', 'full_refresh_append']
const ALL_MODES: SyncMode[] = [...FULL_REFRESH_MODES, 'incremental_append', 'incremental_deduped_history']
const DEFAULT_SYNC_MODE: SyncMode = 'full_refresh_overwrite'

/** Stream names from `configuration.streams` or `configuration.tables` (names or `{name}` objects), else defaults. */
export function discoverCatalog (configuration: Record<string, unknown>): StreamProperties[] {
  const names = streamNamesIn(configuration.streams) ?? streamNamesIn(configuration.tables) ?? DEFAULT_STREAMS
  return names.map(describeStream)
}

function streamNamesIn (value: unknown): string[] | undefined {
  if (!Array.isArray(value)) return undefined
  const names = value
    .map((item) => typeof item === 'string' ? item : isPlainObject(item) ? item.name : undefined)
    .filter((name): name is string => typeof name === 'string' && name !== '')
  return names.length > 0 ? [...new Set(names)] : undefined
}

function describeStream (streamName: string): StreamProperties {
  const fullOnly = streamName.startsWith(FULL_REFRESH_ONLY_PREFIX)
  return {
    streamName,
    syncModes: fullOnly ? [...FULL_REFRESH_MODES] : [...ALL_MODES],
    defaultCursorField: fullOnly ? [] : ['updated_at'],
    sourceDefinedCursorField: !fullOnly,
    sourceDefinedPrimaryKey: [['id']],
    propertyFields: fullOnly ? [['id'], ['name']] : [['id'], ['name'], ['updated_at']]
  }
}

/**
 * The streams a connection syncs. Without `configurations` (or with no streams) Airbyte selects every stream
 * with `full_refresh_overwrite`; otherwise only the listed ones, with cursor and primary key defaulted from the
 * catalog.
 */
export function selectStreams (catalog: StreamProperties[], configurations: unknown): StreamConfiguration[] {
  if (configurations === undefined || configurations === null) return catalog.map((s) => configure(s, undefined))
  if (!isPlainObject(configurations)) throw badRequest('configurations must be an object')
  const requested = configurations.streams
  if (requested === undefined || requested === null || (Array.isArray(requested) && requested.length === 0)) {
    return catalog.map((s) => configure(s, undefined))
  }
  if (!Array.isArray(requested)) throw badRequest('configurations.streams must be an array')
  const seen = new Set<string>()
  return requested.map((entry, i) => {
    if (!isPlainObject(entry) || typeof entry.name !== 'string') {
      throw badRequest(`configurations.streams[${i}].name is required`)
    }
    if (seen.has(entry.name)) throw badRequest(`Duplicate stream found in configuration for: ${entry.name}`)
    seen.add(entry.name)
    const stream = catalog.find((s) => s.streamName === entry.name)
    if (stream === undefined) throw badRequest(`Invalid stream found: ${entry.name} is not in the source's catalog`)
    return configure(stream, entry)
  })
}

function configure (stream: StreamProperties, entry: Record<string, unknown> | undefined): StreamConfiguration {
  const syncMode = entry?.syncMode ?? DEFAULT_SYNC_MODE
  if (typeof syncMode !== 'string' || !(SYNC_MODES as readonly string[]).includes(syncMode)) {
    throw badRequest(`Invalid syncMode ${JSON.stringify(syncMode)} for stream ${stream.streamName}`)
  }
  if (!stream.syncModes.includes(syncMode as SyncMode)) {
    throw badRequest(`Cannot set sync mode to ${syncMode} for stream ${stream.streamName}; ` +
      `supported: ${stream.syncModes.join(', ')}`)
  }
  const incremental = syncMode.startsWith('incremental')
  return {
    name: stream.streamName,
    syncMode: syncMode as SyncMode,
    cursorField: readPath(entry?.cursorField, `cursorField of ${stream.streamName}`) ??
      (incremental ? [...stream.defaultCursorField] : []),
    primaryKey: readPaths(entry?.primaryKey, `primaryKey of ${stream.streamName}`) ??
      stream.sourceDefinedPrimaryKey.map((path) => [...path])
  }
}

function readPath (value: unknown, what: string): string[] | undefined {
  if (value === undefined || value === null) return undefined
  if (!Array.isArray(value) || !value.every((part) => typeof part === 'string')) {
    throw badRequest(`${what} must be an array of strings`)
  }
  return value as string[]
}

function readPaths (value: unknown, what: string): string[][] | undefined {
  if (value === undefined || value === null) return undefined
  if (!Array.isArray(value)) throw badRequest(`${what} must be an array of arrays of strings`)
  return value.map((path) => readPath(path, what) ?? [])
}
