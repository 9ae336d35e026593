/**
 * The provision steps of the Connection: who this service is in Atlan, the Connection found by exact name or
 * created (never a second one), and its admin lists kept to exactly the mapped declared admins plus this
 * service's own user (and the API token's user, when one is named). The qualified name of a Connection this
 * task may create is chosen and checkpointed before the write, so a re-run reads it back directly instead of
 * trusting the search index, which lags writes.
 */
import { PermanentUpstreamError } from '../../errors.js'
import type { Step } from '../handler.js'
import type { AtlanEntity } from './atlan-client.js'
import { mapPrincipals } from './atlan-principals.js'
import { adminRefs } from './atlan-schema.js'
import {
  clientFor, listed, nowOf, onFreshConnection, sameSet, specificOf, type AtlanHandlerDeps, type AtlanState, type Ctx
} from './atlan-state.js'

const CONNECTION_ATTRIBUTES = ['adminUsers', 'adminGroups', 'adminRoles', 'connectorName', 'category']

/**
 * After the workflow made this service's own token an admin of a connection it did not administer, the
 * declared admin lists can be applied at last.
 */
export function reconcileAdminsStep (deps: AtlanHandlerDeps): Step<AtlanState> {
  return {
    name: 'reconcile-admins',
    run: async (ctx) => {
      const { connection, apiToken, ownUsername } = ctx.state
      if (connection === undefined || connection.administered || apiToken?.via !== 'workflow' || apiToken.username !== ownUsername) return undefined
      return await onFreshConnection(deps, ctx, async () => { await ensureConnection(deps, ctx) })
    }
  }
}

export function connectionSteps (deps: AtlanHandlerDeps): Array<Step<AtlanState>> {
  return [
    { name: 'resolve-identity', run: async (ctx) => { await resolveIdentity(deps, ctx) } },
    { name: 'plan-connection', run: async (ctx) => await onFreshConnection(deps, ctx, async () => { await planConnection(deps, ctx) }) },
    { name: 'ensure-connection', run: async (ctx) => await onFreshConnection(deps, ctx, async () => { await ensureConnection(deps, ctx) }) }
  ]
}

async function resolveIdentity (deps: AtlanHandlerDeps, ctx: Ctx): Promise<void> {
  const client = clientFor(deps, ctx.signal)
  const me = await client.currentUser(ctx.signal)
  ctx.state.ownUsername = me.username
  const guid = specificOf(ctx.component).apiTokenGuid
  if (guid !== undefined) {
    const key = await client.apiKeyById(guid, ctx.signal)
    if (key === undefined) {
      throw new PermanentUpstreamError(`Atlan has no API token with id ${guid} (specific.apiTokenGuid): give the token's id, not its client id`, 404)
    }
    ctx.state.apiToken = { ...ctx.state.apiToken, guid, username: `service-account-${key.clientId}` }
  }
  ctx.log.info(`acting in Atlan as ${me.username}`)
}

/** The Connection of that exact name (and connector), or undefined; two of them are a conflict. */
export async function findConnection (deps: AtlanHandlerDeps, ctx: Ctx, includeArchived = false): Promise<AtlanEntity | undefined> {
  const { connection } = specificOf(ctx.component)
  const found = await clientFor(deps, ctx.signal).findByExactName('Connection', connection.name, CONNECTION_ATTRIBUTES, ctx.signal, includeArchived)
  const sameConnector = found.filter((e) => e.attributes.connectorName === undefined || e.attributes.connectorName === connection.connectorType)
  const active = sameConnector.filter((e) => e.status !== 'DELETED')
  const candidates = active.length > 0 ? active : sameConnector
  if (candidates.length === 0) {
    // The index lags writes: a connection this service made a moment ago may not be searchable yet.
    const guid = (await deps.recent.recall('Connection', connection.name))?.guid
    const recent = guid === undefined ? undefined : (await clientFor(deps, ctx.signal).getByGuid(guid, ctx.signal))?.entity
    if (recent !== undefined && recent.attributes.name === connection.name && (includeArchived || recent.status !== 'DELETED')) return recent
  }
  if (candidates.length > 1) {
    throw new PermanentUpstreamError(
      `${candidates.length} Atlan connections are named "${connection.name}" (${candidates.map((e) => e.guid).join(', ')}): ` +
      'this handler cannot tell which one is the component\'s; archive the extra ones or rename the connection', 409)
  }
  return candidates[0]
}

async function planConnection (deps: AtlanHandlerDeps, ctx: Ctx): Promise<void> {
  if (ctx.state.plannedQualifiedName !== undefined || ctx.state.connection !== undefined) return
  const existing = await findConnection(deps, ctx)
  if (existing !== undefined) {
    ctx.log.info(`connection "${specificOf(ctx.component).connection.name}" exists (${existing.guid})`)
    return
  }
  ctx.state.plannedQualifiedName = await freeQualifiedName(deps, ctx)
}

