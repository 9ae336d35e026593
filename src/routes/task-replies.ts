/**
 * Task state as the contract's reply shapes: ProvisioningStatus, ValidationStatus, ReverseProvisioningStatus.
 * Waiting, delayed and active tasks all read RUNNING. Every reply is bounded (reply-bounds.ts): a task with a
 * runaway log or a huge info cannot make a status poll expensive.
 */
import type { TaskView } from '../queue/task-types.js'
import { boundedErrors, boundedInfo, boundedLogs, boundedText } from './reply-bounds.js'

export function provisioningStatus (task: TaskView): Record<string, unknown> {
  const reply: Record<string, unknown> = { status: task.status, result: boundedText(task.result), logs: boundedLogs(task.logs) }
  if (task.info !== undefined) reply.info = boundedInfo(task.info)
  return reply
}

export function validationStatus (task: TaskView): Record<string, unknown> {
  if (task.status === 'RUNNING' || task.validation === undefined) return { status: task.status }
  const { valid, error } = task.validation
  const validation = error === undefined ? { valid } : { valid, error: { errors: boundedErrors(error.errors) } }
  return { status: task.status, info: { publicInfo: validation, privateInfo: {} } }
}

/** `updates` are configuration values the caller stores as they are: never cut, bounded by what the target holds. */
export function reverseProvisioningStatus (task: TaskView): Record<string, unknown> {
  return { status: task.status, updates: task.updates ?? {}, logs: boundedLogs(task.logs) }
}
