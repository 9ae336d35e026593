/**
 * Reverse provisioning: describe an existing load plan or list of schemas as this handler's `specific` section,
 * as dot-path updates into catalog-info. Read-only. Schemas are checked to exist (and their exact spelling
 * taken from Incorta); load plans cannot be listed through Incorta's public API, so a plan is described as named.
 */
import { DescriptorInvalidError, PermanentUpstreamError } from '../../errors.js'
import type { ReverseProvisioningContext } from '../handler.js'
import { LOAD_SOURCES } from './incorta-schema.js'
import { clientFor, TENANT_HINT, type IncortaHandlerDeps } from './incorta-state.js'

const PREFIX = 'spec.mesh.specific'
const PARAMS_HINT = 'pass params.loadPlanName (one load plan) or params.schemaNames (a list of schema names), and params.tenant when it is not the default tenant'

export async function reverseProvision (deps: IncortaHandlerDeps, ctx: ReverseProvisioningContext): Promise<{ updates: Record<string, unknown> }> {
  const plan = text(ctx.params.loadPlanName)
  const rawSchemas = ctx.params.schemaNames
  const schemaNames = typeof rawSchemas === 'string' ? rawSchemas.split(',').map((s) => s.trim()).filter(Boolean) : rawSchemas
  if ((plan === undefined) === (schemaNames === undefined)) {
    throw new DescriptorInvalidError([{ path: 'params', message: 'reverse provisioning needs exactly one of params.loadPlanName or params.schemaNames', hint: PARAMS_HINT }])
  }
  if (schemaNames !== undefined && (!Array.isArray(schemaNames) || schemaNames.length === 0 || !schemaNames.every((s) => typeof s === 'string' && s.trim() !== ''))) {
    throw new DescriptorInvalidError([{ path: 'params.schemaNames', message: 'must be a non-empty list of schema names', hint: PARAMS_HINT }])
  }
  const tenant = text(ctx.params.tenant) ?? deps.config.tenant
  if (tenant === undefined) throw new DescriptorInvalidError([{ path: 'params.tenant', message: 'no Incorta tenant is named', hint: TENANT_HINT }])
  const loadSource = text(ctx.params.loadSource)
  if (loadSource !== undefined && !(LOAD_SOURCES as readonly string[]).includes(loadSource)) {
    throw new DescriptorInvalidError([{ path: 'params.loadSource', message: `must be one of ${LOAD_SOURCES.join(', ')}` }])
  }

  const updates: Record<string, unknown> = {}
  if (tenant !== deps.config.tenant) updates[`${PREFIX}.tenant`] = tenant
  if (plan !== undefined) {
    updates[`${PREFIX}.loadPlanName`] = plan
    ctx.log.warn(`Incorta's public API cannot list load plans: "${plan}" is described as named and checked when it is executed`)
  } else {
    const wanted = [...new Set((schemaNames as string[]).map((s) => s.trim()))]
    const schemas = await clientFor(deps, ctx.signal).listSchemas(tenant, ctx.signal)
    const exact = new Map(schemas.map((s) => [s.schemaName, s.schemaName]))
    const folded = new Map(schemas.map((s) => [s.schemaName.toLowerCase(), s.schemaName]))
    const missing = wanted.filter((s) => !exact.has(s) && !folded.has(s.toLowerCase()))
    if (missing.length > 0) throw new PermanentUpstreamError(`Incorta tenant ${tenant} has no schema named ${missing.map((s) => `"${s}"`).join(', ')}`, 404)
    updates[`${PREFIX}.schemaNames`] = wanted.map((s) => exact.get(s) ?? folded.get(s.toLowerCase()) ?? s)
  }
  if (loadSource !== undefined) updates[`${PREFIX}.loadSource`] = loadSource
  ctx.log.info(`described ${plan === undefined ? `schemas ${String(updates[`${PREFIX}.schemaNames`])}` : `load plan ${plan}`} of Incorta tenant ${tenant}`)
  return { updates }
}

function text (value: unknown): string | undefined {
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined
}
