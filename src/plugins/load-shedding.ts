/**
 * Load shedding: while the event loop lags (or heap/RSS/utilisation pass their limits) @fastify/under-pressure
 * answers new requests 503 SystemError with `Retry-After` instead of queueing them behind the backlog. The
 * health probes are exempt: liveness must keep answering, or Kubernetes kills a pod that is merely busy, and a
 * readiness probe failing on every pod at once under a burst would take the whole service out.
 */
import fp from 'fastify-plugin'
import underPressure from '@fastify/under-pressure'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { LoadSheddingConfig } from '../config.js'
import { isHealthRoute } from './public-routes.js'

export interface LoadSheddingOptions extends LoadSheddingConfig {
  basePath: string
  /** Extra check (true = healthy), polled every sample interval; tests use it to force the shed state. */
  healthCheck?: () => Promise<boolean>
}

export default fp(async function loadShedding (app: FastifyInstance, opts: LoadSheddingOptions) {
  await app.register(underPressure, {
    maxEventLoopDelay: opts.maxEventLoopDelayMs,
    maxEventLoopUtilization: opts.maxEventLoopUtilization,
    maxHeapUsedBytes: opts.maxHeapUsedBytes,
    maxRssBytes: opts.maxRssBytes,
    sampleInterval: opts.sampleIntervalMs,
    ...(opts.healthCheck === undefined ? {} : { healthCheck: opts.healthCheck, healthCheckInterval: opts.sampleIntervalMs }),
    pressureHandler: async (request: FastifyRequest, reply: FastifyReply, type: string) => {
      if (isHealthRoute(request, opts.basePath)) return
      request.log.warn({ pressure: type }, 'request shed: the service is under pressure')
      const message = 'The service is overloaded right now and did not start anything. Send the request again shortly.'
      // Awaiting the reply keeps under-pressure from running the next hook before it is sent.
      await reply.code(503).header('retry-after', opts.retryAfterSeconds).send({
        error: message,
        userMessage: message,
        moreInfo: {
          problems: [`service under pressure (${type})`],
          solutions: [`Retry after ${opts.retryAfterSeconds} s (Retry-After), with backoff.`]
        }
      })
    }
  })
}, { name: 'load-shedding', fastify: '5.x' })
