/**
 * An in-memory, contract-faithful simulator of Airbyte's public API (`/api/public/v1`), quirks included, for
 * tests and the sandbox mode. This module owns the HTTP server and the request pipeline: request log, injected
 * latency and faults, base path, authentication, routing and error replies. Resource behaviour lives in the
 * `airbyte-simulator-*-routes` modules; nothing here is used by the production code path.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { setTimeout as delay } from 'node:timers/promises'
import { actorRouteTable } from './airbyte-simulator-actor-routes.js'
import { TokenIssuer, tokenRoute } from './airbyte-simulator-auth.js'
import { connectionRouteTable } from './airbyte-simulator-connection-routes.js'
import { decodeBody, readRawBody, sendJson, sendProblem, sendRateLimited } from './airbyte-simulator-http.js'
import { echoedValues, sendEcho, takeEcho, type EchoFault } from './airbyte-simulator-echo.js'
import { jobRouteTable } from './airbyte-simulator-job-routes.js'
import {
  methodNotAllowed, resourceNotFound, serviceUnavailable, SimulatorProblem, unexpectedProblem
} from './airbyte-simulator-problems.js'
import { matchRoute, type SimulatorRoute } from './airbyte-simulator-router.js'
import { createStore, type SimulatorState } from './airbyte-simulator-state.js'
import { workspaceRouteTable } from './airbyte-simulator-workspace-routes.js'

export type {
  ConnectionResponse, ConnectionSchedule, DestinationResponse, JobResponse, JobStatus, JobType, SimulatorState,
  SourceResponse, StreamConfiguration, StreamProperties, SyncMode, WorkspaceResponse
} from './airbyte-simulator-state.js'
export { DESTINATION_DEFINITIONS, MASKED_SECRET, SOURCE_DEFINITIONS } from './airbyte-simulator-connectors.js'
export { ECHO_SHAPES, type EchoFault, type EchoShape } from './airbyte-simulator-echo.js'

export interface AirbyteSimulatorOptions {
  /** Listen port. Default 0 (a free port). */
  port?: number
  /** Listen address. Default `127.0.0.1`. */
  host?: string
  /** Prefix of every route. Default `/api/public/v1` (self-managed Airbyte's public API). */
  basePath?: string
  /** Client credentials accepted by `POST /applications/token`. Default `sim-client` / `sim-secret`. */
  clientId?: string
  clientSecret?: string
  /** Basic auth accepted on every other route, as self-managed Airbyte does. Default `airbyte` / `password`. */
  basicUser?: string
  basicPassword?: string
  /** Extra static bearer tokens that never expire. Default none. */
  bearerTokens?: string[]
  /** `expires_in` of minted tokens, seconds; they stop working after it. Default 900. */
  tokenTtlSeconds?: number
  /** Id of the one pre-created workspace. Default `00000000-0000-4000-8000-000000000001`. */
  workspaceId?: string
  /** A sync or clear goes pending -> running (after ~10%) -> terminal at this age, ms. Default 2000. */
  syncDurationMs?: number
  /** Extra time `POST /connections` takes (Airbyte discovers the schema synchronously), ms. Default 0. */
  discoverDelayMs?: number
  /** `rowsSynced` per selected stream of a successful sync. Default 100. */
  rowsPerStream?: number
}

export type SimulatorSettings = Required<AirbyteSimulatorOptions>

export type FaultStatus = 500 | 503 | 429 | 'drop'

export interface FaultSettings {
  /** Added to every request, ms. */
  latencyMs?: number
  /** Consumed one per matching request, first match first; `drop` destroys the socket without answering. */
  failNext?: Array<{ status: FaultStatus, path?: RegExp, method?: string }>
  /** A random fraction of requests fail this way. */
  errorRate?: { rate: number, status: FaultStatus }
  /** New sync jobs end `failed` instead of `succeeded`. */
  failSyncs?: boolean
  /** New sync jobs pass through `incomplete` (Airbyte retrying an attempt) before they end. */
  incompleteFirst?: boolean
  /** Return a validator message to reject a source/destination configuration with 422 `unprocessable-entity`. */
  rejectConfig?: (kind: 'source' | 'destination', configuration: Record<string, unknown>) => string | undefined
  /**
   * Consumed one per matching request, first match first, after authentication: an error reply quoting back
   * every value of the request (and of the stored configuration it names) in many shapes (airbyte-simulator-echo).
   */
  echoNext?: EchoFault[]
}

export interface SimulatorRequestRecord {
  method: string
  /** Path without query string, base path included. */
  path: string
  /** 0 when a `drop` fault destroyed the socket. */
  status: number
}

export interface AirbyteSimulator {
  /** Base URL including the base path, e.g. `http://127.0.0.1:41234/api/public/v1`. */
  url: string
  origin: string
  workspaceId: string
  /** Live: tests set and clear fields while the simulator runs. */
  faults: FaultSettings
  /** For inspection; tests should change state through the API. */
  state: SimulatorState
  requests: SimulatorRequestRecord[]
  /** Authorization headers an `echoNext` fault quoted back (to check they were scrubbed). */
  echoedAuthorizations: string[]
  resetFaults: () => void
  close: () => Promise<void>
}

const DEFAULT_WORKSPACE_ID = '00000000-0000-4000-8000-000000000001'

