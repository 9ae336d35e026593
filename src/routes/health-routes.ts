/** Liveness (the process answers) and readiness (Redis answers a PING within a second). */
import type { FastifyInstance, FastifyReply } from 'fastify'
import { routeSchema } from '../openapi/openapi-spec.js'

export default async function healthRoutes (app: FastifyInstance): Promise<void> {
  app.get('/health/live', { schema: routeSchema('healthLive'), logLevel: 'warn' }, async () => ({ status: 'ok' }))
  app.get('/health/ready', { schema: routeSchema('healthReady'), logLevel: 'warn' }, async (_request, reply: FastifyReply) => {
    let timer: NodeJS.Timeout | undefined
    const ok = await Promise.race([
      app.redis.ping().then(() => true, () => false),
      new Promise<boolean>(resolve => { timer = setTimeout(() => { resolve(false) }, 1000) })
    ])
    clearTimeout(timer)
    return ok
      ? { status: 'ok', redis: 'ok' }
      : await reply.code(503).send({ status: 'unavailable', redis: 'unavailable' })
  })
}
