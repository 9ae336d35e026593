/**
 * An in-memory, contract-faithful simulator of the Atlan APIs this service calls (`/api/meta` entities and
 * search, `/api/service` users, groups, API keys, OAuth tokens and package workflows), quirks included, for tests
 * and the sandbox. This module owns the HTTP server and the request pipeline: request log, injected latency
 * and faults, the tenant's per-minute limit and its lock-out, Bearer authentication, routing and error bodies.
 * Nothing here is used by the production code path.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { setTimeout as delay } from 'node:timers/promises'
import { clearFaults, takeFault, type FaultSettings } from '../simulator-kit/fault-injection.js'
import { atlasError, badRequest, gatewayError, SimulatorError } from './atlan-simulator-errors.js'
import { entityRoutes } from './atlan-simulator-entities.js'
import { matchRoute, type AtlanRoute } from './atlan-simulator-routes.js'
import { searchRoutes } from './atlan-simulator-search.js'
import { serviceRoutes } from './atlan-simulator-service.js'
import { AtlanStore, type SimApiKey } from './atlan-simulator-store.js'
import { advanceRuns, workflowRoutes } from './atlan-simulator-workflows.js'

export { CONNECTION_ADMIN_PACKAGE } from './atlan-simulator-workflows.js'
export { METADATA_ACTIONS } from './atlan-simulator-entities.js'
export type { AtlanStore, SimEntity, SimApiKey, WorkflowRun } from './atlan-simulator-store.js'

export interface AtlanSimulatorOptions {
  /** Listen port. Default 0 (a free port). */
  port?: number
  /** Listen address. Default `127.0.0.1`. */
  host?: string
  /** The service's own API token (an API key named `provisioner`). Default `atlan-sim-api-token-provisioner-0001`. */
  apiToken?: string
  /** OAuth clients accepted by `/api/service/oauth-clients/token`. Default one: `sim-oauth-client` / `sim-oauth-secret`. */
  oauthClients?: Array<{ clientId: string, clientSecret: string }>
  /** `expires_in` of minted tokens, seconds; they stop working after it. Default 600. */
  tokenTtlSeconds?: number
  /** Requests per minute before the tenant is locked out. Default 400. */
  rateLimitPerMinute?: number
  /** Length of the lock-out after the limit is passed, ms. Default 60000. */
  lockoutMs?: number
  /** Send `Retry-After` on a 429. Default true. */
  sendRetryAfter?: boolean
  /** Search sees a write this long after it, ms. Default 1000. */
  indexLagMs?: number
  /** Reads and policy writes on a new Connection answer 403 this long, ms. Default 0. */
  postCreateForbiddenMs?: number
  /** A workflow run stays Pending this long, ms. Default 500. */
  workflowPendingMs?: number
  /** Then Running this long, ms. Default 2000. */
  workflowRunMs?: number
  /** Users besides the defaults (jane.doe, john.smith, alice.rossi, bob.lee). */
  users?: Array<{ username: string, email: string, groups?: string[] }>
  /** Groups besides the defaults (data_mesh_platform / datameshplatform, analysts, finance_readers). */
  groups?: Array<{ name: string, alias: string }>
}

export type AtlanSimulatorSettings = Required<Omit<AtlanSimulatorOptions, 'users' | 'groups' | 'indexLagMs'>>

/** The shared faults (latency, failNext, errorRate; sandbox/simulator-kit/fault-injection) and Atlan's own. */
export interface AtlanFaults extends Pick<FaultSettings, 'latencyMs' | 'failNext' | 'errorRate'> {
  /** Runs started while set end in this phase instead of Succeeded. */
  workflowEnding?: 'Failed' | 'Error'
}

export interface AtlanRequestRecord {
  method: string
  path: string
  /** 0 when a `drop` fault destroyed the socket. */
  status: number
  /** Simulator clock, epoch ms, when it arrived. */
  at: number
}

