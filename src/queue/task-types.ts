/**
 * What a task is, in Redis and in a BullMQ job. One task per accepted request (one token); a task acts on one
 * or more components. Job data carries the validated descriptor (secret references unresolved, never values)
 * and the per-component checkpoint the engine advances.
 */
import type { ComponentInfo, ComponentOperation, LogLevel } from '../provisioner/handler.js'
import type { DataProduct } from '../descriptor/types.js'

export type TaskKind = ComponentOperation | 'validate' | 'reverse'
export type TaskStatus = 'RUNNING' | 'COMPLETED' | 'FAILED'

export interface TaskLogEntry {
  timestamp: string
  level: LogLevel
  message: string
  phase?: string
}

export interface ComponentCheckpoint {
  handlerId: string
  status: 'pending' | 'done' | 'failed'
  /**
   * Names of the steps finished (in the order they finished). The next step is the first of the handler's
   * current list not named here, so a release that adds, removes or reorders steps resumes correctly.
   * Absent in checkpoints of the release before step names (see step-checkpoint.ts).
   */
  done?: string[]
  /** The step started and not finished (waiting, retrying or cut off); `retries` counts its failures. */
  current?: string
  /** The handler's `stateVersion` that wrote `state`; stamped when the first step starts (absent before: 1). */
  stateVersion?: number
  /**
   * The earlier format: the position of the step to run next. Read once and converted through the handler's
   * `legacyStepNames`; this release always writes 0, so a worker of the earlier release starts over.
   */
  step?: number
  /** Handler-owned state, JSON. */
  state: Record<string, unknown>
  /** Consecutive transient failures of the current step. */
  retries: number
  result?: string
  info?: ComponentInfo
  /** The task last seen holding this component, so the wait is logged once, not on every poll. */
  waitingFor?: string
  /** Calls made to targets for this run so far, by `<target> <operation>` (src/observability/call-tally.ts). */
  calls?: Record<string, number>
}

export interface ComponentTaskData {
  kind: 'provision' | 'unprovision' | 'updateacl' | 'validate'
  token: string
  /** Id of the HTTP request that made the task, so worker log lines can be joined with the API's. */
  requestId?: string
  /** Who asked for it: token label or JWT `sub` (never a credential); `anonymous` with AUTH_MODE=none. */
  caller?: string
  dataProduct: DataProduct
  /** Component ids grouped by dependency level; a level starts when every earlier one is done. */
  levels: string[][]
  removeData: boolean
  refs: string[]
  dedupeKey?: string
  /** `dataProduct.` for a COMPONENT_DESCRIPTOR: prefix of the paths problems are reported under. */
  pathPrefix: string
  /** Async validate only: problems found offline at submit time (the worker then reports them as is). */
  problems?: string[]
  checkpoint: Record<string, ComponentCheckpoint>
}

export interface ReverseTaskData {
  kind: 'reverse'
  token: string
  requestId?: string
  caller?: string
  handlerId: string
  useCaseTemplateId: string
  environment: string
  params: Record<string, unknown>
  catalogInfo: Record<string, unknown>
}

export type TaskJobData = ComponentTaskData | ReverseTaskData

/** A task as the status routes read it. */
export interface TaskView {
  kind: TaskKind
  status: TaskStatus
  result: string
  info?: ComponentInfo
  /** Async validate only. */
  validation?: { valid: boolean, error?: { errors: string[] } }
  /** Reverse provisioning only. */
  updates?: Record<string, unknown>
  logs: TaskLogEntry[]
}

export const TASK_QUEUE_NAME = 'tasks'
