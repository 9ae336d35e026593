/**
 * updateacl: the persona's members become exactly the requested refs (desired state: grant the new ones, revoke
 * the ones no longer listed). Every username and group is checked to exist first, since Atlan answers an
 * unknown member with a 500 that must never be provoked; refs that map to nothing, or to a principal Atlan does
 * not know, are named in the result and a WARNING, and the others are still applied.
 */
import { PermanentUpstreamError } from '../../errors.js'
import type { Step } from '../handler.js'
import { mapPrincipals } from './atlan-principals.js'
import { findPersona } from './atlan-persona-steps.js'
import { clientFor, listed, sameSet, specificOf, type AtlanHandlerDeps, type AtlanState, type Ctx } from './atlan-state.js'

export function aclSteps (deps: AtlanHandlerDeps): Array<Step<AtlanState>> {
  return [
    { name: 'find-persona', run: async (ctx) => { await findAclPersona(deps, ctx) } },
    { name: 'check-members', run: async (ctx) => { await checkMembers(deps, ctx) } },
    { name: 'apply-members', run: async (ctx) => { await applyMembers(deps, ctx) } }
  ]
}

async function findAclPersona (deps: AtlanHandlerDeps, ctx: Ctx): Promise<void> {
  const spec = specificOf(ctx.component).persona
  if (spec === undefined) {
    ctx.log.info('the component declares no persona: there is no consumer access in Atlan to manage')
    return
  }
  const owned = (await ctx.ledger.read()).persona
  const persona = (await findPersona(deps, ctx, owned))?.entity
  if (persona === undefined) {
    throw new PermanentUpstreamError(`Atlan has no persona named "${spec.name}": provision the component before granting access to it`, 404)
  }
  if (owned?.id !== persona.guid) await ctx.ledger.write('persona', { id: persona.guid })
  ctx.state.persona = { guid: persona.guid, qualifiedName: String(persona.attributes.qualifiedName), name: spec.name }
}

async function checkMembers (deps: AtlanHandlerDeps, ctx: Ctx): Promise<void> {
  if (ctx.state.persona === undefined) return
  const client = clientFor(deps, ctx.signal)
  const mapped = await mapPrincipals(deps.mapper, ctx.refs, ctx.signal)
  const users: string[] = []
  const groups: string[] = []
  const unmapped = [...mapped.unmapped]
  // A mapping table can name principals Atlan does not have; sending one would make Atlan answer 500.
  for (const username of mapped.users) {
    if (await client.userByUsername(username, ctx.signal) !== undefined) users.push(username)
    else unmapped.push(`${username} (no such Atlan user)`)
  }
  for (const group of mapped.groups) {
    if ((await client.groupsByName(group, ctx.signal)).length > 0) groups.push(group)
    else unmapped.push(`${group} (no such Atlan group)`)
  }
  ctx.state.members = { users, groups, unmapped }
  if (unmapped.length > 0) ctx.log.warn(`not given access, they map to no Atlan user or group: ${listed(unmapped)}`)
}

async function applyMembers (deps: AtlanHandlerDeps, ctx: Ctx): Promise<void> {
  const persona = ctx.state.persona
  const members = ctx.state.members
  if (persona === undefined || members === undefined) return
  const client = clientFor(deps, ctx.signal)
  const read = await client.getByGuid(persona.guid, ctx.signal)
  if (read === undefined || read.entity.status === 'DELETED') throw new PermanentUpstreamError(`persona "${persona.name}" (${persona.guid}) no longer exists`, 404)
  const attributes = read.entity.attributes
  const currentUsers = (attributes.personaUsers as string[] | undefined) ?? []
  const currentGroups = (attributes.personaGroups as string[] | undefined) ?? []
  const granted = [...members.users.filter((u) => !currentUsers.includes(u)), ...members.groups.filter((g) => !currentGroups.includes(g)).map((g) => `group ${g}`)]
  const revoked = [...currentUsers.filter((u) => !members.users.includes(u)), ...currentGroups.filter((g) => !members.groups.includes(g)).map((g) => `group ${g}`)]
  ctx.state.changes = [...granted.map((g) => `granted ${g}`), ...revoked.map((r) => `revoked ${r}`)]
  if (sameSet(currentUsers, members.users) && sameSet(currentGroups, members.groups)) {
    ctx.log.info(`persona "${persona.name}" members unchanged: users ${listed(members.users)}, groups ${listed(members.groups)}`)
    return
  }
  // Both lists are sent whole: the server replaces each list it is given. name, qualifiedName and the
  // access-control flag go with every update, or Atlan turns access control off.
  await client.upsert([{
    typeName: 'Persona',
    guid: persona.guid,
    attributes: {
      qualifiedName: persona.qualifiedName,
      name: persona.name,
      isAccessControlEnabled: attributes.isAccessControlEnabled ?? true,
      personaUsers: members.users,
      personaGroups: members.groups
    }
  }], ctx.signal)
  ctx.log.info(`persona "${persona.name}": granted ${listed(granted)}; revoked ${listed(revoked)}. Access takes effect within about a minute (Atlan refreshes its policy caches every 30 s)`)
}
