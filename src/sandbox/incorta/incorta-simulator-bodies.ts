/**
 * Every body shape the Incorta simulator answers with, in one place, so they are easy to correct when a real
 * cluster is seen. Incorta documents `/schema/list` and the error body; the bodies of `/schema/load`,
 * `/schema/{name}/status` and `/load-plan/status/{id}` are not publicly documented, so the simulator serves two
 * differently shaped variants of each (and both spellings of the state words) and the client must read them all
 * (src/provisioner/incorta/incorta-status.ts is its one parser).
 */
import {
  stateAt, type LoadJob, type LoadPlanExecution, type LoadPlanRecord, type LoadState, type SchemaRecord
} from './incorta-simulator-loads.js'

/**
 * `jobs`: a list of load jobs with epoch-ms times and a `status` key.
 * `last-load`: the latest job under `lastLoadStatus`, times as `yyyy-MM-dd HH:mm:ss.SSS` strings (UTC),
 * the state under `loadJobStatus`, older jobs under `loadHistory`.
 */
export type BodyVariant = 'jobs' | 'last-load'
/** `title`: `Finished With Errors`; `upper`: `FINISHED_WITH_ERRORS`. */
export type StateSpelling = 'title' | 'upper'

export interface BodyStyle { variant: BodyVariant, spelling: StateSpelling }

export function spell (state: LoadState, spelling: StateSpelling): string {
  return spelling === 'title' ? state : state.toUpperCase().replace(/ /g, '_')
}

function sqlTime (ms: number | undefined): string | null {
  return ms === undefined ? null : new Date(ms).toISOString().replace('T', ' ').replace('Z', '')
}

export function schemaListBody (page: SchemaRecord[], total: number): unknown {
  return {
    schemasDetails: page.map((s) => ({ schemaID: s.id, schemaName: s.name, schemaDescription: s.description, schemaType: s.type })),
    total
  }
}

export function loadAcceptedBody (jobs: LoadJob[], step: number, style: BodyStyle): unknown {
  return { loadingStatus: Object.fromEntries(jobs.map((j) => [j.schemaName, spell(stateAt(j, step), style.spelling)])) }
}

function jobView (job: LoadJob, step: number, style: BodyStyle): Record<string, unknown> {
  const state = spell(stateAt(job, step), style.spelling)
  const message = job.outcome !== undefined && stateAt(job, step) === job.outcome.state ? job.outcome.message : undefined
  if (style.variant === 'jobs') {
    return { jobId: job.id, status: state, loadType: job.loadSource, startTime: job.createdAtMs, endTime: job.endedAtMs ?? null, message: message ?? '' }
  }
  return {
    loadJobId: String(job.id),
    loadJobStatus: state,
    loadSource: job.loadSource,
    loadStartTime: sqlTime(job.createdAtMs),
    loadEndTime: sqlTime(job.endedAtMs),
    ...(message === undefined ? {} : { errorMessage: message })
  }
}

export function schemaStatusBody (schema: SchemaRecord, step: number, style: BodyStyle): unknown {
  const views = schema.jobs.map((j) => jobView(j, step, style))
  if (style.variant === 'jobs') {
    return {
      schemaName: schema.name,
      schemaType: schema.type,
      physicalSchemaDetails: { schemaID: schema.id, tablesCount: 3, loadJobs: [...views].reverse() }
    }
  }
  return {
    schema: { id: schema.id, name: schema.name, description: schema.description },
    physicalSchemaDetails: {
      dataSize: 1024,
      ...(views.length === 0 ? {} : { lastLoadStatus: views.at(-1) }),
      loadHistory: views.slice(0, -1)
    }
  }
}

export function loadPlanStatusBody (plan: LoadPlanRecord, execution: LoadPlanExecution, step: number, level: number, style: BodyStyle): unknown {
  const state = stateAt(execution, step)
  const failed = execution.outcome !== undefined && state === execution.outcome.state
  const schemaState = (name: string): { state: string, message?: string } => {
    if (failed && name === execution.failedSchema) return { state: spell(state, style.spelling), message: execution.outcome?.message }
    // A failed plan still reports the schemas before the failure as loaded.
    return { state: spell(failed ? 'Succeeded' : state, style.spelling) }
  }
  if (style.variant === 'jobs') {
    const body: Record<string, unknown> = {
      loadPlanExecutionId: execution.id,
      loadPlanName: plan.name,
      status: spell(state, style.spelling),
      startTime: execution.createdAtMs,
      endTime: execution.endedAtMs ?? null
    }
    if (failed) body.message = `Load plan ${plan.name} ${state.toLowerCase()}`
    if (level >= 2) {
      body.groups = plan.groups.map((g) => ({
        groupName: g.name,
        status: spell(state, style.spelling),
        ...(level >= 3 ? { schemas: g.schemaNames.map((s) => ({ schemaName: s, ...renameMessage(schemaState(s), 'status', 'message') })) } : {})
      }))
    }
    return body
  }
  const body: Record<string, unknown> = {
    execution: {
      id: String(execution.id),
      planName: plan.name,
      executionStatus: spell(state, style.spelling),
      startedAt: new Date(execution.createdAtMs).toISOString(),
      finishedAt: execution.endedAtMs === undefined ? null : new Date(execution.endedAtMs).toISOString()
    }
  }
  if (level >= 2) {
    body.details = {
      loadGroups: plan.groups.map((g) => ({
        name: g.name,
        groupStatus: spell(state, style.spelling),
        ...(level >= 3 ? { schemaLoads: g.schemaNames.map((s) => ({ schema: s, ...renameMessage(schemaState(s), 'loadStatus', 'errorMessage') })) } : {})
      }))
    }
  }
  return body
}

function renameMessage (s: { state: string, message?: string }, stateKey: string, messageKey: string): Record<string, unknown> {
  return s.message === undefined ? { [stateKey]: s.state } : { [stateKey]: s.state, [messageKey]: s.message }
}

/** Incorta's error body: `{message: "INC_<digits>: ..."}`. */
export function errorBody (code: string, message: string): { message: string } {
  return { message: `${code}: ${message}` }
}

/** The codes the simulator uses. Only INC_05290501 is confirmed from a real cluster; the others are stand-ins. */
export const INC = {
  planAlreadyRunning: 'INC_05290501',
  planNotFound: 'INC_05290404',
  schemaNotFound: 'INC_03010404',
  notLoadable: 'INC_03010400',
  badRequest: 'INC_00000400',
  unauthorized: 'INC_00000401',
  forbidden: 'INC_00000403',
  tenantNotFound: 'INC_00010404',
  internal: 'INC_00000500',
  executionNotFound: 'INC_05290405'
} as const

export const PLAN_ALREADY_RUNNING = 'A load job cannot be started as another job of the same load plan is being executed.'
