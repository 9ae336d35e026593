/**
 * Counts every reply (tech_adapter_http_requests_total) and times it (tech_adapter_http_request_duration_seconds)
 * by the matched route's template, never the concrete URL: a path that matched no route counts as
 * `__unmatched__`, so scanners and typos cannot grow the series. It observes; it never answers.
 */
import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import { httpRequestDuration, httpRequests } from '../observability/metrics.js'

export const UNMATCHED_ROUTE = '__unmatched__'
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'])

export default fp(async function httpMetrics (app: FastifyInstance) {
  app.addHook('onResponse', (request, reply, done) => {
    const route = request.routeOptions.url ?? UNMATCHED_ROUTE
    // Any token may be sent as a method: only the ones HTTP defines become a label value.
    const method = METHODS.has(request.method) ? request.method : 'OTHER'
    httpRequests.inc({ route, method, status_code: String(reply.statusCode) })
    httpRequestDuration.observe({ route, method }, reply.elapsedTime / 1000)
    done()
  })
}, { name: 'http-metrics', fastify: '5.x' })
