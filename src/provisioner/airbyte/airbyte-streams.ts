/**
 * Stream selection: checking the descriptor's streams against the source's catalog (`GET /streams`), and
 * turning them into the `configurations.streams` Airbyte takes. Pure functions, shared by validation and steps.
 */
import type { InputProblem } from '../../errors.js'
import type { StreamConfiguration, StreamProperties } from './airbyte-client.js'
import type { StreamSpec } from './airbyte-schema.js'

const MAX_LISTED = 20

/** Requested streams the source does not offer, or whose sync mode it does not support. Paths are relative to `specific`. */
export function streamProblems (requested: readonly StreamSpec[] | undefined, catalog: readonly StreamProperties[]): InputProblem[] {
  const byName = new Map(catalog.map((s) => [s.streamName, s]))
  const problems: InputProblem[] = []
  for (const [i, stream] of (requested ?? []).entries()) {
    const offered = byName.get(stream.name)
    if (offered === undefined) {
      problems.push({
        path: `connection.streams.${i}.name`,
        message: `the source offers no stream "${stream.name}"`,
        hint: `streams offered: ${listed(catalog.map((s) => s.streamName))}`
      })
      continue
    }
    const modes = offered.syncModes ?? []
    if (stream.syncMode !== undefined && modes.length > 0 && !modes.includes(stream.syncMode)) {
      problems.push({
        path: `connection.streams.${i}.syncMode`,
        message: `stream "${stream.name}" does not support ${stream.syncMode}`,
        hint: `supported sync modes: ${modes.join(', ')}`
      })
    }
  }
  return problems
}

/**
 * The streams to select: the requested ones as written, or, when none are requested, every stream the source
 * offers with `full_refresh_overwrite` where supported (what Airbyte itself picks for a connection created
 * without configurations, so creating and updating give the same selection).
 */
export function desiredStreams (requested: readonly StreamSpec[] | undefined, catalog: readonly StreamProperties[]): StreamConfiguration[] {
  if (requested !== undefined && requested.length > 0) {
    return requested.map((s) => ({
      name: s.name,
      ...(s.syncMode === undefined ? {} : { syncMode: s.syncMode }),
      ...(s.cursorField === undefined ? {} : { cursorField: s.cursorField }),
      ...(s.primaryKey === undefined ? {} : { primaryKey: s.primaryKey })
    }))
  }
  return catalog.map((s) => ({
    name: s.streamName,
    ...((s.syncModes ?? []).includes('full_refresh_overwrite') ? { syncMode: 'full_refresh_overwrite' } : {})
  }))
}

/** Does Airbyte's selection differ from the desired one, in the fields the desired one states? */
export function streamsDiffer (current: readonly StreamConfiguration[] | undefined, desired: readonly StreamConfiguration[]): boolean {
  const byName = new Map((current ?? []).map((s) => [s.name, s]))
  if (byName.size !== desired.length) return true
  return desired.some((want) => {
    const have = byName.get(want.name)
    if (have === undefined) return true
    return (['syncMode', 'cursorField', 'primaryKey'] as const)
      .some((key) => want[key] !== undefined && JSON.stringify(want[key]) !== JSON.stringify(have[key]))
  })
}

export function describeProblems (problems: readonly InputProblem[]): string {
  return problems.map((p) => `${p.path}: ${p.message}${p.hint === undefined ? '' : ` (${p.hint})`}`).join('; ')
}

export function listed (names: readonly string[]): string {
  if (names.length === 0) return 'none'
  const shown = names.slice(0, MAX_LISTED).join(', ')
  return names.length > MAX_LISTED ? `${shown} and ${names.length - MAX_LISTED} more` : shown
}
