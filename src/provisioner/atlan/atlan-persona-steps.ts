/**
 * The provision steps of consumer access: the Persona found by exact name (Atlan's name search ignores case
 * and names are not unique: only exact matches count, two are a conflict) or created, and its policies on the
 * connection kept as declared, diffed by policy name: unchanged ones keep their guids, changed ones are
 * updated, undeclared ones this handler made are removed. The server rewrites persona and policy qualified
 * names; the rewritten ones are recorded. Members are never touched here: updateacl owns them.
 */
import { PermanentUpstreamError } from '../../errors.js'
import type { Component } from '../../descriptor/types.js'
import type { Step } from '../handler.js'
import type { AtlanEntity, EntityBody } from './atlan-client.js'
import { personaActions, type PersonaSpec } from './atlan-schema.js'
import {
  clientFor, NOT_ADMIN_HINT, nowOf, onFreshConnection, requireConnection, sameSet, specificOf, type AtlanHandlerDeps, type AtlanState, type Ctx
} from './atlan-state.js'

export function personaSteps (deps: AtlanHandlerDeps): Array<Step<AtlanState>> {
  return [
    { name: 'ensure-persona', run: async (ctx) => { await ensurePersona(deps, ctx) } },
    { name: 'ensure-policies', run: async (ctx) => await onFreshConnection(deps, ctx, async () => { await ensurePolicies(deps, ctx) }) }
  ]
}

/** The persona of that exact name, or undefined; two are a conflict. Prefers a guid recorded earlier. */
export async function findPersona (deps: AtlanHandlerDeps, component: Component, recordedGuid: string | undefined, signal?: AbortSignal): Promise<AtlanEntity | undefined> {
  const spec = specificOf(component).persona
  if (spec === undefined) return undefined
  const client = clientFor(deps, signal)
  const byGuid = async (guid: string | undefined): Promise<AtlanEntity | undefined> => {
    if (guid === undefined) return undefined
    const entity = (await client.getByGuid(guid, signal))?.entity
    return entity !== undefined && entity.status !== 'DELETED' && entity.typeName === 'Persona' && entity.attributes.name === spec.name ? entity : undefined
  }
  const recorded = await byGuid(recordedGuid ?? recordedPersonaGuid(component))
  if (recorded !== undefined) return recorded
  const found = await client.findByExactName('Persona', spec.name, [], signal)
  // The index lags writes: a persona this service made a moment ago may not be searchable yet.
  if (found.length === 0) return await byGuid((await deps.recent.recall('Persona', spec.name))?.guid)
  if (found.length > 1) {
    throw new PermanentUpstreamError(
      `${found.length} Atlan personas are named exactly "${spec.name}" (${found.map((e) => e.guid).join(', ')}): ` +
      'this handler cannot tell which one is the component\'s; rename or delete the extra ones', 409)
  }
  return found[0]
}

/** The persona guid of the component's last provisioning, from the deployed descriptor's privateInfo. */
function recordedPersonaGuid (component: Component): string | undefined {
  const guid = component.info?.privateInfo?.personaGuid
  return typeof guid === 'string' && guid !== '' ? guid : undefined
}

async function ensurePersona (deps: AtlanHandlerDeps, ctx: Ctx): Promise<void> {
  const spec = specificOf(ctx.component).persona
  if (spec === undefined) return
  const client = clientFor(deps, ctx.signal)
  const existing = await findPersona(deps, ctx.component, ctx.state.persona?.guid, ctx.signal)
  if (existing !== undefined) {
    ctx.state.persona = { guid: existing.guid, qualifiedName: String(existing.attributes.qualifiedName), name: spec.name }
    ctx.log.info(`persona "${spec.name}" found (${existing.guid})`)
    return
  }
  const result = await client.upsert([{
    typeName: 'Persona',
    guid: '-1',
    attributes: {
      // The server replaces this with default/<id>; the name is what identifies it to people.
      qualifiedName: spec.name,
      name: spec.name,
      displayName: spec.name,
      description: `Consumers of ${ctx.dataProduct.name ?? ctx.dataProduct.id} (${ctx.component.id}), managed by the data-mesh tech adapter`,
      isAccessControlEnabled: true
    }
  }], ctx.signal)
  const guid = result.guidAssignments['-1'] ?? result.created[0]?.guid
  const header = result.created.find((h) => h.guid === guid)
  if (guid === undefined || header?.attributes?.qualifiedName === undefined) {
    throw new PermanentUpstreamError(`Atlan created persona "${spec.name}" but its answer names no guid or qualified name`)
  }
  ctx.state.persona = { guid, qualifiedName: header.attributes.qualifiedName, name: spec.name }
  await deps.recent.remember('Persona', spec.name, guid, nowOf(deps))
  ctx.log.info(`persona "${spec.name}" created (${guid}, ${header.attributes.qualifiedName})`)
}

interface DesiredPolicy { name: string, attributes: Record<string, unknown> }

/** Policy names this handler gives, per connection (names are unique within a persona). */
export function policyNames (connectionName: string): { metadata: string, data: string } {
  return { metadata: `${connectionName} metadata`, data: `${connectionName} data` }
}

