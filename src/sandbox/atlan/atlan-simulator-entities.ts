/**
 * Atlas entity routes of the simulator (`/api/meta/entity/...`) with the server-side rules of Connections,
 * Personas and AuthPolicies: upsert by typeName + qualifiedName, placeholder guids, unchanged entities left out
 * of `mutatedEntities`, rewritten persona and policy qualified names, policy names unique per persona, the
 * connection-admin check, 500 on unknown members, the post-create 403 window, persona delete taking its policies.
 */
import { isDeepStrictEqual } from 'node:util'
import { randomUUID } from 'node:crypto'
import { atlasError, badRequest } from './atlan-simulator-errors.js'
import { isObject, requireObject, type AtlanRoute, type RouteContext } from './atlan-simulator-routes.js'
import { shortId, type AtlanStore, type SimEntity } from './atlan-simulator-store.js'

/** Atlan's persona metadata actions. */
export const METADATA_ACTIONS = [
  'persona-asset-read', 'persona-asset-update', 'persona-api-create', 'persona-api-delete',
  'persona-business-update-metadata', 'persona-entity-add-classification', 'persona-entity-update-classification',
  'persona-entity-remove-classification', 'persona-add-terms', 'persona-remove-terms'
]

type Header = Record<string, unknown>

function header (e: SimEntity): Header {
  return {
    typeName: e.typeName,
    guid: e.guid,
    status: e.status,
    displayText: e.attributes.name,
    attributes: { qualifiedName: e.attributes.qualifiedName, name: e.attributes.name }
  }
}

function stringList (value: unknown, field: string): string[] | undefined {
  if (value === undefined || value === null) return undefined
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) throw badRequest(`${field} must be a list of strings`)
  return value as string[]
}

/** Is `username` an admin of the connection, directly or through one of its groups? */
export function isConnectionAdmin (store: AtlanStore, connection: SimEntity, username: string): boolean {
  const users = (connection.attributes.adminUsers as string[] | undefined) ?? []
  if (users.includes(username)) return true
  const groups = (connection.attributes.adminGroups as string[] | undefined) ?? []
  const user = store.userByName(username)
  return user !== undefined && user.groups.some((g) => groups.includes(g))
}

function checkNotPropagating (ctx: RouteContext, connection: SimEntity, action: string): void {
  const until = ctx.store.forbiddenUntil.get(connection.guid)
  if (until !== undefined && ctx.store.now() < until) {
    throw atlasError(403, 'ATLAS-403-00-001', `${ctx.caller} is not authorized to perform ${action} on entity ${connection.guid}`)
  }
}

function activeConnection (store: AtlanStore, qualifiedName: unknown): SimEntity {
  const connection = typeof qualifiedName === 'string' ? store.findByQualifiedName('Connection', qualifiedName) : undefined
  if (connection === undefined || connection.status !== 'ACTIVE') {
    throw atlasError(404, 'ATLAS-404-00-009', `Instance Connection with unique attribute {qualifiedName:${String(qualifiedName)}} does not exist`)
  }
  return connection
}

function checkMembers (store: AtlanStore, attributes: Record<string, unknown>): void {
  for (const username of stringList(attributes.personaUsers, 'personaUsers') ?? []) {
    if (store.userByName(username) === undefined) {
      throw atlasError(500, 'ATLAS-500-00-001', `Keycloak user not found: ${username}`, 'javax.ws.rs.NotFoundException: HTTP 404 Not Found')
    }
  }
  for (const group of stringList(attributes.personaGroups, 'personaGroups') ?? []) {
    if (store.groupByName(group) === undefined) {
      throw atlasError(500, 'ATLAS-500-00-001', `Keycloak group not found: ${group}`, 'javax.ws.rs.NotFoundException: HTTP 404 Not Found')
    }
  }
}

function checkConnection (attributes: Record<string, unknown>): void {
  if (typeof attributes.name !== 'string' || attributes.name === '') throw badRequest('Connection.name is mandatory')
  const lists = ['adminUsers', 'adminGroups', 'adminRoles'].map((f) => stringList(attributes[f], f) ?? [])
  if (lists.every((l) => l.length === 0)) {
    throw atlasError(400, 'ATLAS-400-00-029', 'Connection must have at least one of adminUsers, adminGroups or adminRoles')
  }
}

