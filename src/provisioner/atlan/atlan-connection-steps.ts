/**
 * The provision steps of the Connection: who this service is in Atlan, the Connection found by guid whenever one
 * is known (this task's checkpoint, this service's resource ledger, the deployed descriptor's privateInfo), else
 * by exact name, or created (never a second one), and its admin lists kept to exactly the mapped declared admins
 * plus this service's own user (and the API token's user, when one is named). The qualified name of a Connection
 * this task may create is chosen and checkpointed before the write, and the create is announced in the ledger
 * before it is sent and recorded the moment Atlan answers, so a re-run reads it back directly instead of
 * trusting the search index, which lags writes. The ledger also holds a fingerprint of the admin lists last
 * sent with the declared refs they came from: while Atlan still holds exactly those, the refs are not mapped
 * again and nothing is written.
 */
import { PermanentUpstreamError } from '../../errors.js'
import type { StepOutcome, Step } from '../handler.js'
import type { AtlanEntity } from './atlan-client.js'
import { mapPrincipals } from './atlan-principals.js'
import { adminRefs } from './atlan-schema.js'
import { announcedCreate, announcedCreateWait, knownGuids, readKnown } from './atlan-owned-resources.js'
import { clientFor, listed, nowOf, onFreshConnection, sameSet, specificOf, type AtlanHandlerDeps, type AtlanState, type Ctx } from './atlan-state.js'

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
      return await onFreshConnection(deps, ctx, async () => await ensureConnection(deps, ctx))
    }
  }
}

export function connectionSteps (deps: AtlanHandlerDeps): Array<Step<AtlanState>> {
  // This service's own user is fixed by the credentials it started with: asked once per process, not per task.
  let own: Promise<string> | undefined
  const ownUsername = async (ctx: Ctx): Promise<string> => {
    own ??= clientFor(deps, ctx.signal).currentUser(ctx.signal).then((me) => me.username)
    own.catch(() => { own = undefined })
    return await own
  }
  return [
    { name: 'resolve-identity', run: async (ctx) => { await resolveIdentity(deps, ctx, await ownUsername(ctx)) } },
    { name: 'plan-connection', run: async (ctx) => await onFreshConnection(deps, ctx, async () => { await planConnection(deps, ctx) }) },
    { name: 'ensure-connection', run: async (ctx) => await onFreshConnection(deps, ctx, async () => await ensureConnection(deps, ctx)) }
  ]
}

