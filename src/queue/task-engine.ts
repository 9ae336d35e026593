/**
 * The worker's processor: advances a task's components through their handlers' steps, checkpointing after
 * every step in the job's data. A step that must wait (a sync running, a transient upstream error, another task
 * on the same component) parks the whole job in BullMQ's delayed set and frees the worker slot; the next run
 * resumes from the checkpoint. Components of one dependency level run in parallel; unprovisioning walks the
 * levels backwards, so a component is removed only after everything that depends on it. Steps are resumed by
 * name (step-checkpoint.ts), so a job survives a deploy that changed the handler's steps.
 */
import { setMaxListeners } from 'node:events'
import { DelayedError, type Job } from 'bullmq'
import type { Logger } from 'pino'
import { AdapterError, PermanentUpstreamError, TransientUpstreamError } from '../errors.js'
import type { Component } from '../descriptor/types.js'
import type { ComponentInfo, ComponentOperation, ResourceLedger, StepContext } from '../provisioner/handler.js'
import type { HandlerRegistry } from '../provisioner/handler-registry.js'
import type { SecretStore } from '../secrets/secret-store.js'
import type { ComponentLock } from './component-lock.js'
import type { ProvisionedRegistry } from './provisioned-registry.js'
import { componentById } from './component-index.js'
import { TaskRunContext } from './task-run-context.js'
import type { TaskStore } from './task-store.js'
import type { ComponentCheckpoint, ComponentTaskData, ReverseTaskData, TaskJobData } from './task-types.js'
import { summariseOutcome } from './task-outcome.js'
import { nextStep, prepareCheckpoint, type ResumableCheckpoint } from './step-checkpoint.js'
import { MemoryResourceLedgers } from './resource-ledger.js'
import { describeCalls, observeCalls, withCallTally } from '../observability/call-tally.js'
import { setWaitingForget, taskWaiting } from '../observability/metrics.js'
import type { TaskEnd, TaskObserver } from '../observability/task-audit.js'
import { inSpan } from '../observability/tracing.js'

export interface EngineOptions {
  /** Transient failures of one step before the task fails. */
  stepRetries: number
  /** First retry delay of a failed step, ms (doubles, with jitter). */
  stepRetryBaseMs: number
  stepRetryMaxMs: number
  /** Re-check interval while another task holds a component, ms. */
  componentLockPollMs: number
}

export interface EngineDeps {
  store: TaskStore
  lock: ComponentLock
  registry: HandlerRegistry
  secrets: SecretStore
  logger: Logger
  options: EngineOptions
  /** Records which components this adapter provisioned (read by updateacl). */
  provisioned?: ProvisionedRegistry
  /** The durable record of what each component owns upstream. Default: in memory (this process only). */
  ledgers?: { for: (handlerId: string, componentId: string) => ResourceLedger }
  /** Counts and audits every task that ends. */
  observer?: TaskObserver
}

type Advance = { kind: 'done' } | { kind: 'failed', message: string } | { kind: 'wait', ms: number }

export class TaskEngine {
  private readonly shutdown = new AbortController()
  private draining = false
  private readonly ledgers: NonNullable<EngineDeps['ledgers']>

  constructor (private readonly deps: EngineDeps) {
    this.ledgers = deps.ledgers ?? new MemoryResourceLedgers()
    // Every in-flight call of every job listens on this one signal.
    setMaxListeners(0, this.shutdown.signal)
    setWaitingForget(deps.options.componentLockPollMs)
  }

  /** The task ended (here, or in the worker when a job failed outside its steps). */
  ended (job: Job<TaskJobData>, outcome: TaskEnd): void {
    taskWaiting(job.data.token, false)
    this.deps.observer?.finished(job.data, outcome, job.timestamp)
  }

  /** Stop starting steps: running ones finish, then their jobs checkpoint and go back to the queue. */
  stop (): void { this.draining = true }

  /** The grace period is over: abort in-flight calls; their steps re-run on another worker. */
  abortInFlight (): void { this.draining = true; this.shutdown.abort() }

  get stopping (): boolean { return this.draining }

