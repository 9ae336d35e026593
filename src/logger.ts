/**
 * Logging: one pino configuration for both roles (the API hands its instance to Fastify, the worker uses it
 * directly). Two layers: `formatters` blank every field that may hold a credential, at the top level and one or
 * two levels down, and request/response headers (auth.md: authorization, cookie, *password*, *secret*, *token*);
 * and every finished line goes through the secret scrubber, which masks the known secret *values* wherever they
 * appear (messages, error stacks, upstream quotes) and in whatever shape. Task logs are scrubbed by value too.
 */
import { pino, type DestinationStream, type LoggerOptions } from 'pino'
import type { SecretScrubber } from './secrets/secret-scrubber.js'

const SECRET_KEYS = [
  'password', 'passwd', 'secret', 'clientSecret', 'client_secret', 'token', 'accessToken', 'access_token',
  'refreshToken', 'refresh_token', 'apiToken', 'apiKey', 'api_key', 'authorization', 'cookie', 'credentials',
  // Header names (request, response or a bare `headers` object).
  'set-cookie', 'x-api-key', 'proxy-authorization'
]
const CENSORED = new Set(SECRET_KEYS)
const CENSOR = '[redacted]'
/** The top level and two levels below it, as before: `password`, `*.password`, `*.*.password`. */
const CENSOR_DEPTH = 3

function isPlain (value: object): boolean {
  const proto = Object.getPrototypeOf(value) as unknown
  return proto === Object.prototype || proto === null
}

/**
 * `value` with every credential field down to `depth` levels replaced by the censor, or `value` itself (the same
 * reference, nothing copied) when it has none: the common line costs one walk over its few fields. Plain
 * objects, arrays and errors are walked; an error with a credential field is logged in pino's serialized form.
 * Other class instances (Fastify's request and reply) are left to their serializers, which carry no headers;
 * the value scrubber still masks every known secret value in the finished line.
 */
function censorFields (value: unknown, depth: number): unknown {
  if (depth === 0 || value === null || typeof value !== 'object') return value
  if (Array.isArray(value)) {
    let out: unknown[] | undefined
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i]
      const clean = censorFields(item, depth - 1)
      if (clean !== item) { out ??= value.slice(); out[i] = clean }
    }
    return out ?? value
  }
  const isError = value instanceof Error
  if (!isError && !isPlain(value)) return value
  let out: Record<string, unknown> | undefined
  const fields = value as Record<string, unknown>
  for (const key in fields) {
    if (!Object.prototype.hasOwnProperty.call(fields, key)) continue
    const field = fields[key]
    const clean = CENSORED.has(key) && field !== undefined ? CENSOR : censorFields(field, depth - 1)
    if (clean === field) continue
    out ??= isError ? { ...(pino.stdSerializers.err(value as Error) as unknown as Record<string, unknown>) } : { ...fields }
    out[key] = clean
  }
  return out ?? value
}

/** Blanks credential fields of a log call's object and of child bindings (pino `formatters`). */
export function censorCredentials (fields: Record<string, unknown>): Record<string, unknown> {
  return censorFields(fields, CENSOR_DEPTH) as Record<string, unknown>
}

/**
 * Not pino's `redact`: its 68 wildcard paths (`*.password`, `*.*.password`, ...) cost 17-19 µs per task log
 * line against about 1 µs for this walk (`tsx bench/log-lines.ts`), which was 8 % of a worker's CPU per
 * provision.
 */
export function loggerOptions (level: string): LoggerOptions {
  return { level, formatters: { log: censorCredentials, bindings: censorCredentials } }
}

export interface LoggerDeps {
  /** Applied to every finished line. */
  scrubber?: SecretScrubber
  /** Default: stdout. */
  destination?: DestinationStream
}

export function createLogger (level: string, deps: LoggerDeps = {}): pino.Logger {
  const destination = deps.destination ?? pino.destination(1)
  const scrubber = deps.scrubber
  // Scrubbing the serialized line (not the arguments) covers serializers, error stacks and child bindings,
  // and costs nothing when no secret is known.
  const stream: DestinationStream = scrubber === undefined
    ? destination
    : { write: (line: string) => destination.write(scrubber.size === 0 ? line : scrubber.scrub(line)) }
  return withCensoredBindings(pino(loggerOptions(level), stream))
}

/**
 * pino applies `formatters.bindings` to the root's bindings only and resets it for children, so every `child()`
 * of this logger (Fastify's per-request ones included, which inherit the method) blanks its bindings first.
 */
function withCensoredBindings (root: pino.Logger): pino.Logger {
  const inherited = root.child
  function child (this: pino.Logger, bindings: pino.Bindings, options?: pino.ChildLoggerOptions): unknown {
    return Reflect.apply(inherited, this, [censorCredentials(bindings), options])
  }
  root.child = child as pino.Logger['child']
  return root
}