async function freeQualifiedName (deps: AtlanHandlerDeps, ctx: Ctx): Promise<string> {
  const { connectorType } = specificOf(ctx.component).connection
  const client = clientFor(deps, ctx.signal)
  // The qualified name embeds epoch seconds, and a write with a taken one overwrites that connection: reserve
  // it across workers and check Atlan does not hold it yet, moving to the next second until both agree.
  let seconds = Math.floor(nowOf(deps) / 1000)
  for (let tries = 0; ; tries++, seconds++) {
    const qualifiedName = `default/${connectorType}/${seconds}`
    if (await deps.reserveQualifiedName(qualifiedName) && await client.getByQualifiedName('Connection', qualifiedName, ctx.signal) === undefined) {
      return qualifiedName
    }
    if (tries > 100) throw new Error('no free Connection qualified name in 100 seconds: the reservation store is not answering as expected')
  }
}

async function ensureConnection (deps: AtlanHandlerDeps, ctx: Ctx): Promise<void> {
  const client = clientFor(deps, ctx.signal)
  const specific = specificOf(ctx.component)
  const spec = specific.connection
  const own = ctx.state.ownUsername
  if (own === undefined) throw new Error('this service\'s Atlan user is unknown: the resolve-identity step must run first')

  const refs = adminRefs(specific, ctx.dataProduct)
  const mapped = await mapPrincipals(deps.mapper, [...refs.users, ...refs.groups], ctx.signal)
  ctx.state.unmappedAdmins = mapped.unmapped
  if (mapped.unmapped.length > 0) ctx.log.warn(`connection admins that map to no Atlan user or group, left out: ${listed(mapped.unmapped)}`)
  const tokenUser = ctx.state.apiToken?.username
  const users = [...new Set([...mapped.users, own, ...(tokenUser === undefined ? [] : [tokenUser])])].sort()
  const groups = mapped.groups

  let existing: AtlanEntity | undefined
  if (ctx.state.connection !== undefined) existing = (await client.getByGuid(ctx.state.connection.guid, ctx.signal))?.entity
  if (existing === undefined && ctx.state.plannedQualifiedName !== undefined) {
    // A direct read, not a search: it sees a connection an interrupted run of this step wrote a moment ago.
    existing = (await client.getByQualifiedName('Connection', ctx.state.plannedQualifiedName, ctx.signal))?.entity
  }
  if (existing === undefined) {
    const found = await findConnection(deps, ctx)
    if (found !== undefined) existing = (await client.getByGuid(found.guid, ctx.signal))?.entity ?? found
  }
  if (existing?.status === 'DELETED' || (existing !== undefined && existing.attributes.name !== spec.name)) existing = undefined

  if (existing === undefined) {
    // Planned when plan-connection found no connection; one that vanished since gets its name now.
    const qualifiedName = ctx.state.plannedQualifiedName ?? await freeQualifiedName(deps, ctx)
    const result = await client.upsert([{
      typeName: 'Connection',
      guid: '-1',
      attributes: {
        name: spec.name,
        qualifiedName,
        connectorName: spec.connectorType,
        ...(spec.category === undefined ? {} : { category: spec.category }),
        adminUsers: users,
        adminGroups: groups,
        adminRoles: []
      }
    }], ctx.signal)
    // The write's own answer, not a search: the index shows the new connection only a second or so later.
    const guid = result.guidAssignments['-1'] ?? result.created[0]?.guid
    if (guid === undefined) throw new PermanentUpstreamError(`Atlan created connection "${spec.name}" but returned no guid for it`)
    ctx.state.connection = { guid, qualifiedName, name: spec.name, createdAt: nowOf(deps), administered: true }
    await deps.recent.remember('Connection', spec.name, guid, ctx.state.connection.createdAt ?? nowOf(deps))
    ctx.log.info(`connection "${spec.name}" created (${guid}, ${qualifiedName}); admins: users ${listed(users)}, groups ${listed(groups)}`)
    return
  }

  const qualifiedName = String(existing.attributes.qualifiedName)
  const currentUsers = (existing.attributes.adminUsers as string[] | undefined) ?? []
  const currentGroups = (existing.attributes.adminGroups as string[] | undefined) ?? []
  const administered = currentUsers.includes(own)
  ctx.state.connection = { guid: existing.guid, qualifiedName, name: spec.name, createdAt: ctx.state.connection?.createdAt, administered }
  if (!administered) {
    ctx.log.warn(`this service (${own}) is not an admin of connection "${spec.name}" (${existing.guid}), made elsewhere: its admin lists are left as they are`)
    return
  }
  if (sameSet(currentUsers, users) && sameSet(currentGroups, groups)) {
    ctx.log.info(`connection "${spec.name}" found (${existing.guid}); admins unchanged`)
    return
  }
  await client.upsert([{
    typeName: 'Connection',
    guid: existing.guid,
    attributes: { name: spec.name, qualifiedName, adminUsers: users, adminGroups: groups }
  }], ctx.signal)
  const diff = (before: string[], after: string[]): string =>
    `+[${after.filter((v) => !before.includes(v)).join(', ')}] -[${before.filter((v) => !after.includes(v)).join(', ')}]`
  ctx.log.info(`connection "${spec.name}" found (${existing.guid}); admins updated: users ${diff(currentUsers, users)}, groups ${diff(currentGroups, groups)}`)
}
