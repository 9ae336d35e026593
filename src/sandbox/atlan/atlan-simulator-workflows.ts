/**
 * Package workflows of the simulator (the "API token connection admin" package): templates found through
 * `workflows/indexsearch`, a new run (`POST /workflows?submit=true`), a re-run of a template (`workflows/submit`)
 * and runs found through `runs/indexsearch`. A run goes Pending -> Running -> its ending as the clock moves;
 * on success it makes the token's user an admin of the connection, as the real package does.
 */
import { randomBytes } from 'node:crypto'
import { gatewayError } from './atlan-simulator-errors.js'
import { isObject, requireObject, type AtlanRoute, type RouteContext } from './atlan-simulator-routes.js'
import type { AtlanStore, RunPhase, WorkflowRun, WorkflowTemplate } from './atlan-simulator-store.js'

export const CONNECTION_ADMIN_PACKAGE = 'csa-api-token-connection-admin'

export function runPhase (store: AtlanStore, run: WorkflowRun): RunPhase {
  const now = store.now()
  if (now < run.runningAt) return 'Pending'
  if (now < run.finishAt) return 'Running'
  if (!run.applied) applyRun(store, run)
  return run.ending
}

/** The package's effect, once, when the run ends. A run that cannot do its job fails, as the real one does. */
function applyRun (store: AtlanStore, run: WorkflowRun): void {
  run.applied = true
  if (run.ending !== 'Succeeded') {
    run.message ??= run.ending === 'Error' ? 'pod deleted: node shut down' : 'child "run" failed'
    return
  }
  const qn = run.parameters.connection_qualified_name ?? ''
  const connection = store.findByQualifiedName('Connection', qn)
  const key = store.apiKeys.find((k) => k.id === run.parameters.api_token_guid)
  if (connection === undefined || connection.status !== 'ACTIVE') {
    run.ending = 'Failed'
    run.message = `Connection ${qn} not found`
    return
  }
  if (key === undefined) {
    run.ending = 'Failed'
    run.message = `API token ${run.parameters.api_token_guid ?? ''} not found`
    return
  }
  const users = (connection.attributes.adminUsers as string[] | undefined) ?? []
  const username = `service-account-${key.clientId}`
  if (!users.includes(username)) {
    connection.attributes.adminUsers = [...users, username]
    connection.updateTime = store.now()
    store.reindex(connection.guid, connection)
  }
}

/** Applies the effect of every run whose time has come (called on every request). */
export function advanceRuns (store: AtlanStore): void {
  for (const run of store.runs) runPhase(store, run)
}

function startRun (ctx: RouteContext, template: WorkflowTemplate): WorkflowRun {
  const now = ctx.store.now()
  const parameters: Record<string, string> = {}
  for (const p of templateParameters(template)) parameters[p.name] = p.value
  const run: WorkflowRun = {
    name: `${template.metadata.name}-${randomBytes(3).toString('hex').slice(0, 5)}`,
    templateName: template.metadata.name,
    parameters,
    startedAt: now,
    runningAt: now + ctx.settings.workflowPendingMs,
    finishAt: now + ctx.settings.workflowPendingMs + ctx.settings.workflowRunMs,
    ending: ctx.faults.workflowEnding ?? 'Succeeded',
    applied: false
  }
  ctx.store.runs.push(run)
  return run
}

export function templateParameters (template: WorkflowTemplate): Array<{ name: string, value: string }> {
  const templates = (template.spec.templates as Array<{ dag?: { tasks?: Array<{ arguments?: { parameters?: unknown[] } }> } }> | undefined) ?? []
  const params = templates[0]?.dag?.tasks?.[0]?.arguments?.parameters ?? []
  return params.filter(isObject).map((p) => ({ name: String(p.name), value: String(p.value) }))
}

function packageOf (spec: Record<string, unknown>): string | undefined {
  const templates = spec.templates as Array<{ dag?: { tasks?: Array<{ templateRef?: { name?: string } }> } }> | undefined
  return templates?.[0]?.dag?.tasks?.[0]?.templateRef?.name
}

function runSource (store: AtlanStore, run: WorkflowRun): Record<string, unknown> {
  const phase = runPhase(store, run)
  const terminal = phase !== 'Pending' && phase !== 'Running'
  return {
    metadata: { name: run.name, namespace: 'default', creationTimestamp: new Date(run.startedAt).toISOString() },
    spec: { workflowTemplateRef: { name: run.templateName }, arguments: { parameters: Object.entries(run.parameters).map(([name, value]) => ({ name, value })) } },
    status: {
      phase,
      startedAt: new Date(run.startedAt).toISOString(),
      ...(terminal ? { finishedAt: new Date(run.finishAt).toISOString() } : {}),
      ...(terminal && run.message !== undefined ? { message: run.message } : {})
    }
  }
}

