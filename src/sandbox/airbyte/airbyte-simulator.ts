/**
 * An in-memory, contract-faithful simulator of Airbyte's public API (`/api/public/v1`), quirks included, for
 * tests and the sandbox mode. This module owns the request pipeline: the shared request log and fault injection
 * (../simulator-kit), base path, authentication, routing and Airbyte's error replies. Resource behaviour lives in the
 * `airbyte-*-routes` modules; nothing here is used by the production code path.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { clearFaults, injectFault, takeMatching, type FaultSettings as SharedFaultSettings } from '../simulator-kit/fault-injection.js'
import { RequestLog, type SimulatorRequestRecord } from '../simulator-kit/request-log.js'
import { listenSimulator } from '../simulator-kit/simulator-server.js'
import { actorRouteTable } from './airbyte-actor-routes.js'
import { TokenIssuer, tokenRoute } from './airbyte-auth.js'
import { connectionRouteTable } from './airbyte-connection-routes.js'
import { decodeBody, readRawBody, sendJson, sendProblem, sendRateLimited } from './airbyte-http.js'
import { echoedValues, sendEcho } from './airbyte-echo.js'
import { jobRouteTable } from './airbyte-job-routes.js'
import {
  methodNotAllowed, resourceNotFound, serviceUnavailable, SimulatorProblem, unexpectedProblem
} from './airbyte-problems.js'
import { matchRoute, type SimulatorRoute } from './airbyte-router.js'
import { createStore, type SimulatorState } from './airbyte-state.js'
import { workspaceRouteTable } from './airbyte-workspace-routes.js'

export type {
  ConnectionResponse, ConnectionSchedule, DestinationResponse, JobResponse, JobStatus, JobType, SimulatorState,
  SourceResponse, StreamConfiguration, StreamProperties, SyncMode, WorkspaceResponse
} from './airbyte-state.js'
export { DESTINATION_DEFINITIONS, MASKED_SECRET, SOURCE_DEFINITIONS } from './airbyte-connectors.js'
export { ECHO_SHAPES, type EchoFault, type EchoShape } from './airbyte-echo.js'
export type { FaultStatus } from '../simulator-kit/fault-injection.js'
export type { SimulatorRequestRecord } from '../simulator-kit/request-log.js'

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

/** The shared faults (latency, failNext, errorRate, echoNext) and Airbyte's own. */
export interface FaultSettings extends SharedFaultSettings {
  /** New sync jobs end `failed` instead of `succeeded`. */
  failSyncs?: boolean
  /** New sync jobs pass through `incomplete` (Airbyte retrying an attempt) before they end. */
  incompleteFirst?: boolean
  /** Return a validator message to reject a source/destination configuration with 422 `unprocessable-entity`. */
  rejectConfig?: (kind: 'source' | 'destination', configuration: Record<string, unknown>) => string | undefined
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
  /** Every minted access token stops working at once (tests of an early expiry need no waiting). */
  expireTokens: () => void
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

/** A status fault in Airbyte's shapes: its load shedding's bare 429, its 503 and 500 problems. */
function faultProblem (res: ServerResponse, status: number): void {
  if (status === 429) return sendRateLimited(res)
  if (status === 503) throw serviceUnavailable()
  if (status === 500) throw unexpectedProblem()
  throw new SimulatorProblem('unexpected-problem', 'Injected fault', undefined, status)
}

export async function startAirbyteSimulator (opts: AirbyteSimulatorOptions = {}): Promise<AirbyteSimulator> {
  const settings = resolveSettings(opts)
  const store = createStore(settings.workspaceId)
  const faults: FaultSettings = {}
  const log = new RequestLog()
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
    log.recordOnFinish(res, method, path)
    const raw = await readRawBody(req)
    const fault = await injectFault(faults, req, method, path, log)
    if (fault === 'dropped') return
    if (fault !== undefined) return faultProblem(res, fault)

    const inBase = path === settings.basePath || path.startsWith(`${settings.basePath}/`)
    const match = inBase ? matchRoute(routes, method, path.slice(settings.basePath.length)) : { kind: 'none' as const }
    if (match.kind === 'none') throw resourceNotFound('route', path)
    if (match.kind === 'wrong-method') throw methodNotAllowed(method, path)
    if (match.route.anonymous !== true) issuer.authenticate(req.headers.authorization)
    const echo = takeMatching(faults.echoNext, method, path)
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
  const listening = await listenSimulator(server, settings.port, settings.host)
  origin = listening.origin

  return {
    url: `${origin}${settings.basePath}`,
    origin,
    workspaceId: settings.workspaceId,
    faults,
    state: store,
    requests: log.requests,
    echoedAuthorizations,
    resetFaults: () => { clearFaults(faults) },
    expireTokens: () => { issuer.expireAll() },
    close: listening.close
  }
}
