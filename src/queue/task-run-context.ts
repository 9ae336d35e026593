/**
 * What one execution of a task job shares across its components: buffered task logs (flushed with each
 * checkpoint), the secret resolver (scoped to the task's data product) and the scrubbing of every secret value
 * the process knows from everything written to the task or the log.
 */
import type { Logger } from 'pino'
import type { LogLevel, SecretResolver, TaskLog } from '../provisioner/handler.js'
import { reverseScopeOf } from '../secrets/secret-scope.js'
import { resolveSecretRefs, secretsToPlaceholders, type SecretStore } from '../secrets/secret-store.js'
import { logEntry, type TaskStore } from './task-store.js'
import type { TaskLogEntry } from './task-types.js'

export class TaskRunContext {
  private buffer: TaskLogEntry[] = []

  constructor (
    readonly token: string,
    private readonly store: TaskStore,
    private readonly secretStore: SecretStore,
    readonly logger: Logger,
    /** The data product whose grants the references resolve in (absent for reverse provisioning). */
    private readonly dataProduct?: unknown
  ) {}

  readonly secrets: SecretResolver = {
    resolve: async <T>(value: T): Promise<T> => resolveSecretRefs(value, this.secretStore, this.dataProduct)
  }

  /** Masks every secret value known to the process; applied to everything written to the task or the log. */
  redact (text: string): string {
    return this.secretStore.scrubber.scrub(text)
  }

  /** A scrubbed deep copy (info, updates). */
  redactDeep<T> (value: T): T {
    return this.secretStore.scrubber.scrubDeep(value)
  }

  /**
   * Job data as it may be written to Redis: checkpoint states and results hold what targets returned (a stream
   * a source named after a secret, say), so known values there are masked. The running job keeps the original.
   */
  storable<T extends { checkpoint: object }> (data: T): T {
    return { ...data, checkpoint: this.secretStore.scrubber.scrubDeep(data.checkpoint, { numbers: false }) }
  }

  /**
   * Reverse-provisioning updates as they may be stored: a value equal to a descriptor secret of the request's
   * domain (every domain when the request does not say) becomes its `${secret:NAME}` placeholder, then anything
   * secret left (a value embedding one, another domain's) is masked.
   */
  reverseUpdates (updates: Record<string, unknown>, request: { params: Record<string, unknown>, catalogInfo: Record<string, unknown> }): Record<string, unknown> {
    const scope = reverseScopeOf(request.params, request.catalogInfo)
    return this.redactDeep(secretsToPlaceholders(updates, this.secretStore.list(scope?.domain, scope?.dataProduct)))
  }

  write (level: LogLevel, message: string, phase?: string): void {
    const clean = this.redact(message)
    this.buffer.push(logEntry(level, clean, phase))
    const pinoLevel = level === 'WARNING' ? 'warn' : level === 'ERROR' ? 'error' : level === 'DEBUG' ? 'debug' : 'info'
    this.logger[pinoLevel]({ task: this.token, phase }, clean)
  }

  taskLog (phase?: string): TaskLog {
    return {
      debug: (m) => { this.write('DEBUG', m, phase) },
      info: (m) => { this.write('INFO', m, phase) },
      warn: (m) => { this.write('WARNING', m, phase) },
      error: (m) => { this.write('ERROR', m, phase) }
    }
  }

  /** Hands the buffered entries over (for a final write done together with the task's terminal state). */
  drain (): TaskLogEntry[] {
    const entries = this.buffer
    this.buffer = []
    return entries
  }

  async flush (): Promise<void> {
    await this.flushWith(async (entries) => { if (entries.length > 0) await this.store.appendLogs(this.token, entries) })
  }

  /** Hands the buffered entries to `write` (e.g. with a checkpoint, in one round trip); kept if it fails. */
  async flushWith (write: (entries: TaskLogEntry[]) => Promise<void>): Promise<void> {
    const entries = this.drain()
    try {
      await write(entries)
    } catch (err) {
      this.buffer = entries.concat(this.buffer)
      throw err
    }
  }
}
