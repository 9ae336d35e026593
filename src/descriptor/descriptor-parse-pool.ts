/**
 * The worker-thread pool descriptors larger than DESCRIPTOR_INLINE_MAX_BYTES are parsed and validated in
 * (piscina), and the main thread's half of the secret questions its threads ask. A task that runs past
 * DESCRIPTOR_PARSE_TIMEOUT_MS (waiting for a thread included) is aborted: piscina terminates its thread and
 * starts another. Threads start on first use, so an app that never sees a large descriptor starts none.
 */
import { MessageChannel } from 'node:worker_threads'
import { Piscina } from 'piscina'
import type { SecretStore, SecretLookup } from '../secrets/secret-store.js'
import type { SecretScope } from '../secrets/secret-scope.js'
import type { DescriptorLimits } from './descriptor-limits.js'
import type { ParseTask, ParseWorkerData } from './descriptor-parse-worker.js'
import type { DescriptorOutcome, DescriptorRequest } from './descriptor-request.js'

/** The task ran out of time (and was terminated). */
export class ParseTimeoutError extends Error {}

// Run from source (tsx) the thread loads the .ts file; from the build, the .js next to this one.
const WORKER_FILE = new URL(`./descriptor-parse-worker${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url).href

const PARSE_THREAD_NICENESS = 10

export class DescriptorParsePool {
  private pool: Piscina | undefined
  private closed = false

  constructor (
    private readonly workerData: ParseWorkerData,
    private readonly limits: Pick<DescriptorLimits, 'parseThreads' | 'parseTimeoutMs'>,
    private readonly secrets: Pick<SecretStore, 'lookup'>
  ) {}

  async run (request: DescriptorRequest): Promise<DescriptorOutcome> {
    if (this.closed) throw new Error('the descriptor parse pool is closed')
    this.pool ??= new Piscina({
      filename: WORKER_FILE,
      workerData: this.workerData,
      minThreads: this.limits.parseThreads,
      maxThreads: this.limits.parseThreads,
      // A thread is for one task at a time: validation is synchronous.
      concurrentTasksPerWorker: 1,
      // Parsing yields the CPU to the event loop: on a busy machine (two cores, a hostile descriptor in every
      // thread) the main thread still runs first, and /health/live answers. Linux lowers only the thread's
      // priority (piscina's optional @napi-rs/nice; without it nothing changes).
      niceIncrement: PARSE_THREAD_NICENESS,
      idleTimeout: 60_000
    })
    const { port1, port2 } = new MessageChannel()
    const answered = new SharedArrayBuffer(4)
    const flag = new Int32Array(answered)
    port1.on('message', (question: { name: string, scope: SecretScope }) => {
      const found = this.secrets.lookup(question.name, question.scope)
      // The thread needs only to know that it resolves: the value stays on this thread.
      const answer: SecretLookup = found.kind === 'found' ? { kind: 'found', value: '' } : found
      port1.postMessage(answer)
      Atomics.store(flag, 0, 1)
      Atomics.notify(flag, 0)
    })
    const task: ParseTask = { request, port: port2, answered }
    const signal = AbortSignal.timeout(this.limits.parseTimeoutMs)
    try {
      return await this.pool.run(task, { transferList: [port2], signal }) as DescriptorOutcome
    } catch (err) {
      if (signal.aborted) throw new ParseTimeoutError('descriptor parsing timed out', { cause: err })
      throw err
    } finally {
      port1.close()
    }
  }

  async close (): Promise<void> {
    this.closed = true
    await this.pool?.destroy()
  }
}