function dotted (source: unknown, path: string): unknown {
  let v: unknown = source
  for (const part of path.replace(/\.keyword$/, '').split('.')) v = isObject(v) ? v[part] : undefined
  return v
}

function hitMatches (source: unknown, clause: unknown): boolean {
  if (!isObject(clause)) return false
  const [kind, spec] = Object.entries(clause)[0] ?? []
  if (!isObject(spec)) return false
  const [field, raw] = Object.entries(spec)[0] ?? []
  if (field === undefined) return false
  const expected = isObject(raw) && 'value' in raw ? raw.value : raw
  const actual = dotted(source, field)
  if (kind === 'term') return actual === expected
  if (kind === 'terms') return Array.isArray(expected) && expected.includes(actual)
  if (kind === 'prefix') return typeof actual === 'string' && typeof expected === 'string' && actual.startsWith(expected)
  if (kind === 'bool') return boolHit(source, spec)
  return false
}

function boolHit (source: unknown, bool: Record<string, unknown>): boolean {
  const list = (v: unknown): unknown[] => v === undefined ? [] : Array.isArray(v) ? v : [v]
  return [...list(bool.filter), ...list(bool.must)].every((c) => hitMatches(source, c)) &&
    !list(bool.must_not).some((c) => hitMatches(source, c))
}

function search (ctx: RouteContext, sources: Array<{ id: string, source: Record<string, unknown>, sortKey: number }>): { status: number, body: unknown } {
  const body = requireObject(ctx.body)
  const query = isObject(body.query) ? body.query : {}
  const bool = isObject(query.bool) ? query.bool : {}
  const from = typeof body.from === 'number' ? body.from : 0
  const size = typeof body.size === 'number' ? body.size : 10
  const asc = JSON.stringify(body.sort ?? '').includes('"asc"')
  const hits = sources.filter((s) => boolHit(s.source, bool)).sort((a, b) => asc ? a.sortKey - b.sortKey : b.sortKey - a.sortKey)
  return {
    status: 200,
    body: { hits: { total: { value: hits.length, relation: 'eq' }, hits: hits.slice(from, from + size).map((h) => ({ _index: 'argo', _id: h.id, _source: h.source })) } }
  }
}

export const workflowRoutes: AtlanRoute[] = [
  {
    method: 'POST',
    path: '/api/service/workflows/indexsearch',
    handle: (ctx) => search(ctx, [...ctx.store.templates.values()].map((t) => ({ id: t.metadata.name, source: { metadata: t.metadata, spec: t.spec }, sortKey: t.created })))
  },
  {
    method: 'POST',
    path: '/api/service/runs/indexsearch',
    handle: (ctx) => search(ctx, ctx.store.runs.map((r) => ({ id: r.name, source: runSource(ctx.store, r), sortKey: r.startedAt })))
  },
  {
    method: 'POST',
    path: '/api/service/workflows/submit',
    handle: (ctx) => {
      const body = requireObject(ctx.body)
      if (body.resourceKind !== 'WorkflowTemplate') throw gatewayError(400, 'resourceKind must be WorkflowTemplate', 'ATLAN-WF-400')
      const template = ctx.store.templates.get(String(body.resourceName))
      if (template === undefined) throw gatewayError(404, `workflowtemplates.argoproj.io "${String(body.resourceName)}" not found`, 'ATLAN-WF-404')
      const run = startRun(ctx, template)
      return { status: 200, body: runSource(ctx.store, run) }
    }
  },
  {
    method: 'POST',
    path: '/api/service/workflows',
    handle: (ctx) => {
      const body = requireObject(ctx.body)
      const metadata = requireObject(body.metadata, 'metadata')
      const spec = requireObject(body.spec, 'spec')
      const name = metadata.name
      if (typeof name !== 'string' || name === '') throw gatewayError(400, 'metadata.name is required', 'ATLAN-WF-400')
      if (packageOf(spec) !== CONNECTION_ADMIN_PACKAGE) throw gatewayError(400, `unknown package ${String(packageOf(spec))}`, 'ATLAN-WF-400')
      if (ctx.store.templates.has(name)) throw gatewayError(409, `workflowtemplates.argoproj.io "${name}" already exists`, 'ATLAN-WF-409')
      const now = ctx.store.now()
      const template: WorkflowTemplate = {
        metadata: {
          name,
          namespace: String(metadata.namespace ?? 'default'),
          creationTimestamp: new Date(now).toISOString(),
          labels: isObject(metadata.labels) ? metadata.labels as Record<string, string> : {},
          annotations: isObject(metadata.annotations) ? metadata.annotations as Record<string, string> : {}
        },
        spec,
        created: now
      }
      ctx.store.templates.set(name, template)
      if (ctx.query.get('submit') !== 'true') return { status: 200, body: { metadata: template.metadata, spec } }
      const run = startRun(ctx, template)
      return { status: 200, body: runSource(ctx.store, run) }
    }
  }
]
