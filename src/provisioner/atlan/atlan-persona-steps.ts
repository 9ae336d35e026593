/**
 * The provision steps of consumer access: the Persona found by guid whenever one is known (this task's
 * checkpoint, this service's resource ledger, the deployed descriptor's privateInfo), else by exact name
 * (Atlan's name search ignores case and names are not unique: only exact matches count, two are a conflict), or
 * created, announced in the ledger before and recorded the moment Atlan answers; and its policies on the
 * connection kept as declared, diffed by policy name: unchanged ones keep their guids, changed ones are
 * updated, undeclared ones this handler made are removed. The ledger holds a fingerprint of the policies last
 * sent for the persona: when the persona's own read shows them as sent, ensure-policies reads and writes
 * nothing. The server rewrites persona and policy qualified names; the rewritten ones are recorded. Members
 * are never touched here: updateacl owns them.
 */
import { PermanentUpstreamError } from '../../errors.js'
import type { OwnedResource, Step, StepOutcome } from '../handler.js'
import type { AtlanEntity, EntityBody, EntityWithReferences } from './atlan-client.js'
import { personaActions, type PersonaSpec } from './atlan-schema.js'
import { announcedCreate, announcedCreateWait, knownGuids, readKnown } from './atlan-owned-resources.js'
import {
  clientFor, NOT_ADMIN_HINT, nowOf, onFreshConnection, requireConnection, sameSet, specificOf, type AtlanHandlerDeps, type AtlanState, type Ctx
} from './atlan-state.js'

export function personaSteps (deps: AtlanHandlerDeps): Array<Step<AtlanState>> {
  return [
    { name: 'ensure-persona', run: async (ctx) => await ensurePersona(deps, ctx) },
    { name: 'ensure-policies', run: async (ctx) => await onFreshConnection(deps, ctx, async () => { await ensurePolicies(deps, ctx) }) }
  ]
}

/**
 * The component's persona: by a known guid (read with its policies), else the one of that exact name, or
 * undefined; two of that name are a conflict.
 */
export async function findPersona (deps: AtlanHandlerDeps, ctx: Ctx, owned: OwnedResource | undefined): Promise<{ entity: AtlanEntity, referredEntities?: EntityWithReferences['referredEntities'] } | undefined> {
  const spec = specificOf(ctx.component).persona
  if (spec === undefined) return undefined
  const client = clientFor(deps, ctx.signal)
  const known = await readKnown(deps, ctx, 'Persona', spec.name, knownGuids(ctx, ctx.state.persona?.guid, owned, 'personaGuid'))
  if (known !== undefined) return known
  const found = await client.findByExactName('Persona', spec.name, [], ctx.signal)
  if (found.length === 0) {
    // The index lags writes: a persona this service made a moment ago may not be searchable yet.
    const guid = (await deps.recent.recall('Persona', spec.name))?.guid
    const read = guid === undefined ? undefined : await client.getByGuid(guid, ctx.signal)
    return read !== undefined && read.entity.status !== 'DELETED' && read.entity.typeName === 'Persona' && read.entity.attributes.name === spec.name ? read : undefined
  }
  if (found.length > 1) {
    throw new PermanentUpstreamError(
      `${found.length} Atlan personas are named exactly "${spec.name}" (${found.map((e) => e.guid).join(', ')}): ` +
      'this handler cannot tell which one is the component\'s; rename or delete the extra ones', 409)
  }
  return found[0] === undefined ? undefined : { entity: found[0] }
}

async function ensurePersona (deps: AtlanHandlerDeps, ctx: Ctx): Promise<StepOutcome> {
  const spec = specificOf(ctx.component).persona
  if (spec === undefined) return undefined
  const client = clientFor(deps, ctx.signal)
  const ledger = await ctx.ledger.read()
  const existing = await findPersona(deps, ctx, ledger.persona)
  if (existing !== undefined) {
    const { entity } = existing
    if (ledger.persona?.id !== entity.guid) await ctx.ledger.write('persona', { id: entity.guid })
    ctx.state.persona = { guid: entity.guid, qualifiedName: String(entity.attributes.qualifiedName), name: spec.name }
    const settled = existing.referredEntities !== undefined && await policiesAsSent(ctx, spec, entity.guid, livePolicies(existing.referredEntities), ledger.policies)
    if (settled) ctx.state.persona.policiesSettled = true
    ctx.log.info(`persona "${spec.name}" found (${entity.guid})`)
    return undefined
  }
  const wait = announcedCreateWait(deps, ctx, ledger.persona, `persona "${spec.name}"`)
  if (wait !== undefined) return wait
  const result = await announcedCreate(deps, ctx, 'persona', async () => await client.upsert([{
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
  }], ctx.signal))
  const guid = result.guidAssignments['-1'] ?? result.created[0]?.guid
  const header = result.created.find((h) => h.guid === guid)
  if (guid === undefined || header?.attributes?.qualifiedName === undefined) {
    throw new PermanentUpstreamError(`Atlan created persona "${spec.name}" but its answer names no guid or qualified name`)
  }
  await ctx.ledger.write('persona', { id: guid })
  ctx.state.persona = { guid, qualifiedName: header.attributes.qualifiedName, name: spec.name, created: true }
  await deps.recent.remember('Persona', spec.name, guid, nowOf(deps))
  ctx.log.info(`persona "${spec.name}" created (${guid}, ${header.attributes.qualifiedName})`)
  return undefined
}