export interface AtlanSimulator {
  url: string
  /** The service's own API key (its token is `apiToken`). */
  apiKey: SimApiKey
  apiToken: string
  /** A second API key, for "make this token a connection admin" (`apiTokenGuid` is its `id`). */
  otherApiKey: SimApiKey
  store: AtlanStore
  settings: AtlanSimulatorSettings
  faults: AtlanFaults
  requests: AtlanRequestRecord[]
  /** End of the current lock-out (simulator clock), 0 when none. */
  lockedUntil: () => number
  /** Moves the simulator's clock forward (index lag, 403 window, workflow phases, rate-limit window). */
  advance: (ms: number) => void
  /** Makes every pending write visible to search. */
  flushIndex: () => void
  resetFaults: () => void
  close: () => Promise<void>
}

const DEFAULT_USERS = [
  { username: 'jane.doe', email: 'jane.doe@company.com', groups: ['data_mesh_platform'] },
  { username: 'john.smith', email: 'john.smith@company.com', groups: [] },
  { username: 'alice.rossi', email: 'alice.rossi@company.com', groups: ['analysts'] },
  { username: 'bob.lee', email: 'bob.lee@company.com', groups: ['analysts'] }
]
const DEFAULT_GROUPS = [
  { name: 'data_mesh_platform', alias: 'datameshplatform' },
  { name: 'analysts', alias: 'Analysts' },
  { name: 'finance_readers', alias: 'finance-readers' }
]

function send (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent || res.destroyed) return
  if (body === undefined) {
    res.writeHead(status, headers).end()
    return
  }
  const payload = JSON.stringify(body)
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(payload)), ...headers }).end(payload)
}

async function readBody (req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = []
  for await (const chunk of req) chunks.push(chunk as Buffer)
  const raw = Buffer.concat(chunks).toString('utf8')
  if (raw.trim() === '') return undefined
  try {
    return JSON.parse(raw) as unknown
  } catch {
    throw badRequest('The request body is not valid JSON')
  }
}

