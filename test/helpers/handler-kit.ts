/**
 * A test kit for any handler (Airbyte, Incorta, Atlan): drives its steps the way the task engine does, without
 * BullMQ or Redis. The checkpoint is the engine's own (`ComponentCheckpoint`), round-tripped through JSON after
 * every step as job data is, and resumed through the engine's own logic (src/queue/step-checkpoint.ts), so a
 * checkpoint written here resumes exactly as a real job would. A step returning `{ waitMs }` runs again after a
 * shortened wait. `killAndResumeAtEveryStep` proves each step safe to run twice: it cuts the run inside every
 * step (after the step's effects upstream, before its checkpoint) and resumes from the checkpoint before it.
 * Handler tests: test/provisioner/airbyte/airbyte-handler.test.ts; resume across releases: test/queue/checkpoint-resume.test.ts.
 */
import { randomUUID } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Component, DataProduct } from '../../src/descriptor/types.js'
import type { ComponentInfo, ComponentOperation, Handler, ResourceLedger, SecretResolver, StepContext } from '../../src/provisioner/handler.js'
import { MemoryResourceLedgers } from '../../src/queue/resource-ledger.js'
import { newCheckpoint, nextStep, prepareCheckpoint } from '../../src/queue/step-checkpoint.js'
import type { ComponentCheckpoint } from '../../src/queue/task-types.js'

export interface KitLog { level: 'DEBUG' | 'INFO' | 'WARNING' | 'ERROR', phase: string, message: string }

export interface KitOptions {
  operation: ComponentOperation
  component: Component
  dataProduct?: DataProduct
  removeData?: boolean
  refs?: string[]
  /** The info of the components this one depends on, as the engine hands it to every step. Default none. */
  dependencies?: Record<string, ComponentInfo>
  /** Default: references are left as they are. */
  secrets?: SecretResolver
  /** A `{ waitMs }` is waited at most this long, ms. Default 50. */
  maxWaitMs?: number
  /**
   * The component's durable resource record, as the engine hands it to every step (e.g. RedisResourceLedgers).
   * Default: one in memory per options object, so runs with the same options (a kill and its resume) share it.
   */
  ledger?: ResourceLedger
}

export interface KitControl {
  /** Resume from this checkpoint (any release's format) instead of a fresh one. */
  from?: ComponentCheckpoint
  /** Stop once this many steps have finished and been checkpointed (a worker stopped between steps). */
  stopAfterSteps?: number
  /** Stop at the first `{ waitMs }`, once it is checkpointed (the job parked in BullMQ's delayed set). */
  stopAtWait?: boolean
  /**
   * Kill inside the step with this index in the current list: it runs to the end, but its checkpoint is never
   * written, so the run ends with the checkpoint from before it (a worker killed before the write landed).
   */
  killInside?: number
}

export interface KitRun<S> {
  /** The last checkpoint written (what a resumed worker would read). */
  checkpoint: ComponentCheckpoint
  /** Every checkpoint written, in order (JSON copies). */
  checkpoints: ComponentCheckpoint[]
  /** The handler's state in the last checkpoint. */
  state: S
  /** Step names in the order they ran, a waiting step once per run. */
  ran: string[]
  waits: number[]
  logs: KitLog[]
  /** The notes the engine logs when it converts a checkpoint (earlier release, migrated state, removed step). */
  notes: string[]
  /** Set when every step is done. */
  outcome?: { result: string, info?: ComponentInfo }
  /** Set when the engine would fail the component instead of resuming (checkpoint it cannot read). */
  refused?: string
}

const clone = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T

const DATA_PRODUCT: DataProduct = { id: 'urn:dmb:dp:kit:kit:0', components: [] }
const memoryLedgers = new MemoryResourceLedgers()
const defaultLedgers = new WeakMap<KitOptions, ResourceLedger>()

function ledgerOf (opts: KitOptions): ResourceLedger {
  if (opts.ledger !== undefined) return opts.ledger
  let ledger = defaultLedgers.get(opts)
  if (ledger === undefined) {
    ledger = memoryLedgers.for('kit', randomUUID())
    defaultLedgers.set(opts, ledger)
  }
  return ledger
}

