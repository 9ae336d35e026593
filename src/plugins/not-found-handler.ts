/**
 * Requests that match no route, in the contract's shape: 405 with an `Allow` header when the path is served
 * under other methods, 404 otherwise. It learns the routes from the onRoute hook, so it must be registered
 * before any route (app.ts registers it first). It answers; it never routes.
 */
import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import FindMyWay from 'find-my-way'
import { requestValidationError } from './error-handler.js'

export interface NotFoundHandlerOptions {
  /** Must match the app's router option, so `/v1/provision/` is the same path here as there. */
  ignoreTrailingSlash: boolean
}

const MAX_ECHOED_PATH = 200

function noop (): void {}

export default fp(async function notFoundHandler (app: FastifyInstance, opts: NotFoundHandlerOptions) {
  // A second router holding every route with a no-op handler: find-my-way matches concrete paths against
  // templates (`/v1/provision/:token/status`) exactly as Fastify's own router does.
  const served = FindMyWay({ ignoreTrailingSlash: opts.ignoreTrailingSlash })
  const methods = new Set<string>()
  const seen = new Set<string>()
  app.addHook('onRoute', (route) => {
    for (const method of Array.isArray(route.method) ? route.method : [route.method]) {
      const key = `${method} ${route.url}`
      if (seen.has(key)) continue
      seen.add(key)
      methods.add(method)
      try {
        served.on(method as never, route.url, noop)
      } catch {
        // Same route under another spelling (a trailing slash the router ignores): already known.
      }
    }
  })

  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?', 1)[0] ?? '/'
    const shown = path.length > MAX_ECHOED_PATH ? `${path.slice(0, MAX_ECHOED_PATH)}...` : path
    // A route of this very method that found nothing to serve (a missing /docs/static file) is a 404.
    const routed = served.find(request.method as never, path) !== null
    const allowed = routed ? [] : [...methods].filter(method => served.find(method as never, path) !== null).sort()
    if (allowed.length > 0) {
      return reply.code(405).header('allow', allowed.join(', ')).send(requestValidationError([{
        path: '',
        message: `${request.method} is not allowed on ${shown}; allowed: ${allowed.join(', ')}`,
        hint: 'Use one of the methods in the Allow header (see /docs).'
      }]))
    }
    return reply.code(404).send(requestValidationError([{
      path: '',
      message: routed ? `nothing found at ${request.method} ${shown}` : `no route ${request.method} ${shown}`,
      hint: 'See /docs for the routes this service serves (under its base path).'
    }]))
  })
}, { name: 'not-found-handler', fastify: '5.x' })
