/**
 * What operators see of every task's life, at the two ends the queue layer reports: one audit line (pino,
 * `audit: true`) and the task counters on submission, one audit line plus the finished counter and the
 * duration histogram at the end. Who (the caller identity recorded with the task), what (operation, data
 * product, components), how it ended. Never a descriptor, a result text or a secret.
 */
import type { LogFn } from 'pino'
import type { TaskJobData } from '../queue/task-types.js'
import { taskDuration, tasksFinished, tasksSubmitted } from './metrics.js'

export type TaskEnd = 'completed' | 'failed'

/** The `handler` label: the task's handler module ids, sorted and joined (`airbyte`, `airbyte+atlan`), `none` for none. */
export function handlerLabel (data: TaskJobData): string {
  if (data.kind === 'reverse') return data.handlerId
  const ids = [...new Set(Object.values(data.checkpoint).map((cp) => cp.handlerId))].sort()
  return ids.length === 0 ? 'none' : ids.join('+')
}

function subject (data: TaskJobData): Record<string, unknown> {
  if (data.kind === 'reverse') return { useCaseTemplateId: data.useCaseTemplateId, environment: data.environment }
  return { dataProduct: data.dataProduct.id === '' ? undefined : data.dataProduct.id, components: Object.keys(data.checkpoint) }
}

/** The part of a pino (or Fastify) logger the audit needs. */
export interface AuditLogger { child: (bindings: Record<string, unknown>) => { info: LogFn } }

export class TaskObserver {
  private readonly audit: { info: LogFn } | undefined

  constructor (logger?: AuditLogger) {
    this.audit = logger?.child({ audit: true })
  }

  /** A submission answered with `token`; `created` false when an identical task in flight was returned. */
  submitted (data: TaskJobData, token: string, created: boolean): void {
    if (created) tasksSubmitted.inc({ operation: data.kind, handler: handlerLabel(data) })
    this.audit?.info({
      event: 'task.submitted', task: token, operation: data.kind, caller: data.caller, reqId: data.requestId, handler: handlerLabel(data), ...subject(data), deduplicated: !created
    }, `${data.caller ?? 'unknown caller'} submitted ${data.kind}`)
  }

  /** The task reached its terminal state; `submittedAt` is when it was queued (ms since the epoch). */
  finished (data: TaskJobData, outcome: TaskEnd, submittedAt: number): void {
    const labels = { operation: data.kind, handler: handlerLabel(data), outcome }
    const seconds = Math.max(0, (Date.now() - submittedAt) / 1000)
    tasksFinished.inc(labels)
    taskDuration.observe(labels, seconds)
    this.audit?.info({
      event: 'task.finished', task: data.token, operation: data.kind, caller: data.caller, reqId: data.requestId, handler: labels.handler, ...subject(data), outcome, durationMs: Math.round(seconds * 1000)
    }, `${data.kind} for ${data.caller ?? 'unknown caller'} ${outcome}`)
  }
}
