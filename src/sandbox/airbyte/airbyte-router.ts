/**
 * Route table plumbing: what a simulator route is, what it receives, and matching `METHOD /path/:param` against
 * a request path (relative to the base path). Routes return a status and a body or throw a `SimulatorProblem`;
 * they never touch the socket.
 */
import type { FaultSettings, SimulatorSettings } from './airbyte-simulator.js'
import type { SimulatorStore } from './airbyte-state.js'

export interface RouteContext {
  params: Record<string, string>
  query: URLSearchParams
  /** Decoded body (JSON or form), undefined when empty. */
  body: unknown
  store: SimulatorStore
  settings: SimulatorSettings
  faults: FaultSettings
  /** Absolute URL of the requested path, without query: the base of pagination links. */
  selfUrl: string
}

export interface RouteReply {
  status: number
  /** Undefined sends an empty body (204s). */
  body?: unknown
}

export interface SimulatorRoute {
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE'
  /** Relative to the base path, e.g. `/sources/:sourceId`. */
  path: string
  /** Served without credentials (only the token endpoint). */
  anonymous?: boolean
  handle: (ctx: RouteContext) => RouteReply | Promise<RouteReply>
}

export type RouteMatch =
  | { kind: 'found', route: SimulatorRoute, params: Record<string, string> }
  | { kind: 'wrong-method' }
  | { kind: 'none' }

export function matchRoute (routes: readonly SimulatorRoute[], method: string, path: string): RouteMatch {
  const segments = splitPath(path)
  let pathMatched = false
  for (const route of routes) {
    const params = matchSegments(splitPath(route.path), segments)
    if (params === undefined) continue
    if (route.method === method) return { kind: 'found', route, params }
    pathMatched = true
  }
  return pathMatched ? { kind: 'wrong-method' } : { kind: 'none' }
}

function splitPath (path: string): string[] {
  return path.split('/').filter((segment) => segment !== '')
}

function matchSegments (pattern: string[], actual: string[]): Record<string, string> | undefined {
  if (pattern.length !== actual.length) return undefined
  const params: Record<string, string> = {}
  for (let i = 0; i < pattern.length; i++) {
    const expected = pattern[i] as string
    const segment = actual[i] as string
    if (expected.startsWith(':')) {
      try {
        params[expected.slice(1)] = decodeURIComponent(segment)
      } catch {
        return undefined
      }
    } else if (expected !== segment) {
      return undefined
    }
  }
  return params
}
