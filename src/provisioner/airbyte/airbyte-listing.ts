/**
 * Name lookups without listing the workspace once per component. Airbyte finds resources by name only by
 * paging through the whole workspace, so the tasks of this process share one listing per (workspace,
 * collection): loaded once (concurrent lookups wait for the same load), served for a short time, and kept
 * current by this service's own creates and deletes. A lookup that must not trust a cached answer (a create
 * may have landed before a crash) asks for a fresh one. Owns no policy: the steps decide what to do with a match.
 */
import type { FoundByName } from './airbyte-client.js'

export interface Listed { name: string, workspaceId?: string, createdAt?: number | string }

export type Collection = 'sources' | 'destinations' | 'connections'

/** A loaded listing, indexed by name, so a lookup costs the same in a workspace of 10 or of 10,000. */
interface Listing {
  byName: Map<string, Listed[]>
  total: number
}

interface Entry { loadedAt: number, listing: Promise<Listing> }

function indexed (items: Listed[]): Listing {
  const byName = new Map<string, Listed[]>()
  for (const item of items) insert(byName, item)
  return { byName, total: items.length }
}

function insert (byName: Map<string, Listed[]>, item: Listed): void {
  const same = byName.get(item.name)
  if (same === undefined) byName.set(item.name, [item])
  else same.push(item)
}

/** `T`: what the collection's listing returns; `K`: what the shared listing keeps of each (default all of it). */
export interface NameLookup<T extends Listed, K extends Listed = T> {
  collection: Collection
  workspaceId: string
  name: string
  /** Pages through the collection in the workspace. */
  load: () => Promise<T[]>
  /** The resource's id, to apply this service's own deletes. */
  idOf: (item: K) => string
  /** Whether a resource may be adopted (a deleted connection lingers as `deprecated`). Default all. */
  live?: (item: K) => boolean
  /** Ignore a cached listing and load it again. */
  fresh?: boolean
  /** What of each resource the listing keeps (a listing of a large workspace is held for a while). */
  keep?: (item: T) => K
}

export interface LookupResult<T> {
  found: FoundByName<T> | undefined
  /** How many resources the collection holds in the workspace (an empty workspace has no connections either). */
  total: number
}

export class WorkspaceListings {
  private readonly entries = new Map<string, Entry>()

  constructor (private readonly ttlMs: number, private readonly now: () => number = Date.now) {}

  async find<T extends Listed, K extends Listed = T> (lookup: NameLookup<T, K>): Promise<LookupResult<K>> {
    const key = `${lookup.collection} ${lookup.workspaceId}`
    this.dropExpired()
    let entry = this.entries.get(key)
    if (entry === undefined || lookup.fresh === true || this.now() - entry.loadedAt >= this.ttlMs) {
      const keep = lookup.keep
      const listing = lookup.load().then((all) => indexed(keep === undefined ? all : all.map(keep)))
      entry = { loadedAt: this.now(), listing }
      this.entries.set(key, entry)
      // A failed load must not be served to the next lookup.
      const loaded = entry
      listing.catch(() => { if (this.entries.get(key) === loaded) this.entries.delete(key) })
    }
    const listing = await entry.listing
    const live = lookup.live ?? (() => true)
    const matches = ((listing.byName.get(lookup.name) ?? []) as K[]).filter((r) => live(r))
    const oldest = matches.reduce<K | undefined>((best, r) => (best === undefined || createdAt(r) < createdAt(best) ? r : best), undefined)
    return { found: oldest === undefined ? undefined : { resource: oldest, count: matches.length }, total: listing.total }
  }

  /** This service created `item` (as `keep` would keep it): a cached listing of its workspace now holds it. */
  added (collection: Collection, workspaceId: string, item: Listed): void {
    const entry = this.entries.get(`${collection} ${workspaceId}`)
    if (entry !== undefined) entry.listing = entry.listing.then((listing) => { insert(listing.byName, item); listing.total++; return listing })
  }

  /** Listings past their time are released, not kept until the next lookup of the same workspace. */
  private dropExpired (): void {
    const now = this.now()
    for (const [key, entry] of this.entries) if (now - entry.loadedAt >= this.ttlMs) this.entries.delete(key)
  }

  /**
   * This service deleted the resource with this id (or found it gone). Looked for under every name: the
   * descriptor may have renamed it since it was listed. Deletes are rare next to lookups.
   */
  removed<T extends Listed> (collection: Collection, workspaceId: string, idOf: (item: T) => string, id: string): void {
    const entry = this.entries.get(`${collection} ${workspaceId}`)
    if (entry === undefined) return
    entry.listing = entry.listing.then((listing) => {
      for (const [n, same] of listing.byName as Map<string, T[]>) {
        if (!same.some((r) => idOf(r) === id)) continue
        const kept = same.filter((r) => idOf(r) !== id)
        listing.total -= same.length - kept.length
        if (kept.length === 0) listing.byName.delete(n)
        else listing.byName.set(n, kept)
      }
      return listing
    })
  }
}

export function createdAt (r: { createdAt?: number | string }): number {
  if (typeof r.createdAt === 'number') return r.createdAt
  if (typeof r.createdAt === 'string') {
    const n = /^\d+$/.test(r.createdAt) ? Number(r.createdAt) : Date.parse(r.createdAt)
    if (!Number.isNaN(n)) return n
  }
  return Number.POSITIVE_INFINITY
}
