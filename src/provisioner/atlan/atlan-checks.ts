/**
 * Validation beyond the JSON Schema: offline, the admin lists after their defaults; against Atlan (the async
 * `/v2/validate`), that every identity ref maps to an Atlan principal (each unresolvable one named) and that
 * the API token exists. Atlan being unreachable is a warning, not a problem. Nothing here writes to Atlan.
 */
import { AdapterError, type InputProblem } from '../../errors.js'
import type { Component } from '../../descriptor/types.js'
import { collectSecretRefs } from '../../secrets/secret-store.js'
import type { CheckContext, SpecificCheck, UpstreamCheckContext } from '../handler.js'
import { adminProblems, adminRefs, type AtlanSpecific } from './atlan-schema.js'
import { clientFor, type AtlanHandlerDeps } from './atlan-state.js'

export function checkSpecific (component: Component, ctx: CheckContext): SpecificCheck {
  const specific = component.specific as unknown as AtlanSpecific
  const warnings: string[] = []
  if (specific.persona?.dataAccess === false) warnings.push('persona.dataAccess is false: consumers see the connection\'s metadata but cannot query its data')
  const problems = adminProblems(specific, ctx.dataProduct)
  // Everything in this section ends up in Atlan's catalog, visible to its users: no field takes a secret.
  for (const ref of collectSecretRefs(specific)) {
    problems.push({ path: ref.path, message: `secret "${ref.name}" is referenced, but no Atlan field takes a secret`, hint: 'names and ids end up in the Atlan catalog: write them in clear' })
  }
  return { problems, warnings }
}

export async function checkUpstream (deps: AtlanHandlerDeps, ctx: UpstreamCheckContext): Promise<SpecificCheck> {
  const problems: InputProblem[] = []
  const warnings: string[] = []
  if (deps.config.url === undefined) {
    return { problems, warnings: ['Atlan is not configured (ATLAN_URL is unset): no identity ref was checked against Atlan'] }
  }
  const specific = ctx.component.specific as unknown as AtlanSpecific
  const refs = adminRefs(specific, ctx.dataProduct)
  try {
    // A defaulted list is reported at its own path, naming where the default came from.
    const entries: Array<[string, string, 'user' | 'group', string]> = [
      ...refs.users.map((ref, i): [string, string, 'user', string] => specific.connection.adminUsers === undefined
        ? ['connection.adminUsers', ref, 'user', ' (the default admin: the data product owner)']
        : [`connection.adminUsers.${i}`, ref, 'user', '']),
      ...refs.groups.map((ref, i): [string, string, 'group', string] => specific.connection.adminGroups === undefined
        ? ['connection.adminGroups', ref, 'group', ' (the default admin group: the data product\'s dev group)']
        : [`connection.adminGroups.${i}`, ref, 'group', ''])
    ]
    for (const [path, ref, kind, origin] of entries) {
      const mapped = kind === 'user' ? await deps.mapper.user(ref, ctx.signal) : await deps.mapper.group(ref, ctx.signal)
      if (mapped === undefined) {
        problems.push({
          path,
          message: `${ref}${origin} maps to no Atlan ${kind}`,
          hint: kind === 'user'
            ? 'the ref must be the e-mail of an Atlan user with its last @ replaced by _ (or listed in ATLAN_PRINCIPAL_MAP_FILE)'
            : 'the ref must be the name or alias of an Atlan group (or listed in ATLAN_PRINCIPAL_MAP_FILE)'
        })
      }
    }
    if (specific.apiTokenGuid !== undefined && await clientFor(deps, ctx.signal).apiKeyById(specific.apiTokenGuid, ctx.signal) === undefined) {
      problems.push({ path: 'apiTokenGuid', message: `Atlan has no API token with id ${specific.apiTokenGuid}`, hint: 'give the token\'s id (its guid), not its client id' })
    }
  } catch (err) {
    if (!(err instanceof AdapterError)) throw err
    warnings.push(`Atlan could not be checked (${err.message}); identity refs will be checked at provision`)
  }
  return { problems, warnings }
}
