/**
 * Which routes skip caller checks: the health probes always (Kubernetes calls them without credentials, and a
 * probe must never be shed or rate limited), the API docs when DOCS_PUBLIC=true and /metrics when METRICS_PUBLIC=true. Decided on the matched
 * route's pattern, never the raw URL, so no spelling of a path (encoding, dot segments, slashes) can reach a
 * protected route through an exemption.
 */
import type { FastifyRequest } from 'fastify'

export function isHealthRoute (request: FastifyRequest, basePath: string): boolean {
  const url = request.routeOptions.url
  return url !== undefined && url.startsWith(`${basePath}/health/`)
}

export function isDocsRoute (request: FastifyRequest, basePath: string): boolean {
  const url = request.routeOptions.url
  return url !== undefined && (url === `${basePath}/docs` || url.startsWith(`${basePath}/docs/`))
}

export function isMetricsRoute (request: FastifyRequest, basePath: string): boolean {
  return request.routeOptions.url === `${basePath}/metrics`
}