  async process (job: Job<TaskJobData>, lockToken?: string): Promise<string> {
    const run = new TaskRunContext(job.data.token, this.deps.store, this.deps.secrets,
      this.deps.logger.child({ task: job.data.token, kind: job.data.kind, reqId: job.data.requestId, caller: job.data.caller }),
      job.data.kind === 'reverse' ? undefined : job.data.dataProduct)
    const data = job.data
    if (data.kind === 'reverse') {
      const result = await this.reverse(data, run)
      this.ended(job, result === 'failed' ? 'failed' : 'completed')
      return result
    }
    const outcome = data.kind === 'validate' ? await this.validate(data, run) : await this.components(job as Job<ComponentTaskData>, run)
    if (outcome.kind === 'wait') {
      await run.flush()
      await job.moveToDelayed(Date.now() + outcome.ms, lockToken)
      throw new DelayedError()
    }
    this.ended(job, outcome.kind === 'failed' ? 'failed' : 'completed')
    return outcome.kind
  }

  private async components (job: Job<ComponentTaskData>, run: TaskRunContext): Promise<Advance> {
    const data = job.data
    // Checkpoints live beside the job, one field per component: a step writes what changed, not the whole task.
    Object.assign(data.checkpoint, await this.deps.store.checkpoints(data.token))
    const chains = new Map<string, Promise<void>>()
    // A component's writes are chained so its last checkpoint always wins; components write side by side.
    const persistFor = (id: string) => async (): Promise<void> => {
      const next = (chains.get(id) ?? Promise.resolve()).then(async () => {
        const cp = data.checkpoint[id]
        if (cp === undefined) return await run.flush()
        // Only what targets returned is masked: the engine's own fields (handler id, step names) are never secret,
        // and a handler id that happens to equal a known value must still name its handler on resume.
        const { state, result, info } = run.storable({ checkpoint: { state: cp.state, result: cp.result, info: cp.info } }).checkpoint
        const stored: ComponentCheckpoint = { ...cp, state, ...(result === undefined ? {} : { result }), ...(info === undefined ? {} : { info }) }
        await run.flushWith(async (logs) => { await this.deps.store.saveCheckpoint(data.token, id, stored, logs) })
      })
      chains.set(id, next.catch(() => {}))
      await next
    }
    for (const level of executionOrder(data)) {
      const pending = level.filter(id => data.checkpoint[id]?.status === 'pending')
      const results = await Promise.all(pending.map(async id => await this.advance(id, data, run, persistFor(id))))
      const failed = level.filter(id => data.checkpoint[id]?.status === 'failed')
      if (failed.length > 0) {
        const message = results.find((r): r is Extract<Advance, { kind: 'failed' }> => r.kind === 'failed')?.message ??
          data.checkpoint[failed[0] ?? '']?.result ?? 'failed'
        await this.finish(data, run, 'FAILED', message)
        return { kind: 'failed', message }
      }
      const waits = results.filter((r): r is Extract<Advance, { kind: 'wait' }> => r.kind === 'wait')
      if (waits.length > 0) return { kind: 'wait', ms: Math.min(...waits.map(w => w.ms)) }
    }
    const summary = summariseOutcome(data)
    await this.finish(data, run, 'COMPLETED', summary.result, summary.info)
    return { kind: 'done' }
  }

