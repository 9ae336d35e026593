/**
 * Route plumbing of the Atlan simulator: what a route receives and returns, and matching `METHOD /path/:param`.
 * Routes return a status and a body or throw a SimulatorError; they never touch the socket.
 */
import type { AtlanFaults, AtlanSimulatorSettings } from './atlan-simulator.js'
import type { AtlanStore } from './atlan-simulator-store.js'
import { badRequest } from './atlan-simulator-errors.js'

export interface RouteContext {
  params: Record<string, string>
  query: URLSearchParams
  body: unknown
  store: AtlanStore
  settings: AtlanSimulatorSettings
  faults: AtlanFaults
  /** The username the Bearer token belongs to; empty on anonymous routes. */
  caller: string
}

export interface RouteReply { status: number, body?: unknown }

export interface AtlanRoute {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE'
  path: string
  anonymous?: boolean
  handle: (ctx: RouteContext) => RouteReply | Promise<RouteReply>
}

export type RouteMatch =
  | { kind: 'found', route: AtlanRoute, params: Record<string, string> }
  | { kind: 'wrong-method' }
  | { kind: 'none' }

export function matchRoute (routes: readonly AtlanRoute[], method: string, path: string): RouteMatch {
  const actual = path.split('/').filter(Boolean)
  let pathMatched = false
  for (const route of routes) {
    const pattern = route.path.split('/').filter(Boolean)
    if (pattern.length !== actual.length) continue
    const params: Record<string, string> = {}
    let ok = true
    for (let i = 0; i < pattern.length && ok; i++) {
      const p = pattern[i] as string
      const a = actual[i] as string
      if (p.startsWith(':')) {
        try { params[p.slice(1)] = decodeURIComponent(a) } catch { ok = false }
      } else if (p !== a) ok = false
    }
    if (!ok) continue
    if (route.method === method) return { kind: 'found', route, params }
    pathMatched = true
  }
  return pathMatched ? { kind: 'wrong-method' } : { kind: 'none' }
}

export function isObject (value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

export function requireObject (value: unknown, what = 'the request body'): Record<string, unknown> {
  if (!isObject(value)) throw badRequest(`${what} must be a JSON object`)
  return value
}

/** `?filter={"email":"a@b.c"}`: a JSON object, or undefined when absent. */
export function parseFilter (query: URLSearchParams): Record<string, unknown> | undefined {
  const raw = query.get('filter')
  if (raw === null || raw.trim() === '') return undefined
  let parsed: unknown
  try {
    parsed = JSON.parse(raw)
  } catch {
    throw badRequest('filter must be a JSON object')
  }
  return requireObject(parsed, 'filter')
}

/** Does a record satisfy a filter: exact values per key, `$or` of filters, `{$ilike: "x%"}` on strings. */
export function matchesFilter (record: Record<string, unknown>, filter: Record<string, unknown> | undefined): boolean {
  if (filter === undefined) return true
  for (const [key, expected] of Object.entries(filter)) {
    if (key === '$or') {
      if (!Array.isArray(expected) || !expected.some((f) => isObject(f) && matchesFilter(record, f))) return false
      continue
    }
    const actual = record[key]
    if (isObject(expected) && typeof expected.$ilike === 'string') {
      const pattern = new RegExp(`^${expected.$ilike.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/%/g, '.*')}$`, 'i')
      if (typeof actual !== 'string' || !pattern.test(actual)) return false
      continue
    }
    if (key === 'email' && typeof actual === 'string' && typeof expected === 'string') {
      if (actual.toLowerCase() !== expected.toLowerCase()) return false
      continue
    }
    if (actual !== expected) return false
  }
  return true
}

export function paged<T> (records: T[], query: URLSearchParams): T[] {
  const limit = Number(query.get('limit') ?? 100)
  const offset = Number(query.get('offset') ?? 0)
  return records.slice(Number.isFinite(offset) ? offset : 0, (Number.isFinite(offset) ? offset : 0) + (Number.isFinite(limit) ? limit : 100))
}
