/**
 * The Incorta Public API v2 routes of the simulator, below `/incorta/api/v2/{tenant}`: schema list (paged),
 * schema load, schema status, load-plan execute and load-plan status. Each takes the decoded body and answers a
 * status and a body, or throws an `IncortaProblem` (Incorta's `{message: "INC_...: ..."}`). No HTTP here.
 */
import {
  errorBody, INC, loadAcceptedBody, loadPlanStatusBody, PLAN_ALREADY_RUNNING, schemaListBody, schemaStatusBody, type BodyStyle
} from './incorta-simulator-bodies.js'
import type { IncortaModel, LoadSource, TenantRecord } from './incorta-simulator-loads.js'

export class IncortaProblem extends Error {
  constructor (readonly status: number, readonly code: string, message: string) { super(message) }
  body (): { message: string } { return errorBody(this.code, this.message) }
}

export interface ApiRequest {
  method: string
  /** Path below the tenant, e.g. `/schema/list`. */
  rest: string
  query: URLSearchParams
  body: unknown
  tenant: TenantRecord
  model: IncortaModel
  style: BodyStyle
}

export interface ApiReply { status: number, body: unknown }

const LOAD_SOURCES: readonly string[] = ['FULL', 'INCREMENTAL', 'STAGING']
const SCHEMA_TYPES: readonly string[] = ['ALL', 'BUSINESS', 'PHYSICAL']

const bad = (message: string): IncortaProblem => new IncortaProblem(400, INC.badRequest, message)

function object (body: unknown): Record<string, unknown> {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw bad('The request body must be a JSON object.')
  return body as Record<string, unknown>
}

function int (value: unknown, field: string, min: number, max: number, fallback: number): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw bad(`${field} must be an integer between ${min} and ${max}.`)
  }
  return value
}

export function handleApi (req: ApiRequest): ApiReply {
  const { method, rest } = req
  if (method === 'POST' && rest === '/schema/list') return listSchemas(req)
  if (method === 'POST' && rest === '/schema/load') return loadSchemas(req)
  if (method === 'POST' && rest === '/load-plan/execute') return executePlan(req)
  const status = /^\/schema\/([^/]+)\/status$/.exec(rest)
  if (method === 'GET' && status !== null) return schemaStatus(req, decodeURIComponent(status[1] as string))
  const plan = /^\/load-plan\/status\/([^/]+)$/.exec(rest)
  if (method === 'GET' && plan !== null) return planStatus(req, plan[1] as string)
  throw new IncortaProblem(404, INC.badRequest, `No API endpoint ${method} ${rest}.`)
}

function listSchemas ({ query, body, tenant }: ApiRequest): ApiReply {
  const type = query.get('schemaType') ?? 'ALL'
  if (!SCHEMA_TYPES.includes(type)) throw bad(`schemaType must be one of ${SCHEMA_TYPES.join(', ')}.`)
  const fields = body === undefined ? {} : object(body)
  const limit = int(fields.limit, 'limit', 0, 200, 100)
  const offset = int(fields.offset, 'offset', 0, Number.MAX_SAFE_INTEGER, 0)
  const all = [...tenant.schemas.values()]
    .filter((s) => type === 'ALL' || s.type === type)
    .sort((a, b) => a.name.localeCompare(b.name))
  return { status: 200, body: schemaListBody(all.slice(offset, offset + limit), all.length) }
}

function loadSchemas ({ body, tenant, model, style }: ApiRequest): ApiReply {
  const fields = object(body)
  const names = fields.schemaNames
  if (!Array.isArray(names) || names.length === 0 || !names.every((n) => typeof n === 'string' && n !== '')) {
    throw bad('schemaNames must be a non-empty list of schema names.')
  }
  const source = fields.loadSource ?? 'FULL'
  if (typeof source !== 'string' || !LOAD_SOURCES.includes(source)) throw bad(`loadSource must be one of ${LOAD_SOURCES.join(', ')}.`)
  const schemas = (names as string[]).map((name) => {
    const schema = tenant.schemas.get(name)
    if (schema === undefined) throw new IncortaProblem(400, INC.schemaNotFound, `Schema [${name}] does not exist in tenant [${tenant.name}].`)
    if (schema.type !== 'PHYSICAL') throw new IncortaProblem(400, INC.notLoadable, `Schema [${name}] is a business schema and cannot be loaded.`)
    return schema
  })
  const jobs = [...new Set(schemas)].map((s) => model.startLoad(tenant.name, s, source as LoadSource))
  return { status: 200, body: loadAcceptedBody(jobs, model.clock.step, style) }
}

function schemaStatus ({ tenant, model, style }: ApiRequest, name: string): ApiReply {
  const schema = tenant.schemas.get(name)
  if (schema === undefined) throw new IncortaProblem(400, INC.schemaNotFound, `Schema [${name}] does not exist in tenant [${tenant.name}].`)
  return { status: 200, body: schemaStatusBody(schema, model.clock.step, style) }
}

function executePlan ({ body, tenant, model }: ApiRequest): ApiReply {
  const name = object(body).loadPlanName
  if (typeof name !== 'string' || name === '') throw bad('loadPlanName is required.')
  const plan = tenant.plans.get(name)
  if (plan === undefined) throw new IncortaProblem(400, INC.planNotFound, `Load plan [${name}] does not exist.`)
  // Incorta runs one execution of a plan at a time and says so without naming the running execution.
  if (model.runningExecution(tenant.name, name) !== undefined) throw new IncortaProblem(400, INC.planAlreadyRunning, PLAN_ALREADY_RUNNING)
  return { status: 200, body: { loadPlanExecutionId: model.executePlan(tenant.name, plan).id } }
}

function planStatus ({ query, tenant, model, style }: ApiRequest, rawId: string): ApiReply {
  const level = Number(query.get('level') ?? '1')
  if (!Number.isInteger(level) || level < 1 || level > 4) throw bad('level must be 1, 2, 3 or 4.')
  const execution = /^\d+$/.test(rawId) ? tenant.executions.get(Number(rawId)) : undefined
  const plan = execution === undefined ? undefined : tenant.plans.get(execution.planName)
  // 404 for an id it does not know, as the handler's id lookups expect (a stand-in, like the code).
  if (execution === undefined || plan === undefined) throw new IncortaProblem(404, INC.executionNotFound, `Load plan execution [${rawId}] does not exist.`)
  return { status: 200, body: loadPlanStatusBody(plan, execution, model.clock.step, level, style) }
}
