/**
 * Per-caller rate limiting shared by every API replica: @fastify/rate-limit's Redis store on the API's own
 * connection (`app.redis`), keys under `{<QUEUE_PREFIX>}:rate-limit:` (src/queue/redis-keys.ts). The key is the
 * caller's identity, or the client IP for requests without one (AUTH_MODE=none, public docs, and refused
 * requests, so guessing tokens is limited too). Health probes are never limited. Over the limit: 429 in the contract's shape with `Retry-After`.
 * A Redis failure lets the request through: the routes that need Redis answer 503 on their own.
 */
import fp from 'fastify-plugin'
import rateLimit from '@fastify/rate-limit'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { RedisKeys } from '../queue/redis-keys.js'
import { requestValidationError } from './error-handler.js'
import { isHealthRoute } from './public-routes.js'

export interface RateLimitingOptions {
  /** Requests per window per caller; 0 turns limiting off. */
  max: number
  windowMs: number
  /** QUEUE_PREFIX. */
  prefix: string
  basePath: string
}

function keyOf (request: FastifyRequest): string {
  const caller = request.caller
  // A label and an address can never collide: each has its own key space.
  return caller !== undefined && caller.mode !== 'none' ? `caller:${caller.id}` : `ip:${request.ip}`
}

export default fp(async function rateLimiting (app: FastifyInstance, opts: RateLimitingOptions) {
  if (opts.max === 0) return
  await app.register(rateLimit, {
    // No per-route hooks: the one hook below runs after authentication, for every route and the 404 handler.
    global: false,
    redis: app.redis,
    nameSpace: new RedisKeys(opts.prefix).rateLimitNamespace,
    max: opts.max,
    timeWindow: opts.windowMs,
    skipOnError: true,
    keyGenerator: keyOf
  })
  const check = app.createRateLimit()
  app.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    if (isHealthRoute(request, opts.basePath)) return
    const limit = await check(request)
    if (limit.isAllowed) return
    reply.header('x-ratelimit-limit', limit.max)
      .header('x-ratelimit-remaining', limit.remaining)
      .header('x-ratelimit-reset', limit.ttlInSeconds)
    if (!limit.isExceeded) return
    const retryAfter = Math.max(1, limit.ttlInSeconds)
    request.log.warn({ rateLimitKey: limit.key }, 'rate limit exceeded')
    return await reply.code(429).header('retry-after', retryAfter).send(requestValidationError([{
      path: '',
      message: `more than ${limit.max} requests in ${Math.round(opts.windowMs / 1000)} s from this caller`,
      hint: `Wait ${retryAfter} s (Retry-After) before sending more requests; poll task status less often.`
    }], `Too many requests: retry in ${retryAfter} s.`))
  })
}, { name: 'rate-limiting', fastify: '5.x', dependencies: ['task-queue', 'authentication'] })
