/**
 * What one execution of a task job shares across its components: buffered task logs (flushed with each
 * checkpoint), the secret resolver and the redaction of every secret value resolved during this run.
 */
import type { Logger } from 'pino'
import type { LogLevel, SecretResolver, TaskLog } from '../provisioner/handler.js'
import { resolveSecretRefs, type SecretStore } from '../secrets/secret-store.js'
import { logEntry, type TaskStore } from './task-store.js'
import type { TaskLogEntry } from './task-types.js'

const MASK = '********'

export class TaskRunContext {
  private readonly seenSecrets = new Set<string>()
  private buffer: TaskLogEntry[] = []

  constructor (
    readonly token: string,
    private readonly store: TaskStore,
    private readonly secretStore: SecretStore,
    readonly logger: Logger
  ) {}

  readonly secrets: SecretResolver = {
    resolve: async <T>(value: T): Promise<T> => resolveSecretRefs(value, this.secretStore, this.seenSecrets)
  }

  /** Replaces every secret value resolved in this run; applied to everything written to the task or the log. */
  redact (text: string): string {
    let out = text
    for (const secret of this.seenSecrets) {
      if (secret.length >= 3) out = out.split(secret).join(MASK)
    }
    return out
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
    const entries = this.drain()
    if (entries.length === 0) return
    try {
      await this.store.appendLogs(this.token, entries)
    } catch (err) {
      this.buffer = entries.concat(this.buffer)
      throw err
    }
  }
}