function resolveSettings (opts: AirbyteSimulatorOptions): SimulatorSettings {
  return {
    port: opts.port ?? 0,
    host: opts.host ?? '127.0.0.1',
    basePath: (opts.basePath ?? '/api/public/v1').replace(/\/+$/, ''),
    clientId: opts.clientId ?? 'sim-client',
    clientSecret: opts.clientSecret ?? 'sim-secret',
    basicUser: opts.basicUser ?? 'airbyte',
    basicPassword: opts.basicPassword ?? 'password',
    bearerTokens: opts.bearerTokens ?? [],
    tokenTtlSeconds: opts.tokenTtlSeconds ?? 900,
    workspaceId: opts.workspaceId ?? DEFAULT_WORKSPACE_ID,
    syncDurationMs: opts.syncDurationMs ?? 2000,
    discoverDelayMs: opts.discoverDelayMs ?? 0,
    rowsPerStream: opts.rowsPerStream ?? 100
  }
}

function takeFault (faults: FaultSettings, method: string, path: string): FaultStatus | undefined {
  const queue = faults.failNext
  if (queue !== undefined) {
    const index = queue.findIndex((fault) => {
      if (fault.method !== undefined && fault.method.toUpperCase() !== method) return false
      if (fault.path === undefined) return true
      fault.path.lastIndex = 0
      return fault.path.test(path)
    })
    if (index >= 0) return queue.splice(index, 1)[0]?.status
  }
  if (faults.errorRate !== undefined && Math.random() < faults.errorRate.rate) return faults.errorRate.status
  return undefined
}

export async function startAirbyteSimulator (opts: AirbyteSimulatorOptions = {}): Promise<AirbyteSimulator> {
  const settings = resolveSettings(opts)
  const store = createStore(settings.workspaceId)
  const faults: FaultSettings = {}
  const requests: SimulatorRequestRecord[] = []
  const echoedAuthorizations: string[] = []
  const issuer = new TokenIssuer(settings, () => { store.tokensIssued++ })
  const routes: SimulatorRoute[] = [
    tokenRoute(issuer), ...workspaceRouteTable, ...actorRouteTable, ...connectionRouteTable, ...jobRouteTable
  ]
  let origin = ''

  async function serve (req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = (req.method ?? 'GET').toUpperCase()
    const url = new URL(req.url ?? '/', origin)
    const path = url.pathname
    res.once('finish', () => requests.push({ method, path, status: res.statusCode }))
    const raw = await readRawBody(req)
    if (faults.latencyMs !== undefined && faults.latencyMs > 0) await delay(faults.latencyMs)
    const fault = takeFault(faults, method, path)
    if (fault === 'drop') {
      requests.push({ method, path, status: 0 })
      req.socket.destroy()
      return
    }
    if (fault === 429) return sendRateLimited(res)
    if (fault === 503) throw serviceUnavailable()
    if (fault === 500) throw unexpectedProblem()

    const inBase = path === settings.basePath || path.startsWith(`${settings.basePath}/`)
    const match = inBase ? matchRoute(routes, method, path.slice(settings.basePath.length)) : { kind: 'none' as const }
    if (match.kind === 'none') throw resourceNotFound('route', path)
    if (match.kind === 'wrong-method') throw methodNotAllowed(method, path)
    if (match.route.anonymous !== true) issuer.authenticate(req.headers.authorization)
    const echo = takeEcho(faults.echoNext, method, path)
    if (echo !== undefined) {
      const authorization = echo.authorization === true ? req.headers.authorization : undefined
      if (authorization !== undefined) echoedAuthorizations.push(authorization)
      sendEcho(res, echo, echoedValues(decodeBody(raw, req.headers['content-type']), url.searchParams, store, path, authorization))
      return
    }
    const reply = await match.route.handle({
      params: match.params,
      query: url.searchParams,
      body: decodeBody(raw, req.headers['content-type']),
      store,
      settings,
      faults,
      selfUrl: `${origin}${path}`
    })
    sendJson(res, reply.status, reply.body)
  }

  const server = createServer((req, res) => {
    serve(req, res).catch((err: unknown) => {
      // A non-problem error is a simulator bug: surface it in the reply so the failing test shows it.
      sendProblem(res, err instanceof SimulatorProblem ? err : unexpectedProblem(`Simulator error: ${String(err)}`))
    })
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(settings.port, settings.host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  const address = server.address() as AddressInfo
  // A wildcard listen address is not something a client can dial; advertise loopback instead.
  const dialable = address.address === '0.0.0.0' ? '127.0.0.1' : address.address === '::' ? '::1' : address.address
  const host = dialable.includes(':') ? `[${dialable}]` : dialable
  origin = `http://${host}:${address.port}`

  return {
    url: `${origin}${settings.basePath}`,
    origin,
    workspaceId: settings.workspaceId,
    faults,
    state: store,
    requests,
    echoedAuthorizations,
    resetFaults () {
      for (const key of Object.keys(faults) as Array<keyof FaultSettings>) delete faults[key]
    },
    close: () => new Promise<void>((resolve, reject) => {
      server.close((err) => { err === undefined ? resolve() : reject(err) })
      // Keep-alive sockets of fetch clients would otherwise hold close() open.
      server.closeAllConnections()
    })
  }
}
