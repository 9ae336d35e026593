/**
 * What the routes ask of the queue: submit a validated request as a task, read a task. Builds job data from a
 * validated descriptor; knows nothing of HTTP.
 */
import { skippedSummary } from '../descriptor/descriptor-validator.js'
import type { ValidatedDescriptor } from '../descriptor/types.js'
import { newCheckpoint } from './step-checkpoint.js'
import { logEntry, type TaskStore } from './task-store.js'
import type { TaskSubmitter, SubmitRequest, SubmitResult } from './task-submitter.js'
import type { TaskObserver } from '../observability/task-audit.js'
import type { ComponentCheckpoint, ComponentTaskData, TaskLogEntry, TaskView } from './task-types.js'

export interface ComponentTaskRequest {
  kind: ComponentTaskData['kind']
  validated: ValidatedDescriptor
  /** The descriptor text as received: with the operation and options, the identity of "the same request". */
  descriptorText: string
  removeData?: boolean
  refs?: string[]
  requestId?: string
  /** The authenticated caller's identity, recorded with the task. */
  caller?: string
}

export interface ReverseTaskRequest {
  handlerId: string
  useCaseTemplateId: string
  environment: string
  params: Record<string, unknown>
  catalogInfo: Record<string, unknown>
  requestId?: string
  caller?: string
}

export class TaskService {
  constructor (private readonly submitter: TaskSubmitter, private readonly store: TaskStore, private readonly observer?: TaskObserver) {}

  /** Every submission passes here: counted and audited once it is in the queue (or found in flight). */
  private async submit (request: SubmitRequest): Promise<SubmitResult> {
    const result = await this.submitter.submit(request)
    this.observer?.submitted({ ...request.data, caller: request.caller, requestId: request.requestId }, result.token, result.created)
    return result
  }

  async submitComponentTask (request: ComponentTaskRequest): Promise<SubmitResult> {
    const { validated } = request
    const checkpoint: Record<string, ComponentCheckpoint> = {}
    for (const target of validated.targets) {
      checkpoint[target.component.id] = newCheckpoint(target.handlerId)
    }
    const refs = [...(request.refs ?? [])].sort()
    const data: ComponentTaskData = {
      kind: request.kind,
      token: '',
      dataProduct: validated.dataProduct,
      levels: validated.levels,
      removeData: request.removeData ?? false,
      refs,
      pathPrefix: validated.descriptorKind === 'COMPONENT_DESCRIPTOR' ? 'dataProduct.' : '',
      checkpoint
    }
    return await this.submit({
      data,
      // Per caller: another caller's identical request gets its own task (and record), not someone else's token.
      dedupeMaterial: JSON.stringify([request.kind, validated.descriptorKind, data.removeData, refs, request.descriptorText, request.caller ?? '']),
      // Validation only reads: it need not wait for (or hold up) operations on the same components.
      componentIds: request.kind === 'validate' ? [] : validated.targets.map(t => t.component.id),
      initialLogs: initialLogs(request.kind, validated),
      requestId: request.requestId,
      caller: request.caller
    })
  }

  /** An async validation whose descriptor already failed offline: the task only reports the problems. */
  async submitInvalidValidation (problems: string[], requestId?: string, caller?: string): Promise<SubmitResult> {
    const data: ComponentTaskData = { kind: 'validate', token: '', dataProduct: { id: '', components: [] }, levels: [], removeData: false, refs: [], pathPrefix: '', problems, checkpoint: {} }
    return await this.submit({ data, componentIds: [], initialLogs: [logEntry('INFO', 'validation accepted', 'validate')], requestId, caller })
  }

  async submitReverse (request: ReverseTaskRequest): Promise<SubmitResult> {
    const { requestId, caller, ...rest } = request
    return await this.submit({
      data: { kind: 'reverse', token: '', ...rest },
      requestId,
      caller,
      componentIds: [],
      initialLogs: [logEntry('INFO', `reverse provisioning accepted for ${request.useCaseTemplateId} in ${request.environment}`, 'reverse-provisioning')]
    })
  }

  async get (token: string): Promise<TaskView | undefined> {
    return await this.store.get(token)
  }
}

/** Warnings written to a new task's log; the rest are counted in one more line. */
const MAX_WARNING_ENTRIES = 50

export function initialLogs (kind: string, validated: ValidatedDescriptor): TaskLogEntry[] {
  const ids = validated.targets.map(t => t.component.id)
  const shown = ids.length > 20 ? `${ids.slice(0, 20).join(', ')}, ... and ${ids.length - 20} more` : ids.join(', ') || 'none'
  const logs = [logEntry('INFO', `${kind} accepted for ${ids.length} component(s): ${shown}`, 'accepted')]
  if (validated.skipped.length > 0) logs.push(logEntry('INFO', skippedSummary(validated.skipped), 'accepted'))
  for (const warning of validated.warnings.slice(0, MAX_WARNING_ENTRIES)) logs.push(logEntry('WARNING', warning, 'accepted'))
  if (validated.warnings.length > MAX_WARNING_ENTRIES) {
    logs.push(logEntry('WARNING', `... and ${validated.warnings.length - MAX_WARNING_ENTRIES} more warnings like these`, 'accepted'))
  }
  return logs
}
