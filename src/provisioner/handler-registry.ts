/**
 * Routing of components to handlers by `useCaseTemplateId` (trailing version ignored), plus the operator's extra
 * rules and an optional default handler for components no rule claims (the original single-target provisioner
 * claimed every component it was sent; `DEFAULT_HANDLER=<id>` keeps that behaviour).
 */
import type { Handler } from './handler.js'

export class HandlerRegistry {
  private readonly byId = new Map<string, Handler>()
  private readonly routes: Array<[prefix: string, handler: Handler]> = []
  private readonly fallback: Handler | undefined

  constructor (handlers: Handler[], opts: { defaultHandler?: string, extraRoutes?: Record<string, string> } = {}) {
    for (const handler of handlers) {
      this.byId.set(handler.id, handler)
      for (const prefix of handler.useCaseTemplateIds) this.routes.push([prefix, handler])
    }
    for (const [prefix, id] of Object.entries(opts.extraRoutes ?? {})) this.routes.push([prefix, this.get(id)])
    // Longest prefix first, so an operator's specific rule wins over a broad one.
    this.routes.sort((a, b) => b[0].length - a[0].length)
    this.fallback = opts.defaultHandler === undefined ? undefined : this.get(opts.defaultHandler)
  }

  get (id: string): Handler {
    const handler = this.byId.get(id)
    if (handler === undefined) throw new Error(`no handler with id ${JSON.stringify(id)}`)
    return handler
  }

  handlerFor (useCaseTemplateId: string | undefined): Handler | undefined {
    if (typeof useCaseTemplateId === 'string') {
      for (const [prefix, handler] of this.routes) {
        if (useCaseTemplateId === prefix || useCaseTemplateId.startsWith(`${prefix}:`)) return handler
      }
    }
    return this.fallback
  }

  supportedIds (): string[] {
    return this.routes.map(([prefix]) => prefix)
  }

  all (): Handler[] {
    return [...this.byId.values()]
  }

  /** Runs every handler's close hook; one failing does not keep the others open. */
  async close (): Promise<void> {
    await Promise.allSettled(this.all().map(async (handler) => await handler.close?.()))
  }
}
