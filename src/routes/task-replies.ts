/**
 * Task state as the contract's reply shapes: ProvisioningStatus, ValidationStatus, ReverseProvisioningStatus.
 * Waiting, delayed and active tasks all read RUNNING.
 */
import type { TaskView } from '../queue/task-types.js'

export function provisioningStatus (task: TaskView): Record<string, unknown> {
  const reply: Record<string, unknown> = { status: task.status, result: task.result, logs: task.logs }
  if (task.info !== undefined) reply.info = task.info
  return reply
}

export function validationStatus (task: TaskView): Record<string, unknown> {
  if (task.status === 'RUNNING' || task.validation === undefined) return { status: task.status }
  return { status: task.status, info: { publicInfo: task.validation, privateInfo: {} } }
}

export function reverseProvisioningStatus (task: TaskView): Record<string, unknown> {
  return { status: task.status, updates: task.updates ?? {}, logs: task.logs }
}
