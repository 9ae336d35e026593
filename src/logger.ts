/**
 * Logging: one pino configuration for both roles (the API hands its instance to Fastify, the worker uses it
 * directly). Two layers: `redact` blanks every field that may hold a credential, at the top level and one or two
 * levels down, and request/response headers (auth.md: authorization, cookie, *password*, *secret*, *token*);
 * and every finished line goes through the secret scrubber, which masks the known secret *values* wherever they
 * appear (messages, error stacks, upstream quotes) and in whatever shape. Task logs are scrubbed by value too.
 */
import { pino, type DestinationStream, type LoggerOptions } from 'pino'
import type { SecretScrubber } from './secrets/secret-scrubber.js'

const SECRET_KEYS = [
  'password', 'passwd', 'secret', 'clientSecret', 'client_secret', 'token', 'accessToken', 'access_token',
  'refreshToken', 'refresh_token', 'apiToken', 'apiKey', 'api_key', 'authorization', 'cookie', 'credentials'
]
const HEADERS = ['authorization', 'cookie', '"set-cookie"', '"x-api-key"', '"proxy-authorization"']

export const REDACT_PATHS: string[] = [
  ...SECRET_KEYS.flatMap((k) => [k, `*.${k}`, `*.*.${k}`]),
  ...HEADERS.flatMap((h) => [`req.headers.${h}`, `res.headers.${h}`, `headers.${h}`, `*.headers.${h}`])
].map((p) => p.replace(/\.("[^"]+")$/, '[$1]'))

export function loggerOptions (level: string): LoggerOptions {
  return { level, redact: { paths: REDACT_PATHS, censor: '[redacted]' } }
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
  return pino(loggerOptions(level), stream)
}