function checkPolicy (ctx: RouteContext, attributes: Record<string, unknown>, guid: string | undefined): SimEntity {
  const { store } = ctx
  for (const field of ['name', 'policyType', 'policySubCategory', 'policyCategory']) {
    if (typeof attributes[field] !== 'string' || attributes[field] === '') throw badRequest(`AuthPolicy.${field} is mandatory`)
  }
  const access = attributes.accessControl
  const persona = isObject(access) && typeof access.guid === 'string' ? store.entities.get(access.guid) : undefined
  if (persona === undefined || persona.typeName !== 'Persona' || persona.status !== 'ACTIVE') {
    throw atlasError(404, 'ATLAS-404-00-005', `Given instance guid ${isObject(access) ? String(access.guid) : 'undefined'} is invalid/not found`)
  }
  const connection = activeConnection(store, attributes.connectionQualifiedName)
  checkNotPropagating(ctx, connection, 'create policy')
  if (!isConnectionAdmin(store, connection, ctx.caller)) {
    throw atlasError(403, 'ATLAS-403-00-002', `${ctx.caller} is not admin for connection ${connection.guid}`)
  }
  const connectionQn = String(connection.attributes.qualifiedName)
  const resources = stringList(attributes.policyResources, 'policyResources') ?? []
  for (const r of resources) {
    if (r.startsWith('entity:') && !r.slice('entity:'.length).startsWith(connectionQn)) {
      throw badRequest(`Policy resource ${r} must start with the connection qualifiedName ${connectionQn}`)
    }
  }
  const actions = stringList(attributes.policyActions, 'policyActions') ?? []
  if (actions.length === 0) throw badRequest('AuthPolicy.policyActions must not be empty')
  const allowed = attributes.policySubCategory === 'data' ? ['select'] : METADATA_ACTIONS
  const unknown = actions.filter((a) => !allowed.includes(a))
  if (unknown.length > 0) throw badRequest(`Unknown policy actions for ${String(attributes.policySubCategory)}: ${unknown.join(', ')}`)
  for (const other of store.entities.values()) {
    if (other.typeName !== 'AuthPolicy' || other.status !== 'ACTIVE' || other.guid === guid) continue
    const otherAccess = other.attributes.accessControl as { guid?: string } | undefined
    if (otherAccess?.guid === persona.guid && other.attributes.name === attributes.name) {
      throw atlasError(409, 'ATLAS-409-00-011', `Policy with name ${String(attributes.name)} already exists in persona ${persona.guid}`)
    }
  }
  return persona
}

function findExisting (store: AtlanStore, typeName: string, guid: string | undefined, qualifiedName: unknown): SimEntity | undefined {
  if (guid !== undefined && !guid.startsWith('-')) {
    const byGuid = store.entities.get(guid)
    if (byGuid === undefined || byGuid.typeName !== typeName) throw atlasError(404, 'ATLAS-404-00-005', `Given instance guid ${guid} is invalid/not found`)
    return byGuid
  }
  if (typeof qualifiedName !== 'string' || qualifiedName === '') throw badRequest(`${typeName}.qualifiedName is mandatory`)
  const found = store.findByQualifiedName(typeName, qualifiedName)
  return found?.status === 'ACTIVE' ? found : undefined
}

