/**
 * An in-memory, contract-faithful simulator of Incorta's Public API v2 (`/incorta/api/v2/{tenant}`, tenant
 * case-sensitive) with the sandbox's OpenID Connect server beside it (`/realms/{realm}/protocol/openid-connect/
 * token`). It owns the HTTP server and the request pipeline: the shared request log and fault injection
 * (../simulator-kit), the Bearer check (incorta-simulator-auth), tenant lookup, routing and error replies. Loads live in
 * incorta-simulator-loads, bodies in incorta-simulator-bodies. Nothing here is used by the production code path.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { collectStrings, echoMessage } from '../simulator-kit/echo-shapes.js'
import { clearFaults, injectFault, takeMatching, type FaultSettings } from '../simulator-kit/fault-injection.js'
import { RequestLog, type SimulatorRequestRecord } from '../simulator-kit/request-log.js'
import { listenSimulator } from '../simulator-kit/simulator-server.js'
import { errorBody, INC, type BodyStyle } from './incorta-simulator-bodies.js'
import { IncortaModel, type ClockSettings, type FailedState } from './incorta-simulator-loads.js'
import { OidcError, OidcServer, type OidcSettings } from './incorta-simulator-oidc.js'
import { IncortaAuth } from './incorta-simulator-auth.js'
import { handleApi, IncortaProblem } from './incorta-simulator-routes.js'

export type { BodyStyle, BodyVariant, StateSpelling } from './incorta-simulator-bodies.js'
export type { FailedState, LoadJob, LoadPlanExecution, LoadState } from './incorta-simulator-loads.js'

export interface IncortaSimulatorOptions {
  /** Listen port. Default 0 (a free port). */
  port?: number
  /** Listen address. Default `127.0.0.1`. */
  host?: string
  /** Tenants with their physical schemas and load plans. Default: tenant `demo` with `sales`, `hr`, `orders` and plan `nightly` (sales, hr). */
  tenants?: Record<string, { schemas: string[], businessSchemas?: string[], loadPlans?: Record<string, string[]> }>
  /** Personal access tokens: token -> Incorta user. Default `sim-incorta-pat-0123456789` -> `admin`. */
  pats?: Record<string, string>
  /** Incorta users and whether they have "Enable Public API". Default `admin`, `loader`, `service-account-incorta-client` with it, `viewer` without. */
  users?: Record<string, { publicApi: boolean }>
  /** Keycloak realm of the token endpoint. Default `incorta`. */
  realm?: string
  oidc?: Partial<OidcSettings>
  /** How loads move; see incorta-simulator-loads. */
  clock?: Partial<ClockSettings>
  /** Body shapes of the undocumented status answers. Default `jobs` / `title`. Live: tests may change it. */
  bodies?: Partial<BodyStyle>
}

/** The shared faults (latency, failNext, errorRate, echoNext): a 502 or 504 is answered as a gateway's HTML page. */
export type IncortaFaults = FaultSettings
export type IncortaRequestRecord = SimulatorRequestRecord

export interface IncortaSimulator {
  /** Cluster base URL (what INCORTA_URL holds), e.g. `http://127.0.0.1:41234`. */
  url: string
  /** `INCORTA_OIDC_TOKEN_URL` of the sandbox's OIDC server. */
  tokenUrl: string
  defaultTenant: string
  /** The default personal access token. */
  pat: string
  model: IncortaModel
  oidc: OidcServer
  /** Live: tests set and clear fields while the simulator runs. */
  faults: IncortaFaults
  style: BodyStyle
  requests: IncortaRequestRecord[]
  /** Loads of this schema (or plans naming it) end in `state` with `message` until cleared. */
  failSchema: (schema: string, state: FailedState, message: string, tenant?: string) => void
  failPlan: (plan: string, state: FailedState, message: string, tenant?: string) => void
  clearFailures: () => void
  /** Starts an execution of the plan as someone else would (no request logged). */
  executeOutOfBand: (plan: string, tenant?: string) => number
  /** Makes `old` stop working and returns a new token for the same user. */
  rotatePat: (old: string) => string
  revokePat: (token: string) => void
  /** A token for that user, valid until `expiresAt` (epoch ms) when given. */
  addPat: (token: string, user: string, expiresAt?: number) => void
  /** The token's expiry date is now: it is refused from here on. */
  expirePat: (token: string) => void
  /** Moves every load on by `steps`. */
  advance: (steps?: number) => void
  resetFaults: () => void
  close: () => Promise<void>
}

const DEFAULT_PAT = 'sim-incorta-pat-0123456789'
const API_PREFIX = '/incorta/api/v2/'

function send (res: ServerResponse, status: number, body: unknown, contentType = 'application/json'): void {
  if (res.headersSent || res.destroyed) return
  const payload = typeof body === 'string' ? body : JSON.stringify(body)
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(payload) }).end(payload)
}

function parseOrText (raw: string): unknown {
  try {
    return JSON.parse(raw)
  } catch {
    return raw
  }
}

async function readBody (req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = []
  for await (const chunk of req) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks).toString('utf8')
}

