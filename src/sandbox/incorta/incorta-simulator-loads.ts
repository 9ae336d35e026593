/**
 * The Incorta simulator's model: tenants with their schemas and load plans, schema load jobs and load-plan
 * executions, and the simulated clock that moves them In Queue -> In Progress -> a terminal state. Time is
 * counted in steps, not milliseconds, so tests need no sleeps: a step passes on every API request (by default),
 * on `advance()`, and optionally every `stepMs` of wall-clock time. Nothing here knows HTTP or body shapes.
 */

/** The load states as Incorta's UI names them; the wire spelling is chosen in incorta-simulator-bodies. */
export type LoadState = 'In Queue' | 'In Progress' | 'Succeeded' | 'Finished With Errors' | 'Failed' | 'Interrupted'
export type FailedState = 'Finished With Errors' | 'Failed' | 'Interrupted'
export type LoadSource = 'FULL' | 'INCREMENTAL' | 'STAGING'

/** How a load ends. Absent: `Succeeded`. */
export interface LoadOutcome { state: FailedState, message: string }

export interface SchemaRecord {
  id: number
  name: string
  description: string
  type: 'PHYSICAL' | 'BUSINESS'
  /** Newest last. */
  jobs: LoadJob[]
}

interface Timed {
  /** Step at which it was requested. */
  createdStep: number
  /** Wall-clock ms when it was requested: what Incorta reports as its start time. */
  createdAtMs: number
  /** Leaves the queue at this step. */
  startStep: number
  /** Terminal from this step on. */
  endStep: number
  outcome?: LoadOutcome
  /** Wall-clock ms when first seen terminal. */
  endedAtMs?: number
}

export interface LoadJob extends Timed {
  id: number
  schemaName: string
  loadSource: LoadSource
}

export interface LoadPlanRecord {
  name: string
  /** Groups of schemas, loaded in order. */
  groups: Array<{ name: string, schemaNames: string[] }>
}

export interface LoadPlanExecution extends Timed {
  id: number
  planName: string
  /** The failing schema, when the outcome is a failure. */
  failedSchema?: string
}

export interface TenantRecord {
  name: string
  schemas: Map<string, SchemaRecord>
  plans: Map<string, LoadPlanRecord>
  executions: Map<number, LoadPlanExecution>
}

export interface ClockSettings {
  /** A step passes on every authenticated API request. Default true. */
  stepPerRequest: boolean
  /** A step also passes every this many ms of wall-clock time; 0 never. Default 0. */
  stepMs: number
  /** Steps a load spends In Queue, and In Progress. Default 1 and 2. */
  queueSteps: number
  runSteps: number
}

export class SimulatedClock {
  #ticks = 0
  readonly #origin = Date.now()
  constructor (readonly settings: ClockSettings) {}

  get step (): number {
    const timed = this.settings.stepMs > 0 ? Math.floor((Date.now() - this.#origin) / this.settings.stepMs) : 0
    return this.#ticks + timed
  }

  advance (steps = 1): void { this.#ticks += steps }
}

export function stateAt (item: Timed, step: number): LoadState {
  if (step < item.startStep) return 'In Queue'
  if (step < item.endStep) return 'In Progress'
  item.endedAtMs ??= Date.now()
  return item.outcome?.state ?? 'Succeeded'
}

export function isTerminalState (state: LoadState): boolean {
  return state !== 'In Queue' && state !== 'In Progress'
}

export class IncortaModel {
  readonly tenants = new Map<string, TenantRecord>()
  /** Failures configured per schema (`tenant/schema`) or per plan (`tenant/plan:<name>`); absent: success. */
  readonly outcomes = new Map<string, LoadOutcome>()
  #nextId = 1000
  readonly clock: SimulatedClock

  constructor (clock: ClockSettings) {
    this.clock = new SimulatedClock(clock)
  }

  tenant (name: string): TenantRecord {
    let t = this.tenants.get(name)
    if (t === undefined) {
      t = { name, schemas: new Map(), plans: new Map(), executions: new Map() }
      this.tenants.set(name, t)
    }
    return t
  }

  addSchema (tenant: string, name: string, type: 'PHYSICAL' | 'BUSINESS' = 'PHYSICAL', description = ''): SchemaRecord {
    const schema: SchemaRecord = { id: this.#nextId++, name, description, type, jobs: [] }
    this.tenant(tenant).schemas.set(name, schema)
    return schema
  }

  addLoadPlan (tenant: string, name: string, schemaNames: string[]): LoadPlanRecord {
    const plan: LoadPlanRecord = { name, groups: [{ name: 'Group 1', schemaNames }] }
    this.tenant(tenant).plans.set(name, plan)
    return plan
  }

  /** Queues one load job; it waits behind a job of the same schema that has not ended. */
  startLoad (tenant: string, schema: SchemaRecord, loadSource: LoadSource): LoadJob {
    const now = this.clock.step
    const previous = schema.jobs.at(-1)
    const { queueSteps, runSteps } = this.clock.settings
    const startStep = Math.max(now + queueSteps, previous?.endStep ?? 0)
    const job: LoadJob = {
      id: this.#nextId++,
      schemaName: schema.name,
      loadSource,
      createdStep: now,
      createdAtMs: Date.now(),
      startStep,
      endStep: startStep + runSteps,
      outcome: this.outcomes.get(`${tenant}/${schema.name}`)
    }
    schema.jobs.push(job)
    // Incorta keeps a short history per schema.
    if (schema.jobs.length > 10) schema.jobs.shift()
    return job
  }

  /** The execution of that plan that has not ended, if any (Incorta runs one at a time per plan). */
  runningExecution (tenant: string, planName: string): LoadPlanExecution | undefined {
    const step = this.clock.step
    for (const e of this.tenant(tenant).executions.values()) {
      if (e.planName === planName && !isTerminalState(stateAt(e, step))) return e
    }
    return undefined
  }

  executePlan (tenant: string, plan: LoadPlanRecord): LoadPlanExecution {
    const now = this.clock.step
    const { queueSteps, runSteps } = this.clock.settings
    const schemas = plan.groups.flatMap((g) => g.schemaNames)
    const planOutcome = this.outcomes.get(`${tenant}/plan:${plan.name}`)
    const failedSchema = schemas.find((s) => this.outcomes.has(`${tenant}/${s}`))
    const outcome = planOutcome ?? (failedSchema === undefined ? undefined : this.outcomes.get(`${tenant}/${failedSchema}`))
    const execution: LoadPlanExecution = {
      id: this.#nextId++,
      planName: plan.name,
      createdStep: now,
      createdAtMs: Date.now(),
      startStep: now + queueSteps,
      endStep: now + queueSteps + runSteps,
      outcome,
      failedSchema: outcome === undefined ? undefined : (failedSchema ?? schemas[0])
    }
    this.tenant(tenant).executions.set(execution.id, execution)
    return execution
  }

  /** Every load job of every schema, for inspection. */
  allJobs (tenant: string): LoadJob[] {
    return [...this.tenant(tenant).schemas.values()].flatMap((s) => s.jobs)
  }
}
