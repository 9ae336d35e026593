/**
 * List endpoints' query conventions: `limit`/`offset` pagination with Airbyte's `next` quirk, and array filters
 * that may arrive exploded (`a=1&a=2`) or comma-joined (`a=1,2`).
 */
import { badRequest } from './airbyte-problems.js'

export interface ListResponse<T> {
  data: T[]
  next?: string
  previous?: string
}

const DEFAULT_LIMIT = 20
const MAX_LIMIT = 100

export function queryList (query: URLSearchParams, name: string): string[] {
  return query.getAll(name)
    .flatMap((value) => value.split(','))
    .map((value) => value.trim())
    .filter((value) => value !== '')
}

export function paginate<T> (items: T[], query: URLSearchParams, selfUrl: string): ListResponse<T> {
  const limit = readCount(query, 'limit', DEFAULT_LIMIT)
  if (limit < 1 || limit > MAX_LIMIT) throw badRequest(`limit must be between 1 and ${MAX_LIMIT}; got ${limit}`)
  const offset = readCount(query, 'offset', 0)
  const data = items.slice(offset, offset + limit)
  const page: ListResponse<T> = { data }
  // Airbyte sends `next` whenever the page has rows, even when it is the last (short) page; clients must stop on
  // a short page. Reproduced on purpose so client loops are tested against it.
  if (data.length > 0) page.next = linkTo(selfUrl, query, limit, offset + limit)
  if (offset > 0) page.previous = linkTo(selfUrl, query, limit, Math.max(0, offset - limit))
  return page
}

function readCount (query: URLSearchParams, name: string, fallback: number): number {
  const raw = query.get(name)
  if (raw === null || raw === '') return fallback
  if (!/^\d+$/.test(raw)) throw badRequest(`${name} must be a non-negative integer; got ${JSON.stringify(raw)}`)
  return Number(raw)
}

function linkTo (selfUrl: string, query: URLSearchParams, limit: number, offset: number): string {
  const params = new URLSearchParams(query)
  params.set('limit', String(limit))
  params.set('offset', String(offset))
  return `${selfUrl}?${params.toString()}`
}
