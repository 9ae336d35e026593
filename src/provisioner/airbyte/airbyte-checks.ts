/**
 * Validation beyond the JSON Schema: offline checks of the `specific` section (cron, streams, connector,
 * workspace, secret references) and read-only checks against Airbyte (do the streams and sync modes exist).
 * Nothing here writes to Airbyte.
 */
import { AdapterError, type InputProblem } from '../../errors.js'
import type { Component } from '../../descriptor/types.js'
import { collectSecretRefs } from '../../secrets/secret-store.js'
import type { CheckContext, SpecificCheck, UpstreamCheckContext } from '../handler.js'
import { MASKED_SECRET } from './airbyte-client.js'
import { connectorDefinition, DESTINATION, noConnectorHint, SOURCE } from './airbyte-connectors.js'
import type { AirbyteSpecific } from './airbyte-schema.js'
import { clientFor, WORKSPACE_HINT, workspaceOf, type AirbyteHandlerDeps } from './airbyte-state.js'
import { streamProblems } from './airbyte-streams.js'
import { quartzCronProblem } from './quartz-cron.js'

/** Field names connectors use for secrets (Airbyte masks the fields their spec marks `airbyte_secret`). */
const SECRET_FIELD = /pass(word|phrase)?|secret|token|key|credential|auth|cert/i

export function checkSpecific (deps: AirbyteHandlerDeps, component: Component, _ctx: CheckContext): SpecificCheck {
  const specific = component.specific as unknown as AirbyteSpecific
  const problems: InputProblem[] = []
  const warnings: string[] = []
  const { connection } = specific

  const names: Array<[string, string]> = [['source.name', specific.source.name], ['destination.name', specific.destination.name], ['connection.name', connection.name]]
  for (const [path, name] of names) {
    if (name.trim() === '') problems.push({ path, message: 'must not be blank', hint: 'the name identifies the resource in the Airbyte workspace' })
  }

  const schedule = connection.schedule
  if (schedule?.scheduleType === 'cron' && schedule.cronExpression !== undefined) {
    const problem = quartzCronProblem(schedule.cronExpression)
    if (problem !== undefined) {
      problems.push({ path: 'connection.schedule.cronExpression', message: problem, hint: 'Airbyte takes Quartz cron: sec min hour day-of-month month day-of-week [year], e.g. "0 0 2 * * ?"' })
    }
  } else if (schedule?.scheduleType === 'manual' && schedule.cronExpression !== undefined) {
    warnings.push('connection.schedule.cronExpression is ignored: scheduleType is manual')
  }

  const seen = new Map<string, number>()
  for (const [i, stream] of (connection.streams ?? []).entries()) {
    const first = seen.get(stream.name)
    if (first !== undefined) {
      problems.push({ path: `connection.streams.${i}.name`, message: `stream "${stream.name}" is listed twice (also at connection.streams.${first})`, hint: 'list each stream once' })
    } else {
      seen.set(stream.name, i)
    }
  }

  for (const kind of [SOURCE, DESTINATION]) {
    const definition = connectorDefinition(specific[kind.kind], kind, deps.config)
    if (definition === undefined) {
      problems.push({ path: `${kind.kind}.definitionId`, message: `the ${kind.kind} names no connector`, hint: noConnectorHint(kind) })
    } else if (definition.via === 'default') {
      warnings.push(`${kind.kind} "${specific[kind.kind].name}" names no connector: the deployment default ${kind.defaultEnv} (${String(definition.definitionId)}) is used`)
    }
  }

  if (workspaceOf(specific, deps.config) === undefined) {
    problems.push({ path: 'workspaceId', message: 'no Airbyte workspace is named', hint: WORKSPACE_HINT })
  }

  // Whether each reference resolves is checked for every handler by the descriptor validator.
  for (const ref of collectSecretRefs(specific)) {
    if (!/^(source|destination)\.connectionConfiguration\./.test(ref.path)) {
      problems.push({ path: ref.path, message: 'secret references are resolved only inside source/destination connectionConfiguration', hint: 'names and connection settings end up in Airbyte and in logs: write them in clear' })
    } else if (!SECRET_FIELD.test(ref.path.split('.').pop() ?? '')) {
      // Airbyte masks only the fields a connector's spec marks secret; any other field it stores and shows in clear.
      warnings.push(`${ref.path}: secret "${ref.name}" is put in a field that does not look like a secret field; Airbyte may store and show it in clear`)
    }
  }

  if (connection.dbtGitUrl !== undefined) {
    warnings.push('connection.dbtGitUrl is ignored: current Airbyte has no dbt operations')
  }
  if (connection.status === 'inactive' && connection.syncOnProvision !== false) {
    warnings.push('connection.status is inactive: no sync will run at provisioning')
  }
  return { problems, warnings }
}

export async function checkUpstream (deps: AirbyteHandlerDeps, ctx: UpstreamCheckContext): Promise<SpecificCheck> {
  const problems: InputProblem[] = []
  const warnings: string[] = []
  if (deps.config.apiUrl === undefined) {
    return { problems, warnings: ['Airbyte is not configured (AIRBYTE_API_URL is unset): nothing was checked against Airbyte'] }
  }
  const specific = ctx.component.specific as unknown as AirbyteSpecific
  const workspaceId = workspaceOf(specific, deps.config)
  if (workspaceId === undefined) return { problems, warnings }
  try {
    const client = clientFor(deps, ctx.signal)
    const found = await client.findSourceByName(workspaceId, specific.source.name, ctx.signal)
    if (found === undefined) {
      warnings.push(`source "${specific.source.name}" not yet created; stream names and sync modes will be checked at provision`)
      return { problems, warnings }
    }
    const requested = specific.connection.streams ?? []
    if (requested.length === 0) return { problems, warnings }
    const streamIssues = streamProblems(requested, await client.getStreams(found.resource.sourceId, ctx.signal))
    if (streamIssues.length === 0) return { problems, warnings }
    if (sameVisibleConfig(found.resource.configuration, specific.source.connectionConfiguration)) {
      problems.push(...streamIssues)
    } else {
      // The descriptor changes the source's configuration, so its catalog may change too: only the provision can tell.
      warnings.push(...streamIssues.map((p) => `${p.path}: ${p.message} in the source as configured today; checked again at provision with the new configuration`))
    }
  } catch (err) {
    if (!(err instanceof AdapterError)) throw err
    warnings.push(`Airbyte could not be checked (${err.message}); streams and sync modes will be checked at provision`)
  }
  return { problems, warnings }
}

/**
 * Does Airbyte hold the configuration the descriptor states? Only the descriptor's keys count (Airbyte fills in
 * defaults), and neither a masked secret nor a secret reference can be compared.
 */
function sameVisibleConfig (stored: unknown, wanted: unknown): boolean {
  if (stored === MASKED_SECRET || (typeof wanted === 'string' && wanted.startsWith('${secret:'))) return true
  if (Array.isArray(stored) && Array.isArray(wanted)) {
    return stored.length === wanted.length && stored.every((v, i) => sameVisibleConfig(v, wanted[i]))
  }
  if (stored !== null && wanted !== null && typeof stored === 'object' && typeof wanted === 'object') {
    return Object.entries(wanted).every(([k, v]) =>
      k === 'sourceType' || k === 'destinationType' || sameVisibleConfig((stored as Record<string, unknown>)[k], v))
  }
  return stored === wanted
}
