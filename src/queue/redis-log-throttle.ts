/**
 * Logs Redis trouble so an outage stays readable. ioredis emits an `error` on every failed reconnect of every
 * connection and BullMQ re-emits them (a worker logged about 15 warnings a second while Redis was down). One
 * throttle per process role, shared by all its connections, queues and workers, folds them: one warning when
 * Redis becomes unreachable, one summary per interval while it stays so, one info line when it answers again.
 * Other errors are logged the first time each appears, and their repeats counted into the same summary.
 * It only logs; it never changes how a connection retries.
 */
/** The part of a pino (or Fastify) logger used here. */
export interface ThrottleLogger {
  warn: (obj: object, msg: string) => void
  info: (obj: object, msg: string) => void
}

/** Anything that emits `error`: ioredis connections, BullMQ queues and workers. */
export interface ErrorEmitter {
  on: (event: 'error', listener: (err: Error) => void) => unknown
}

/** An ioredis connection: its `ready` ends an outage. */
interface ReadyEmitter {
  status: string
  on: (event: 'ready', listener: () => void) => unknown
}

export interface RedisLogThrottleOptions {
  /** How often a summary is logged while errors keep coming, ms. Default 30000. */
  summaryMs?: number
}

// Node socket codes and ioredis messages for "cannot talk to Redis", as opposed to a command that failed.
const UNREACHABLE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EPIPE', 'ECONNABORTED'])
const UNREACHABLE_MESSAGE = /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|ENOTFOUND|EAI_AGAIN|EPIPE|Connection is closed|Stream isn't writeable|max retries per request|All sentinels are unreachable|CLUSTERDOWN|Failed to refresh slots cache/i
/** Distinct other errors remembered per interval; beyond it they are only counted. */
const MAX_KINDS = 20

export function isUnreachableError (err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code
  if (typeof code === 'string' && UNREACHABLE_CODES.has(code)) return true
  return UNREACHABLE_MESSAGE.test(err instanceof Error ? err.message : String(err))
}

export class RedisLogThrottle {
  private outage: { since: number, errors: number, total: number, last: string } | undefined
  /** Other errors seen in this interval: message -> repeats not logged. */
  private readonly repeats = new Map<string, number>()
  private uncounted = 0
  private timer: NodeJS.Timeout | undefined
  private readonly summaryMs: number

  constructor (private readonly logger: ThrottleLogger, opts: RedisLogThrottleOptions = {}) {
    this.summaryMs = opts.summaryMs ?? 30_000
  }

  /** Routes `source`'s errors (and readiness, for connections) through this throttle. */
  watch (source: ErrorEmitter, name: string): void {
    source.on('error', (err) => { this.error(name, err) })
    if ('status' in source) (source as unknown as ReadyEmitter).on('ready', () => { this.reachable() })
  }

  error (name: string, err: unknown): void {
    const message = err instanceof Error ? err.message : String(err)
    if (isUnreachableError(err)) {
      if (this.outage === undefined) {
        this.outage = { since: Date.now(), errors: 0, total: 1, last: message }
        this.logger.warn({ err: message, connection: name }, 'Redis unreachable, retrying')
      } else {
        this.outage.errors++
        this.outage.total++
        this.outage.last = message
      }
    } else {
      const key = `${name}: ${message.slice(0, 300)}`
      const seen = this.repeats.get(key)
      if (seen !== undefined) this.repeats.set(key, seen + 1)
      else if (this.repeats.size >= MAX_KINDS) this.uncounted++
      else {
        this.repeats.set(key, 0)
        this.logger.warn({ err: message, source: name }, 'redis error')
      }
    }
    this.schedule()
  }

  /** A connection is ready: an outage, if one was going on, is over. */
  reachable (): void {
    const outage = this.outage
    if (outage === undefined) return
    this.outage = undefined
    this.logger.info({ errors: outage.total }, `Redis reachable again after ${seconds(Date.now() - outage.since)}`)
  }

  /** Logs what is still unreported and stops the timer (at shutdown). */
  close (): void {
    this.summarise()
    if (this.timer !== undefined) clearInterval(this.timer)
    this.timer = undefined
  }

  private schedule (): void {
    if (this.timer !== undefined) return
    this.timer = setInterval(() => { this.summarise() }, this.summaryMs)
    this.timer.unref()
  }

  private summarise (): void {
    const outage = this.outage
    if (outage !== undefined && outage.errors > 0) {
      this.logger.warn({ errors: outage.errors, err: outage.last },
        `Redis still unreachable after ${seconds(Date.now() - outage.since)}: ${outage.errors} more connection errors`)
      outage.errors = 0
    }
    for (const [key, count] of this.repeats) {
      if (count > 0) this.logger.warn({ repeats: count }, `redis error repeated ${count} times: ${key}`)
    }
    if (this.uncounted > 0) this.logger.warn({ errors: this.uncounted }, `${this.uncounted} other redis errors`)
    const quiet = this.outage === undefined && [...this.repeats.values()].every((c) => c === 0) && this.uncounted === 0
    this.repeats.clear()
    this.uncounted = 0
    // Nothing happened in this interval: no timer until the next error.
    if (quiet && this.timer !== undefined) {
      clearInterval(this.timer)
      this.timer = undefined
    }
  }
}

function seconds (ms: number): string {
  return `${Math.round(ms / 100) / 10} s`
}