export async function startAtlanSimulator (opts: AtlanSimulatorOptions = {}): Promise<AtlanSimulator> {
  const settings: AtlanSimulatorSettings = {
    port: opts.port ?? 0,
    host: opts.host ?? '127.0.0.1',
    apiToken: opts.apiToken ?? 'atlan-sim-api-token-provisioner-0001',
    oauthClients: opts.oauthClients ?? [{ clientId: 'sim-oauth-client', clientSecret: 'sim-oauth-secret' }],
    tokenTtlSeconds: opts.tokenTtlSeconds ?? 600,
    rateLimitPerMinute: opts.rateLimitPerMinute ?? 400,
    lockoutMs: opts.lockoutMs ?? 60_000,
    sendRetryAfter: opts.sendRetryAfter ?? true,
    postCreateForbiddenMs: opts.postCreateForbiddenMs ?? 0,
    workflowPendingMs: opts.workflowPendingMs ?? 500,
    workflowRunMs: opts.workflowRunMs ?? 2000
  }
  const store = new AtlanStore(opts.indexLagMs ?? 1000)
  for (const g of [...DEFAULT_GROUPS, ...(opts.groups ?? [])]) store.addGroup(g.name, g.alias)
  for (const u of [...DEFAULT_USERS, ...(opts.users ?? [])]) store.addUser(u.username, u.email, u.groups ?? [])
  const apiKey = store.addApiKey('provisioner', settings.apiToken)
  const otherApiKey = store.addApiKey('automation')
  const faults: AtlanFaults = {}
  const requests: AtlanRequestRecord[] = []
  const routes: AtlanRoute[] = [...serviceRoutes, ...workflowRoutes, ...searchRoutes, ...entityRoutes]
  const window: number[] = []
  let lockedUntil = 0

  /** The tenant's limit: a 429 for every request during a lock-out, which starts when the minute's budget is spent. */
  function throttle (): SimulatorError | undefined {
    const now = store.now()
    if (now < lockedUntil) return rateLimited(now)
    while (window.length > 0 && (window[0] as number) <= now - 60_000) window.shift()
    if (window.length >= settings.rateLimitPerMinute) {
      lockedUntil = now + settings.lockoutMs
      // The lock-out stands for the rest of the minute: the budget starts afresh when it ends.
      window.length = 0
      return rateLimited(now)
    }
    window.push(now)
    return undefined
  }
  function rateLimited (now: number): SimulatorError {
    const headers: Record<string, string> = settings.sendRetryAfter ? { 'retry-after': String(Math.ceil((lockedUntil - now) / 1000)) } : {}
    return gatewayError(429, `Too many requests: the limit of ${settings.rateLimitPerMinute} requests per minute was exceeded`, 'RATE_LIMIT_EXCEEDED', headers)
  }

  function authenticate (header: string | undefined): string {
    const match = /^Bearer\s+(\S+)$/i.exec(header ?? '')
    const grant = match === null ? undefined : store.tokens.get(match[1] as string)
    if (grant === undefined || grant.expiresAt <= store.now()) throw gatewayError(401, 'Unauthorized: the bearer token is missing, invalid or expired', 'UNAUTHORIZED')
    return grant.username
  }

  async function serve (req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = (req.method ?? 'GET').toUpperCase()
    const url = new URL(req.url ?? '/', 'http://atlan.local')
    const path = url.pathname.replace(/\/+$/, '')
    const at = store.now()
    res.once('finish', () => requests.push({ method, path, status: res.statusCode, at }))
    const body = await readBody(req)
    if (faults.latencyMs !== undefined && faults.latencyMs > 0) await delay(faults.latencyMs)
    const limited = throttle()
    if (limited !== undefined) throw limited
    const fault = takeFault(faults, method, path)
    if (fault === 'drop') {
      requests.push({ method, path, status: 0, at })
      req.socket.destroy()
      return
    }
    if (fault === 429) throw rateLimited(store.now())
    if (typeof fault === 'number') {
      throw path.startsWith('/api/meta/')
        ? atlasError(fault, `ATLAS-${fault}-00-001`, fault === 503 ? 'Service unavailable, retry later' : 'Internal server error')
        : gatewayError(fault, fault === 503 ? 'Service Unavailable' : 'Bad Gateway')
    }
    const match = matchRoute(routes, method, path)
    if (match.kind === 'none') throw gatewayError(404, `no route for ${path}`, 'NOT_FOUND')
    if (match.kind === 'wrong-method') throw gatewayError(405, `${method} is not allowed on ${path}`, 'METHOD_NOT_ALLOWED')
    const caller = match.route.anonymous === true ? '' : authenticate(req.headers.authorization)
    advanceRuns(store)
    const reply = await match.route.handle({ params: match.params, query: url.searchParams, body, store, settings, faults, caller })
    send(res, reply.status, reply.body)
  }

  const server = createServer((req, res) => {
    serve(req, res).catch((err: unknown) => {
      if (err instanceof SimulatorError) return send(res, err.status, err.body, err.headers)
      send(res, 500, { errorCode: 'ATLAS-500-00-001', errorMessage: `Simulator error: ${String(err)}` })
    })
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(settings.port, settings.host, () => { server.off('error', reject); resolve() })
  })
  const address = server.address() as AddressInfo
  const dialable = address.address === '0.0.0.0' ? '127.0.0.1' : address.address === '::' ? '::1' : address.address
  const origin = `http://${dialable.includes(':') ? `[${dialable}]` : dialable}:${address.port}`

  return {
    url: origin,
    apiKey,
    apiToken: settings.apiToken,
    otherApiKey,
    store,
    settings,
    faults,
    requests,
    lockedUntil: () => lockedUntil,
    advance: (ms) => { store.clockOffsetMs += ms },
    flushIndex: () => { store.flushIndex() },
    resetFaults: () => { clearFaults(faults) },
    close: async () => await new Promise<void>((resolve, reject) => {
      server.close((err) => { err === undefined ? resolve() : reject(err) })
      server.closeAllConnections()
    })
  }
}