/** The persona's live policies among the entities its read refers to. */
function livePolicies (referred: EntityWithReferences['referredEntities']): AtlanEntity[] {
  return Object.values(referred).filter((e) => e.typeName === 'AuthPolicy' && e.status !== 'DELETED')
}

/**
 * Do the persona's live policies already hold what the declaration asks for, and is that what this service last
 * sent for this persona? Then they are recorded in the state and ensure-policies has nothing to do.
 */
async function policiesAsSent (ctx: Ctx, spec: PersonaSpec, personaGuid: string, current: AtlanEntity[], owned: OwnedResource | undefined): Promise<boolean> {
  const connection = ctx.state.connection
  if (connection === undefined || owned?.id !== personaGuid || owned.sent === undefined) return false
  const desired = desiredPolicies(spec, connection, personaGuid)
  const plan = planPolicies(current, desired, connection)
  if (plan.writes.length > 0 || plan.removals.length > 0) return false
  if (owned.sent !== await ctx.ledger.fingerprint(desired)) return false
  ctx.state.policies = plan.recorded
  return true
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

interface PolicyPlan {
  /** Policies Atlan holds as declared, by name. */
  recorded: NonNullable<AtlanState['policies']>
  kept: string[]
  writes: EntityBody[]
  /** Placeholder guid -> policy name, for the policies to create. */
  placeholders: Map<string, string>
  /** Policies this handler made for the connection that are no longer declared. */
  removals: AtlanEntity[]
}

function planPolicies (current: AtlanEntity[], desired: DesiredPolicy[], connection: { name: string, qualifiedName: string }): PolicyPlan {
  const byName = new Map(current.map((p) => [String(p.attributes.name), p]))
  const plan: PolicyPlan = { recorded: {}, kept: [], writes: [], placeholders: new Map(), removals: [] }
  for (const [i, policy] of desired.entries()) {
    const existing = byName.get(policy.name)
    if (existing !== undefined && !policyChanged(existing, policy)) {
      plan.recorded[policy.name] = { guid: existing.guid, qualifiedName: String(existing.attributes.qualifiedName) }
      plan.kept.push(policy.name)
      continue
    }
    const guid = existing?.guid ?? `-${i + 1}`
    if (existing === undefined) plan.placeholders.set(guid, policy.name)
    plan.writes.push({ typeName: 'AuthPolicy', guid, attributes: { name: policy.name, qualifiedName: existing?.attributes.qualifiedName ?? policy.name, ...policy.attributes } })
  }
  const names = policyNames(connection.name)
  const declared = new Set(desired.map((p) => p.name))
  for (const policy of current) {
    const name = String(policy.attributes.name)
    const ours = (name === names.metadata || name === names.data) && policy.attributes.connectionQualifiedName === connection.qualifiedName
    if (ours && !declared.has(name)) plan.removals.push(policy)
  }
  return plan
}

async function ensurePolicies (deps: AtlanHandlerDeps, ctx: Ctx): Promise<void> {
  const spec = specificOf(ctx.component).persona
  const persona = ctx.state.persona
  if (spec === undefined || persona === undefined) return
  const connection = requireConnection(ctx)
  if (persona.policiesSettled === true) {
    ctx.log.info(`persona "${persona.name}" policies on "${connection.name}" left as they were: ${Object.keys(ctx.state.policies ?? {}).join(', ')} ` +
      'are what this service last sent, as the persona\'s read showed')
    return
  }
  const client = clientFor(deps, ctx.signal)
  const owned = (await ctx.ledger.read()).policies
  let current: AtlanEntity[]
  if (persona.created === true && owned === undefined) {
    // Created by this task a moment ago, and no policy write for this component was ever announced: it has none.
    current = []
  } else {
    const read = await client.getByGuid(persona.guid, ctx.signal)
    if (read === undefined) throw new PermanentUpstreamError(`persona "${persona.name}" (${persona.guid}) disappeared while it was being provisioned`, 404)
    current = livePolicies(read.referredEntities)
  }
  const desired = desiredPolicies(spec, connection, persona.guid)
  const sent = await ctx.ledger.fingerprint(desired)
  const { recorded, kept, writes, placeholders, removals } = planPolicies(current, desired, connection)
  if (writes.length > 0) {
    // Announced first: a re-run after a crash reads the persona's policies instead of trusting it has none.
    let result
    try {
      result = await announcedCreate(deps, ctx, 'policies', async () => await client.upsert(writes, ctx.signal))
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
  const removed: string[] = []
  for (const policy of removals) {
    await client.deleteEntity(policy.guid, 'PURGE', ctx.signal)
    removed.push(String(policy.attributes.name))
  }
  // Atlan now holds the declared policies: recorded as sent, so the next provision need not read them again.
  if (owned?.id !== persona.guid || owned.sent !== sent) await ctx.ledger.write('policies', { id: persona.guid, sent })
  ctx.state.policies = recorded
  const written = writes.map((w) => String(w.attributes.name))
  ctx.log.info(`persona "${persona.name}" policies on "${connection.name}": ` +
    `${kept.length > 0 ? `unchanged ${kept.join(', ')}; ` : ''}${written.length > 0 ? `written ${written.join(', ')}; ` : ''}${removed.length > 0 ? `removed ${removed.join(', ')}` : ''}`.replace(/; $/, ''))
}
