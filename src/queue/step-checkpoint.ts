/**
 * Where a component's work resumes, from a checkpoint written by this release or an earlier one. Steps are
 * known by their stable `name`, never by position, so a deploy that adds, removes or reorders steps does not
 * make a job in flight skip or repeat the wrong work: the next step is the first of the handler's current list
 * not yet done. The handler's `state` carries the `stateVersion` it was written with; a state this release
 * cannot read fails the component with a message, never a guess. Pure functions: the engine and the handler
 * test kit (test/helpers/handler-kit.ts) resume through the same code.
 */
import type { ComponentOperation, Handler, Step } from '../provisioner/handler.js'
import type { ComponentCheckpoint } from './task-types.js'

/** A checkpoint brought to this release's format: its fields are all present. */
export type ResumableCheckpoint = ComponentCheckpoint & { done: string[], stateVersion: number }

export type PreparedCheckpoint =
  | { ok: true, checkpoint: ResumableCheckpoint, notes: string[] }
  | { ok: false, message: string }

/** A fresh checkpoint: nothing done, the state version stamped when its first step starts. */
export function newCheckpoint (handlerId: string): ComponentCheckpoint {
  // `step: 0` is for a worker of the release before this one, should it take the job during a rolling update:
  // it reads only `step`, and starting over is safe because every step may run twice.
  return { handlerId, status: 'pending', done: [], step: 0, state: {}, retries: 0 }
}

export function stateVersionOf (handler: { stateVersion?: number }): number {
  return handler.stateVersion ?? 1
}

/**
 * Converts `cp` in place to this release's format and state version, or says why it cannot resume. Idempotent:
 * a checkpoint already converted comes back unchanged with no notes.
 */
export function prepareCheckpoint<S extends object> (
  cp: ComponentCheckpoint,
  handler: Pick<Handler<S>, 'id' | 'stateVersion' | 'migrateState' | 'legacyStepNames' | 'steps'>,
  operation: ComponentOperation
): PreparedCheckpoint {
  const notes: string[] = []
  const names = handler.steps(operation).map((s) => s.name)
  const twice = names.find((n, i) => names.indexOf(n) !== i)
  if (twice !== undefined) return { ok: false, message: `handler ${handler.id} lists the ${operation} step "${twice}" twice; step names must be unique (a bug in the handler)` }

  const done = Array.isArray(cp.done) ? cp.done.filter((n): n is string => typeof n === 'string') : []
  // A position written by the release before step names (or by such a worker during a rolling update).
  if (typeof cp.step === 'number' && cp.step > 0) {
    const legacy = handler.legacyStepNames?.[operation]
    if (legacy === undefined) {
      return {
        ok: false,
        message: `checkpointed by an earlier release at ${operation} step ${cp.step} (a position, not a name), and handler ${handler.id} ` +
          'does not declare that release\'s step names (legacyStepNames), so where to resume is unknown: submit the request again'
      }
    }
    if (!Number.isInteger(cp.step) || cp.step > legacy.length) {
      return { ok: false, message: `checkpointed by an earlier release at ${operation} step ${cp.step}, but that release had ${legacy.length} ${operation} steps: submit the request again` }
    }
    for (const name of legacy.slice(0, cp.step)) if (!done.includes(name)) done.push(name)
    cp.current = legacy[cp.step]
    notes.push(`resuming a checkpoint of an earlier release: steps ${legacy.slice(0, cp.step).join(', ') || 'none'} were done`)
  }
  cp.step = 0
  cp.done = done

  const version = stateVersionOf(handler)
  if (cp.stateVersion === undefined) {
    // Nothing has run yet: there is no state to interpret, whatever release wrote the checkpoint.
    const untouched = done.length === 0 && cp.current === undefined && Object.keys(cp.state ?? {}).length === 0
    // The release before versioned state wrote what is version 1 by definition.
    cp.stateVersion = untouched ? version : 1
  }
  cp.state ??= {}
  if (cp.stateVersion !== version) {
    const from = cp.stateVersion
    const cannot = `checkpointed by a release with ${handler.id} state version ${from}; this release has ${version} and cannot resume it: submit the request again`
    if (from > version || handler.migrateState === undefined) return { ok: false, message: cannot }
    let migrated: Record<string, unknown> | undefined
    try {
      migrated = handler.migrateState(from, cp.state, operation) as Record<string, unknown> | undefined
    } catch (err) {
      return { ok: false, message: `${cannot} (${err instanceof Error ? err.message : String(err)})` }
    }
    if (migrated === undefined) return { ok: false, message: cannot }
    cp.state = migrated
    cp.stateVersion = version
    notes.push(`${handler.id} state migrated from version ${from} to ${version}`)
  }

  if (cp.current !== undefined && !names.includes(cp.current)) {
    const next = nextStep(handler.steps(operation), cp as ResumableCheckpoint)
    notes.push(`step "${cp.current}" no longer exists in this release; continuing with ${next === undefined ? 'the outcome' : `"${next.name}"`}`)
    cp.current = undefined
    cp.retries = 0
  }
  return { ok: true, checkpoint: cp as ResumableCheckpoint, notes }
}

/** The step to run next: the first of the current list not done (a removed step is simply gone). */
export function nextStep<S extends object> (steps: ReadonlyArray<Step<S>>, cp: Pick<ResumableCheckpoint, 'done'>): Step<S> | undefined {
  return steps.find((s) => !cp.done.includes(s.name))
}