function upsertOne (ctx: RouteContext, raw: unknown, created: SimEntity[], updated: SimEntity[], assignments: Record<string, string>): void {
  const { store } = ctx
  const body = requireObject(raw, 'an entity')
  const typeName = body.typeName
  if (typeof typeName !== 'string' || typeName === '') throw badRequest('typeName is mandatory')
  const attributes = requireObject(body.attributes ?? {}, 'attributes')
  const guid = typeof body.guid === 'string' ? body.guid : undefined
  if (typeName === 'Persona' && (attributes.policies !== undefined || body.relationshipAttributes !== undefined)) {
    throw atlasError(409, 'ATLAS-409-00-016', 'Policies of a persona must be written as AuthPolicy entities, not inside the Persona')
  }
  const existing = findExisting(store, typeName, guid, attributes.qualifiedName)
  const now = store.now()

  if (existing === undefined) {
    const entity: SimEntity = { guid: randomUUID(), typeName, status: 'ACTIVE', attributes: { ...attributes }, createTime: now, updateTime: now, createdBy: ctx.caller }
    if (typeName === 'Connection') checkConnection(entity.attributes)
    if (typeName === 'Persona') {
      if (typeof attributes.name !== 'string' || attributes.name === '') throw badRequest('Persona.name is mandatory')
      checkMembers(store, attributes)
      entity.attributes.qualifiedName = `default/${shortId()}`
    }
    if (typeName === 'AuthPolicy') {
      const persona = checkPolicy(ctx, attributes, undefined)
      entity.attributes.qualifiedName = `${String(persona.attributes.qualifiedName)}/${shortId()}`
    }
    store.entities.set(entity.guid, entity)
    if (typeName === 'Connection' && ctx.settings.postCreateForbiddenMs > 0) {
      store.forbiddenUntil.set(entity.guid, now + ctx.settings.postCreateForbiddenMs)
    }
    if (guid?.startsWith('-') === true) assignments[guid] = entity.guid
    created.push(entity)
    return
  }

  if (typeName === 'Connection') {
    checkNotPropagating(ctx, existing, 'update')
    if (!isConnectionAdmin(store, existing, ctx.caller)) {
      throw atlasError(403, 'ATLAS-403-00-001', `${ctx.caller} is not authorized to perform update on entity ${existing.guid}`)
    }
  }
  const merged: Record<string, unknown> = { ...existing.attributes, ...attributes }
  // The server keeps the qualified names it gave personas and policies.
  if (typeName === 'Persona' || typeName === 'AuthPolicy') merged.qualifiedName = existing.attributes.qualifiedName
  if (typeName === 'Persona') {
    if (typeof attributes.name !== 'string' || typeof attributes.qualifiedName !== 'string') {
      throw badRequest('Persona updates must carry name and qualifiedName')
    }
    // An update without the flag turns access control off, as Atlan does.
    if (attributes.isAccessControlEnabled === undefined) merged.isAccessControlEnabled = false
    checkMembers(store, attributes)
  }
  if (typeName === 'Connection') checkConnection(merged)
  if (typeName === 'AuthPolicy') checkPolicy(ctx, merged, existing.guid)
  if (isDeepStrictEqual(merged, existing.attributes)) return
  existing.attributes = merged
  existing.updateTime = now
  updated.push(existing)
}

async function bulkUpsert (ctx: RouteContext): Promise<{ status: number, body: unknown }> {
  const body = requireObject(ctx.body)
  if (!Array.isArray(body.entities) || body.entities.length === 0) throw badRequest('entities must be a non-empty list')
  const { store } = ctx
  // Atlas applies a bulk request in one transaction: a rejected entity leaves nothing written.
  const before = new Map([...store.entities].map(([g, e]) => [g, structuredClone(e)]))
  const windows = new Map(store.forbiddenUntil)
  const created: SimEntity[] = []
  const updated: SimEntity[] = []
  const assignments: Record<string, string> = {}
  try {
    for (const raw of body.entities as unknown[]) upsertOne(ctx, raw, created, updated, assignments)
  } catch (err) {
    store.entities.clear()
    for (const [g, e] of before) store.entities.set(g, e)
    store.forbiddenUntil.clear()
    for (const [g, u] of windows) store.forbiddenUntil.set(g, u)
    throw err
  }
  for (const e of [...created, ...updated]) store.reindex(e.guid, e)
  const mutatedEntities: Record<string, Header[]> = {}
  if (created.length > 0) mutatedEntities.CREATE = created.map(header)
  if (updated.length > 0) mutatedEntities.UPDATE = updated.map(header)
  return { status: 200, body: { mutatedEntities, guidAssignments: assignments } }
}

