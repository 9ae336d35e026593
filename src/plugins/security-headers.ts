/**
 * The usual security headers (@fastify/helmet) on every reply. The API itself serves only JSON and text, so its
 * Content-Security-Policy allows nothing; the docs (swagger-ui) get DOCS_CSP instead, which allows exactly what
 * the UI loads: its own scripts, styles and JSON from this origin and the data: images it inlines.
 */
import fp from 'fastify-plugin'
import helmet from '@fastify/helmet'
import type { FastifyInstance } from 'fastify'

/**
 * For @fastify/swagger-ui's `staticCSP`. No `upgrade-insecure-requests`: over plain HTTP (the sandbox, a port
 * forward) it would send the UI's own assets to https and break the page. swagger-ui 5 has no inline script;
 * its components set inline styles, hence `'unsafe-inline'` for styles only.
 */
export const DOCS_CSP = [
  "default-src 'self'", "base-uri 'self'", "connect-src 'self'", "font-src 'self' data:", "form-action 'self'",
  "frame-ancestors 'none'", "img-src 'self' data:", "object-src 'none'", "script-src 'self'", "script-src-attr 'none'",
  "style-src 'self' 'unsafe-inline'"
].join('; ')

export default fp(async function securityHeaders (app: FastifyInstance) {
  await app.register(helmet, {
    contentSecurityPolicy: {
      useDefaults: false,
      directives: { defaultSrc: ["'none'"], baseUri: ["'none'"], formAction: ["'none'"], frameAncestors: ["'none'"] }
    },
    // Cross-origin isolation headers matter for pages, not for an API called server to server.
    crossOriginEmbedderPolicy: false
  })
}, { name: 'security-headers', fastify: '5.x' })
