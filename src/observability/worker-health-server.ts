/**
 * A worker-only process's own small HTTP server on METRICS_PORT: GET /health/live (the process answers),
 * /health/ready (Redis answers and the worker loop runs; 503 otherwise) and /metrics (Prometheus). At the root,
 * not under BASE_PATH: it serves no contract route, and the Kubernetes probes and scrape config name these
 * paths as they are. Unauthenticated like any metrics port; the NetworkPolicy limits who reaches it.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { scrapeMetrics } from './metrics.js'

export interface WorkerHealthServer {
  /** `http://host:port`. */
  url: string
  close: () => Promise<void>
}

export interface WorkerHealthOptions {
  port: number
  host: string
  /** Redis reachable and the worker running. */
  ready: () => Promise<boolean>
}

function json (res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' })
  res.end(JSON.stringify(body))
}

async function answer (req: IncomingMessage, res: ServerResponse, opts: WorkerHealthOptions): Promise<void> {
  const path = (req.url ?? '/').split('?', 1)[0]
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { allow: 'GET, HEAD' }).end()
    return
  }
  switch (path) {
    case '/health/live':
      json(res, 200, { status: 'ok' })
      return
    case '/health/ready': {
      const ok = await opts.ready().catch(() => false)
      json(res, ok ? 200 : 503, ok ? { status: 'ok', redis: 'ok' } : { status: 'unavailable', redis: 'unavailable' })
      return
    }
    case '/metrics': {
      const { contentType, body } = await scrapeMetrics()
      res.writeHead(200, { 'content-type': contentType, 'cache-control': 'no-store' })
      res.end(body)
      return
    }
    default:
      json(res, 404, { status: 'not found' })
  }
}

export async function startWorkerHealthServer (opts: WorkerHealthOptions): Promise<WorkerHealthServer> {
  const server: Server = createServer((req, res) => {
    answer(req, res, opts).catch(() => { if (!res.headersSent) res.writeHead(500).end(); else res.destroy() })
  })
  // A probe or a scrape that stalls must not hold a socket for long.
  server.requestTimeout = 10_000
  server.headersTimeout = 5_000
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(opts.port, opts.host, () => { server.off('error', reject); resolve() })
  })
  const { address, port } = server.address() as AddressInfo
  const host = address.includes(':') ? `[${address}]` : address
  return {
    url: `http://${host === '0.0.0.0' || host === '[::]' ? '127.0.0.1' : host}:${port}`,
    close: async () => {
      server.closeAllConnections()
      await new Promise<void>((resolve) => { server.close(() => { resolve() }) })
    }
  }
}