async function resolveIdentity (deps: AtlanHandlerDeps, ctx: Ctx, ownUsername: string): Promise<void> {
  const client = clientFor(deps, ctx.signal)
  ctx.state.ownUsername = ownUsername
  const guid = specificOf(ctx.component).apiTokenGuid
  if (guid !== undefined) {
    const key = await client.apiKeyById(guid, ctx.signal)
    if (key === undefined) {
      throw new PermanentUpstreamError(`Atlan has no API token with id ${guid} (specific.apiTokenGuid): give the token's id, not its client id`, 404)
    }
    ctx.state.apiToken = { ...ctx.state.apiToken, guid, username: `service-account-${key.clientId}` }
  }
  ctx.log.info(`acting in Atlan as ${ownUsername}`)
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
  // ensure-connection reads a known guid directly; only when Atlan no longer has it does it need a name lookup
  // and, for a create, a qualified name (chosen then).
  const owned = (await ctx.ledger.read()).connection
  if (knownGuids(ctx, undefined, owned, 'connectionGuid').length > 0) return
  const existing = await findConnection(deps, ctx)
  if (existing !== undefined) {
    // Recorded, so ensure-connection and later provisions read it by guid instead of searching again.
    await ctx.ledger.write('connection', { id: existing.guid })
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

interface AdminsSent { declared: string[], own: string, tokenUser: string | undefined }

/**
 * What the ledger fingerprints for a Connection: the admin lists sent, with what they came from: the declared
 * refs, this service's and the API token's users, the mapping mode and the refs left unmapped (so a ref added,
 * removed or remapped in the descriptor, or a token no longer named, counts as a change before any mapping).
 */
function sentRecord (deps: AtlanHandlerDeps, from: AdminsSent, body: { name: string, qualifiedName: string, adminUsers: string[], adminGroups: string[] }, unmapped: string[]): unknown {
  return {
    ...from,
    mapping: deps.config.principalMapping,
    body: { ...body, adminUsers: [...body.adminUsers].sort(), adminGroups: [...body.adminGroups].sort() },
    ...(unmapped.length === 0 ? {} : { unmapped: [...unmapped].sort() })
  }
}

async function ensureConnection (deps: AtlanHandlerDeps, ctx: Ctx): Promise<StepOutcome> {
  const client = clientFor(deps, ctx.signal)
  const specific = specificOf(ctx.component)
  const spec = specific.connection
  const own = ctx.state.ownUsername
  if (own === undefined) throw new Error('this service\'s Atlan user is unknown: the resolve-identity step must run first')
  const owned = (await ctx.ledger.read()).connection
  const refs = adminRefs(specific, ctx.dataProduct)
  const tokenUser = ctx.state.apiToken?.username
  const from: AdminsSent = { declared: [...new Set([...refs.users, ...refs.groups])].sort(), own, tokenUser }
  const usable = (e: AtlanEntity | undefined): AtlanEntity | undefined => e?.status === 'DELETED' || e?.attributes.name !== spec.name ? undefined : e

  let existing = (await readKnown(deps, ctx, 'Connection', spec.name, knownGuids(ctx, ctx.state.connection?.guid, owned, 'connectionGuid')))?.entity
  const planned = ctx.state.plannedQualifiedName
  if (existing === undefined && planned !== undefined && owned?.id === undefined) {
    // A direct read, not a search: it sees a connection an interrupted run of this step wrote a moment ago (this
    // release announces its creates in the ledger; a job checkpointed by an earlier one may not have).
    existing = usable((await client.getByQualifiedName('Connection', planned, ctx.signal))?.entity)
  }
  // plan-connection searched the name moments ago in this task; a search is needed again only when a create
  // was announced that may have used another qualified name, or when no plan was made.
  if (existing === undefined && (planned === undefined || owned?.creating !== undefined)) {
    const found = await findConnection(deps, ctx)
    if (found !== undefined) existing = usable((await client.getByGuid(found.guid, ctx.signal))?.entity ?? found)
  }

  if (existing === undefined) {
    const wait = announcedCreateWait(deps, ctx, owned, `connection "${spec.name}"`)
    if (wait !== undefined) return wait
    const { users, groups } = await desiredAdmins(deps, ctx, own, tokenUser)
    // Planned when plan-connection found no connection; one that vanished since gets its name now.
    const qualifiedName = ctx.state.plannedQualifiedName ?? await freeQualifiedName(deps, ctx)
    const sent = await ctx.ledger.fingerprint(sentRecord(deps, from, { name: spec.name, qualifiedName, adminUsers: users, adminGroups: groups }, ctx.state.unmappedAdmins ?? []))
    const result = await announcedCreate(deps, ctx, 'connection', async () => await client.upsert([{
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
    }], ctx.signal))
    // The write's own answer, not a search: the index shows the new connection only a second or so later.
    const guid = result.guidAssignments['-1'] ?? result.created[0]?.guid
    if (guid === undefined) throw new PermanentUpstreamError(`Atlan created connection "${spec.name}" but returned no guid for it`)
    const createdAt = nowOf(deps)
    await ctx.ledger.write('connection', { id: guid, sent })
    ctx.state.connection = { guid, qualifiedName, name: spec.name, createdAt, administered: true, adminUsers: users }
    await deps.recent.remember('Connection', spec.name, guid, createdAt)
    ctx.log.info(`connection "${spec.name}" created (${guid}, ${qualifiedName}); admins: users ${listed(users)}, groups ${listed(groups)}`)
    return undefined
  }

  const qualifiedName = String(existing.attributes.qualifiedName)
  const currentUsers = [...((existing.attributes.adminUsers as string[] | undefined) ?? [])].sort()
  const currentGroups = [...((existing.attributes.adminGroups as string[] | undefined) ?? [])].sort()
  const administered = currentUsers.includes(own)
  const recorded = { guid: existing.guid, qualifiedName, name: spec.name, createdAt: ctx.state.connection?.createdAt, administered }
  if (!administered) {
    ctx.state.connection = { ...recorded, adminUsers: currentUsers }
    if (owned?.id !== existing.guid) await ctx.ledger.write('connection', { id: existing.guid })
    ctx.log.warn(`this service (${own}) is not an admin of connection "${spec.name}" (${existing.guid}), made elsewhere: its admin lists are left as they are`)
    return undefined
  }
  // Atlan still holds the lists this service sent for these same declared refs: nothing to map, nothing to send.
  const held = { name: spec.name, qualifiedName, adminUsers: currentUsers, adminGroups: currentGroups }
  if (owned?.id === existing.guid && owned.sent !== undefined && owned.sent === await ctx.ledger.fingerprint(sentRecord(deps, from, held, []))) {
    ctx.state.unmappedAdmins = []
    ctx.state.connection = { ...recorded, adminUsers: currentUsers }
    ctx.log.info(`connection "${spec.name}" left as it was (${existing.guid}): Atlan holds the admins this service last sent for the same declared admins`)
    return undefined
  }

  const { users, groups } = await desiredAdmins(deps, ctx, own, tokenUser)
  const sent = await ctx.ledger.fingerprint(sentRecord(deps, from, { name: spec.name, qualifiedName, adminUsers: users, adminGroups: groups }, ctx.state.unmappedAdmins ?? []))
  ctx.state.connection = { ...recorded, adminUsers: users }
  if (sameSet(currentUsers, users) && sameSet(currentGroups, groups)) {
    // What Atlan holds is what would be sent: recorded as sent, so the next provision need not map the refs.
    if (owned?.id !== existing.guid || owned.sent !== sent) await ctx.ledger.write('connection', { id: existing.guid, sent })
    ctx.state.connection.adminUsers = currentUsers
    ctx.log.info(`connection "${spec.name}" found (${existing.guid}); admins unchanged`)
    return undefined
  }
  // While the update is in flight what Atlan holds is unknown: the record keeps the guid and drops the fingerprint.
  await ctx.ledger.write('connection', { id: existing.guid })
  await client.upsert([{
    typeName: 'Connection',
    guid: existing.guid,
    attributes: { name: spec.name, qualifiedName, adminUsers: users, adminGroups: groups }
  }], ctx.signal)
  await ctx.ledger.write('connection', { id: existing.guid, sent })
  const diff = (before: string[], after: string[]): string =>
    `+[${after.filter((v) => !before.includes(v)).join(', ')}] -[${before.filter((v) => !after.includes(v)).join(', ')}]`
  ctx.log.info(`connection "${spec.name}" found (${existing.guid}); admins updated: users ${diff(currentUsers, users)}, groups ${diff(currentGroups, groups)}`)
  return undefined
}

/** The admin lists the descriptor asks for, mapped to Atlan principals, plus this service's user and the token's. */
async function desiredAdmins (deps: AtlanHandlerDeps, ctx: Ctx, own: string, tokenUser: string | undefined): Promise<{ users: string[], groups: string[] }> {
  const refs = adminRefs(specificOf(ctx.component), ctx.dataProduct)
  const mapped = await mapPrincipals(deps.mapper, [...refs.users, ...refs.groups], ctx.signal)
  ctx.state.unmappedAdmins = mapped.unmapped
  if (mapped.unmapped.length > 0) ctx.log.warn(`connection admins that map to no Atlan user or group, left out: ${listed(mapped.unmapped)}`)
  return { users: [...new Set([...mapped.users, own, ...(tokenUser === undefined ? [] : [tokenUser])])].sort(), groups: mapped.groups }
}
