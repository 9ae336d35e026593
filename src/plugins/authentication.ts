/**
 * Callers must authenticate: every route but the health probes (and /docs with DOCS_PUBLIC=true, /metrics with
 * METRICS_PUBLIC=true) needs a caller the configured authenticator accepts. The caller is exposed as `request.caller` and bound to the request's log
 * lines (`caller`), never the token. Refusals are 401/403 in the contract's RequestValidationError shape with an
 * RFC 6750 `WWW-Authenticate` challenge.
 *
 * Two hooks: `onRequest` only identifies, so the rate limiter (next `onRequest`) can count a refused request
 * against its IP; `preParsing` then refuses it, before any body is read.
 */
import fp from 'fastify-plugin'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { AuthFailure, Caller, CallerAuthenticator } from '../auth/caller-authenticator.js'
import { requestValidationError } from './error-handler.js'
import { isDocsRoute, isHealthRoute, isMetricsRoute } from './public-routes.js'

declare module 'fastify' {
  interface FastifyRequest {
    /** Who made the request. Undefined on public routes and on requests about to be refused. */
    caller?: Caller
  }
}

export interface AuthenticationOptions {
  authenticator: CallerAuthenticator
  basePath: string
  /** DOCS_PUBLIC: /docs needs no credentials. */
  docsPublic: boolean
  /** METRICS_PUBLIC: /metrics needs no credentials. Default false. */
  metricsPublic?: boolean
}

export const REALM = 'tech-adapter'

/** RFC 6750 §3: the challenge, with `error` only when a credential was presented. */
export function challenge (failure: AuthFailure): string {
  const parts = [`realm="${REALM}"`]
  if (failure.error !== undefined) parts.push(`error="${failure.error}"`)
  if (failure.scope !== undefined) parts.push(`scope="${failure.scope}"`)
  return `Bearer ${parts.join(', ')}`
}

export default fp(async function authentication (app: FastifyInstance, opts: AuthenticationOptions) {
  const { authenticator, basePath } = opts
  const refused = new WeakMap<FastifyRequest, AuthFailure>()
  app.decorateRequest('caller', undefined)

  app.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    if (isHealthRoute(request, basePath) || (opts.docsPublic && isDocsRoute(request, basePath)) ||
      (opts.metricsPublic === true && isMetricsRoute(request, basePath))) return
    const outcome = await authenticator.authenticate(request.headers.authorization)
    if (!outcome.ok) {
      refused.set(request, outcome.failure)
      return
    }
    request.caller = outcome.caller
    // Fastify's own "request completed" line is written through reply.log.
    const log = request.log.child({ caller: outcome.caller.id })
    request.log = log
    reply.log = log
  })

  app.addHook('preParsing', async (request: FastifyRequest, reply: FastifyReply, payload) => {
    const failure = refused.get(request)
    if (failure === undefined) return payload
    if (failure.status === 503) {
      request.log.error({ err: failure.cause }, 'cannot authenticate callers: the JWKS endpoint is unavailable')
      const userMessage = `The service ${failure.message.replace(/^the service /, '')}. Nothing was started; retry shortly.`
      return await reply.code(503).header('retry-after', '5').send({
        error: userMessage, userMessage, moreInfo: { problems: [failure.message], solutions: [failure.hint] }
      })
    }
    request.log.info({ status: failure.status, reason: failure.message }, 'caller refused')
    return await reply.code(failure.status).header('www-authenticate', challenge(failure))
      .send(requestValidationError([{ path: '', message: failure.message, hint: failure.hint }],
        failure.status === 403 ? `Access denied: ${failure.message}.` : `Authentication failed: ${failure.message}.`))
  })

  app.addHook('onClose', async () => { authenticator.close() })
}, { name: 'authentication', fastify: '5.x' })