  private async advance (id: string, data: ComponentTaskData, run: TaskRunContext, persist: () => Promise<void>): Promise<Advance> {
    const cp = data.checkpoint[id] as ComponentCheckpoint
    const component = componentById(data.dataProduct, id)?.component
    if (component === undefined) return await this.failComponent(id, cp, data, run, `component ${id} is not in the descriptor`)
    const turn = await this.deps.lock.turn(id, data.token)
    taskWaiting(data.token, !turn.mine)
    if (!turn.mine) {
      if (cp.waitingFor !== turn.holder) {
        cp.waitingFor = turn.holder
        run.write('INFO', `waiting: task ${turn.holder} is still working on component ${id}`, 'queue')
        await persist()
      }
      return { kind: 'wait', ms: this.deps.options.componentLockPollMs }
    }
    const handler = this.deps.registry.get(cp.handlerId)
    const operation = data.kind as ComponentOperation
    const label = component.name ?? id
    const prepared = prepareCheckpoint(cp, handler, operation)
    if (!prepared.ok) return await this.failComponent(id, cp, data, run, `${label}: ${prepared.message}`, persist)
    for (const note of prepared.notes) run.write('INFO', note, label)
    const resumable: ResumableCheckpoint = prepared.checkpoint
    // Kept in the checkpoint, so a run that waits (a sync) or resumes after a crash counts all its calls.
    const calls = cp.calls ??= {}
    const steps = handler.steps(operation)
    for (let step = nextStep(steps, resumable); step !== undefined; step = nextStep(steps, resumable)) {
      if (this.stopping) return { kind: 'wait', ms: 0 }
      if (resumable.current !== step.name) {
        resumable.current = step.name
        resumable.retries = 0
      }
      const ctx = this.stepContext(data, cp, component, run, `${label}: ${step.name}`)
      try {
        const outcome = await inSpan(`step ${step.name}`, {
          'tech_adapter.operation': operation, 'tech_adapter.handler': cp.handlerId, 'tech_adapter.step': step.name, 'tech_adapter.component': id
        }, async (span) => {
          const result = await withCallTally(calls, async () => await step.run(ctx))
          if (result !== undefined) span?.setAttribute('tech_adapter.wait_ms', result.waitMs)
          return result
        })
        cp.state = ctx.state
        if (outcome !== undefined) {
          await persist()
          return { kind: 'wait', ms: Math.max(0, outcome.waitMs) }
        }
        resumable.done.push(step.name)
        resumable.current = undefined
        resumable.retries = 0
        await persist()
      } catch (err) {
        // Aborted by shutdown, not failed: the step is safe to repeat, so hand the job back as it was.
        if (this.shutdown.signal.aborted) return { kind: 'wait', ms: 0 }
        if (err instanceof TransientUpstreamError && cp.retries < this.deps.options.stepRetries) {
          cp.retries++
          const ms = this.backoff(cp.retries, err.retryAfterMs)
          run.write('WARNING', `${err.message}; retry ${cp.retries}/${this.deps.options.stepRetries} in ${Math.round(ms / 100) / 10} s`, `${label}: ${step.name}`)
          await persist()
          return { kind: 'wait', ms }
        }
        return await this.failComponent(id, cp, data, run, this.describe(err, `${label}: ${step.name}`), persist)
      }
    }
    await this.deps.provisioned?.componentFinished(data.kind, id, cp.handlerId, data.token)
    const outcome = handler.outcome(this.stepContext(data, cp, component, run, label))
    cp.status = 'done'
    cp.result = run.redact(outcome.result)
    if (outcome.info !== undefined) cp.info = run.redactDeep(outcome.info)
    run.write('INFO', `${data.kind} of ${label} finished: ${cp.result}`, label)
    this.callsEnded(data, cp, run, label, 'completed')
    await persist()
    await this.deps.lock.release([id], data.token)
    return { kind: 'done' }
  }

  private stepContext (data: ComponentTaskData, cp: ComponentCheckpoint, component: Component, run: TaskRunContext, phase: string): StepContext<Record<string, unknown>> {
    return {
      operation: data.kind as ComponentOperation,
      component,
      dataProduct: data.dataProduct,
      removeData: data.removeData,
      refs: data.refs,
      state: cp.state,
      log: run.taskLog(phase),
      secrets: run.secrets,
      signal: this.shutdown.signal,
      dependencies: dependencyInfo(data, component),
      ledger: this.ledgers.for(cp.handlerId, component.id)
    }
  }

  private async failComponent (id: string, cp: ComponentCheckpoint, data: ComponentTaskData, run: TaskRunContext,
    message: string, persist?: () => Promise<void>): Promise<Advance> {
    cp.status = 'failed'
    cp.result = run.redact(message)
    run.write('ERROR', cp.result, id)
    this.callsEnded(data, cp, run, id, 'failed')
    await persist?.()
    await this.deps.lock.release([id], data.token)
    return { kind: 'failed', message: cp.result }
  }

  /** The run's call counts, in the task log (DEBUG) and the per-component histogram. */
  private callsEnded (data: ComponentTaskData, cp: ComponentCheckpoint, run: TaskRunContext, phase: string, outcome: 'completed' | 'failed'): void {
    const calls = cp.calls ?? {}
    run.write('DEBUG', `${data.kind} of ${phase}: ${describeCalls(calls)}`, phase)
    observeCalls(data.kind, cp.handlerId, outcome, calls)
  }

  private describe (err: unknown, where: string): string {
    if (err instanceof AdapterError) return `${where}: ${err.message}`
    // A bug or an unexpected library error: keep internals in the service log, not in the task.
    this.deps.logger.error({ err, where }, 'unexpected error in a task step')
    return `${where}: internal error (${err instanceof Error ? err.name : 'unknown'}); the service log has the details`
  }

  private backoff (attempt: number, retryAfterMs?: number): number {
    const { stepRetryBaseMs, stepRetryMaxMs } = this.deps.options
    const exp = Math.min(stepRetryMaxMs, stepRetryBaseMs * 2 ** (attempt - 1))
    const jittered = exp / 2 + Math.random() * exp / 2
    return Math.min(stepRetryMaxMs, Math.max(jittered, retryAfterMs ?? 0))
  }