export async function startIncortaSimulator (opts: IncortaSimulatorOptions = {}): Promise<IncortaSimulator> {
  const model = new IncortaModel({ stepPerRequest: true, stepMs: 0, queueSteps: 1, runSteps: 2, ...opts.clock })
  const tenants = opts.tenants ?? { demo: { schemas: ['sales', 'hr', 'orders'], loadPlans: { nightly: ['sales', 'hr'] } } }
  for (const [name, t] of Object.entries(tenants)) {
    for (const s of t.schemas) model.addSchema(name, s)
    for (const s of t.businessSchemas ?? []) model.addSchema(name, s, 'BUSINESS')
    for (const [plan, schemas] of Object.entries(t.loadPlans ?? {})) model.addLoadPlan(name, plan, schemas)
  }
  const defaultTenant = Object.keys(tenants)[0] ?? 'demo'
  const realm = opts.realm ?? 'incorta'
  const faults: IncortaFaults = {}
  const style: BodyStyle = { variant: 'jobs', spelling: 'title', ...opts.bodies }
  const log = new RequestLog()
  let origin = ''
  const oidc = new OidcServer({
    clients: { 'incorta-client': 'incorta-secret' },
    users: { loader: 'loader-password' },
    accessTokenTtlSeconds: 300,
    refreshTokenTtlSeconds: 1800,
    ...opts.oidc
  }, `incorta-sandbox/realms/${realm}`)

  const auth = new IncortaAuth(opts.pats ?? { [DEFAULT_PAT]: 'admin' }, opts.users ?? {
    admin: { publicApi: true }, loader: { publicApi: true }, 'service-account-incorta-client': { publicApi: true }, viewer: { publicApi: false }
  }, oidc)

  async function serve (req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = (req.method ?? 'GET').toUpperCase()
    const url = new URL(req.url ?? '/', origin)
    const path = url.pathname
    log.recordOnFinish(res, method, path)
    const raw = await readBody(req)
    const fault = await injectFault(faults, req, method, path, log)
    if (fault === 'dropped') return
    // Behind a load balancer, 502 and 504 come as HTML; Incorta's own failures as its error body.
    if (fault === 502 || fault === 504) return send(res, fault, `<html><body><h1>${fault} Bad Gateway</h1></body></html>`, 'text/html')
    if (fault !== undefined) throw new IncortaProblem(fault, INC.internal, 'An unexpected error occurred on the server.')
    const token = new RegExp(`^(/auth)?/realms/${realm}/protocol/openid-connect/token$`).exec(path)
    if (token !== null && method === 'POST') {
      if (!(req.headers['content-type'] ?? '').includes('application/x-www-form-urlencoded')) {
        return send(res, 400, { error: 'invalid_request', error_description: 'Missing form parameter: grant_type' })
      }
      try {
        return send(res, 200, await oidc.token(Object.fromEntries(new URLSearchParams(raw))))
      } catch (err) {
        if (err instanceof OidcError) return send(res, err.status, err.body())
        throw err
      }
    }
    if (!path.startsWith(API_PREFIX)) throw new IncortaProblem(404, INC.badRequest, `No such path ${path}.`)
    const [tenantName = '', ...rest] = path.slice(API_PREFIX.length).split('/')
    await auth.authenticate(req.headers.authorization)
    const echo = takeMatching(faults.echoNext, method, path)
    if (echo !== undefined) {
      // An error answer quoting back what the request carried, as a misbehaving gateway or server may.
      const values = [...collectStrings(new Set(), parseOrText(raw), [...url.searchParams.values()], echo.authorization === true ? req.headers.authorization : undefined)]
      const text = echoMessage(values, echo.shapes)
      return echo.format === 'text' ? send(res, echo.status, text, 'text/plain') : send(res, echo.status, errorBody(INC.badRequest, text))
    }
    const tenant = model.tenants.get(decodeURIComponent(tenantName))
    if (tenant === undefined) throw new IncortaProblem(404, INC.tenantNotFound, `Tenant [${decodeURIComponent(tenantName)}] does not exist.`)
    if (model.clock.settings.stepPerRequest) model.clock.advance()
    let body: unknown
    try {
      body = raw.trim() === '' ? undefined : JSON.parse(raw)
    } catch {
      throw new IncortaProblem(400, INC.badRequest, 'The request body is not valid JSON.')
    }
    const reply = handleApi({ method, rest: `/${rest.join('/')}`, query: url.searchParams, body, tenant, model, style })
    send(res, reply.status, reply.body)
  }

  const server = createServer((req, res) => {
    serve(req, res).catch((err: unknown) => {
      const problem = err instanceof IncortaProblem ? err : new IncortaProblem(500, INC.internal, `Simulator error: ${String(err)}`)
      send(res, problem.status, problem.body())
    })
  })
  const listening = await listenSimulator(server, opts.port ?? 0, opts.host ?? '127.0.0.1')
  origin = listening.origin

  const failKey = (tenant: string | undefined, key: string): string => `${tenant ?? defaultTenant}/${key}`
  return {
    url: origin,
    tokenUrl: `${origin}/realms/${realm}/protocol/openid-connect/token`,
    defaultTenant,
    pat: auth.firstPat ?? DEFAULT_PAT,
    model,
    oidc,
    faults,
    style,
    requests: log.requests,
    failSchema: (schema, state, message, tenant) => { model.outcomes.set(failKey(tenant, schema), { state, message }) },
    failPlan: (plan, state, message, tenant) => { model.outcomes.set(failKey(tenant, `plan:${plan}`), { state, message }) },
    clearFailures: () => { model.outcomes.clear() },
    executeOutOfBand: (plan, tenant) => {
      const t = model.tenant(tenant ?? defaultTenant)
      const record = t.plans.get(plan)
      if (record === undefined) throw new Error(`no load plan ${plan}`)
      return model.executePlan(t.name, record).id
    },
    rotatePat: (old) => auth.rotatePat(old),
    revokePat: (token) => { auth.revokePat(token) },
    addPat: (token, user, expiresAt) => { auth.addPat(token, user, expiresAt) },
    expirePat: (token) => { auth.expirePat(token) },
    advance: (steps = 1) => { model.clock.advance(steps) },
    resetFaults: () => { clearFaults(faults) },
    close: async () => {
      // Idempotent: a test may stop it early and its teardown stops it again.
      if (server.listening) await listening.close()
    }
  }
}