/** A StepContext as the engine builds one, with the task log captured in `logs`. */
export function fakeStepContext<S extends object> (opts: KitOptions, state: S, phase: string, logs: KitLog[]): StepContext<S> {
  const push = (level: KitLog['level']) => (message: string): void => { logs.push({ level, phase, message }) }
  return {
    operation: opts.operation,
    component: opts.component,
    dataProduct: opts.dataProduct ?? DATA_PRODUCT,
    removeData: opts.removeData ?? false,
    refs: opts.refs ?? [],
    state,
    log: { debug: push('DEBUG'), info: push('INFO'), warn: push('WARNING'), error: push('ERROR') },
    secrets: opts.secrets ?? { resolve: async <T>(value: T): Promise<T> => value },
    signal: new AbortController().signal,
    dependencies: opts.dependencies ?? {},
    ledger: ledgerOf(opts)
  }
}

/** Runs a handler's steps from a fresh checkpoint, or from `control.from`, to the end or to a kill point. */
export async function runSteps<S extends object> (handler: Handler<S>, opts: KitOptions, control: KitControl = {}): Promise<KitRun<S>> {
  const logs: KitLog[] = []
  const waits: number[] = []
  const ran: string[] = []
  const checkpoints: ComponentCheckpoint[] = []
  const cp = clone(control.from ?? newCheckpoint(handler.id))
  let written = clone(cp)
  const result = (extra: Partial<KitRun<S>> = {}): KitRun<S> => ({
    checkpoint: written, checkpoints, state: written.state as S, ran, waits, logs, notes, ...extra
  })
  const prepared = prepareCheckpoint(cp, handler, opts.operation)
  const notes = prepared.ok ? prepared.notes : []
  if (!prepared.ok) return result({ refused: prepared.message })
  const resumable = prepared.checkpoint
  const persist = (): void => { written = clone(resumable); checkpoints.push(clone(resumable)) }
  const steps = handler.steps(opts.operation)
  let finished = 0
  for (let step = nextStep(steps, resumable); step !== undefined; step = nextStep(steps, resumable)) {
    if (control.stopAfterSteps !== undefined && finished >= control.stopAfterSteps) return result()
    if (resumable.current !== step.name) { resumable.current = step.name; resumable.retries = 0 }
    const ctx = fakeStepContext(opts, clone(resumable.state) as S, step.name, logs)
    ran.push(step.name)
    const outcome = await step.run(ctx)
    resumable.state = clone(ctx.state) as Record<string, unknown>
    if (outcome !== undefined) {
      if (control.killInside === steps.indexOf(step)) return result()
      persist()
      waits.push(outcome.waitMs)
      if (control.stopAtWait === true) return result()
      await sleep(Math.min(outcome.waitMs, opts.maxWaitMs ?? 50))
      continue
    }
    if (control.killInside === steps.indexOf(step)) return result()
    resumable.done.push(step.name)
    resumable.current = undefined
    resumable.retries = 0
    persist()
    finished++
  }
  const ctx = fakeStepContext(opts, clone(resumable.state) as S, 'outcome', logs)
  return result({ outcome: handler.outcome(ctx) })
}

export interface KillRound<S> {
  /** The step the first run was killed inside. */
  killedIn: string
  /** The first run, cut inside `killedIn`. */
  killed: KitRun<S>
  /** The run resumed from the killed run's last checkpoint, to the end. */
  resumed: KitRun<S>
}

/**
 * For every step of the operation: a fresh handler and target from `make` (called once per round), a run killed
 * inside that step, a run resumed from its last checkpoint, both handed to `check`. Every step thereby runs
 * twice against the same target. Returns the number of rounds.
 */
export async function killAndResumeAtEveryStep<S extends object> (
  make: () => Promise<{ handler: Handler<S>, opts: KitOptions }>,
  check: (round: KillRound<S>) => Promise<void> | void
): Promise<number> {
  const first = await make()
  const names = first.handler.steps(first.opts.operation).map((s) => s.name)
  for (let i = 0; i < names.length; i++) {
    const { handler, opts } = i === 0 ? first : await make()
    const killed = await runSteps(handler, opts, { killInside: i })
    const resumed = await runSteps(handler, opts, { from: killed.checkpoint })
    await check({ killedIn: names[i] ?? String(i), killed, resumed })
  }
  return names.length
}