  private async finish (data: ComponentTaskData, run: TaskRunContext, status: 'COMPLETED' | 'FAILED', result: string, info?: ComponentInfo): Promise<void> {
    await this.deps.lock.release(Object.keys(data.checkpoint), data.token)
    await this.record(data, run, { status, result: run.redact(result), info })
  }

  /** The terminal state, with the logs still buffered written in the same transaction; frees the dedupe entry. */
  private async record (data: { token: string, dedupeKey?: string }, run: TaskRunContext, outcome: Parameters<TaskStore['finish']>[1]): Promise<void> {
    await this.deps.store.finish(data.token, outcome, run.drain())
    if (data.dedupeKey !== undefined) await this.deps.store.releaseDedupe(data.dedupeKey, data.token)
  }

  private async validate (data: ComponentTaskData, run: TaskRunContext): Promise<Advance> {
    const errors = [...(data.problems ?? [])]
    if (errors.length === 0) {
      const ids = data.levels.flat()
      const checks = await Promise.all(ids.map(async id => {
        const found = componentById(data.dataProduct, id)
        const cp = data.checkpoint[id]
        if (found === undefined || cp === undefined) return []
        const { component, index } = found
        const base = `${data.pathPrefix ?? ''}components.${index}.specific`
        try {
          const check = await inSpan('check upstream', { 'tech_adapter.handler': cp.handlerId, 'tech_adapter.component': id }, async () =>
            await this.deps.registry.get(cp.handlerId).checkUpstream({
              component, dataProduct: data.dataProduct, log: run.taskLog(component.name ?? id), secrets: run.secrets, signal: this.shutdown.signal
            }))
          for (const warning of check.warnings) run.write('WARNING', warning, component.name ?? id)
          return check.problems.map(p => `${p.path === '' ? base : `${base}.${p.path}`}: ${p.message}`)
        } catch (err) {
          run.write('WARNING', `could not check ${component.name ?? id} against the target: ${this.describe(err, 'validate')}`, component.name ?? id)
          return []
        }
      }))
      errors.push(...checks.flat())
    }
    const validation = errors.length === 0 ? { valid: true } : { valid: false, error: { errors: errors.map(e => run.redact(e)) } }
    await this.record(data, run, { status: 'COMPLETED', result: validation.valid ? 'valid' : 'invalid', validation })
    return { kind: 'done' }
  }

  private async reverse (data: ReverseTaskData, run: TaskRunContext): Promise<string> {
    const handler = this.deps.registry.get(data.handlerId)
    try {
      const { updates } = await inSpan('reverse provisioning', { 'tech_adapter.handler': data.handlerId }, async () => await handler.reverseProvision({
        useCaseTemplateId: data.useCaseTemplateId,
        environment: data.environment,
        params: data.params,
        catalogInfo: data.catalogInfo,
        log: run.taskLog('reverse-provisioning'),
        signal: this.shutdown.signal
      }))
      await this.record(data, run, { status: 'COMPLETED', result: 'OK', updates: run.reverseUpdates(updates, data) })
      return 'done'
    } catch (err) {
      const message = err instanceof PermanentUpstreamError || err instanceof AdapterError
        ? err.message
        : this.describe(err, 'reverse provisioning')
      run.write('ERROR', message, 'reverse-provisioning')
      await this.record(data, run, { status: 'FAILED', result: run.redact(message), updates: {} })
      return 'failed'
    }
  }
}

/**
 * The order levels run in. `levels` holds dependency levels in provision order (what a component depends on
 * comes first). Unprovisioning reverses it: dependents go first, so nothing is deleted while a component that
 * uses it still exists, and a failure stops before what the failed component depends on. updateacl keeps the
 * provision order (an ACL on a dependency granted first is never wrong); validate reads only, all at once.
 * Decided here, at run time, so jobs queued by an earlier release run in the right order too.
 */
export function executionOrder (data: Pick<ComponentTaskData, 'kind' | 'levels'>): string[][] {
  return data.kind === 'unprovision' ? [...data.levels].reverse() : data.levels
}

/**
 * The info of the components `component` depends on that this task already completed (the checkpoint holds it
 * redacted), so a step can use what an earlier level produced.
 */
function dependencyInfo (data: ComponentTaskData, component: Component): Record<string, ComponentInfo> {
  const out: Record<string, ComponentInfo> = {}
  for (const id of component.dependsOn ?? []) {
    const cp = data.checkpoint[id]
    if (cp?.status === 'done' && cp.info !== undefined) out[id] = cp.info
  }
  return out
}
