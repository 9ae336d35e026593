/** GET /metrics: the process's Prometheus series (authenticated unless METRICS_PUBLIC=true; see authentication.ts). */
import type { FastifyInstance } from 'fastify'
import { routeSchema } from '../openapi/openapi-spec.js'
import { scrapeMetrics } from '../observability/metrics.js'

export default async function metricsRoutes (app: FastifyInstance): Promise<void> {
  // Scraped every 15 s: its own request line would only drown the log.
  app.get('/metrics', { schema: routeSchema('metrics'), logLevel: 'warn' }, async (_request, reply) => {
    const { contentType, body } = await scrapeMetrics()
    return await reply.type(contentType).send(body)
  })
}
