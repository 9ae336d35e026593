/**
 * The Atlan simulator's in-memory tenant: entities (with the search index that lags them), users, groups,
 * API keys, OAuth clients and tokens, workflow templates and runs, and the clock every timed quirk reads
 * (index lag, post-create 403 window, workflow phases, rate-limit window), which tests can move forward.
 */
import { randomBytes, randomUUID } from 'node:crypto'

export type EntityStatus = 'ACTIVE' | 'DELETED'

export interface SimEntity {
  guid: string
  typeName: string
  status: EntityStatus
  attributes: Record<string, unknown>
  createTime: number
  updateTime: number
  createdBy: string
}

export interface SimUser { id: string, username: string, email: string, firstName?: string, lastName?: string, enabled: boolean, groups: string[] }
export interface SimGroup { id: string, name: string, alias: string, path: string }
export interface SimApiKey { id: string, clientId: string, displayName: string, token: string, createdAt: number }

export interface WorkflowTemplate {
  metadata: { name: string, namespace: string, creationTimestamp: string, labels: Record<string, string>, annotations: Record<string, string> }
  spec: Record<string, unknown>
  /** Epoch ms, for sorting. */
  created: number
}

export type RunPhase = 'Pending' | 'Running' | 'Succeeded' | 'Failed' | 'Error'

export interface WorkflowRun {
  name: string
  templateName: string
  parameters: Record<string, string>
  startedAt: number
  runningAt: number
  finishAt: number
  /** The phase the run ends in. */
  ending: 'Succeeded' | 'Failed' | 'Error'
  message?: string
  /** Its effect (the token made a connection admin) has been applied. */
  applied: boolean
}

export interface TokenGrant { username: string, expiresAt: number }

interface IndexVersion { at: number, entity: SimEntity | undefined }

export class AtlanStore {
  readonly entities = new Map<string, SimEntity>()
  readonly users: SimUser[] = []
  readonly groups: SimGroup[] = []
  readonly apiKeys: SimApiKey[] = []
  readonly tokens = new Map<string, TokenGrant>()
  readonly templates = new Map<string, WorkflowTemplate>()
  readonly runs: WorkflowRun[] = []
  /** Connection guid -> end of the window in which reads of it answer 403 (policies propagating). */
  readonly forbiddenUntil = new Map<string, number>()
  /** Every minted OAuth token, for tests. */
  tokensMinted = 0
  /** Added to Date.now(): tests move time forward instead of sleeping. */
  clockOffsetMs = 0
  /** Search sees a write this long after it. */
  indexLagMs: number
  private readonly index = new Map<string, IndexVersion[]>()

  constructor (indexLagMs: number) {
    this.indexLagMs = indexLagMs
  }

  now (): number {
    return Date.now() + this.clockOffsetMs
  }

  /** Records a write (or a purge, `undefined`) for the index, visible after the lag. */
  reindex (guid: string, entity: SimEntity | undefined): void {
    const versions = this.index.get(guid) ?? []
    versions.push({ at: this.now() + this.indexLagMs, entity: entity === undefined ? undefined : structuredClone(entity) })
    this.index.set(guid, versions)
  }

  /** What the search index holds now: the newest version of each entity that has become visible. */
  searchable (): SimEntity[] {
    const now = this.now()
    const out: SimEntity[] = []
    for (const versions of this.index.values()) {
      let visible: IndexVersion | undefined
      for (const v of versions) if (v.at <= now) visible = v
      if (visible?.entity !== undefined) out.push(visible.entity)
    }
    return out
  }

  /** Makes every pending write visible to search at once. */
  flushIndex (): void {
    const now = this.now()
    for (const versions of this.index.values()) for (const v of versions) v.at = Math.min(v.at, now)
  }

  findByQualifiedName (typeName: string, qualifiedName: string): SimEntity | undefined {
    for (const e of this.entities.values()) {
      if (e.typeName === typeName && e.attributes.qualifiedName === qualifiedName) return e
    }
    return undefined
  }

  userByName (username: string): SimUser | undefined {
    return this.users.find((u) => u.username === username)
  }

  groupByName (name: string): SimGroup | undefined {
    return this.groups.find((g) => g.name === name)
  }

  addUser (username: string, email: string, groups: string[] = []): SimUser {
    const user: SimUser = { id: randomUUID(), username, email, enabled: true, groups }
    this.users.push(user)
    return user
  }

  addGroup (name: string, alias: string): SimGroup {
    const group: SimGroup = { id: randomUUID(), name, alias, path: `/${name}` }
    this.groups.push(group)
    return group
  }

  /** An API key and its token; the token's user is `service-account-<clientId>`. */
  addApiKey (displayName: string, token?: string): SimApiKey {
    const id = randomUUID()
    const key: SimApiKey = { id, clientId: `apikey-${randomUUID()}`, displayName, token: token ?? `atlan-sim-${randomBytes(24).toString('hex')}`, createdAt: this.now() }
    this.apiKeys.push(key)
    this.addUser(`service-account-${key.clientId}`, `${key.clientId}@service-account.atlan.local`)
    this.tokens.set(key.token, { username: `service-account-${key.clientId}`, expiresAt: Number.POSITIVE_INFINITY })
    return key
  }
}

/** Atlan's ids of personas and policies: 22 characters. */
export function shortId (): string {
  return randomBytes(16).toString('base64url').slice(0, 22)
}