function full (store: AtlanStore, e: SimEntity): { entity: unknown, referredEntities: Record<string, unknown> } {
  const entity: Record<string, unknown> = { ...structuredClone(e) }
  const referredEntities: Record<string, unknown> = {}
  if (e.typeName === 'Persona') {
    const policies = policiesOf(store, e.guid)
    entity.relationshipAttributes = { policies: policies.map((p) => ({ guid: p.guid, typeName: 'AuthPolicy', displayText: p.attributes.name, entityStatus: p.status })) }
    for (const p of policies) referredEntities[p.guid] = structuredClone(p)
  }
  return { entity, referredEntities }
}

function policiesOf (store: AtlanStore, personaGuid: string): SimEntity[] {
  return [...store.entities.values()].filter((p) => p.typeName === 'AuthPolicy' && p.status === 'ACTIVE' &&
    (p.attributes.accessControl as { guid?: string } | undefined)?.guid === personaGuid)
}

function readable (ctx: RouteContext, e: SimEntity): { status: number, body: unknown } {
  if (e.typeName === 'Connection') checkNotPropagating(ctx, e, 'read')
  return { status: 200, body: full(ctx.store, e) }
}

function remove (store: AtlanStore, e: SimEntity, deleteType: string, deleted: SimEntity[]): void {
  if (deleteType === 'SOFT') {
    if (e.status === 'DELETED') return
    e.status = 'DELETED'
    e.updateTime = store.now()
    store.reindex(e.guid, e)
  } else {
    store.entities.delete(e.guid)
    store.reindex(e.guid, undefined)
  }
  deleted.push(e)
}

function bulkDelete (ctx: RouteContext): { status: number, body: unknown } {
  const { store } = ctx
  const guids = ctx.query.getAll('guid')
  if (guids.length === 0) throw badRequest('guid is mandatory')
  const deleteType = (ctx.query.get('deleteType') ?? 'SOFT').toUpperCase()
  if (!['SOFT', 'HARD', 'PURGE'].includes(deleteType)) throw badRequest(`Invalid deleteType ${deleteType}`)
  const deleted: SimEntity[] = []
  for (const guid of guids) {
    const e = store.entities.get(guid)
    if (e === undefined) throw atlasError(404, 'ATLAS-404-00-005', `Given instance guid ${guid} is invalid/not found`)
    if (e.typeName === 'Connection') {
      checkNotPropagating(ctx, e, 'delete')
      if (!isConnectionAdmin(store, e, ctx.caller)) {
        throw atlasError(403, 'ATLAS-403-00-001', `${ctx.caller} is not authorized to perform delete on entity ${e.guid}`)
      }
    }
    if (e.typeName === 'Persona') {
      // Any delete of a persona, even SOFT, takes its policies with it.
      for (const p of policiesOf(store, e.guid)) remove(store, p, 'PURGE', deleted)
    }
    remove(store, e, deleteType, deleted)
  }
  return { status: 200, body: { mutatedEntities: deleted.length === 0 ? {} : { DELETE: deleted.map(header) } } }
}

export const entityRoutes: AtlanRoute[] = [
  { method: 'POST', path: '/api/meta/entity/bulk', handle: bulkUpsert },
  { method: 'DELETE', path: '/api/meta/entity/bulk', handle: bulkDelete },
  {
    method: 'GET',
    path: '/api/meta/entity/guid/:guid',
    handle: (ctx) => {
      const e = ctx.store.entities.get(ctx.params.guid ?? '')
      if (e === undefined) throw atlasError(404, 'ATLAS-404-00-005', `Given instance guid ${ctx.params.guid ?? ''} is invalid/not found`)
      return readable(ctx, e)
    }
  },
  {
    method: 'GET',
    path: '/api/meta/entity/uniqueAttribute/type/:typeName',
    handle: (ctx) => {
      const typeName = ctx.params.typeName ?? ''
      const qn = ctx.query.get('attr:qualifiedName')
      if (qn === null) throw badRequest('attr:qualifiedName is mandatory')
      const e = ctx.store.findByQualifiedName(typeName, qn)
      if (e === undefined) throw atlasError(404, 'ATLAS-404-00-009', `Instance ${typeName} with unique attribute {qualifiedName:${qn}} does not exist`)
      return readable(ctx, e)
    }
  }
]
