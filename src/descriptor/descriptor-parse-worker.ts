/**
 * The pool thread's task (piscina): runDescriptorRequest off the event loop, so a large or hostile descriptor
 * never delays a liveness probe. The thread builds its own handler registry from the handler configuration it
 * was started with (credentials removed) and has no secret store: it asks the main thread whether a reference
 * resolves, synchronously (it posts the question, sleeps on a shared flag the main thread raises when the answer
 * is on the port, and reads it with receiveMessageOnPort). Answers carry the lookup's kind, never a value.
 */
import { receiveMessageOnPort, workerData, type MessagePort } from 'node:worker_threads'
import { createHandlerRegistry, type HandlerConfig } from '../provisioner/handler-set.js'
import type { SecretLookup } from '../secrets/secret-store.js'
import type { SecretScope } from '../secrets/secret-scope.js'
import type { DescriptorLimits } from './descriptor-limits.js'
import { runDescriptorRequest, type DescriptorOutcome, type DescriptorRequest } from './descriptor-request.js'
import { specificValidator } from './descriptor-validator.js'

export interface ParseWorkerData {
  handlers: HandlerConfig
  limits: Pick<DescriptorLimits, 'maxBytes' | 'maxNodes' | 'maxKeysPerMapping'>
}

export interface ParseTask {
  request: DescriptorRequest
  /** Where secret questions go; the main thread answers each with a SecretLookup. */
  port: MessagePort
  /** Int32 flag: 0 while a question is pending, 1 once its answer is on the port. */
  answered: SharedArrayBuffer
}

/** How long one secret question may wait for the main thread (a read of a file or variable there). */
const LOOKUP_TIMEOUT_MS = 30_000

const { handlers, limits } = workerData as ParseWorkerData
const routing = createHandlerRegistry(handlers)
// Compiled while the thread starts, not in its first task: a schema compiled on a busy machine can take longer
// than DESCRIPTOR_PARSE_TIMEOUT_MS, and a task that times out terminates its thread (and its replacement's first task).
for (const handler of routing.all()) specificValidator(handler)

export default function parseDescriptors (task: ParseTask): DescriptorOutcome {
  const flag = new Int32Array(task.answered)
  const lookup = (name: string, scope: SecretScope): SecretLookup => {
    Atomics.store(flag, 0, 0)
    task.port.postMessage({ name, scope })
    if (Atomics.wait(flag, 0, 0, LOOKUP_TIMEOUT_MS) === 'timed-out') throw new Error('the main thread did not answer a secret lookup')
    const answer = receiveMessageOnPort(task.port)
    if (answer === undefined) throw new Error('a secret lookup was answered without a message')
    return answer.message as SecretLookup
  }
  try {
    return runDescriptorRequest(task.request, { routing, lookup, limits })
  } finally {
    task.port.close()
  }
}
