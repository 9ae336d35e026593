/**
 * Builds the Fastify app (no listen): the OpenAPI document and its UI, the error handler, the queue and
 * descriptor services, and every route of the contract under BASE_PATH. Tests use `inject()` or listen on port 0.
 */
import { randomUUID } from 'node:crypto'
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyServerOptions } from 'fastify'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import type { Config } from './config.js'
import type { HandlerRegistry } from './provisioner/handler-registry.js'
import type { SecretStore } from './secrets/secret-store.js'
import { openapiDocument } from './openapi/openapi-spec.js'
import errorHandler from './plugins/error-handler.js'
import { clientErrorHandler, frameworkErrors } from './plugins/framework-errors.js'
import notFoundHandler from './plugins/not-found-handler.js'
import taskQueue from './plugins/task-queue.js'
import descriptorValidation from './plugins/descriptor-validation.js'
import provisioningRoutes from './routes/provisioning-routes.js'
import updateAclRoutes from './routes/updateacl-routes.js'
import validateRoutes from './routes/validate-routes.js'
import statusRoutes from './routes/status-routes.js'
import reverseProvisioningRoutes from './routes/reverse-provisioning-routes.js'
import healthRoutes from './routes/health-routes.js'
import { createLogger } from './logger.js'
import { createCallerAuthenticator } from './auth/caller-authenticator.js'
import loadShedding from './plugins/load-shedding.js'
import securityHeaders from './plugins/security-headers.js'
import { DOCS_CSP } from './plugins/security-headers.js'
import authentication from './plugins/authentication.js'
import rateLimiting from './plugins/rate-limiting.js'
import httpMetrics from './plugins/http-metrics.js'
import adminUi from './plugins/admin-ui.js'
import metricsRoutes from './routes/metrics-routes.js'
import { fastifyTracing } from './observability/fastify-tracing.js'

export interface AppDeps {
  config: Config
  registry: HandlerRegistry
  secrets: SecretStore
  /** Fastify logger setting; default: pino at config.logLevel with secrets redacted. */
  logger?: FastifyServerOptions['logger']
  /** The service's logger (main.ts: the same redaction and scrubbing as the worker's); wins over `logger`. */
  loggerInstance?: FastifyBaseLogger
}

const SAFE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/

const IGNORE_TRAILING_SLASH = true
// Node's default header block limit (request line included), stated so replies can name it.
const MAX_HEADER_BYTES = 16 * 1024

/**
 * Node checks request and header deadlines only every `connectionsCheckingInterval` (default 30 s, which would
 * let a stalled body live twice the timeout): check ten times per shortest timeout, at most once a second.
 */
function checkingInterval (config: Config): number {
  return Math.max(10, Math.min(1000, Math.floor(Math.min(config.requestTimeoutMs, config.headersTimeoutMs) / 10)))
}

export async function buildApp (deps: AppDeps): Promise<FastifyInstance> {
  const { config } = deps
  const app = Fastify({
    ...(deps.logger !== undefined ? { logger: deps.logger } : { loggerInstance: deps.loggerInstance ?? createLogger(config.logLevel) }),
    // JSON escaping can double a descriptor's size, and the descriptor may come twice (latestEnrichedDescriptor).
    bodyLimit: config.maxDescriptorBytes * 4 + 64 * 1024,
    genReqId: (req) => {
      const incoming = req.headers['x-request-id'] ?? req.headers.traceid
      const id = Array.isArray(incoming) ? incoming[0] : incoming
      return id !== undefined && SAFE_REQUEST_ID.test(id) ? id : randomUUID()
    },
    routerOptions: { ignoreTrailingSlash: IGNORE_TRAILING_SLASH },
    // Slow clients cannot hold a connection: headers and the whole request each have a deadline (408 after it).
    requestTimeout: config.requestTimeoutMs,
    http: {
      requestTimeout: config.requestTimeoutMs,
      headersTimeout: config.headersTimeoutMs,
      connectionsCheckingInterval: checkingInterval(config),
      maxHeaderSize: MAX_HEADER_BYTES
    },
    // Fastify's Ajv defaults coerce types ("true" and 1 become true) and strip unknown fields: a destructive flag
    // must be the JSON boolean itself, and the body must reach the routes as sent.
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, useDefaults: true } },
    clientErrorHandler: clientErrorHandler({ requestTimeoutMs: config.requestTimeoutMs, headersTimeoutMs: config.headersTimeoutMs, maxHeaderBytes: MAX_HEADER_BYTES }),
    frameworkErrors
  })
  // Before anything connects: AUTH_MODE=bearer without a usable token refuses to start here (ConfigError).
  const authenticator = createCallerAuthenticator(config.auth, { log: (level, message) => { app.log[level](message) } })
  // A callback hook, not an async one: it runs on every request, status polls included.
  app.addHook('onRequest', (request, reply, done) => { reply.header('x-request-id', request.id); done() })

  // With tracing on: the request span (an incoming traceparent is its parent), before any other hook runs.
  const tracing = fastifyTracing()
  if (tracing !== undefined) await app.register(tracing)
  await app.register(httpMetrics)
  // First: it learns every route (swagger-ui's included) from the onRoute hook to tell 405 from 404.
  await app.register(notFoundHandler, { ignoreTrailingSlash: IGNORE_TRAILING_SLASH })
  // Before any route too: a route takes the error handler in place when its plugin loads (the docs' included).
  await app.register(errorHandler, { isDegraded: () => app.redis.status !== 'ready' })
  await app.register(swagger, {
    mode: 'static',
    specification: { document: { ...openapiDocument, servers: [{ url: config.basePath === '' ? '/' : config.basePath }] } as never }
  })
  await app.register(swaggerUi, { routePrefix: `${config.basePath}/docs`, staticCSP: DOCS_CSP })
  await app.register(taskQueue, { redis: config.redis, prefix: config.queuePrefix, retentionSeconds: config.taskRetentionSeconds })
  // Caller checks, in their hook order: shed load, security headers, identify the caller, count its rate, refuse.
  await app.register(loadShedding, { ...config.loadShedding, basePath: config.basePath })
  await app.register(securityHeaders)
  await app.register(authentication, { authenticator, basePath: config.basePath, docsPublic: config.auth.docsPublic, metricsPublic: config.metricsPublic })
  await app.register(rateLimiting, { ...config.rateLimit, prefix: config.queuePrefix, basePath: config.basePath })
  // The pool's threads build their registry from the same configuration main.ts built deps.registry from.
  await app.register(descriptorValidation, { registry: deps.registry, secrets: deps.secrets, limits: config.descriptorLimits, handlers: config })

  await app.register(async (scoped) => {
    await scoped.register(provisioningRoutes)
    await scoped.register(updateAclRoutes)
    await scoped.register(validateRoutes)
    await scoped.register(statusRoutes)
    await scoped.register(reverseProvisioningRoutes)
    await scoped.register(healthRoutes)
    await scoped.register(metricsRoutes)
  }, { prefix: config.basePath })
  if (config.adminUi) await app.register(adminUi, { basePath: config.basePath })
  return app
}
