/**
 * Validation beyond the JSON Schema: the offline rules of the `specific` section (incorta-schema), the tenant,
 * no secret references (nothing in an Incorta load takes one), and on `/v2/validate` the read-only check that
 * the named schemas exist in the tenant (`/schema/list`, every page). Nothing here starts a load.
 */
import { AdapterError, type InputProblem } from '../../errors.js'
import type { Component } from '../../descriptor/types.js'
import { collectSecretRefs } from '../../secrets/secret-store.js'
import type { CheckContext, SpecificCheck, UpstreamCheckContext } from '../handler.js'
import { clusterBase } from './incorta-config.js'
import { specificProblems, type IncortaSpecific } from './incorta-schema.js'
import { clientFor, settingsOf, TENANT_HINT, type IncortaHandlerDeps } from './incorta-state.js'

export function checkSpecific (deps: IncortaHandlerDeps, component: Component, _ctx: CheckContext): SpecificCheck {
  const specific = (component.specific ?? {}) as IncortaSpecific
  const problems: InputProblem[] = specificProblems(specific)
  const warnings: string[] = []
  if (specific.tenant === undefined && deps.config.tenant === undefined) {
    problems.push({ path: 'tenant', message: 'no Incorta tenant is named', hint: TENANT_HINT })
  }
  for (const ref of collectSecretRefs(specific)) {
    problems.push({ path: ref.path, message: 'an Incorta load takes no secret', hint: 'write names in clear; the service\'s Incorta credentials come from its own configuration (INCORTA_PAT or INCORTA_OIDC_*)' })
  }
  if (specific.waitForCompletion === false) warnings.push('waitForCompletion is false: the component completes as soon as Incorta accepts the load, before the data is loaded')
  return { problems, warnings }
}

export async function checkUpstream (deps: IncortaHandlerDeps, ctx: UpstreamCheckContext): Promise<SpecificCheck> {
  const problems: InputProblem[] = []
  const warnings: string[] = []
  if (deps.config.url === undefined) {
    return { problems, warnings: ['Incorta is not configured (INCORTA_URL is unset): the schema names were not checked against Incorta'] }
  }
  const { tenant, target } = settingsOf(deps, ctx.component)
  if (target.kind === 'plan') {
    warnings.push(`Incorta's public API cannot list load plans: load plan "${target.loadPlanName}" is checked when it is executed`)
    return { problems, warnings }
  }
  try {
    const schemas = await clientFor(deps, ctx.signal).listSchemas(tenant, ctx.signal)
    const byName = new Map(schemas.map((s) => [s.schemaName, s]))
    for (const [i, name] of target.schemaNames.entries()) {
      const found = byName.get(name)
      if (found === undefined) {
        const near = schemas.find((s) => s.schemaName.toLowerCase() === name.toLowerCase())?.schemaName
        problems.push({
          path: `schemaNames.${i}`,
          message: `schema "${name}" does not exist in Incorta tenant ${tenant}`,
          hint: near === undefined ? 'names are case-sensitive; check the schema list in Incorta' : `names are case-sensitive: did you mean "${near}"?`
        })
      } else if (found.schemaType !== undefined && found.schemaType.toUpperCase() === 'BUSINESS') {
        problems.push({ path: `schemaNames.${i}`, message: `schema "${name}" is a business schema, which has no data to load`, hint: 'name the physical schemas it is built on' })
      }
    }
  } catch (err) {
    if (!(err instanceof AdapterError)) throw err
    warnings.push(`Incorta at ${clusterBase(deps.config.url)} could not be reached or refused the check (${err.message}): the schema names were not checked; they are checked again when the load starts`)
  }
  return { problems, warnings }
}