function desiredPolicies (spec: PersonaSpec, connection: { name: string, qualifiedName: string }, personaGuid: string): DesiredPolicy[] {
  const names = policyNames(connection.name)
  const common = {
    policyCategory: 'persona',
    policyType: 'allow',
    connectionQualifiedName: connection.qualifiedName,
    accessControl: { typeName: 'Persona', guid: personaGuid }
  }
  const out: DesiredPolicy[] = [{
    name: names.metadata,
    attributes: {
      ...common,
      policySubCategory: 'metadata',
      policyServiceName: 'atlas',
      policyResourceCategory: 'CUSTOM',
      policyActions: personaActions(spec),
      policyResources: [`entity:${connection.qualifiedName}`]
    }
  }]
  if (spec.dataAccess !== false) {
    out.push({
      name: names.data,
      attributes: {
        ...common,
        policySubCategory: 'data',
        policyServiceName: 'heka',
        policyResourceCategory: 'ENTITY',
        policyActions: ['select'],
        policyResources: [`entity:${connection.qualifiedName}`, 'entity-type:*']
      }
    })
  }
  return out
}

function policyChanged (current: AtlanEntity, desired: DesiredPolicy): boolean {
  const a = current.attributes
  const d = desired.attributes
  for (const key of ['policySubCategory', 'policyServiceName', 'policyResourceCategory', 'policyType', 'connectionQualifiedName']) {
    if (a[key] !== d[key]) return true
  }
  return !sameSet(a.policyActions as string[] | undefined, d.policyActions as string[]) ||
    !sameSet(a.policyResources as string[] | undefined, d.policyResources as string[])
}

async function ensurePolicies (deps: AtlanHandlerDeps, ctx: Ctx): Promise<void> {
  const spec = specificOf(ctx.component).persona
  const persona = ctx.state.persona
  if (spec === undefined || persona === undefined) return
  const connection = requireConnection(ctx)
  const client = clientFor(deps, ctx.signal)
  const read = await client.getByGuid(persona.guid, ctx.signal)
  if (read === undefined) throw new PermanentUpstreamError(`persona "${persona.name}" (${persona.guid}) disappeared while it was being provisioned`, 404)
  const current = Object.values(read.referredEntities).filter((e) => e.typeName === 'AuthPolicy' && e.status !== 'DELETED')
  const byName = new Map(current.map((p) => [String(p.attributes.name), p]))
  const desired = desiredPolicies(spec, connection, persona.guid)
  const recorded: NonNullable<AtlanState['policies']> = {}
  const writes: EntityBody[] = []
  const placeholders = new Map<string, string>()
  const kept: string[] = []
  for (const [i, policy] of desired.entries()) {
    const existing = byName.get(policy.name)
    if (existing !== undefined && !policyChanged(existing, policy)) {
      recorded[policy.name] = { guid: existing.guid, qualifiedName: String(existing.attributes.qualifiedName) }
      kept.push(policy.name)
      continue
    }
    const guid = existing?.guid ?? `-${i + 1}`
    if (existing === undefined) placeholders.set(guid, policy.name)
    writes.push({ typeName: 'AuthPolicy', guid, attributes: { name: policy.name, qualifiedName: existing?.attributes.qualifiedName ?? policy.name, ...policy.attributes } })
  }
  if (writes.length > 0) {
    let result
    try {
      result = await client.upsert(writes, ctx.signal)
    } catch (err) {
      if (err instanceof PermanentUpstreamError && err.upstreamStatus === 403 && /not admin/i.test(err.message)) {
        throw new PermanentUpstreamError(`${err.message}; ${NOT_ADMIN_HINT}`, 403)
      }
      throw err
    }
    for (const header of [...result.created, ...result.updated]) {
      const placeholder = Object.entries(result.guidAssignments).find(([, g]) => g === header.guid)?.[0]
      const name = (placeholder === undefined ? undefined : placeholders.get(placeholder)) ?? header.attributes?.name
      if (name !== undefined) recorded[name] = { guid: header.guid, qualifiedName: String(header.attributes?.qualifiedName ?? '') }
    }
    // An update the server found unchanged is in neither list: keep what it was.
    for (const w of writes) {
      if (recorded[String(w.attributes.name)] === undefined && w.guid !== undefined && !w.guid.startsWith('-')) {
        recorded[String(w.attributes.name)] = { guid: w.guid, qualifiedName: String(w.attributes.qualifiedName) }
      }
    }
  }
  const names = policyNames(connection.name)
  const declared = new Set(desired.map((p) => p.name))
  const removed: string[] = []
  for (const policy of current) {
    const name = String(policy.attributes.name)
    const ours = (name === names.metadata || name === names.data) && policy.attributes.connectionQualifiedName === connection.qualifiedName
    if (ours && !declared.has(name)) {
      await client.deleteEntity(policy.guid, 'PURGE', ctx.signal)
      removed.push(name)
    }
  }
  ctx.state.policies = recorded
  const written = writes.map((w) => String(w.attributes.name))
  ctx.log.info(`persona "${persona.name}" policies on "${connection.name}": ` +
    `${kept.length > 0 ? `unchanged ${kept.join(', ')}; ` : ''}${written.length > 0 ? `written ${written.join(', ')}; ` : ''}${removed.length > 0 ? `removed ${removed.join(', ')}` : ''}`.replace(/; $/, ''))
}
