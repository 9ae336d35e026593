/**
 * The operators' queue dashboard (bull-board) at `<BASE_PATH>/admin/queues`, registered only with ADMIN_UI=true.
 * Behind the same caller authentication as every route (the authentication hook is app-wide), and read-only:
 * retrying, promoting or removing a job by hand would break the task state the engine keeps beside it.
 * Not part of the contract (openapi.yaml), so its routes are hidden from the document. Its page gets ADMIN_CSP,
 * which allows what the UI loads; every other reply keeps the API's deny-all policy.
 */
import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import { createBullBoard } from '@bull-board/api'
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter'
import { FastifyAdapter } from '@bull-board/fastify'

export interface AdminUiOptions {
  basePath: string
}

export const ADMIN_PATH = '/admin/queues'

/**
 * bull-board's page: its own scripts and styles, the inline styles its components set, its JSON API on this
 * origin, and the IBM Plex web font it links from Google Fonts (the page falls back to system fonts without it).
 */
export const ADMIN_CSP = [
  "default-src 'self'", "base-uri 'self'", "connect-src 'self'", "font-src 'self' data: https://fonts.gstatic.com", "form-action 'self'",
  "frame-ancestors 'none'", "img-src 'self' data:", "object-src 'none'", "script-src 'self'", "script-src-attr 'none'",
  "style-src 'self' 'unsafe-inline' https://fonts.googleapis.com"
].join('; ')

export default fp(async function adminUi (app: FastifyInstance, opts: AdminUiOptions) {
  const prefix = `${opts.basePath}${ADMIN_PATH}`
  const serverAdapter = new FastifyAdapter()
  serverAdapter.setBasePath(prefix)
  // @bull-board/fastify pins its own copy of @bull-board/api: the same shapes, declared twice.
  createBullBoard({ queues: [new BullMQAdapter(app.taskQueue, { readOnlyMode: true })], serverAdapter: serverAdapter as unknown as Parameters<typeof createBullBoard>[0]['serverAdapter'] })
  await app.register(async (scoped) => {
    scoped.addHook('onSend', async (_request, reply, payload) => {
      reply.header('content-security-policy', ADMIN_CSP)
      return payload
    })
    await scoped.register(serverAdapter.registerPlugin(), { prefix })
  })
}, { name: 'admin-ui', fastify: '5.x', dependencies: ['task-queue'] })
